"""Pure reading of sender authentication: the trusted gateway's ``Authentication-Results`` only (RFC 8601).

Anyone can write an ``Authentication-Results: mx.ethias.be; dmarc=pass`` header into the mail they
send. The receiving gateway prepends its own header *above* everything the sender wrote, so the
only header believed is the **topmost** one whose authserv-id is a configured trusted id; every
header below it — forged or from a hop we do not control — is ignored, and a header from an
untrusted authserv-id is never read at all. Parsing is done by the ``authres`` package
(RFC 8601/7001 grammar); a header it cannot parse yields no results rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import authres

__all__ = ["AuthResult", "AuthVerdict", "evaluate"]


class AuthResult(StrEnum):
    PASS = "pass"  # noqa: S105 - a result keyword, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    POLICY = "policy"
    #: the trusted header does not report this method, or there is no trusted header
    ABSENT = "absent"
    #: a result keyword outside RFC 8601's registry
    OTHER = "other"

    @classmethod
    def of(cls, text: str | None) -> AuthResult:
        if not text:
            return cls.ABSENT
        try:
            return cls(text.strip().lower())
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True)
class AuthVerdict:
    #: a header from a trusted authserv-id was found (False: nothing can be believed)
    trusted: bool = False
    authserv_id: str = ""
    dmarc: AuthResult = AuthResult.ABSENT
    dkim: AuthResult = AuthResult.ABSENT
    spf: AuthResult = AuthResult.ABSENT
    #: the one header the verdict was read from, unfolded (empty when none was trusted)
    raw: str = ""
    #: the header was trusted but did not parse: the results stay ABSENT
    unparsable: bool = False
    #: the From domain the DMARC result is about (``header.from``), lower-case
    dmarc_header_from: str = ""

    @property
    def dmarc_pass(self) -> bool:
        return self.trusted and self.dmarc is AuthResult.PASS


def _authserv_id(header: str) -> str:
    # The authserv-id is the first token before ";" (an optional version number may follow it).
    head = header.split(";", 1)[0].strip()
    return head.split()[0].lower() if head else ""


def _best(results: Sequence[AuthResult]) -> AuthResult:
    # A message may carry several DKIM signatures; one valid aligned signature is what counts.
    if not results:
        return AuthResult.ABSENT
    return AuthResult.PASS if AuthResult.PASS in results else results[0]


def _dmarc(results: Sequence[tuple[AuthResult, str]], sender: str | None) -> tuple[AuthResult, str]:
    """The DMARC result that counts among those of one header, and the ``header.from`` it is about.

    One header may hold several DMARC results (a gateway evaluating every From of a multi-From
    message, or a crafted header): ``dmarc=pass header.from=evil.example; dmarc=fail
    header.from=example.be`` must not read as a pass. Unlike DKIM, one pass does not cover the rest:
    with ``sender``, only the results about the sender's own domain are read, and any of them that is
    not a pass wins; without ``sender``, any non-pass wins over a pass.
    """
    if not results:
        return AuthResult.ABSENT, ""
    if sender is not None:
        domain = sender.rpartition("@")[2].lower()
        own = [r for r in results if r[1] == domain]
        if not own:
            # nothing about the sender's domain: a pass for another domain is worth a fail here
            first = results[0]
            return (AuthResult.FAIL if first[0] is AuthResult.PASS else first[0]), first[1]
        results = own
    worst = next((r for r in results if r[0] is AuthResult.FAIL), None) or next(
        (r for r in results if r[0] is not AuthResult.PASS), None
    )
    return worst or results[0]


def evaluate(headers: Iterable[str], *, trusted_ids: Iterable[str], sender: str | None = None) -> AuthVerdict:
    """Verdict from the ``Authentication-Results`` headers of a message, given top (newest) first.

    With ``sender``, a DMARC pass counts only when it is about that sender's domain (``header.from``):
    a pass for the attacker's own domain says nothing about the address the rules compare.
    """
    trusted = {t.strip().lower() for t in trusted_ids if t.strip()}
    for header in headers:
        unfolded = " ".join(header.split())
        authserv = _authserv_id(unfolded)
        if authserv not in trusted:
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(unfolded)
        except authres.AuthResError:
            return AuthVerdict(trusted=True, authserv_id=authserv, raw=unfolded, unparsable=True)
        by_method: dict[str, list[AuthResult]] = {}
        dmarc_results: list[tuple[AuthResult, str]] = []
        for result in parsed.results:
            method = str(result.method).lower()
            outcome = AuthResult.of(str(result.result))
            by_method.setdefault(method, []).append(outcome)
            if method == "dmarc":
                header_from = next(
                    (
                        str(p.value).lower()
                        for p in result.properties
                        if str(p.type).lower() == "header" and str(p.name).lower() == "from"
                    ),
                    "",
                )
                dmarc_results.append((outcome, header_from))
        dmarc, header_from = _dmarc(dmarc_results, sender)
        return AuthVerdict(
            trusted=True,
            authserv_id=authserv,
            dmarc=dmarc,
            dmarc_header_from=header_from,
            dkim=_best(by_method.get("dkim", [])),
            spf=_best(by_method.get("spf", [])),
            raw=unfolded,
        )
    return AuthVerdict()
