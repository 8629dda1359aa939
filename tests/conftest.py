"""Test configuration: markers by folder, and the fixture plugins of each area (tests/fixtures/*)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.forms",
    "tests.fixtures.postgres",
    "tests.fixtures.dovecot",
    "tests.fixtures.smtp",
    "tests.fixtures.mailer",
    "tests.fixtures.samples",
    "tests.fixtures.pki",
]

_LAYERS = {"unit", "integration", "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder a test lives in is its layer: tests/unit is pure, tests/integration talks to real
    # servers, tests/e2e drives the command line.
    for item in items:
        layer = Path(str(item.fspath)).parent.name
        if layer in _LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
