"""Parsing untrusted bytes in a persistent worker process under a memory limit and a per-document timeout.

A decompression bomb, a self-referencing XObject or a parser bug must cost one document, not the
daily run: the worker runs ``parse_document`` under ``RLIMIT_AS``; the parent waits at most
``timeout`` seconds for each answer, kills a worker that overruns or dies, and starts a fresh one
for the next document. The worker stays up between documents, so the price is one pipe round trip,
not an interpreter start. Answers come back as JSON, not pickle: a worker that hostile input might
have subverted cannot make the parent run code by answering.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from extranet_intake.parsers.result import Channel, Issue, Method, OcrSettings, ParsedForm, SignatureVerdict
from extranet_intake.parsers.stack import TIFF_MAGIC, PageKind, Part

__all__ = ["SandboxedParser"]

_LEN = struct.Struct(">Q")
_MAX_ANSWER = 16 * 1024 * 1024
#: a stack's split may take this many times one document's time (every page's footer may be OCR'd)
SPLIT_TIMEOUT_FACTOR = 4
#: how long a worker whose pipe broke may take to exit before it is killed
_EXIT_WAIT_SECONDS = 2.0


class SandboxedParser:
    """``parse(data, today=…)`` in a worker process; every failure — timeout, memory, crash — is a coded rejection.

    Not thread-safe: one instance per thread or worker of the daily run.
    """

    def __init__(
        self,
        *,
        timeout: float,
        memory_mb: int,
        max_bytes: int,
        ocr: OcrSettings | None = None,
        trusted_roots: Sequence[bytes] = (),
    ) -> None:
        self.timeout = timeout
        #: the certificates digital signatures must chain up to, handed to the worker with each document
        self.trusted_roots = tuple(trusted_roots)
        self.memory_mb = memory_mb
        self.max_bytes = max_bytes
        self.ocr = ocr or OcrSettings()
        self._proc: subprocess.Popen[bytes] | None = None
        #: the worker was started by ``start`` and has not been asked anything yet
        self._idle = False
        #: a request was sent whose answer has not been taken yet (``begin_parse``, ``begin_read``)
        self._in_flight = False
        #: how many workers were started (1 + restarts), for the run report and the tests
        self.started = 0

    # ----------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> SandboxedParser:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> SandboxedParser:
        """Start the worker now: it loads the parsers' libraries (half a second and more) while the
        caller does something else, instead of on the first document."""
        self._worker()
        self._idle = True
        return self

    def close(self) -> None:
        """Stop the worker (EOF on its input, then a kill if it does not leave)."""
        proc, self._proc = self._proc, None
        self._in_flight = False  # an answer not taken dies with its worker (``_receive`` sees it gone)
        if proc is None:
            return
        if self._idle:
            # started ahead and never asked anything (a run with no document): it holds no work,
            # and waiting for it to finish loading its libraries only to read EOF buys nothing
            proc.kill()
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.close()
        root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
            # native thread pools reserve address space per thread: one thread keeps RLIMIT_AS meaningful
            "OMP_THREAD_LIMIT": "1",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "extranet_intake.parsers.sandbox", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        self.started += 1
        return self._proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        self._in_flight = False
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()

    # ----------------------------------------------------------------------------- parsing
    def parse(self, data: bytes, *, today: date, filename: str | None = None) -> ParsedForm:
        return self.begin_parse(data, today=today, filename=filename)()

    def begin_parse(self, data: bytes, *, today: date, filename: str | None = None) -> Callable[[], ParsedForm]:
        """``parse``, sent to the worker now and answered when the returned function is called.

        The worker reads the document while the caller does something else (the run applies the
        document before it). One request is in flight at a time: its answer is taken before the
        next is begun. The timeout counts from when the answer is asked for.
        """
        sha = hashlib.sha256(data).hexdigest()
        if len(data) > self.max_bytes:
            # refused before a single byte reaches a parser
            refused = ParsedForm.reject(
                "file-too-large", f"the file is {len(data)} bytes; the limit is {self.max_bytes}", sha256=sha
            )
            return lambda: refused
        proc = self._begin(self._parse_header(today, filename), data)
        if proc is None:
            died = self._died(sha)
            return lambda: died

        def answer() -> ParsedForm:
            self._in_flight = False
            return self._parsed(self._receive(proc, sha=sha, max_answer=_MAX_ANSWER, timeout=self.timeout), sha)

        return answer

    def _parse_header(self, today: date, filename: str | None) -> dict[str, Any]:
        return {
            "today": today.isoformat(),
            "filename": filename,
            "ocr": dataclasses.asdict(self.ocr),
            "trusted_roots": [base64.b64encode(r).decode("ascii") for r in self.trusted_roots],
        }

    def _parsed(self, answer: dict[str, Any] | ParsedForm, sha: str) -> ParsedForm:
        if isinstance(answer, ParsedForm):
            return answer
        try:
            parsed = _from_dict(answer)
        except (ValueError, KeyError, TypeError):
            return self._died(sha)
        if parsed.rejected and parsed.errors and parsed.errors[0].code in ("parse-memory", "hostile-structure"):
            # the worker survived, but its heap may be fragmented or its state odd: start clean
            self._kill()
        return parsed

    def read(self, data: bytes, *, today: date, filename: str | None = None) -> list[Part] | Issue | ParsedForm:
        """``split`` and then, when the document is no stack, ``parse`` — in one request to the worker.

        The worker answers the split and goes straight on to the parse, so a document costs one
        round trip, not two; each answer keeps its own size limit and timeout, as when asked apart.
        Returns the parts of a stack, the ``Issue`` of one that cannot be split, or the parsed form.
        """
        return self.begin_read(data, today=today, filename=filename)()

    def begin_read(
        self, data: bytes, *, today: date, filename: str | None = None
    ) -> Callable[[], list[Part] | Issue | ParsedForm]:
        """``read``, sent now and answered when called, as ``begin_parse``."""
        if not self._may_be_stack(data):
            return self.begin_parse(data, today=today, filename=filename)  # split() would answer [] unasked
        sha = hashlib.sha256(data).hexdigest()
        limits = self._split_limits(data)
        proc = self._begin({**self._parse_header(today, filename), "op": "read"}, data)
        if proc is None:
            died = self._died(sha)
            return lambda: died

        def answer() -> list[Part] | Issue | ParsedForm:
            self._in_flight = False
            split = self._split_parts(self._receive(proc, sha=sha, **limits))
            if isinstance(split, Issue) or split:
                return split  # the parts, or why the stack cannot be split: the worker parsed nothing
            return self._parsed(self._receive(proc, sha=sha, max_answer=_MAX_ANSWER, timeout=self.timeout), sha)

        return answer

    def split(self, data: bytes) -> list[Part] | Issue:
        """The forms of a stack (``parsers.stack.split_stack``) read in the worker: ``[]`` when the
        document is no stack, an ``Issue`` when it cannot be split (too many pages, timeout, memory)."""
        sha = hashlib.sha256(data).hexdigest()
        if not self._may_be_stack(data):
            return []
        # the parts are the stack's pages again (base64): their answer may be larger than a form's
        # a stack is many pages, each maybe OCR'd (its footer): more time than one form, still bounded
        answer = self._ask(
            {"op": "split", "ocr": dataclasses.asdict(self.ocr)}, data, sha=sha, **self._split_limits(data)
        )
        return self._split_parts(answer)

    def _may_be_stack(self, data: bytes) -> bool:
        """Only a PDF or a (multi-page) TIFF within the size limit can be a stack; for anything else the
        split would answer ``[]`` and ``parse`` gives the refusal."""
        return len(data) <= self.max_bytes and (b"%PDF-" in data[:1024] or data[:4] in TIFF_MAGIC)

    def _split_limits(self, data: bytes) -> dict[str, Any]:
        return {
            "max_answer": max(_MAX_ANSWER, 2 * len(data) + (1 << 20)),
            "timeout": self.timeout * SPLIT_TIMEOUT_FACTOR,
        }

    def _split_parts(self, answer: dict[str, Any] | ParsedForm) -> list[Part] | Issue:
        if isinstance(answer, ParsedForm):
            return answer.errors[0]
        try:
            if "error" in answer:
                return _issue(answer["error"])
            return [
                Part(
                    int(p["first"]),
                    int(p["last"]),
                    PageKind(p["kind"]),
                    None if p["form_id"] is None else str(p["form_id"]),
                    bool(p["rotated"]),
                    base64.b64decode(p["data"], validate=True),
                )
                for p in answer["parts"]
            ]
        except (ValueError, KeyError, TypeError, binascii.Error):
            self._kill()
            return Issue("hostile-structure", "the stack splitter's answer cannot be read")

    def _ask(
        self, header: dict[str, Any], data: bytes, *, sha: str, max_answer: int, timeout: float
    ) -> dict[str, Any] | ParsedForm:
        """One request to the worker; its JSON answer, or the coded rejection of a worker that failed."""
        proc = self._begin(header, data)
        if proc is None:
            return self._died(sha)
        self._in_flight = False
        return self._receive(proc, sha=sha, max_answer=max_answer, timeout=timeout)

    def _begin(self, header: dict[str, Any], data: bytes) -> subprocess.Popen[bytes] | None:
        """``_send``, refusing a second request while the answer of one begun earlier is still unread
        (it would be read as this one's)."""
        if self._in_flight:
            raise RuntimeError("the parser worker's answer to the request before has not been taken")
        proc = self._send(header, data)
        self._in_flight = proc is not None
        return proc

    def _send(self, header: dict[str, Any], data: bytes) -> subprocess.Popen[bytes] | None:
        proc = self._worker()
        self._idle = False
        head = json.dumps(header).encode()
        try:
            assert proc.stdin is not None
            proc.stdin.write(_LEN.pack(len(head)) + head + _LEN.pack(len(data)))
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        return proc

    def _receive(
        self, proc: subprocess.Popen[bytes], *, sha: str, max_answer: int, timeout: float
    ) -> dict[str, Any] | ParsedForm:
        """The worker's next JSON answer, or the coded rejection of a worker that failed."""
        if proc is not self._proc:
            return self._died(sha)  # the worker was ended after an earlier answer
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        try:
            size = _LEN.unpack(_read_exact(proc.stdout, _LEN.size, deadline))[0]
            if size > max_answer:
                # no form needs this much; the worker is stuck writing it: end it, never wait on it
                self._kill()
                return ParsedForm.reject(
                    "hostile-structure",
                    f"the parser's answer for this document is {size} bytes; the limit is {max_answer}",
                    sha256=sha,
                )
            answer = json.loads(_read_exact(proc.stdout, size, deadline))
        except TimeoutError:
            self._kill()
            return ParsedForm.reject(
                "parse-timeout", f"reading the document took longer than {timeout:g} s", sha256=sha
            )
        except (EOFError, OSError, ValueError):
            return self._died(sha)
        if not isinstance(answer, dict):
            return self._died(sha)
        return answer

    def _died(self, sha: str) -> ParsedForm:
        proc = self._proc
        try:
            # its exit tells why; a worker still alive (blocked writing, say) is ended, not waited on
            code = proc.wait(timeout=_EXIT_WAIT_SECONDS) if proc is not None else None
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if code in (-signal.SIGKILL, -signal.SIGABRT, 3):
            # killed by the kernel for memory, a native library aborting on a failed allocation, or our own
            # MemoryError exit
            return ParsedForm.reject(
                "parse-memory", "reading the document exhausted the parser's memory limit", sha256=sha
            )
        return ParsedForm.reject("hostile-structure", f"the parser stopped on this document (exit {code})", sha256=sha)


def _read_exact(stream: IO[bytes], size: int, deadline: float) -> bytes:
    fd = stream.fileno()
    chunks: list[bytes] = []
    left = size
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _issue(d: dict[str, Any]) -> Issue:
    return Issue(str(d["code"]), str(d["message"]), None if d.get("field") is None else str(d["field"]))


def _from_dict(d: dict[str, Any]) -> ParsedForm:
    values = d.get("error_values") or []
    errors = [_issue(i) for i in d.get("errors") or ()]
    errors = [
        dataclasses.replace(e, value=str(v)) if v is not None else e
        for e, v in zip(errors, [*values, *([None] * len(errors))], strict=False)
    ]
    return ParsedForm(
        form_id=d.get("form_id"),
        version=d.get("version"),
        language=d.get("language"),
        method=Method(d["method"]) if d.get("method") else None,
        fields=dict(d.get("fields") or {}),
        confidence={str(k): float(v) for k, v in (d.get("confidence") or {}).items()},
        errors=tuple(errors),
        warnings=tuple(_issue(i) for i in d.get("warnings") or ()),
        rejected=bool(d.get("rejected")),
        sha256=d.get("sha256"),
        channel=Channel(d["channel"]) if d.get("channel") else None,
        signatures=tuple(SignatureVerdict.from_dict(v) for v in d.get("signatures") or ()),
    )


# --------------------------------------------------------------------------------- the worker


def _serve(memory_mb: int) -> None:
    import contextlib
    import importlib
    import resource

    from extranet_intake.parsers.document import (
        parse_document,  # import before the limit: libraries are not the input's cost
    )
    from extranet_intake.parsers.stack import split_stack

    del split_stack  # imported for its libraries (pypdf writer, pypdfium2), before the limit

    with contextlib.suppress(ImportError):
        importlib.import_module("extranet_intake.parsers.ocr")  # image libraries map a lot of address space at import

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # hostile files make pypdf/pdfminer log thousands of complaints: nobody reads a worker's stderr
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return
        header = json.loads(inp.read(_LEN.unpack(head)[0]))
        size = _LEN.unpack(inp.read(_LEN.size))[0]
        data = inp.read(size)
        op = header.get("op")
        if op in ("split", "read"):
            answer, parts = _split(data, OcrSettings(**header["ocr"]))
            out.write(_LEN.pack(len(answer)) + answer)
            out.flush()
            if op == "split" or parts != 0:
                del data
                continue
            # "read": no stack (and no error) — the parse's answer follows, unasked
        try:
            parsed = parse_document(
                data,
                today=date.fromisoformat(header["today"]),
                filename=header["filename"],
                ocr=OcrSettings(**header["ocr"]),
                trusted_roots=[base64.b64decode(r) for r in header.get("trusted_roots") or ()],
            )
            # the values as read of refused fields travel beside the issues (not part of their output)
            answer = json.dumps({**parsed.as_dict(), "error_values": [e.value for e in parsed.errors]}).encode()
        except MemoryError:
            answer = json.dumps(
                ParsedForm.reject("parse-memory", "reading the document exhausted the parser's memory limit").as_dict()
            ).encode()
        except Exception as exc:  # a parser bug is this document's failure, not the run's
            answer = json.dumps(
                ParsedForm.reject(
                    "hostile-structure", f"the parser failed on this document: {type(exc).__name__}"
                ).as_dict()
            ).encode()
        del data
        out.write(_LEN.pack(len(answer)) + answer)
        out.flush()


def _split(data: bytes, ocr: OcrSettings) -> tuple[bytes, int]:
    """The worker's side of ``SandboxedParser.split``: the parts as JSON, or the coded reason there are
    none; and how many parts (-1 for a reason)."""
    from extranet_intake.errors import ParseError
    from extranet_intake.parsers.stack import split_stack

    try:
        parts = split_stack(data, page_timeout=ocr.page_timeout)
        return (
            json.dumps(
                {
                    "parts": [
                        {
                            "first": p.first,
                            "last": p.last,
                            "kind": p.kind.value,
                            "form_id": p.form_id,
                            "rotated": p.rotated,
                            "data": base64.b64encode(p.data).decode("ascii"),
                        }
                        for p in parts
                    ]
                }
            ).encode(),
            len(parts),
        )
    except ParseError as exc:
        return json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode(), -1
    except MemoryError:
        return json.dumps(
            {"error": {"code": "parse-memory", "message": "splitting the stack exhausted the parser's memory limit"}}
        ).encode(), -1
    except Exception as exc:  # a splitter bug is this document's failure, not the run's
        return json.dumps(
            {
                "error": {
                    "code": "hostile-structure",
                    "message": f"the stack splitter failed on this document: {type(exc).__name__}",
                }
            }
        ).encode(), -1


if __name__ == "__main__":
    try:
        _serve(int(sys.argv[1]))
    except MemoryError:
        sys.exit(3)
