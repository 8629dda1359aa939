"""Stacks of forms in one PDF (issue 13.1) with the real parts: the sandboxed splitter with tesseract, and the
daily run cutting a stack into one document per form on both databases."""

from __future__ import annotations

import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlmodel import Session, col, select

from extranet_intake.intake.config import load_config
from extranet_intake.intake.operations import dry_run, run_once
from extranet_intake.intake.pipeline import RunReport, daily_run
from extranet_intake.intake.progress import PlainProgress, SilentProgress
from extranet_intake.intake.stacks import pages_of
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, Document
from extranet_intake.parsers.sandbox import SandboxedParser
from extranet_intake.provisioning.models import ReviewItem

STACKS = Path(__file__).resolve().parents[2] / "samples" / "stacks"


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STACKS / "manifest.json").read_text(encoding="utf-8"))
    return data


def test_scanned_stacks_are_split_in_the_sandbox_as_the_manifest_says() -> None:
    """The issue's example (agreement, Master User fiche, user fiche scanned together), and a stack
    with a blank sheet and a sheet fed upside down: every page classified, the turned one turned back."""
    entries = {e["file"]: e for e in _manifest()["stacks"] if e["kind"] == "scan"}
    with SandboxedParser(timeout=60, memory_mb=1024, max_bytes=20 << 20) as parser:
        for name, entry in sorted(entries.items()):
            parts = parser.split((STACKS / name).read_bytes())
            assert isinstance(parts, list), parts
            assert [(p.pages, p.kind.value, p.form_id, p.rotated) for p in parts] == [
                (w["pages"], w["kind"], w["form_id"], w["rotated"]) for w in entry["parts"]
            ], name
            for part in parts:
                page = PdfReader(io.BytesIO(part.data)).pages[0]
                assert page.rotation == (180 if part.rotated else 0)


def _config(root: Path, db_url: str) -> Path:
    config = root / "extranet-intake.toml"
    config.write_text(
        f"""
[database]
url = "{db_url}"

[run]
data_dir = "var"

[sources.maildir]
enabled = false

[sources.drop]
enabled = true
path = "drop"
archive = "drop-archive"
stable_seconds = 0
""",
        encoding="utf-8",
    )
    return config


def test_the_daily_run_cuts_a_stack_into_one_document_per_form(tmp_path: Path, db_url: str, engine: sa.Engine) -> None:
    cfg = load_config(_config(tmp_path, db_url))
    drop = tmp_path / "drop"
    drop.mkdir()
    stack = (STACKS / "stack-03-flat-mixed.pdf").read_bytes()
    (drop / "scan-of-the-day.pdf").write_bytes(stack)
    entry = next(e for e in _manifest()["stacks"] if e["file"] == "stack-03-flat-mixed.pdf")

    report = daily_run(
        cfg, reporter=PlainProgress(io.StringIO()), engine=engine, send=False, clock=lambda: datetime.now(UTC)
    )

    sha = sha256_of(stack)
    by_sha = {d.sha256: d for d in report.documents}
    assert by_sha[sha].outcome == "split"
    assert list(by_sha[sha].reasons) == [f"{p['form_id'] or 'stack-blank-page'}:p{p['pages']}" for p in entry["parts"]]
    with Session(engine) as s:
        parts = list(s.exec(select(Arrival).where(col(Arrival.parent_sha256) == sha)))
        original = s.get(Document, sha)
        reviews = {r.document_sha256: r for r in s.exec(select(ReviewItem))}
    parts.sort(key=lambda a: pages_of(a) or (0, 0))
    # one document per form (and one for the blank page), each pointing to its page in the original
    assert [pages_of(a) for a in parts] == [(n, n) for n in range(1, entry["pages"] + 1)]
    assert [by_sha[a.sha256].form_id for a in parts] == [p["form_id"] for p in entry["parts"]]
    assert all(
        a.source.startswith("drop:scan-of-the-day.pdf") and a.source.endswith(f"#pages={n}-{n}")
        for n, a in enumerate(parts, start=1)
    )
    # the original stays, byte for byte, once
    assert original is not None
    assert original.parse_outcome == "split"
    assert DocumentStore(cfg.store.path).open(sha) == stack
    # the blank page is never ignored: a warning of the run, and a person's review item
    blank = parts[2]
    assert by_sha[blank.sha256].outcome == "review"
    assert "stack-blank-page" in by_sha[blank.sha256].reasons
    assert "stack-blank-page" in reviews[blank.sha256].reasons
    assert [(w.code, w.pages) for w in report.warnings] == [("stack-blank-page", "3")]

    # the same stack received again (another name): a known document, not split or processed twice
    (drop / "same-stack-again.pdf").write_bytes(stack)
    again = daily_run(
        cfg, reporter=PlainProgress(io.StringIO()), engine=engine, send=False, clock=lambda: datetime.now(UTC)
    )
    assert again.documents == []
    with Session(engine) as s:
        assert len(list(s.exec(select(Arrival).where(col(Arrival.parent_sha256) == sha)))) == entry["pages"]
    shutil.rmtree(drop)


def test_the_issues_scanned_stack_becomes_three_forms(tmp_path: Path, db_url: str, engine: sa.Engine) -> None:
    """Issue 13.1 as reported: one scan of an agreement, a Master User fiche and a user fiche was read as
    the agreement alone, the other two dropped without a word. Now: three forms, each read by OCR."""
    cfg = load_config(_config(tmp_path, db_url))
    (tmp_path / "drop").mkdir()
    stack = (STACKS / "stack-01-scan-agr-mu-usr.pdf").read_bytes()
    (tmp_path / "drop" / "post-2026-11-20.pdf").write_bytes(stack)

    report = daily_run(
        cfg, reporter=PlainProgress(io.StringIO()), engine=engine, send=False, clock=lambda: datetime.now(UTC)
    )

    sha = sha256_of(stack)
    with Session(engine) as s:
        parts = sorted(
            s.exec(select(Arrival).where(col(Arrival.parent_sha256) == sha)), key=lambda a: pages_of(a) or (0, 0)
        )
    read = {d.sha256: d for d in report.documents}
    assert read[sha].outcome == "split"
    assert [(read[a.sha256].form_id, read[a.sha256].parse != "rejected") for a in parts] == [
        ("EAP-AGR", True),
        ("EAP-MU", True),
        ("EAP-USR", True),
    ]
    assert report.warnings == []


def test_a_stack_too_long_is_a_coded_refusal_and_the_worker_goes_on() -> None:
    from pypdf import PdfWriter

    from extranet_intake.parsers.result import Issue
    from extranet_intake.parsers.stack import MAX_STACK_PAGES

    writer = PdfWriter()
    for _ in range(MAX_STACK_PAGES + 1):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    with SandboxedParser(timeout=30, memory_mb=1024, max_bytes=20 << 20) as parser:
        refused = parser.split(buf.getvalue())
        assert isinstance(refused, Issue)
        assert refused.code == "stack-too-many-pages"
        assert parser.split((STACKS / "stack-03-flat-mixed.pdf").read_bytes()) != []
        assert parser.split(b"%PDF-1.7 not really") == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_dry_run_shows_each_form_of_a_stack_as_the_run_then_does(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    """`run --dry-run` cuts stacks with the run's own reading (read only): the stack's row, then one row
    per form (and per blank page), with the same sources, forms, decisions and warnings as the real run."""
    cfg = load_config(_config(tmp_path, db_url))
    drop = tmp_path / "drop"
    drop.mkdir()
    names = ["stack-03-flat-mixed.pdf", "stack-02-scan-blank-upside-down.pdf"]
    for i, name in enumerate(names):
        target = drop / f"post-{i}.pdf"
        shutil.copyfile(STACKS / name, target)
        stamp = datetime.now(UTC).timestamp() - 3600 + 60 * i
        os.utime(target, (stamp, stamp))

    def plan(report: RunReport) -> list[tuple[Any, ...]]:
        return [
            (
                d.sha256,
                d.source,
                d.form_id,
                d.org,
                d.parse,
                d.outcome,
                tuple(r for r in d.reasons if not r.startswith("mail ")),
            )
            for d in report.documents
        ]

    dry = dry_run(cfg, reporter=SilentProgress())
    with Session(engine) as s:  # read only: nothing stored, nothing split
        assert list(s.exec(select(Document))) == []
    assert not cfg.store.path.exists() or not any(cfg.store.path.rglob("*"))
    real = run_once(cfg, reporter=SilentProgress(), send=False)

    assert real.ok, real.failures
    stacks = {sha256_of((STACKS / name).read_bytes()) for name in names}
    assert sum(d.outcome == "split" for d in real.documents) == len(names)
    assert any(d.sha256 not in stacks and d.form_id for d in real.documents), "the parts are read in the same run"
    assert plan(dry) == plan(real)
    assert [(w.code, w.pages, w.sha256) for w in dry.warnings] == [(w.code, w.pages, w.sha256) for w in real.warnings]
    assert real.warnings, "the blank page is a warning of both"


def _as_tiff(pdf: bytes, *, bilevel: bool) -> bytes:
    """The scan as a scanner's multi-page TIFF: 300 dpi, 8-bit gray (Deflate) or bilevel (CCITT G4)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    frames = [doc[i].render(scale=300 / 72, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    doc.close()
    if bilevel:
        frames = [f.point(lambda v: 255 if v > 160 else 0).convert("1") for f in frames]
    out = io.BytesIO()
    frames[0].save(
        out,
        "TIFF",
        save_all=True,
        append_images=frames[1:],
        compression="group4" if bilevel else "tiff_deflate",
        dpi=(300, 300),
    )
    return out.getvalue()


def test_a_multi_page_tiff_is_cut_like_a_pdf_stack() -> None:
    """A scanner's batch as one multi-page TIFF (bilevel or gray): the same parts as the PDF scan, each a PDF."""
    entry = next(e for e in _manifest()["stacks"] if e["file"] == "stack-02-scan-blank-upside-down.pdf")
    pdf = (STACKS / entry["file"]).read_bytes()
    with SandboxedParser(timeout=60, memory_mb=1024, max_bytes=20 << 20) as parser:
        for bilevel in (True, False):
            parts = parser.split(_as_tiff(pdf, bilevel=bilevel))
            assert isinstance(parts, list), parts
            assert [(p.pages, p.kind.value, p.form_id, p.rotated) for p in parts] == [
                (w["pages"], w["kind"], w["form_id"], w["rotated"]) for w in entry["parts"]
            ], bilevel
            assert all(p.data.startswith(b"%PDF-") for p in parts)


def test_the_daily_run_cuts_a_tiff_stack_and_keeps_the_tiff(tmp_path: Path, db_url: str, engine: sa.Engine) -> None:
    cfg = load_config(_config(tmp_path, db_url))
    (tmp_path / "drop").mkdir()
    tiff = _as_tiff((STACKS / "stack-01-scan-agr-mu-usr.pdf").read_bytes(), bilevel=True)
    (tmp_path / "drop" / "post-2026-11-20.tif").write_bytes(tiff)

    report = daily_run(
        cfg, reporter=PlainProgress(io.StringIO()), engine=engine, send=False, clock=lambda: datetime.now(UTC)
    )

    sha = sha256_of(tiff)
    read = {d.sha256: d for d in report.documents}
    assert read[sha].outcome == "split"
    with Session(engine) as s:
        parts = sorted(
            s.exec(select(Arrival).where(col(Arrival.parent_sha256) == sha)), key=lambda a: pages_of(a) or (0, 0)
        )
    assert [(read[a.sha256].form_id, read[a.sha256].parse != "rejected") for a in parts] == [
        ("EAP-AGR", True),
        ("EAP-MU", True),
        ("EAP-USR", True),
    ]
    assert DocumentStore(cfg.store.path).open(sha) == tiff  # the original, byte for byte
