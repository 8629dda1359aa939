"""requirements/lock.txt pins every dependency of pyproject.toml with hashes, and setup installs from it (14.15)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=\S)", LOCK.read_text(encoding="utf-8")):
        head = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", block)
        if head:
            pins[_norm(head.group(1))] = (head.group(2), len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)))
    return pins


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {_norm(re.match(r"[A-Za-z0-9_.\-]+", r).group(0)) for r in reqs}  # type: ignore[union-attr]


def test_every_declared_dependency_is_pinned_with_hashes() -> None:
    pins = _pins()
    assert _declared() - set(pins) == set(), "run scripts/lock"
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_environment_is_the_locked_one() -> None:
    pins = _pins()
    drift = {}
    for name in _declared():
        try:
            installed = version(name)
        except PackageNotFoundError:
            drift[name] = "not installed"
            continue
        if installed != pins[name][0]:
            drift[name] = f"{installed} installed, {pins[name][0]} locked"
    assert drift == {}, "run scripts/setup (or scripts/lock, then scripts/setup)"


def test_setup_installs_from_the_lock_with_hashes() -> None:
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/lock.txt" in setup
    assert "--no-deps -e ." in setup
    assert "requirements/lock.txt" in (ROOT / "scripts" / "lock").read_text(encoding="utf-8")
