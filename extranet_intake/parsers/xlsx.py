"""Reading the XLSX user fiche (one sheet: column A machine name, column B value), after bomb checks.

The zip directory is checked BEFORE openpyxl opens anything: member count, declared sizes and
compression ratios (zipfile never inflates past a member's declared size, so the declared sizes
bound the work), and no XML part may declare a DTD — openpyxl parses through defusedxml, and
refusing ``<!DOCTYPE`` up front stops entity expansion even if that ever changes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from extranet_intake.errors import ParseError
from extranet_intake.parsers.forms import HIDDEN_FIELDS
from extranet_intake.parsers.validate import RawValue

__all__ = ["XlsxFiche", "check_zip", "read_xlsx"]

MAX_MEMBERS = 200
MAX_TOTAL_BYTES = 30 * 1024 * 1024
MAX_RATIO = 100
MAX_ROWS = 500


@dataclass(frozen=True)
class XlsxFiche:
    ids: dict[str, str]  # form_id, form_version, form_lang as written
    raw: dict[str, RawValue]  # every other row, by machine name


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open the zip directory and refuse bombs before any member is inflated."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ParseError("xlsx-corrupt", f"the spreadsheet is not a readable XLSX file: {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise ParseError("xlsx-bomb", f"the spreadsheet has {len(members)} parts (a workbook has a few dozen)")
    total = sum(m.file_size for m in members)
    if total > MAX_TOTAL_BYTES:
        raise ParseError("xlsx-bomb", f"the spreadsheet would inflate to {total} bytes")
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise ParseError("xlsx-bomb", f"part {m.filename} compresses {m.file_size // max(m.compress_size, 1)}:1")
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise ParseError("unsupported-type", "the zip file is not an XLSX workbook")
    try:
        for m in members:
            if m.filename.endswith((".xml", ".rels")):
                with archive.open(m) as part:
                    # the whole part (bounded above): comments may push a DTD past any fixed head
                    body = part.read()
                    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
                        raise ParseError("xlsx-bomb", f"part {m.filename} declares a DTD (XML entity expansion)")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ParseError("xlsx-corrupt", f"the spreadsheet is damaged: {exc}") from exc
    return archive


def _cell(value: object) -> RawValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, datetime | date):
        return f"{value:%d/%m/%Y}"  # a date typed in Excel comes back as a date: write it as people do
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes) -> XlsxFiche:
    """The id rows and the field rows of the first sheet."""
    check_zip(data)
    from openpyxl import load_workbook  # heavy import, only when a spreadsheet arrives

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            ids: dict[str, str] = {}
            raw: dict[str, RawValue] = {}
            for i, row in enumerate(ws.iter_rows(min_col=1, max_col=2, values_only=True)):
                if i >= MAX_ROWS:
                    break
                if not row or not isinstance(row[0], str):
                    continue
                name = row[0].strip()
                value = _cell(row[1] if len(row) > 1 else None)
                if name in HIDDEN_FIELDS:
                    ids[name] = "" if value is None else str(value)
                else:
                    raw[name] = value
        finally:
            wb.close()
    except ParseError:
        raise
    except Exception as exc:
        # openpyxl raises anything from KeyError to defusedxml's EntitiesForbidden on a damaged file
        code = "xlsx-bomb" if type(exc).__module__.startswith("defusedxml") else "xlsx-corrupt"
        raise ParseError(code, f"the spreadsheet cannot be read: {type(exc).__name__}: {exc}") from exc
    return XlsxFiche(ids, raw)
