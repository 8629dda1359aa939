"""The mailer's ports implemented with provisioning, and the hand-over of planned mails to the outbox.

The mailer imports nothing of provisioning (docs/architecture.md); this module is where the two meet:
recipients are resolved from the provisioning tables at queue time and again at send time,
temporary passwords are made by provisioning at send time (``provisioning/passwords.py``), mail
events land in the audit chain.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, EntryFields, append_entries, canonical_details
from extranet_intake.intake.config import Config
from extranet_intake.mailer.outbox import Outbox, OutboxMessage, QueuedMail
from extranet_intake.mailer.ports import MailAction, MailRecord
from extranet_intake.mailer.purposes import Event, Language, Purpose, Recipient
from extranet_intake.mailer.send import MailPorts, SendSettings
from extranet_intake.provisioning.apply import Clock
from extranet_intake.provisioning.directory import (
    Contact,
    master_user_contact,
    notification_contact,
    previous_user_contact,
    user_contact,
)
from extranet_intake.provisioning.models import Account, Organisation
from extranet_intake.provisioning.passwords import Argon2Params, TemporaryPasswordIssuer
from extranet_intake.provisioning.plan import MailIntent

__all__ = [
    "ProvisioningAudit",
    "ProvisioningDirectory",
    "argon2_params",
    "enqueue_mails",
    "mail_ports",
    "make_outbox",
    "send_settings",
]


class ProvisioningDirectory:
    """Each purpose's one recipient, read from the provisioning tables now (never from the request)."""

    def recipient(self, session: Session, purpose: Purpose, ref: str) -> Recipient | None:
        contact: Contact | None
        if purpose is Purpose.CREDENTIALS:
            contact = user_contact(session, ref)
        elif purpose is Purpose.OLD_ADDRESS_NOTICE:
            contact = previous_user_contact(session, ref)
        elif purpose is Purpose.ORG_NOTICE:
            contact = notification_contact(session, ref)
        else:
            contact = master_user_contact(session, ref)
        if contact is None:
            return None
        language = Language.FR if contact.language == "fr" else Language.NL
        return Recipient(address=contact.email, name=contact.name, language=language)

    def hold(self, session: Session, wanted: Sequence[tuple[Purpose, str]]) -> object:
        """The accounts and organisations these mails' recipients and audit entries read, in two queries."""
        logins = {ref for purpose, ref in wanted if purpose in _ABOUT_A_LOGIN}
        accounts = session.exec(select(Account).where(col(Account.login).in_(logins))).all() if logins else []
        numbers = {ref for purpose, ref in wanted if purpose not in _ABOUT_A_LOGIN}
        numbers |= {a.enterprise_number for a in accounts}
        orgs = (
            session.exec(select(Organisation).where(col(Organisation.enterprise_number).in_(numbers))).all()
            if numbers
            else []
        )
        return (accounts, orgs)


@dataclass(frozen=True)
class ProvisioningAudit:
    clock: Clock

    def record(
        self,
        session: Session,
        *,
        action: MailAction,
        purpose: Purpose,
        ref: str,
        actor: str,
        reason: str,
        details: dict[str, str],
    ) -> None:
        self.record_many(session, [MailRecord(action, purpose, ref, actor, reason, details)])

    def record_many(self, session: Session, records: Sequence[MailRecord]) -> None:
        """The entries in one append (one lock of the chain's head, one INSERT: auditchain/chain.py)."""
        if not records:
            return
        at = self.clock()
        orgs: dict[str, str] = {}
        for r in records:
            if r.purpose in _ABOUT_A_LOGIN and r.ref not in orgs:
                account = session.get(Account, r.ref)
                orgs[r.ref] = account.enterprise_number if account is not None else ""
        append_entries(
            session,
            [
                EntryFields(
                    at=at,
                    actor=r.actor,
                    action=AuditAction(r.action.value),
                    org=(orgs[r.ref] if r.purpose in _ABOUT_A_LOGIN else r.ref) or None,
                    login=r.ref if r.purpose in _ABOUT_A_LOGIN else None,
                    document_sha256=None,
                    reason=r.reason,
                    details=canonical_details({"purpose": r.purpose.value, **r.details}),
                )
                for r in records
            ],
        )


#: the purposes whose ``ref`` is a login (the others name an organisation by its enterprise number)
_ABOUT_A_LOGIN = frozenset({Purpose.CREDENTIALS, Purpose.OLD_ADDRESS_NOTICE})


def mail_ports(cfg: Config, *, clock: Clock, rng: random.Random | None = None) -> MailPorts:
    return MailPorts(
        directory=ProvisioningDirectory(),
        # every password step is provisioning's (provisioning/passwords.py); the mailer sees only its port
        issuer=TemporaryPasswordIssuer(
            clock=clock,
            validity=timedelta(hours=cfg.credentials.validity_hours),
            length=cfg.credentials.length,
            rng=rng,
            argon2=argon2_params(cfg),
        ),
        audit=ProvisioningAudit(clock=clock),
    )


def argon2_params(cfg: Config) -> Argon2Params:
    c = cfg.credentials
    return Argon2Params(memory_kib=c.argon2_memory_kib, time_cost=c.argon2_time_cost, parallelism=c.argon2_parallelism)


def make_outbox(*, clock: Clock) -> Outbox:
    return Outbox(directory=ProvisioningDirectory(), audit=ProvisioningAudit(clock=clock), clock=clock)


def send_settings(cfg: Config) -> SendSettings:
    return SendSettings(
        from_address=cfg.mail.from_address,
        login_url=cfg.mail.login_url,
        max_attempts=cfg.mail.max_attempts,
        concurrency=cfg.mail.smtp.concurrency,
    )


def enqueue_mails(
    session: Session, mails: Iterable[MailIntent], *, clock: Clock, actor: str = "system"
) -> list[OutboxMessage]:
    """Queue what a plan asked for, in the caller's (the plan's) transaction: a rolled-back plan mails nothing."""
    return make_outbox(clock=clock).enqueue_many(
        session,
        [QueuedMail(Purpose(m.kind.value), m.ref, Event(m.event.value), m.params, m.idempotency_key) for m in mails],
        actor=actor,
    )
