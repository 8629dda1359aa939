"""Pure parts of the audit log: canonical encoding, chaining, checkpoint signatures, export escaping, access replay."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extranet_intake.auditchain.chain import (
    GENESIS_HASH,
    AuditAction,
    EntryFields,
    canonical_details,
    canonical_time,
    chain,
    entry_hash,
)
from extranet_intake.auditchain.checkpoint import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_checkpoint,
    verify_checkpoint,
)
from extranet_intake.errors import AuditError
from extranet_intake.provisioning.access_report import AccessGrant, access_at, window_for
from extranet_intake.provisioning.export import neutralise_csv

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _fields(n: int) -> list[EntryFields]:
    return [
        EntryFields(
            at=T0 + timedelta(minutes=i),
            actor="system",
            action=AuditAction.FORM_PARSED,
            org="0403170701",
            login=None,
            document_sha256="ab" * 32,
            reason=f"r{i}",
        )
        for i in range(n)
    ]


def test_canonical_time_is_utc_with_microseconds_and_z() -> None:
    brussels = timezone(timedelta(hours=2))
    assert canonical_time(datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=brussels)) == "2026-06-01T10:00:00.000005Z"
    # a naive value is how SQLite hands UTC back
    assert canonical_time(datetime(2026, 6, 1, 10, 0)) == "2026-06-01T10:00:00.000000Z"


def test_canonical_details_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_details({"b": 1, "a": ["x"], "é": "ü"}) == '{"a":["x"],"b":1,"é":"ü"}'
    assert canonical_details(None) == "{}"


def test_entry_hash_is_sha256_of_the_json_array_of_hashed_fields() -> None:
    fields = {
        "seq": 1,
        "at": "2026-03-01T09:00:00.000000Z",
        "actor": "system",
        "action": "form_parsed",
        "org": "0403170701",
        "login": None,
        "document_sha256": None,
        "reason": "r",
        "details": "{}",
        "prev_hash": GENESIS_HASH,
    }
    expected = hashlib.sha256(
        json.dumps(list(fields.values()), ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert entry_hash(**fields) == expected  # type: ignore[arg-type]


@given(st.text(), st.text())
def test_field_boundaries_are_unambiguous(a: str, b: str) -> None:
    # moving text between two fields must change the hash (no "ab"+"c" == "a"+"bc" collision)
    base = {
        "seq": 1,
        "at": "t",
        "action": "x",
        "org": None,
        "login": None,
        "document_sha256": None,
        "details": "{}",
        "prev_hash": GENESIS_HASH,
    }
    h1 = entry_hash(actor=a + b, reason="", **base)  # type: ignore[arg-type]
    h2 = entry_hash(actor=a, reason=b, **base)  # type: ignore[arg-type]
    assert (h1 == h2) == (b == "")


def test_chain_links_each_entry_to_the_previous_hash() -> None:
    rows = list(chain(_fields(3)))
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[2]["prev_hash"] == rows[1]["hash"]
    assert len({r["hash"] for r in rows}) == 3


def test_hash_covers_seq_so_a_moved_entry_no_longer_matches() -> None:
    (row,) = chain(_fields(1))
    moved = {
        k: row[k] for k in ("actor", "action", "org", "login", "document_sha256", "reason", "details", "prev_hash")
    }
    assert entry_hash(seq=2, at=canonical_time(row["at"]), **moved) != row["hash"]
    assert entry_hash(seq=1, at=canonical_time(row["at"]), **moved) == row["hash"]


def test_checkpoint_signature_verifies_and_any_change_breaks_it() -> None:
    pair = generate_key_pair()
    key = load_private_key(pair.private_pem)
    cp = sign_checkpoint(key, seq=10, head_hash="cd" * 32, created_at=T0)
    verify_checkpoint(cp, load_public_key(pair.public_pem))
    from dataclasses import replace

    with pytest.raises(AuditError) as bad_seq:
        verify_checkpoint(replace(cp, seq=9), load_public_key(pair.public_pem))
    assert bad_seq.value.code == "audit-checkpoint-signature"
    with pytest.raises(AuditError):
        verify_checkpoint(replace(cp, head_hash="ef" * 32), load_public_key(pair.public_pem))
    other = generate_key_pair()
    with pytest.raises(AuditError):
        verify_checkpoint(cp, load_public_key(other.public_pem))


def test_private_key_from_base64_seed_and_garbage_is_refused_without_echo() -> None:
    import base64

    seed = base64.b64encode(bytes(range(32))).decode()
    key = load_private_key(seed)
    assert load_private_key(seed).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    with pytest.raises(AuditError) as exc:
        load_private_key("not-a-key-SECRETVALUE")
    assert "SECRETVALUE" not in str(exc.value)


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralises_formula_starts(value: str) -> None:
    assert neutralise_csv(value) == "'" + value


def test_csv_leaves_plain_text_alone() -> None:
    assert neutralise_csv("approved by Anna") == "approved by Anna"


def _acc(seq: int, at: datetime, action: AuditAction, login: str, **details: object) -> dict[str, object]:
    return {
        "seq": seq,
        "at": at,
        "action": str(action),
        "login": login,
        "org": "0403170701",
        "details": canonical_details(details),
    }


def test_access_replay_knows_who_held_what_on_a_past_day() -> None:
    def day(d: int) -> datetime:
        return T0 + timedelta(days=d)

    entries = [
        _acc(1, day(0), AuditAction.LEGACY_REVOKED, "old1", profile="consult", scope="all", contracts=[]),
        _acc(2, day(0), AuditAction.ACCOUNT_CREATED, "u1", profile="consult", scope="selected", contracts=["C1"]),
        _acc(
            3,
            day(5),
            AuditAction.ACCOUNT_MODIFIED,
            "u1",
            profile="consult_input",
            scope="selected",
            contracts=["C1", "C2"],
        ),
        _acc(4, day(9), AuditAction.ACCOUNT_REVOKED, "u1"),
        _acc(5, day(2), AuditAction.ACCOUNT_CREATED, "u2", profile="consult", scope="all", contracts=[]),
        _acc(6, day(3), AuditAction.ACCOUNT_EXPIRED, "u2"),
    ]

    def at(d: date | datetime, **kw: str) -> list[AccessGrant]:
        start, end = window_for(d)
        return access_at(entries, start=start, end=end, **kw)

    # before opening: only the legacy account, held since before the log
    before = at(T0 - timedelta(hours=1))
    assert [(g.login, g.legacy, g.since) for g in before] == [("old1", True, None)]
    # day 1: u1 with its first profile
    d1 = at((T0 + timedelta(days=1)).date())
    assert [(g.login, g.profile, g.contracts) for g in d1] == [("u1", "consult", ("C1",))]
    # day 6: u1 after the full-replacement modify; u2 already expired
    d6 = at(T0 + timedelta(days=6))
    assert [(g.login, g.profile, g.contracts) for g in d6] == [("u1", "consult_input", ("C1", "C2"))]
    # day 2 as a whole day: u1 and u2 (scope all covers any contract)
    d2 = at((T0 + timedelta(days=2)).date(), contract="C9", contract_owner="0403170701")
    assert [g.login for g in d2] == ["u2"]
    # another organisation's contract, or one the register does not know: u2's "all" is not it
    assert at((T0 + timedelta(days=2)).date(), contract="C9", contract_owner="0644695949") == []
    assert at((T0 + timedelta(days=2)).date(), contract="C9") == []
    # after revocation nobody
    assert at(T0 + timedelta(days=10)) == []
    assert at(T0 + timedelta(days=6), org="0999999999") == []
