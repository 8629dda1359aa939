"""``python -m samplekit``: rebuild the committed samples (``generate``, ``scans``, ``stacks``) from a checkout."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from extranet_intake.intake.commands.options import JsonOpt
from samplekit.samples import write_samples
from samplekit.scans import REFERENCE_DATE, generate_scans, generate_stacks

__all__ = ["app"]

app = typer.Typer(
    name="python -m samplekit",
    help="The committed sample forms, messages and reference files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (samples/scans is never touched)")] = Path(
        "samples"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Regenerate the sample set deterministically (fixed seed and reference date) with its manifest.json."""
    report = write_samples(out)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    typer.echo(
        f"{out}: {report.written} written, {report.unchanged} unchanged, {report.removed} removed "
        f"({report.total_bytes / 1024:.0f} KiB); manifest {out / 'manifest.json'}"
    )


@app.command("scans")
def scans(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scans and manifest.json into")] = Path(
        "samples/scans"
    ),
    count: Annotated[int, typer.Option("--count", min=1, max=500, help="How many scans")] = 72,
    today: Annotated[str, typer.Option("--today", help="Reference day of the values (yyyy-mm-dd)")] = (
        REFERENCE_DATE.isoformat()
    ),
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
    typer.echo(
        f"{out}: {manifest['count']} scans ({', '.join(f'{n} {v}' for v, n in sorted(variants.items()))}); "
        f"manifest {out / 'manifest.json'}"
    )


@app.command("stacks")
def stacks(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the stacks and manifest.json into")] = Path(
        "samples/stacks"
    ),
    bench: Annotated[bool, typer.Option("--bench", help="Also the longer stacks (6-10 forms) of bench/ocr.py")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Several forms in one PDF (scanned, flat, fillable; a blank page, a page upside down), with their parts."""
    manifest = generate_stacks(out, bench=bench)
    if as_json:
        typer.echo(json.dumps({"out": str(out), "count": manifest["count"]}))
        return
    typer.echo(
        f"{out}: {manifest['count']} stacks, {sum(e['pages'] for e in manifest['stacks'])} pages; "
        f"manifest {out / 'manifest.json'}"
    )


if __name__ == "__main__":
    app()
