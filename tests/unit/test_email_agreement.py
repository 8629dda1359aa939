"""The fiche validator and the mailer agree on what an e-mail address is (issue 13.2).

An address the validator accepts becomes an account's credentials address; if the mailer then
refused it, an account would exist whose credentials can never be sent. The two packages may not
import each other, so each makes its own email-validator call: this test pins that both use the
same options and reach the same verdict on the same addresses (edge cases and generated ones).
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from extranet_intake.errors import MailerError
from extranet_intake.mailer import render
from extranet_intake.parsers import validate as parsers_validate
from extranet_intake.parsers.validate import validate
from tests.fixtures.forms import TODAY, valid_values

EDGES = [
    "jan@acme.be",
    "Jan.Peeters@ACME.be",
    "a_b+tag@x.be",
    "o'brien@x.be",
    "a@b.be",
    "jöhn@acme.be",
    "jan@drieliñden.example",
    "jan@xn--drieliden-q6a.example",
    "ünï@çödé.be",
    "a@b.123",
    "a@x_y.be",
    "a@example",
    "a@localhost",
    "a@x.test",
    "a..b@x.be",
    ".a@x.be",
    "a.@x.be",
    "a@-x.be",
    "a@x-.be",
    '"a b"@x.be',
    "a@[1.2.3.4]",
    "x" * 65 + "@x.be",
    "a@" + "b" * 64 + ".be",
    "a@" + ".".join(["b" * 60] * 5) + ".be",
    "a@b.be\u202e",
    "a\u200b@b.be",
    "ａ@b.be",
    "a@b.b",
    "a@1.2.3.4",
    "a@b.c0m",
    "a@b.xn--p1ai",
    "a@b--c.be",
    "a@xn--ab.be",
]


def parser_accepts(address: str) -> str | None:
    """The normalised address the user fiche validator keeps, or None when it refuses it."""
    fields, errors, _ = validate("EAP-USR", valid_values("EAP-USR", user_email=address), today=TODAY)
    if any(e.field == "user_email" for e in errors):
        return None
    value = fields["user_email"]
    assert isinstance(value, str)
    return value


def mailer_accepts(address: str) -> bool:
    try:
        render.check_address(address)
    except MailerError as exc:
        code = exc.code
    else:
        return True
    assert code == "mail-address-invalid"
    return False


def test_both_use_the_same_email_validator_options() -> None:
    assert parsers_validate.EMAIL_OPTIONS == render.EMAIL_OPTIONS
    # SMTPUTF8 is refused on both sides: the mail server is not required to offer it (issue 13.2)
    assert parsers_validate.EMAIL_OPTIONS["allow_smtputf8"] is False


@pytest.mark.parametrize("address", EDGES)
def test_same_verdict_on_edge_addresses(address: str) -> None:
    kept = parser_accepts(address)
    if kept is None:
        assert not mailer_accepts(address.strip())
    else:
        assert mailer_accepts(kept), f"the validator keeps {kept!r} but the mailer refuses it"


@pytest.mark.parametrize("address", ["jöhn@acme.be", "jan@drieliñden.example", "jan@acme.bé", "ａ@b.be"])
def test_a_non_ascii_address_is_refused_at_parse_with_its_own_code(address: str) -> None:
    _, errors, _ = validate("EAP-USR", valid_values("EAP-USR", user_email=address), today=TODAY)
    assert [(e.code, e.field) for e in errors] == [("email-not-ascii", "user_email")]
    _, errors, _ = validate("EAP-MU", valid_values("EAP-MU", mu_email=address), today=TODAY)
    assert [(e.code, e.field) for e in errors] == [("email-not-ascii", "mu_email")]


_LOCAL_CHARS = string.ascii_letters + string.digits + "._+-'!#$%&*/=?^`{|}~\"()<>,;:[] \\öñ\u00e9\u200bａ"
_DOMAIN_CHARS = string.ascii_lowercase + string.digits + ".-_ñ"


@settings(max_examples=400, deadline=None)
@given(
    st.text(_LOCAL_CHARS, min_size=0, max_size=70),
    st.text(_DOMAIN_CHARS, min_size=0, max_size=40),
    st.sampled_from(["", ".be", ".example", ".com", ".test", ".xn--p1ai", ".1"]),
)
@example("jöhn", "acme", ".be")
@example("jan", "drieliñden", ".example")
def test_same_verdict_on_generated_addresses(local: str, domain: str, tld: str) -> None:
    address = f"{local}@{domain}{tld}"
    kept = parser_accepts(address)
    if kept is None:
        assert not mailer_accepts(address.strip())
    else:
        assert mailer_accepts(kept), f"the validator keeps {kept!r} but the mailer refuses it"
