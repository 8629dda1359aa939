"""``config check`` against the real Dovecot and aiosmtpd: one line per check, exit 0/1/2, nothing changed (14.6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extranet_intake.intake.cli import main
from tests.fixtures.deployment import IMAP_PASSWORD_ENV, SMTP_PASSWORD_ENV, write_deployment_config
from tests.fixtures.dovecot import ImapAccount
from tests.fixtures.smtp import SmtpServer


def _check(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, list[str]]:
    code = main(["config", "check", "--config", str(config)])
    out = capsys.readouterr()
    assert out.err == ""
    return code, out.out.splitlines()


@pytest.fixture
def deployment(
    tmp_path: Path, db_url: str, imap_account: ImapAccount, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    monkeypatch.setenv(IMAP_PASSWORD_ENV, imap_account.password)
    monkeypatch.setenv(SMTP_PASSWORD_ENV, smtp_server.password)
    config = write_deployment_config(tmp_path, db_url=db_url, imap=imap_account, smtp=smtp_server)
    assert main(["init", "--config", str(config)]) == 0
    return config


def test_a_sound_deployment_passes_every_check_and_nothing_changes(
    capsys: pytest.CaptureFixture[str], deployment: Path, imap_account: ImapAccount, smtp_server: SmtpServer
) -> None:
    capsys.readouterr()
    code, lines = _check(capsys, deployment)
    assert code == 0, lines
    assert all(re.match(r"(ok|warn|FAIL) +\S", line) for line in lines)
    assert [line.split()[1] for line in lines if line.startswith("ok")][:4] == ["config", "database", "imap", "imap"]
    assert any("schema at" in line for line in lines if line.startswith("ok    database"))
    assert any(f"logged in as {imap_account.user}@" in line for line in lines)
    assert any(
        line.startswith("ok    smtp") and "STARTTLS" in line and f"AUTH as {smtp_server.user}" in line for line in lines
    )
    assert not any(line.startswith("FAIL") for line in lines)
    # read-only: the folders the first run would make are only reported, no mail was sent
    assert any("[imap-folder-missing] folder 'Processed'" in line for line in lines)
    assert not imap_account.folder_path("Processed").exists()
    assert smtp_server.messages == []
    assert imap_account.password not in "\n".join(lines)


def test_wrong_passwords_fail_their_check_with_a_code(
    capsys: pytest.CaptureFixture[str], deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "Not-the-Pa55word-42"
    monkeypatch.setenv(IMAP_PASSWORD_ENV, wrong)
    monkeypatch.setenv(SMTP_PASSWORD_ENV, wrong)
    capsys.readouterr()
    code, lines = _check(capsys, deployment)
    assert code == 1
    assert any(line.startswith("FAIL  imap") and "imap-login-failed" in line for line in lines)
    assert any(line.startswith("FAIL  smtp") and "smtp-auth" in line for line in lines)
    assert any(line.startswith("ok    database") for line in lines)
    assert wrong not in "\n".join(lines)


def test_unreachable_servers_fail(capsys: pytest.CaptureFixture[str], deployment: Path) -> None:
    text = deployment.read_text(encoding="utf-8")
    deployment.write_text(re.sub(r"port = \d+", "port = 1", text), encoding="utf-8")
    capsys.readouterr()
    code, lines = _check(capsys, deployment)
    assert code == 1
    assert any(line.startswith("FAIL  imap") and "imap-connect-failed" in line for line in lines)
    assert any(line.startswith("FAIL  smtp") and "smtp-connect" in line for line in lines)


def test_loose_permissions_are_warned_about(capsys: pytest.CaptureFixture[str], deployment: Path) -> None:
    reports = deployment.parent / "var" / "reports"
    reports.chmod(0o755)
    capsys.readouterr()
    code, lines = _check(capsys, deployment)
    assert code == 0
    # (the db_url fixture's SQLite file is a plain copy, so it may be warned about too)
    assert [line for line in lines if "path-permissions-loose" in line and "database" not in line] == [
        f"warn  folders   [path-permissions-loose] reports {reports} (0755) is readable by others: chmod o-rwx "
        "(the data are personal)"
    ]


def test_an_smtp_transport_without_a_host_is_an_invalid_file(
    capsys: pytest.CaptureFixture[str], deployment: Path
) -> None:
    text = deployment.read_text(encoding="utf-8")
    deployment.write_text(re.sub(r'\[mail.smtp\]\nhost = "[^"]*"\n', "[mail.smtp]\n", text), encoding="utf-8")
    capsys.readouterr()
    code, lines = _check(capsys, deployment)
    assert code == 2
    assert lines[0].startswith("FAIL  config")
    assert "config-missing-value" in lines[0]
    assert "mail.smtp.host" in lines[0]
    assert main(["run", "--config", str(deployment)]) == 2  # every command refuses it before doing anything


def test_a_missing_database_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTRANET_INTAKE_CONFIG", raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[run]\ndata_dir = "var"\n', encoding="utf-8")
    code, lines = _check(capsys, config)
    assert code == 1
    assert any(line.startswith("FAIL  database") and "database-missing" in line for line in lines)
    assert not (tmp_path / "var").exists(), "config check created something"
