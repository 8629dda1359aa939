"""The temporary password is hashed in another process, while no transaction of the sender is open."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session

from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import MailPorts, Sender
from extranet_intake.mailer.transports import FileTransport
from tests.fixtures.mailer import MailDb, World

PW = re.compile(r"wachtwoord: +(\S+)")
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _probing_hash(url: str, marker: str, plaintext: str) -> str:
    """Hash, after checking that no writer holds the database (what a reviewer's approve would meet)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # "database is locked" if the sender held the write lock
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    else:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as c:
                open_tx = c.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() "
                    "AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
                ).scalar()
        finally:
            engine.dispose()
        if open_tx:
            raise RuntimeError(f"{open_tx} transaction(s) open while hashing")
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    return _CHEAP.hash(plaintext)


@dataclass
class ProbingIssuer:
    world: World
    probe: Callable[[str], str]

    @property
    def validity(self) -> timedelta:
        return self.world.validity

    def issue(self, session: Session, login: str) -> str:
        raise AssertionError("the sender hashed inside its transaction")

    def generate(self) -> str:
        return self.world.generate()

    @property
    def hasher(self) -> Callable[[str], str]:
        return self.probe

    def store(self, session: Session, login: str, password_hash: str) -> None:
        self.world.store(session, login, password_hash)


async def test_the_password_is_hashed_in_a_pool_before_the_transaction(mail_db: MailDb, tmp_path: Path) -> None:
    with mail_db.session() as s:
        mail_db.world.add_account(s, "EAP1", "jan.peeters@acme.be", "Jan Peeters", "nl")
        mail_db.world.outbox().enqueue(
            s, purpose=Purpose.CREDENTIALS, ref="EAP1", event=Event.ACCOUNT_OPENED, params={"login": "EAP1"}, key="c1"
        )
        s.commit()
    marker = tmp_path / "hashed-by"
    issuer = ProbingIssuer(mail_db.world, partial(_probing_hash, mail_db.url, str(marker)))
    ports = MailPorts(directory=mail_db.world, issuer=issuer, audit=mail_db.world)
    out = tmp_path / "out"
    report = await Sender(mail_db.engine, ports=ports, transport=FileTransport(out)).drain()
    assert report.errors == {}
    assert len(report.sent) == 1
    assert marker.read_text(encoding="utf-8") != str(os.getpid())  # another process hashed it
    [eml] = out.glob("*.eml")
    found = PW.search(eml.read_text(encoding="utf-8"))
    assert found is not None
    with mail_db.session() as s:
        assert mail_db.world.verify(s, "EAP1", found.group(1))
        assert mail_db.world.actions(s) == ["mail_queued", "credentials_issued", "mail_sent"]
