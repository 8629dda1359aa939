"""Purposes and their one recipient kind, event params (never a secret), text cleaning, backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extranet_intake.errors import MailerError
from extranet_intake.mailer.outbox import backoff
from extranet_intake.mailer.purposes import (
    EVENTS,
    RECIPIENT_OF,
    Event,
    Purpose,
    RecipientKind,
    check_params,
    clean_text,
    spec_of,
)


def test_each_purpose_has_exactly_its_one_recipient_kind() -> None:
    assert dict(RECIPIENT_OF) == {
        Purpose.CREDENTIALS: RecipientKind.USER_EMAIL,
        Purpose.ORG_NOTICE: RecipientKind.NOTIFICATION_EMAIL,
        Purpose.MASTER_USER_NOTICE: RecipientKind.MU_EMAIL,
        # issue 13.5: the old address of an account hears of an approved address change, and only it
        Purpose.OLD_ADDRESS_NOTICE: RecipientKind.PREVIOUS_USER_EMAIL,
    }
    # credentials never go to the distribution list nor to the Master User
    assert len(set(RECIPIENT_OF.values())) == len(Purpose)


def test_every_event_belongs_to_one_purpose_and_others_are_refused() -> None:
    assert set(EVENTS) == set(Event)
    for event, spec in EVENTS.items():
        assert spec_of(spec.purpose, event) is spec
        for other in set(Purpose) - {spec.purpose}:
            with pytest.raises(MailerError) as info:
                spec_of(other, event)
            assert info.value.code == "mail-event-purpose"


@pytest.mark.parametrize(
    "key", ["password", "temp_password", "Wachtwoord", "mot_de_passe", "secret", "reset_token", "password_hash"]
)
def test_params_that_look_like_a_secret_are_refused_without_echoing_the_value(key: str) -> None:
    with pytest.raises(MailerError) as info:
        check_params(Purpose.CREDENTIALS, Event.ACCOUNT_OPENED, {"login": "EAP1", key: "Hunter2-Zz9"})
    assert info.value.code == "mail-params-secret"
    assert "Hunter2-Zz9" not in str(info.value)
    assert "Hunter2-Zz9" not in repr(info.value.as_dict())


def test_nested_secret_keys_are_refused_too() -> None:
    with pytest.raises(MailerError) as info:
        check_params(
            Purpose.MASTER_USER_NOTICE,
            Event.CHANGES_APPLIED,
            {"org_name": "Acme", "changes": [{"action": "new", "name": "A", "password": "x"}]},
        )
    assert info.value.code == "mail-params-secret"


def test_missing_and_unknown_params_are_named() -> None:
    with pytest.raises(MailerError) as info:
        check_params(Purpose.ORG_NOTICE, Event.NEW_DOCUMENTS, {"org_name": "Acme", "colour": "red"})
    assert info.value.data["missing"] == "documents"
    assert info.value.data["unknown"] == "colour"


def test_params_must_be_json_data() -> None:
    with pytest.raises(MailerError) as info:
        check_params(Purpose.ORG_NOTICE, Event.ACCESS_OPENED, {"org_name": object()})
    assert info.value.code == "mail-params-invalid"


def test_params_are_cleaned_of_control_characters() -> None:
    clean = check_params(Purpose.ORG_NOTICE, Event.ACCESS_OPENED, {"org_name": "Acme\u202e NV\x00\r", "accounts": 3})
    assert clean == {"org_name": "Acme NV", "accounts": 3}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jan\r\nBcc: evil@example.com", "Jan Bcc: evil@example.com"),
        ("Ann\u2028Smith", "Ann Smith"),
        ("\u202emoc.live@nna", "moc.live@nna"),
        ("Zo\u00eb  \t van\u200b Dijk", "Zoë van Dijk"),
        ("Cafe\u0301", "Café"),
    ],
)
def test_clean_text_single_line(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@given(st.text())
def test_clean_text_never_leaves_a_line_break_or_control_character(raw: str) -> None:
    out = clean_text(raw)
    assert "\r" not in out
    assert "\n" not in out
    assert all(ord(ch) >= 32 and ch not in "\x7f\u2028\u2029\u202e\u200b" for ch in out)


def test_backoff_doubles_and_is_capped() -> None:
    seconds = [backoff(n, base_seconds=60, max_seconds=3600).total_seconds() for n in range(1, 9)]
    assert seconds == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(0, base_seconds=60, max_seconds=3600) == timedelta(seconds=60)
