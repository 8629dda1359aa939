"""Who held which profile on which contracts at a past moment or day, rebuilt from the audit log alone.

The account tables say what is true now; auditors ask about the past. Every change of access is
an audit entry whose ``details`` carry the full new state (``profile``, ``scope``, ``contracts``),
so replaying ``account_created``/``account_modified`` (a grant starts) and ``account_revoked``/
``account_expired``/``legacy_revoked`` (it ends) in ``seq`` order gives each login's intervals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from extranet_intake.auditchain.chain import AuditAction, canonical_time, iter_entries
from extranet_intake.provisioning.models import Contract

__all__ = [
    "ACCESS_ACTIONS",
    "AccessGrant",
    "access_at",
    "access_report",
    "contract_owner",
    "window_for",
    "with_confirmations",
]

# a reinstatement (users reinstate) opens the grant again, with the account's profile, scope and contracts
_STARTS = frozenset({AuditAction.ACCOUNT_CREATED, AuditAction.ACCOUNT_MODIFIED, AuditAction.ACCOUNT_REINSTATED})
# a suspension (access review not answered in time) ends the grant as well: a suspended login cannot sign in
_ENDS = frozenset(
    {
        AuditAction.ACCOUNT_REVOKED,
        AuditAction.ACCOUNT_EXPIRED,
        AuditAction.LEGACY_REVOKED,
        AuditAction.ACCOUNT_SUSPENDED,
    }
)
ACCESS_ACTIONS = _STARTS | _ENDS


@dataclass(frozen=True)
class AccessGrant:
    login: str
    org: str | None
    profile: str | None
    scope: str | None
    contracts: tuple[str, ...]
    #: None: held since before the log began (a legacy account revoked on opening)
    since: datetime | None
    until: datetime | None
    since_seq: int | None
    until_seq: int | None
    legacy: bool = False
    #: the access review campaign that last confirmed this grant (None: never confirmed while it held)
    confirmed_by_campaign: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "org": self.org,
            "profile": self.profile,
            "scope": self.scope,
            "contracts": list(self.contracts),
            "since": canonical_time(self.since) if self.since else None,
            "until": canonical_time(self.until) if self.until else None,
            "since_seq": self.since_seq,
            "until_seq": self.until_seq,
            "legacy": self.legacy,
            "confirmed_by_campaign": self.confirmed_by_campaign,
        }


def window_for(value: date | datetime) -> tuple[datetime, datetime]:
    """A date means the whole UTC day; a moment means that instant (a half-open window of 1 µs)."""
    if isinstance(value, datetime):
        start = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return start, start + timedelta(microseconds=1)
    start = datetime.combine(value, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _details(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _state(
    entry: Mapping[str, Any],
    details: dict[str, Any],
    *,
    since: datetime | None,
    since_seq: int | None,
    until: datetime | None,
    until_seq: int | None,
) -> AccessGrant:
    contracts = details.get("contracts") or []
    return AccessGrant(
        login=str(entry["login"]),
        org=entry.get("org"),
        profile=details.get("profile"),
        scope=details.get("scope"),
        contracts=tuple(str(c) for c in contracts) if isinstance(contracts, list) else (),
        since=since,
        until=until,
        since_seq=since_seq,
        until_seq=until_seq,
        legacy=entry["action"] == AuditAction.LEGACY_REVOKED,
    )


def access_at(
    entries: Iterable[Mapping[str, Any]],
    *,
    start: datetime,
    end: datetime,
    org: str | None = None,
    contract: str | None = None,
    contract_owner: str | None = None,
) -> list[AccessGrant]:
    """Grants overlapping ``[start, end)``, from the access entries of the whole log in ``seq`` order (pure).

    With ``contract``, a grant counts when it names the contract, or covers "all contracts" *of the
    organisation that owns it* (``contract_owner``, from the contract register): another
    organisation's all-contracts users never saw it. An owner that is not known counts nobody's
    "all contracts".
    """
    open_grants: dict[str, AccessGrant] = {}
    found: list[AccessGrant] = []

    def overlaps(g: AccessGrant) -> bool:
        return (g.since is None or g.since < end) and (g.until is None or g.until > start)

    def close(login: str, at: datetime, seq: int) -> AccessGrant | None:
        current = open_grants.pop(login, None)
        if current is None:
            return None
        ended = replace(current, until=at, until_seq=seq)
        if overlaps(ended):
            found.append(ended)
        return ended

    seen: set[str] = set()
    for entry in entries:
        action, login = entry["action"], entry.get("login")
        if login is None or action not in ACCESS_ACTIONS:
            continue
        at: datetime = entry["at"]
        details = _details(entry.get("details"))
        seq = int(entry["seq"])
        if action in _STARTS:
            # entries after the window still matter: they end grants and reveal pre-log accounts,
            # but a grant starting after the window is irrelevant
            seen.add(login)
            close(login, at, seq)
            if at < end:
                open_grants[login] = _state(entry, details, since=at, since_seq=seq, until=None, until_seq=None)
        elif close(login, at, seq) is None and login not in seen:
            # an end with no start in the log: the account predates it (old Extranet)
            seen.add(login)
            ended = _state(entry, details, since=None, since_seq=None, until=at, until_seq=seq)
            if overlaps(ended):
                found.append(ended)
    found.extend(g for g in open_grants.values() if overlaps(g))

    def wanted(g: AccessGrant) -> bool:
        if org is not None and g.org != org:
            return False
        if contract is None or contract in g.contracts:
            return True
        return g.scope == "all" and contract_owner is not None and g.org == contract_owner

    return sorted((g for g in found if wanted(g)), key=lambda g: (g.org or "", g.login, g.since_seq or 0))


def contract_owner(connection: Connection, contract: str) -> str | None:
    """The enterprise number the contract register gives for ``contract`` (None: not in the register)."""
    table = Contract.__table__  # type: ignore[attr-defined]
    owner = connection.execute(
        sa.select(table.c.enterprise_number).where(table.c.contract_number == contract.strip().upper())
    ).scalar()
    return str(owner) if owner is not None else None


def access_report(
    connection: Connection, *, at: date | datetime, org: str | None = None, contract: str | None = None
) -> list[AccessGrant]:
    """Read the relevant entries (streamed) and replay them: see :func:`access_at`."""
    start, end = window_for(at)
    owner = contract_owner(connection, contract) if contract is not None else None
    entries = iter_entries(connection, org=org, actions=ACCESS_ACTIONS)
    grants = access_at(entries, start=start, end=end, org=org, contract=contract, contract_owner=owner)
    confirmations = iter_entries(connection, org=org, until=end, actions=(AuditAction.ACCESS_REVIEW_CONFIRMED,))
    return with_confirmations(grants, confirmations, end=end)


def with_confirmations(
    grants: list[AccessGrant], confirmations: Iterable[Mapping[str, Any]], *, end: datetime
) -> list[AccessGrant]:
    """Each grant with the access review campaign that last confirmed it (pure).

    A confirmation counts for a grant when it names the login and came while that grant held (after
    its start, before the window's end): a grant changed after the confirmation was not confirmed.
    """
    last: dict[str, list[tuple[datetime, int]]] = {}
    for entry in confirmations:
        if entry["at"] >= end:
            continue
        details = _details(entry.get("details"))
        campaign = details.get("campaign")
        if not isinstance(campaign, int):
            continue
        for login in details.get("logins") or []:
            last.setdefault(str(login), []).append((entry["at"], campaign))
    out = []
    for g in grants:
        held = [
            c
            for at, c in last.get(g.login, [])
            if (g.since is None or at >= g.since) and (g.until is None or at < g.until)
        ]
        out.append(replace(g, confirmed_by_campaign=held[-1]) if held else g)
    return out
