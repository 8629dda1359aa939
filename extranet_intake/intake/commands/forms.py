"""``forms render``: the blank, filled or flattened PDF of a form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from extranet_intake.errors import ConfigError
from extranet_intake.intake.form_pdf import render_form
from extranet_intake.parsers.forms import FormId, Lang

__all__ = ["app"]

app = typer.Typer(help="The forms themselves: render blank, filled or flattened PDFs.", no_args_is_help=True)


@app.command("render")
def render(
    form: Annotated[FormId, typer.Option("--form", help="EAP-AGR, EAP-MU or EAP-USR")],
    lang: Annotated[Lang, typer.Option("--lang", help="nl or fr")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write")],
    data: Annotated[Path | None, typer.Option("--data", help="JSON object of field values to fill in")] = None,
    flatten: Annotated[bool, typer.Option("--flatten", help="Printed-style copy: text only, no fields")] = False,
) -> None:
    """Write the fillable form (blank, or filled with --data), or a flattened copy."""
    values = None
    if data is not None:
        try:
            values = json.loads(data.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("render-bad-data", f"cannot read field values from {data}: {exc}", file=data) from exc
        if not isinstance(values, dict):
            raise ConfigError("render-bad-data", f"{data} must hold a JSON object of field values", file=data)
    out.write_bytes(render_form(form, lang, values, flatten=flatten, signed=flatten and values is not None))
    typer.echo(f"wrote {out}")
