"""The service behind ``extranet-intake parse``: read files and parse each through the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography import x509

from extranet_intake.errors import ConfigError
from extranet_intake.intake.config import ParsingConfig, SignaturesConfig
from extranet_intake.parsers.result import Issue, OcrSettings, ParsedForm
from extranet_intake.parsers.sandbox import SandboxedParser

__all__ = ["ParsedFile", "parse_files", "read_trusted_roots", "sandboxed_parser"]


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    form: ParsedForm
    #: the pages of a stack this form was cut from (``3-4``), as the run cuts it (docs/forms.md); None: the whole file
    pages: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), **({"pages": self.pages} if self.pages else {}), **self.form.as_dict()}


def read_trusted_roots(cfg: SignaturesConfig) -> tuple[bytes, ...]:
    """The configured trusted root certificates, read once (the parser worker receives their bytes).

    Raises ``ConfigError`` (``signatures-root-unreadable``) for a file that is missing or no certificate.
    """
    out: list[bytes] = []
    for path in cfg.trusted_roots:
        try:
            blob = path.read_bytes()
            if b"-----BEGIN CERTIFICATE-----" in blob:
                x509.load_pem_x509_certificates(blob)
            else:
                x509.load_der_x509_certificate(blob)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "signatures-root-unreadable",
                f"signatures.trusted_roots: {path} is not a readable PEM or DER certificate ({type(exc).__name__})",
                key="signatures.trusted_roots",
            ) from exc
        out.append(blob)
    return tuple(out)


def sandboxed_parser(cfg: ParsingConfig, trusted_roots: Sequence[bytes] = ()) -> SandboxedParser:
    """The worker every untrusted document is read in, with the configured limits and trusted roots."""
    return SandboxedParser(
        timeout=cfg.timeout_seconds,
        memory_mb=cfg.memory_mb,
        max_bytes=cfg.max_bytes,
        ocr=OcrSettings(page_timeout=cfg.ocr_page_timeout_seconds, min_confidence=cfg.ocr_min_confidence),
        trusted_roots=trusted_roots,
    )


def parse_files(
    paths: Sequence[Path], *, cfg: ParsingConfig, today: date, trusted_roots: Sequence[bytes] = ()
) -> list[ParsedFile]:
    """Parse every file as an untrusted document (worker process, memory and time limits); a stack gives
    one result per form (and per page of no form), each naming its pages."""
    out: list[ParsedFile] = []
    with sandboxed_parser(cfg, trusted_roots) as parser:
        for path in paths:
            size = path.stat().st_size
            if size > cfg.max_bytes:
                # refused from its size alone: a 10 GB file is never read into memory
                form = ParsedForm.reject("file-too-large", f"the file is {size} bytes; the limit is {cfg.max_bytes}")
            else:
                out.extend(_read(parser, path, path.read_bytes(), today=today))
                continue
            out.append(ParsedFile(path, form))
    return out


def _read(parser: SandboxedParser, path: Path, data: bytes, *, today: date) -> list[ParsedFile]:
    """One file as the run reads it: a stack (several forms in one scan) cut into its forms, each
    parsed, a page holding no form refused with its code; any other file parsed whole."""
    read = parser.read(data, today=today, filename=path.name)  # split, else parse: one round trip, as the run
    if isinstance(read, Issue):
        return [ParsedFile(path, ParsedForm.reject(read.code, read.message))]
    if isinstance(read, ParsedForm):
        return [ParsedFile(path, read)]
    return [
        ParsedFile(
            path,
            ParsedForm.reject(part.stray_code, f"page(s) {part.pages} of the stack hold no form")
            if part.stray_code is not None
            else parser.parse(part.data, today=today, filename=path.name),
            pages=part.pages,
        )
        for part in read
    ]
