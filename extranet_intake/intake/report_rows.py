"""The typed rows of a run report: failures, warnings, expiry results, each carrying the reason catalogue's code.

The report on disk and ``run --json`` are these records' ``as_dict()`` (the shape docs/operations.md
describes); ``reasons.describe(code)`` gives a code's words. A light module: the desk's operations
page reads reports back into these records without loading the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from extranet_intake.errors import IntakeError
from extranet_intake.reasons import describe

if TYPE_CHECKING:
    from extranet_intake.intake.sources.ingest import PollError

__all__ = ["ExpiryResult", "Failure", "RunWarning"]


@dataclass(frozen=True)
class Failure:
    """One failure of a run: the stage it happened in and the reason catalogue's code.

    ``reasons.describe(code)`` gives its words; the report on disk and ``run --json`` carry the code
    (and the message the error gave), as they always did.
    """

    stage: str
    code: str
    message: str = ""
    sha256: str | None = None
    #: a mail that did not leave: its outbox row and the state it was left in
    outbox_id: int | None = None
    state: str | None = None
    #: further facts the error carried (a path, a UID …), as strings, written after the message
    details: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, stage: str, error: Mapping[str, Any], *, sha256: str | None = None) -> Failure:
        """From an error's ``as_dict()`` (``code``, ``message`` and its data), or a report's failure read back."""
        outbox_id = error.get("outbox_id")
        typed = isinstance(outbox_id, int)  # a send failure read back; an error's own data stays as given
        known = {"stage", "code", "message", "sha256"} | ({"outbox_id", "state"} if typed else set())
        return cls(
            stage=stage,
            code=str(error.get("code", "")),
            message=str(error.get("message", "")),
            sha256=str(error["sha256"]) if "sha256" in error else sha256,
            outbox_id=outbox_id if typed else None,
            state=str(error["state"]) if typed and "state" in error else None,
            details={k: str(v) for k, v in error.items() if k not in known},
        )

    @classmethod
    def of_poll(cls, stage: str, error: PollError) -> Failure:
        """One item a source (or stage 2) could not take in: its code, message and the item's names."""
        names = {"uid": error.uid, "key": error.key, "file": error.file, "attempt": error.attempt}
        return cls(
            stage=stage,
            code=error.code,
            message=error.message,
            sha256=error.sha256,
            details={k: str(v) for k, v in names.items() if v is not None},
        )

    @classmethod
    def of_exception(cls, stage: str, exc: IntakeError | SQLAlchemyError, *, sha256: str | None = None) -> Failure:
        """A coded error as it is; a database error as ``database-error`` with the driver's first line."""
        if isinstance(exc, IntakeError):
            return cls.of(stage, exc.as_dict(), sha256=sha256)
        return cls(
            stage=stage,
            code="database-error",
            sha256=sha256,
            message=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
        )

    @property
    def title(self) -> str:
        """The code's words, from the reason catalogue."""
        return describe(self.code).title

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage}
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        out["code"] = self.code
        if self.outbox_id is not None:
            out["outbox_id"] = self.outbox_id
        if self.state is not None:
            out["state"] = self.state
        out["message"] = self.message
        out.update(self.details)
        return out


@dataclass(frozen=True)
class RunWarning:
    """Something a person should know that is not a failure (a stack's page holding no form, an overdue review)."""

    stage: str
    code: str
    message: str
    sha256: str | None = None
    org: str | None = None
    #: the pages of a stack it is about (``"3"``, ``"3-4"``)
    pages: str | None = None

    @property
    def title(self) -> str:
        return describe(self.code).title

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage}
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        out["code"] = self.code
        if self.org is not None:
            out["org"] = self.org
        if self.pages is not None:
            out["pages"] = self.pages
        out["message"] = self.message
        return out


@dataclass(frozen=True)
class ExpiryResult:
    """What the expiry sweep decided for one organisation, with the catalogue's codes."""

    org: str | None
    outcome: str
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"org": self.org, "outcome": self.outcome, "reasons": list(self.reasons)}
