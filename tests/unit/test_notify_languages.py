"""`notify` takes its text in Dutch and in French, or refuses before anything is queued."""

from __future__ import annotations

import pytest

from extranet_intake.errors import ConfigError
from extranet_intake.intake.config import Config
from extranet_intake.intake.operations import NoticeEvent, notify_orgs
from extranet_intake.mailer.purposes import Event, Language, Purpose
from extranet_intake.mailer.render import render

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("nl", "fr", "code"),
    [
        ("pensioenfiches 2026", "", "notice-language-missing"),
        ("", "fiches de pension 2026", "notice-language-missing"),
        ("  ", "", "notice-empty"),
    ],
)
def test_one_language_is_refused(nl: str, fr: str, code: str) -> None:
    with pytest.raises(ConfigError) as refused:
        notify_orgs(Config(), event=NoticeEvent.NEW_DOCUMENTS, what_nl=nl, what_fr=fr)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("lang", "text", "other"),
    [
        (Language.NL, "pensioenfiches 2026", "fiches de pension"),
        (Language.FR, "fiches de pension 2026", "pensioenfiches"),
    ],
)
def test_each_organisation_reads_its_own_language(lang: Language, text: str, other: str) -> None:
    params = {
        "org_name": "Acme",
        "enterprise_number": "0403170701",
        "documents": [{"nl": "pensioenfiches 2026", "fr": "fiches de pension 2026"}],
    }
    done = render(Purpose.ORG_NOTICE, Event.NEW_DOCUMENTS, lang, recipient_name="", params=params)
    assert text in done.text
    assert text in done.html
    assert other not in done.text
