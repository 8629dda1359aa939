"""The ``extranet-intake`` command line: registers the command groups and maps errors to exit codes.

Commands stay thin: each parses its options and calls one service function. This is the one place
that turns an ``IntakeError`` into a message and an exit code (0 fine, 1 failures, 2 usage/config).
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from errors import IntakeError
from intake.commands import audit, forms, mail, parse, reference, review, run, samples, scans, staff, views, web

__all__ = ["app", "main"]

app = typer.Typer(
    name="extranet-intake",
    help="Access-request forms for Extranet Aanvullend Pensioen → scoped logins, with an audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(forms.app, name="forms")
parse.register(app)
reference.register(app)
review.register(app)
views.register(app)
audit.register(app)
mail.register(app)
run.register(app)
samples.register(app)
scans.register(app)  # after samples: adds "samples scans" to that group
staff.register(app)
web.register(app)


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
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
