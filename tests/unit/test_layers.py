"""Contracts import-linter cannot hold: the plan's mail kinds and events are exactly the mailer's purposes
and events (docs/architecture.md). The import rules themselves (the layers, the mailer's independence, an
error root and a reason catalogue that import nothing of the product, an audit chain that needs only the
error root, no product code in samplekit's reach) are import-linter contracts in pyproject.toml, run by
scripts/test."""

from __future__ import annotations

import tomllib
from pathlib import Path

from extranet_intake.mailer.purposes import EVENTS, Event, Purpose
from extranet_intake.provisioning.plan import KIND_OF, MailEvent, MailKind

ROOT = Path(__file__).resolve().parents[2]


def test_the_plans_mail_kinds_are_the_mailers_purposes() -> None:
    # provisioning and the mailer may not import each other; they meet on these values in
    # extranet_intake/intake/wiring.py, so a kind that drifts on one side would only fail at send time
    assert {str(k) for k in MailKind} == {str(p) for p in Purpose}


def test_the_plans_mail_events_are_the_mailers_events_with_the_same_purpose() -> None:
    assert set(KIND_OF) == set(MailEvent)
    for event, kind in KIND_OF.items():
        assert str(EVENTS[Event(str(event))].purpose) == str(kind), event


def test_the_import_contracts_cover_the_error_root_and_the_audit_chain() -> None:
    # the contracts this file once checked by reading source: they must stay in import-linter's list
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    sources = {m for c in contracts["contracts"] if c["type"] == "forbidden" for m in c["source_modules"]}
    assert {
        "extranet_intake.errors",
        "extranet_intake.reasons",
        "extranet_intake.auditchain",
        "extranet_intake.mailer",
    } <= sources
    layers = [c for c in contracts["contracts"] if c["type"] == "layers"]
    assert len(layers) == 1
    assert layers[0]["layers"] == ["desk", "intake", "provisioning", "parsers"]
