"""`staff add|reset|totp|disable` on the command line: each change is an audit entry signed by the
operating-system user who typed it (``os:NAME``), never with the password or TOTP secret it printed."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from extranet_intake.intake.cli import main


def test_staff_changes_are_audited_with_the_os_user(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, db_url: str
) -> None:
    cfg = tmp_path / "extranet-intake.toml"
    cfg.write_text(f'[run]\ndata_dir = "var"\n[database]\nurl = "{db_url}"\n', encoding="utf-8")
    assert main(["init", "-c", str(cfg)]) == 0
    printed = []
    for argv in (["add", "rita", "--role", "reviewer"], ["reset", "rita"], ["totp", "rita"], ["disable", "rita"]):
        capsys.readouterr()
        assert main(["staff", *argv, "-c", str(cfg)]) == 0
        printed.append(capsys.readouterr().out)
    secrets = [
        printed[0].split("initial password: ")[1].split()[0],
        printed[1].split("new password: ")[1].split()[0],
        printed[2].split("secret=")[1].split("&")[0],
    ]
    assert main(["audit", "log", "--json", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    entries = [e for e in json.loads(out) if str(e["action"]).startswith("staff_")]
    assert [(e["action"], e["actor"]) for e in entries] == [
        (action, f"os:{getpass.getuser()}")
        for action in ("staff_added", "staff_password_reset", "staff_totp_enrolled", "staff_disabled")
    ]
    for secret in secrets:
        assert len(secret) >= 16
        assert secret not in out
