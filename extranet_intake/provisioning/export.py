"""Audit-log export to CSV and XLSX that a spreadsheet opens as data, never as formulas.

Entries carry text that came from outside (reasons quoting a form, names, e-mail subjects). A cell
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a formula by Excel and
LibreOffice (CSV injection, OWASP). CSV gets OWASP's fix: a leading ``'`` and every field quoted.
XLSX needs no change to the value: the cell is written as a string (data type ``s``) with the
``quotePrefix`` style, so the text stays byte-for-byte what the log holds.

For Belgian Excel (which splits CSV on ``;``) the CSV separator is an option. In XLSX the time is a
real date cell (UTC, the spreadsheet has no zones), the header row has a filter and stays in view.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from extranet_intake.auditchain.chain import canonical_time
from extranet_intake.errors import AuditError
from extranet_intake.reasons import reason_text

__all__ = ["CSV_DELIMITERS", "EXPORT_COLUMNS", "ExportFormat", "export_entries", "neutralise_csv"]

EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "org",
    "login",
    "document_sha256",
    "reason",
    "reason_text",
    "details",
    "prev_hash",
    "hash",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 forbids these; openpyxl raises on them, and one hostile reason must not stop an export
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def neutralise_csv(value: str) -> str:
    """OWASP CSV-injection defence: a value a spreadsheet would evaluate gets a leading quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat") and hasattr(value, "tzinfo"):
        return canonical_time(value)
    return value


def _cell(row: Mapping[str, Any], name: str) -> Any:
    # reason_text is not stored: the words of the recorded codes, from the reason catalogue
    return reason_text(row["reason"]) if name == "reason_text" else _text(row[name])


CSV_DELIMITERS = (",", ";")


def export_entries(rows: Iterable[Mapping[str, Any]], *, fmt: ExportFormat, out: Path, delimiter: str = ",") -> int:
    """Write ``rows`` (as from ``iter_entries``) to ``out``; returns how many. Written atomically.

    ``delimiter`` (CSV only): ``,`` or ``;`` (what Excel expects under a Belgian locale).
    """
    if delimiter not in CSV_DELIMITERS:
        raise AuditError("audit-export-delimiter", f"the CSV separator must be ',' or ';', not {delimiter!r}")
    tmp = out.with_name(out.name + ".tmp")
    try:
        # created owner-only before the writer opens it (which keeps the mode): the log names people
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(tmp, 0o600)  # an older .tmp left behind keeps its own mode otherwise
        count = _write_csv(rows, tmp, delimiter) if fmt is ExportFormat.CSV else _write_xlsx(rows, tmp)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AuditError("audit-export-failed", f"cannot write {out}: {exc.strerror}", file=out) from exc
    return count


def _write_csv(rows: Iterable[Mapping[str, Any]], path: Path, delimiter: str = ",") -> int:
    count = 0
    # utf-8-sig: Excel reads a BOM-less CSV as the local code page and mangles accents
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, quoting=csv.QUOTE_ALL)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            cells = []
            for name in EXPORT_COLUMNS:
                value = _cell(row, name)
                cells.append(neutralise_csv(value) if isinstance(value, str) else value)
            writer.writerow(cells)
            count += 1
    return count


def _write_xlsx(rows: Iterable[Mapping[str, Any]], path: Path) -> int:
    # imported here: openpyxl costs the audit commands' start-up more than anything else they load
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("audit")
    sheet.freeze_panes = "A2"
    sheet.append(list(EXPORT_COLUMNS))
    count = 0
    for row in rows:
        cells: list[Any] = []
        for name in EXPORT_COLUMNS:
            raw = row.get(name)
            if isinstance(raw, datetime):
                # a real date cell: UTC without offset (spreadsheets have no zones; the header says UTC)
                moment = raw.astimezone(UTC).replace(tzinfo=None) if raw.tzinfo else raw
                date_cell = WriteOnlyCell(sheet, value=moment)
                date_cell.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(date_cell)
                continue
            value = _cell(row, name)
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=_ILLEGAL_XML.sub("\N{REPLACEMENT CHARACTER}", value))
                # openpyxl makes any text starting with '=' a formula cell; force a string cell
                cell.data_type = "s"
                if value.startswith(_FORMULA_START):
                    cell.quotePrefix = True
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(EXPORT_COLUMNS))}{count + 1}"
    workbook.save(path)
    return count
