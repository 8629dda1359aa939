"""The systemd units of deploy/systemd pass ``systemd-analyze verify`` and are hardened (issue 14.5).

Verify runs offline against a fake root (the units in its /etc/systemd/system, a stand-in executable at
the ExecStart path), without man pages and without following dependencies into units this container
lacks. A misspelt key must make it fail: the negative test shows the check can fail.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
NAMES = ("extranet-intake-run.service", "extranet-intake-run.timer", "extranet-intake-web.service")
BINARY = "/opt/extranet-intake/.venv/bin/extranet-intake"
HARDENING = {
    "User": "extranet-intake",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/extranet-intake",
    "NoNewPrivileges": "true",
    "PrivateTmp": "true",
    "ProtectHome": "true",
    "UMask": "0027",
    "CapabilityBoundingSet": "",
}


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail(
            "systemd-analyze is missing: install the Debian package systemd (scripts/setup does)", pytrace=False
        )
    return found


def _verify(root: Path, units: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_analyze(), "verify", "--man=no", "--recursive-errors=no", f"--root={root}", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    binary = root / BINARY.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n", encoding="utf-8")
    binary.chmod(0o755)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    return root


def _install(root: Path, name: str, text: str) -> Path:
    path = root / "etc" / "systemd" / "system" / name
    path.write_text(text, encoding="utf-8")
    return path


def _section(name: str, section: str) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return dict(parser[section])


def test_the_units_verify(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    units = [_install(root, n, (UNITS / n).read_text(encoding="utf-8")) for n in NAMES]
    proc = _verify(root, units)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("ProtectSystem=strict", "ProtectSytem=strict"),
        ("ProtectSystem=strict", "ProtectSystem=maybe"),
        (BINARY, "/opt/nowhere/extranet-intake"),
    ],
)
def test_verify_catches_a_broken_unit(tmp_path: Path, good: str, bad: str) -> None:
    root = _fake_root(tmp_path)
    text = (UNITS / NAMES[0]).read_text(encoding="utf-8")
    assert good in text
    proc = _verify(root, [_install(root, NAMES[0], text.replace(good, bad))])
    assert proc.returncode != 0


@pytest.mark.parametrize("name", ["extranet-intake-run.service", "extranet-intake-web.service"])
def test_the_services_are_hardened_and_call_the_command_line(name: str) -> None:
    service = _section(name, "Service")
    for key, value in HARDENING.items():
        assert service.get(key) == value, key
    command = service["ExecStart"].split()
    assert command[0] == BINARY
    assert command[1] == ("run" if "run" in name else "web")
    assert service["Environment"] == "EXTRANET_INTAKE_CONFIG=/etc/extranet-intake/extranet-intake.toml"


def test_the_timer_starts_the_daily_run() -> None:
    timer = _section("extranet-intake-run.timer", "Timer")
    assert timer["Unit"] == "extranet-intake-run.service"
    assert timer["OnCalendar"] == "*-*-* 06:30:00"
    assert timer["Persistent"] == "true"
    assert _section("extranet-intake-run.timer", "Install")["WantedBy"] == "timers.target"


def test_the_readme_deploys_with_these_units() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    for name in NAMES:
        assert f"deploy/systemd/{name}" in deploying or name in deploying
    assert 'data_dir = "/var/lib/extranet-intake"' in deploying
    assert "extranet-intake migrate" in deploying
    assert "config check" in deploying
