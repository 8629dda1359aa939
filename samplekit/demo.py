"""The embedded demo: the whole product over the committed samples, on SQLite, Maildir, drop folder, file outbox.

It types the commands an ops engineer and a reviewer would type, in a fresh ``./demo`` folder,
and says what each step shows. Run it with ``scripts/demo`` (or ``python -m samplekit.demo``).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlmodel import Session

from extranet_intake.intake.cli import main as cli
from extranet_intake.intake.config import ReviewConfig, load_config
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.models import ReviewStatus
from extranet_intake.provisioning.review import list_reviews

__all__ = ["REVIEWER", "REVIEWER_DISPLAY", "SECOND_REVIEWER", "run_demo"]

#: the demo reviewer's staff account (`review --by` must name an active one) and the name pages show
REVIEWER = "an.demo"
REVIEWER_DISPLAY = "An Demo (Life Second Pillar)"
#: the second pair of eyes on agreements and Master User designations (``[review] approvals_required``)
SECOND_REVIEWER = "bert.demo"
SECOND_REVIEWER_DISPLAY = "Bert Demo (Life Second Pillar)"
#: the auditor and the admin who open the audit room and the ops page of the demo's desk
AUDITOR, ADMIN = "audrey.demo", "olga.demo"
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"

CONFIG = """\
# Embedded defaults, spelled out: SQLite, a Maildir, a drop folder and a file outbox under ./var
[run]
data_dir = "var"

[sources.drop]
stable_seconds = 0      # the demo drops its files at once; production waits for scanners to finish

[audit]
checkpoint_key_file = "keys/audit-checkpoint.key"
checkpoint_public_key_file = "keys/audit-checkpoint.pub"
"""


def run_demo(folder: Path, *, console: Console) -> int:
    manifest: dict[str, Any] = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    config = folder / "extranet-intake.toml"
    config.write_text(CONFIG, encoding="utf-8")
    cfg = load_config(config)
    failures = 0

    def step(title: str, explain: str) -> None:
        console.print()
        console.print(Panel(explain, title=f"[bold]{title}", title_align="left", border_style="red"))

    def run(*args: str, expect: int = 0, configured: bool = True) -> None:
        nonlocal failures
        console.print(f"[bold cyan]$ extranet-intake {' '.join(args)}")
        code = cli([*args, "--config", str(config)] if configured else list(args))
        if code != expect:
            failures += 1
            console.print(f"[red]exit code {code}, expected {expect}")

    step(
        "1. Set up",
        "A fresh deployment on embedded defaults: database, folders, the contract register and "
        "the old Extranet's accounts (whose logins are revoked when an organisation's new access opens).",
    )
    run("init")
    run("staff", "add", REVIEWER, "--role", "reviewer", "--display-name", REVIEWER_DISPLAY)
    run("staff", "add", SECOND_REVIEWER, "--role", "reviewer", "--display-name", SECOND_REVIEWER_DISPLAY)
    run("contracts", "import", str(SAMPLES / "contracts.xlsx"))
    run("legacy", "import", str(SAMPLES / "legacy_accounts.xlsx"))
    run("audit", "keygen", "--out", str(folder / "keys"), configured=False)

    def deliver(wave: int) -> None:
        for msg in manifest["messages"]:
            if msg["wave"] == wave:
                name = Path(msg["path"]).stem
                shutil.copy(SAMPLES / msg["path"], cfg.sources.maildir.path / "new" / f"{name}.demo:2,")
                console.print(f"  mail  [green]{msg['from']:<42}[/] {msg['description'][:70]}")
        for drop in manifest.get("drop", []):
            if drop["wave"] == wave:
                shutil.copy(SAMPLES / drop["path"], cfg.sources.drop.path / Path(drop["path"]).name)
                console.print(f"  post  [green]{Path(drop['path']).name:<42}[/] scanned by the team")

    step(
        "2. Forms arrive",
        "Wave 1: three organisations send their agreement, Master User fiche and user fiches "
        "by e-mail (one forwards them, one sender is not the Master User, one fails DMARC, one header is forged), "
        "one organisation posts paper forms that the team drops in the scan folder; a form of another "
        "platform and a mail without any form come in too.",
    )
    (cfg.sources.maildir.path / "new").mkdir(parents=True, exist_ok=True)
    deliver(1)
    step("3. What would happen?", "A dry run reads the sources without touching them and shows every plan.")
    run("run", "--dry-run")
    step(
        "4. The daily run",
        "Everything is stored byte for byte, read, checked against the dossier rules. "
        "Agreements and Master User fiches always wait for a person; nothing is provisioned yet.",
    )
    run("run")
    run("orgs", "list")
    step(
        "5. The review queue",
        "The Life Second Pillar team checks signatures and authority. "
        f"{REVIEWER_DISPLAY} decides each item as the samples' manifest says (approve, or reject with a "
        "reason the Master User is told).",
    )
    run("review", "list")
    _decide_reviews(cfg.database_url, manifest, run)
    step(
        "6. The next run",
        "Approvals took effect: each dossier is complete, so accounts open, legacy logins are "
        "revoked, credentials go to each user's own fiche address, notices to the agreement and Master User.",
    )
    run("run")
    step(
        "7. Changes",
        "Wave 2: a Master User modifies and revokes accounts; the run applies them at once when the "
        "mail is authenticated and comes from the current Master User's address.",
    )
    deliver(2)
    run("run")
    _decide_reviews(cfg.database_url, manifest, run)
    run("run")
    step("8. The result", "Accounts with their profile and contracts, and who received which mail.")
    run("orgs", "list")
    run("users", "list")
    _show_outbox(cfg.mail.outbox_dir, console)
    step("9. For the auditors", "The provisioning log is hash-chained; a signed checkpoint pins its head.")
    run("audit", "verify")
    run("audit", "checkpoint", "--out", str(folder / "checkpoint.json"), "--by", REVIEWER)
    run("audit", "verify", "--checkpoint", str(folder / "checkpoint.json"))
    run("status")
    step(
        "10. The desk",
        "The same data in the web application: the review desk, the audit room and the ops "
        "page, each for its role; every decision there is signed by the person signed in.",
    )
    run("staff", "add", AUDITOR, "--role", "auditor", "--display-name", "Audrey Demo (audit)")
    run("staff", "add", ADMIN, "--role", "admin", "--display-name", "Olga Demo (operations)")
    console.print()
    if failures:
        console.print(f"[red bold]demo finished with {failures} unexpected exit code(s)")
        return 1
    _desk_ready(folder, config, cfg.database_url, cfg.web.session_secret_env, console)
    console.print(
        f"[green bold]demo finished[/] — everything is in {folder} (database, store, outbox, reports); "
        f"try: .venv/bin/extranet-intake --config {config} audit log"
    )
    return 0


def _desk_ready(folder: Path, config: Path, database_url: str, secret_env: str, console: Console) -> None:
    """Fresh passwords for the demo's staff (shown once, here) and a session secret in an owner-only file,
    so that one command opens the desk on the demo data."""
    from extranet_intake.provisioning.staff import reset_staff_password

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            accounts = [
                (name, role, reset_staff_password(session, name, actor="demo"))
                for name, role in (
                    (REVIEWER, "reviewer"),
                    (SECOND_REVIEWER, "reviewer"),
                    (AUDITOR, "auditor"),
                    (ADMIN, "admin"),
                )
            ]
            session.commit()
    finally:
        engine.dispose()
    env = folder / "web-session.env"
    fd = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"{secret_env}={secrets.token_urlsafe(48)}\n")
    table = Table(title="Demo staff accounts of the desk (passwords shown once; `staff reset NAME` makes new ones)")
    for column in ("name", "role", "password"):
        table.add_column(column)
    for name, role, password in accounts:
        table.add_row(name, role, password)
    console.print(table)
    console.print("[bold]Open the desk on the demo data:[/]")
    console.print(f"  set -a; . {env}; set +a; .venv/bin/extranet-intake --config {config} web --port 8000")
    console.print("  then browse to http://127.0.0.1:8000/login")


def _decide_reviews(database_url: str, manifest: dict[str, Any], run: Any) -> None:
    decisions = {d["sha256"]: d.get("review") or {} for d in manifest["documents"]}
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            items = list_reviews(session, status=ReviewStatus.OPEN)
    finally:
        engine.dispose()
    for item in items:
        review = decisions.get(item.document_sha256 or "", {})
        reason = review.get("reason") or "checked by the team"
        if review.get("decision") == "approve":
            run("review", "approve", str(item.id), "--by", REVIEWER, "--reason", reason)
            if ReviewConfig().required_for(item.form_id) > 1:
                run("review", "approve", str(item.id), "--by", SECOND_REVIEWER, "--reason", reason)
        else:
            run("review", "reject", str(item.id), "--by", REVIEWER, "--reason", reason)


def _show_outbox(outbox: Path, console: Console) -> None:
    table = Table(title=f"Mails written to the file outbox ({outbox})")
    table.add_column("to")
    table.add_column("subject")
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        table.add_row(str(msg["To"]), str(msg["Subject"]))
    console.print(table)
    console.print(
        "No CC, no BCC; credentials only to the address on the user's own fiche. The temporary "
        "passwords are in these files only — the database holds their argon2id hashes."
    )


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "demo"
    # piped into a file or a pager, rich would assume 80 columns and wrap every table
    os.environ.setdefault("COLUMNS", "140")
    return run_demo(folder, console=Console())


if __name__ == "__main__":
    sys.exit(main())
