"""`extranet-intake send` and `extranet-intake users reissue` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "extranet_intake.intake.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def test_send_on_an_empty_outbox_and_reissue_of_an_unknown_login(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init").returncode == 0
    sent = _cli(tmp_path, "send", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"sent": 0, "retrying": 0, "failed": 0, "refused": 0, "errors": {}, "codes": {}}
    # --by names a staff account the desk knows, active: a typed name alone signs nothing
    stranger = _cli(tmp_path, "users", "reissue", "EAPNOBODY", "--by", "Sofie Wouters")
    assert stranger.returncode != 0
    assert "staff-unknown" in stranger.stderr
    assert _cli(tmp_path, "staff", "add", "sofie", "--role", "reviewer").returncode == 0
    gone = _cli(tmp_path, "users", "reissue", "EAPNOBODY", "--by", "sofie")
    assert gone.returncode == 1
    assert "mail-no-recipient" in gone.stderr
    assert "Traceback" not in gone.stderr
    missing_by = _cli(tmp_path, "users", "reissue", "EAPNOBODY")
    assert missing_by.returncode == 2
