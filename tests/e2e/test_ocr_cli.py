"""``python -m samplekit scans`` and ``extranet-intake parse`` on a scan, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = Path(sys.executable).parent / "extranet-intake"
ROOT = Path(__file__).resolve().parents[2]


def test_samples_scans_writes_scans_and_a_manifest_then_parse_reads_one_by_ocr(tmp_path: Path) -> None:
    out = tmp_path / "scans"
    run = subprocess.run(
        [sys.executable, "-m", "samplekit", "scans", "--out", str(out), "--count", "2", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["count"] == 2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = [e["file"] for e in manifest["scans"]]
    assert len(files) == 2
    assert all((out / f).stat().st_size > 10_000 for f in files)
    entry = manifest["scans"][0]
    assert set(entry) >= {"form_id", "lang", "variant", "fields", "expected", "handwritten"}
    parsed = subprocess.run(
        [str(EXE), "parse", str(out / entry["file"]), "--json", "--today", manifest["today"]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert parsed.returncode in (0, 1), parsed.stderr
    doc = json.loads(parsed.stdout)
    result = doc[0] if isinstance(doc, list) else doc
    assert result["method"] == "ocr"
    assert result["form_id"] == entry["form_id"]
