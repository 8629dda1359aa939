"""Writing the XLSX version of the user fiche (the layout ``parsers.xlsx`` reads), from the one definition."""

from __future__ import annotations

import io
from collections.abc import Mapping

from openpyxl import Workbook
from openpyxl.styles import Font

from extranet_intake.errors import ConfigError
from extranet_intake.parsers.forms import CONTRACT_FIELDS, FORMS, FieldKind, FormId, Lang

__all__ = ["write_user_fiche_xlsx"]

XlsxValue = str | bool | list[str] | None


def write_user_fiche_xlsx(values: Mapping[str, XlsxValue], *, lang: Lang | str = Lang.NL) -> bytes:
    """One sheet: column A the machine name, column B the value as a person types it, column C the label.

    Values are what a person types (dates ``dd/mm/yyyy``, choices as machine values, contracts as a
    ``contracts`` list or ``contract_N`` keys). Every cell is written as text so that a leading zero
    of an enterprise number or a date format survives.
    """
    form = FORMS[FormId.USR]
    lg = Lang(lang)
    vals = {k: v for k, v in values.items() if k != "contracts"}
    contracts = values.get("contracts")
    if isinstance(contracts, list):
        vals.update(zip(CONTRACT_FIELDS, contracts, strict=False))
    unknown = set(vals) - form.field_names
    if unknown:
        raise ConfigError("render-unknown-field", f"EAP-USR has no field(s) {', '.join(sorted(unknown))}")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "EAP-USR"
    ws.append(["field", "value", "label"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append(["form_id", str(form.form_id), ""])
    ws.append(["form_version", form.version, ""])
    ws.append(["form_lang", str(lg), ""])
    for f in form.fields:
        if f.kind is FieldKind.SIGNATURE:
            continue
        value = vals.get(f.name)
        if isinstance(value, bool):
            text = "x" if value else ""
        elif value is None or isinstance(value, list):
            text = ""
        else:
            text = str(value)
        ws.append([f.name, text, f.label(lg)])
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        for c in row:
            c.number_format = "@"  # text: keeps 0644695949 and 31/12/2027 as typed
            if isinstance(c.value, str) and c.value.startswith("="):
                c.data_type = "s"  # a name starting with "=" is text, never a formula
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 44
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
