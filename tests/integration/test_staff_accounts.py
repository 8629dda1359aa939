"""Staff accounts: the coded refusals of extranet_intake/provisioning/staff.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.errors import StaffError
from extranet_intake.provisioning.staff import (
    Role,
    StaffAccount,
    add_staff,
    authenticate,
    disable_staff,
    find_active,
    find_by_oidc,
    reset_staff_password,
)


def _code(call: object) -> str:
    with pytest.raises(StaffError) as refused:
        call()  # type: ignore[operator]
    return refused.value.code


def test_accounts_and_their_refusals(engine: sa.Engine) -> None:
    with Session(engine) as session:
        account, password = add_staff(session, "rita", role=Role.REVIEWER, display_name="Rita")
        session.commit()
        assert len(password) >= 16
        assert password not in account.password_hash
        assert account.password_hash.startswith("$argon2id$")
        assert _code(lambda: add_staff(session, "Rita Reviewer", role="reviewer")) == "staff-name-invalid"
        assert _code(lambda: add_staff(session, "boss", role="boss")) == "staff-role-invalid"
        assert _code(lambda: add_staff(session, "anne", role="auditor", language="en")) == "staff-language-invalid"
        assert _code(lambda: add_staff(session, "rita", role="auditor")) == "staff-name-taken"
        assert authenticate(session, "rita", password).name == "rita"
        assert _code(lambda: authenticate(session, "rita", "wrong")) == "staff-bad-password"
        assert _code(lambda: authenticate(session, "nobody", password)) == "staff-unknown"
        new = reset_staff_password(session, "rita")
        session.commit()
        assert _code(lambda: authenticate(session, "rita", password)) == "staff-bad-password"
        assert authenticate(session, "rita", new).name == "rita"
        assert _code(lambda: find_active(session, "system")) == "staff-unknown"
        disable_staff(session, "rita")
        session.commit()
        assert _code(lambda: find_active(session, "rita")) == "staff-disabled"
        assert _code(lambda: authenticate(session, "rita", new)) == "staff-disabled"


def test_oidc_match_refuses_an_ambiguous_email(engine: sa.Engine) -> None:
    with Session(engine) as session:
        add_staff(session, "ann1", role=Role.REVIEWER, email="ann@insurer.example")
        add_staff(session, "ann2", role=Role.AUDITOR, email="ANN@insurer.example")
        session.commit()
        # two accounts with one address: the provider must not pick which one
        assert _code(lambda: find_by_oidc(session, subject="s-1", email="ann@insurer.example")) == "staff-oidc-unknown"
        assert session.get(StaffAccount, 1).oidc_subject is None  # type: ignore[union-attr]
