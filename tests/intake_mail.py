"""Test helpers of the intake area: build RFC 5322 messages with form-like attachments, and a store + database."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from extranet_intake.intake.config import TrustConfig
from extranet_intake.intake.explode import explode_messages
from extranet_intake.intake.mime import MimeLimits
from extranet_intake.intake.sources.ingest import PollReport, ProgressHook
from extranet_intake.intake.store import DocumentStore
from extranet_intake.provisioning.engines import create_schema

__all__ = ["FIXED_NOW", "explode", "fake_pdf", "make_message", "sqlite_engine", "store_and_sessions"]

FIXED_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


def fake_pdf(tag: str, *, size: int = 0) -> bytes:
    """Bytes that start like a PDF (what the poller sniffs), unique per tag."""
    body = f"%PDF-1.7\n% form {tag}\n".encode()
    return body + b"0" * max(0, size - len(body)) + b"\n%%EOF\n"


def make_message(
    *,
    sender: str = "mu@example.be",
    subject: str = "forms",
    attachments: list[tuple[str, bytes]] | None = None,
    auth_results: list[str] | None = None,
    message_id: str | None = None,
    body: str = "Please find the forms attached.",
) -> bytes:
    msg = MIMEMultipart()
    # Gateways prepend: the first header in the list is the topmost one.
    for header in auth_results or []:
        msg["Authentication-Results"] = header
    msg["From"] = sender
    msg["To"] = "extranet2P@ethias.be"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<m{next(_seq)}@example.be>"
    msg.attach(MIMEText(body))
    for name, data in attachments or []:
        part = MIMEApplication(data, "octet-stream")
        part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    # CRLF, as on the wire: IMAP serves CRLF, so the stored original equals what was delivered.
    return msg.as_bytes(policy=SMTP)


def sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    # the whole schema: the explode stage writes audit entries beside the intake tables
    create_schema(engine)
    return engine


def store_and_sessions(root: Path, *, fsync: bool = True) -> tuple[DocumentStore, Callable[[], Session], Engine]:
    engine = sqlite_engine(root / "extranet_intake.intake.database")
    return DocumentStore(root / "store", fsync=fsync), (lambda: Session(engine)), engine


def explode(
    store: DocumentStore,
    sessions: Callable[[], Session],
    *,
    limits: MimeLimits | None = None,
    on_progress: ProgressHook | None = None,
    chunk: int = 100,
) -> PollReport:
    """Stage 2 over everything the pollers stored, as the daily run calls it (gateway ``mx.ethias.be``)."""
    with sessions() as session:
        return explode_messages(
            session,
            store,
            trust=TrustConfig(),
            limits=limits or MimeLimits(),
            clock=lambda: datetime.now(UTC),
            chunk=chunk,
            on_progress=on_progress,
        )
