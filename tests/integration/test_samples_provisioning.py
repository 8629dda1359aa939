"""The manifest's end state holds: the committed samples, parsed and provisioned on SQLite, reach ``expected``.

This drives the layers under the daily run directly (MIME reading, the gateway's verdict, parsing,
provisioning, the review queue) in the manifest's procedure; the lead's end-to-end test runs the
same set through the command line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.intake.authres import evaluate
from extranet_intake.intake.mime import extract
from extranet_intake.parsers.document import parse_document
from extranet_intake.parsers.result import Channel
from extranet_intake.provisioning.directory import master_user_contact, notification_contact, user_contact
from extranet_intake.provisioning.engines import create_schema, make_engine
from extranet_intake.provisioning.models import ReviewItem, ReviewStatus
from extranet_intake.provisioning.plan import MailIntent, MailKind, Provenance
from extranet_intake.provisioning.reference import import_contracts_file, import_legacy_file
from extranet_intake.provisioning.review import approve, reject
from extranet_intake.provisioning.service import Decision, process_form
from tests.fixtures.samples import assert_end_state, assert_mails

REVIEWER = "Reviewer Samples"


class _Run:
    def __init__(self, engine: sa.Engine, manifest: dict[str, Any], samples_dir: Path) -> None:
        self.engine = engine
        self.manifest = manifest
        self.dir = samples_dir
        self.today = date.fromisoformat(manifest["reference_date"])
        self.docs = {d["sha256"]: d for d in manifest["documents"]}
        self.mails: list[tuple[str, str]] = []
        self.queued: set[str] = set()

    def clock(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)

    def _recipient(self, session: Session, mail: MailIntent) -> str:
        if mail.kind is MailKind.CREDENTIALS:
            assert mail.login is not None
            contact = user_contact(session, mail.login)
        elif mail.kind is MailKind.ORG_NOTICE:
            contact = notification_contact(session, mail.enterprise_number)
        else:
            contact = master_user_contact(session, mail.enterprise_number)
        assert contact is not None, mail
        return contact.email

    def _record(self, decision: Decision) -> None:
        with Session(self.engine) as session:
            self.mails.extend((str(m.kind), self._recipient(session, m)) for m in decision.mails)

    def feed(self, data: bytes, provenance: Provenance) -> None:
        form = parse_document(data, today=self.today)
        with Session(self.engine) as session:
            decision = process_form(session, form, provenance, clock=self.clock)
            session.commit()
        self._record(decision)

    def deliver(self, wave: int) -> None:
        trusted_ids = [self.manifest["trust"]["trusted_authserv_id"]]
        for message in self.manifest["messages"]:
            if message["wave"] != wave:
                continue
            ex = extract((self.dir / message["path"]).read_bytes())
            verdict = evaluate(ex.envelope.authentication_results, trusted_ids=trusted_ids, sender=ex.envelope.sender)
            for att in ex.attachments:
                self.feed(
                    att.data,
                    Provenance(
                        sha256=hashlib.sha256(att.data).hexdigest(),
                        channel=Channel.EMAIL,
                        sender=ex.envelope.sender,
                        authenticated=verdict.dmarc_pass,
                        received_at=self.clock(),
                    ),
                )
        for drop in self.manifest["drop"]:
            if drop["wave"] == wave:
                self.feed(
                    (self.dir / drop["path"]).read_bytes(),
                    Provenance(
                        sha256=drop["sha256"],
                        channel=Channel.POST,
                        sender=None,
                        authenticated=False,
                        received_at=self.clock(),
                    ),
                )

    def decide_reviews(self) -> None:
        with Session(self.engine) as session:
            items = [
                (i.id, i.document_sha256)
                for i in session.exec(select(ReviewItem).where(col(ReviewItem.status) == ReviewStatus.OPEN)).all()
            ]
        for item_id, sha in items:
            assert item_id is not None
            doc = self.docs[sha]
            assert doc["review"]["queued"] is not False, f"{doc['path']} must never be queued"
            self.queued.add(sha)
            with Session(self.engine) as session:
                if doc["review"]["decision"] == "approve":
                    decision = approve(session, item_id, by=REVIEWER, clock=self.clock)
                else:
                    decision = reject(session, item_id, by=REVIEWER, clock=self.clock, reason=doc["review"]["reason"])
                session.commit()
            self._record(decision)


def test_the_samples_reach_the_expected_end_state(tmp_path: Path, manifest: dict[str, Any], samples_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'samples.db'}")
    create_schema(engine)
    run = _Run(engine, manifest, samples_dir)
    with Session(engine) as session:
        assert import_contracts_file(session, samples_dir / "contracts.xlsx", clock=run.clock).ok
        assert import_legacy_file(session, samples_dir / "legacy_accounts.xlsx", clock=run.clock).ok
        session.commit()
    for wave in (1, 2):
        run.deliver(wave)
        run.decide_reviews()
    must_queue = {d["sha256"] for d in manifest["documents"] if d["review"]["queued"] is True}
    assert must_queue <= run.queued, [run.docs[s]["path"] for s in must_queue - run.queued]

    assert_end_state(engine, manifest)
    assert_mails(Counter(run.mails), manifest)
