"""Commands of the reference area: ``contracts import FILE`` and ``legacy import FILE``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, config_from
from extranet_intake.intake.database import open_engine
from extranet_intake.provisioning.engines import writer
from extranet_intake.provisioning.reference import ImportReport, import_contracts_file, import_legacy_file

__all__ = ["register"]

contracts_app = typer.Typer(
    help="The contract register (which contract belongs to which organisation).", no_args_is_help=True
)
legacy_app = typer.Typer(help="Accounts of the old Extranet (revoked when the new access opens).", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="XLSX or CSV file with a header row.")]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(contracts_app, name="contracts")
    app.add_typer(legacy_app, name="legacy")


def _now() -> datetime:
    return datetime.now(UTC)


def _run(config: Path | None, path: Path, as_json: bool, kind: str) -> int:
    cfg = config_from(config)
    engine = open_engine(cfg.database_url)
    try:
        with Session(writer(engine)) as session:  # reads then writes: BEGIN IMMEDIATE
            load = import_contracts_file if kind == "contracts" else import_legacy_file
            report = load(session, path, clock=_now)
            session.commit()
    finally:
        engine.dispose()
    _print(report, as_json)
    # good rows are loaded either way; bad rows make the run "finished with failures"
    return 0 if report.ok else 1


def _print(report: ImportReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    console = Console()
    console.print(
        f"{report.kind}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.errors)} bad row(s)"
    )
    if report.errors:
        table = Table("row", "code", "problem")
        for e in report.errors:
            table.add_row(str(e.row), e.code, e.message)
        console.print(table)


@contracts_app.command("import")
def contracts_import(path: FileArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> int:
    """Load the contract register (columns enterprise_number, contract_number, contract_name)."""
    return _run(config, path, as_json, "contracts")


@legacy_app.command("import")
def legacy_import(path: FileArg, config: ConfigOpt = None, as_json: JsonOpt = False) -> int:
    """Load old-Extranet accounts (columns login, enterprise_number, last_name, first_name, email)."""
    return _run(config, path, as_json, "legacy")
