"""Draining the outbox: claim rows, re-check their recipients, issue credentials, commit, send, record.

The order is the crash-safety argument:

1. the claim (``sending`` + a lease) is committed, for a batch of rows at once;
2. each recipient is resolved again and must equal the queued one, else the row is ``refused``;
3. for credentials the new temporary password is issued — its hash replaces the previous one —
   and committed together with the Message-ID *before* the message leaves (the password is made
   and hashed before that transaction opens, in a process pool, so neither the database's write
   lock nor the event loop waits for argon2id; a password made for a row that turns out to be
   refused or taken over is simply dropped — only a stored hash can ever log anyone in). The rows
   of a batch are stored in one transaction, each behind its own savepoint (a row that fails is
   rolled back alone), and none of them leaves before that transaction is committed;
4. the transport hands the messages over;
5. ``sent`` is committed, for the batch in one transaction once each of its messages was tried.

A crash between 4 and 5 leaves the rows ``sending``; after their lease they are claimed again and
sent again (never lost). For credentials that resend issues a new password, which kills the one in
the first message: a user may get two mails, but only the newest password works. The same holds for
a sender that outlives its lease (a stalled host): it records what it sent, but the row is the new
sender's, which it never re-queues or closes. Batching changes how many rows share a commit, never
the order of 3, 4 and 5 for any row.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from extranet_intake.errors import IntakeError, MailerError
from extranet_intake.mailer.defaults import CONCURRENCY, MAX_ATTEMPTS
from extranet_intake.mailer.identity import LOGIN_URL, SERVICE_ADDRESS, SERVICE_NAME
from extranet_intake.mailer.outbox import (
    Clock,
    OutboxMessage,
    OutboxStatus,
    backoff,
    claim_due,
    count_due,
    details_of,
    utc_now,
)
from extranet_intake.mailer.ports import (
    AuditSink,
    CredentialIssuer,
    MailAction,
    MailRecord,
    PreparedIssuer,
    RecipientDirectory,
)
from extranet_intake.mailer.purposes import Event, Language, Purpose, Recipient
from extranet_intake.mailer.render import check_message, compose, render
from extranet_intake.mailer.stock import Made, PasswordStock
from extranet_intake.mailer.transports import DeliveryError, Envelope, Transport

__all__ = ["DrainReport", "MailPorts", "Outcome", "SendSettings", "Sender"]

log = logging.getLogger("mailer")


#: a row's new status after an attempt, and the error and its code, if any
Outcome = tuple[OutboxStatus, str | None, str | None]


@dataclass(frozen=True)
class SendSettings:
    from_address: str = SERVICE_ADDRESS
    from_name: str = SERVICE_NAME
    #: the extranet's sign-in page, given in credentials mails
    login_url: str = LOGIN_URL
    max_attempts: int = MAX_ATTEMPTS
    #: a row ``sending`` longer than this belongs to a sender that died: it is sent again
    lease_seconds: float = 600.0
    backoff_seconds: float = 60.0
    backoff_max_seconds: float = 6 * 3600.0
    #: rows in flight at once (the SMTP transport bounds its own connections as well)
    concurrency: int = CONCURRENCY
    #: processes hashing temporary passwords (0: one per core the process may use)
    hash_workers: int = 0
    #: rows each of the ``concurrency`` workers claims, stores and records in one transaction each
    batch_size: int = 8


@dataclass(frozen=True)
class MailPorts:
    directory: RecipientDirectory
    issuer: CredentialIssuer
    audit: AuditSink


@dataclass
class DrainReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    #: outbox id → last error (codes and server replies only, never message content)
    errors: dict[int, str] = field(default_factory=dict)
    #: outbox id → the stable code of why it did not leave (``smtp-unreachable``, ``smtp-auth-failed`` …)
    codes: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.refused or self.retrying)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": len(self.sent),
            "retrying": len(self.retrying),
            "failed": len(self.failed),
            "refused": len(self.refused),
            "errors": {str(k): v for k, v in self.errors.items()},
            "codes": {str(k): v for k, v in self.codes.items()},
        }

    def undelivered(self) -> list[tuple[int, str, str]]:
        """(outbox id, state, code) of every due mail that did not leave in this drain."""
        out: list[tuple[int, str, str]] = []
        for state, ids in (("retrying", self.retrying), ("failed", self.failed), ("refused", self.refused)):
            out.extend(
                (i, state, self.codes.get(i) or ("mail-refused" if state == "refused" else "mail-not-delivered"))
                for i in ids
            )
        return sorted(out)


def _token() -> str:
    return secrets.token_hex(12)


class Sender:
    def __init__(
        self,
        engine: Engine,
        *,
        ports: MailPorts,
        transport: Transport,
        settings: SendSettings | None = None,
        clock: Clock = utc_now,
        token: Callable[[], str] = _token,
        stock: PasswordStock | None = None,
    ) -> None:
        self.engine = engine
        self.ports = ports
        self.transport = transport
        self.settings = settings or SendSettings()
        self.clock = clock
        self.token = token
        #: passwords hashed ahead: the caller's (the daily run fills it while it reads the forms), else our own
        self._stock = stock
        self._own_stock = stock is None

    def _password_stock(self, issuer: PreparedIssuer) -> PasswordStock:
        if self._stock is None:
            self._stock = PasswordStock(issuer, workers=self.settings.hash_workers)
        return self._stock

    def close(self) -> None:
        """Stop the hashing processes of our own stock (a drain does this itself when it ends)."""
        if self._own_stock and self._stock is not None:
            self._stock.close()
            self._stock = None

    async def drain(self, *, limit: int | None = None) -> DrainReport:
        """Send every due row once (at most ``limit``); failures are recorded, never raised."""
        report = DrainReport()
        # Rows this drain tried that may be due again before it ends (deferred with a short back-off,
        # or taken over after our lease ran out): they wait for the next drain. Rows sent, failed or
        # refused are never due again, so they need no exclusion: the list stays as short as the
        # drain's failures, and a claim costs the same at the 3,000th mail as at the first.
        again: set[int] = set()
        budget = [limit if limit is not None else -1]
        size = max(1, self.settings.batch_size)
        if isinstance(self.ports.issuer, PreparedIssuer):
            # every credentials mail due now gets its password hashed from the start, in the pool,
            # while the first rows are claimed and the notices go out
            with Session(self.engine) as session:
                due = count_due(session, now=self.clock(), purpose=Purpose.CREDENTIALS)
            if due and limit != 0:
                self._password_stock(self.ports.issuer).expect(due if limit is None else min(due, limit))

        async def worker() -> None:
            while budget[0] != 0:
                take = size if budget[0] < 0 else min(size, budget[0])
                with Session(self.engine) as session:
                    claimed = claim_due(session, now=self.clock(), lease=self._lease(), limit=take, exclude=again)
                if not claimed:
                    return
                budget[0] -= len(claimed) if budget[0] > 0 else 0
                outcomes = await self.deliver_batch(claimed)
                for (row_id, _), (status, error, code) in zip(claimed, outcomes, strict=True):
                    if status in (OutboxStatus.QUEUED, OutboxStatus.SENDING):
                        again.add(row_id)
                    {
                        OutboxStatus.SENT: report.sent,
                        OutboxStatus.QUEUED: report.retrying,
                        OutboxStatus.FAILED: report.failed,
                        OutboxStatus.REFUSED: report.refused,
                    }.get(status, report.retrying).append(row_id)
                    if error:
                        report.errors[row_id] = error
                    if code:
                        report.codes[row_id] = code

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.settings.concurrency))))
        finally:
            self.close()
        return report

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    async def deliver(self, row_id: int, lease_until: datetime) -> tuple[OutboxStatus, str | None, str | None]:
        """One claimed row, start to end. Returns its new status, and the error and its code, if any."""
        return (await self.deliver_batch([(row_id, lease_until)]))[0]

    async def deliver_batch(self, claimed: list[tuple[int, datetime]]) -> list[Outcome]:
        """Claimed rows, start to end, in three transactions whatever their number (module docstring).

        Their passwords are made and hashed first, outside any transaction; one transaction then
        stores every hash with its row's Message-ID (a row that fails here is rolled back to its
        savepoint, alone); the messages leave; one transaction records what became of each.
        Returns each row's new status, and the error and its code, if any, in the order given.
        """
        made = await self._made_passwords([row_id for row_id, _ in claimed])
        outcomes: dict[int, Outcome] = {}
        envelopes: dict[int, tuple[Envelope, datetime]] = {}
        #: row id → (lease, error, permanent, code) of an attempt that did not get through
        failures: dict[int, tuple[datetime, str, bool, str]] = {}
        try:
            try:
                # the common case, every row prepared: one transaction, no savepoint per row
                self._prepare_rows(claimed, dict(made), outcomes, envelopes, failures, alone=False)
            except _RowFailed:
                # a row failed and the whole batch was rolled back: again, each row in a savepoint of its
                # own, so that the one that fails is rolled back alone and the others go on
                outcomes.clear()
                envelopes.clear()
                self._prepare_rows(claimed, made, outcomes, envelopes, failures, alone=True)
        except Exception as exc:
            # The commit failed: nothing of this batch was stored, nothing leaves.
            log.error("outbox: storing a batch of %d mails failed: %s", len(claimed), type(exc).__name__)
            envelopes.clear()
            outcomes.clear()
            failures = {
                row_id: (lease_until, f"internal error: {type(exc).__name__}", False, "mail-internal-error")
                for row_id, lease_until in claimed
            }
        made.clear()

        sent: dict[int, tuple[datetime, str]] = {}

        async def send(row_id: int) -> None:
            envelope, lease_until = envelopes.pop(row_id)
            message_id = str(envelope.message["Message-ID"])
            try:
                await self.transport.send(envelope)
            except DeliveryError as exc:
                failures[row_id] = (lease_until, str(exc), exc.permanent, exc.code)
            except Exception as exc:
                failures[row_id] = (
                    lease_until,
                    f"transport error: {type(exc).__name__}",
                    False,
                    "mail-transport-error",
                )
            else:
                sent[row_id] = (lease_until, message_id)
            finally:
                del envelope  # with the dict entry popped, the only reference to the plaintext password

        await asyncio.gather(*(send(row_id) for row_id in list(envelopes)))

        if sent or failures:
            logs: list[tuple[str, tuple[object, ...]]] = []
            with Session(self.engine) as session:
                held = self._hold(session, [*sent, *failures])
                handed: list[MailRecord] = []
                for row_id, (lease_until, message_id) in sent.items():
                    handed.append(self._after_success(session, row_id, lease_until, message_id))
                    outcomes[row_id] = (OutboxStatus.SENT, None, None)
                    logs.append(("info", ("outbox %s sent (%s)", row_id, message_id)))
                self.ports.audit.record_many(session, handed)
                for row_id, (lease_until, error, permanent, code) in failures.items():
                    status, error = self._after_failure(session, row_id, lease_until, error, permanent=permanent)
                    outcomes[row_id] = (status, error, code)
                    if status is not OutboxStatus.SENDING:
                        logs.append(
                            (
                                "warning",
                                (
                                    "outbox %s %s: %s",
                                    row_id,
                                    "failed" if status is OutboxStatus.FAILED else "deferred",
                                    error,
                                ),
                            )
                        )
                session.commit()
                del held
            for level, args in logs:
                getattr(log, level)(*args)
        return [outcomes[row_id] for row_id, _ in claimed]

    def _prepare_rows(
        self,
        claimed: list[tuple[int, datetime]],
        made: dict[int, Made],
        outcomes: dict[int, Outcome],
        envelopes: dict[int, tuple[Envelope, datetime]],
        failures: dict[int, tuple[datetime, str, bool, str]],
        *,
        alone: bool,
    ) -> None:
        """Prepare every claimed row in one transaction and commit it (``deliver_batch``'s first step).

        ``alone``: each row in a savepoint, a row that fails rolled back by itself and noted in
        ``failures``. Without it a failing row raises ``_RowFailed`` and nothing is kept (the caller
        then prepares the batch again, ``alone``): a savepoint per row cost three statements a mail.
        """
        with Session(self.engine) as session:
            held = self._hold(session, [row_id for row_id, _ in claimed])
            issued: list[MailRecord] = []
            for row_id, lease_until in claimed:
                try:
                    with session.begin_nested() if alone else nullcontext():
                        password = made.pop(row_id, None)
                        if isinstance(password, BaseException):
                            raise password
                        prepared = self._prepare(session, row_id, lease_until, password)
                        del password
                except IntakeError as exc:
                    if not alone:
                        raise _RowFailed from None
                    # Rolled back: no password was stored. Project errors carry no secrets by rule.
                    failures[row_id] = (lease_until, str(exc), True, exc.code)
                    continue
                except Exception as exc:
                    if not alone:
                        raise _RowFailed from None  # a password may be in the error's frames: none kept
                    # Unknown failure after a password may exist in memory: keep only the error's kind.
                    log.error("outbox %s: preparing the mail failed: %s", row_id, type(exc).__name__)
                    failures[row_id] = (
                        lease_until,
                        f"internal error: {type(exc).__name__}",
                        False,
                        "mail-internal-error",
                    )
                    continue
                if isinstance(prepared, OutboxStatus):
                    outcomes[row_id] = (
                        prepared,
                        None,
                        "mail-refused" if prepared is OutboxStatus.REFUSED else None,
                    )
                else:
                    envelopes[row_id] = (prepared.envelope, prepared.lease_until)
                    if prepared.issued is not None:
                        issued.append(prepared.issued)
                del prepared
            # one append for the batch's passwords issued (one lock of the chain's head), committed with them
            self.ports.audit.record_many(session, issued)
            # Commit before the side effect: the new hashes (each killed its account's previous
            # password) and the Message-IDs are durable before anything can reach a recipient.
            session.commit()
            del held

    def _hold(self, session: Session, row_ids: list[int]) -> object:
        """The batch's rows, and what their recipients and audit entries read, loaded in a few queries and
        kept in ``session`` while the result is referenced (``RecipientDirectory.hold``)."""
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(row_ids))).all()
        return rows, self.ports.directory.hold(session, [(Purpose(r.purpose), r.ref) for r in rows])

    async def _made_passwords(self, row_ids: list[int]) -> dict[int, Made]:
        """(plaintext, hash) of a new temporary password for each credentials row, made outside any
        transaction: hashed ahead in the pool (``mailer/stock.py``) while the workers claim and send."""
        issuer = self.ports.issuer
        if not isinstance(issuer, PreparedIssuer) or not row_ids:
            return {}
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            ids = [
                r
                for (r,) in conn.execute(
                    sa.select(table.c.id).where(table.c.id.in_(row_ids), table.c.purpose == Purpose.CREDENTIALS.value)
                )
            ]
        if not ids:
            return {}
        made = await self._password_stock(issuer).take(len(ids))
        return dict(zip(ids, made, strict=True))

    def _prepare(
        self, session: Session, row_id: int, lease_until: datetime, made: tuple[str, str] | None = None
    ) -> Prepared | OutboxStatus:
        """The row's message, its password stored and its Message-ID set, in the caller's transaction; with
        the audit entry of the password issued, for the caller to append once the row is prepared whole."""
        row = session.get(OutboxMessage, row_id)
        if row is None or not _held(row, lease_until):
            # Another sender took it over after our lease ran out: theirs now.
            return OutboxStatus.SENDING
        purpose, event = Purpose(row.purpose), Event(row.event)
        now = self.clock()
        current = self.ports.directory.recipient(session, purpose, row.ref)
        problem = _mismatch(row, current)
        if problem or current is None:
            self._close(session, row, OutboxStatus.REFUSED, problem or "no recipient", now)
            self.ports.audit.record(
                session,
                action=MailAction.MAIL_REFUSED,
                purpose=purpose,
                ref=row.ref,
                actor="system",
                reason=problem or "no recipient",
                details=details_of(row),
            )
            log.warning("outbox %s refused: %s", row_id, problem)
            return OutboxStatus.REFUSED
        if purpose is Purpose.CREDENTIALS or not row.message_id:
            # A credentials resend carries a new password, hence a new Message-ID (receivers that
            # drop duplicate IDs would otherwise drop the only working password). Notices keep
            # theirs, so a resend after a crash replaces the .eml file / is deduplicated.
            row.message_id = self._message_id(row_id, now)
        secret: dict[str, object] | None = None
        issued: MailRecord | None = None
        if purpose is Purpose.CREDENTIALS:
            # the issuer's own validity: the mail states what the stored password really has
            validity = self.ports.issuer.validity
            hours = int(validity.total_seconds() // 3600)
            if made is not None and isinstance(self.ports.issuer, PreparedIssuer):
                self.ports.issuer.store(session, row.ref, made[1])
                password = made[0]
            else:
                password = self.ports.issuer.issue(session, row.ref)
            secret = {"password": password, "valid_hours": hours, "valid_until": now + validity}
            # appended with the batch's others once this row is prepared whole (``deliver_batch``)
            issued = MailRecord(
                MailAction.CREDENTIALS_ISSUED,
                purpose,
                row.ref,
                "system",
                f"temporary password issued for {event}, valid {hours} h",
                details_of(row),
            )
        rendered = render(
            purpose,
            event,
            Language(current.language),
            recipient_name=current.name,
            params=row.params,
            secret=secret,
            now=now,
            login_url=self.settings.login_url,
        )
        message = compose(
            rendered,
            sender=self.settings.from_address,
            sender_name=self.settings.from_name,
            recipient=current,
            message_id=row.message_id,
            when=now,
        )
        # checked when queued, and here again on the exact bytes about to leave
        data = check_message(message, envelope_recipient=current.address)
        row.language = Language(current.language).value
        lease_until = row.lease_until = now + self._lease()
        row.updated_at = now
        session.add(row)
        return Prepared(
            Envelope(sender=self.settings.from_address, recipient=current.address, message=message, data=data),
            lease_until,
            issued,
        )

    def _message_id(self, row_id: int, now: datetime) -> str:
        domain = self.settings.from_address.rpartition("@")[2] or "localhost"
        return f"<{now:%Y%m%d%H%M%S}.{row_id}.{self.token()}@{domain}>"

    def _close(
        self, session: Session, row: OutboxMessage, status: OutboxStatus, error: str | None, now: datetime
    ) -> None:
        row.status = status.value
        row.last_error = error
        row.lease_until = None
        row.updated_at = now
        if status is OutboxStatus.SENT:
            row.sent_at = now
        session.add(row)

    def _after_success(self, session: Session, row_id: int, lease_until: datetime, message_id: str) -> MailRecord:
        """Record a row handed over, in the caller's transaction; its audit entry is for the caller to append."""
        row = session.get(OutboxMessage, row_id)
        if row is None:
            raise MailerError("outbox-row-vanished", "outbox row disappeared while sending", outbox_id=row_id)
        reason, details = f"{row.event} sent", details_of(row)
        if _held(row, lease_until):
            self._close(session, row, OutboxStatus.SENT, None, self.clock())
        else:
            # Handed over after our lease ran out: another sender owns the row (and, for
            # credentials, has issued the password that works). The mail left all the same.
            reason += " after its lease ran out; the row was taken over"
            details = {**details, "message_id": message_id}
            details.pop("attempt")  # the row's count is the new sender's now
        return MailRecord(MailAction.MAIL_SENT, Purpose(row.purpose), row.ref, "system", reason, details)

    def _after_failure(
        self, session: Session, row_id: int, lease_until: datetime, error: str, *, permanent: bool
    ) -> tuple[OutboxStatus, str]:
        """Record an attempt that did not get through, in the caller's transaction."""
        row = session.get(OutboxMessage, row_id)
        if row is None:
            return OutboxStatus.FAILED, error
        if not _held(row, lease_until):
            # Our lease ran out while we tried: the row is another sender's (it may be sent by
            # now); queuing it again would mail a third password.
            log.warning(
                "outbox %s: attempt failed after its lease ran out, row left to its new sender: %s", row_id, error
            )
            return OutboxStatus.SENDING, error
        now = self.clock()
        if permanent or row.attempts >= self.settings.max_attempts:
            reason = error if permanent else f"gave up after {row.attempts} attempts: {error}"
            self._close(session, row, OutboxStatus.FAILED, reason, now)
            self.ports.audit.record(
                session,
                action=MailAction.MAIL_FAILED,
                purpose=Purpose(row.purpose),
                ref=row.ref,
                actor="system",
                reason=reason,
                details=details_of(row),
            )
            return OutboxStatus.FAILED, error
        self._close(session, row, OutboxStatus.QUEUED, error, now)
        row.next_attempt_at = now + backoff(
            row.attempts, base_seconds=self.settings.backoff_seconds, max_seconds=self.settings.backoff_max_seconds
        )
        return OutboxStatus.QUEUED, error


class _RowFailed(Exception):
    """A row of a batch prepared without savepoints failed: the batch is prepared again, row by row."""


class Prepared(NamedTuple):
    """A row ready to leave: its envelope, the lease it goes under, and the audit entry of its password."""

    envelope: Envelope
    lease_until: datetime
    issued: MailRecord | None


def _held(row: OutboxMessage, lease_until: datetime) -> bool:
    """Whether the row is still ours: ``sending`` under the very lease we took or set."""
    return row.status == OutboxStatus.SENDING and row.lease_until is not None and row.lease_until == lease_until


def _mismatch(row: OutboxMessage, current: Recipient | None) -> str | None:
    if current is None:
        return "the purpose has no allowed recipient any more"
    if _norm(current.address) != _norm(row.recipient):
        # The fiche changed since the mail was queued: the queued content was meant for the old
        # address and the new one was never checked for this mail — refuse, a new fiche queues anew.
        return "the recipient changed since the mail was queued"
    return None


def _norm(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"
