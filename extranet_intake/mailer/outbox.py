"""The ``outbox`` table, idempotent enqueueing inside the caller's transaction, and claiming due rows.

A row is a promise to send one mail of one purpose about one ``ref``; the address it will go to
is resolved from the database (never copied from a request) when queued and again just before
sending. ``params`` feed the template and never hold a secret: the temporary password of a
credentials mail is made at send time and lives only in the message handed to the transport.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select
from sqlmodel.sql.sqltypes import UTCDateTime

from extranet_intake.errors import MailerError
from extranet_intake.mailer.ports import AuditSink, MailAction, MailRecord, RecipientDirectory
from extranet_intake.mailer.purposes import Event, Purpose, Recipient, check_params, spec_of
from extranet_intake.mailer.render import check_address

__all__ = [
    "Clock",
    "Outbox",
    "OutboxMessage",
    "OutboxStatus",
    "QueuedMail",
    "backoff",
    "claim_due",
    "count_due",
    "details_of",
    "utc_now",
]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


#: the reason code of a superseded row (its words are in the reason catalogue)
SUPERSEDED_CODE = "mail-superseded"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    #: claimed by a sender until ``lease_until``; a row still here after that is retried
    SENDING = "sending"
    SENT = "sent"
    #: permanently undeliverable (5xx, or attempts exhausted)
    FAILED = "failed"
    #: never sent on purpose: no allowed recipient, or it changed between queueing and sending
    REFUSED = "refused"
    #: never sent: a newer credentials mail for the same account was queued before it went out
    SUPERSEDED = "superseded"


#: the product's one datetime column type (docs/architecture.md): DateTime(timezone=True) that takes
#: aware datetimes only, stores UTC and reads back aware UTC on SQLite and PostgreSQL alike
_TZ = UTCDateTime()


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(sa_type=sa.String(200), unique=True, nullable=False)
    purpose: str = Field(sa_type=sa.String(32), nullable=False)
    ref: str = Field(sa_type=sa.String(200), nullable=False, index=True)
    event: str = Field(sa_type=sa.String(40), nullable=False)
    language: str = Field(sa_type=sa.String(2), nullable=False)
    #: the address resolved when queued; sending refuses if the database now says otherwise
    recipient: str = Field(sa_type=sa.String(320), nullable=False)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    status: str = Field(sa_type=sa.String(16), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(sa_type=_TZ, nullable=False)
    lease_until: datetime | None = Field(default=None, sa_type=_TZ)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    message_id: str | None = Field(default=None, sa_type=sa.String(250))
    created_at: datetime = Field(sa_type=_TZ, nullable=False)
    updated_at: datetime = Field(sa_type=_TZ, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=_TZ)


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential: base, 2×base, 4×base … capped — a greylisting server gets time to forget us."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class QueuedMail:
    """One mail to queue: ``Outbox.enqueue``'s arguments, for ``Outbox.enqueue_many``."""

    purpose: Purpose
    ref: str
    event: Event
    params: Mapping[str, Any]
    key: str


def _checked(mail: QueuedMail) -> tuple[Purpose, Event, dict[str, Any]]:
    """The mail's purpose, event and checked params; a coded refusal of a mail that cannot be queued."""
    purpose, event = Purpose(mail.purpose), Event(mail.event)
    spec_of(purpose, event)
    clean = check_params(purpose, event, mail.params)
    if not mail.key or len(mail.key) > 200:
        raise MailerError("mail-key-invalid", "an idempotency key of 1–200 characters is needed")
    return purpose, event, clean


@dataclass
class Outbox:
    """Queues mails inside the caller's transaction; checks the recipient first."""

    directory: RecipientDirectory
    audit: AuditSink
    clock: Clock = utc_now

    def enqueue(
        self,
        session: Session,
        *,
        purpose: Purpose,
        ref: str,
        event: Event,
        params: Mapping[str, Any],
        key: str,
        actor: str = "system",
    ) -> OutboxMessage:
        """Queue one mail, or return the row already queued under ``key``.

        Runs in the caller's transaction (the daily run queues inside its provisioning
        transaction, so a rolled-back plan queues nothing). Without an allowed recipient the row
        is stored as ``refused`` and audited — it is the record that a mail was due and withheld.
        """
        (row,) = self.enqueue_many(session, [QueuedMail(purpose, ref, event, params, key)], actor=actor)
        return row

    def enqueue_many(
        self, session: Session, mails: Sequence[QueuedMail], *, actor: str = "system"
    ) -> list[OutboxMessage]:
        """``enqueue`` each of ``mails``, in their order, as one call after another would — in one go.

        A decision's mails cost one look-up of their keys, one savepoint and flush for their rows and
        one append of their audit entries (one lock of the chain's head), not one of each per mail.
        Every mail is checked before anything is written: one bad mail queues none of them.
        """
        checked = [(_checked(m), m) for m in mails]
        keys = [m.key for m in mails]
        if not mails:
            return []
        if len(set(keys)) != len(keys):
            # a key twice in one batch: its second mail is its first's row, as one call after another gives
            return [self._enqueue_one(session, p, e, clean, m, actor=actor) for (p, e, clean), m in checked]
        found = {row.idempotency_key: row for row in _by_keys(session, keys)}
        held = self.directory.hold(session, [(p, m.ref) for (p, _, _), m in checked if m.key not in found])
        now = self.clock()
        rows: list[OutboxMessage] = []
        fresh: list[tuple[OutboxMessage, Purpose, str | None]] = []
        for (purpose, event, clean), m in checked:
            if m.key in found:
                rows.append(_same(found[m.key], purpose=purpose, ref=m.ref, event=event))
                continue
            row, problem = self._new_row(session, purpose, event, clean, m, now=now)
            rows.append(row)
            fresh.append((row, purpose, problem))
        if not fresh:
            return rows
        try:
            # A savepoint, so that a concurrent enqueue of the same key does not poison the
            # caller's transaction: its mails are then queued one by one, reading the winner's rows.
            with session.begin_nested():
                session.add_all([row for row, _, _ in fresh])
                session.flush()
        except IntegrityError:
            return [self._enqueue_one(session, p, e, clean, m, actor=actor) for (p, e, clean), m in checked]
        self._audit_queued(session, fresh, actor=actor)
        del held
        return rows

    def _enqueue_one(
        self,
        session: Session,
        purpose: Purpose,
        event: Event,
        clean: dict[str, Any],
        mail: QueuedMail,
        *,
        actor: str,
    ) -> OutboxMessage:
        """One checked mail alone, in its own savepoint (the path of a key met twice or raced for)."""
        existing = _by_key(session, mail.key)
        if existing is not None:
            return _same(existing, purpose=purpose, ref=mail.ref, event=event)
        row, problem = self._new_row(session, purpose, event, clean, mail, now=self.clock())
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            existing = _by_key(session, mail.key)
            if existing is None:
                raise
            return _same(existing, purpose=purpose, ref=mail.ref, event=event)
        self._audit_queued(session, [(row, purpose, problem)], actor=actor)
        return row

    def _new_row(
        self,
        session: Session,
        purpose: Purpose,
        event: Event,
        clean: dict[str, Any],
        mail: QueuedMail,
        *,
        now: datetime,
    ) -> tuple[OutboxMessage, str | None]:
        """The row of a mail not queued yet, its recipient resolved now; and why it is refused, if it is."""
        recipient = self.directory.recipient(session, purpose, mail.ref)
        problem = _recipient_problem(recipient)
        row = OutboxMessage(
            idempotency_key=mail.key,
            purpose=purpose.value,
            ref=mail.ref,
            event=event.value,
            language=recipient.language.value if recipient and not problem else "nl",
            recipient=recipient.address if recipient and not problem else "",
            params=clean,
            status=(OutboxStatus.REFUSED if problem else OutboxStatus.QUEUED).value,
            next_attempt_at=now,
            last_error=problem,
            created_at=now,
            updated_at=now,
        )
        return row, problem

    def _audit_queued(
        self, session: Session, fresh: Sequence[tuple[OutboxMessage, Purpose, str | None]], *, actor: str
    ) -> None:
        """The audit entries of rows just queued (or refused), in one append; then the older credentials
        mails each new one replaces."""
        self.audit.record_many(
            session,
            [
                MailRecord(
                    MailAction.MAIL_REFUSED if problem else MailAction.MAIL_QUEUED,
                    purpose,
                    row.ref,
                    actor,
                    problem or f"{row.event} queued",
                    details_of(row),
                )
                for row, purpose, problem in fresh
            ],
        )
        for i, (row, purpose, problem) in enumerate(fresh):
            if purpose is Purpose.CREDENTIALS and not problem:
                # a row queued after this one in the same call is newer: it is never replaced by this one
                later = {r.id for r, _, _ in fresh[i + 1 :] if r.id is not None}
                self._supersede(session, row, actor=actor, now=row.created_at, keep=later)

    def _supersede(
        self, session: Session, newer: OutboxMessage, *, actor: str, now: datetime, keep: Collection[int] = ()
    ) -> None:
        """Credentials mails of the same account still waiting to go out are replaced by ``newer``.

        Each would carry a password that ``newer`` kills when it is sent: two re-issues before the
        first mail went out would mail three passwords of which one works. A waiting mail has made
        no password yet (they are made at sending time), or made one for an attempt that did not
        get through — which dies with the next one issued. The update is a compare-and-set on
        ``queued``, so a row a sender has just claimed is left to go (and is then outdated by
        ``newer`` in turn).
        """
        t = OutboxMessage.__table__  # type: ignore[attr-defined]
        older = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.purpose == Purpose.CREDENTIALS.value,
                OutboxMessage.ref == newer.ref,
                OutboxMessage.status == OutboxStatus.QUEUED.value,
                OutboxMessage.id != newer.id,
            )
        ).all()
        for row in older:
            if row.id in keep:
                continue
            done = session.execute(
                sa.update(t)
                .where(t.c.id == row.id, t.c.status == OutboxStatus.QUEUED.value)
                .values(
                    status=OutboxStatus.SUPERSEDED.value, last_error=SUPERSEDED_CODE, lease_until=None, updated_at=now
                )
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                continue
            session.refresh(row)
            self.audit.record(
                session,
                action=MailAction.MAIL_SUPERSEDED,
                purpose=Purpose.CREDENTIALS,
                ref=row.ref,
                actor=actor,
                reason=SUPERSEDED_CODE,
                details={
                    **details_of(row),
                    "superseded_by": str(newer.id),
                    "password_made": "yes" if row.attempts else "no",
                },
            )

    def reissue(self, session: Session, *, login: str, by: str) -> OutboxMessage:
        """Queue new credentials for ``login`` at the request of team member ``by``.

        The new mail goes to the account's own fiche address (resolved, never typed in); the
        password is made when it is sent, which kills the previous one.
        """
        if not by.strip():
            raise MailerError("reissue-actor-missing", "say who asks for the re-issue (--by NAME)")
        if _recipient_problem(self.directory.recipient(session, Purpose.CREDENTIALS, login)):
            raise MailerError(
                "mail-no-recipient", "no active account with a usable fiche address for this login", login=login
            )
        now = self.clock()
        return self.enqueue(
            session,
            purpose=Purpose.CREDENTIALS,
            ref=login,
            event=Event.CREDENTIALS_REISSUED,
            params={"login": login},
            key=f"reissue:{login}:{now:%Y%m%dT%H%M%S.%f}",
            actor=by.strip(),
        )


def details_of(row: OutboxMessage) -> dict[str, str]:
    """What an audit entry about this row records (no params: they are the template's business)."""
    out = {"outbox_id": str(row.id), "event": row.event, "key": row.idempotency_key, "attempt": str(row.attempts)}
    if row.recipient:
        out["recipient"] = row.recipient
    if row.message_id:
        out["message_id"] = row.message_id
    return out


def _recipient_problem(recipient: Recipient | None) -> str | None:
    if recipient is None:
        return "no allowed recipient for this purpose"
    try:
        check_address(recipient.address)
    except MailerError as exc:
        return exc.message
    return None


def _by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()


def _by_keys(session: Session, keys: Sequence[str]) -> Sequence[OutboxMessage]:
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys))).all()  # type: ignore[attr-defined]


def _same(row: OutboxMessage, *, purpose: Purpose, ref: str, event: Event) -> OutboxMessage:
    if (row.purpose, row.ref, row.event) != (purpose.value, ref, event.value):
        raise MailerError(
            "mail-key-conflict",
            "idempotency key already used for another mail",
            key=row.idempotency_key,
            outbox_id=row.id,
        )
    return row


def claim_due(
    session: Session, *, now: datetime, lease: timedelta, limit: int, exclude: Collection[int] = ()
) -> list[tuple[int, datetime]]:
    """Claim up to ``limit`` due rows for this sender and commit the claim.

    Due: queued and ``next_attempt_at`` reached, or still ``sending`` after its lease (a sender
    died between handing the mail over and recording it — resending is the only way never to lose
    it). The claim is a compare-and-set ``UPDATE`` per row, so concurrent senders never share one.
    Returns (id, lease_until) of each claimed row; ``exclude`` skips rows this run already tried.
    """
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    due = _due(t, now)
    query = sa.select(t.c.id).where(due)
    if exclude:
        query = query.where(t.c.id.notin_(list(exclude)))
    ids = [r[0] for r in session.execute(query.order_by(t.c.next_attempt_at, t.c.id).limit(limit))]
    if not ids:
        session.commit()
        return []
    expired = sa.case(
        (
            t.c.status == OutboxStatus.SENDING.value,
            sa.literal("lease expired: the previous attempt's outcome is unknown"),
        ),
        else_=t.c.last_error,
    )
    # one compare-and-set for them all: a row another sender claimed meanwhile is no longer due, so it is
    # neither updated nor returned (PostgreSQL checks the condition again on a row it waited for)
    won = {
        r[0]
        for r in session.execute(
            sa.update(t)
            .where(t.c.id.in_(ids), due)
            .values(
                status=OutboxStatus.SENDING.value,
                lease_until=now + lease,
                attempts=t.c.attempts + 1,
                last_error=expired,
                updated_at=now,
            )
            .returning(t.c.id)
        )
    }
    session.commit()
    return [(row_id, now + lease) for row_id in ids if row_id in won]


def _due(t: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(t.c.status == OutboxStatus.QUEUED.value, t.c.next_attempt_at <= now),
        sa.and_(t.c.status == OutboxStatus.SENDING.value, t.c.lease_until < now),
    )


def count_due(session: Session, *, now: datetime, purpose: Purpose) -> int:
    """How many rows of ``purpose`` :func:`claim_due` would find due at ``now`` (the sender's forecast)."""
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    query = sa.select(sa.func.count()).select_from(t).where(_due(t, now), t.c.purpose == purpose.value)
    return int(session.execute(query).scalar_one())
