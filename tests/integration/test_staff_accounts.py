"""Staff accounts: the coded refusals of extranet_intake/provisioning/staff.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.errors import StaffError
from extranet_intake.provisioning.staff import (
    Role,
    StaffAccount,
    add_staff,
    authenticate,
    disable_staff,
    enrol_totp,
    find_active,
    find_by_oidc,
    reset_staff_password,
)

OPS = "os:ops"


def _code(call: object) -> str:
    with pytest.raises(StaffError) as refused:
        call()  # type: ignore[operator]
    return refused.value.code


def test_accounts_and_their_refusals(engine: sa.Engine) -> None:
    with Session(engine) as session:
        account, password = add_staff(session, "rita", role=Role.REVIEWER, display_name="Rita", actor=OPS)
        session.commit()
        assert len(password) >= 16
        assert password not in account.password_hash
        assert account.password_hash.startswith("$argon2id$")
        assert _code(lambda: add_staff(session, "Rita Reviewer", role="reviewer", actor=OPS)) == "staff-name-invalid"
        assert _code(lambda: add_staff(session, "boss", role="boss", actor=OPS)) == "staff-role-invalid"
        assert (
            _code(lambda: add_staff(session, "anne", role="auditor", language="en", actor=OPS))
            == "staff-language-invalid"
        )
        assert _code(lambda: add_staff(session, "rita", role="auditor", actor=OPS)) == "staff-name-taken"
        assert authenticate(session, "rita", password).name == "rita"
        assert _code(lambda: authenticate(session, "rita", "wrong")) == "staff-bad-password"
        assert _code(lambda: authenticate(session, "nobody", password)) == "staff-unknown"
        new = reset_staff_password(session, "rita", actor=OPS)
        session.commit()
        assert _code(lambda: authenticate(session, "rita", password)) == "staff-bad-password"
        assert authenticate(session, "rita", new).name == "rita"
        assert _code(lambda: find_active(session, "system")) == "staff-unknown"
        disable_staff(session, "rita", actor=OPS)
        session.commit()
        assert _code(lambda: find_active(session, "rita")) == "staff-disabled"
        assert _code(lambda: authenticate(session, "rita", new)) == "staff-disabled"


def test_oidc_match_refuses_an_ambiguous_email(engine: sa.Engine) -> None:
    with Session(engine) as session:
        add_staff(session, "ann1", role=Role.REVIEWER, email="ann@insurer.example", actor=OPS)
        add_staff(session, "ann2", role=Role.AUDITOR, email="ANN@insurer.example", actor=OPS)
        session.commit()
        # two accounts with one address: the provider must not pick which one
        assert _code(lambda: find_by_oidc(session, subject="s-1", email="ann@insurer.example")) == "staff-oidc-unknown"
        assert session.get(StaffAccount, 1).oidc_subject is None  # type: ignore[union-attr]


def test_every_change_to_a_staff_account_is_audited_by_whom_never_with_its_secret(engine: sa.Engine) -> None:
    with Session(engine) as session:
        _, password = add_staff(session, "rita", role=Role.REVIEWER, email="rita@insurer.example", actor=OPS)
        session.commit()
        new = reset_staff_password(session, "rita", actor="os:anna")
        uri = enrol_totp(session, "rita", actor=OPS)
        disable_staff(session, "rita", actor=OPS)
        session.commit()
        entries = list(session.exec(sa.select(AuditEntry).order_by(AuditEntry.seq)).scalars())  # type: ignore[call-overload,arg-type]
    details = [json.loads(e.details) for e in entries]
    assert [(e.action, e.actor, d["staff"], d["role"]) for e, d in zip(entries, details, strict=True)] == [
        (AuditAction.STAFF_ADDED, OPS, "rita", "reviewer"),
        (AuditAction.STAFF_PASSWORD_RESET, "os:anna", "rita", "reviewer"),
        (AuditAction.STAFF_TOTP_ENROLLED, OPS, "rita", "reviewer"),
        (AuditAction.STAFF_DISABLED, OPS, "rita", "reviewer"),
    ]
    assert details[0]["email"] == "rita@insurer.example"
    secret = uri.split("secret=")[1].split("&")[0]
    for entry in entries:
        text = repr(entry.model_dump())
        assert password not in text
        assert new not in text
        assert secret not in text
    with engine.connect() as conn:
        assert verify_chain(conn).ok
