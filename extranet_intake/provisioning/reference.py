"""Reference data: the contract register and the old Extranet's accounts, from XLSX or CSV, re-importable."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func
from sqlmodel import Session, col, select
from stdnum.be import vat

from extranet_intake.errors import ProvisioningError
from extranet_intake.provisioning.apply import Clock
from extranet_intake.provisioning.models import Account, Contract, LegacyAccount

__all__ = [
    "CONTRACT_COLUMNS",
    "LEGACY_COLUMNS",
    "ImportReport",
    "RowError",
    "import_contracts",
    "import_contracts_file",
    "import_legacy",
    "import_legacy_file",
    "read_table",
]

CONTRACT_COLUMNS = ("enterprise_number", "contract_number", "contract_name")
LEGACY_COLUMNS = ("login", "enterprise_number", "last_name", "first_name", "email")
MAX_ROWS = 200_000

Row = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class RowError:
    row: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    """Per-row outcome counts; bad rows are listed with their row number in the file (header = row 1)."""

    kind: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def read_table(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    """Rows of an XLSX (first sheet) or CSV (``,`` or ``;``) file as ``(row number, {column: text})``."""
    if not path.is_file():
        raise ProvisioningError("import-file-missing", f"no such file: {path}", file=path)
    rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    header: list[str] | None = None
    for number, values in rows:
        if header is None:
            header = [str(v or "").strip().lower() for v in values]
            missing = [c for c in columns if c not in header]
            if missing:
                raise ProvisioningError("import-columns-missing", f"missing column(s): {', '.join(missing)}", file=path)
            continue
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if number > MAX_ROWS:
            raise ProvisioningError("import-too-many-rows", f"more than {MAX_ROWS} rows", file=path)
        yield number, {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
    if header is None:
        raise ProvisioningError("import-empty", "the file has no header row", file=path)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        yield number, list(row)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ProvisioningError("import-unreadable", f"not a readable XLSX file: {exc}", file=path) from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def _enterprise_number(raw: str) -> str | None:
    compact = vat.compact(raw) if raw else ""
    return compact if len(compact) == 10 and vat.is_valid(compact) else None


def _load(rows: Iterator[Row], report: ImportReport, handle: Callable[[int, dict[str, str]], str]) -> ImportReport:
    # one bad row never stops the import: it is reported with its number and the rest still loads
    for number, row in rows:
        try:
            outcome = handle(number, row)
        except _RowProblem as problem:
            report.errors.append(RowError(number, problem.code, problem.message))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


class _RowProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def import_contracts(session: Session, rows: Iterator[Row], *, clock: Clock) -> ImportReport:
    """Load the contract register; a contract already known is updated (the register is the source)."""
    now = clock()
    seen: dict[str, int] = {}

    def handle(number: int, row: dict[str, str]) -> str:
        en = _enterprise_number(row.get("enterprise_number", ""))
        contract = row.get("contract_number", "").strip().upper()
        name = row.get("contract_name", "").strip()
        if en is None:
            raise _RowProblem(
                "enterprise-number-invalid", f"not a valid enterprise number: {row.get('enterprise_number', '')!r}"
            )
        if not contract or len(contract) > 20:
            raise _RowProblem("contract-number-invalid", f"contract number missing or too long: {contract!r}")
        if contract in seen:
            raise _RowProblem("contract-duplicate-row", f"contract {contract} already on row {seen[contract]}")
        seen[contract] = number
        existing = session.get(Contract, contract)
        if existing is None:
            session.add(
                Contract(contract_number=contract, enterprise_number=en, contract_name=name[:200], imported_at=now)
            )
            return "added"
        if (existing.enterprise_number, existing.contract_name) == (en, name[:200]):
            return "unchanged"
        existing.enterprise_number, existing.contract_name, existing.imported_at = en, name[:200], now
        session.add(existing)
        return "updated"

    return _load(rows, ImportReport("contracts"), handle)


def import_legacy(session: Session, rows: Iterator[Row], *, clock: Clock) -> ImportReport:
    """Load the old Extranet's accounts (revoked when their organisation's new access opens)."""
    now = clock()
    seen: dict[str, int] = {}

    def handle(number: int, row: dict[str, str]) -> str:
        login = row.get("login", "").strip()
        en = _enterprise_number(row.get("enterprise_number", ""))
        email = row.get("email", "").strip()
        if not login or len(login) > 40:
            raise _RowProblem("login-invalid", f"login missing or too long: {login!r}")
        if en is None:
            raise _RowProblem(
                "enterprise-number-invalid", f"not a valid enterprise number: {row.get('enterprise_number', '')!r}"
            )
        if email:
            try:
                validate_email(email, check_deliverability=False)
            except EmailNotValidError:
                raise _RowProblem("email-invalid", f"not a valid e-mail address: {email!r}") from None
        key = login.upper()
        if key in seen:
            raise _RowProblem("login-duplicate-row", f"login {login} already on row {seen[key]}")
        seen[key] = number
        if session.exec(select(Account.login).where(func.upper(col(Account.login)) == key)).first():
            raise _RowProblem("login-taken", f"login {login} belongs to an account of the new Extranet")
        values = {
            "enterprise_number": en,
            "last_name": row.get("last_name", "").strip()[:120],
            "first_name": row.get("first_name", "").strip()[:120],
            "email": email[:254],
        }
        existing = session.get(LegacyAccount, login)
        if existing is None:
            session.add(
                LegacyAccount(
                    login=login,
                    imported_at=now,
                    enterprise_number=en,
                    last_name=values["last_name"],
                    first_name=values["first_name"],
                    email=values["email"],
                )
            )
            return "added"
        if all(getattr(existing, k) == v for k, v in values.items()):
            return "unchanged"
        # a revoked legacy account stays revoked whatever the file says
        for k, v in values.items():
            setattr(existing, k, v)
        session.add(existing)
        return "updated"

    return _load(rows, ImportReport("legacy"), handle)


def import_contracts_file(session: Session, path: Path, *, clock: Clock) -> ImportReport:
    return import_contracts(session, read_table(path, CONTRACT_COLUMNS), clock=clock)


def import_legacy_file(session: Session, path: Path, *, clock: Clock) -> ImportReport:
    return import_legacy(session, read_table(path, LEGACY_COLUMNS), clock=clock)
