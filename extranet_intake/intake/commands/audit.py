"""Commands of the audit area: log, verify, keygen, checkpoint, export, access, show."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from extranet_intake.auditchain.chain import canonical_time, iter_entries, source_document
from extranet_intake.auditchain.checkpoint import (
    generate_key_pair,
    issue_checkpoint,
    load_public_key,
    read_checkpoint,
    verify_against,
    write_checkpoint,
)
from extranet_intake.errors import ConfigError
from extranet_intake.intake.checkpoints import private_key, relative_to_config
from extranet_intake.intake.commands.options import ConfigOpt, JsonOpt, OrgOpt, config_from
from extranet_intake.intake.config import Config
from extranet_intake.provisioning.access_report import access_report, contract_owner
from extranet_intake.provisioning.engines import writer
from extranet_intake.provisioning.export import ExportFormat, export_entries
from extranet_intake.reasons import reason_text

__all__ = ["register"]

audit_app = typer.Typer(
    help="The hash-chained provisioning log: list, verify, checkpoint, export, access.", no_args_is_help=True
)

SinceOpt = Annotated[str | None, typer.Option("--since", help="From this date or ISO time (UTC).")]

_KEY_NAME = "audit-checkpoint.key"
_PUB_NAME = "audit-checkpoint.pub"


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main application."""
    app.add_typer(audit_app, name="audit")


# --- helpers (I/O at the edge) --------------------------------------------------------------------


def _engine(cfg: Config) -> Engine:
    from extranet_intake.intake.database import open_engine

    return open_engine(cfg.database_url)


def _when(value: str, option: str) -> date | datetime:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (yyyy-mm-dd) or ISO time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    when = _when(value, "--since")
    return when if isinstance(when, datetime) else datetime(when.year, when.month, when.day, tzinfo=UTC)


def _relative(cfg: Config, name: str) -> Path:
    return relative_to_config(cfg, name)


def _private_key(cfg: Config) -> Ed25519PrivateKey:
    return private_key(cfg)


def _public_key(cfg: Config, override: Path | None) -> Ed25519PublicKey:
    name = str(override) if override else cfg.audit.checkpoint_public_key_file
    if name:
        path = _relative(cfg, name)
        try:
            return load_public_key(path.read_bytes())
        except OSError as exc:
            raise ConfigError(
                "audit-key-unreadable",
                f"cannot read the public key file {path}",
                key="audit.checkpoint_public_key_file",
            ) from exc
    return _private_key(cfg).public_key()


def _read_public_key(path: Path | None) -> Ed25519PublicKey:
    assert path is not None
    try:
        return load_public_key(path.read_bytes())
    except OSError as exc:
        raise ConfigError("audit-key-unreadable", f"cannot read the public key file {path}") from exc


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    # the code stays as recorded (the chain hashes it); the words come from the reason catalogue
    return {
        **entry,
        "at": canonical_time(entry["at"]),
        "details": json.loads(entry["details"] or "{}"),
        "reason_text": reason_text(entry["reason"]),
    }


# --- commands -------------------------------------------------------------------------------------


@audit_app.command("log")
def log_command(
    config: ConfigOpt = None,
    org: OrgOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N entries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List audit entries in order, optionally for one organisation and from a date."""
    cfg = config_from(config)
    with _engine(cfg).connect() as conn:
        entries = iter_entries(conn, org=org, since=_since(since), limit=limit)
        if as_json:
            _echo_json([_entry_json(e) for e in entries])
            return
        table = Table("seq", "at (UTC)", "actor", "action", "org", "login", "document", "reason")
        for e in entries:
            table.add_row(
                str(e["seq"]),
                canonical_time(e["at"])[:19],
                e["actor"],
                e["action"],
                e["org"] or "",
                e["login"] or "",
                (e["document_sha256"] or "")[:12],
                reason_text(e["reason"]),
            )
        Console(soft_wrap=True).print(table)


@audit_app.command("verify")
def verify_command(
    config: ConfigOpt = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Signed checkpoint file (catches truncation and rewrites).")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Public key PEM (default: from the configuration).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Verify this database (an auditor needs no configuration "
            "file: --database-url URL --public-key F --checkpoint F).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the chain; exit 1 naming the first bad sequence number, 0 with the count when intact."""
    cfg = config_from(config) if config is not None or database_url is None else None
    cp = read_checkpoint(checkpoint) if checkpoint else None
    key: Ed25519PublicKey | None = None
    if cp is not None:
        if cfg is None and public_key is None:
            raise ConfigError("audit-key-missing", "--checkpoint without a configuration needs --public-key FILE")
        key = _public_key(cfg, public_key) if cfg is not None else _read_public_key(public_key)
    if database_url:
        from extranet_intake.provisioning.engines import make_engine

        engine = make_engine(database_url)  # an auditor's check reads only: no migration
    else:
        assert cfg is not None
        engine = _engine(cfg)
    try:
        with engine.connect() as conn:
            report = verify_against(conn, cp, key)
    finally:
        engine.dispose()
    if as_json:
        _echo_json(report.as_dict())
    elif report.ok:
        pinned = f", matches checkpoint at {report.checkpoint_seq}" if report.checkpoint_seq else ""
        typer.echo(
            f"ok: {report.count} entries, head {report.last_hash[:16]}…{pinned} "
            f"({report.count / max(report.seconds, 1e-9):,.0f} entries/s)"
        )
    else:
        typer.echo(f"BROKEN at entry {report.first_bad_seq} ({report.problem}): {report.message}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("keygen")
def keygen_command(out: Annotated[Path, typer.Option("--out", help="Folder for the key pair.")]) -> None:
    """Create an Ed25519 key pair for checkpoints (private key file mode 0600; keep it off the database host)."""
    out.mkdir(parents=True, exist_ok=True)
    private, public = out / _KEY_NAME, out / _PUB_NAME
    if private.exists() or public.exists():
        raise ConfigError("audit-key-exists", f"a key pair already exists in {out}; refusing to overwrite it")
    pair = generate_key_pair()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pair.private_pem)
    public.write_bytes(pair.public_pem)
    typer.echo(
        f"private key: {private}\npublic key:  {public}\n"
        "set audit.checkpoint_key_file (or $EXTRANET_AUDIT_KEY) to the private key "
        "and audit.checkpoint_public_key_file to the public key"
    )


@audit_app.command("checkpoint")
def checkpoint_command(
    out: Annotated[Path, typer.Option("--out", help="Checkpoint file to write.")],
    config: ConfigOpt = None,
    by: Annotated[str, typer.Option("--by", help="Who issues it (audited).")] = "ops",
    as_json: JsonOpt = False,
) -> None:
    """Verify the chain, then sign its head (seq + hash) with the checkpoint key into FILE."""
    cfg = config_from(config)
    key = _private_key(cfg)
    with Session(writer(_engine(cfg))) as session:  # verifies then appends: BEGIN IMMEDIATE
        cp = issue_checkpoint(session, key, actor=by, at=datetime.now(UTC))
        session.commit()
    write_checkpoint(cp, out)
    if as_json:
        _echo_json({"seq": cp.seq, "head_hash": cp.head_hash, "key_id": cp.key_id, "file": str(out)})
    else:
        typer.echo(f"checkpoint of entry {cp.seq} (head {cp.head_hash[:16]}…, key {cp.key_id}) written to {out}")


@audit_app.command("export")
def export_command(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="xlsx or csv.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    config: ConfigOpt = None,
    org: OrgOpt = None,
    since: SinceOpt = None,
) -> None:
    """Export the log as XLSX or CSV; cells that look like formulas stay text."""
    cfg = config_from(config)
    with _engine(cfg).connect() as conn:
        count = export_entries(iter_entries(conn, org=org, since=_since(since)), fmt=fmt, out=out)
    typer.echo(f"{count} entries written to {out}")


@audit_app.command("access")
def access_command(
    at: Annotated[str, typer.Option("--at", help="Date (whole UTC day) or ISO time.")],
    config: ConfigOpt = None,
    org: OrgOpt = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Contract number.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Who held which profile on which contracts at that date, rebuilt from the log."""
    cfg = config_from(config)
    when = _when(at, "--at")
    contract = contract.strip().upper() if contract is not None else None
    with _engine(cfg).connect() as conn:
        if contract is not None and contract_owner(conn, contract) is None:
            typer.echo(
                f"warning: [contract-not-in-register] contract {contract} is not in the contract register: "
                "only the accounts that name it are listed, no organisation's all-contracts users "
                "(import the register with `contracts import`)",
                err=True,
            )
        grants = access_report(conn, at=when, org=org, contract=contract)
    if as_json:
        _echo_json([g.as_dict() for g in grants])
        return
    table = Table("org", "login", "profile", "scope", "contracts", "since", "until", "confirmed by review")
    for g in grants:
        table.add_row(
            g.org or "",
            g.login + (" (legacy)" if g.legacy else ""),
            g.profile or "?",
            g.scope or "?",
            ", ".join(g.contracts),
            canonical_time(g.since)[:19] if g.since else "before the log",
            canonical_time(g.until)[:19] if g.until else "",
            str(g.confirmed_by_campaign) if g.confirmed_by_campaign is not None else "",
        )
    Console(soft_wrap=True).print(table)


@audit_app.command("show")
def show_command(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    config: ConfigOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Copy the original document to this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one entry and open its source document from the store (checked against its SHA-256)."""
    from extranet_intake.intake.store import DocumentStore

    cfg = config_from(config)
    store = DocumentStore(cfg.store.path)
    with _engine(cfg).connect() as conn:
        entry, data = source_document(conn, seq, open_document=store.open)
    if out is not None:
        out.write_bytes(data)
    info = {
        **_entry_json(entry),
        "document_path": str(store.path(entry["document_sha256"])),
        "document_bytes": len(data),
        "copied_to": str(out) if out else None,
    }
    if as_json:
        _echo_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key:>16}: {value}")
