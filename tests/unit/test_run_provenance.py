"""The trust facts the daily run hands to the rules, from one arrival (docs/rules.md §Trust)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extranet_intake.intake.pipeline import arrival_provenance
from extranet_intake.intake.store_tables import Arrival
from extranet_intake.parsers.result import Channel

SHA = "a" * 64


def _arrival(**over: object) -> Arrival:
    values: dict[str, object] = {
        "sha256": SHA,
        "channel": Channel.EMAIL,
        "source": "imap:x",
        "sender": "mu@acme.be",
        "auth_trusted": True,
        "dmarc": "pass",
        "received_at": datetime(2026, 11, 20, tzinfo=UTC),
        "outcome": "stored",
    }
    values.update(over)
    return Arrival(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "require_dmarc", "authenticated"),
    [
        ({}, True, True),
        ({"dmarc": "fail"}, True, False),
        ({"auth_trusted": False, "dmarc": "absent"}, True, False),
        # the check off is for gateways that add no header: it never overrules a verdict they did give
        ({"auth_trusted": False, "dmarc": "absent"}, False, True),
        ({"dmarc": "fail"}, False, False),
        ({"sender": ""}, True, False),
        ({"sender": ""}, False, False),
        ({"channel": Channel.POST, "sender": ""}, False, False),
    ],
)
def test_authenticated_only_with_the_trusted_gateways_pass(
    over: dict[str, object], require_dmarc: bool, authenticated: bool
) -> None:
    assert arrival_provenance(_arrival(**over), sha256=SHA, require_dmarc=require_dmarc).authenticated is authenticated
