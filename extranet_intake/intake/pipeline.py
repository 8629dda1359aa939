"""The daily run: sources → store → parse → rules → apply → outbox → send → expiry sweep, with its report.

Each document is its own unit of work (one transaction: plan, audit, outbox rows, parse mark); a
bad one is recorded with its code and the run goes on. Only configuration errors stop a run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from extranet_intake.errors import IntakeError
from extranet_intake.intake.access_review import daily_review
from extranet_intake.intake.config import Config
from extranet_intake.intake.decisions import commit_decision, expire
from extranet_intake.intake.explode import explode_limits, explode_messages
from extranet_intake.intake.logs import event, new_run_id, run_context
from extranet_intake.intake.parsing import read_trusted_roots, sandboxed_parser
from extranet_intake.intake.people import PeopleReport, hand_over_imap, hand_over_maildir
from extranet_intake.intake.progress import Reporter
from extranet_intake.intake.report_rows import ExpiryResult, Failure, RunWarning
from extranet_intake.intake.sources.drop import poll_drop
from extranet_intake.intake.sources.imap import poll_imap
from extranet_intake.intake.sources.ingest import PollReport
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.stacks import SPLIT_OUTCOME, pages_of, record_parts, stray_code
from extranet_intake.intake.store import DocumentStore
from extranet_intake.intake.store_tables import Arrival, PendingDocument, mark_parsed, pending_documents
from extranet_intake.intake.wiring import mail_ports, send_settings
from extranet_intake.mailer.ports import PreparedIssuer
from extranet_intake.mailer.send import DrainReport, MailPorts, Sender
from extranet_intake.mailer.stock import PasswordStock
from extranet_intake.mailer.transports import FileTransport, Security, SmtpSettings, SmtpTransport, Transport
from extranet_intake.parsers.result import Channel, Issue, ParsedForm
from extranet_intake.parsers.sandbox import SandboxedParser
from extranet_intake.parsers.stack import Part
from extranet_intake.provisioning.engines import make_engine, writer
from extranet_intake.provisioning.plan import MailKind, Provenance
from extranet_intake.provisioning.service import Decision, process_form
from extranet_intake.reasons import describe

__all__ = [
    "Clock",
    "DocumentResult",
    "ExpiryResult",
    "Failure",
    "RunReport",
    "RunWarning",
    "arrival_provenance",
    "daily_run",
    "make_transport",
    "utc_now",
]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DocumentResult:
    sha256: str
    source: str
    form_id: str | None
    org: str | None
    parse: str
    outcome: str
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "source": self.source,
            "form_id": self.form_id,
            "org": self.org,
            "parse": self.parse,
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            # the words of the codes, from the reason catalogue (the codes stay the keys)
            "reason_texts": [describe(c).title for c in self.reasons],
        }


@dataclass
class RunReport:
    started_at: datetime
    dry_run: bool = False
    finished_at: datetime | None = None
    #: what each source's poll and stage 2 (``explode``) took in, in order
    sources: list[PollReport] = field(default_factory=list)
    documents: list[DocumentResult] = field(default_factory=list)
    expiries: list[ExpiryResult] = field(default_factory=list)
    #: the outbox drain (None: nothing was sent, e.g. ``--no-send``)
    mail: DrainReport | None = None
    failures: list[Failure] = field(default_factory=list)
    #: things a person should know that are not failures (a page of a stack holding no form)
    warnings: list[RunWarning] = field(default_factory=list)
    #: mails handed over to people (no form, or every form refused), one entry per mail source
    people: list[PeopleReport] = field(default_factory=list)
    #: seconds per stage (the e2e bench reads the shares)
    timings: dict[str, float] = field(default_factory=dict)
    #: names this run in its log events (``--log-format json``) and its report
    run_id: str = field(default_factory=new_run_id)
    #: the signed checkpoint that ended the run (None: no checkpoint key configured)
    checkpoint: dict[str, Any] | None = None
    #: the access review step: reminders queued, organisations overdue (for the team), accounts suspended
    access_review: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def for_people(self) -> int:
        """Mails moved to the people folder by this run."""
        return sum(p.handed_over for p in self.people)

    def outcomes(self) -> Counter[str]:
        return Counter(d.outcome for d in self.documents)

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "sources": [s.as_dict() for s in self.sources],
            "documents": [d.as_dict() for d in self.documents],
            "outcomes": dict(self.outcomes()),
            "expiries": [e.as_dict() for e in self.expiries],
            "mail": self.mail.as_dict() if self.mail is not None else {},
            "people": [p.as_dict() for p in self.people],
            "for_people": self.for_people,
            "failures": [f.as_dict() for f in self.failures],
            "warnings": [w.as_dict() for w in self.warnings],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "run_id": self.run_id,
            "checkpoint": self.checkpoint,
            "access_review": self.access_review,
        }

    def write(self, folder: Path) -> Path:
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        path = folder / f"run-{self.started_at:%Y%m%dT%H%M%S}-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        # owner+group only: a report names organisations, senders and documents
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(self.as_dict(), indent=2, ensure_ascii=False))
        tmp.replace(path)
        return path


def make_transport(cfg: Config) -> Transport:
    if cfg.mail.transport == "file":
        return FileTransport(cfg.mail.outbox_dir)
    smtp = cfg.mail.smtp
    password = cfg.secret(smtp.password_env, key="mail.smtp.password_env") if smtp.user else ""
    return SmtpTransport(
        SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=Security(smtp.tls.value),
            user=smtp.user,
            password=password,
            timeout_seconds=smtp.timeout_seconds,
            concurrency=smtp.concurrency,
            ca_file=smtp.ca_file,
        )
    )


def arrival_provenance(arrival: Arrival, *, sha256: str, require_dmarc: bool) -> Provenance:
    """The trust facts of docs/rules.md §Trust: sender, and DMARC pass from the trusted gateway.

    ``require_dmarc`` off is for gateways that add no Authentication-Results: it never overrules a
    verdict the trusted gateway did give (an explicit fail stays a fail).
    """
    email = arrival.channel == Channel.EMAIL
    verdict = arrival.dmarc == "pass" if arrival.auth_trusted else not require_dmarc
    authenticated = email and bool(arrival.sender) and verdict
    return Provenance(
        sha256=sha256,
        channel=Channel(arrival.channel),
        sender=arrival.sender or None,
        authenticated=authenticated,
        received_at=arrival.received_at,
        message_id=arrival.message_id or None,
        filename=arrival.filename or "",
    )


def daily_run(
    cfg: Config,
    *,
    reporter: Reporter,
    clock: Clock = utc_now,
    engine: Engine | None = None,
    transport: Transport | None = None,
    send: bool = True,
) -> RunReport:
    """One whole run. Per-unit failures land in the report; configuration errors raise ``ConfigError``."""
    report = RunReport(started_at=clock())
    # the passwords of the credentials mails this run queues are hashed while it reads the next forms
    ahead = _HashAhead(mail_ports(cfg, clock=clock), workers=send_settings(cfg).hash_workers) if send else None
    with run_context(report.run_id):
        event("run.started", dry_run=False)
        started = time.perf_counter()
        # the parse worker boots (imports its libraries) while the sources are polled; the trusted
        # roots it is handed with each document are read where the documents are
        parser = sandboxed_parser(cfg.parsing).start()
        try:
            _daily_run(
                cfg,
                report,
                reporter=reporter,
                clock=clock,
                engine=engine,
                transport=transport,
                ahead=ahead,
                parser=parser,
            )
        finally:
            parser.close()
            if ahead is not None:
                ahead.close()
        _log_report(report, seconds=time.perf_counter() - started)
    return report


class _HashAhead:
    """The run's stock of passwords hashed ahead (``mailer/stock.py``), made at its first credentials mail.

    Every applied decision says how many credentials mails it queued; their passwords are hashed in
    the pool while the run parses and applies the next forms, and the send stage takes them. A
    password never taken is dropped with the stock at the end of the run, never stored.
    """

    def __init__(self, ports: MailPorts, *, workers: int) -> None:
        self.ports = ports
        self.workers = workers
        self.stock: PasswordStock | None = None
        self.off = False

    def queued(self, decision: Decision) -> None:
        issuer = self.ports.issuer
        n = sum(1 for m in decision.mails if m.kind is MailKind.CREDENTIALS)
        if not n or self.off or not isinstance(issuer, PreparedIssuer):
            return
        try:
            if self.stock is None:
                self.stock = PasswordStock(issuer, workers=self.workers)
            self.stock.want(n)
        except Exception as exc:
            # only a head start: without it the sender makes the passwords itself; never the run's failure
            self.off = True
            self.close()
            logging.getLogger(__name__).warning("no passwords hashed ahead in this run: %s", type(exc).__name__)

    def close(self) -> None:
        if self.stock is not None:
            self.stock.close()
            self.stock = None


def _log_report(report: RunReport, *, seconds: float) -> None:
    """The run's outcome as events: one per document, per mail that did not leave, per failure."""
    for d in report.documents:
        event(
            "document.processed",
            stage="apply",
            sha256=d.sha256,
            form_id=d.form_id,
            org=d.org,
            outcome=d.outcome,
            code=d.reasons[0] if d.reasons and d.outcome in ("failed", "rejected") else None,
        )
    for f in report.failures:
        event("run.failure", level=logging.WARNING, stage=f.stage, code=f.code, sha256=f.sha256, outbox_id=f.outbox_id)
    mail = report.mail.as_dict() if report.mail is not None else {}
    event(
        "run.finished",
        ok=report.ok,
        duration_seconds=round(seconds, 3),
        documents=len(report.documents),
        failures=len(report.failures),
        **{f"mail_{k}": v for k, v in mail.items() if isinstance(v, int)},
    )


def _daily_run(
    cfg: Config,
    report: RunReport,
    *,
    reporter: Reporter,
    clock: Clock,
    engine: Engine | None,
    transport: Transport | None,
    ahead: _HashAhead | None,
    parser: SandboxedParser,
) -> None:
    send = ahead is not None
    engine = engine or make_engine(cfg.database_url)
    store = DocumentStore(cfg.store.path)
    imap_password = (
        cfg.secret(cfg.sources.imap.password_env, key="sources.imap.password_env") if cfg.sources.imap.enabled else ""
    )
    mail_transport = (transport or make_transport(cfg)) if send else None

    def sessions() -> Session:
        return Session(engine)

    with _timed(report, "sources"), reporter.stage("sources", total=_source_count(cfg)) as st:
        polls: list[tuple[str, Callable[[], PollReport]]] = []
        if cfg.sources.maildir.enabled:
            polls.append(
                (
                    "maildir",
                    lambda: poll_maildir(cfg.sources.maildir, store=store, session_factory=sessions, clock=clock),
                )
            )
        if cfg.sources.drop.enabled:
            polls.append(
                ("drop", lambda: poll_drop(cfg.sources.drop, store=store, session_factory=sessions, clock=clock))
            )
        if cfg.sources.imap.enabled:
            polls.append(
                (
                    "imap",
                    lambda: poll_imap(
                        cfg.sources.imap, store=store, session_factory=sessions, password=imap_password, clock=clock
                    ),
                )
            )
        for name, poll in polls:
            try:
                polled = poll()
                report.sources.append(polled)
                report.failures.extend(Failure.of_poll(name, e) for e in polled.errors)
            except IntakeError as exc:
                # A source that is down is a failure of the run, not a reason to skip the others.
                report.failures.append(Failure.of_exception(name, exc))
            st.advance()
        with sessions() as session:  # stage 2 of the mail sources: stored messages → their form attachments
            exploded = explode_messages(
                session, store, trust=cfg.trust, limits=explode_limits(cfg.sources), clock=clock
            )
        report.sources.append(exploded)
        report.failures.extend(Failure.of_poll("explode", e) for e in exploded.errors)

    with sessions() as session:
        pending = pending_documents(session)
    with (
        _timed(report, "parse+apply"),
        reporter.stage("documents", total=len(pending)) as st,
        _with_roots(parser, read_trusted_roots(cfg.signatures)),
    ):
        done: set[str] = set()
        # A stack cut into parts adds pending documents: they are read in the same run (a part is
        # never cut again, so the second round is the last with anything new).
        for _round in range(2):
            for doc, read in reads_ahead(parser, store, pending, clock=clock):
                done.add(doc.sha256)
                report.documents.append(
                    _one_document(
                        cfg,
                        doc,
                        read,
                        store=store,
                        engine=engine,
                        clock=clock,
                        report=report,
                        queued=ahead.queued if ahead is not None else None,
                    )
                )
                st.advance()
            with sessions() as session:
                pending = [d for d in pending_documents(session) if d.sha256 not in done]
            if not pending:
                break

    with _timed(report, "people"):
        # After parse+apply: only now is it known which mails hold no form or only refused ones.
        handovers: list[tuple[str, Callable[[], PeopleReport]]] = []
        if cfg.sources.maildir.enabled:
            handovers.append(
                ("people", lambda: hand_over_maildir(cfg.sources.maildir, session_factory=sessions, clock=clock))
            )
        if cfg.sources.imap.enabled:
            handovers.append(
                (
                    "people",
                    lambda: hand_over_imap(
                        cfg.sources.imap, session_factory=sessions, password=imap_password, clock=clock
                    ),
                )
            )
        for name, hand_over in handovers:
            try:
                report.people.append(hand_over())
            except IntakeError as exc:
                report.failures.append(Failure.of_exception(name, exc))

    with _timed(report, "expiry"), reporter.stage("expiry sweep") as st, sessions() as session:
        try:
            decisions = expire(session, clock=clock, warning_days=cfg.run.expiry_warning_days)
            report.expiries = [
                ExpiryResult(d.plan.enterprise_number, d.outcome.value, tuple(d.plan.reasons)) for d in decisions
            ]
            st.advance(len(decisions))
        except IntakeError as exc:
            session.rollback()
            report.failures.append(Failure.of_exception("expiry", exc))

    with _timed(report, "access review"), sessions() as session:
        try:
            report.access_review = daily_review(session, cfg=cfg, clock=clock)  # one unit of work, committed
            # an organisation past its due date is the team's to chase: a warning of every run until it answers
            report.warnings.extend(
                RunWarning(
                    "access-review",
                    "access-review-overdue",
                    org=o["org"],
                    message=f"no answer to access review {o.get('campaign', '')}",
                )
                for o in report.access_review["overdue"]
            )
        except (IntakeError, SQLAlchemyError) as exc:
            session.rollback()
            report.failures.append(Failure.of_exception("access-review", exc))

    if mail_transport is not None:
        with _timed(report, "send"), reporter.stage("send") as st:
            assert ahead is not None
            drained = send_outbox(
                cfg, engine=engine, transport=mail_transport, clock=clock, ports=ahead.ports, stock=ahead.stock
            )
            report.mail = drained
            for row_id in drained.sent:
                event("mail.sent", stage="send", outbox_id=row_id)
            for row_id, state, code in drained.undelivered():
                event(
                    {"retrying": "mail.deferred", "failed": "mail.failed"}.get(state, "mail.refused"),
                    level=logging.WARNING,
                    stage="send",
                    outbox_id=row_id,
                    code=code,
                )
            st.advance(len(drained.sent))
            # Every due mail that did not leave is a failure of the run, with its cause's code: an
            # SMTP server that is down must not look like success (the rows wait for the next try).
            for row_id, state, code in drained.undelivered():
                report.failures.append(
                    Failure("send", code, drained.errors.get(row_id, ""), outbox_id=row_id, state=state)
                )
    report.finished_at = clock()


def send_outbox(
    cfg: Config,
    *,
    engine: Engine,
    transport: Transport,
    clock: Clock = utc_now,
    ports: MailPorts | None = None,
    stock: PasswordStock | None = None,
) -> DrainReport:
    """Drain the outbox once; ``stock`` holds passwords the run hashed ahead (made by ``ports``' issuer)."""
    # BEGIN IMMEDIATE: the sender reads a row and then writes it; see provisioning.db.writer
    sender = Sender(
        writer(engine),
        ports=ports or mail_ports(cfg, clock=clock),
        transport=transport,
        settings=send_settings(cfg),
        clock=clock,
        stock=stock,
    )

    async def drain() -> DrainReport:
        try:
            return await sender.drain()
        finally:
            await transport.aclose()

    return asyncio.run(drain())


def read_document(parser: SandboxedParser, data: bytes, arrival: Arrival, *, today: date) -> ParsedForm | list[Part]:
    """A stored document read as the run reads it, writing nothing: the form it holds, or the parts of a
    stack (intake.stacks) to be recorded and read next. Also what ``run --dry-run`` reads documents with."""
    return begin_read_document(parser, data, arrival, today=today)()


def begin_read_document(
    parser: SandboxedParser, data: bytes, arrival: Arrival, *, today: date
) -> Callable[[], ParsedForm | list[Part]]:
    """``read_document``, sent to the parser's worker now and answered when called (``SandboxedParser.begin_read``)."""
    stray = stray_code(arrival)
    if stray is not None:
        # a page of a stack that holds no form: to a person, never dropped (parsers.result.STRAY_PAGE_CODES)
        rejected = ParsedForm.reject(stray, f"page(s) of a stack holding no form: {arrival.detail}")
        return lambda: rejected
    if pages_of(arrival) is not None:  # a part of a stack: never cut again
        return parser.begin_parse(data, today=today, filename=arrival.filename or None)
    # split, else parse: one round trip
    answer = parser.begin_read(data, today=today, filename=arrival.filename or None)

    def read() -> ParsedForm | list[Part]:
        got = answer()
        return ParsedForm.reject(got.code, got.message) if isinstance(got, Issue) else got

    return read


#: what reading a pending document gave: the form, a stack's parts, or why it could not be read
Read = ParsedForm | list[Part] | IntakeError


def reads_ahead(
    parser: SandboxedParser, store: DocumentStore, docs: Iterable[PendingDocument], *, clock: Clock
) -> Iterator[tuple[PendingDocument, Read]]:
    """Each document with what reading it gave, the next one already sent to the parser's worker.

    The worker parses document n + 1 while the run applies document n, so the run does not wait
    for the parse of every document in turn; one request is in flight at a time (the answer of n
    is taken before n + 1 is sent), and reading writes nothing, so a crash loses nothing.
    """

    def begin(doc: PendingDocument) -> Callable[[], Read]:
        try:
            return begin_read_document(parser, store.open(doc.sha256), doc.arrival, today=clock().date())
        except IntakeError as exc:  # its bytes cannot be had (the store's coded error)
            failed = exc  # ``exc`` itself is unbound when the except block ends
            return lambda: failed

    def taken(answer: Callable[[], Read]) -> Read:
        try:
            return answer()
        except IntakeError as exc:
            return exc

    queue = iter(docs)
    doc = next(queue, None)
    answer = begin(doc) if doc is not None else None
    while doc is not None and answer is not None:
        read = taken(answer)
        nxt = next(queue, None)
        answer = begin(nxt) if nxt is not None else None
        yield doc, read
        doc = nxt


def split_result(sha256: str, source: str, parts: Sequence[Part]) -> tuple[DocumentResult, list[RunWarning]]:
    """What the run reports for a stack cut into ``parts``: its row, and a warning per page holding no form."""
    warnings = [
        RunWarning(
            "split",
            p.stray_code,
            sha256=sha256,
            pages=p.pages,
            message=f"page(s) {p.pages} of the stack hold no form: queued for a person",
        )
        for p in parts
        if p.stray_code is not None
    ]
    return DocumentResult(
        sha256,
        source,
        None,
        None,
        "stack",
        SPLIT_OUTCOME,
        tuple(f"{p.stray_code or p.form_id}:p{p.pages}" + ("(turned)" if p.rotated else "") for p in parts),
    ), warnings


def _one_document(
    cfg: Config,
    doc: PendingDocument,
    read: Read,
    *,
    store: DocumentStore,
    engine: Engine,
    clock: Clock,
    report: RunReport,
    queued: Callable[[Decision], None] | None = None,
) -> DocumentResult:
    source = doc.arrival.source
    if isinstance(read, IntakeError):
        report.failures.append(Failure.of_exception("parse", read, sha256=doc.sha256))
        return DocumentResult(doc.sha256, source, None, None, "error", "failed", (read.code,))
    if isinstance(read, list):
        return _split(doc, read, store=store, engine=engine, clock=clock, report=report)
    form = read
    form = replace(form, sha256=doc.sha256, channel=Channel(doc.arrival.channel))
    provenance = arrival_provenance(doc.arrival, sha256=doc.sha256, require_dmarc=cfg.trust.require_dmarc)
    with Session(engine) as session:
        try:
            # the document is marked parsed in its decision's unit of work: a crash before the commit leaves
            # it pending (decided again next run, the plan key makes that a no-op), after it nothing is redone
            decision: Decision = commit_decision(
                session,
                lambda: process_form(session, form, provenance, clock=clock),
                clock=clock,
                then=lambda d, _: mark_parsed(session, doc.sha256, outcome=d.outcome.value, at=clock()),
            )
        except (IntakeError, SQLAlchemyError) as exc:
            # this document's failure, recorded; it stays pending for the next run, the others go on
            session.rollback()
            failure = Failure.of_exception("apply", exc, sha256=doc.sha256)
            report.failures.append(failure)
            return DocumentResult(doc.sha256, source, form.form_id, None, form.outcome.value, "failed", (failure.code,))
    if queued is not None:
        queued(decision)  # committed: its credentials mails' passwords can be made now
    # A rejected document is a coded outcome of the run (and an audit entry), not a failure of the run.
    return DocumentResult(
        doc.sha256,
        source,
        form.form_id,
        decision.plan.enterprise_number,
        form.outcome.value,
        decision.outcome.value,
        decision.plan.reasons,
    )


def _split(
    doc: PendingDocument, parts: list[Part], *, store: DocumentStore, engine: Engine, clock: Clock, report: RunReport
) -> DocumentResult:
    """A stack: its parts stored as pending documents (read next), the stack itself marked split."""
    with Session(engine) as session:
        try:
            record_parts(session, store, sha256=doc.sha256, arrival=doc.arrival, parts=parts, now=clock())
            session.commit()
        except (IntakeError, SQLAlchemyError) as exc:
            session.rollback()
            failure = Failure.of_exception("split", exc, sha256=doc.sha256)
            report.failures.append(failure)
            return DocumentResult(doc.sha256, doc.arrival.source, None, None, "stack", "failed", (failure.code,))
    # Pages of no form are a warning of the run (and each goes to review as its own document).
    result, warnings = split_result(doc.sha256, doc.arrival.source, parts)
    report.warnings.extend(warnings)
    return result


def _source_count(cfg: Config) -> int:
    s = cfg.sources
    return sum((s.maildir.enabled, s.drop.enabled, s.imap.enabled))


@contextmanager
def _with_roots(parser: SandboxedParser, roots: tuple[bytes, ...]) -> Iterator[SandboxedParser]:
    """The run's parser for the parse stage, given the trusted roots; its worker stopped when the stage ends."""
    parser.trusted_roots = roots
    with parser:
        yield parser


@contextmanager
def _timed(report: RunReport, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        report.timings[name] = report.timings.get(name, 0.0) + seconds
        event("run.stage", stage=name, seconds=round(seconds, 3))
