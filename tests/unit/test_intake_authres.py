"""Sender authentication: only the topmost Authentication-Results of a trusted authserv-id is believed."""

from __future__ import annotations

from extranet_intake.intake.authres import AuthResult, evaluate
from extranet_intake.intake.mime import extract
from tests.intake_mail import make_message

TRUSTED = ["mx.ethias.be"]
GATEWAY_FAIL = "mx.ethias.be; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=example.be"
GATEWAY_PASS = (
    "mx.ethias.be; dkim=pass header.d=example.be header.s=s1; spf=pass smtp.mailfrom=example.be;"
    " dmarc=pass (p=reject dis=none) header.from=example.be"
)
FORGED_PASS = "mx.ethias.be; dkim=pass header.d=example.be; spf=pass; dmarc=pass header.from=example.be"


def test_trusted_gateway_pass() -> None:
    v = evaluate([GATEWAY_PASS], trusted_ids=TRUSTED)
    assert (v.trusted, v.dmarc, v.dkim, v.spf) == (True, AuthResult.PASS, AuthResult.PASS, AuthResult.PASS)
    assert v.dmarc_pass
    assert v.raw.startswith("mx.ethias.be;")


def test_forged_header_below_the_gateway_is_ignored() -> None:
    # The sender wrote a "pass" header with our gateway's id; the gateway prepended its real "fail" above.
    raw = make_message(auth_results=[GATEWAY_FAIL, FORGED_PASS])
    headers = extract(raw).envelope.authentication_results
    assert len(headers) == 2
    v = evaluate(headers, trusted_ids=TRUSTED)
    assert v.dmarc is AuthResult.FAIL
    assert not v.dmarc_pass


def test_headers_from_untrusted_hosts_are_never_read() -> None:
    v = evaluate(["mail.attacker.example; dmarc=pass header.from=example.be"], trusted_ids=TRUSTED)
    assert not v.trusted
    assert v.dmarc is AuthResult.ABSENT
    assert not v.dmarc_pass
    # An untrusted header above the trusted one (an internal relay after the gateway) is skipped over.
    v = evaluate(["relay.internal; dmarc=fail", GATEWAY_PASS], trusted_ids=TRUSTED)
    assert v.dmarc_pass


def test_authserv_id_match_is_case_insensitive_and_exact() -> None:
    assert evaluate(["MX.Ethias.BE 1; dmarc=pass"], trusted_ids=TRUSTED).dmarc_pass
    assert not evaluate(["mx.ethias.be.attacker.example; dmarc=pass"], trusted_ids=TRUSTED).trusted


def test_unparsable_trusted_header_yields_no_results() -> None:
    v = evaluate(["mx.ethias.be; dmarc=pass = = ;;"], trusted_ids=TRUSTED)
    assert v.trusted
    assert v.unparsable
    assert not v.dmarc_pass


def test_several_dkim_signatures_one_pass_counts() -> None:
    v = evaluate(
        ["mx.ethias.be; dkim=fail header.d=a.example; dkim=pass header.d=example.be; dmarc=pass"], trusted_ids=TRUSTED
    )
    assert v.dkim is AuthResult.PASS


def test_no_header_at_all() -> None:
    v = evaluate([], trusted_ids=TRUSTED)
    assert (v.trusted, v.dmarc) == (False, AuthResult.ABSENT)


def test_a_dmarc_pass_counts_only_for_the_sender_domain() -> None:
    attacker = "mx.ethias.be; dmarc=pass header.from=evil.example; spf=pass smtp.mailfrom=evil.example"
    assert evaluate([attacker], trusted_ids=TRUSTED, sender="attacker@evil.example").dmarc_pass
    assert not evaluate([attacker], trusted_ids=TRUSTED, sender="mu@example.be").dmarc_pass
    assert not evaluate(["mx.ethias.be; dmarc=pass"], trusted_ids=TRUSTED, sender="mu@example.be").dmarc_pass
    assert evaluate([GATEWAY_PASS], trusted_ids=TRUSTED, sender="MU@Example.BE".lower()).dmarc_pass


def test_two_dmarc_results_a_fail_for_the_sender_domain_wins() -> None:
    # issue 13.7: the attacker's own pass must not cover a fail for the domain the rules compare.
    mixed = "mx.ethias.be; dmarc=pass header.from=evil.example; dmarc=fail header.from=example.be"
    v = evaluate([mixed], trusted_ids=TRUSTED, sender="mu@example.be")
    assert not v.dmarc_pass
    assert v.dmarc is AuthResult.FAIL
    assert v.dmarc_header_from == "example.be"
    # order does not matter, nor does a pass for the sender's domain beside the fail
    reverse = "mx.ethias.be; dmarc=fail header.from=example.be; dmarc=pass header.from=evil.example"
    assert evaluate([reverse], trusted_ids=TRUSTED, sender="mu@example.be").dmarc is AuthResult.FAIL
    both = "mx.ethias.be; dmarc=pass header.from=example.be; dmarc=fail header.from=example.be"
    assert not evaluate([both], trusted_ids=TRUSTED, sender="mu@example.be").dmarc_pass
    # a pass for the sender's own domain beside an unrelated fail still counts
    other_fail = "mx.ethias.be; dmarc=fail header.from=evil.example; dmarc=pass header.from=example.be"
    v = evaluate([other_fail], trusted_ids=TRUSTED, sender="mu@example.be")
    assert v.dmarc_pass
    assert v.dmarc_header_from == "example.be"


def test_two_dmarc_results_without_a_sender_any_fail_wins() -> None:
    mixed = "mx.ethias.be; dmarc=pass header.from=evil.example; dmarc=fail header.from=example.be"
    assert evaluate([mixed], trusted_ids=TRUSTED).dmarc is AuthResult.FAIL
