"""What a Master User reads: the fiche named, the reasons in words of its own language, no codes."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from extranet_intake.mailer.purposes import Event, Language, Purpose
from extranet_intake.mailer.render import render
from extranet_intake.reasons import CATALOGUE

pytestmark = pytest.mark.unit

FICHES: list[dict[str, Any]] = [
    {
        "form": "EAP-USR",
        "action": "new",
        "person": "Jan Janssens",
        "email": "Jan.Janssens@Acme.be",
        "filename": "Gebruikersfiche Jan.pdf",
        "received": "2026-11-20",
        "reasons": ["access-end-date-missing", "user-email-in-use"],
    },
    {
        "form": "EAP-USR",
        "action": "revoke",
        "person": "Els Extern",
        "email": "els@consult.be",
        "filename": "intrekking.pdf",
        "received": "2026-11-21",
        "reasons": ["user-not-found"],
    },
    {
        "form": "EAP-USR",
        "action": "modify",
        "person": "Jan Janssens",
        "email": "Jan.Janssens@Acme.be",
        "filename": "wijziging jan.pdf",
        "received": "2026-11-22",
        "reasons": ["imap-login-failed"],
        "note": {"nl": "Bel ons gerust even.", "fr": "N'hésitez pas à nous appeler."},
    },
]
PARAMS = {
    "org_name": "Acme NV",
    "enterprise_number": "0644695949",
    "document": "EAP-USR",
    "reasons": ["access-end-date-missing"],
    "received": "2026-11-20",
    "fiches": FICHES,
}
WORDS = {
    Language.NL: (
        "Gebruikersfiche",
        "nieuwe toegang",
        "intrekking",
        "Einddatum ontbreekt",
        "Vul bij ‘Einddatum toegang’",
        "Bel ons gerust even.",
        "ondernemingsnummer 0644.695.949",
    ),
    Language.FR: (
        "Fiche utilisateur",
        "nouvel accès",
        "retrait",
        "Date de fin manquante",
        "Indiquez dans « Date de fin d'accès »",
        "N'hésitez pas à nous appeler.",
        "numéro d'entreprise 0644.695.949",
    ),
}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("title", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("title", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def plain(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("lang", [Language.NL, Language.FR])
def test_rejection_names_each_fiche_and_says_what_to_do(lang: Language) -> None:
    done = render(Purpose.MASTER_USER_NOTICE, Event.FORM_REJECTED, lang, recipient_name="Marie Peeters", params=PARAMS)
    for body in (plain(done.text), html_text(done.html)):
        for expected in (
            "Jan Janssens",
            "Els Extern",
            "Jan.Janssens@Acme.be",
            "Gebruikersfiche Jan.pdf",
            "20/11/2026",
            "21/11/2026",
            *WORDS[lang],
        ):
            assert expected in body, (lang, expected)
        # no internal code reaches the organisation, not even a staff-only one
        assert not [c for c in CATALOGUE if re.search(rf"\b{re.escape(c)}\b", body)], body
        # grouped by person: Jan's two fiches come together, before or after Els's
        jan = [m.start() for m in re.finditer("wijziging jan.pdf|Gebruikersfiche Jan.pdf", body)]
        els = body.index("intrekking.pdf")
        assert len(jan) == 2
        assert not jan[0] < els < jan[1]
    assert "Acme NV" in done.subject


@pytest.mark.parametrize("lang", [Language.NL, Language.FR])
def test_a_mail_queued_before_the_fiches_were_named_still_renders(lang: Language) -> None:
    old = {"org_name": "Acme NV", "document": "EAP-MU", "reasons": ["signature-missing"], "received": "2026-11-20"}
    done = render(Purpose.MASTER_USER_NOTICE, Event.FORM_REJECTED, lang, recipient_name="", params=old)
    assert CATALOGUE["signature-missing"].words(lang).title in done.text


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (Language.NL, ("nieuwe toegang", "ontvangen op 20/11/2026")),
        (Language.FR, ("nouvel accès", "reçue le 20/11/2026")),
    ],
)
def test_changes_name_the_fiche_that_asked_for_them(lang: Language, said: tuple[str, ...]) -> None:
    changes = [
        {
            "change": "account_created",
            "login": "EAP00000001",
            "name": "Jan Janssens",
            "profile": "consult",
            "scope": "all",
            "contracts": [],
            "access_end_date": None,
            "form": "EAP-USR",
            "action": "new",
            "email": "Jan.Janssens@Acme.be",
            "filename": "Gebruikersfiche Jan.pdf",
            "received": "2026-11-20",
        },
        {"change": "legacy_revoked", "login": "acme01", "name": ""},
    ]
    done = render(
        Purpose.MASTER_USER_NOTICE,
        Event.CHANGES_APPLIED,
        lang,
        recipient_name="Marie Peeters",
        params={"org_name": "Acme NV", "enterprise_number": "0644695949", "changes": changes},
    )
    for body in (plain(done.text), html_text(done.html)):
        for expected in (
            "Jan Janssens",
            "EAP00000001",
            "Jan.Janssens@Acme.be",
            "Gebruikersfiche Jan.pdf",
            "0644.695.949",
            "acme01",
            *said,
        ):
            assert expected in body, (lang, expected)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


SECRET = {
    "password": "Tmp-PASSWORD-1234",
    "valid_hours": 72,
    "valid_until": __import__("datetime").datetime(2026, 12, 1, 9, 0, tzinfo=__import__("datetime").UTC),
}


@pytest.mark.parametrize("event", [Event.ACCOUNT_OPENED, Event.CREDENTIALS_REISSUED])
@pytest.mark.parametrize("lang", [Language.NL, Language.FR])
def test_credentials_mail_gives_the_login_page_the_change_and_whom_to_call(event: Event, lang: Language) -> None:
    url = "https://extranet.example.be/login"
    done = render(
        Purpose.CREDENTIALS,
        event,
        lang,
        recipient_name="Jan Janssens",
        secret=SECRET,
        login_url=url,
        params={"login": "EAP00000001", "org_name": "Acme NV", "master_user": "Marie Peeters"},
    )
    change = {Language.NL: "uw wachtwoord te wijzigen", Language.FR: "remplacer ce mot de passe"}
    for body in (plain(done.text), html_text(done.html)):
        for expected in (url, "EAP00000001", "Tmp-PASSWORD-1234", "Marie Peeters", change[lang], "72"):
            assert expected in body, (event, lang, expected)
    assert f'href="{url}"' in done.html
    # the HTML part says what the text part says, word for word (the HTML adds only its banner)
    text, html = words(done.text), words(html_text(done.html))
    start = html.index(text[0])
    assert html[start:] == text
