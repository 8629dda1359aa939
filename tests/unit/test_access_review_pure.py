"""Pure parts of the access review: reading a reply, the review code, the confirmations of ``audit access``, config."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from extranet_intake.errors import ConfigError
from extranet_intake.intake.access_review import read_reply
from extranet_intake.intake.config import load_config
from extranet_intake.provisioning.access_report import AccessGrant, with_confirmations
from extranet_intake.provisioning.access_review import new_review_code

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _msg(**headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "mu@acme.be"
    msg["Subject"] = headers.pop("Subject", "Re: toegangen")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Akkoord.\n> ref. rv-abcd-efgh\n")
    return msg.as_bytes(policy=SMTP)


def test_a_reply_names_the_mails_it_answers_and_the_codes_it_carries() -> None:
    facts = read_reply(
        _msg(In_Reply_To="<a@ethias.be>", References="<x@y> <a@ethias.be>", Subject="Re: controle (ref. RV-7K2Q-9XPL)")
    )
    assert facts is not None
    assert facts.references == ("<a@ethias.be>", "<x@y>")
    assert facts.codes == ("RV-7K2Q-9XPL", "RV-ABCD-EFGH")


def test_a_mail_that_answers_nothing_and_carries_no_code_is_not_a_reply() -> None:
    msg = EmailMessage()
    msg["From"] = "mu@acme.be"
    msg["Subject"] = "vraag"
    msg.set_content("Hoe log ik in?")
    assert read_reply(msg.as_bytes(policy=SMTP)) is None


def test_review_codes_are_random_and_unambiguous() -> None:
    codes = {new_review_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 12 and c.startswith("RV-") and not set(c[3:]) & set("01IO") for c in codes)


def _grant(login: str, since: datetime | None, until: datetime | None = None) -> AccessGrant:
    return AccessGrant(
        login=login,
        org="0644695949",
        profile="consult",
        scope="all",
        contracts=(),
        since=since,
        until=until,
        since_seq=1,
        until_seq=None,
    )


def _confirm(at: datetime, campaign: int, *logins: str) -> dict[str, object]:
    return {"at": at, "details": {"campaign": campaign, "logins": list(logins)}}


def test_the_last_confirmation_while_the_grant_held_is_shown() -> None:
    end = datetime(2027, 1, 1, tzinfo=UTC)
    grants = [_grant("A", T0.replace(month=1)), _grant("B", T0.replace(day=20)), _grant("C", None)]
    confirmations = [
        _confirm(T0, 1, "A", "B", "C"),
        _confirm(T0.replace(day=10), 2, "A"),
        _confirm(end, 3, "A"),
    ]  # after the window: not yet
    shown = {g.login: g.confirmed_by_campaign for g in with_confirmations(grants, confirmations, end=end)}
    # B changed after campaign 1 confirmed it: its current grant was never confirmed
    assert shown == {"A": 2, "B": None, "C": 1}


def test_reminder_days_are_read_as_integers(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[access_review]\nreminder_days = [14, 3]\nsuspend_overdue = true\n", encoding="utf-8")
    cfg = load_config(config)
    assert (cfg.access_review.reminder_days, cfg.access_review.suspend_overdue) == ([14, 3], True)
    config.write_text('[access_review]\nreminder_days = ["7"]\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(config)
