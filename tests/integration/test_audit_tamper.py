"""The audit chain on SQLite and PostgreSQL: appends, append-only guards, and every kind of tampering."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from extranet_intake.auditchain.chain import (
    AUDIT_ENTRY,
    AUDIT_HEAD,
    AuditAction,
    ChainProblem,
    EntryFields,
    append_entries,
    append_entry,
    canonical_details,
    canonical_time,
    chain,
    install_audit_guards,
    iter_entries,
    verify_chain,
)
from extranet_intake.auditchain.checkpoint import (
    generate_key_pair,
    issue_checkpoint,
    load_private_key,
    verify_against,
)
from extranet_intake.errors import AuditError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
N = 12


def _fill(engine: Engine, n: int = N) -> None:
    with Session(engine) as session:
        for i in range(n):
            append_entry(
                session,
                actor="system" if i % 3 else "Anna Peeters",
                action=AuditAction.FORM_PARSED,
                org="0403170701",
                login=f"x{i:04d}" if i % 2 else None,
                document_sha256=f"{i:064x}",
                reason=f"reason {i}",
                details={"i": i},
                at=T0 + timedelta(minutes=i),
            )
        session.commit()


@contextmanager
def _as_attacker(engine: Engine) -> Iterator[Connection]:
    """Write access to the database, as someone who can also switch the guards off."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
        yield conn
        if conn.dialect.name == "sqlite":
            install_audit_guards(conn)


def _verify(engine: Engine, pinned: tuple[int, str] | None = None) -> tuple[int | None, ChainProblem | None]:
    with engine.connect() as conn:
        report = verify_chain(conn, pinned=pinned, batch_size=5)  # small batches: cross batch borders
    return report.first_bad_seq, report.problem


def _head_of(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.hash)).one()
    return int(row[0]), str(row[1])


def test_appended_chain_verifies_and_reads_back(engine: Engine) -> None:
    _fill(engine)
    with engine.connect() as conn:
        report = verify_chain(conn)
        entries = list(iter_entries(conn, org="0403170701", since=T0 + timedelta(minutes=10)))
    assert report.ok, report.message
    assert report.count == N
    assert _head_of(engine) == (N, report.last_hash)
    assert [e["seq"] for e in entries] == [11, 12]
    assert entries[0]["at"] == T0 + timedelta(minutes=10)
    assert canonical_time(entries[0]["at"]) == "2026-03-01T09:10:00.000000Z"


def test_rolled_back_append_leaves_no_gap(engine: Engine) -> None:
    _fill(engine, 2)
    with Session(engine) as session:
        append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_QUEUED,
            org=None,
            login=None,
            document_sha256=None,
            reason="to be rolled back",
            at=T0,
        )
        session.rollback()
    _fill(engine, 1)
    assert _verify(engine) == (None, None)
    assert _head_of(engine)[0] == 3


def test_naive_time_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(AuditError):
        append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_SENT,
            org=None,
            login=None,
            document_sha256=None,
            reason="r",
            at=datetime(2026, 1, 1),
        )


def test_database_refuses_update_and_delete(engine: Engine) -> None:
    _fill(engine, 2)
    for statement in ("UPDATE audit_entry SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_entry WHERE seq = 2"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert _verify(engine) == (None, None)


def test_edited_field_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 5).values(actor="someone else"))
    assert _verify(engine) == (5, ChainProblem.ALTERED)


def test_edited_time_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(
            sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 7).values(at=T0 + timedelta(minutes=7, microseconds=1))
        )
    assert _verify(engine) == (7, ChainProblem.ALTERED)


def test_edited_row_with_its_own_hash_recomputed_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        row = dict(conn.execute(sa.select(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 5)).one()._mapping)
        (forged,) = chain(
            [
                EntryFields(
                    at=row["at"],
                    actor=row["actor"],
                    action=AuditAction(row["action"]),
                    org=row["org"],
                    login=row["login"],
                    document_sha256=row["document_sha256"],
                    reason="rewritten",
                    details=row["details"],
                )
            ],
            start_seq=5,
            prev_hash=row["prev_hash"],
        )
        conn.execute(
            sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 5).values(reason="rewritten", hash=forged["hash"])
        )
    assert _verify(engine) == (5, ChainProblem.RELINKED)


def test_deleted_middle_row_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 6))
    assert _verify(engine) == (6, ChainProblem.MISSING)


def test_deleted_row_with_renumbering_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 6))
        for seq in range(7, N + 1):
            conn.execute(sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == seq).values(seq=seq - 1))
    assert _verify(engine) == (6, ChainProblem.ALTERED)


def test_swapped_rows_are_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        e = AUDIT_ENTRY.c
        conn.execute(sa.update(AUDIT_ENTRY).where(e.seq == 3).values(seq=-1))
        conn.execute(sa.update(AUDIT_ENTRY).where(e.seq == 4).values(seq=3))
        conn.execute(sa.update(AUDIT_ENTRY).where(e.seq == -1).values(seq=4))
    assert _verify(engine) == (3, ChainProblem.ALTERED)


def test_deleted_tail_is_caught_by_the_head_row(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq > 9))
    assert _verify(engine) == (10, ChainProblem.TRUNCATED)


def _checkpoint(engine: Engine) -> tuple[int, str]:
    key = load_private_key(generate_key_pair().private_pem)
    with Session(engine) as session:
        cp = issue_checkpoint(session, key, actor="ops", at=T0 + timedelta(hours=1))
        session.commit()
    return cp.seq, cp.head_hash


def test_checkpoint_logs_itself_and_pins_the_head(engine: Engine) -> None:
    _fill(engine)
    pinned = _checkpoint(engine)
    assert pinned[0] == N
    with engine.connect() as conn:
        last = list(iter_entries(conn, since=T0 + timedelta(hours=1)))
    assert [(e["seq"], e["action"]) for e in last] == [(N + 1, "checkpoint")]
    assert _verify(engine, pinned) == (None, None)


def test_truncated_tail_with_rewritten_head_is_caught_by_the_checkpoint(engine: Engine) -> None:
    _fill(engine)
    pinned = _checkpoint(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq > 9))
        last = conn.execute(sa.select(AUDIT_ENTRY.c.hash).where(AUDIT_ENTRY.c.seq == 9)).scalar_one()
        conn.execute(sa.update(AUDIT_HEAD).values(seq=9, hash=last))
    assert _verify(engine) == (None, None)  # internally consistent: only the checkpoint can tell
    assert _verify(engine, pinned) == (10, ChainProblem.TRUNCATED)


def test_recomputed_hash_forgery_is_caught_by_the_checkpoint(engine: Engine) -> None:
    _fill(engine)
    pinned = _checkpoint(engine)
    with _as_attacker(engine) as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(AUDIT_ENTRY).order_by(AUDIT_ENTRY.c.seq))]
        rows[3]["reason"] = "never happened"
        forged = list(
            chain(
                [
                    EntryFields(
                        at=r["at"],
                        actor=r["actor"],
                        action=AuditAction(r["action"]),
                        org=r["org"],
                        login=r["login"],
                        document_sha256=r["document_sha256"],
                        reason=r["reason"],
                        details=r["details"],
                    )
                    for r in rows
                ]
            )
        )
        conn.execute(sa.delete(AUDIT_ENTRY))
        conn.execute(AUDIT_ENTRY.insert(), forged)
        conn.execute(sa.update(AUDIT_HEAD).values(seq=forged[-1]["seq"], hash=forged[-1]["hash"]))
    assert _verify(engine) == (None, None)
    bad, problem = _verify(engine, pinned)
    assert (bad, problem) == (N, ChainProblem.CHECKPOINT_MISMATCH)


def test_forged_checkpoint_signature_is_refused(engine: Engine) -> None:
    _fill(engine, 3)
    key = load_private_key(generate_key_pair().private_pem)
    other = load_private_key(generate_key_pair().private_pem)
    with Session(engine) as session:
        cp = issue_checkpoint(session, key, actor="ops", at=T0)
        session.commit()
    with engine.connect() as conn, pytest.raises(AuditError) as exc:
        verify_against(conn, cp, other.public_key())
    assert exc.value.code == "audit-checkpoint-signature"


def test_broken_chain_gets_no_checkpoint(engine: Engine) -> None:
    _fill(engine, 4)
    with _as_attacker(engine) as conn:
        conn.execute(sa.update(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 2).values(reason="edited"))
    key = load_private_key(generate_key_pair().private_pem)
    with Session(engine) as session, pytest.raises(AuditError) as exc:
        issue_checkpoint(session, key, actor="ops", at=T0)
    assert exc.value.code == "audit-chain-broken"


_WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from sqlmodel import Session
    from extranet_intake.auditchain.chain import AuditAction, append_entry
    from extranet_intake.provisioning.engines import make_engine
    engine = make_engine(sys.argv[1])
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()  # both processes start appending at the same moment
    for i in range(int(sys.argv[3])):
        with Session(engine) as session:
            append_entry(session, actor=sys.argv[2], action=AuditAction.MAIL_SENT, org=None, login=None,
                         document_sha256=None, reason=f"{sys.argv[2]} {i}", at=datetime.now(UTC))
            session.commit()
""")


def test_two_processes_appending_at_once_leave_one_valid_chain(db_url: str, engine: Engine) -> None:
    per_process = 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, db_url, name, str(per_process)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("worker-a", "worker-b")
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=120) == 0
    with engine.connect() as conn:
        report = verify_chain(conn)
        actors = [r[0] for r in conn.execute(sa.select(AUDIT_ENTRY.c.actor).order_by(AUDIT_ENTRY.c.seq))]
    assert report.ok, report.message
    assert report.count == 2 * per_process
    assert actors.count("worker-a") == actors.count("worker-b") == per_process


# --- issue 14.11: verify never crashes, the head is recomputed from the chain ----------------------


def test_a_blob_in_details_is_a_named_break_not_a_traceback(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        if conn.dialect.name == "postgresql":
            # a column type changed under the application: every row's details is now bytea
            conn.exec_driver_sql(
                "ALTER TABLE audit_entry ALTER COLUMN details TYPE bytea USING convert_to(details, 'UTF8')"
            )
        else:
            conn.exec_driver_sql("UPDATE audit_entry SET details = X'00FF7B7D' WHERE seq = 5")
    try:
        with engine.connect() as conn:
            report = verify_chain(conn, batch_size=5)
        expected = 1 if engine.dialect.name == "postgresql" else 5
        assert (report.first_bad_seq, report.problem) == (expected, ChainProblem.ALTERED)
        assert "details" in report.message
    finally:
        if engine.dialect.name == "postgresql":
            with _as_attacker(engine) as conn:
                conn.exec_driver_sql(
                    "ALTER TABLE audit_entry ALTER COLUMN details TYPE text USING convert_from(details, 'UTF8')"
                )


def test_text_in_the_seq_column_is_a_named_break(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL keeps the column's type: a bigint cannot hold text")
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.exec_driver_sql("UPDATE audit_entry SET seq = 'x' WHERE seq = 12")
    bad, problem = _verify(engine)
    assert (bad, problem) == (12, ChainProblem.UNREADABLE)


def test_a_deleted_head_row_is_a_break_and_the_next_append_rebuilds_it_on_record(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_HEAD))
    assert _verify(engine) == (N + 1, ChainProblem.HEAD_MISSING)
    # the next run does not crash on a duplicate seq 1: it rebuilds the head from a chain that
    # verifies, and says so in the chain itself
    with Session(engine) as session:
        entry = append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_SENT,
            org=None,
            login=None,
            document_sha256=None,
            reason="after",
            at=T0 + timedelta(hours=2),
        )
        session.commit()
    assert entry.seq == N + 2
    with engine.connect() as conn:
        tail = [(e["seq"], e["action"]) for e in iter_entries(conn, since=T0 + timedelta(hours=2))]
    assert tail == [(N + 1, "audit_head_rebuilt"), (N + 2, "mail_sent")]
    assert _verify(engine) == (None, None)
    assert _head_of(engine)[0] == N + 2


def test_a_deleted_head_row_over_a_broken_chain_is_a_coded_refusal(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_HEAD))
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == 4))
    with Session(engine) as session, pytest.raises(AuditError) as exc:
        append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_SENT,
            org=None,
            login=None,
            document_sha256=None,
            reason="after",
            at=T0 + timedelta(hours=2),
        )
    assert exc.value.code == "audit-chain-broken"
    assert _verify(engine) == (4, ChainProblem.MISSING)


def test_a_head_set_back_is_named_and_refuses_appends(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        nine = conn.execute(sa.select(AUDIT_ENTRY.c.hash).where(AUDIT_ENTRY.c.seq == 9)).scalar_one()
        conn.execute(sa.update(AUDIT_HEAD).values(seq=9, hash=nine))
    assert _verify(engine) == (10, ChainProblem.HEAD_MISMATCH)
    with Session(engine) as session, pytest.raises(AuditError) as exc:
        append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_SENT,
            org=None,
            login=None,
            document_sha256=None,
            reason="after",
            at=T0 + timedelta(hours=2),
        )
    assert exc.value.code == "audit-head-mismatch"


def test_a_deleted_tail_row_with_its_head_left_is_named(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_ENTRY).where(AUDIT_ENTRY.c.seq == N))
    assert _verify(engine) == (N, ChainProblem.TRUNCATED)
    with Session(engine) as session, pytest.raises(AuditError) as exc:
        append_entry(
            session,
            actor="system",
            action=AuditAction.MAIL_SENT,
            org=None,
            login=None,
            document_sha256=None,
            reason="after",
            at=T0 + timedelta(hours=2),
        )
    assert exc.value.code == "audit-head-mismatch"


def _batch(n: int, start: int = 0) -> list[EntryFields]:
    return [
        EntryFields(
            at=T0 + timedelta(minutes=start + i),
            actor="system",
            action=AuditAction.ACCOUNT_CREATED,
            org="0403170701",
            login=f"EAP{start + i:08d}",
            document_sha256=f"{start + i:064x}",
            reason=f"entry {start + i}",
            details=canonical_details({"n": start + i, "name": "Zoë"}),
        )
        for i in range(n)
    ]


def test_entries_appended_together_hash_as_if_appended_one_by_one(engine: Engine) -> None:
    # a plan's entries go in one append (one head lock, one INSERT): the chain must be the one that
    # one append after another gives, i.e. the pure chain() from genesis
    with Session(engine) as session:
        append_entries(session, _batch(3))
        append_entries(session, _batch(4, start=3))
        session.commit()
    expected = [(r["seq"], r["hash"]) for r in chain(_batch(7))]
    with engine.connect() as conn:
        assert [(e["seq"], e["hash"]) for e in iter_entries(conn)] == expected
    assert _head_of(engine) == expected[-1]
    assert _verify(engine) == (None, None)


def test_entries_appended_together_after_a_deleted_head_follow_the_rebuild_note(engine: Engine) -> None:
    _fill(engine)
    with _as_attacker(engine) as conn:
        conn.execute(sa.delete(AUDIT_HEAD))
    with Session(engine) as session:
        rows = append_entries(session, _batch(2, start=100))
        session.commit()
    assert [(r["seq"], r["action"]) for r in rows] == [
        (N + 1, "audit_head_rebuilt"),
        (N + 2, "account_created"),
        (N + 3, "account_created"),
    ]
    assert _head_of(engine) == (N + 3, rows[-1]["hash"])
    assert _verify(engine) == (None, None)
