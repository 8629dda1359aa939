"""``parse FILE… [--json]``: what the parsers read in each document, with coded errors and warnings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from
from extranet_intake.intake.parsing import ParsedFile, parse_files, read_trusted_roots
from extranet_intake.parsers.result import ParseOutcome

__all__ = ["register"]

_STYLE = {ParseOutcome.VALID: "green", ParseOutcome.INVALID: "yellow", ParseOutcome.REJECTED: "red"}


def _today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date yyyy-mm-dd", param_hint="--today") from exc


def _print(results: list[ParsedFile]) -> None:
    console = Console()
    for r in results:
        f = r.form
        outcome = f.outcome
        pages = f" (pages {r.pages})" if r.pages else ""
        console.print(
            f"[bold]{r.path}{pages}[/bold]  [{_STYLE[outcome]}]{outcome.value}[/]  "
            f"form_id={f.form_id or '-'}  version={f.version or '-'}  language={f.language or '-'}  "
            f"method={f.method.value if f.method else '-'}"
        )
        if f.fields:
            table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            table.add_column("field")
            table.add_column("value")
            for name, value in f.fields.items():
                shown = ", ".join(value) if isinstance(value, list) else str(value)
                table.add_row(name, shown)
            console.print(table)
        for v in f.signatures:
            console.print(f"  {v.summary()}", highlight=False, markup=False, soft_wrap=True)
        for kind, issues in (("error", f.errors), ("warning", f.warnings)):
            for i in issues:
                where = f" [{i.field}]" if i.field else ""
                console.print(f"  {kind}: {i.code}{where} — {i.message}", highlight=False, markup=False)
        console.print()


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""

    @app.command("parse")
    def parse(
        files: Annotated[
            list[Path],
            typer.Argument(help="PDF, XLSX or scan files to read", exists=True, dir_okay=False, readable=True),
        ],
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
        today: Annotated[
            str | None, typer.Option("--today", help="Validate as on this date (yyyy-mm-dd); default: today")
        ] = None,
    ) -> None:
        """Read each document as a form: id, version, language, method, normalised fields, errors, warnings.

        Exit 0 when every document is valid, 1 when any is invalid or rejected, 2 on usage errors.
        """
        cfg = config_from(config)
        results = parse_files(
            files, cfg=cfg.parsing, today=_today(today), trusted_roots=read_trusted_roots(cfg.signatures)
        )
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        else:
            _print(results)
        if any(not r.form.ok for r in results):
            raise typer.Exit(1)
