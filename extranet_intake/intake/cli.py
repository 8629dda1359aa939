"""The ``extranet-intake`` command line: registers the command groups and maps errors to exit codes.

Commands stay thin: each parses its options and calls one service function. This is the one place
that turns an ``IntakeError`` into a message and an exit code (0 fine, 1 failures, 2 usage/config).

Start-up is lazy: only the module of the command being run is imported (``--help`` imports none and
shows the names and help lines of ``COMMANDS``), so a command pays for SQLAlchemy, openpyxl or
reportlab only when it uses them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.exceptions import TyperException

from extranet_intake.errors import IntakeError
from extranet_intake.intake.commands.options import RootConfigOpt, root_config
from extranet_intake.intake.logs import LogFormat, configure

__all__ = ["COMMANDS", "app", "full_app", "main"]

#: every top-level command or group: the modules (under intake.commands) whose ``register`` adds it, and
#: its help line for ``--help`` (a test checks that these match the modules' own)
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "forms": (("forms",), "The forms themselves: render blank, filled or flattened PDFs."),
    "parse": (
        ("parse",),
        "Read each document as a form: id, version, language, method, normalised fields, errors, warnings.",
    ),
    "contracts": (("reference",), "The contract register (which contract belongs to which organisation)."),
    "legacy": (("reference",), "Accounts of the old Extranet (revoked when the new access opens)."),
    "review": (("review",), "Forms waiting for a person: approve (with corrections) or reject."),
    "review-access": (
        ("access_review",),
        "The yearly access review by each Master User: start a campaign, see where each organisation stands.",
    ),
    "orgs": (("views",), "Organisation dossiers: received, approved, rejected, missing, accounts."),
    "users": (("views", "mail", "accounts"), "Accounts of the new Extranet."),
    "audit": (("audit",), "The hash-chained provisioning log: list, verify, checkpoint, export, access."),
    "send": (("mail",), "Send every due mail of the outbox (SMTP, or .eml files in the embedded default)."),
    "outbox": (("outbox",), "The outgoing mails: queued, sending, sent, failed, refused."),
    "init": (("run",), "Create the database (migrated to the latest schema) and the folders of the configuration."),
    "migrate": (
        ("run",),
        "Migrate the database schema to this version's (after an upgrade); no other command migrates.",
    ),
    "run": (("run",), "The daily job: sources → store → parse → rules → apply → outbox → send → expiry sweep."),
    "status": (("run",), "The last run, the review backlog and the outbox backlog."),
    "notify": (
        ("run",),
        "Tell organisations (at their agreement's notification address) about new documents or features.",
    ),
    "staff": (("staff",), "Staff accounts of the desk: reviewers, auditors, admins."),
    "web": (("web",), "Serve the desk (review desk, audit room, operations) over HTTP; put TLS in front of it."),
    "config": (("config_check",), "The configuration: check it and everything it points to, changing nothing."),
}

app = typer.Typer(
    name="extranet-intake",
    help="Access-request forms for Extranet Aanvullend Pensioen → scoped logins, with an audit trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # plain click help at the top: rendering it with rich costs more start-up than the rest of --help
    rich_markup_mode=None,
)

_loaded: set[str] = set()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"extranet-intake {version('extranet-intake')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("extranet-intake (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    config: RootConfigOpt = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar="EXTRANET_INTAKE_LOG_FORMAT",
            help="text (default) or json: one JSON event per line on stderr (run id, stage, document, code).",
        ),
    ] = LogFormat.TEXT,
    _show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    # every command's config_from() falls back on this one
    root_config.set(config)
    configure(log_format)


def _load(modules: tuple[str, ...]) -> None:
    """Import command modules and add their commands to ``app`` (once per process)."""
    for name in modules:
        if name in _loaded:
            continue
        module = importlib.import_module(f"extranet_intake.intake.commands.{name}")
        if hasattr(module, "register"):
            module.register(app)
        else:  # a module that is one group, exposed as ``app``
            app.add_typer(module.app, name=name)
        _loaded.add(name)


def full_app() -> typer.Typer:
    """The application with every command loaded (for tests and documentation)."""
    for modules, _ in COMMANDS.values():
        _load(modules)
    return app


def _requested(argv: list[str]) -> str | None:
    """The top-level command named in ``argv`` (skipping the root's own options), if any."""
    args = iter(argv)
    for arg in args:
        if arg in ("--config", "-c", "--log-format"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _command(argv: list[str]) -> Any:
    """The click group for this invocation: the requested command for real, the others as help-only stubs."""
    name = _requested(argv)
    if name in COMMANDS:
        _load(COMMANDS[name][0])
    group = typer.main.get_command(app)
    missing = [stub for stub in COMMANDS if stub not in set(getattr(group, "commands", {}))]
    if not missing:
        return group
    stubs = typer.Typer()
    for stub in missing:
        help_line = COMMANDS[stub][1]
        # never run: click only invokes the named command, which is loaded above
        stubs.command(stub, help=help_line, short_help=help_line, add_help_option=False)(lambda: None)
    stubs.command("_")(lambda: None)  # two commands at least, or typer makes the single one the group itself
    stub_group = typer.main.get_command(stubs)
    for stub in missing:
        group.add_command(stub_group.commands[stub], stub)  # type: ignore[attr-defined]
    return group


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # owner+group at most for every file a command creates (database, reports, exports, outbox …), whatever
    # the caller's umask; a stricter one is kept
    umask = os.umask(0o027)
    os.umask(umask | 0o027)
    token = root_config.set(None)  # one invocation's --config never leaks into the next (tests call main())
    try:
        result = _command(args).main(args=args, prog_name="extranet-intake", standalone_mode=False)
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

        from extranet_intake.provisioning.engines import as_database_error

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
    finally:
        root_config.reset(token)
        os.umask(umask)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
