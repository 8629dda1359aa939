"""Kill test: the sending process dies (SIGKILL) after the SMTP server accepted a credentials mail
and before the database recorded it. Afterwards there is never more than one valid temporary
password, and the mail is not lost: the row left ``sending`` is sent again once its lease ran out."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from extranet_intake.mailer.outbox import OutboxMessage, utc_now
from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import Sender, SendSettings
from extranet_intake.mailer.transports import Security, SmtpSettings, SmtpTransport
from tests.fixtures.mailer import MailDb
from tests.fixtures.smtp import SmtpServer

PW = re.compile(r"wachtwoord: +(\S+)")
ROOT = Path(__file__).resolve().parents[2]


def _password(server: SmtpServer, i: int) -> str:
    got = server.messages[i]
    assert got.rcpt_tos == ["jan.peeters@acme.be"]
    found = PW.search(got.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert found is not None
    return found.group(1)


async def test_sigkill_between_smtp_accept_and_commit(mail_db: MailDb, smtp_server: SmtpServer, tmp_path: Path) -> None:
    with mail_db.session() as s:
        mail_db.world.add_account(s, "EAP1", "jan.peeters@acme.be", "Jan Peeters", "nl")
        mail_db.world.outbox().enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c1"
        )
        s.commit()
    marker = tmp_path / "accepted"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fixtures.mailer",
            mail_db.url,
            smtp_server.host,
            str(smtp_server.port),
            str(smtp_server.ca_file),
            smtp_server.user,
            smtp_server.password,
            str(marker),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
            assert time.monotonic() < deadline, "the sender never handed the mail over"
            time.sleep(0.02)
        assert len(smtp_server.messages) == 1  # the server has accepted it…
        child.send_signal(signal.SIGKILL)  # …and the sender dies before recording that
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    first = _password(smtp_server, 0)
    with mail_db.session() as s:
        row = s.exec(select(OutboxMessage)).one()
        assert row.status == "sending"
        assert row.message_id == smtp_server.messages[0].message["Message-ID"]
        # its hash was committed before the mail left: it is the one valid password right now
        assert mail_db.world.active_hashes(s, "EAP1") == 1
        assert mail_db.world.verify(s, "EAP1", first)

    # Another sender before the lease ran out leaves the row alone (the first may still be alive).
    transport = SmtpTransport(
        SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            security=Security.STARTTLS,
            user=smtp_server.user,
            password=smtp_server.password,
            ca_file=str(smtp_server.ca_file),
        )
    )
    settings = SendSettings()
    early = Sender(mail_db.engine, ports=mail_db.world.ports(), transport=transport, settings=settings)
    assert (await early.drain()).sent == []

    later = utc_now() + timedelta(seconds=settings.lease_seconds + 1)
    after = Sender(
        mail_db.engine, ports=mail_db.world.ports(), transport=transport, settings=settings, clock=lambda: later
    )
    report = await after.drain()
    await transport.aclose()
    assert len(report.sent) == 1

    assert len(smtp_server.messages) == 2  # resent, not lost
    second = _password(smtp_server, 1)
    assert second != first
    assert smtp_server.messages[1].message["Message-ID"] != smtp_server.messages[0].message["Message-ID"]
    with mail_db.session() as s:
        row = s.exec(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == ("sent", 2)
        assert row.message_id == smtp_server.messages[1].message["Message-ID"]
        assert mail_db.world.active_hashes(s, "EAP1") == 1
        assert not mail_db.world.verify(s, "EAP1", first)  # the first mail's password is dead
        assert mail_db.world.verify(s, "EAP1", second)
        assert mail_db.world.actions(s) == ["mail_queued", "credentials_issued", "credentials_issued", "mail_sent"]
