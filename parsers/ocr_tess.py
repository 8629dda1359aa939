"""Zone OCR with the tesseract command: all zone crops of a page in one call, under a time limit.

Starting tesseract and loading ``nld+fra`` costs ~0.3 s, so a page's zones are stacked into one
strip image (one zone per line, white space between) and read in a single call; the TSV output's
word boxes are split back into zones by their vertical position. The call runs with
``OMP_THREAD_LIMIT=1`` (tesseract's OpenMP threads fight each other on two cores and double the
wall time) and is killed when the page's time is up. Two models read the same strip side by side
(one process each, one per core): where they disagree, the field goes to a person.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from errors import ParseError
from parsers.ocr_image import DPI, Gray

__all__ = ["TESSERACT", "Word", "ZoneText", "read_zones"]

TESSERACT = "tesseract"
_PAD = 24
_GAP = 40


@dataclass(frozen=True)
class Word:
    text: str
    conf: float  # tesseract's 0..100
    left: int


@dataclass(frozen=True)
class ZoneText:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def min_conf(self) -> float:
        return min((w.conf for w in self.words), default=0.0) / 100.0


def _compose(crops: Sequence[Gray]) -> tuple[Gray, list[tuple[int, int]]]:
    width = max(c.shape[1] for c in crops) + 2 * _PAD
    height = _PAD + sum(c.shape[0] + _GAP for c in crops) - _GAP + _PAD
    strip = np.full((height, width), 255, dtype=np.uint8)
    spans: list[tuple[int, int]] = []
    y = _PAD
    for c in crops:
        h, w = c.shape
        strip[y:y + h, _PAD:_PAD + w] = c
        spans.append((y - _GAP // 2, y + h + _GAP // 2))
        y += h + _GAP
    return strip, spans


def read_zones(crops: Sequence[Gray], *, timeout: float, models: Sequence[str] = ("fra",)) -> list[list[ZoneText]]:
    """OCR each crop as one line of text, once per model (processes side by side): ``[model][zone]``.

    Raises ``ocr-page-timeout`` (every process killed) or ``ocr-failed`` as ParseError.
    """
    if not crops:
        return [[] for _ in models]
    strip, spans = _compose(crops)
    buf = io.BytesIO()
    Image.fromarray(strip).save(buf, format="PNG", dpi=(DPI, DPI))
    png = buf.getvalue()
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    deadline = time.monotonic() + timeout
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for model in models:
            cmd = [
                TESSERACT, "stdin", "stdout", "-l", model, "--psm", "6", "--dpi", str(int(DPI)),
                # names, e-mail addresses and numbers are not dictionary words: word lists only mislead
                "-c", "load_system_dawg=0", "-c", "load_freq_dawg=0",
                "tsv",
            ]
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, env=env)
            procs.append(proc)
            # tesseract reads all of stdin before it starts: writing cannot dead-lock on its output
            assert proc.stdin is not None
            proc.stdin.write(png)
            proc.stdin.close()
            proc.stdin = None  # written and closed: communicate() below only collects the output
        outputs: list[bytes] = []
        for proc in procs:
            assert proc.stdout is not None
            out, _ = proc.communicate(timeout=max(0.01, deadline - time.monotonic()))
            if proc.returncode != 0:
                raise ParseError("ocr-failed", f"tesseract failed with exit status {proc.returncode}")
            outputs.append(out)
    except subprocess.TimeoutExpired as exc:
        raise ParseError("ocr-page-timeout", f"OCR of a page took longer than {timeout:g} s") from exc
    except OSError as exc:
        raise ParseError("ocr-failed", f"tesseract cannot be run: {exc}") from exc
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [_split(out.decode("utf-8", errors="replace"), spans) for out in outputs]


def _split(tsv: str, spans: list[tuple[int, int]]) -> list[ZoneText]:
    found: list[list[Word]] = [[] for _ in spans]
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        if not text:
            continue
        try:
            top, height, left = int(row["top"]), int(row["height"]), int(row["left"])
            conf = float(row["conf"])
        except (KeyError, ValueError):
            continue
        mid = top + height / 2
        for i, (y0, y1) in enumerate(spans):
            if y0 <= mid < y1:
                found[i].append(Word(text, conf, left))
                break
    return [ZoneText(tuple(sorted(ws, key=lambda w: w.left))) for ws in found]
