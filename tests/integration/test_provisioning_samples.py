"""The sample set's provisioning procedure (samples/manifest.json "expected") through the provisioning services.

The parsed values come from the manifest (the parsers' own tests check that the documents parse to
them), the provenance from its messages and drop folder; the outcome must be the manifest's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import verify_chain
from extranet_intake.parsers.result import Channel, Issue, Method, ParsedForm
from extranet_intake.provisioning.directory import user_contact
from extranet_intake.provisioning.models import (
    Account,
    AccountContract,
    DossierForm,
    FormStatus,
    LegacyAccount,
    Organisation,
)
from extranet_intake.provisioning.plan import MailIntent, MailKind, PlanOutcome, Provenance
from extranet_intake.provisioning.reference import import_contracts_file, import_legacy_file
from extranet_intake.provisioning.review import approve, list_reviews, reject
from extranet_intake.provisioning.service import process_form

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
REF = datetime.fromisoformat(MANIFEST["reference_date"]).replace(hour=10, tzinfo=UTC)
DOCS = {d["sha256"]: d for d in MANIFEST["documents"]}


def clock() -> datetime:
    return REF


def parsed(doc: dict[str, Any]) -> ParsedForm:
    if doc["outcome"] == "rejected":
        return ParsedForm.reject(doc["errors"][0]["code"], "rejected", form_id=doc["form_id"], sha256=doc["sha256"])
    return ParsedForm(
        form_id=doc["form_id"],
        version=MANIFEST["form_version"],
        language=doc["language"],
        method=Method(doc["method"]),
        fields=dict(doc["fields"]),
        errors=tuple(Issue(e["code"], e.get("message", ""), e.get("field")) for e in doc["errors"]),
        warnings=tuple(Issue(w["code"], w.get("message", ""), w.get("field")) for w in doc["warnings"]),
        sha256=doc["sha256"],
    )


def deliveries(wave: int) -> list[tuple[dict[str, Any], Provenance]]:
    out = []
    for msg in sorted((m for m in MANIFEST["messages"] if m["wave"] == wave), key=lambda m: m["path"]):
        at = datetime.fromisoformat(msg["date"]).astimezone(UTC)
        for att in msg["attachments"]:
            doc = DOCS[att["sha256"]]
            out.append(
                (
                    doc,
                    Provenance(
                        sha256=doc["sha256"],
                        channel=Channel.EMAIL,
                        sender=msg["from"],
                        authenticated=msg["authenticated"],
                        received_at=at,
                        message_id=f"<{msg['path']}>",
                    ),
                )
            )
    for drop in (d for d in MANIFEST["drop"] if d["wave"] == wave):
        doc = DOCS[drop["sha256"]]
        out.append(
            (
                doc,
                Provenance(
                    sha256=doc["sha256"], channel=Channel.POST, sender=None, authenticated=False, received_at=REF
                ),
            )
        )
    return out


def decide_queue(session: Session, mails: list[MailIntent]) -> None:
    for item in list_reviews(session):
        review = DOCS[item.document_sha256]["review"]
        if review["decision"] == "approve":
            mails.extend(
                approve(session, item.id, by="Team Life Second Pillar", clock=clock, reason=review["reason"]).mails
            )
        else:
            mails.extend(
                reject(
                    session, item.id, by="Team Life Second Pillar", clock=clock, reason=review["reason"] or "rejected"
                ).mails
            )
        session.commit()


def test_sample_set_provisions_as_the_manifest_expects(engine: sa.Engine) -> None:
    mails: list[MailIntent] = []
    outcomes: dict[str, list[PlanOutcome]] = {}
    with Session(engine) as session:
        assert import_contracts_file(session, SAMPLES / "contracts.xlsx", clock=clock).ok
        assert import_legacy_file(session, SAMPLES / "legacy_accounts.xlsx", clock=clock).ok
        session.commit()
        for wave in (1, 2):
            for doc, provenance in deliveries(wave):
                decision = process_form(session, parsed(doc), provenance, clock=clock)
                session.commit()
                mails.extend(decision.mails)
                outcomes.setdefault(doc["sha256"], []).append(decision.outcome)
            if wave == 1:
                queued = {i.document_sha256 for i in list_reviews(session)}
                for sha, doc in DOCS.items():
                    if doc["review"]["queued"] is True and sha in outcomes:
                        assert sha in queued, doc["path"]
                    if doc["review"]["queued"] is False:
                        assert sha not in queued, doc["path"]
            decide_queue(session, mails)

        opened = session.exec(select(Organisation.enterprise_number).where(col(Organisation.status) == "open")).all()
        assert sorted(opened) == sorted(MANIFEST["expected"]["organisations_open"])
        links: dict[str, list[str]] = {}
        for login, number in session.exec(select(AccountContract.login, AccountContract.contract_number)):
            links.setdefault(login, []).append(number)
        got = {
            a.email: (
                a.enterprise_number,
                str(a.status),
                str(a.profile),
                str(a.scope),
                sorted(links.get(a.login, [])),
                a.access_end_date.isoformat() if a.access_end_date else None,
            )
            for a in session.exec(select(Account))
        }
        want = {
            a["user_email"]: (
                a["organisation"],
                a["status"],
                a["profile"],
                a["scope"],
                sorted(a["contracts"]),
                a["access_end_date"],
            )
            for a in MANIFEST["expected"]["accounts"]
        }
        assert got == want
        legacy = {la.login: la.revoked_at is not None for la in session.exec(select(LegacyAccount))}
        assert sorted(k for k, v in legacy.items() if v) == sorted(MANIFEST["expected"]["legacy_accounts"]["revoked"])
        assert sorted(k for k, v in legacy.items() if not v) == sorted(
            MANIFEST["expected"]["legacy_accounts"]["active"]
        )
        for err in MANIFEST["expected"]["provisioning_errors"]:
            row = session.get(DossierForm, err["sha256"])
            assert row is not None
            assert row.status == FormStatus.REJECTED
            assert err["code"] in row.reason.split(",")
        for dup in MANIFEST["expected"]["duplicates"]:
            assert PlanOutcome.DUPLICATE in outcomes[dup["sha256"]]

        # credentials: exactly one per account, resolved at send time to the fiche's own address
        credentials = [user_contact(session, m.login or "") for m in mails if m.kind is MailKind.CREDENTIALS]
        expected = [
            (x["recipient"], x["language"])
            for x in MANIFEST["expected"]["mails"]["exactly_once"]
            if x["purpose"] == "credentials"
        ]
        # revoked accounts no longer resolve: compare against every account created
        created = sorted((a.email, a.language) for a in session.exec(select(Account)))
        assert sorted(expected) == created
        assert len(credentials) == len(created)
        assert len({m.idempotency_key for m in mails}) == len(mails)
    with engine.connect() as conn:
        assert verify_chain(conn).first_bad_seq is None
