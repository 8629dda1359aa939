"""``samples generate``: rewrite the committed sample set and its manifest, byte for byte the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from intake.commands.options import JsonOpt
from intake.samples import write_samples

__all__ = ["app", "register"]

app = typer.Typer(help="The committed sample forms, messages and reference files.", no_args_is_help=True)


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (samples/scans is never touched)")] = Path(
        "samples"),
    as_json: JsonOpt = False,
) -> None:
    """Regenerate the sample set deterministically (fixed seed and reference date) with its manifest.json."""
    report = write_samples(out)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    typer.echo(f"{out}: {report.written} written, {report.unchanged} unchanged, {report.removed} removed "
               f"({report.total_bytes / 1024:.0f} KiB); manifest {out / 'manifest.json'}")


def register(root: typer.Typer) -> None:
    """Add ``samples`` to the main application."""
    root.add_typer(app, name="samples")
