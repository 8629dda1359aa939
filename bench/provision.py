"""Benchmark: provisioning plans applied per second (lock, state, rules, apply, audit; one commit each).

Usage: .venv/bin/python bench/provision.py [--plans 2000] [--orgs 20] [--backend sqlite|postgresql|both]
       [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
       .venv/bin/python bench/provision.py --volume [--orgs 5] [--rounds 6] [--batch 40] [--backend …]

Each plan is one EAP-USR (new) mailed by the Master User of an open organisation: the dossier row
is locked, its state read, the rules run, the account, its contracts, the dossier row and two audit
entries written, and the transaction committed. The floor is the replay floor: every statement the
product sent to the driver for a batch of plans (recorded with SQLAlchemy's ``before_cursor_execute``)
run again through the bare driver (sqlite3, psycopg) on a twin of the database, one commit per plan.
Product and replay alternate batch by batch (A B A B …, the machine is shared and noisy); the ratio
printed is the median of the pairs' ratios (target ≥ 0.5, issue 15.9). The product runs its per-plan
statements on the driver's cursor (``auditchain.prepared``), which still calls the
``before_cursor_execute`` listeners, so the replay holds every statement it sent, ``BEGIN`` included.

Measured 2026-12-01, ``--plans 600`` (2 shared cores; the other helpers' fsyncs and CPU move both sides,
so the ratio swings with the load): before (86fed0a, 15 statements on SQLite, 14 on PostgreSQL), load
0.9: SQLite 445 plans/s, floor 1,266, ratio 0.35; PostgreSQL 235, floor 561, ratio 0.43; load 3.5-3.9,
interleaved with the after runs: SQLite ratio 0.43 and 0.39, PostgreSQL 0.46 and 0.48. After (14
statements on both), load 3.5-4.2: SQLite ratio 0.81, 0.53, 0.80, 0.49, 0.50 (0.49-0.53 whenever the
floor is fast, 1,180-1,260 plans/s: the disk is then quick and the product's CPU weighs most);
PostgreSQL 0.63, 0.68, 0.59, 0.68, 0.62. CPU per plan on tmpfs (``time.process_time``, best of 20
batches of 100): product 1.7-1.9 ms before, 0.92-0.93 ms after; replay 0.25-0.29 ms.

Measured 2026-12-01, ``--plans 600``, 80601ab (main) and 57a113f (a plan's ``now`` converted once, empty
JSON once, the statement path without the shared helper, the audit details' JSON from the C encoder)
alternating run by run, load 2.0-2.3: SQLite ratio main 0.54, 0.49, 0.53, 0.53, 0.52, 0.48; 57a113f 0.53,
0.57, 0.53, 0.52, 0.50, 0.58 (floors 1,190-1,480 plans/s; with a slow disk, floor 240-600 plans/s, the
ratio swings to 0.44 and 0.84); PostgreSQL main 0.61, 0.61, 57a113f 0.63, 0.67. CPU per plan on tmpfs
(median of 20 batches of 100, three alternations): product 0.97-1.02 ms on main, 0.89-0.90 ms after;
replay 0.31-0.33 ms. What is left is spread over the Session's begin and commit (about 80 µs), some
10 µs of Python per statement around the driver's call, the rules (about 35 µs) and the audit hashing.

``--volume`` asks whether a plan's cost grows with the data around it (issue 15.10): four
databases, {10, 1,000} accounts per organisation × {0, 50,000} legacy rows (seeded in bulk, the
legacy rows belonging to other organisations, as the old Extranet's do), receive the same kind of
fiche in interleaved batches (A B C D A B C D …, the machine is shared and noisy); it prints the
median cost per plan of each and its ratio to the small one (target ≤ 1.2).

Measured 2026-12-01, ratio to 10 accounts / 0 legacy rows at 1,000 / 0, 10 / 50,000 and 1,000 /
50,000: f04efaa's code, load 3.4-3.9: SQLite (1.71 ms/plan) 1.07, 0.89, 1.10; PostgreSQL (3.22 ms/plan)
1.12, 0.93, 1.10. 1d0da91's, load 3.7-3.9: SQLite (5.06 ms/plan) 0.94, 0.87, 0.99; PostgreSQL
(12.3 ms/plan) 0.84, 0.74, 0.87.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extranet_intake.intake.database import upgrade
from extranet_intake.parsers.result import Channel, Method, ParsedForm
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.models import Contract, ReviewItem
from extranet_intake.provisioning.plan import PlanOutcome, Provenance
from extranet_intake.provisioning.review import approve
from extranet_intake.provisioning.service import process_form

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def enterprise_number(i: int) -> str:
    base = 10_000_000 + i * 7919  # 0 + 8 digits, then the mod-97 check digits
    return f"0{base:08d}"[:8] + f"{97 - int(f'0{base:08d}'[:8]) % 97:02d}"


def form(form_id: str, fields: dict[str, object]) -> ParsedForm:
    sha = hashlib.sha256(json.dumps([form_id, fields], sort_keys=True).encode()).hexdigest()
    return ParsedForm(
        form_id=form_id, version="2026.1", language="nl", method=Method.ACROFORM, fields=fields, sha256=sha
    )  # type: ignore[arg-type]


def provenance(f: ParsedForm, sender: str) -> Provenance:
    return Provenance(
        sha256=f.sha256 or "",
        channel=Channel.EMAIL,
        sender=sender,
        authenticated=True,
        received_at=NOW,
        message_id=None,
    )


def open_orgs(engine: sa.Engine, count: int) -> list[tuple[str, str]]:
    orgs = []
    with Session(engine) as session:
        for i in range(count):
            en = enterprise_number(i)
            mu_email = f"mu{i}@org{i}.example"
            session.add(Contract(contract_number=f"C{i}-1", enterprise_number=en, imported_at=NOW))
            session.commit()
            signed = {"signed_date": "2026-11-20", "signature": True}
            agr = form(
                "EAP-AGR",
                {
                    "org_name": f"Org {i}",
                    "org_enterprise_number": en,
                    "notification_email": f"list@org{i}.example",
                    "correspondence_language": "nl",
                    "accept_terms": True,
                    "org_street": "Kerkstraat 1",
                    "org_postcode": "2000",
                    "org_city": "Antwerpen",
                    "signatory_name": "Piet",
                    "signatory_function": "CEO",
                    "signed_place": "Gent",
                    **signed,
                },
            )
            mu = form(
                "EAP-MU",
                {
                    "org_name": f"Org {i}",
                    "org_enterprise_number": en,
                    "mu_last_name": "Peeters",
                    "mu_first_name": "Marie",
                    "mu_email": mu_email,
                    "mu_language": "nl",
                    "mu_function": "HR",
                    "mu_phone": "+3232000000",
                    "rep_name": "Piet",
                    "rep_function": "CEO",
                    **signed,
                },
            )
            for f in (agr, mu):
                process_form(session, f, provenance(f, mu_email), clock=clock)
                session.commit()
                item = session.exec(select(ReviewItem).where(ReviewItem.document_sha256 == f.sha256)).one()
                approve(session, item.id or 0, by="bench", clock=clock, corrections={})
                session.commit()
            first = user_fiche(en, i, 0)
            process_form(session, first, provenance(first, mu_email), clock=clock)
            session.commit()
            orgs.append((en, mu_email))
    return orgs


def user_fiche(en: str, org: int, n: int) -> ParsedForm:
    return form(
        "EAP-USR",
        {
            "org_name": f"Org {org}",
            "org_enterprise_number": en,
            "action": "new",
            "user_last_name": f"User{n}",
            "user_first_name": "Bench",
            "user_email": f"user{n}@org{org}.example",
            "user_language": "nl",
            "user_type": "internal",
            "profile": "consult",
            "scope": "selected",
            "contracts": [f"C{org}-1"],
            "mu_name": "Marie Peeters",
        },
    )


class Recorder:
    """Every statement the product sends to the driver, grouped by plan (one list per transaction)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.plans: list[list[tuple[str, Any, bool]]] = []
        self.current: list[tuple[str, Any, bool]] = []
        sa.event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        self.current.append((statement, parameters, executemany))

    def end_plan(self) -> None:
        self.plans.append(self.current)
        self.current = []

    def take(self) -> list[list[tuple[str, Any, bool]]]:
        plans, self.plans = self.plans, []
        return plans


def product_batch(engine: sa.Engine, recorder: Recorder, fiches: list[tuple[ParsedForm, str]]) -> float:
    """Seconds for the product to plan, apply and commit these fiches, one transaction each."""
    started = time.perf_counter()
    with Session(engine) as session:
        for f, sender in fiches:
            decision = process_form(session, f, provenance(f, sender), clock=clock)
            session.commit()
            recorder.end_plan()
            if decision.outcome is not PlanOutcome.APPLIED:
                raise SystemExit(f"plan not applied: {decision.outcome} {decision.plan.reasons}")
    return time.perf_counter() - started


def replay_batch(dbapi: Any, plans: list[list[tuple[str, Any, bool]]]) -> float:
    """Seconds for the bare driver to run the same statements, one commit per plan (the replay floor)."""
    started = time.perf_counter()
    cursor = dbapi.cursor()
    for statements in plans:
        for sql, params, many in statements:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()
        dbapi.commit()
    cursor.close()
    return time.perf_counter() - started


def sqlite_driver(path: str) -> Any:
    """sqlite3 set up as provisioning.db.make_engine sets it up (WAL, FULL sync, our own BEGIN)."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=FULL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def run(
    name: str, url: str, twin: Callable[[str], tuple[str, Any]], *, plans: int, orgs: int, pairs: int
) -> dict[str, float]:
    """Product and replay floor in interleaved batches (A B A B …): the median of the pairs' ratios."""
    import statistics

    upgrade(url)
    engine = make_engine(url)
    opened = open_orgs(engine, orgs)
    engine.dispose()
    _, dbapi = twin(url)
    engine = make_engine(url)
    recorder = Recorder(engine)
    batch = max(1, plans // pairs)
    fiches = [
        (user_fiche(opened[n % len(opened)][0], n % len(opened), n + 1), opened[n % len(opened)][1])
        for n in range(batch * (pairs + 1))
    ]
    rates: list[tuple[float, float]] = []
    statements = 0
    try:
        for p in range(pairs + 1):  # the first pair warms caches and statement compilation up
            product = product_batch(engine, recorder, fiches[p * batch : (p + 1) * batch])
            recorded = recorder.take()
            replay = replay_batch(dbapi, recorded)
            statements = round(sum(len(s) for s in recorded) / len(recorded))
            if p:
                rates.append((batch / product, batch / replay))
    finally:
        engine.dispose()
        dbapi.close()
    rate = statistics.median(r[0] for r in rates)
    floor = statistics.median(r[1] for r in rates)
    ratio = statistics.median(r[0] / r[1] for r in rates)
    print(
        f"{name:10s} {rate:8.1f} plans applied/s   replay floor {floor:8.1f} plans/s (the product's "
        f"{statements} statements per plan through the bare driver)   ratio {ratio:5.2f}   "
        f"(median of {pairs} interleaved pairs of {batch} plans)",
        flush=True,
    )
    return {"plans_per_s": rate, "floor_per_s": floor, "ratio": ratio, "statements": statements}


def sqlite_twin(url: str) -> tuple[str, Any]:
    """A copy of the benchmark's SQLite file (its WAL checkpointed), opened with the bare driver."""
    import shutil
    import sqlite3

    path = sa.engine.make_url(url).database or ""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = path + ".twin"
    shutil.copyfile(path, copy)
    return copy, sqlite_driver(copy)


def pg_twin(url: str) -> tuple[str, Any]:
    """A copy of the benchmark's PostgreSQL database (CREATE DATABASE … TEMPLATE), through bare psycopg."""
    parsed = sa.engine.make_url(url)
    name = f"{parsed.database}_twin"
    params = {"host": parsed.host, "port": parsed.port or 5432, "user": parsed.username}
    with psycopg.connect(**params, dbname="postgres", autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    _TWINS.append(name)
    return name, psycopg.connect(**params, dbname=name)  # type: ignore[arg-type]


_TWINS: list[str] = []


def with_pg_database(admin_url: str, work: Callable[[str], dict[str, float]]) -> dict[str, float]:
    url = sa.engine.make_url(admin_url)
    name = f"bench_provision_{uuid.uuid4().hex[:8]}"
    params = {"host": url.host, "port": url.port or 5432, "user": url.username, "dbname": url.database}
    with psycopg.connect(**params, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return work(url.set(database=name).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(**params, autocommit=True) as conn:  # type: ignore[arg-type]
            for twin in (name, *_TWINS):
                conn.execute(f'DROP DATABASE IF EXISTS "{twin}" WITH (FORCE)')


VOLUMES = ((10, 0), (1000, 0), (10, 50_000), (1000, 50_000))


def seed_volume(engine: sa.Engine, orgs: list[tuple[str, str]], accounts: int, legacy: int) -> None:
    """Bulk rows straight into the tables: what the plans read and look up, not how it got there."""
    acc = sa.table(
        "account",
        *(
            sa.column(c)
            for c in (
                "login",
                "enterprise_number",
                "last_name",
                "first_name",
                "email",
                "email_key",
                "phone",
                "language",
                "user_type",
                "external_company",
                "access_end_date",
                "profile",
                "scope",
                "status",
                "source_sha256",
                "document_sha256",
                "created_at",
                "updated_at",
                "previous_email",
            )
        ),
    )
    link = sa.table("account_contract", sa.column("login"), sa.column("contract_number"))
    old = sa.table(
        "legacy_account",
        *(sa.column(c) for c in ("login", "enterprise_number", "last_name", "first_name", "email", "imported_at")),
    )
    with engine.begin() as conn:
        for o, (en, _) in enumerate(orgs):
            rows = [
                {
                    "login": f"EAPV{o:02d}{n:05d}",
                    "enterprise_number": en,
                    "last_name": f"Seed{n}",
                    "first_name": "Bench",
                    "email": f"seed{n}@org{o}.example",
                    "email_key": f"seed{n}@org{o}.example",
                    "phone": "",
                    "language": "nl",
                    "user_type": "internal",
                    "external_company": "",
                    "access_end_date": None,
                    "profile": "consult",
                    "scope": "selected",
                    "status": "active",
                    "source_sha256": hashlib.sha256(f"seed{o}:{n}".encode()).hexdigest(),
                    "document_sha256": "0" * 64,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "previous_email": "",
                }
                for n in range(accounts)
            ]
            if rows:
                conn.execute(acc.insert(), rows)
                conn.execute(link.insert(), [{"login": r["login"], "contract_number": f"C{o}-1"} for r in rows])
        for start in range(0, legacy, 5000):
            conn.execute(
                old.insert(),
                [
                    {
                        "login": f"old{n:06d}",
                        "enterprise_number": enterprise_number(10_000 + n % 997),
                        "last_name": "Oud",
                        "first_name": "Jan",
                        "email": f"old{n}@elsewhere.example",
                        "imported_at": NOW,
                    }
                    for n in range(start, min(legacy, start + 5000))
                ],
            )


def plan_batch(engine: sa.Engine, orgs: list[tuple[str, str]], start: int, count: int) -> float:
    """Seconds per plan over ``count`` new-user fiches numbered from ``start``."""
    fiches = [
        (user_fiche(orgs[n % len(orgs)][0], n % len(orgs), 100_000 + n), orgs[n % len(orgs)][1])
        for n in range(start, start + count)
    ]
    started = time.perf_counter()
    with Session(engine) as session:
        for f, sender in fiches:
            if process_form(session, f, provenance(f, sender), clock=clock).outcome is not PlanOutcome.APPLIED:
                raise SystemExit("plan not applied")
            session.commit()
    return (time.perf_counter() - started) / count


def run_volume(name: str, urls: list[str], *, orgs: int, rounds: int, batch: int) -> None:
    import statistics

    engines = []
    for url, (accounts, legacy) in zip(urls, VOLUMES, strict=True):
        upgrade(url)
        engine = make_engine(url)
        opened = open_orgs(engine, orgs)
        seed_volume(engine, opened, accounts, legacy)
        engines.append((engine, opened))
    try:
        for engine, opened in engines:  # warm-up: caches, statement compilation
            plan_batch(engine, opened, 0, batch // 2)
        costs: list[list[float]] = [[] for _ in engines]
        for r in range(rounds):
            for i, (engine, opened) in enumerate(engines):
                costs[i].append(plan_batch(engine, opened, batch * (r + 1), batch))
    finally:
        for engine, _ in engines:
            engine.dispose()
    base = statistics.median(costs[0])
    for (accounts, legacy), cost in zip(VOLUMES, costs, strict=True):
        median = statistics.median(cost)
        print(
            f"{name:10s} {accounts:5d} accounts/org {legacy:6d} legacy rows: {median * 1000:7.2f} ms/plan   "
            f"ratio to 10/0 {median / base:5.2f}   (median of {rounds} interleaved batches of {batch})",
            flush=True,
        )


def with_pg_databases(admin_url: str, count: int, work: Callable[[list[str]], None]) -> None:
    url = sa.engine.make_url(admin_url)
    names = [f"bench_volume_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    params = {"host": url.host, "port": url.port or 5432, "user": url.username, "dbname": url.database}
    with psycopg.connect(**params, autocommit=True) as conn:  # type: ignore[arg-type]
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        work([url.set(database=n).render_as_string(hide_password=False) for n in names])
    finally:
        with psycopg.connect(**params, autocommit=True) as conn:  # type: ignore[arg-type]
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--volume", action="store_true", help="cost per plan at 10/1,000 accounts, 0/50,000 legacy")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=7, help="interleaved product/replay pairs (median)")
    args = parser.parse_args()
    if args.volume:
        kw = {"orgs": args.orgs if args.orgs != 20 else 5, "rounds": args.rounds, "batch": args.batch}
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                run_volume("sqlite", [f"sqlite:///{tmp}/v{i}.db" for i in range(len(VOLUMES))], **kw)
        if args.backend in ("postgresql", "both"):
            with_pg_databases(args.pg_url, len(VOLUMES), lambda urls: run_volume("postgresql", urls, **kw))
        return
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/bench.db", sqlite_twin, plans=args.plans, orgs=args.orgs, pairs=args.pairs)
    if args.backend in ("postgresql", "both"):
        with_pg_database(
            args.pg_url, lambda url: run("postgresql", url, pg_twin, plans=args.plans, orgs=args.orgs, pairs=args.pairs)
        )


if __name__ == "__main__":
    main()
