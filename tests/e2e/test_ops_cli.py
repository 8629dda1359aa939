"""What the ops engineer sees when things go wrong: SMTP down, database down or locked, the outbox, logs.

Real parts: aiosmtpd (or a port nobody listens on), SQLite and PostgreSQL, the command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from extranet_intake.intake.cli import main
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.provisioning.service import process_form
from tests.fixtures.provisioning import agr, clock, mu, prov, usr
from tests.fixtures.smtp import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SMTP_PASSWORD_ENV = "OPS_TEST_SMTP_PASSWORD"


def _config(tmp_path: Path, db_url: str, *, mail: str = "", extra: str = "") -> Path:
    path = tmp_path / "extranet_intake.intake.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[run]\ndata_dir = "var"\n\n{mail}\n{extra}\n', encoding="utf-8")
    return path


def _smtp_down() -> str:
    # a loopback port nobody listens on: connection refused, as with a relay that is down
    return f'[mail]\ntransport = "smtp"\n\n[mail.smtp]\nhost = "127.0.0.1"\nport = {free_port()}\ntls = "none"\n'


def _smtp(server: SmtpServer, user: str) -> str:
    return (
        f'[mail]\ntransport = "smtp"\n\n[mail.smtp]\nhost = "{server.host}"\nport = {server.port}\n'
        f'tls = "starttls"\nuser = "{user}"\npassword_env = "{SMTP_PASSWORD_ENV}"\nca_file = "{server.ca_file}"\n'
    )


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _credentials_queued(capsys: pytest.CaptureFixture[str], engine: sa.Engine, cfg: str) -> None:
    """An organisation approved by the team: its user's credentials mail is queued."""
    with Session(engine) as session:
        for form in (agr(), mu(), usr()):
            process_form(session, form, prov(form), clock=clock)
        session.commit()
    _code, out, _ = _cli(capsys, "review", "list", "-c", cfg, "--json")
    for name in ("an", "bert"):
        assert _cli(capsys, "staff", "add", name, "--role", "reviewer", "-c", cfg)[0] == 0
    for item in json.loads(out):
        # agreements and Master User fiches need two people (four eyes), a user fiche one
        for name in ("an", "bert") if item["form_id"] in ("EAP-AGR", "EAP-MU") else ("an",):
            assert _cli(capsys, "review", "approve", str(item["id"]), "--by", name, "-c", cfg)[0] == 0
    with Session(engine) as session:
        assert (
            session.exec(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)  # type: ignore[call-overload]
                .where(OutboxMessage.purpose == "credentials")
            ).one()[0]
            == 1
        )


# ---------------------------------------------------------------------------------------- 14.1 SMTP down


def test_smtp_down_fails_send_and_run_and_status_tells_the_age(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = str(_config(tmp_path, db_url, mail=_smtp_down()))
    _credentials_queued(capsys, engine, cfg)

    code, out, err = _cli(capsys, "send", "-c", cfg, "--json")
    assert code == 1, err
    sent = json.loads(out)
    assert sent["sent"] == 0
    assert sent["retrying"] >= 1
    assert set(sent["codes"].values()) == {"smtp-unreachable"}
    assert "[smtp-unreachable]" in err

    # the rows are not due again yet (backoff): age them, as a relay down since this morning would
    with Session(engine) as session:
        session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)))
        session.commit()
    code, out, err = _cli(capsys, "run", "-c", cfg, "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["ok"] is False
    assert {f["code"] for f in report["failures"] if f["stage"] == "send"} == {"smtp-unreachable"}

    code, out, err = _cli(capsys, "status", "-c", cfg, "--json")
    assert code == 1  # the last run failed
    status = json.loads(out)
    assert [a["code"] for a in status["alerts"]] == ["last-run-failed"]
    (queued,) = [s for s in status["outbox_states"] if s["state"] == "queued"]
    assert queued["max_attempts"] == 2
    assert queued["next_attempt_at"]
    assert "smtp-unreachable" in queued["last_error"]
    assert queued["oldest_age_seconds"] < 600

    with Session(engine) as session:  # queued two hours ago: past the default 60 minutes
        session.execute(sa.update(OutboxMessage).values(created_at=datetime.now(UTC) - timedelta(hours=2)))
        session.commit()
    code, out, err = _cli(capsys, "status", "-c", cfg)
    assert code == 1
    assert "mail-waiting-too-long" in err
    assert "smtp-unreachable" in out


def test_a_refused_relay_login_is_its_own_code(
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    engine: sa.Engine,
    tmp_path: Path,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "not-the-relay-password")
    cfg = str(_config(tmp_path, db_url, mail=_smtp(smtp_server, smtp_server.user)))
    _credentials_queued(capsys, engine, cfg)
    code, out, err = _cli(capsys, "send", "-c", cfg, "--json")
    assert code == 1
    assert set(json.loads(out)["codes"].values()) == {"smtp-auth-failed"}
    assert "not-the-relay-password" not in out + err


def test_an_untrusted_relay_certificate_is_its_own_code(
    capsys: pytest.CaptureFixture[str],
    db_url: str,
    engine: sa.Engine,
    tmp_path: Path,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SMTP_PASSWORD_ENV, smtp_server.password)
    # the relay's test certificate is not in the system store: STARTTLS fails, before any login
    mail = _smtp(smtp_server, smtp_server.user).replace(f'ca_file = "{smtp_server.ca_file}"\n', "")
    cfg = str(_config(tmp_path, db_url, mail=mail))
    _credentials_queued(capsys, engine, cfg)
    code, out, _ = _cli(capsys, "send", "-c", cfg, "--json")
    assert code == 1
    assert set(json.loads(out)["codes"].values()) == {"smtp-tls-failed"}


def test_status_is_ok_when_the_mail_left_and_outbox_list_never_shows_a_password(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = str(_config(tmp_path, db_url))  # the file transport: the .eml holds the password
    _credentials_queued(capsys, engine, cfg)
    code, out, err = _cli(capsys, "run", "-c", cfg, "--json")
    assert code == 0, err
    (password,) = [p for eml in (tmp_path / "var" / "outbox").glob("*.eml") if (p := _password_of(eml))]
    code, out, _ = _cli(capsys, "status", "-c", cfg, "--json")
    assert code == 0
    assert json.loads(out)["alerts"] == []
    code, out, _ = _cli(capsys, "outbox", "list", "-c", cfg, "--json")
    rows = json.loads(out)
    assert code == 0
    assert {r["state"] for r in rows} == {"sent"}
    assert any(r["purpose"] == "credentials" for r in rows)
    code, table, _ = _cli(capsys, "outbox", "list", "-c", cfg)
    assert password not in out + table
    code, out, _ = _cli(capsys, "outbox", "list", "--state", "queued", "-c", cfg, "--json")
    assert json.loads(out) == []


def _password_of(eml: Path) -> str:
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.findall(r"(?:tijdelijk wachtwoord|mot de passe temporaire)\s*:\s*(\S{12,})", body.get_content())
    return str(found[0]) if found else ""


# ------------------------------------------------------------------------------- 14.2 database down


@pytest.mark.parametrize(
    "args",
    [("status",), ("review", "list"), ("orgs", "list"), ("send",), ("outbox", "list"), ("audit", "verify"), ("run",)],
)
def test_an_unreachable_database_is_one_coded_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    cfg = str(_config(tmp_path, f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"))
    code, _out, err = _cli(capsys, *args, "-c", cfg)
    assert code == (1 if args == ("run",) else 2), err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "[database-unreachable]" in lines[0]
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------- 14.3 SQLite busy

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("CREATE TABLE IF NOT EXISTS ops_test_hold (x INTEGER)")
conn.execute("INSERT INTO ops_test_hold VALUES (1)")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _sub(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "extranet_intake.intake.cli", *args, "-c", str(cfg)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_commands_wait_for_a_writer_then_succeed_or_say_locked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "var" / "extranet-intake.db"
    cfg = _config(tmp_path, f"sqlite:///{db}")
    assert _cli(capsys, "init", "-c", str(cfg))[0] == 0
    engine = sa.create_engine(f"sqlite:///{db}")
    _credentials_queued(capsys, engine, str(cfg))
    with Session(engine) as session:
        for form in (agr(en="0403170701", notification_email="info@beta.be"), mu(en="0403170701", email="mu@beta.be")):
            process_form(session, form, prov(form, sender="mu@beta.be"), clock=clock)
        session.commit()
    engine.dispose()
    items = json.loads(_cli(capsys, "review", "list", "-c", str(cfg), "--json")[1])
    assert items

    holder = _hold(db, 8)  # longer than a command takes to start: both meet the lock
    try:
        approved = _sub(cfg, "review", "approve", str(items[0]["id"]), "--by", "an")
        sent = _sub(cfg, "send", "--json")
    finally:
        holder.wait(timeout=30)
    assert approved.returncode == 0, approved.stderr
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] >= 1

    short = _config(tmp_path, f"sqlite:///{db}?timeout=1")
    holder = _hold(db, 20)
    try:
        started = time.monotonic()
        locked = _sub(short, "review", "approve", str(items[1]["id"]), "--by", "an")
        assert time.monotonic() - started < 15  # gave up after its own 1 s, not the holder's 20 s
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert locked.returncode == 2
    assert locked.stderr.strip().splitlines() == [locked.stderr.strip()]
    assert "[database-locked]" in locked.stderr
    assert "Traceback" not in locked.stderr


# ------------------------------------------------------------------------------------- 14.4 version


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "--version")
    assert code == 0
    assert re.fullmatch(r"extranet-intake \d+\.\d+\.\d+\S*\n", out)


# ------------------------------------------------------------------------- 14.7 run lock on PostgreSQL

_LOCK_HOLDER = """
import sys, time
from pathlib import Path
from extranet_intake.intake.lock import run_lock
with run_lock(Path(sys.argv[1]), wait=False, database_url=sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_hosts_on_postgresql_never_run_at_once(db_url: str, tmp_path: Path) -> None:
    # Two hosts: each its own folder (own lock file), one PostgreSQL database.
    host_a, host_b = tmp_path / "a", tmp_path / "b"
    host_a.mkdir()
    host_b.mkdir()
    cfg_b = _config(host_b, db_url)
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(host_a / "var" / "run.lock"), db_url],
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    waiting: subprocess.Popen[str] | None = None
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        busy = _sub(cfg_b, "run")
        assert busy.returncode == 1, busy.stderr
        assert "[run-locked]" in busy.stderr
        assert f"pid {holder.pid}" in busy.stderr  # names the other host's run
        assert "postgresql advisory lock" in busy.stderr

        waiting = subprocess.Popen(
            [sys.executable, "-m", "extranet_intake.intake.cli", "run", "--wait", "--json", "-c", str(cfg_b)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PYTHONPATH": str(ROOT)},
        )
        time.sleep(4)
        assert waiting.poll() is None  # still waiting for host A
        holder.kill()  # host A dies: PostgreSQL ends its session and frees the lock
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, err
        assert json.loads(out)["ok"] is True
    finally:
        holder.kill()
        holder.wait()
        if waiting is not None and waiting.poll() is None:
            waiting.kill()
            waiting.wait()


# ---------------------------------------------------------------------------- 14.4 logs and metrics


def test_a_run_logs_json_events_without_a_password_and_writes_metrics(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, db_url, extra="[sources.drop]\nstable_seconds = 0\n")
    _credentials_queued(capsys, engine, str(cfg))
    sample = ROOT / "samples" / "drop" / "zenne-agr-nl.pdf"
    (tmp_path / "var" / "drop").mkdir(parents=True, exist_ok=True)
    (tmp_path / "var" / "drop" / sample.name).write_bytes(sample.read_bytes())

    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    proc = subprocess.run(
        [sys.executable, "-m", "extranet_intake.intake.cli", "--log-format", "json", "run", "--json", "-c", str(cfg)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]  # every line is an event
    names = {e["event"] for e in events}
    assert {"run.started", "run.stage", "document.processed", "mail.sent", "run.finished"} <= names
    assert {e["run_id"] for e in events if e["event"] != "log"} == {report["run_id"]}
    (doc,) = [e for e in events if e["event"] == "document.processed"]
    assert doc["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert doc["stage"] == "apply"

    (password,) = [p for eml in (tmp_path / "var" / "outbox").glob("*.eml") if (p := _password_of(eml))]
    assert password not in proc.stderr
    assert password not in proc.stdout

    metrics = tmp_path / "var" / "metrics" / "extranet-intake.prom"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))
        for s in family.samples
    }
    assert samples[("extranet_intake_outbox_messages", (("state", "sent"),))] >= 1
    assert samples[("extranet_intake_outbox_messages", (("state", "queued"),))] == 0
    assert samples[("extranet_intake_last_run_ok", ())] == 1
    assert sum(v for (n, _), v in samples.items() if n == "extranet_intake_last_run_documents") == 1
    assert samples[("extranet_intake_audit_head_seq", ())] > 0
    assert ("extranet_intake_review_backlog", ()) in samples
    assert samples[("extranet_intake_last_run_duration_seconds", ())] >= 0
