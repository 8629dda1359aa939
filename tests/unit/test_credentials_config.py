"""``[credentials] argon2_*`` set the temporary password's hash cost; nonsense is refused when loading."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from extranet_intake.errors import ConfigError
from extranet_intake.intake.config import load_config
from extranet_intake.intake.wiring import mail_ports
from extranet_intake.mailer.ports import PreparedIssuer


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_hash_cost_comes_from_the_configuration(tmp_path: Path) -> None:
    cfg = load_config(
        _config(tmp_path, "[credentials]\nargon2_memory_kib = 8192\nargon2_time_cost = 1\nargon2_parallelism = 1\n")
    )
    issuer = mail_ports(cfg, clock=lambda: datetime.now(UTC)).issuer
    assert isinstance(issuer, PreparedIssuer)
    assert issuer.hasher("x" * 20).startswith("$argon2id$v=19$m=8192,t=1,p=1$")


def test_the_default_is_owasps_minimum_for_argon2id(tmp_path: Path) -> None:
    issuer = mail_ports(load_config(_config(tmp_path, "")), clock=lambda: datetime.now(UTC)).issuer
    assert isinstance(issuer, PreparedIssuer)
    assert issuer.hasher("x" * 20).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize("body", ["argon2_time_cost = 0", "argon2_parallelism = 4\nargon2_memory_kib = 16"])
def test_a_hash_cost_argon2_would_refuse_is_refused_at_load(tmp_path: Path, body: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, f"[credentials]\n{body}\n"))
    assert info.value.code == "config-bad-value"
