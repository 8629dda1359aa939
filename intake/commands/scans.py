"""``samples scans``: regenerate the scanned-form samples (``samples/scans``) and their manifest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from intake.commands.options import JsonOpt
from intake.scans import REFERENCE_DATE, generate_scans, generate_stacks

__all__ = ["register", "scans", "stacks"]


def scans(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scans and manifest.json into")] = Path(
        "samples/scans"),
    count: Annotated[int, typer.Option("--count", min=1, max=500, help="How many scans")] = 72,
    today: Annotated[str, typer.Option("--today", help="Reference day of the values (yyyy-mm-dd)")] = (
        REFERENCE_DATE.isoformat()),
    as_json: JsonOpt = False,
) -> None:
    """Filled forms rasterised and degraded like scans (PDF/PNG/JPEG/TIFF), with the true values."""
    try:
        day = date.fromisoformat(today)
    except ValueError as exc:
        raise typer.BadParameter(f"--today {today!r} is not a yyyy-mm-dd date") from exc
    manifest = generate_scans(out, today=day, count=count)
    if as_json:
        typer.echo(json.dumps({"out": str(out), "count": manifest["count"], "today": manifest["today"]}))
        return
    variants: dict[str, int] = {}
    for entry in manifest["scans"]:
        variants[entry["variant"]] = variants.get(entry["variant"], 0) + 1
    typer.echo(f"{out}: {manifest['count']} scans ({', '.join(f'{n} {v}' for v, n in sorted(variants.items()))}); "
               f"manifest {out / 'manifest.json'}")


def stacks(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the stacks and manifest.json into")] = Path(
        "samples/stacks"),
    bench: Annotated[bool, typer.Option("--bench", help="Also the longer stacks (6-10 forms) of bench/ocr.py")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Several forms in one PDF (scanned, flat, fillable; a blank page, a page upside down), with their parts."""
    manifest = generate_stacks(out, bench=bench)
    if as_json:
        typer.echo(json.dumps({"out": str(out), "count": manifest["count"]}))
        return
    typer.echo(f"{out}: {manifest['count']} stacks, {sum(e['pages'] for e in manifest['stacks'])} pages; "
               f"manifest {out / 'manifest.json'}")


def register(root: typer.Typer) -> None:
    """Add ``scans`` and ``stacks`` to the ``samples`` group (created here when no other module made it)."""
    for group in root.registered_groups:
        if group.name == "samples" and group.typer_instance is not None:
            group.typer_instance.command("scans")(scans)
            group.typer_instance.command("stacks")(stacks)
            return
    app = typer.Typer(help="Sample files.", no_args_is_help=True)
    app.command("scans")(scans)
    app.command("stacks")(stacks)
    root.add_typer(app, name="samples")
