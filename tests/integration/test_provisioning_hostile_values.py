"""Values no account may be built on, through parse → process → review on both databases (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from errors import ReviewError
from intake.xlsx_fiche import write_user_fiche_xlsx
from parsers import parse_document
from parsers.result import ParsedForm
from provisioning.models import Account
from provisioning.plan import MailKind, Outcome
from tests.fixtures.forms import valid_values
from tests.fixtures.provisioning import TODAY
from tests.integration.test_provisioning_flow import approve_item, open_dossier, receive


def fiche(**values: Any) -> ParsedForm:
    """A user fiche for the dossier of ``open_dossier`` as the team receives it: XLSX bytes, parsed."""
    typed = valid_values("EAP-USR", scope="all", contracts=None, signed_date=f"{TODAY:%d/%m/%Y}", **values)
    return parse_document(write_user_fiche_xlsx(typed), today=TODAY, filename="fiche.xlsx")


def accounts(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(a.email for a in session.exec(select(Account).where(col(Account.email) != "")))


@pytest.mark.parametrize("address", ["jöhn@acme.be", "jan@drieliñden.example"])
def test_no_account_exists_whose_credentials_cannot_be_sent(engine: sa.Engine, tmp_path: Path, address: str) -> None:
    open_dossier(engine, tmp_path)
    before = accounts(engine)
    form = fiche(user_email=address)
    assert [(e.code, e.field) for e in form.errors] == [("email-not-ascii", "user_email")]
    assert receive(engine, form).outcome is Outcome.REVIEW
    with pytest.raises(ReviewError) as info:  # approving as read cannot create the account
        approve_item(engine, form.sha256)
    assert info.value.code == "review-correction-invalid"
    with pytest.raises(ReviewError):  # nor can a reviewer type the address back in
        approve_item(engine, form.sha256, corrections={"user_email": address})
    assert accounts(engine) == before
    done = approve_item(engine, form.sha256, corrections={"user_email": "john@acme.be"})
    assert done.outcome is Outcome.APPLIED
    assert [m.kind for m in done.mails].count(MailKind.CREDENTIALS) == 1
    assert accounts(engine) == sorted([*before, "john@acme.be"])
