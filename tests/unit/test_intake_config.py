"""The configuration loader: a secret pasted where the name of its environment variable belongs."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from extranet_intake.errors import ConfigError
from extranet_intake.intake.config import Config, load_config
from tests.fixtures.pki import Pki


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


# --- every default path follows run.data_dir (issue 14.12) -------------------------------------------


def _state_paths(cfg: Config) -> dict[str, Path]:
    from sqlalchemy.engine import make_url

    database = make_url(cfg.database_url).database
    assert database is not None
    return {
        "database": Path(database),
        "store": cfg.store.path,
        "maildir": cfg.sources.maildir.path,
        "drop": cfg.sources.drop.path,
        "drop archive": cfg.sources.drop.archive,
        "outbox": cfg.mail.outbox_dir,
        "reports": cfg.run.report_dir,
        "lock": cfg.run.lock_file,
    }


def test_every_default_path_lies_under_data_dir(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "extranet-intake.toml"
    config.parent.mkdir()
    data = tmp_path / "lib" / "extranet-intake"
    config.write_text(f'[run]\ndata_dir = "{data}"\n', encoding="utf-8")
    paths = _state_paths(load_config(config))
    for what, path in paths.items():
        assert path.is_relative_to(data), f"{what} at {path}, outside data_dir {data}"
    assert len(set(paths.values())) == len(paths)


def test_a_relative_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[run]\ndata_dir = "state"\n', encoding="utf-8")
    for what, path in _state_paths(load_config(config)).items():
        assert path.is_relative_to(tmp_path / "state"), what


def test_two_configurations_in_one_folder_share_no_state(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[run]\ndata_dir = "a"\n', encoding="utf-8")
    b.write_text('[run]\ndata_dir = "b"\n', encoding="utf-8")
    pa, pb = _state_paths(load_config(a)), _state_paths(load_config(b))
    shared = {
        what
        for what in pa
        if pa[what] == pb[what] or pa[what].is_relative_to(pb[what]) or pb[what].is_relative_to(pa[what])
    }
    assert shared == set()


def test_an_explicit_path_still_wins_and_is_relative_to_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[run]\ndata_dir = "state"\nreport_dir = "/srv/reports"\n\n[store]\npath = "docs"\n\n'
        '[mail]\noutbox_dir = "out"\n',
        encoding="utf-8",
    )
    cfg = load_config(config)
    assert cfg.run.report_dir == Path("/srv/reports")
    assert cfg.store.path == tmp_path / "docs"
    assert cfg.mail.outbox_dir == tmp_path / "out"
    assert cfg.sources.drop.path == tmp_path / "state" / "drop"


def test_embedded_defaults_stay_under_var_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    paths = _state_paths(load_config())
    assert paths == {
        "database": tmp_path / "var" / "extranet-intake.db",
        "store": tmp_path / "var" / "store",
        "maildir": tmp_path / "var" / "maildir",
        "drop": tmp_path / "var" / "drop",
        "drop archive": tmp_path / "var" / "drop-archive",
        "outbox": tmp_path / "var" / "outbox",
        "reports": tmp_path / "var" / "reports",
        "lock": tmp_path / "var" / "run.lock",
    }


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
    config.write_text(
        "[web]\ncookie_secure = true\nsession_idle_minutes = 20\n"
        '[web.oidc]\nenabled = true\nissuer = "https://login.insurer.example"\nclient_id = "desk"\n'
        'role_claim = "groups"\n[web.oidc.roles]\nreviewer = ["pension-review"]\n',
        encoding="utf-8",
    )
    web = load_config(config).web
    assert (web.cookie_secure, web.session_idle_minutes, web.oidc.roles.reviewer) == ("true", 20, ["pension-review"])
    for bad, key in (
        ('[web]\ncookie_secure = "sometimes"\n', "web.cookie_secure"),
        ("[web]\nsession_max_hours = 0\n", "web"),
        ('[web]\nsession_secret_env = "a secret with spaces"\n', "web.session_secret_env"),
        ("[web.oidc]\nenabled = true\n", "web.oidc"),
        ('[web.oidc.roles]\nboss = ["x"]\n', "web.oidc.roles.boss"),
    ):
        config.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError) as refused:
            load_config(config)
        assert refused.value.data["key"] == key


def test_signature_roots_are_paths_relative_to_the_file_and_read_once(tmp_path: Path, pki: Pki) -> None:
    from extranet_intake.intake.parsing import read_trusted_roots

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "root.pem").write_bytes(pki.root.pem)
    (tmp_path / "etc" / "root.der").write_bytes(pki.root.cert.public_bytes(serialization.Encoding.DER))
    cfg_file = tmp_path / "etc" / "extranet_intake.intake.toml"
    cfg_file.write_text('[signatures]\ntrusted_roots = ["root.pem", "root.der"]\n', encoding="utf-8")
    cfg = load_config(cfg_file)
    assert cfg.signatures.trusted_roots == [tmp_path / "etc" / "root.pem", tmp_path / "etc" / "root.der"]
    assert read_trusted_roots(cfg.signatures) == (
        (tmp_path / "etc" / "root.pem").read_bytes(),
        (tmp_path / "etc" / "root.der").read_bytes(),
    )
    assert Config().signatures.trusted_roots == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ('"root.pem"', "config-bad-value"),
        ("[1]", "config-bad-value"),
        ('["missing.pem"]', "signatures-root-unreadable"),
        ('["junk.pem"]', "signatures-root-unreadable"),
    ],
)
def test_bad_signature_roots_are_refused_with_a_code(tmp_path: Path, value: str, code: str) -> None:
    from extranet_intake.intake.parsing import read_trusted_roots

    (tmp_path / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cfg_file = tmp_path / "extranet_intake.intake.toml"
    cfg_file.write_text(f"[signatures]\ntrusted_roots = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        read_trusted_roots(load_config(cfg_file).signatures)
    assert exc.value.code == code


def test_config_check_reads_the_signature_roots(tmp_path: Path, pki: Pki) -> None:
    from extranet_intake.intake.checks import CheckStatus, check_signature_roots

    (tmp_path / "root.pem").write_bytes(pki.root.pem)
    (tmp_path / "old.pem").write_bytes(pki.person("Old Root", expired=True).pem)
    (tmp_path / "junk.pem").write_text("junk")

    def check(*names: str) -> tuple[CheckStatus, str]:
        cfg_file = tmp_path / "extranet_intake.intake.toml"
        cfg_file.write_text(f"[signatures]\ntrusted_roots = {list(names)!r}\n".replace("'", '"'), encoding="utf-8")
        c = check_signature_roots(load_config(cfg_file))
        return c.status, c.detail

    assert check("root.pem") == (CheckStatus.OK, "1 trusted root certificate(s) readable")
    status, detail = check("root.pem", "old.pem")
    assert (status, detail.split("]")[0]) == (CheckStatus.WARN, "[signatures-root-expired")
    assert "CN=Old Root" in detail
    assert check("junk.pem")[0] is CheckStatus.FAIL
