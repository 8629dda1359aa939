"""Templates for every purpose, event and language; autoescaping; headers that cannot be injected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from extranet_intake.errors import MailerError
from extranet_intake.mailer.purposes import EVENTS, Event, Language, Purpose, Recipient
from extranet_intake.mailer.render import check_address, check_message, compose, render, template_names

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECRET: dict[str, Any] = {
    "password": "Tq7mWx3KpZr9HbNc4Yd2",
    "valid_hours": 72,
    "valid_until": NOW + timedelta(hours=72),
}

_REVIEWED = [
    {
        "login": "EAP7K2Q9MX",
        "name": "Jan Peeters",
        "email": "jan@bakkerij.be",
        "profile": "consult_input",
        "scope": "selected",
        "contracts": ["GV-100", "GV-200"],
        "access_end_date": None,
    },
    {
        "login": "EAP3H8V2LW",
        "name": "Els Extern",
        "email": "els@extern.be",
        "profile": "consult",
        "scope": "all",
        "contracts": [],
        "access_end_date": "2027-03-31",
    },
]

SAMPLE: dict[Event, dict[str, Any]] = {
    Event.ACCOUNT_OPENED: {"login": "EAP7K2Q9MX", "org_name": "Bakkerij Janssens & Zonen BV"},
    Event.CREDENTIALS_REISSUED: {"login": "EAP7K2Q9MX"},
    Event.ACCESS_OPENED: {"org_name": "Bakkerij Janssens & Zonen BV", "accounts": 3},
    Event.NEW_DOCUMENTS: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "documents": ["pension_fiches", "invoices", "annual_adjustment"],
    },
    Event.NEW_FEATURES: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "features": [{"nl": "Export van de aansluitingen naar Excel", "fr": "Export des affiliations vers Excel"}],
    },
    Event.CHANGES_APPLIED: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "changes": [
            {"change": "account_created", "login": "EAP7K2Q9MX", "name": "Jan Peeters", "profile": "consult_input"},
            {
                "change": "account_modified",
                "login": "EAP3H8V2LW",
                "name": "An Claes",
                "profile": "consult",
                "access_end_date": "2027-06-30",
            },
            {"change": "account_revoked", "login": "EAP9R4T6NB", "name": "Luc Maes"},
        ],
    },
    Event.FORM_REJECTED: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "document": "gebruikersfiche_peeters.pdf",
        "received": "2026-11-19",
        "reasons": [{"nl": "Het ondernemingsnummer is ongeldig.", "fr": "Le numéro d'entreprise n'est pas valide."}],
    },
    Event.EXPIRY_COMING: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "accounts": [{"login": "EAP3H8V2LW", "name": "An Claes", "access_end_date": "2026-12-04"}],
    },
    Event.EMAIL_CHANGED: {"login": "EAP3H8V2LW", "org_name": "Bakkerij Janssens & Zonen BV"},
    Event.ACCESS_REVIEW: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "due_date": "2026-12-27",
        "review_code": "RV-7K2Q-9XPL",
        "accounts": _REVIEWED,
    },
    Event.ACCESS_REVIEW_REMINDER: {
        "org_name": "Bakkerij Janssens & Zonen BV",
        "due_date": "2026-12-27",
        "review_code": "RV-7K2Q-9XPL",
        "accounts": _REVIEWED,
        "days_left": 7,
    },
}
CASES = [(spec.purpose, event, lang) for event, spec in EVENTS.items() for lang in Language]


def _render(purpose: Purpose, event: Event, lang: Language, **params: Any) -> Any:
    return render(
        purpose,
        event,
        lang,
        recipient_name="Jan Peeters",
        params={**SAMPLE[event], **params},
        secret=SECRET if purpose is Purpose.CREDENTIALS else None,
        now=NOW,
    )


def test_every_purpose_event_and_language_has_a_text_and_an_html_template() -> None:
    root = files("extranet_intake.mailer").joinpath("templates")
    for purpose, event, lang in CASES:
        for name in template_names(purpose, event, lang):
            assert root.joinpath(*name.split("/")).is_file(), name


@pytest.mark.parametrize(("purpose", "event", "lang"), CASES, ids=lambda v: str(v))
def test_each_template_renders_in_its_language_with_the_contact(purpose: Purpose, event: Event, lang: Language) -> None:
    out = _render(purpose, event, lang)
    assert out.subject
    assert "\n" not in out.subject
    for part in (out.text, out.html):
        assert "extranet2P@ethias.be" in part
        assert ("Met vriendelijke groeten" if lang is Language.NL else "salutations distinguées") in part
    assert f'<html lang="{lang.value}">' in out.html
    # no Jinja leftovers and no Python reprs leaking into what a user reads
    assert not re.search(r"\{\{|\{%|None|\[\'|\{'", out.text + out.html)


@pytest.mark.parametrize("lang", list(Language))
@pytest.mark.parametrize("event", [Event.ACCOUNT_OPENED, Event.CREDENTIALS_REISSUED])
def test_credentials_mail_says_everything_a_user_needs(event: Event, lang: Language) -> None:
    out = _render(Purpose.CREDENTIALS, event, lang)
    words = {
        Language.NL: ["login", "tijdelijk wachtwoord", "72 uur", "23/11/2026 om 10:00", "wijzigen", " u "],
        Language.FR: ["login", "mot de passe temporaire", "72 heures", "23/11/2026 à 10:00", "remplacer", " vous "],
    }[lang]
    for part in (out.text, out.html):
        assert "EAP7K2Q9MX" in part
        assert SECRET["password"] in part
        for word in words:
            assert word in part, word
    if lang is Language.NL:
        assert " je " not in out.text
        assert " jij " not in out.text
    else:
        assert " tu " not in out.text
        assert " ton " not in out.text


def test_html_part_is_autoescaped_and_text_part_is_not_mangled() -> None:
    out = _render(Purpose.ORG_NOTICE, Event.ACCESS_OPENED, Language.NL, org_name='<script>alert(1)</script> "A&B"')
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;A&amp;B&#34;" in out.html
    assert '<script>alert(1)</script> "A&B"' in out.text


def test_a_template_error_names_the_template_never_the_values() -> None:
    with pytest.raises(MailerError) as info:
        render(
            Purpose.CREDENTIALS,
            Event.ACCOUNT_OPENED,
            Language.NL,
            recipient_name="x",
            params={},
            secret=SECRET,
            now=NOW,
        )
    assert info.value.code == "mail-template-error"
    assert SECRET["password"] not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def _compose(name: str, address: str = "jan.peeters@bakkerij.be") -> EmailMessage:
    out = _render(Purpose.CREDENTIALS, Event.ACCOUNT_OPENED, Language.NL)
    return compose(
        out,
        sender="extranet2P@ethias.be",
        sender_name="Ethias Extranet",
        recipient=Recipient(address, name, Language.NL),
        message_id="<1.abc@ethias.be>",
        when=NOW,
    )


@pytest.mark.parametrize(
    "name",
    [
        "Jan\r\nBcc: evil@example.com",
        "Jan\nCc: evil@example.com",
        "evil@example.com, other@example.com",
        '"Jan" <evil@example.com>',
        "Jan\u2028To: evil@example.com",
        "\u202eJan Peeters",
        # the standard library itself decodes this and writes a raw CR/LF (found here, Python 3.11)
        "Jan =?utf-8?q?=0D=0ABcc:_evil@example.com?=",
    ],
)
def test_names_cannot_add_a_recipient_or_a_header(name: str) -> None:
    msg = _compose(name)
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert parsed["Cc"] is None
    assert parsed["Bcc"] is None
    to = getaddresses(parsed.get_all("To", []))
    assert [a for _, a in to] == ["jan.peeters@bakkerij.be"]
    assert all("\n" not in v and "\r" not in v for v in parsed.values())
    assert {k.lower() for k in parsed} <= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "content-language",
        "auto-submitted",
        "mime-version",
        "content-type",
    }


def test_an_encoded_word_in_the_subject_cannot_inject_either() -> None:
    out = _render(
        Purpose.ORG_NOTICE, Event.ACCESS_OPENED, Language.NL, org_name="=?utf-8?q?=0D=0ABcc:_evil@example.com?="
    )
    msg = compose(
        out,
        sender="extranet2P@ethias.be",
        sender_name="Ethias",
        recipient=Recipient("info@acme.be", "Acme", Language.NL),
        message_id="<2@ethias.be>",
        when=NOW,
    )
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert parsed["Bcc"] is None
    assert "\n" not in str(parsed["Subject"])


@pytest.mark.parametrize(
    "address",
    [
        "a@b.be, c@d.be",
        "a@b.be\r\nBcc: c@d.be",
        "<a@b.be>",
        "Jan <a@b.be>",
        "a@b",
        "a@@b.be",
        "a b@c.be",
        "a@b.be\u202e",
        "",
        "a@-b.be",
        "x" * 250 + "@b.be",
    ],
)
def test_recipient_address_must_be_one_plain_address(address: str) -> None:
    with pytest.raises(MailerError) as info:
        check_address(address)
    assert info.value.code == "mail-address-invalid"


def test_check_message_refuses_cc_bcc_and_a_second_to() -> None:
    msg = _compose("Jan")
    msg["Bcc"] = "spy@example.com"
    with pytest.raises(MailerError) as info:
        check_message(msg, envelope_recipient="jan.peeters@bakkerij.be")
    assert info.value.code == "mail-header-injected"
    msg = _compose("Jan")
    with pytest.raises(MailerError) as info:
        check_message(msg, envelope_recipient="someone.else@bakkerij.be")
    assert info.value.code == "mail-recipient-mismatch"


def test_render_each_template_once_to_files(tmp_path: Path) -> None:
    """The files a reviewer opens to read every mail as a user would (text, HTML, whole .eml)."""
    for purpose, event, lang in CASES:
        out = _render(purpose, event, lang)
        stem = f"{purpose.value}.{event.value}.{lang.value}"
        (tmp_path / f"{stem}.txt").write_text(f"Subject: {out.subject}\n\n{out.text}", encoding="utf-8")
        (tmp_path / f"{stem}.html").write_text(out.html, encoding="utf-8")
        msg = compose(
            out,
            sender="extranet2P@ethias.be",
            sender_name="Ethias Extranet",
            recipient=Recipient("jan.peeters@bakkerij.be", "Jan Peeters", lang),
            message_id=f"<{event.value}.{lang.value}@ethias.be>",
            when=NOW,
        )
        (tmp_path / f"{stem}.eml").write_bytes(msg.as_bytes())
        back = BytesParser(policy=policy.default).parsebytes((tmp_path / f"{stem}.eml").read_bytes())
        body = back.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert body.replace("\r\n", "\n").strip() == out.text.strip()
        assert back["Content-Language"] == lang.value
    assert len(list(tmp_path.glob("*.eml"))) == len(CASES) == 22  # 11 events, NL and FR


@pytest.mark.parametrize("lang", list(Language))
def test_old_address_notice_names_the_login_and_holds_no_password(lang: Language) -> None:
    # issue 13.5: the old address is told of the change, never given credentials nor the new address
    out = _render(Purpose.OLD_ADDRESS_NOTICE, Event.EMAIL_CHANGED, lang)
    for part in (out.text, out.html):
        assert "EAP3H8V2LW" in part
        assert SECRET["password"] not in part
        assert "extranet2P@ethias.be" in part
    assert ("wachtwoord" if lang is Language.NL else "mot de passe") in out.text  # says it holds none


@pytest.mark.parametrize("lang", list(Language))
@pytest.mark.parametrize("event", [Event.ACCESS_REVIEW, Event.ACCESS_REVIEW_REMINDER])
def test_access_review_mail_lists_each_account_and_says_how_to_confirm(event: Event, lang: Language) -> None:
    out = _render(Purpose.MASTER_USER_NOTICE, event, lang)
    assert "RV-7K2Q-9XPL" in out.subject  # a reply keeps the subject: the code travels back with it
    words = {
        Language.NL: [
            "raadplegen en invoeren",
            "GV-100, GV-200",
            "alle contracten",
            "31/03/2027",
            "27/12/2026",
            "gebruikersfiches",
        ],
        Language.FR: [
            "consultation et encodage",
            "GV-100, GV-200",
            "tous les contrats",
            "31/03/2027",
            "27/12/2026",
            "fiches utilisateur",
        ],
    }[lang]
    for part in (out.text, out.html):
        for word in [*words, "jan@bakkerij.be", "Els Extern", "EAP3H8V2LW", "RV-7K2Q-9XPL"]:
            assert word in part, word
