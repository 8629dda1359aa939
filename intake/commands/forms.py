"""``forms render``: the blank, filled or flattened PDF of a form."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="The forms themselves: render blank, filled or flattened PDFs.", no_args_is_help=True)
