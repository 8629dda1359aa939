"""The daily run end to end, as the ops engineer and the team run it, with every real part.

Dovecot holds the samples' messages, the drop folder the posted forms, aiosmtpd (STARTTLS + AUTH)
receives the mails, the database is PostgreSQL and SQLite. After the runs and the review decisions
of the samples' manifest, accounts, profiles, scopes, contracts, the mails received and their
recipients, and the audit chain are exactly what the manifest expects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.passwords import verify_temporary_password
from tests.fixtures.deployment import IMAP_PASSWORD_ENV, SMTP_PASSWORD_ENV, write_deployment_config
from tests.fixtures.dovecot import ImapAccount
from tests.fixtures.samples import assert_end_state, assert_mails
from tests.fixtures.smtp import Received, SmtpServer

REVIEWER = "reviewer-e2e"  # a staff account: `review --by` must name one
SECOND_REVIEWER = "reviewer2-e2e"  # four eyes on agreements and Master User designations


class Deployment:
    """One deployment's config file and the command line run against it, as a separate process."""

    def __init__(self, root: Path, *, db_url: str, imap: ImapAccount, smtp: SmtpServer) -> None:
        self.root = root
        self.drop = root / "drop"
        self.config = write_deployment_config(root, db_url=db_url, imap=imap, smtp=smtp)
        self.env = {**os.environ, IMAP_PASSWORD_ENV: imap.password, SMTP_PASSWORD_ENV: smtp.password}
        self.env.pop("EXTRANET_INTAKE_CONFIG", None)

    def cli(self, *args: str, expect: int = 0) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "extranet_intake.intake.cli", *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == expect, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def run(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.cli("run", "--json"))
        assert report["ok"], report["failures"]
        return report


def _deliver(wave: int, manifest: dict[str, Any], samples: Path, imap: ImapAccount, drop: Path) -> None:
    imap.deliver_many([(samples / m["path"]).read_bytes() for m in manifest["messages"] if m["wave"] == wave])
    drop.mkdir(exist_ok=True)
    for d in manifest["drop"]:
        if d["wave"] == wave:
            shutil.copy(samples / d["path"], drop / Path(d["path"]).name)


def _decide_reviews(dep: Deployment, manifest: dict[str, Any], queued: set[str]) -> None:
    docs = {d["sha256"]: d for d in manifest["documents"]}
    for item in json.loads(dep.cli("review", "list", "--json")):
        doc = docs[item["document_sha256"]]
        assert doc["review"]["queued"] is not False, f"{doc['path']} must never reach the review queue"
        queued.add(doc["sha256"])
        if doc["review"]["decision"] == "approve":
            dep.cli("review", "approve", str(item["id"]), "--by", REVIEWER)
            if item["form_id"] in ("EAP-AGR", "EAP-MU"):  # four eyes by default
                dep.cli("review", "approve", str(item["id"]), "--by", SECOND_REVIEWER)
        else:
            dep.cli("review", "reject", str(item["id"]), "--by", REVIEWER, "--reason", doc["review"]["reason"])


def test_daily_run_over_the_samples_reaches_the_manifest(
    tmp_path: Path,
    db_url: str,
    imap_account: ImapAccount,
    smtp_server: SmtpServer,
    manifest: dict[str, Any],
    samples_dir: Path,
) -> None:
    dep = Deployment(tmp_path, db_url=db_url, imap=imap_account, smtp=smtp_server)
    dep.cli("init")
    dep.cli("staff", "add", REVIEWER, "--role", "reviewer")
    dep.cli("staff", "add", SECOND_REVIEWER, "--role", "reviewer")
    dep.cli("contracts", "import", str(samples_dir / "contracts.xlsx"))
    dep.cli("legacy", "import", str(samples_dir / "legacy_accounts.xlsx"))

    queued: set[str] = set()
    for wave in (1, 2):
        _deliver(wave, manifest, samples_dir, imap_account, dep.drop)
        first = dep.run()
        assert first["sources"], "the sources were polled"
        _decide_reviews(dep, manifest, queued)
        dep.run()

    must_queue = {d["sha256"] for d in manifest["documents"] if d["review"]["queued"] is True}
    assert must_queue <= queued
    # every message left the inbox for Processed, or for the people's folder when it holds no form or
    # only refused ones (left unread), every dropped file for the archive — after its commit
    assert imap_account.files("INBOX") == []
    sha_of = {m["sha256"]: m["path"] for m in manifest["messages"]}
    people = sorted(sha_of[hashlib.sha256(raw).hexdigest()] for raw in imap_account.files("Te behandelen"))
    assert people == sorted(m["path"] for m in manifest["messages"] if m["for_people"])
    assert len(imap_account.files("Processed")) == len(manifest["messages"]) - len(people)
    assert all(
        ":2," not in p.name or "S" not in p.name.split(":2,")[1]
        for sub in ("new", "cur")
        for p in (imap_account.folder_path("Te behandelen") / sub).iterdir()
    )
    assert not list(dep.drop.iterdir())

    engine = make_engine(db_url)
    try:
        assert_end_state(engine, manifest)
        with Session(engine) as session:
            purpose_of = {row.message_id: row.purpose for row in session.exec(select(OutboxMessage))}
    finally:
        engine.dispose()

    received = smtp_server.messages
    for mail in received:
        msg = mail.message
        assert mail.rcpt_tos == [msg["To"].addresses[0].addr_spec], "envelope recipient is the To address"
        assert msg["Cc"] is None
        assert msg["Bcc"] is None
    # the purpose of each received mail, by its Message-ID in the outbox
    sent = Counter((purpose_of[m.message["Message-ID"]], m.rcpt_tos[0]) for m in received)
    assert_mails(sent, manifest)

    status = json.loads(dep.cli("status", "--json"))
    assert status["review_open"] == 0
    listed = {(m["sender"], m["subject"], m["reason"]) for m in status["for_people"]}
    assert listed == {(m["from"], m["subject"], m["for_people"]) for m in manifest["messages"] if m["for_people"]}
    assert "mails for people" in dep.cli("status")
    assert status["outbox"].get("queued", 0) == 0
    verify = dep.cli("audit", "verify", "--json")
    assert json.loads(verify)["ok"] is True

    # org notices: once per organisation with open access, to its agreement's address — and once only
    before = len(smtp_server.messages)
    notice = json.loads(
        dep.cli(
            "notify",
            "--event",
            "new-documents",
            "--what-nl",
            "pensioenfiches 2026",
            "--what-fr",
            "fiches de pension 2026",
            "--json",
        )
    )
    assert notice["queued"] == len(manifest["expected"]["organisations_open"])
    notified = sorted(m.rcpt_tos[0] for m in smtp_server.messages[before:])
    agreements = {o["enterprise_number"]: o["notification_email"] for o in manifest["organisations"]}
    assert notified == sorted(agreements[en] for en in manifest["expected"]["organisations_open"])
    again = json.loads(
        dep.cli(
            "notify",
            "--event",
            "new-documents",
            "--what-nl",
            "pensioenfiches 2026",
            "--what-fr",
            "fiches de pension 2026",
            "--json",
        )
    )
    assert (again["queued"], again["already"]) == (0, notice["queued"])
    assert len(smtp_server.messages) == before + len(notified)

    # the team re-issues credentials: a new mail to the same fiche address, and the old password dies
    user = next(u for u in json.loads(dep.cli("users", "list", "--json")) if u["status"] == "active")
    old = [p for m in smtp_server.messages if m.rcpt_tos == [user["email"]] and (p := _password(m))]
    assert len(old) == 1
    dep.cli("users", "reissue", user["login"], "--by", REVIEWER)
    dep.cli("send")
    new = [p for m in smtp_server.messages if m.rcpt_tos == [user["email"]] and (p := _password(m))]
    assert len(new) == 2
    assert new[1] != old[0]
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            assert not verify_temporary_password(session, user["login"], old[0], clock=_now)
            assert verify_temporary_password(session, user["login"], new[1], clock=_now)
            session.commit()
    finally:
        engine.dispose()


def _password(mail: Received) -> str | None:
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"(?:tijdelijk wachtwoord|mot de passe temporaire)\s*:\s*(\S+)", body.get_content())
    return found.group(1) if found else None


def _now() -> datetime:
    return datetime.now(UTC)


def test_dry_run_changes_nothing(
    tmp_path: Path,
    db_url: str,
    imap_account: ImapAccount,
    smtp_server: SmtpServer,
    manifest: dict[str, Any],
    samples_dir: Path,
) -> None:
    dep = Deployment(tmp_path, db_url=db_url, imap=imap_account, smtp=smtp_server)
    dep.cli("init")
    dep.cli("contracts", "import", str(samples_dir / "contracts.xlsx"))
    _deliver(1, manifest, samples_dir, imap_account, dep.drop)
    (dep.drop / "zz-link.pdf").symlink_to(samples_dir / "contracts.xlsx")  # refused by a real run: shown so
    inbox_before = sorted(imap_account.files("INBOX"))
    drop_before = sorted(p.name for p in dep.drop.iterdir())
    audit_before = dep.cli("audit", "log", "--json")

    report = json.loads(dep.cli("run", "--dry-run", "--json"))

    assert report["dry_run"] is True
    assert Counter(d["outcome"] for d in report["documents"])["review"] > 0, "the plan was shown"
    assert [
        (d["outcome"], d["reasons"]) for d in report["documents"] if d["source"].startswith("drop:zz-link.pdf;")
    ] == [("rejected", ["file-symlink"])]
    assert sorted(imap_account.files("INBOX")) == inbox_before
    assert imap_account.files("Processed") == []
    assert sorted(p.name for p in dep.drop.iterdir()) == drop_before
    assert dep.cli("audit", "log", "--json") == audit_before
    status = json.loads(dep.cli("status", "--json"))
    assert status == {
        "last_run": None,
        "review_open": 0,
        "outbox": {},
        "outbox_states": [],
        "documents_pending": 0,
        "for_people": [],
        "access_reviews_overdue": [],
        "alerts": [],
        "ok": True,
    }
    assert not (tmp_path / "var" / "store").exists() or not any((tmp_path / "var" / "store").rglob("*"))
    assert smtp_server.messages == []


def test_a_second_run_waits_or_exits(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[run]\ndata_dir = "var"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "EXTRANET_INTAKE_CONFIG"}
    # hold the lock in another process, as a running run does
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from extranet_intake.intake.lock import run_lock\n"
                "with run_lock(Path(sys.argv[1]), wait=False):\n    print('held', flush=True); time.sleep(30)"
            ),
            str(tmp_path / "var" / "run.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        proc = subprocess.run(
            [sys.executable, "-m", "extranet_intake.intake.cli", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert proc.returncode == 1
        assert "another run is in progress" in proc.stderr
    finally:
        holder.kill()
        holder.wait()


def test_secrets_are_never_printed(tmp_path: Path, imap_account: ImapAccount) -> None:
    wrong = "Wrong-Pa55word-that-must-not-leak"
    config = tmp_path / "c.toml"
    config.write_text(
        f"""
[run]
data_dir = "var"
[sources.imap]
enabled = true
host = "127.0.0.1"
port = {imap_account.server.port}
tls = "none"
user = "{imap_account.user}"
password_env = "E2E_IMAP_PASSWORD"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "E2E_IMAP_PASSWORD": wrong}
    env.pop("EXTRANET_INTAKE_CONFIG", None)
    for args in (["init"], ["run"], ["run", "--json"], ["status"]):
        proc = subprocess.run(
            [sys.executable, "-m", "extranet_intake.intake.cli", *args, "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert wrong not in proc.stdout + proc.stderr
        if args[0] == "run":
            assert proc.returncode == 1, proc.stderr
            assert "imap" in (proc.stdout + proc.stderr).lower()
    reports = list((tmp_path / "var" / "reports").glob("*.json"))
    assert reports
    assert all(wrong not in r.read_text(encoding="utf-8") for r in reports)


@pytest.mark.parametrize("content", ['[sources.imap]\nenabled = "yes"\n', "[bogus]\nkey = 1\n", "not = [toml"])
def test_configuration_errors_stop_before_anything_runs(tmp_path: Path, content: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "extranet_intake.intake.cli", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert str(config) in proc.stderr
    assert not (tmp_path / "var").exists()
