"""The flattened PDF's words: pdfplumber against PDFium (pypdfium2), per file, interleaved, and the ratio.

    .venv/bin/python bench/textlayer.py [--pairs 7]

Every sample PDF with a text layer (documents, drop folder, stacks, the PDFs the sample mails carry)
and every flattened form in both languages. For each file: pdfplumber's ``extract_words()`` on every
page (the reader the text path used) and ``parsers.pdfium_words`` on every page (the reader it uses
now), A B A B, ``--pairs`` pairs; the median of each, in ms per file, and PDFium's time over
pdfplumber's. The scans (no text layer) are listed once: pdfplumber still reads them (docs/forms.md).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.forms import FormId, Lang
from extranet_intake.parsers.pdfium_words import pdfium_reader
from extranet_intake.parsers.textlayer import pdfplumber_words
from tests.fixtures.forms import valid_values

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _files() -> dict[str, bytes]:
    found = {str(p.relative_to(SAMPLES)): p.read_bytes() for p in sorted(SAMPLES.rglob("*.pdf"))}
    for eml in sorted(SAMPLES.glob("mail/*.eml")):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        for n, part in enumerate(msg.walk()):
            payload = None if part.is_multipart() else part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.startswith(b"%PDF-"):
                found[f"{eml.relative_to(SAMPLES)}#{n}"] = payload
    for form_id in FormId:
        for lang in Lang:
            found[f"rendered {form_id}-{lang} flat signed"] = render_form(
                form_id, lang, valid_values(form_id, lang), flatten=True, signed=True
            )
    return found


def by_pdfplumber(data: bytes) -> int:
    return sum(len(p) for p in pdfplumber_words(data))


def by_pdfium(data: bytes) -> int:
    with pdfium_reader(data) as reader:
        assert reader is not None
        pages = [reader.words(i) for i in range(reader.page_count)]
    return sum(len(p) for p in pages if p is not None)


def _ms(fn: Callable[[bytes], int], data: bytes) -> float:
    start = time.perf_counter()
    fn(data)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    files = _files()
    by_pdfplumber(next(iter(files.values())))
    by_pdfium(next(iter(files.values())))  # warm imports
    print(f"{'file':58s} {'words':>5s} {'pdfplumber':>10s} {'pdfium':>8s} {'ratio':>6s}")
    ratios: list[float] = []
    plumber_all: list[float] = []
    pdfium_all: list[float] = []
    for name, data in files.items():
        words = by_pdfplumber(data)
        if words == 0:
            print(f"{name:58s} {'scan: no text layer, pdfplumber decides':>32s}")
            continue
        a: list[float] = []
        b: list[float] = []
        for _ in range(args.pairs):
            a.append(_ms(by_pdfplumber, data))
            b.append(_ms(by_pdfium, data))
        ma, mb = statistics.median(a), statistics.median(b)
        ratios.append(mb / ma)
        plumber_all.append(ma)
        pdfium_all.append(mb)
        print(f"{name:58s} {words:5d} {ma:8.1f}ms {mb:6.1f}ms {mb / ma:6.3f}")
    print(
        f"{len(ratios)} files with text, median of {args.pairs} interleaved pairs each: pdfplumber "
        f"{statistics.median(plumber_all):.1f} ms/file, PDFium {statistics.median(pdfium_all):.1f} ms/file, "
        f"ratio PDFium/pdfplumber median {statistics.median(ratios):.3f} (max {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
