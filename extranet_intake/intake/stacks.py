"""A stack of forms in one stored document: one stored part per form, each pointing to its pages in the original.

``parsers.stack.split_stack`` (run in the sandbox) cuts a PDF holding several forms into parts.
``record_parts`` stores each part's bytes as a document of its own (pending, parsed next like any
form) with an arrival that copies the original's (channel, sender, Message-ID, trust verdict — the
part came in the same way) and points back to it: ``parent_sha256`` is the stack's SHA-256 and
``source`` ends in ``#pages=<first>-<last>``. The original stays in the store byte for byte, once;
it is marked parsed with the outcome ``split``, so the same stack received again is a known
document and is not split twice — and each part, by its own SHA-256, is processed once.

A part that holds no form (a blank sheet, a page of something else) is never dropped: its arrival's
``detail`` starts with its code (``stack-blank-page``, ``stack-page-without-form``), the run reports
it, and it goes to the review queue for a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from extranet_intake.auditchain.chain import AuditAction, append_entry
from extranet_intake.intake.mime import SniffedType
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import Arrival, Document, DocumentKind, ParseState, mark_parsed
from extranet_intake.parsers.result import STRAY_PAGE_CODES
from extranet_intake.parsers.stack import Part

__all__ = ["SPLIT_OUTCOME", "pages_of", "part_arrival", "record_parts", "stray_code"]

#: the parse outcome of a document cut into parts (the parts carry the decisions)
SPLIT_OUTCOME = "split"

_PAGES_RE = re.compile(r"#pages=(\d+)(?:-(\d+))?$")


def pages_of(arrival: Arrival) -> tuple[int, int] | None:
    """The pages of the original a part was cut from (from 1, both included); None for a whole document."""
    m = _PAGES_RE.search(arrival.source)
    if m is None or arrival.parent_sha256 is None:
        return None
    first = int(m.group(1))
    return first, int(m.group(2) or first)


def stray_code(arrival: Arrival) -> str | None:
    """For a part of a stack that holds no form: its code (``stack-blank-page``…); None otherwise."""
    if pages_of(arrival) is None:
        return None
    code = arrival.detail.split(":", 1)[0]
    return code if code in STRAY_PAGE_CODES else None


def part_arrival(sha256: str, arrival: Arrival, part: Part) -> Arrival:
    """The arrival row of one part of the stack ``sha256`` (not added to any session): the original's,
    pointing back to it by ``parent_sha256`` and ``#pages=`` (also what ``run --dry-run`` reads parts by)."""
    turned = ", turned right side up (it was upside down)" if part.rotated else ""
    what = part.stray_code or part.form_id or "form"
    return Arrival(
        sha256=sha256_of(part.data),
        channel=arrival.channel,
        source=f"{arrival.source}#pages={part.first}-{part.last}"[:500],
        filename=f"{arrival.filename or 'stack'} (p. {part.pages})"[:255],
        sender=arrival.sender,
        message_id=arrival.message_id,
        subject=arrival.subject,
        authentication_results=arrival.authentication_results,
        auth_trusted=arrival.auth_trusted,
        auth_authserv_id=arrival.auth_authserv_id,
        dmarc=arrival.dmarc,
        dkim=arrival.dkim,
        spf=arrival.spf,
        received_at=arrival.received_at,
        parent_sha256=sha256,
        outcome="stored",
        detail=f"{what}: page(s) {part.pages} of the stack {sha256}{turned}",
    )


def record_parts(
    session: Session, store: DocumentStore, *, sha256: str, arrival: Arrival, parts: Sequence[Part], now: datetime
) -> list[str]:
    """Store the parts of the stack ``sha256`` and add their rows to ``session``; mark the stack split.

    Returns the parts' SHA-256s in page order. The caller commits; the bytes are durable before.
    Raises ``StoreError`` when the parts cannot be written (the stack stays pending for the next run).
    """
    blobs = {sha256_of(p.data): p.data for p in parts}
    failures = store.put_many(blobs)
    if failures:
        raise next(iter(failures.values()))
    shas = [sha256_of(p.data) for p in parts]
    for part_sha, part in zip(shas, parts, strict=True):
        if session.get(Document, part_sha) is None:
            session.add(
                Document(
                    sha256=part_sha,
                    size=len(part.data),
                    kind=DocumentKind.FORM.value,
                    media_type=SniffedType.PDF.value,
                    first_seen_at=now,
                    parse_state=ParseState.PENDING.value,
                )
            )
            # the tables have no ORM relationship to order the inserts by: the document row goes first
            session.flush()
    details: list[dict[str, object]] = []
    for part_sha, part in zip(shas, parts, strict=True):
        session.add(part_arrival(sha256, arrival, part))
        details.append(
            {
                "pages": part.pages,
                "form_id": part.form_id,
                "kind": part.kind.value,
                "rotated": part.rotated,
                "sha256": part_sha,
            }
        )
    session.flush()
    stray = [d for d in details if d["kind"] != "form"]
    # One entry for the cut itself: which pages became which document, and which hold no form.
    append_entry(
        session,
        actor="system",
        action=AuditAction.DOCUMENT_RECEIVED,
        org=None,
        login=None,
        document_sha256=sha256,
        reason="stack-split",
        details={"parts": details, "stray_pages": stray},
        at=now,
    )
    mark_parsed(session, sha256, outcome=SPLIT_OUTCOME, at=now)
    return shas
