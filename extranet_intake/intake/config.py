"""Configuration: one TOML file (``--config`` / ``EXTRANET_INTAKE_CONFIG``), embedded defaults, env secrets.

Every key is checked before anything runs; a wrong key or value is a ``ConfigError`` naming the
file and the key. Relative paths are relative to the file's folder (or the working directory when
no file is given); every state path the file leaves unset lies inside ``run.data_dir``. Secrets are
never stored here: only the *name* of the environment variable.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, get_type_hints

from extranet_intake.errors import ConfigError
from extranet_intake.mailer.defaults import CONCURRENCY, MAX_ATTEMPTS, SMTP_PORT, SMTP_TIMEOUT_SECONDS
from extranet_intake.mailer.identity import LOGIN_URL, SERVICE_ADDRESS
from extranet_intake.provisioning.policy import CREDENTIALS_VALIDITY_HOURS, EXPIRY_WARNING_DAYS

__all__ = [
    "AccessReviewConfig",
    "AuditConfig",
    "Config",
    "CookieSecure",
    "CredentialsConfig",
    "DatabaseConfig",
    "DropConfig",
    "ImapConfig",
    "MailConfig",
    "MaildirConfig",
    "OidcConfig",
    "OidcRoles",
    "ParsingConfig",
    "RunConfig",
    "SmtpConfig",
    "SourcesConfig",
    "StoreConfig",
    "TlsMode",
    "TrustConfig",
    "WebConfig",
    "load_config",
]

ENV_VAR = "EXTRANET_INTAKE_CONFIG"


class TlsMode(StrEnum):
    IMPLICIT = "implicit"  # TLS from the first byte (IMAPS 993, SMTPS 465)
    STARTTLS = "starttls"
    NONE = "none"  # loopback tests only


@dataclass
class DatabaseConfig:
    #: SQLAlchemy URL; default is an SQLite file in the data folder (WAL)
    url: str = ""


@dataclass
class StoreConfig:
    path: Path = Path("var/store")


@dataclass
class ParsingConfig:
    max_bytes: int = 20 * 1024 * 1024
    timeout_seconds: float = 30.0
    memory_mb: int = 1024
    #: per-field OCR confidence under which a scan goes to review with its values prefilled
    ocr_min_confidence: float = 0.90
    ocr_page_timeout_seconds: float = 20.0


@dataclass
class SignaturesConfig:
    #: PEM or DER certificates the digital signatures of agreements and Master User fiches must chain up
    #: to (production: the Belgian eID roots); none configured: every signature is reported untrusted
    trusted_roots: list[Path] = field(default_factory=list)


@dataclass
class MaildirConfig:
    enabled: bool = True
    path: Path = Path("var/maildir")
    max_attempts: int = 3
    max_message_bytes: int = 50 * 1024 * 1024
    max_part_bytes: int = 20 * 1024 * 1024
    #: Maildir++ sub-folder (``.<name>``) for mails a person must read: no form, or every form refused
    people_folder: str = "Te behandelen"


@dataclass
class DropConfig:
    enabled: bool = True
    path: Path = Path("var/drop")
    archive: Path = Path("var/drop-archive")
    stable_seconds: float = 5.0
    max_bytes: int = 50 * 1024 * 1024


@dataclass
class ImapConfig:
    enabled: bool = False
    host: str = ""
    port: int = 993
    tls: TlsMode = TlsMode.IMPLICIT
    user: str = ""
    password_env: str = "EXTRANET_IMAP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    #: mails a person must read (no form, or every form refused): moved here unread, created if missing
    people_folder: str = "Te behandelen"
    max_attempts: int = 3
    batch_size: int = 200
    timeout_seconds: float = 60.0
    max_message_bytes: int = 50 * 1024 * 1024
    max_part_bytes: int = 20 * 1024 * 1024
    #: CA bundle to trust (test certificates); empty = system store
    ca_file: str = ""
    #: reconnects within one run after the connection drops (the ledger makes resuming safe)
    reconnect_attempts: int = 2


@dataclass
class SourcesConfig:
    maildir: MaildirConfig = field(default_factory=MaildirConfig)
    drop: DropConfig = field(default_factory=DropConfig)
    imap: ImapConfig = field(default_factory=ImapConfig)


@dataclass
class TrustConfig:
    #: authserv-id(s) of the receiving gateway whose Authentication-Results header is believed
    trusted_authserv_ids: list[str] = field(default_factory=lambda: ["mx.ethias.be"])
    #: false for gateways that add no Authentication-Results: then the sender address alone counts
    require_dmarc: bool = True


@dataclass
class SmtpConfig:
    host: str = ""
    port: int = SMTP_PORT
    tls: TlsMode = TlsMode.STARTTLS
    user: str = ""
    password_env: str = "EXTRANET_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
    timeout_seconds: float = SMTP_TIMEOUT_SECONDS
    concurrency: int = CONCURRENCY
    #: CA bundle to trust (test certificates); empty = system store
    ca_file: str = ""


@dataclass
class MailConfig:
    transport: str = "file"  # "file" | "smtp"
    from_address: str = SERVICE_ADDRESS
    #: where users sign in to the extranet: the credentials mail gives it (set it per deployment)
    login_url: str = LOGIN_URL
    outbox_dir: Path = Path("var/outbox")
    max_attempts: int = MAX_ATTEMPTS
    #: ``status`` exits 1 when a mail has waited to leave longer than this (0 = never)
    alert_after_minutes: int = 60
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass
class CredentialsConfig:
    validity_hours: int = CREDENTIALS_VALIDITY_HOURS
    length: int = 20
    #: argon2id cost of the temporary password's hash; OWASP's minimum for argon2id is enough for
    #: a random, single-use, 72-hour secret (docs/mail.md, "Temporary passwords")
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1


@dataclass
class AuditConfig:
    #: Ed25519 private key (PEM, or base64 of the 32-byte seed) signing checkpoints, read from this
    #: variable or file, never the database
    checkpoint_key_env: str = "EXTRANET_AUDIT_KEY"
    checkpoint_key_file: str = ""
    #: Ed25519 public key (PEM) that verifies checkpoints; empty = derived from the private key
    checkpoint_public_key_file: str = ""


def _default_approvals() -> dict[str, int]:
    return {"EAP-AGR": 2, "EAP-MU": 2, "EAP-USR": 1}


@dataclass
class ReviewConfig:
    #: distinct people who must approve a queued form of each kind before it takes effect (four eyes
    #: for the agreement and the Master User designation). A file naming only some kinds keeps the
    #: defaults of the others (lowering four eyes must be written down); a kind named nowhere needs one.
    approvals_required: dict[str, int] = field(default_factory=_default_approvals)

    def required_for(self, form_id: str) -> int:
        return {**_default_approvals(), **self.approvals_required}.get(form_id, 1)


@dataclass
class RunConfig:
    data_dir: Path = Path("var")
    lock_file: Path = Path("var/run.lock")
    report_dir: Path = Path("var/reports")
    #: Prometheus textfile-collector file written after each run (node_exporter reads ``*.prom``)
    metrics_file: Path = Path("var/metrics/extranet-intake.prom")
    expiry_warning_days: int = EXPIRY_WARNING_DAYS


class CookieSecure(StrEnum):
    AUTO = "auto"  # Secure when the request came over TLS (directly or per X-Forwarded-Proto of a trusted proxy)
    TRUE = "true"
    FALSE = "false"  # plain-HTTP development only


@dataclass
class OidcRoles:
    """Which values of the role claim give which desk role (a person with none of them is refused)."""

    reviewer: list[str] = field(default_factory=list)
    auditor: list[str] = field(default_factory=list)
    admin: list[str] = field(default_factory=list)


@dataclass
class OidcConfig:
    enabled: bool = False
    #: the provider's issuer URL; its /.well-known/openid-configuration is read at sign-in
    issuer: str = ""
    client_id: str = ""
    client_secret_env: str = "EXTRANET_OIDC_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
    #: claim (string or list of strings) mapped through ``roles``; empty = the account's own role
    role_claim: str = ""
    roles: OidcRoles = field(default_factory=OidcRoles)
    #: label of the sign-in button
    label: str = "Sign in with the company account"


@dataclass
class WebConfig:
    #: environment variable holding the key that signs cookies and CSRF tokens (at least 32 characters)
    session_secret_env: str = "EXTRANET_WEB_SESSION_SECRET"  # noqa: S105 - the variable's name, not a secret
    cookie_secure: CookieSecure = CookieSecure.AUTO
    session_idle_minutes: int = 30
    session_max_hours: int = 10
    #: failed sign-ins per name, and per client address, within the window before sign-in is refused
    throttle_max_failures: int = 5
    throttle_max_failures_per_address: int = 20
    throttle_window_minutes: int = 15
    #: bearer token that may read /metrics without a session (the variable's name; unset = admins only)
    metrics_token_env: str = "EXTRANET_METRICS_TOKEN"  # noqa: S105 - the variable's name, not a secret
    oidc: OidcConfig = field(default_factory=OidcConfig)


@dataclass
class AccessReviewConfig:
    """The yearly access review by each Master User (issue 18.2, docs/rules.md "Access review")."""

    #: days between ``review-access start`` and the due date when ``--due`` is not given
    due_days: int = 30
    #: reminders the daily run sends, in days before the due date (each once)
    reminder_days: list[int] = field(default_factory=lambda: [7, 1])
    #: suspend (never delete) the accounts of an organisation that did not answer by the due date
    suspend_overdue: bool = False


@dataclass
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    parsing: ParsingConfig = field(default_factory=ParsingConfig)
    signatures: SignaturesConfig = field(default_factory=SignaturesConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    run: RunConfig = field(default_factory=RunConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    web: WebConfig = field(default_factory=WebConfig)
    access_review: AccessReviewConfig = field(default_factory=AccessReviewConfig)
    #: the file this came from (None = embedded defaults)
    source: Path | None = None

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.run.data_dir / 'extranet-intake.db'}"

    def secret(self, env_name: str, *, key: str) -> str:
        value = os.environ.get(env_name, "")
        if not value:
            raise ConfigError(
                "secret-missing", f"environment variable {env_name} is not set", file=self.source, key=key
            )
        return value


def load_config(path: Path | str | None = None) -> Config:
    """Read the TOML file (or ``$EXTRANET_INTAKE_CONFIG``, or nothing: embedded defaults)."""
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        defaults = Config()
        _place_in_data_dir(defaults, {})
        _resolve_paths(defaults, Path.cwd())
        return defaults
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("config-not-found", f"configuration file not found: {p}", file=p) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config-syntax", f"configuration file is not valid TOML: {exc}", file=p) from exc
    cfg: Config = _build(Config, raw, p, "")
    _check_argon2(cfg.credentials, p)
    cfg.source = p
    _place_in_data_dir(cfg, raw)
    _resolve_paths(cfg, p.parent.resolve())
    return cfg


def _build(cls: type[Any], raw: dict[str, Any], file: Path, prefix: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name != "source"}
    for key in raw:
        if key not in known:
            raise ConfigError("config-unknown-key", f"unknown key {prefix}{key}", file=file, key=f"{prefix}{key}")
    obj = cls()
    for name in known:
        if name not in raw:
            continue
        value = _coerce(hints[name], raw[name], file, f"{prefix}{name}")
        if name.endswith("_env") and not _ENV_NAME.fullmatch(value):
            # Never echoed: what sits here by mistake is most often the secret itself.
            raise ConfigError(
                "config-bad-value",
                f"{prefix}{name} must be the name of an environment variable "
                "(letters, digits and _), not the secret itself",
                file=file,
                key=f"{prefix}{name}",
            )
        setattr(obj, name, value)
    return obj


def _check_argon2(c: CredentialsConfig, file: Path) -> None:
    # argon2 itself refuses these, but only when the first password is hashed, in the middle of a run
    if c.argon2_time_cost < 1 or c.argon2_parallelism < 1 or c.argon2_memory_kib < 8 * c.argon2_parallelism:
        raise ConfigError(
            "config-bad-value",
            "credentials.argon2_time_cost and argon2_parallelism must be at least "
            "1 and argon2_memory_kib at least 8 × argon2_parallelism",
            file=file,
            key="credentials.argon2_memory_kib",
        )


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _coerce(hint: Any, value: Any, file: Path, key: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError("config-bad-value", f"{key} must be {expected}, got {value!r}", file=file, key=key)

    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise bad("a table")
        return _build(hint, value, file, f"{key}.")  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a non-negative integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad("a non-negative number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise bad("a path")
        return Path(value)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        if isinstance(value, bool):
            value = "true" if value else "false"  # cookie_secure = true reads as naturally as "true"
        try:
            return hint(value)
        except ValueError:
            raise bad("one of " + ", ".join(m.value for m in hint)) from None
    if getattr(hint, "__origin__", None) is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 9
            for k, v in value.items()
        ):
            raise bad("a table of names to whole numbers from 1 to 9")
        return dict(value)
    if getattr(hint, "__origin__", None) is list and getattr(hint, "__args__", (str,)) == (int,):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        ):
            raise bad("a list of non-negative integers")
        return list(value)
    if getattr(hint, "__origin__", None) is list:
        if hint.__args__ == (Path,):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise bad("a list of paths")
            return [Path(v) for v in value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return list(value)
    raise bad(str(hint))  # pragma: no cover - a type this loader does not know is a programming error


#: every path that holds state, and its name inside ``run.data_dir`` when the file does not set it; so two
#: configurations with their own data_dir never share a store, outbox, lock … by accident
DATA_DIR_PATHS: dict[tuple[str, ...], str] = {
    ("store", "path"): "store",
    ("sources", "maildir", "path"): "maildir",
    ("sources", "drop", "path"): "drop",
    ("sources", "drop", "archive"): "drop-archive",
    ("mail", "outbox_dir"): "outbox",
    ("run", "lock_file"): "run.lock",
    ("run", "report_dir"): "reports",
}


def _place_in_data_dir(cfg: Config, raw: dict[str, Any]) -> None:
    """Put each state path the file leaves unset under ``run.data_dir`` (the database too, see database_url)."""
    for keys, name in DATA_DIR_PATHS.items():
        table: Any = raw
        for key in keys[:-1]:
            table = table.get(key, {}) if isinstance(table, dict) else {}
        if isinstance(table, dict) and keys[-1] in table:
            continue  # set in the file: relative to the file's folder, as every path there
        owner: Any = cfg
        for key in keys[:-1]:
            owner = getattr(owner, key)
        setattr(owner, keys[-1], cfg.run.data_dir / name)


def _resolve_paths(cfg: Config, base: Path) -> None:
    def walk(obj: Any) -> None:
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, Path) and not value.is_absolute():
                setattr(obj, f.name, base / value)
            elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
                setattr(obj, f.name, [v if v.is_absolute() else base / v for v in value])
            elif is_dataclass(value) and not isinstance(value, type):
                walk(value)

    walk(cfg)
    web = cfg.web
    if (
        web.session_idle_minutes < 1
        or web.session_max_hours < 1
        or web.throttle_window_minutes < 1
        or web.throttle_max_failures < 1
        or web.throttle_max_failures_per_address < 1
    ):
        raise ConfigError(
            "config-bad-value", "web session and throttle settings must be at least 1", file=cfg.source, key="web"
        )
    if web.oidc.enabled and not (web.oidc.issuer.startswith(("https://", "http://")) and web.oidc.client_id):
        raise ConfigError(
            "config-bad-value",
            "web.oidc needs an issuer URL and a client_id when enabled",
            file=cfg.source,
            key="web.oidc",
        )
    if cfg.mail.transport not in ("file", "smtp"):
        raise ConfigError(
            "config-bad-value", "mail.transport must be 'file' or 'smtp'", file=cfg.source, key="mail.transport"
        )
    # a transport or source switched on without where to reach it would only fail at the first run
    if cfg.mail.transport == "smtp" and not cfg.mail.smtp.host:
        raise ConfigError(
            "config-missing-value",
            "mail.smtp.host is required when mail.transport = 'smtp'",
            file=cfg.source,
            key="mail.smtp.host",
        )
    if cfg.sources.imap.enabled:
        for key in ("host", "user"):
            if not getattr(cfg.sources.imap, key):
                raise ConfigError(
                    "config-missing-value",
                    f"sources.imap.{key} is required when sources.imap.enabled",
                    file=cfg.source,
                    key=f"sources.imap.{key}",
                )
