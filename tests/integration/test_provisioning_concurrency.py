"""Two real processes applying plans at the same time: no duplicate account, the audit chain stays valid."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from extranet_intake.auditchain.chain import AuditAction, AuditEntry, verify_chain
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.models import Account, AccountStatus
from extranet_intake.provisioning.service import process_form
from tests.fixtures.provisioning import agr, clock, mu, prov, usr
from tests.integration.test_provisioning_flow import approve_item, load_reference, receive

PEOPLE = 12


def _fiches() -> list[Any]:
    # every person twice: the same document (same SHA-256), and a second, different fiche for the
    # same address (one person, one account)
    same = [usr(email=f"person{i}@acme.be") for i in range(PEOPLE)]
    other = [usr(email=f"person{i}@acme.be", user_phone=f"+32470{i:06d}") for i in range(PEOPLE)]
    return same + other


def _worker(url: str, reverse: bool, barrier: Any, out: Any) -> None:
    engine = make_engine(url)
    forms = _fiches()
    if reverse:
        forms.reverse()
    barrier.wait(timeout=30)
    outcomes = []
    for form in forms:
        with Session(engine) as session:
            decision = process_form(session, form, prov(form), clock=clock)
            session.commit()
            outcomes.append(str(decision.outcome))
    engine.dispose()
    out.put(outcomes)


def test_two_processes_create_no_duplicate_account_and_keep_the_chain(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    load_reference(engine, tmp_path)
    for form in (agr(), mu()):
        receive(engine, form)
        approve_item(engine, form.sha256)
    assert str(receive(engine, usr(email="first@acme.be")).outcome) == "applied"  # the dossier is open

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(db_url, reverse, barrier, out)) for reverse in (False, True)]
    for w in workers:
        w.start()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    seen = Counter(o for r in results for o in r)
    with Session(engine) as session:
        accounts = session.exec(select(Account).where(col(Account.status) == AccountStatus.ACTIVE)).all()
        emails = Counter(a.email for a in accounts)
        created = session.exec(select(AuditEntry).where(col(AuditEntry.action) == AuditAction.ACCOUNT_CREATED)).all()
    assert len(accounts) == PEOPLE + 1
    assert max(emails.values()) == 1
    assert len(created) == PEOPLE + 1
    # each person: one fiche applied once; the rest are duplicates (same document) or refused (same person)
    assert seen["applied"] == PEOPLE
    assert seen["applied"] + seen["duplicate"] + seen["rejected"] == 4 * PEOPLE
    with engine.connect() as conn:
        report = verify_chain(conn)
    assert report.first_bad_seq is None, report.message
