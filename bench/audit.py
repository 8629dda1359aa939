"""Benchmark of the audit log: `audit verify` entries/s over a 100,000-entry chain on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/audit.py [--entries N] [--appends N] [--backend sqlite|postgresql ...]
       .venv/bin/python bench/audit.py --scale [--pairs 5] [--backend …]

For each backend it builds an N-entry chain (bulk insert of entries chained by the real code),
times ``verify_chain`` and prints entries/s, with two floors measured on the same rows:
* fetch floor — the raw driver reading the same columns, nothing else (verify cannot beat it);
* hash floor — hashlib SHA-256 over the same canonical encodings, nothing else.
It also times ``append_entry`` one entry per transaction (the way provisioning appends).
``--scale`` (issue 15.10) verifies a 10,000- and a 100,000-entry chain in turn (A B A B …) and prints
the cost per entry of each and the median ratio large/small (target ≤ 1.2).
PostgreSQL: a throwaway database on 127.0.0.1:5432 (trust auth), dropped at the end.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
import sqlalchemy as sa
from sqlmodel import Session

from extranet_intake.auditchain.chain import (
    AUDIT_ENTRY,
    AUDIT_HEAD,
    AuditAction,
    EntryFields,
    append_entry,
    canonical_details,
    canonical_time,
    chain,
    verify_chain,
)
from extranet_intake.intake.database import upgrade
from extranet_intake.provisioning.engines import make_engine

PG = ("127.0.0.1", 5432)
ACTIONS = [
    AuditAction.DOCUMENT_RECEIVED,
    AuditAction.FORM_PARSED,
    AuditAction.ACCOUNT_CREATED,
    AuditAction.MAIL_QUEUED,
    AuditAction.MAIL_SENT,
]


def _fields(n: int) -> list[EntryFields]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        action = ACTIONS[i % len(ACTIONS)]
        details = canonical_details(
            {"profile": "consult", "scope": "selected", "contracts": [f"GI-{i % 97:05d}"]}
            if action is AuditAction.ACCOUNT_CREATED
            else {"attempt": 1}
        )
        out.append(
            EntryFields(
                at=t0 + timedelta(seconds=i, microseconds=i % 1000),
                actor="system",
                action=action,
                org=f"04{i % 1000:08d}",
                login=f"u{i:07x}",
                document_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                reason="dossier complete: agreement, master user and user fiche present",
                details=details,
            )
        )
    return out


def _load(engine: sa.Engine, n: int) -> None:
    rows = list(chain(_fields(n)))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for i in range(0, n, 10_000):
            conn.execute(AUDIT_ENTRY.insert(), rows[i : i + 10_000])
        conn.execute(sa.update(AUDIT_HEAD).values(seq=rows[-1]["seq"], hash=rows[-1]["hash"]))


def _fetch_floor(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        dbapi: Any = conn.connection.driver_connection
        cur = dbapi.cursor(name="floor") if conn.dialect.name == "postgresql" else dbapi.cursor()
        started = time.perf_counter()
        cur.execute(
            "SELECT seq, at, actor, action, org, login, document_sha256, reason, details, prev_hash, hash "
            "FROM audit_entry ORDER BY seq"
        )
        count = 0
        while rows := cur.fetchmany(20_000):
            count += len(rows)
        elapsed = time.perf_counter() - started
        cur.close()
    return count / elapsed


def _hash_floor(n: int) -> float:
    rows = list(chain(_fields(n)))
    blobs = [
        json.dumps(
            [
                r["seq"],
                canonical_time(r["at"]),
                r["actor"],
                r["action"],
                r["org"],
                r["login"],
                r["document_sha256"],
                r["reason"],
                r["details"],
                r["prev_hash"],
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        for r in rows
    ]
    started = time.perf_counter()
    for b in blobs:
        hashlib.sha256(b).hexdigest()
    return n / (time.perf_counter() - started)


def _appends(engine: sa.Engine, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        with Session(engine) as session:
            append_entry(
                session,
                actor="bench",
                action=AuditAction.MAIL_SENT,
                org=None,
                login=None,
                document_sha256=None,
                reason=f"append {i}",
                at=datetime.now(UTC),
            )
            session.commit()
    return n / (time.perf_counter() - started)


def run(name: str, url: str, entries: int, appends: int, hash_floor: float) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        _load(engine, entries)
        with engine.connect() as conn:
            verify_chain(conn)  # warm the page cache so both measurements read the same way
        # interleaved A B A B, five pairs: the fetch floor, then verify; the median of the per-pair ratios
        fetches, rates, ratios = [], [], []
        for _ in range(5):
            fetches.append(_fetch_floor(engine))
            with engine.connect() as conn:
                report = verify_chain(conn)
            if not report.ok or report.count != entries:
                raise SystemExit(f"verify failed on the benchmark chain: {report.message}")
            rates.append(entries / report.seconds)
            ratios.append(rates[-1] / fetches[-1])
        fetch, rate, ratio = statistics.median(fetches), statistics.median(rates), statistics.median(ratios)
        append_rate = _appends(engine, appends) if appends else 0.0
        with engine.connect() as conn:
            assert verify_chain(conn).ok
    finally:
        engine.dispose()
    print(
        f"{name:<10} verify {entries:,} entries: {entries / rate:.2f} s = {rate:,.0f} entries/s | "
        f"fetch floor {fetch:,.0f} rows/s (ratio {ratio:.2f}, median of 5 interleaved pairs) | "
        f"hash floor {hash_floor:,.0f}/s (ratio {rate / hash_floor:.2f}) | "
        f"append_entry {append_rate:,.0f}/s (one per transaction)"
    )


def scale(name: str, urls: tuple[str, str], sizes: tuple[int, int], pairs: int) -> None:
    """Issue 15.10: verify's cost per entry on a small and a large chain, interleaved (A B A B …).

    Verify reads the chain in order and hashes each entry once, so its cost per entry must not grow
    with the chain; the ratio printed is the median of the per-pair ratios large/small (target ≤ 1.2).
    """
    engines = []
    for url, n in zip(urls, sizes, strict=True):
        upgrade(url)
        engine = make_engine(url)
        _load(engine, n)
        with engine.connect() as conn:
            verify_chain(conn)  # warm the page cache
        engines.append(engine)
    try:
        per_entry: list[list[float]] = [[], []]
        for _ in range(pairs):
            for i, (engine, n) in enumerate(zip(engines, sizes, strict=True)):
                with engine.connect() as conn:
                    report = verify_chain(conn)
                if not report.ok or report.count != n:
                    raise SystemExit(f"verify failed on the benchmark chain: {report.message}")
                per_entry[i].append(report.seconds / n * 1e6)
        ratios = [large / small for small, large in zip(*per_entry, strict=True)]
    finally:
        for engine in engines:
            engine.dispose()
    small, large = (statistics.median(x) for x in per_entry)
    ratio = statistics.median(ratios)
    print(
        f"{name:<10} verify per entry: {sizes[0]:,} entries {small:.2f} µs, {sizes[1]:,} entries {large:.2f} µs "
        f"→ ratio {ratio:.2f} (median of {pairs} interleaved pairs; "
        f"target ≤ 1.2: {'met' if ratio <= 1.2 else 'NOT met'})"
    )


def _pg_databases(count: int) -> tuple[str, list[str]]:
    """A user that can log in, and ``count`` new throwaway database names on 127.0.0.1:5432."""
    user = "postgres"
    try:
        psycopg.connect(host=PG[0], port=PG[1], user=user, dbname="test", connect_timeout=5).close()
    except psycopg.OperationalError:
        user = getpass.getuser()
    names = [f"bench_audit_{os.getpid()}_{uuid.uuid4().hex[:6]}" for _ in range(count)]
    with psycopg.connect(host=PG[0], port=PG[1], user=user, dbname="test", autocommit=True) as admin:
        for dbname in names:
            admin.execute(f'CREATE DATABASE "{dbname}"')
    return user, names


def _pg_drop(user: str, names: list[str]) -> None:
    with psycopg.connect(host=PG[0], port=PG[1], user=user, dbname="test", autocommit=True) as admin:
        for dbname in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--scale",
        action="store_true",
        help="verify's cost per entry on 10,000 against 100,000 entries, interleaved (issue 15.10)",
    )
    parser.add_argument("--pairs", type=int, default=5, help="pairs for --scale")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    if args.scale:
        sizes = (10_000, 100_000)
        if "sqlite" in backends:
            with tempfile.TemporaryDirectory() as tmp:
                scale("sqlite", (f"sqlite:///{tmp}/small.db", f"sqlite:///{tmp}/large.db"), sizes, args.pairs)
        if "postgresql" in backends:
            user, names = _pg_databases(2)
            try:
                urls = tuple(f"postgresql+psycopg://{user}@{PG[0]}:{PG[1]}/{n}" for n in names)
                scale("postgresql", (urls[0], urls[1]), sizes, args.pairs)
            finally:
                _pg_drop(user, names)
        return
    hash_floor = _hash_floor(min(args.entries, 50_000))
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/bench.db", args.entries, args.appends, hash_floor)
    if "postgresql" in backends:
        user, (dbname,) = _pg_databases(1)
        try:
            run(
                "postgresql",
                f"postgresql+psycopg://{user}@{PG[0]}:{PG[1]}/{dbname}",
                args.entries,
                args.appends,
                hash_floor,
            )
        finally:
            _pg_drop(user, [dbname])


if __name__ == "__main__":
    main()
