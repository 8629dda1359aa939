"""``python -m samplekit generate`` as a maintainer runs it: a fresh folder equal to the committed samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_generate_reproduces_the_committed_samples(tmp_path: Path, samples_dir: Path, manifest: dict[str, Any]) -> None:
    out = tmp_path / "samples"
    run = subprocess.run(
        [sys.executable, "-m", "samplekit", "generate", "--out", str(out), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert report["written"] == len(written) > 40
    for rel in written:
        assert (out / rel).read_bytes() == (samples_dir / rel).read_bytes(), f"{rel} differs from samples/"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
