"""Rendering the NL/FR templates of ``templates/`` and composing the one-recipient message around them.

Templates are package data found through ``importlib.resources``; the HTML part is autoescaped and
rendered in a sandbox with strict undefined names. Headers are built from ``Address`` objects and
cleaned text, then the serialised message is parsed back and checked: one To, no Cc/Bcc, no header
we did not write — so a name with CR/LF or bidi tricks cannot add a recipient or a header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from importlib.resources import files
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from extranet_intake.errors import MailerError
from extranet_intake.mailer.identity import LOGIN_URL, SERVICE_ADDRESS
from extranet_intake.mailer.purposes import Event, Language, Purpose, Recipient, clean_text, spec_of
from extranet_intake.reasons import Words, for_organisation

__all__ = [
    "CONTACT_ADDRESS",
    "EMAIL_OPTIONS",
    "Rendered",
    "check_address",
    "check_message",
    "compose",
    "environment",
    "render",
    "template_names",
]

CONTACT_ADDRESS = SERVICE_ADDRESS
_BRUSSELS = ZoneInfo("Europe/Brussels")

# Printable-ASCII dot-atoms only: what the fiche validation accepts, and nothing an SMTP server or
# a header parser could read as two addresses, a comment or a route.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")


class _EmailOptions(TypedDict):
    allow_smtputf8: bool
    allow_empty_local: bool
    allow_quoted_local: bool
    allow_domain_literal: bool
    allow_display_name: bool
    strict: bool
    check_deliverability: bool
    test_environment: bool
    globally_deliverable: bool


#: email-validator's options, equal to ``parsers.validate.EMAIL_OPTIONS``. The mailer may import
#: neither ``parsers`` nor anything of the other packages, so it keeps its own copy instead of
#: sharing one function; tests/unit/test_email_agreement.py pins the two copies equal and feeds both
#: the same edge and generated addresses, asserting the same verdict (issue 13.2): an address a
#: fiche may give is an address a mail can be sent to. No SMTPUTF8: the relay need not offer it.
EMAIL_OPTIONS: _EmailOptions = {
    "allow_smtputf8": False,
    "allow_empty_local": False,
    "allow_quoted_local": False,
    "allow_domain_literal": False,
    "allow_display_name": False,
    "strict": False,
    "check_deliverability": False,  # no DNS at send time either: the relay decides deliverability
    "test_environment": False,
    "globally_deliverable": True,
}

#: the only headers a message may carry when it reaches the transport
_ALLOWED_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "content-language",
        "auto-submitted",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


class _ResourceLoader(BaseLoader):
    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        parts = template.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise TemplateNotFound(template)
        resource = files(__package__).joinpath("templates", *parts)
        if not resource.is_file():
            raise TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), None, lambda: True


def _fmt_date(value: str | date | datetime) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def _fmt_datetime(value: datetime, lang: str) -> str:
    local = value.astimezone(_BRUSSELS)
    joiner = "om" if lang == Language.NL else "à"
    return f"{local:%d/%m/%Y} {joiner} {local:%H:%M}"


def _pick(value: Any, lang: str) -> Any:
    """A text given in both languages ({"nl": …, "fr": …}) in the reader's; plain text as is."""
    if isinstance(value, Mapping):
        return value.get(lang) or value.get("nl") or value.get("fr") or ""
    return value


def _reason_words(codes: Any, lang: str) -> list[Words]:
    """The organisation's words for reason codes, from the reason catalogue (``reasons``, which every
    layer may import): a staff-only or unknown code reads as the generic "not processed", never as
    the code itself; the same words are said once."""
    out: list[Words] = []
    for code in [codes] if isinstance(codes, str) else list(codes or []):
        words = for_organisation(str(code)).words(lang)
        if words not in out:
            out.append(words)
    return out


def _enterprise_number(value: Any) -> str:
    """0403170701 as Belgians write it: 0403.170.701."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}" if len(digits) == 10 else str(value or "")


_ENV: ImmutableSandboxedEnvironment | None = None


def environment() -> ImmutableSandboxedEnvironment:
    global _ENV
    if _ENV is None:
        env = ImmutableSandboxedEnvironment(
            loader=_ResourceLoader(),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["date"] = _fmt_date
        env.filters["pick"] = _pick
        env.filters["reasons"] = _reason_words
        env.filters["enterprise_number"] = _enterprise_number
        _ENV = env
    return _ENV


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_names(purpose: Purpose, event: Event, language: Language) -> tuple[str, str]:
    base = f"{purpose.value}/{event.value}.{language.value}"
    return f"{base}.txt.j2", f"{base}.html.j2"


def render(
    purpose: Purpose,
    event: Event,
    language: Language,
    *,
    recipient_name: str,
    params: Mapping[str, Any],
    secret: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    login_url: str = LOGIN_URL,
) -> Rendered:
    """Render subject, text and HTML of one mail in ``language``.

    ``secret`` carries the credentials-only values made at send time (password, validity); they
    are passed to the template and never returned anywhere but inside the rendered parts.
    """
    spec_of(purpose, event)
    lang = Language(language)
    context: dict[str, Any] = {
        **params,
        "lang": lang.value,
        "name": clean_text(recipient_name, limit=120),
        "contact": CONTACT_ADDRESS,
        "login_url": login_url,
    }
    if secret:
        context.update(secret)
        if "valid_until" in secret:
            context["valid_until"] = _fmt_datetime(secret["valid_until"], lang.value)
    if now is not None:
        context["today"] = _fmt_date(now.astimezone(_BRUSSELS).date())
    env = environment()
    txt_name, html_name = template_names(purpose, event, lang)
    try:
        text_t = env.get_template(txt_name)
        html_t = env.get_template(html_name)
        subject = "".join(text_t.blocks["subject"](text_t.new_context(context))).strip()
        text = text_t.render(context)
        html = html_t.render({**context, "subject": subject})
    except TemplateNotFound as exc:
        raise MailerError("mail-template-missing", "no template for this mail", template=str(exc)) from None
    except Exception as exc:
        # The context may hold a password: report the template and error kind, never the values.
        raise MailerError(
            "mail-template-error",
            "the mail template could not be rendered",
            template=txt_name,
            error=type(exc).__name__,
        ) from None
    return Rendered(subject=clean_text(subject, limit=200), text=text, html=html)


def check_address(address: str) -> str:
    """Return ``address`` if it is one plain address, else raise ``mail-address-invalid``."""
    if not isinstance(address, str) or len(address) > 254 or not _ADDRESS.fullmatch(address):
        raise MailerError(
            "mail-address-invalid", "recipient address is not one plain e-mail address", address=repr(address)[:80]
        )
    try:
        validate_email(address, **EMAIL_OPTIONS)
    except EmailNotValidError:
        raise MailerError(
            "mail-address-invalid", "recipient address is not one plain e-mail address", address=repr(address)[:80]
        ) from None
    return address


class _RecurringHeaders(EmailPolicy):
    """``policy.SMTP`` that parses and folds a header value every mail repeats only once.

    Most of composing a mail is the standard library parsing each header into its registry's
    object and folding it back out (MIME-Version, the parts' Content-Type and
    Content-Transfer-Encoding, From, Auto-Submitted, Content-Language and the purposes' subjects
    are the same in every mail). Header objects are immutable; the one made for a given name and
    value is reused, and its folded form too — the same functions on the same input, so not a
    byte of any message changes. Values that differ per mail (To, Date, Message-ID, a multipart
    boundary) are made afresh; the caches are bounded.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is not str or name.lower() not in _RECURRING or "boundary=" in value:
            return super().header_store_parse(name, value)
        key = (name, value)
        made = _HEADERS.get(key)
        if made is None:
            made = super().header_store_parse(name, value)[1]
            if len(_HEADERS) < _CACHE_LIMIT:
                _HEADERS[key] = _KEPT[id(made)] = made
        return name, made

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not isinstance(value, BaseHeader) or _KEPT.get(id(value)) is not value:
            return super().fold_binary(name, value)
        key = (id(value), name, self.max_line_length, self.linesep, self.utf8, self.cte_type)
        cached = _FOLDED.get(key)
        if cached is not None:
            return cached
        folded = super().fold_binary(name, cast(str, value))  # a header object (a str)
        if len(_FOLDED) < _CACHE_LIMIT:
            _FOLDED[key] = folded
        return folded


_RECURRING = frozenset(
    {
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "auto-submitted",
        "content-language",
        "subject",
        "from",
    }
)
_CACHE_LIMIT = 512
_HEADERS: dict[tuple[str, str], Any] = {}
#: the header objects in ``_HEADERS`` by identity (kept alive there, so an id is never reused)
_KEPT: dict[int, Any] = {}
_FOLDED: dict[tuple[object, ...], bytes] = {}
_SMTP = _RecurringHeaders(linesep="\r\n")


def compose(
    rendered: Rendered, *, sender: str, sender_name: str, recipient: Recipient, message_id: str, when: datetime
) -> EmailMessage:
    """The message for exactly one recipient: From, To, Subject, Date, Message-ID, text + HTML."""
    check_address(sender)
    check_address(recipient.address)
    msg = EmailMessage(policy=_SMTP)
    # as a string: parsed to the very tree an Address gives (its str), so it can be reused
    msg["From"] = str(Address(display_name=_header_text(sender_name, 120), addr_spec=sender))
    msg["To"] = Address(display_name=_header_text(recipient.name, 120), addr_spec=recipient.address)
    msg["Subject"] = _header_text(rendered.subject, 200)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    # RFC 3834: an out-of-office reply to an automatic mail would only loop back to our mailbox
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    # after the body: making the message multipart moves Content-* headers into the first part
    msg["Content-Language"] = recipient.language.value
    return msg


def _header_text(value: str, limit: int) -> str:
    # The standard library decodes an RFC 2047 encoded word found in a display name and writes
    # what it decoded — CR/LF included — back out raw (Python 3.11): "=?" must never reach it.
    return clean_text(value, limit=limit).replace("=?", "= ?")


def check_message(msg: EmailMessage, *, envelope_recipient: str) -> bytes:
    """Refuse a message whose headers, read back as a receiver would, allow anyone else in.

    Returns the serialised bytes it checked: those, and nothing re-serialised later, are sent.
    """
    data = msg.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    names = [k.lower() for k in parsed]
    extra = sorted(set(names) - _ALLOWED_HEADERS)
    if extra or len(names) != len(set(names)):
        raise MailerError(
            "mail-header-injected", "the message carries headers it must not", headers=",".join(extra) or "duplicate"
        )
    to = getaddresses(parsed.get_all("To", []))
    if len(to) != 1 or to[0][1] != envelope_recipient:
        raise MailerError("mail-recipient-mismatch", "To must be exactly the purpose's recipient", to=len(to))
    return data
