"""Contracts the import-linter contracts cannot hold: the error root imports nothing of the project,
and the plan's mail kinds and events are exactly the mailer's purposes and events (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from mailer.purposes import EVENTS, Event, Purpose
from provisioning.plan import KIND_OF, MailEvent, MailKind

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"intake", "parsers", "provisioning", "mailer", "templates", "desk", "auditchain"}


def test_the_error_root_imports_nothing_of_the_project() -> None:
    tree = ast.parse((ROOT / "errors.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & PROJECT


def test_the_plans_mail_kinds_are_the_mailers_purposes() -> None:
    # provisioning and the mailer may not import each other; they meet on these values in
    # intake/wiring.py, so a kind that drifts on one side would only fail at send time
    assert {str(k) for k in MailKind} == {str(p) for p in Purpose}


def test_the_plans_mail_events_are_the_mailers_events_with_the_same_purpose() -> None:
    assert set(KIND_OF) == set(MailEvent)
    for event, kind in KIND_OF.items():
        assert str(EVENTS[Event(str(event))].purpose) == str(kind), event


def test_the_audit_chain_imports_only_the_error_root_of_the_project() -> None:
    # import-linter's forbidden contract covers the packages; the top-level modules it cannot name
    # (reasons.py) are checked here, so the chain can be read and verified with errors.py alone
    imported: set[str] = set()
    for path in (ROOT / "auditchain").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported |= {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        }
    local = {p.stem for p in ROOT.glob("*.py")} | PROJECT
    assert "errors" in imported
    assert imported & local <= {"errors", "auditchain"}
