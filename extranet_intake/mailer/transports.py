"""Handing one composed message to the world: SMTP through aiosmtplib, or ``.eml`` files in a folder.

Both take an ``Envelope`` with exactly one recipient. Delivery problems become ``DeliveryError``
carrying whether retrying can help (4xx, timeouts, dropped connections) or not (5xx, a refused
recipient) — the sender turns that into a retry with backoff or a failed row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from extranet_intake.errors import MailerError
from extranet_intake.mailer.defaults import CONCURRENCY, SMTP_PORT, SMTP_TIMEOUT_SECONDS

__all__ = [
    "DeliveryError",
    "Envelope",
    "FileTransport",
    "Security",
    "SmtpSettings",
    "SmtpTransport",
    "Transport",
]


class Security(StrEnum):
    STARTTLS = "starttls"
    IMPLICIT = "implicit"  # TLS from the first byte (SMTPS, 465)
    NONE = "none"  # loopback tests only


@dataclass(frozen=True)
class Envelope:
    sender: str
    #: the one envelope recipient, equal to the message's only To address
    recipient: str
    message: EmailMessage
    #: the message as serialised and checked once (``render.check_message``); this is what is sent
    data: bytes = b""

    @property
    def payload(self) -> bytes:
        return self.data or self.message.as_bytes()


class DeliveryError(MailerError):
    """The transport could not hand the message over; ``permanent`` says whether to stop trying."""

    def __init__(self, code: str, message: str, *, permanent: bool, smtp_code: int | None = None, **data: Any) -> None:
        super().__init__(code, message, permanent=permanent, smtp_code=smtp_code, **data)
        self.permanent = permanent
        self.smtp_code = smtp_code


class Transport(Protocol):
    async def send(self, envelope: Envelope) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = SMTP_PORT
    security: Security = Security.STARTTLS
    user: str = ""
    password: str = field(default="", repr=False)  # a printed settings object never shows it
    timeout_seconds: float = SMTP_TIMEOUT_SECONDS
    concurrency: int = CONCURRENCY
    #: CA bundle to trust instead of the system store (test certificates)
    ca_file: str = ""
    #: a pooled connection idle longer than this is closed rather than reused (servers drop idle
    #: sessions after a while, and a drop noticed mid-DATA would leave the outcome unknown)
    idle_seconds: float = 20.0
    local_hostname: str | None = None


class SmtpTransport:
    """aiosmtplib with a pool of at most ``concurrency`` authenticated connections, reused."""

    def __init__(self, settings: SmtpSettings, *, tls_context: ssl.SSLContext | None = None) -> None:
        if not settings.host:
            raise MailerError("smtp-host-missing", "no SMTP host configured")
        if settings.concurrency < 1:
            raise MailerError("smtp-concurrency", "SMTP concurrency must be at least 1")
        self.settings = settings
        self._tls = tls_context
        self._limit = asyncio.Semaphore(settings.concurrency)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self.connections_opened = 0

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.settings.ca_file or None)
        return self._tls

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        tls = s.security is not Security.NONE
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout_seconds,
            use_tls=s.security is Security.IMPLICIT,
            start_tls=s.security is Security.STARTTLS,
            tls_context=self._context() if tls else None,
            local_hostname=s.local_hostname,
            username=s.user or None,
            password=s.password or None,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                "smtp-auth-failed",
                "the SMTP server refused our login",
                permanent=False,
                smtp_code=exc.code,
                host=s.host,
            ) from exc
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                _connect_code(exc),
                f"cannot connect to the SMTP server: {exc}",
                permanent=False,
                host=s.host,
                port=s.port,
            ) from exc
        self.connections_opened += 1
        return client

    async def _acquire(self) -> aiosmtplib.SMTP:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and now - since < self.settings.idle_seconds:
                return client
            await _quietly_close(client)
        return await self._connect()

    async def send(self, envelope: Envelope) -> None:
        async with self._limit:
            client = await self._acquire()
            try:
                await client.sendmail(envelope.sender, [envelope.recipient], envelope.payload)
            except BaseException as exc:
                # The session state is unknown after any error: never reuse it.
                await _quietly_close(client)
                if isinstance(exc, Exception):
                    raise _delivery_error(exc, envelope.recipient) from exc
                raise
            self._idle.append((client, time.monotonic()))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                await _quietly_close(client)


def _connect_code(exc: BaseException) -> str:
    """One code per cause an operator fixes differently: the server is down or unreachable, TLS
    failed (certificate, STARTTLS not offered), or the server answered but would not take us."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 5:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLError) for e in chain) or "tls" in text or "certificate" in text:
        return "smtp-tls-failed"
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPConnectTimeoutError | OSError) or any(
        isinstance(e, OSError) for e in chain
    ):
        return "smtp-unreachable"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "smtp-refused-session"
    return "smtp-unreachable"


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    # closing a broken connection: there is nothing left to report
    with contextlib.suppress(Exception):
        client.close()


def _delivery_error(exc: Exception, recipient: str) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        code = max(codes) if codes else 550
        return DeliveryError(
            "smtp-recipient-refused",
            "the SMTP server refused the recipient",
            permanent=code >= 500,
            smtp_code=code,
            recipient=recipient,
            reply=_reply(exc.recipients[0].message if exc.recipients else ""),
        )
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return DeliveryError(
            "smtp-disconnected", "the SMTP server dropped the connection", permanent=False, recipient=recipient
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return DeliveryError(
            "smtp-timeout", "the SMTP server did not answer in time", permanent=False, recipient=recipient
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = exc.code >= 500
        return DeliveryError(
            "smtp-rejected" if permanent else "smtp-deferred",
            "the SMTP server rejected the message" if permanent else "the SMTP server deferred the message",
            permanent=permanent,
            smtp_code=exc.code,
            recipient=recipient,
            reply=_reply(exc.message),
        )
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPException | OSError | ssl.SSLError):
        return DeliveryError(
            "smtp-error", f"SMTP delivery failed: {type(exc).__name__}", permanent=False, recipient=recipient
        )
    return DeliveryError(
        "smtp-error", f"SMTP delivery failed: {type(exc).__name__}", permanent=False, recipient=recipient
    )


def _reply(text: str) -> str:
    return " ".join(str(text).split())[:200]


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class FileTransport:
    """Writes each message as ``<message-id>.eml`` in one folder, atomically (the embedded default).

    A resend of the same Message-ID replaces the file, so a crash-and-retry leaves one file.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, message_id: str) -> Path:
        name = _UNSAFE.sub("_", message_id.strip().strip("<>"))[:200]
        if not name.strip("._"):
            raise MailerError("mail-message-id", "a message needs a Message-ID to be filed")
        return self.directory / f"{name}.eml"

    async def send(self, envelope: Envelope) -> None:
        await asyncio.to_thread(self._write, envelope)

    def _write(self, envelope: Envelope) -> None:
        target = self.path_for(str(envelope.message["Message-ID"] or ""))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            data = envelope.payload
            # 0600: a credentials mail holds a live temporary password until the user logs in
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)  # a half-written mail (a password, maybe) is not left behind
                raise
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise DeliveryError(
                "mail-file-write", f"cannot write the mail file: {exc.strerror}", permanent=False, path=str(target)
            ) from exc

    async def aclose(self) -> None:
        return None
