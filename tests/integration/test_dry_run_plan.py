"""`run --dry-run` reads every source with the pollers' own code: dry, then real, over the samples give one plan.

Each sample source (IMAP on the real Dovecot, Maildir, the drop folder) gets the samples' messages or
posted forms, and one thing a run treats in its own way: a message flagged \\Deleted (a run searches
UNDELETED), a part over the Maildir's own part cap (a run opens Maildir messages with the Maildir's
limits, not IMAP's), a scan still being written (younger than ``stable_seconds``; a drop file is dated
by its mtime). The dry run must show, document by document and in the same order, what the real run
then does: the same originals, named by the same source, read and decided the same way.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient

from extranet_intake.intake.config import Config, load_config
from extranet_intake.intake.operations import dry_run, run_once
from extranet_intake.intake.pipeline import RunReport
from extranet_intake.intake.progress import SilentProgress
from tests.fixtures.dovecot import ImapAccount

PASSWORD_ENV = "DRY_RUN_IMAP_PASSWORD"
#: below the samples' PDF fiches (~30 kB), above their agreements and MU fiches (~18 kB)
MAILDIR_PART_CAP = 20_000
Plan = list[tuple[str, str, str | None, str | None, str, str, tuple[str, ...]]]


def _plan(report: RunReport) -> Plan:
    """Per document: content, source, form, organisation, read, decided, and the rule's reasons (the dry
    run adds the mails it would queue, which a real run's report names elsewhere)."""
    return [
        (
            d.sha256,
            d.source,
            d.form_id,
            d.org,
            d.parse,
            d.outcome,
            tuple(r for r in d.reasons if not r.startswith("mail ")),
        )
        for d in report.documents
    ]


def _config(root: Path, db_url: str, source: str, imap: ImapAccount | None) -> Config:
    imap_part = "enabled = false"
    if imap is not None:
        imap_part = (
            f'enabled = true\nhost = "127.0.0.1"\nport = {imap.server.port}\ntls = "none"\n'
            f'user = "{imap.user}"\npassword_env = "{PASSWORD_ENV}"'
        )
    path = root / "extranet-intake.toml"
    path.write_text(
        f"""
[database]
url = "{db_url}"

[run]
data_dir = "var"

[sources.maildir]
enabled = {str(source == "maildir").lower()}
path = "Maildir"
max_part_bytes = {MAILDIR_PART_CAP}

[sources.drop]
enabled = {str(source == "drop").lower()}
path = "drop"
archive = "drop-archive"
stable_seconds = 600

[sources.imap]
{imap_part}

[mail]
transport = "file"
""",
        encoding="utf-8",
    )
    return load_config(path)


def _messages(manifest: dict[str, Any], samples: Path) -> list[bytes]:
    return [(samples / m["path"]).read_bytes() for m in manifest["messages"]]


def _deliver_maildir(maildir: Path, raws: list[bytes]) -> None:
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    base = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    for i, raw in enumerate(raws):
        path = maildir / "new" / f"{base + i}.M{i}P1.host"
        path.write_bytes(raw)
        os.utime(path, (base + i, base + i))  # a distinct mtime each: the order they came in


def _deliver_drop(drop: Path, manifest: dict[str, Any], samples: Path) -> None:
    drop.mkdir(parents=True, exist_ok=True)
    base = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    for i, d in enumerate(manifest["drop"]):
        target = drop / Path(d["path"]).name
        shutil.copyfile(samples / d["path"], target)
        os.utime(target, (base + 60 * i, base + 60 * i))
    # a scan still being written: a run leaves it for later
    shutil.copyfile(samples / manifest["drop"][0]["path"], drop / "scan-being-written.pdf")
    with (drop / "scan-being-written.pdf").open("ab") as f:
        f.write(b"\n% more pages coming\n")


def _flag_deleted(imap: ImapAccount, count: int) -> None:
    """Flag the first ``count`` messages of INBOX \\Deleted (someone's delete, not expunged yet)."""
    with IMAPClient("127.0.0.1", port=imap.server.port, ssl=False) as client:
        client.login(imap.user, imap.password)
        client.select_folder("INBOX")
        uids = sorted(client.search("ALL"))[:count]
        client.add_flags(uids, [b"\\Deleted"])


@pytest.fixture
def imap_password(imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch) -> ImapAccount:
    monkeypatch.setenv(PASSWORD_ENV, imap_account.password)
    return imap_account


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("source", ["imap", "maildir", "drop"])
def test_the_dry_run_plans_what_the_run_then_does(
    source: str,
    tmp_path: Path,
    db_url: str,
    request: pytest.FixtureRequest,
    manifest: dict[str, Any],
    samples_dir: Path,
) -> None:
    imap: ImapAccount | None = None
    if source == "imap":
        imap = request.getfixturevalue("imap_password")
        imap.deliver_many(_messages(manifest, samples_dir))
        _flag_deleted(imap, 1)
    cfg = _config(tmp_path, db_url, source, imap)
    if source == "maildir":
        _deliver_maildir(cfg.sources.maildir.path, _messages(manifest, samples_dir))
    if source == "drop":
        _deliver_drop(cfg.sources.drop.path, manifest, samples_dir)

    dry = dry_run(cfg, reporter=SilentProgress())
    # read only: nothing stored, recorded, moved or created
    store = cfg.store.path
    assert not store.exists() or not any(store.rglob("*"))
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM file_ledger")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM imap_ledger")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM imap_folder")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM document")).scalar() == 0
    engine.dispose()
    if imap is not None:
        assert len(imap.files("INBOX")) == len(manifest["messages"])
        assert not imap.folder_path("Processed").exists()
    assert not (cfg.sources.maildir.path / ".Processed").exists()
    assert not cfg.sources.drop.archive.exists()

    real = run_once(cfg, reporter=SilentProgress(), send=False)

    assert real.ok, real.failures
    assert real.documents, "the samples gave the run documents to decide"
    assert _plan(dry) == _plan(real)
    if source == "maildir":  # the Maildir's own part cap kept the big fiches out, the small forms in
        sizes = {
            a["sha256"]: (samples_dir / a["document"]).stat().st_size
            for m in manifest["messages"]
            for a in m["attachments"]
        }
        assert all(sizes[d.sha256] <= MAILDIR_PART_CAP for d in real.documents)
        assert any(size > MAILDIR_PART_CAP for size in sizes.values())
    if source == "drop":
        assert not any("scan-being-written" in d.source for d in real.documents)
    again = dry_run(cfg, reporter=SilentProgress())
    assert _plan(again) == [], "after the run, nothing is left to plan"
