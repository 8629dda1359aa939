"""The pollers' read-only mode, for ``run --dry-run`` (docs/operations.md): the same reading, no writing.

A poller given a ``Peek`` lists, filters and reads its source exactly as a run does (the ledger, the
stability wait, the size caps, the UNDELETED search, the dates), then tells the peek what a run would
take in or refuse instead of doing it: no ledger row, no store file, no move, no folder created, and
the IMAP folder is selected read-only.
"""

from __future__ import annotations

from typing import Protocol

from extranet_intake.intake.sources.ingest import Incoming

__all__ = ["Peek"]


class Peek(Protocol):
    def take(self, item: Incoming) -> None:
        """An original a run would store now (the item the poller would hand to the store)."""

    def refuse(self, source: str, code: str) -> None:
        """An original a run would refuse, or could not read now, with its code; ``source`` names it as
        its arrival would be named."""
