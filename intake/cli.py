"""The ``extranet-intake`` command line: registers the command groups and maps errors to exit codes.

Commands stay thin: each parses its options and calls one service function. This is the one place
that turns an ``IntakeError`` into a message and an exit code (0 fine, 1 failures, 2 usage/config).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.exceptions import TyperException

from errors import IntakeError
from intake.commands import audit, forms, mail, outbox, parse, reference, review, run, samples, scans, views
from intake.logs import LogFormat, configure

__all__ = ["app", "main"]

app = typer.Typer(
    name="extranet-intake",
    help="Access-request forms for Extranet Aanvullend Pensioen → scoped logins, with an audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"extranet-intake {version('extranet-intake')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("extranet-intake (not installed)")
        raise typer.Exit(0)


@app.callback()
def _global(
    log_format: Annotated[LogFormat, typer.Option(
        "--log-format", envvar="EXTRANET_INTAKE_LOG_FORMAT",
        help="text (default) or json: one JSON event per line on stderr (run id, stage, document, code).")
    ] = LogFormat.TEXT,
    _show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False,
) -> None:
    """Access-request forms for Extranet Aanvullend Pensioen → scoped logins, with an audit trail."""
    configure(log_format)


app.add_typer(forms.app, name="forms")
parse.register(app)
reference.register(app)
review.register(app)
views.register(app)
audit.register(app)
mail.register(app)
outbox.register(app)
run.register(app)
samples.register(app)
scans.register(app)  # after samples: adds "samples scans" to that group


def main(argv: list[str] | None = None) -> int:
    try:
        result = app(args=argv, standalone_mode=False)
    except IntakeError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except TyperException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return 2
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        # A database that is down or locked meets every command here: one coded line, no traceback.
        from sqlalchemy.exc import SQLAlchemyError

        from provisioning.db import as_database_error

        if not isinstance(exc, SQLAlchemyError):
            raise
        down = as_database_error(exc)
        if down is None:
            orig = getattr(exc, "orig", None)
            first = (str(orig) if orig is not None else str(exc)).strip()
            typer.echo(f"error: [database-error] {(first.splitlines() or [type(exc).__name__])[0][:300]}", err=True)
            return 2
        typer.echo(f"error: {down}", err=True)
        return down.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
