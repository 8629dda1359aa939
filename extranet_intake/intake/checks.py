"""``config check``: the configuration, database, IMAP, SMTP and folder permissions checked, nothing changed.

Each check gives one line (ok / warn / FAIL, what, detail with a code). The checks only read: the
database is queried in one SELECT (never migrated), the IMAP folders are looked up (never created),
the SMTP session ends before MAIL FROM.
"""

from __future__ import annotations

import asyncio
import ssl
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from extranet_intake.errors import IntakeError
from extranet_intake.intake.config import Config, TlsMode

__all__ = ["Check", "CheckStatus", "check_deployment", "check_paths", "check_signature_roots"]


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    status: CheckStatus
    what: str
    detail: str

    def line(self) -> str:
        return f"{self.status.value:<5} {self.what:<9} {self.detail}"


def check_deployment(cfg: Config) -> list[Check]:
    """Every check of a loaded configuration, in order: database, IMAP, SMTP, folders."""
    checks = [check_database(cfg)]
    if cfg.sources.imap.enabled:
        checks.extend(check_imap(cfg))
    if cfg.mail.transport == "smtp":
        checks.append(check_smtp(cfg))
    checks.extend(check_paths(cfg))
    if cfg.signatures.trusted_roots:
        checks.append(check_signature_roots(cfg))
    return checks


def check_signature_roots(cfg: Config) -> Check:
    """The trusted roots of digital signatures: readable certificates, none expired."""
    from datetime import UTC, datetime

    from cryptography import x509

    from extranet_intake.intake.parsing import read_trusted_roots

    try:
        blobs = read_trusted_roots(cfg.signatures)
    except IntakeError as exc:
        return _fail("signatures", exc)
    certs = [
        c
        for b in blobs
        for c in (x509.load_pem_x509_certificates(b) if b"-----BEGIN" in b else [x509.load_der_x509_certificate(b)])
    ]
    now = datetime.now(UTC)
    expired = [c.subject.rfc4514_string() for c in certs if c.not_valid_after_utc < now]
    if expired:
        return Check(
            CheckStatus.WARN, "signatures", f"[signatures-root-expired] expired trusted root(s): {'; '.join(expired)}"
        )
    return Check(CheckStatus.OK, "signatures", f"{len(certs)} trusted root certificate(s) readable")


def _fail(what: str, exc: IntakeError) -> Check:
    return Check(CheckStatus.FAIL, what, f"[{exc.code}] {exc.message}")


def check_database(cfg: Config) -> Check:
    from sqlalchemy.engine import make_url

    from extranet_intake.intake.database import head_revision, schema_revision
    from extranet_intake.provisioning.engines import make_engine

    url = make_url(cfg.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return Check(
            CheckStatus.FAIL,
            "database",
            f"[database-missing] no database at {url.database}: run `extranet-intake init`",
        )
    engine = make_engine(cfg.database_url)
    try:
        found = schema_revision(engine)
    except Exception as exc:  # any driver error: unreachable, refused, bad credentials, locked
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else ""
        return Check(CheckStatus.FAIL, "database", f"[database-unreachable] {shown}: {type(exc).__name__}: {first}")
    finally:
        engine.dispose()
    head = head_revision()
    if found != head:
        return Check(
            CheckStatus.FAIL,
            "database",
            f"[database-schema-outdated] {shown} is at {found or 'nothing'}, "
            f"this program needs {head}: run `extranet-intake migrate`",
        )
    return Check(CheckStatus.OK, "database", f"{shown} reachable, schema at {head}")


def check_imap(cfg: Config) -> list[Check]:
    from extranet_intake.intake.sources.imap import connect

    imap = cfg.sources.imap
    where = f"{imap.user}@{imap.host}:{imap.port} ({imap.tls.value})"
    try:
        client = connect(imap, password=cfg.secret(imap.password_env, key="sources.imap.password_env"))
    except IntakeError as exc:
        return [_fail("imap", exc)]
    checks = [Check(CheckStatus.OK, "imap", f"logged in as {where}")]
    try:
        if client.folder_exists(imap.folder):
            checks.append(Check(CheckStatus.OK, "imap", f"folder {imap.folder!r} exists"))
        else:
            checks.append(
                Check(
                    CheckStatus.FAIL,
                    "imap",
                    f"[imap-folder-missing] folder {imap.folder!r} does not exist: nothing would ever be read",
                )
            )
        for folder in (imap.processed_folder, imap.failed_folder):
            if client.folder_exists(folder):
                checks.append(Check(CheckStatus.OK, "imap", f"folder {folder!r} exists"))
            else:
                checks.append(
                    Check(
                        CheckStatus.WARN,
                        "imap",
                        f"[imap-folder-missing] folder {folder!r} does not exist yet (the first run creates it)",
                    )
                )
    finally:
        client.logout()
    return checks


def check_smtp(cfg: Config) -> Check:
    import aiosmtplib

    smtp = cfg.mail.smtp
    try:
        password = cfg.secret(smtp.password_env, key="mail.smtp.password_env") if smtp.user else ""
    except IntakeError as exc:
        return _fail("smtp", exc)
    if smtp.tls is TlsMode.NONE and smtp.host not in ("127.0.0.1", "::1", "localhost"):
        return Check(CheckStatus.FAIL, "smtp", "[smtp-plaintext-refused] mail.smtp.tls = 'none' is for loopback only")
    context = ssl.create_default_context(cafile=smtp.ca_file or None) if smtp.tls is not TlsMode.NONE else None

    async def probe() -> str:
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout_seconds,
            use_tls=smtp.tls is TlsMode.IMPLICIT,
            start_tls=smtp.tls is TlsMode.STARTTLS,
            tls_context=context,
            username=smtp.user or None,
            password=password or None,
        )
        await client.connect()  # EHLO, STARTTLS when asked (refused if the server lacks it), AUTH when a user
        try:
            steps = [
                "connected",
                {TlsMode.IMPLICIT: "TLS", TlsMode.STARTTLS: "STARTTLS", TlsMode.NONE: "no TLS"}[smtp.tls],
            ]
            steps.append(f"AUTH as {smtp.user}" if smtp.user else "no AUTH configured")
            return ", ".join(steps)
        finally:
            await client.quit()

    try:
        done = asyncio.run(probe())
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Check(CheckStatus.FAIL, "smtp", f"[smtp-auth] the SMTP server refused our login (code {exc.code})")
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return Check(CheckStatus.FAIL, "smtp", f"[smtp-connect] {smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}")
    return Check(CheckStatus.OK, "smtp", f"{smtp.host}:{smtp.port} {done}")


def _state_paths(cfg: Config) -> list[tuple[str, Path, bool]]:
    """(what, path, is a folder) of everything that holds state."""
    from sqlalchemy.engine import make_url

    paths = [
        ("data folder", cfg.run.data_dir, True),
        ("store", cfg.store.path, True),
        ("outbox", cfg.mail.outbox_dir, True),
        ("reports", cfg.run.report_dir, True),
    ]
    if cfg.sources.maildir.enabled:
        paths.append(("maildir", cfg.sources.maildir.path, True))
    if cfg.sources.drop.enabled:
        paths += [("drop", cfg.sources.drop.path, True), ("drop archive", cfg.sources.drop.archive, True)]
    url = make_url(cfg.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        db = Path(url.database)
        paths += [("database", db, False), ("database", db.with_name(db.name + "-wal"), False)]
    paths.append(("run lock", cfg.run.lock_file, False))
    return paths


def check_paths(cfg: Config) -> list[Check]:
    """Warn about folders and files that others than owner and group may read (or a key that group may)."""
    checks: list[Check] = []
    loose: list[str] = []
    for what, path, folder in _state_paths(cfg):
        try:
            st = path.stat()
        except FileNotFoundError:
            if folder:
                checks.append(
                    Check(
                        CheckStatus.WARN,
                        "folders",
                        f"[path-missing] {what} {path} does not exist (run `extranet-intake init`)",
                    )
                )
            continue
        mode = stat.S_IMODE(st.st_mode)
        if mode & stat.S_IRWXO:
            loose.append(f"{what} {path} ({mode:04o})")
        if folder and what in ("reports", "outbox"):
            for child in sorted(path.iterdir()):
                child_mode = stat.S_IMODE(child.lstat().st_mode)
                if child_mode & stat.S_IRWXO:
                    loose.append(f"{what} file {child} ({child_mode:04o})")
    for key_file in (cfg.audit.checkpoint_key_file,):
        if key_file:
            path = (
                Path(key_file)
                if Path(key_file).is_absolute()
                else ((cfg.source.parent if cfg.source else Path.cwd()) / key_file)
            )
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                loose.append(f"checkpoint key {path} ({stat.S_IMODE(path.stat().st_mode):04o}, should be 0600)")
    for item in loose:
        checks.append(
            Check(
                CheckStatus.WARN,
                "folders",
                f"[path-permissions-loose] {item} is readable by others: chmod o-rwx (the data are personal)",
            )
        )
    if not loose:
        checks.append(Check(CheckStatus.OK, "folders", "no state readable by others than owner and group"))
    return checks
