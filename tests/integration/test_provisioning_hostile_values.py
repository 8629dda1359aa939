"""Values no account may be built on, through parse → process → review on both databases (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.errors import ReviewError
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers import parse_document
from extranet_intake.parsers.result import ParsedForm
from extranet_intake.provisioning.models import Account
from extranet_intake.provisioning.plan import MailKind, PlanOutcome
from samplekit.xlsx_fiche import write_user_fiche_xlsx
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
    assert receive(engine, form).outcome is PlanOutcome.REVIEW
    with pytest.raises(ReviewError) as info:  # approving as read cannot create the account
        approve_item(engine, form.sha256)
    assert info.value.code == "review-correction-invalid"
    with pytest.raises(ReviewError):  # nor can a reviewer type the address back in
        approve_item(engine, form.sha256, corrections={"user_email": address})
    assert accounts(engine) == before
    done = approve_item(engine, form.sha256, corrections={"user_email": "john@acme.be"})
    assert done.outcome is PlanOutcome.APPLIED
    assert [m.kind for m in done.mails].count(MailKind.CREDENTIALS) == 1
    assert accounts(engine) == sorted([*before, "john@acme.be"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_last_name", "Jan\x00ssens"),
        ("user_first_name", "J\x07an"),
        ("external_company", "Acme\x1b[2J BV"),
    ],
)
def test_a_control_character_in_a_field_goes_to_review_and_its_approval_does_not_crash(
    engine: sa.Engine, tmp_path: Path, field: str, value: str
) -> None:
    # issue 13.3: a NUL blocked the document forever on PostgreSQL (database-error on every run)
    open_dossier(engine, tmp_path)
    typed = valid_values(
        "EAP-USR",
        "nl",
        scope="all",
        contracts=None,
        signed_date=f"{TODAY:%d/%m/%Y}",
        user_email="piet@acme.be",
        user_type="external",
        access_end_date="31/12/2027",
        external_company="Consult BV",
    )
    typed[field] = value
    form = parse_document(render_form("EAP-USR", "nl", typed), today=TODAY, filename="fiche.pdf")
    assert [(e.code, e.field) for e in form.errors] == [("field-control-character", field)]
    assert "\x00" not in repr(form.as_dict()).replace("\\x00", "")
    assert receive(engine, form).outcome is PlanOutcome.REVIEW
    with pytest.raises(ReviewError) as info:  # the value as read is refused again, with a code
        approve_item(engine, form.sha256, corrections={field: value})
    assert info.value.code == "review-correction-invalid"
    assert "piet@acme.be" not in accounts(engine)
    done = approve_item(
        engine, form.sha256, corrections={field: value.replace("\x00", "").replace("\x07", "").replace("\x1b", "")}
    )
    assert done.outcome is PlanOutcome.APPLIED
    assert "piet@acme.be" in accounts(engine)
