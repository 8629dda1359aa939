"""The mailer's ports implemented with provisioning, and the hand-over of planned mails to the outbox.

The mailer imports nothing of provisioning (docs/architecture.md); this module is where the two meet:
recipients are resolved from the provisioning tables at queue time and again at send time,
temporary passwords are made by provisioning at send time (``provisioning/passwords.py``), mail
events land in the audit chain.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.intake.config import Config
from extranet_intake.mailer.outbox import Outbox, OutboxMessage
from extranet_intake.mailer.ports import MailAction
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
from extranet_intake.provisioning.models import Account
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
        login = ref if purpose in (Purpose.CREDENTIALS, Purpose.OLD_ADDRESS_NOTICE) else None
        org = ref
        if login is not None:
            account = session.get(Account, login)
            org = account.enterprise_number if account is not None else ""
        append_entry(
            session,
            actor=actor,
            action=AuditAction(action.value),
            org=org or None,
            login=login,
            document_sha256=None,
            reason=reason,
            details={"purpose": purpose.value, **details},
            at=self.clock(),
        )


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
    outbox = make_outbox(clock=clock)
    return [
        outbox.enqueue(
            session,
            purpose=Purpose(m.kind.value),
            ref=m.ref,
            event=Event(m.event.value),
            params=m.params,
            key=m.idempotency_key,
            actor=actor,
        )
        for m in mails
    ]
