"""Parsing throughput per method (forms/s) and its ratio to the bare library floor on the same files.

    .venv/bin/python bench/parse.py [--rounds 3] [--copies 4]

Floors: pypdf ``PdfReader(...).get_fields()`` for the AcroForm path, PDFium's characters and boxes
(pypdfium2: text, origin and box of every character of every page) for the text path, openpyxl
read-only row iteration for XLSX. Every case runs once per round, the cases interleaved, ``--rounds``
rounds; each figure is the median of its rounds, each ratio the median of its per-round ratios (the
machine is shared). ``text via pdfplumber (before)`` is the text path with pdfplumber's words, as it
was before PDFium read them (docs/forms.md): its ratio is to the text path. The sandbox line is the
AcroForm files through ``SandboxedParser`` (worker process, RLIMIT_AS).

``--scale [--pairs 3]`` (issue 15.10): the cost per file of 200 and of 2,000 files parsed through the
sandbox as the run parses them, the two sets interleaved; target: large ≤ 1.2 × small.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2
import pypdfium2.raw as pdfium_c
from openpyxl import load_workbook
from pypdf import PdfReader

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import parse_document, textlayer
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.sandbox import SandboxedParser
from samplekit.xlsx_fiche import write_user_fiche_xlsx
from tests.fixtures.forms import TODAY, valid_values


def _files(copies: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    fillable, flat, sheets = [], [], []
    for i in range(copies):
        for form_id in FormId:
            for lang in Lang:
                values = valid_values(form_id, lang)
                values["org_name"] = f"{values['org_name']} {i}"
                fillable.append(render_form(form_id, lang, values))
                flat.append(render_form(form_id, lang, values, flatten=True, signed=True))
        for lang in Lang:
            sheets.append(write_user_fiche_xlsx(valid_values(FormId.USR, lang), lang=lang))
    return fillable, flat, sheets


def bare_pypdf(data: bytes) -> None:
    PdfReader(io.BytesIO(data)).get_fields()


def bare_pdfium(data: bytes) -> None:
    pdf = pypdfium2.PdfDocument(data)
    x, y, box = ctypes.c_double(), ctypes.c_double(), pdfium_c.FS_RECTF()
    for page in pdf:
        tp = page.get_textpage()
        for i in range(pdfium_c.FPDFText_CountChars(tp.raw)):
            pdfium_c.FPDFText_GetUnicode(tp.raw, i)
            pdfium_c.FPDFText_GetCharOrigin(tp.raw, i, x, y)
            pdfium_c.FPDFText_GetLooseCharBox(tp.raw, i, box)
        tp.close()
        page.close()
    pdf.close()


def bare_openpyxl(data: bytes) -> None:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in wb.worksheets[0].iter_rows(values_only=True):
        pass
    wb.close()


def ours(data: bytes) -> None:
    parse_document(data, today=TODAY)


def before(data: bytes) -> None:
    """The text path as it was: pdfplumber's words (``_read_with_pdfium`` answering None sends every file there)."""
    fast = textlayer._read_with_pdfium
    textlayer._read_with_pdfium = lambda _data: None  # type: ignore[assignment]
    try:
        parse_document(data, today=TODAY)
    finally:
        textlayer._read_with_pdfium = fast  # type: ignore[method-assign]


def _rate(fn: Callable[[bytes], None], files: list[bytes]) -> float:
    start = time.perf_counter()
    for data in files:
        fn(data)
    return len(files) / (time.perf_counter() - start)


def _distinct(files: list[bytes], n: int) -> list[bytes]:
    """``n`` documents cycling through ``files``, each made distinct by a comment after its end (a new
    SHA-256, the same parse), so that nothing can answer a repeat from a cache."""
    return [files[i % len(files)] + f"\n% copy {i}\n".encode() for i in range(n)]


def scale(pairs: int, sizes: tuple[int, int] = (200, 2000)) -> None:
    """Issue 15.10: the cost per file of parsing 200 and 2,000 files as the run does (the sandboxed
    worker; fillable and flattened forms alternating), the two sets interleaved (A B A B …)."""
    fillable, flat, _ = _files(1)
    mixed = [f for pair in zip(fillable, flat, strict=True) for f in pair]
    sets = [_distinct(mixed, n) for n in sizes]
    sandbox = SandboxedParser(timeout=30, memory_mb=1024, max_bytes=20 * 1024 * 1024)
    try:
        sandbox.parse(mixed[0], today=TODAY)
        per_file: list[list[float]] = [[], []]
        for _ in range(pairs):
            for i, files in enumerate(sets):
                start = time.perf_counter()
                for data in files:
                    sandbox.parse(data, today=TODAY)
                per_file[i].append((time.perf_counter() - start) / len(files) * 1000)
    finally:
        sandbox.close()
    ratio = statistics.median(large / small for small, large in zip(*per_file, strict=True))
    small, large = (statistics.median(x) for x in per_file)
    print(
        f"parse per file through the sandbox: {sizes[0]:,} files {small:.2f} ms, {sizes[1]:,} files {large:.2f} ms "
        f"→ ratio {ratio:.2f} (median of {pairs} interleaved pairs; target ≤ 1.2: "
        f"{'met' if ratio <= 1.2 else 'NOT met'})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--copies", type=int, default=4, help="copies of each form/language (6 files per copy)")
    ap.add_argument("--scale", action="store_true", help="cost per file, 200 against 2,000 files (issue 15.10)")
    ap.add_argument("--pairs", type=int, default=3, help="pairs for --scale")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    if args.scale:
        scale(args.pairs)
        return
    fillable, flat, sheets = _files(args.copies)
    for fn, files in ((ours, fillable), (ours, flat), (ours, sheets)):  # warm imports and caches
        fn(files[0])
    sandbox = SandboxedParser(timeout=30, memory_mb=1024, max_bytes=20 * 1024 * 1024)
    sandbox.parse(fillable[0], today=TODAY)

    def boxed(data: bytes) -> None:
        sandbox.parse(data, today=TODAY)

    cases: dict[str, tuple[Callable[[bytes], None], list[bytes]]] = {
        "pypdf get_fields (floor)": (bare_pypdf, fillable),
        "acroform": (ours, fillable),
        "pdfium chars+boxes (floor)": (bare_pdfium, flat),
        "text": (ours, flat),
        "text via pdfplumber (before)": (before, flat),
        "openpyxl rows (floor)": (bare_openpyxl, sheets),
        "xlsx": (ours, sheets),
        "acroform via sandbox": (boxed, fillable),
    }
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (fn, files) in cases.items():
            rates[name].append(_rate(fn, files))
    sandbox.close()
    against = {
        "acroform": "pypdf get_fields (floor)",
        "text": "pdfium chars+boxes (floor)",
        "xlsx": "openpyxl rows (floor)",
        "acroform via sandbox": "acroform",
        "text via pdfplumber (before)": "text",
    }
    ratios = {
        name: statistics.median(a / b for a, b in zip(rates[name], rates[floor], strict=True))
        for name, floor in against.items()
    }
    print(
        f"{len(fillable)} fillable, {len(flat)} flattened, {len(sheets)} XLSX files; median of {args.rounds} "
        f"interleaved rounds"
    )
    for name, per_round in rates.items():
        extra = ""
        if name in ratios:
            floor = {"acroform via sandbox": "in-process acroform", "text via pdfplumber (before)": "text"}.get(
                name, "floor"
            )
            extra = f"   ratio to {floor}: {ratios[name]:.2f}"
        print(f"  {name:34s} {statistics.median(per_round):8.1f} forms/s{extra}")
    goals = ratios["acroform"] >= 0.8 and ratios["text"] >= 0.8
    print(f"goal (acroform and text ≥ 0.8 × floor): {'met' if goals else 'NOT met'}")


if __name__ == "__main__":
    main()
