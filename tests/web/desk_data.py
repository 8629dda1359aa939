"""Review items on real originals (a stored PDF, a scan with a doubtful field), with their e-mail arrivals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.intake.store import DocumentStore
from extranet_intake.intake.store_tables import Arrival, Document
from extranet_intake.parsers.result import Channel, Issue, ParsedForm
from extranet_intake.provisioning.service import process_form
from tests.fixtures.provisioning import MU_EMAIL, NOW, agr, clock, mu, prov, usr
from tests.fixtures.samples import SAMPLES_DIR

EVIL_NAME = "<script>alert(1)</script>\x1b[31mAcme"


def _receive(
    engine: sa.Engine,
    store: DocumentStore,
    form: ParsedForm,
    data: bytes,
    *,
    subject: str,
    sender: str | None = MU_EMAIL,
    channel: Channel = Channel.EMAIL,
    dmarc: str = "pass",
) -> str:
    sha = store.put(data)
    form = dataclasses.replace(form, sha256=sha)
    with Session(engine) as session:
        if session.get(Document, sha) is None:
            session.add(
                Document(
                    sha256=sha,
                    size=len(data),
                    kind="attachment",
                    media_type="application/pdf",
                    first_seen_at=NOW,
                    parse_state="parsed",
                )
            )
            session.flush()
        session.add(
            Arrival(
                sha256=sha,
                channel=str(channel),
                source=f"maildir:{sha[:8]}",
                filename=f"{form.form_id}.pdf",
                sender=sender or "",
                subject=subject,
                auth_trusted=True,
                dmarc=dmarc,
                received_at=NOW,
                outcome="stored",
            )
        )
        process_form(session, form, prov(form, sender=sender, channel=channel), clock=clock)
        session.commit()
    return sha


def seed_review_items(engine: sa.Engine, store_dir: Path) -> dict[str, str]:
    """An agreement (PDF, mailed), a Master User designation (a scan with a doubtful field), and a user fiche
    from a stranger whose organisation name is hostile text. Returns form kind → SHA-256."""
    store = DocumentStore(store_dir, fsync=False)
    pdf = (SAMPLES_DIR / "documents" / "lejeune" / "agr-fr.pdf").read_bytes()
    scan = (SAMPLES_DIR / "scans" / "scan-003-eap-mu-nl-clean.jpg").read_bytes()
    other = (SAMPLES_DIR / "scans" / "scan-005-eap-usr-nl-clean.pdf").read_bytes()
    doubtful = (Issue("ocr-low-confidence", "the scan was unclear", field="mu_email"),)
    return {
        "EAP-AGR": _receive(engine, store, agr(), pdf, subject="Overeenkomst Extranet Acme"),
        "EAP-MU": _receive(
            engine,
            store,
            dataclasses.replace(mu(), warnings=doubtful),
            scan,
            subject="Aanduiding Master User",
            dmarc="fail",
        ),
        "EAP-USR": _receive(
            engine,
            store,
            usr(org_name=EVIL_NAME, email="intruder@acme.be"),
            other,
            subject="Fiche " + EVIL_NAME,
            sender="someone@elsewhere.example",
        ),
    }
