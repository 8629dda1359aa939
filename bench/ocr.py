"""OCR benchmark: field-level accuracy, tick states, flags and seconds per page on the generated scans.

    .venv/bin/python bench/ocr.py [--count 72 | --dir FOLDER] [--limit N] [--jobs 1] [--cache FILE]
    .venv/bin/python bench/ocr.py --stacks [--dir samples/stacks]   # stack splitting (issue 13.1)

Generates ``--count`` scans (default 72: both languages, all three forms, every variant) into a
temporary folder — or reads the set in ``--dir`` (e.g. the twelve of ``samples/scans``) — runs
``extranet_intake.parsers.ocr.read_scan`` on every file and prints:

- typed fields exact (text, e-mail, phone, date, enterprise number, contract numbers; hand-written
  fields excluded — they must be flagged, which is counted separately);
- tick-box and radio states right (choices, the terms tick box, signature present);
- wrong values NOT flagged: a field whose value differs from the truth without an ``ocr-*``
  warning on that field (the worst outcome; must be 0), and forms that would take effect with a
  wrong value (no ``ocr-*`` warning at all);
- forms sent to review by OCR flags, and hand-written fields flagged;
- seconds per page (wall), and the ratio to the raw library floors: tesseract's start-up with
  ``nld+fra`` on an empty image, and whole-page tesseract on the same page;
- the confusion matrix per field kind: right/wrong × flagged/not (hand-written fields apart).

Calibration (issue 13.8, 2026-11-30, the 72 generated scans, tesseract's readings cached with
``--cache``): correct fields flagged 114 -> 33 of 958 (3.5 %), forms sent to review by OCR
68 -> 36 of 72, wrong values unflagged 0 -> 0, hand-written fields flagged 6/6 -> 6/6. Person
names stay the most flagged kind (14 of 163 right ones, 8.6 %): a runner-up ``ï`` after a vowel
(Charleroi, Dubois, Saint) cannot be told from a lost diaeresis (Benoît, Loïc) by the word alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extranet_intake.parsers.forms import FieldKind, FormId, form_def
from extranet_intake.parsers.ocr import read_scan

TYPED = {FieldKind.TEXT, FieldKind.EMAIL, FieldKind.PHONE, FieldKind.DATE, FieldKind.ENTERPRISE}
TICKS = {FieldKind.CHOICE, FieldKind.CHECKBOX, FieldKind.SIGNATURE}


_CACHE: dict[str, Any] = {}


def _cached_zones(cache_file: str) -> None:
    """Keep tesseract's readings of each strip (by the crops' bytes and models) in ``cache_file``.

    Tesseract is the slow part (~3 s a page on a shared machine); the image work and everything
    after it (confidence, validation) runs again, so a change of calibration is measured in seconds.
    """
    import hashlib
    import pickle

    import extranet_intake.parsers.ocr

    real = extranet_intake.parsers.ocr.read_zones
    if getattr(real, "cached", False):
        return
    path = Path(cache_file)
    if not _CACHE and path.exists():
        _CACHE.update(pickle.loads(path.read_bytes()))

    def read_zones(crops: Any, *, timeout: float, models: Any = ("fra",)) -> Any:
        h = hashlib.sha256(repr(tuple(models)).encode())
        for c in crops:
            h.update(repr(c.shape).encode())
            h.update(c.tobytes())
        key = h.hexdigest()
        if key not in _CACHE:
            _CACHE[key] = real(crops, timeout=timeout, models=models)
            path.write_bytes(pickle.dumps(_CACHE))
        return _CACHE[key]

    read_zones.cached = True  # type: ignore[attr-defined]
    extranet_intake.parsers.ocr.read_zones = read_zones


def _one(args: tuple[str, str, str, str]) -> tuple[float, dict[str, Any]]:
    path, today, langs, cache = args
    if langs:
        import extranet_intake.parsers.ocr

        extranet_intake.parsers.ocr.MODELS = tuple(langs.split(","))
    if cache:
        _cached_zones(cache)
    data = Path(path).read_bytes()
    t0 = time.perf_counter()
    result = read_scan(data, today=date.fromisoformat(today), page_timeout=20.0)
    return time.perf_counter() - t0, result.as_dict()


#: person-name boxes: their own row in the confusion matrix (other text fields are "text")
_NAMES = frozenset(
    {"user_last_name", "user_first_name", "mu_last_name", "mu_first_name", "mu_name", "rep_name", "signatory_name"}
)


def _group(name: str, kind: FieldKind) -> str:
    if kind is FieldKind.TEXT:
        return "name" if name in _NAMES else "text"
    return str(kind)


def _count(tally: dict[str, Any], group: str, *, right: bool, flagged: bool, hand: bool = False) -> None:
    """The confusion matrix: per field kind, right/wrong × flagged/not (hand-written fields apart)."""
    cell = tally["matrix"].setdefault("handwritten" if hand else group, [0, 0, 0, 0])
    cell[(0 if right else 2) + (0 if flagged else 1)] += 1


def _score(entry: dict[str, Any], res: dict[str, Any], tally: dict[str, Any]) -> None:
    form = form_def(entry["form_id"])
    truth: dict[str, Any] = entry["fields"]
    got: dict[str, Any] = res["fields"]
    flagged = {w["field"] for w in res["warnings"] if w["code"].startswith("ocr-")}
    hand = set(entry["handwritten"])
    if res["outcome"] == "rejected" or res["form_id"] != entry["form_id"]:
        tally["misclassified"].append((entry["file"], res["errors"][:1]))
        return
    if res["language"] != entry["lang"]:
        tally["wrong_lang"].append(entry["file"])
    wrong_here = False
    for f in form.fields:
        if f.kind is FieldKind.CONTRACT:
            continue
        name = f.name
        want, have = truth.get(name), got.get(name)
        ok = want == have
        if (want is not None or have is not None) or f.kind in TICKS:
            _count(tally, _group(name, f.kind), right=ok, flagged=name in flagged, hand=name in hand)
        if name in hand:
            tally["hand_total"] += 1
            tally["hand_flagged"] += name in flagged
            if not ok and name not in flagged:
                tally["wrong_unflagged"].append((entry["file"], name, want, have))
                wrong_here = True
            continue
        if f.kind in TYPED:
            if want is None and have is None:
                continue
            tally["typed_total"] += 1
            tally["typed_ok"] += ok
            tally["conf"].append((res["confidence"].get(name, 1.0), ok))
        elif f.kind in TICKS:
            tally["tick_total"] += 1
            tally["tick_ok"] += ok
        if not ok:
            tally["wrong"].append((entry["file"], name, want, have, name in flagged))
            if name not in flagged:
                tally["wrong_unflagged"].append((entry["file"], name, want, have))
                wrong_here = True
        elif name in flagged:
            tally["false_flags"] += 1
    if form.form_id is FormId.USR:
        want_c, have_c = truth.get("contracts", []), got.get("contracts", [])
        n = max(len(want_c), len(have_c))
        for i in range(n):
            w = want_c[i] if i < len(want_c) else None
            h = have_c[i] if i < len(have_c) else None
            tally["typed_total"] += 1
            tally["typed_ok"] += w == h
            _count(tally, "contract", right=w == h, flagged=f"contract_{i + 1}" in flagged or "contracts" in flagged)
            if w != h:
                name = f"contract_{i + 1}"
                tally["wrong"].append((entry["file"], name, w, h, name in flagged or "contracts" in flagged))
                if name not in flagged and "contracts" not in flagged:
                    tally["wrong_unflagged"].append((entry["file"], name, w, h))
                    wrong_here = True
    if flagged:
        tally["review"] += 1
    if wrong_here and not flagged:
        tally["wrong_applied"] += 1


def _floors(sample: Path) -> tuple[float, float]:
    from PIL import Image

    from extranet_intake.parsers.ocr_image import load_pages

    env = {"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}
    with tempfile.TemporaryDirectory() as tmp:
        blank = Path(tmp) / "blank.png"
        Image.new("L", (200, 60), 255).save(blank)
        page = Path(tmp) / "page.png"
        Image.fromarray(load_pages(sample.read_bytes(), max_pages=1)[0]).save(page)
        times = []
        for img, psm in ((blank, "7"), (page, "3")):
            t0 = time.perf_counter()
            subprocess.run(
                ["tesseract", str(img), "stdout", "-l", "nld+fra", "--psm", psm],
                capture_output=True,
                env=env,
                check=False,
            )
            times.append(time.perf_counter() - t0)
    return times[0], times[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="an existing scan set (with its manifest.json)")
    ap.add_argument("--count", type=int, default=72, help="scans to generate when no --dir is given")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="parallel readers (seconds per page are per reader)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument(
        "--cache",
        default="",
        help="pickle file keeping tesseract's zone readings between runs "
        "(calibration work: OCR once, re-score in seconds); seconds per page are then not OCR's",
    )
    ap.add_argument(
        "--langs", default="", help="comma-separated tesseract models instead of extranet_intake.parsers.ocr.MODELS"
    )
    ap.add_argument(
        "--stacks",
        action="store_true",
        help="measure stack splitting instead (issue 13.1): the stacks of `samples stacks --bench`, or those in --dir",
    )
    args = ap.parse_args()
    if args.stacks:
        return _bench_stacks(args.dir, verbose=args.verbose)
    tmp = None
    if args.dir is not None:
        folder: Path = args.dir
    else:
        from samplekit.scans import REFERENCE_DATE, generate_scans

        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
        print(f"generating {args.count} scans into {folder} …", flush=True)
        generate_scans(folder, today=REFERENCE_DATE, count=args.count)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest["scans"][: args.limit or None]
    jobs = [(str(folder / e["file"]), manifest["today"], args.langs, args.cache) for e in entries]
    tally: dict[str, Any] = {
        "typed_total": 0,
        "typed_ok": 0,
        "tick_total": 0,
        "tick_ok": 0,
        "hand_total": 0,
        "hand_flagged": 0,
        "false_flags": 0,
        "review": 0,
        "wrong_applied": 0,
        "conf": [],
        "matrix": {},
        "wrong": [],
        "wrong_unflagged": [],
        "misclassified": [],
        "wrong_lang": [],
    }
    seconds: list[float] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for entry, (secs, res) in zip(entries, pool.map(_one, jobs), strict=True):
            seconds.append(secs)
            _score(entry, res, tally)
            if args.verbose:
                print(
                    f"{entry['file']:48} {secs:5.2f}s {res['outcome']:8} "
                    f"{[w['field'] for w in res['warnings'] if w['code'].startswith('ocr-')]}"
                )
    wall = time.perf_counter() - t0
    start_floor, page_floor = _floors(folder / entries[0]["file"])
    forms = {(e["form_id"], e["lang"]) for e in entries}
    spp = statistics.mean(seconds)
    print(
        f"scans: {len(entries)} ({len(forms)} form×language combinations, "
        f"variants {sorted({e['variant'] for e in entries})})"
    )
    print(
        f"classified right: {len(entries) - len(tally['misclassified'])}/{len(entries)}; "
        f"language wrong: {len(tally['wrong_lang'])}"
    )
    print(
        f"typed fields exact: {tally['typed_ok']}/{tally['typed_total']} "
        f"= {100 * tally['typed_ok'] / max(1, tally['typed_total']):.2f} %"
    )
    print(
        f"tick-box/radio/signature states right: {tally['tick_ok']}/{tally['tick_total']} "
        f"= {100 * tally['tick_ok'] / max(1, tally['tick_total']):.2f} %"
    )
    print(
        f"wrong values NOT flagged: {len(tally['wrong_unflagged'])}; forms that would apply a wrong value: "
        f"{tally['wrong_applied']}"
    )
    print(f"hand-written fields flagged: {tally['hand_flagged']}/{tally['hand_total']}")
    print(
        f"forms flagged for review by OCR: {tally['review']}/{len(entries)}; "
        f"correct fields flagged (false alarms): {tally['false_flags']}"
    )
    print(
        f"seconds per page: mean {spp:.2f}, median {statistics.median(seconds):.2f}, max {max(seconds):.2f} "
        f"({args.jobs} reader(s), wall {wall:.1f} s)"
    )
    print(
        f"floors: tesseract start-up nld+fra {start_floor:.2f} s (ratio {spp / start_floor:.1f}×), "
        f"whole-page tesseract {page_floor:.2f} s (ratio {spp / page_floor:.2f}×)"
    )
    print("confusion matrix per field kind (right/wrong × flagged/not; hand-written fields apart):")
    print(f"  {'kind':18} {'right+flag':>10} {'right+ok':>9} {'wrong+flag':>10} {'WRONG+ok':>9} {'right flagged':>14}")
    totals = [0, 0, 0, 0]
    for group, cell in sorted(tally["matrix"].items()):
        if group != "handwritten":
            totals = [a + b for a, b in zip(totals, cell, strict=True)]
        share = 100 * cell[0] / max(1, cell[0] + cell[1])
        print(f"  {group:18} {cell[0]:>10} {cell[1]:>9} {cell[2]:>10} {cell[3]:>9} {share:>13.1f}%")
    share = 100 * totals[0] / max(1, totals[0] + totals[1])
    print(f"  {'all typed/ticked':18} {totals[0]:>10} {totals[1]:>9} {totals[2]:>10} {totals[3]:>9} {share:>13.1f}%")
    oks = sorted(c for c, ok in tally["conf"] if ok)
    bads = sorted(c for c, ok in tally["conf"] if not ok)
    if args.verbose and oks:
        qs = [oks[int(q * (len(oks) - 1))] for q in (0.01, 0.05, 0.1, 0.25, 0.5)]
        print(f"confidence of right typed values, quantiles 1/5/10/25/50 %: {qs}; of wrong ones: {bads}")
    for item in tally["wrong"]:
        print("  wrong:", item)
    for item in tally["wrong_unflagged"]:
        print("  NOT FLAGGED:", item)
    for item in tally["misclassified"]:
        print("  misclassified:", item)
    if tmp is not None:
        tmp.cleanup()
    return 0


def _bench_stacks(folder: Path | None, *, verbose: bool) -> int:
    """Splitting accuracy on stacks: pages classified right (form id, blank, unknown, turned), stacks
    cut exactly as their manifest says, and seconds per page of classification."""
    from extranet_intake.parsers.stack import split_stack

    tmp = None
    if folder is None:
        from samplekit.scans import REFERENCE_DATE, generate_stacks

        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
        print(f"generating the stacks (with the longer bench ones) into {folder} …", flush=True)
        generate_stacks(folder, today=REFERENCE_DATE, bench=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    pages_total = pages_ok = stacks_ok = forms_total = forms_found = 0
    blank_total = blank_ok = turned_total = turned_ok = 0
    seconds: list[float] = []
    for entry in manifest["stacks"]:
        t0 = time.perf_counter()
        parts = split_stack((folder / entry["file"]).read_bytes())
        secs = time.perf_counter() - t0
        seconds.append(secs / entry["pages"])
        got = {p.first: (p.kind.value, p.form_id, p.rotated) for p in parts}
        want = {int(w["pages"]): (w["kind"], w["form_id"], w["rotated"]) for w in entry["parts"]}
        right = sum(1 for k, v in want.items() if got.get(k) == v)
        pages_total += len(want)
        pages_ok += right
        stacks_ok += got == want
        forms_total += entry["forms"]
        forms_found += sum(1 for k, v in want.items() if v[0] == "form" and got.get(k, ("",))[0] == "form")
        blank_total += sum(1 for v in want.values() if v[0] == "blank")
        blank_ok += sum(1 for k, v in want.items() if v[0] == "blank" and got.get(k) == v)
        turned_total += sum(1 for v in want.values() if v[2])
        turned_ok += sum(1 for k, v in want.items() if v[2] and got.get(k) == v)
        if verbose or got != want:
            print(
                f"{entry['file']:44} {entry['kind']:8} {entry['pages']:2} pages {secs:5.1f}s "
                f"{'ok' if got == want else f'WRONG: got {got}, want {want}'}"
            )
    n = len(manifest["stacks"])
    print(
        f"stacks: {n} ({sum(e['pages'] for e in manifest['stacks'])} pages, kinds "
        f"{sorted({e['kind'] for e in manifest['stacks']})})"
    )
    print(
        f"stacks cut exactly right: {stacks_ok}/{n}; pages classified right: {pages_ok}/{pages_total} "
        f"= {100 * pages_ok / max(1, pages_total):.1f} %"
    )
    print(
        f"forms found: {forms_found}/{forms_total}; blank pages found: {blank_ok}/{blank_total}; "
        f"upside-down pages found and turned: {turned_ok}/{turned_total}"
    )
    print(f"classification seconds per page: mean {statistics.mean(seconds):.2f}, max {max(seconds):.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 0 if stacks_ok == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
