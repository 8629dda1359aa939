"""Zone OCR with the tesseract command: all zone crops of a page in one call, under a time limit.

Starting tesseract and loading a model costs ~0.3 s, so a page's zones are stacked into one
strip image (one zone per line, white space between) and read in a single call; the hOCR output's
word boxes are split back into zones by their vertical position, and each letter's runner-up
choice says how sure the model was of it. The call runs with
``OMP_THREAD_LIMIT=1`` (tesseract's OpenMP threads fight each other on two cores and double the
wall time) and is killed when the page's time is up. Two models read the same strip side by side
(one process each, one per core): where they disagree, the field goes to a person.
"""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from extranet_intake.errors import ParseError
from extranet_intake.parsers.ocr_image import DPI, Gray

__all__ = ["TESSERACT", "Word", "ZoneText", "read_zones"]

TESSERACT = "tesseract"
_PAD = 24
_GAP = 40


@dataclass(frozen=True)
class Word:
    text: str
    conf: float  # tesseract's 0..100
    left: int
    #: the strongest runner-up accent variant of a letter (0..100): "i" with "ï" at 14 is doubtful
    doubt: float = 0.0


@dataclass(frozen=True)
class ZoneText:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def min_conf(self) -> float:
        return min((w.conf for w in self.words), default=0.0) / 100.0

    @property
    def doubt(self) -> float:
        return max((w.doubt for w in self.words), default=0.0) / 100.0


def _compose(crops: Sequence[Gray]) -> tuple[Gray, list[tuple[int, int]]]:
    width = max(c.shape[1] for c in crops) + 2 * _PAD
    height = _PAD + sum(c.shape[0] + _GAP for c in crops) - _GAP + _PAD
    strip = np.full((height, width), 255, dtype=np.uint8)
    spans: list[tuple[int, int]] = []
    y = _PAD
    for c in crops:
        h, w = c.shape
        strip[y : y + h, _PAD : _PAD + w] = c
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
                TESSERACT,
                "stdin",
                "stdout",
                "-l",
                model,
                "--psm",
                "6",
                "--dpi",
                str(int(DPI)),
                # names, e-mail addresses and numbers are not dictionary words: word lists only mislead
                "-c",
                "load_system_dawg=0",
                "-c",
                "load_freq_dawg=0",
                # hOCR with each letter's alternatives: a close runner-up marks a doubtful letter
                "-c",
                "lstm_choice_mode=2",
                "hocr",
            ]
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
            )
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


_WORD_RE = re.compile(r"<span class='ocrx_word' id='[^']*' title='bbox (\d+) (\d+) (\d+) (\d+); x_wconf (\d+)'>([^<]*)")
_CHOICES_RE = re.compile(r"<span class='ocrx_cinfo' id='lstm_choices_")
_CHOICE_RE = re.compile(r"<span class='ocrx_cinfo' id='choice_[^']*' title='x_confs ([0-9.]+)'>([^<]*)<")


def _base(ch: str) -> str:
    return unicodedata.normalize("NFKD", ch)[:1].casefold()


def _doubt(segment: str) -> float:
    """The strongest runner-up of an i that is another i (i / ï / î): its dot and its accents look alike.

    On faint print both models drop the diaeresis of Loïc or the circumflex of Benoît the same
    way, so their agreement proves nothing there; other confusions (l / I, rn / m, c / ç) make the
    two models disagree instead. (Runner-ups of e / é come with nearly every correct e: counting
    them would send every form to review.)
    """
    worst = 0.0
    for group in _CHOICES_RE.split(segment)[1:]:
        choices = sorted(((float(c), ch) for c, ch in _CHOICE_RE.findall(group)), reverse=True)
        if len(choices) < 2:
            continue
        chosen = choices[0][1]
        for conf, ch in choices[1:]:
            if chosen == "i" and ch != chosen and _base(ch) == "i":
                worst = max(worst, conf)
    return worst


def _split(hocr: str, spans: list[tuple[int, int]]) -> list[ZoneText]:
    found: list[list[Word]] = [[] for _ in spans]
    matches = list(_WORD_RE.finditer(hocr))
    for i, m in enumerate(matches):
        text = html.unescape(m.group(6)).strip()
        if not text:
            continue
        left, top, _, bottom = (int(m.group(k)) for k in range(1, 5))
        segment = hocr[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(hocr)]
        mid = (top + bottom) / 2
        for z, (y0, y1) in enumerate(spans):
            if y0 <= mid < y1:
                found[z].append(Word(text, float(m.group(5)), left, _doubt(segment)))
                break
    return [ZoneText(tuple(sorted(ws, key=lambda w: w.left))) for ws in found]
