"""The configuration loader: a secret pasted where the name of its environment variable belongs."""

from __future__ import annotations

from pathlib import Path

import pytest

from errors import ConfigError
from intake.config import load_config


@pytest.mark.parametrize("table", ["mail.smtp", "sources.imap"])
def test_a_secret_in_place_of_its_variable_name_is_refused_without_echoing_it(tmp_path: Path, table: str) -> None:
    secret = "Hunter2 real-password!"
    config = tmp_path / "c.toml"
    config.write_text(f'[{table}]\npassword_env = "{secret}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert refused.value.code == "config-bad-value"
    assert refused.value.data["key"] == f"{table}.password_env"
    assert secret not in str(refused.value)
    assert secret not in repr(refused.value.data)


def test_a_variable_name_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[mail.smtp]\npassword_env = "SMTP_PW_2"\n', encoding="utf-8")
    assert load_config(config).mail.smtp.password_env == "SMTP_PW_2"


def test_review_approvals_default_to_four_eyes_for_agreement_and_master_user(tmp_path: Path) -> None:
    cfg = load_config(None)
    assert [cfg.review.required_for(f) for f in ("EAP-AGR", "EAP-MU", "EAP-USR", "OTHER")] == [2, 2, 1, 1]
    config = tmp_path / "c.toml"
    config.write_text('[review]\napprovals_required = { "EAP-USR" = 2 }\n', encoding="utf-8")
    cfg = load_config(config)
    # naming one kind keeps the others' defaults
    assert [cfg.review.required_for(f) for f in ("EAP-AGR", "EAP-MU", "EAP-USR")] == [2, 2, 2]


@pytest.mark.parametrize("value", ['{ "EAP-AGR" = 0 }', '{ "EAP-AGR" = "two" }', '["EAP-AGR"]'])
def test_review_approvals_must_be_small_whole_numbers(tmp_path: Path, value: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[review]\napprovals_required = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert refused.value.code == "config-bad-value"
    assert refused.value.data["key"] == "review.approvals_required"


def test_web_section_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[web]\ncookie_secure = true\nsession_idle_minutes = 20\n'
                      '[web.oidc]\nenabled = true\nissuer = "https://login.insurer.example"\nclient_id = "desk"\n'
                      'role_claim = "groups"\n[web.oidc.roles]\nreviewer = ["pension-review"]\n', encoding="utf-8")
    web = load_config(config).web
    assert (web.cookie_secure, web.session_idle_minutes, web.oidc.roles.reviewer) == ("true", 20, ["pension-review"])
    for bad, key in (('[web]\ncookie_secure = "sometimes"\n', "web.cookie_secure"),
                     ('[web]\nsession_max_hours = 0\n', "web"),
                     ('[web]\nsession_secret_env = "a secret with spaces"\n', "web.session_secret_env"),
                     ('[web.oidc]\nenabled = true\n', "web.oidc"),
                     ('[web.oidc.roles]\nboss = ["x"]\n', "web.oidc.roles.boss")):
        config.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError) as refused:
            load_config(config)
        assert refused.value.data["key"] == key
