"""The service behind ``extranet-intake parse``: read files and parse each through the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from intake.config import ParsingConfig
from parsers.result import OcrSettings, ParsedForm
from parsers.sandbox import SandboxedParser

__all__ = ["ParsedFile", "parse_files", "sandboxed_parser"]


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    form: ParsedForm

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), **self.form.as_dict()}


def sandboxed_parser(cfg: ParsingConfig) -> SandboxedParser:
    """The worker every untrusted document is read in, with the configured limits."""
    return SandboxedParser(timeout=cfg.timeout_seconds, memory_mb=cfg.memory_mb, max_bytes=cfg.max_bytes,
                           ocr=OcrSettings(page_timeout=cfg.ocr_page_timeout_seconds,
                                           min_confidence=cfg.ocr_min_confidence))


def parse_files(paths: Sequence[Path], *, cfg: ParsingConfig, today: date) -> list[ParsedFile]:
    """Parse every file as an untrusted document (worker process, memory and time limits)."""
    out: list[ParsedFile] = []
    with sandboxed_parser(cfg) as parser:
        for path in paths:
            size = path.stat().st_size
            if size > cfg.max_bytes:
                # refused from its size alone: a 10 GB file is never read into memory
                form = ParsedForm.reject("file-too-large", f"the file is {size} bytes; the limit is {cfg.max_bytes}")
            else:
                form = parser.parse(path.read_bytes(), today=today, filename=path.name)
            out.append(ParsedFile(path, form))
    return out
