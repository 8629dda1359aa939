"""The ops engineer's services behind the thin commands: init, run, dry run, status, org notices."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from extranet_intake.errors import ConfigError, StoreError
from extranet_intake.intake.checkpoints import checkpoint_after_run
from extranet_intake.intake.config import Config
from extranet_intake.intake.database import migrate, open_engine
from extranet_intake.intake.decisions import Mails, commit_decision
from extranet_intake.intake.explode import attachment_rows, explode_limits, message_facts, read_message
from extranet_intake.intake.parsing import read_trusted_roots, sandboxed_parser
from extranet_intake.intake.people import mails_for_people
from extranet_intake.intake.pipeline import (
    Clock,
    DocumentResult,
    RunReport,
    arrival_provenance,
    daily_run,
    make_transport,
    read_document,
    send_outbox,
    split_result,
    utc_now,
)
from extranet_intake.intake.progress import Reporter
from extranet_intake.intake.report_rows import Failure
from extranet_intake.intake.sources.drop import poll_drop
from extranet_intake.intake.sources.imap import poll_imap
from extranet_intake.intake.sources.ingest import MESSAGE_PENDING, Incoming
from extranet_intake.intake.sources.maildir import poll_maildir
from extranet_intake.intake.stacks import part_arrival
from extranet_intake.intake.store import DocumentStore, sha256_of
from extranet_intake.intake.store_tables import (
    Arrival,
    Document,
    DocumentKind,
    ParseState,
    known_messages,
    pending_documents,
)
from extranet_intake.mailer.outbox import OutboxMessage
from extranet_intake.mailer.transports import Transport
from extranet_intake.parsers.result import Channel
from extranet_intake.parsers.sandbox import SandboxedParser
from extranet_intake.provisioning.engines import writer
from extranet_intake.provisioning.models import Organisation, OrgStatus, ReviewItem, ReviewStatus
from extranet_intake.provisioning.plan import MailEvent, MailIntent, MailKind, Provenance
from extranet_intake.provisioning.service import process_form

__all__ = ["NoticeEvent", "dry_run", "init_deployment", "notify_orgs", "run_once", "status_of"]


def init_deployment(cfg: Config) -> list[str]:
    """Create the folders (owner+group only) and the database schema (Alembic to head). Safe to run again."""
    done = []
    for folder in (
        cfg.run.data_dir,
        cfg.store.path,
        cfg.sources.drop.path,
        cfg.sources.drop.archive,
        cfg.mail.outbox_dir,
        cfg.run.report_dir,
    ):
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        done.append(f"folder {folder}")
    for sub in ("new", "cur", "tmp"):
        (cfg.sources.maildir.path / sub).mkdir(mode=0o750, parents=True, exist_ok=True)
    done.append(f"maildir {cfg.sources.maildir.path}")
    migrate(cfg.database_url)
    done.append(f"database {make_url(cfg.database_url).render_as_string(hide_password=True)} (schema at head)")
    return done


def run_once(
    cfg: Config, *, reporter: Reporter, clock: Clock = utc_now, send: bool = True, transport: Transport | None = None
) -> RunReport:
    engine = open_engine(cfg.database_url)
    try:
        report = daily_run(cfg, reporter=reporter, clock=clock, engine=engine, send=send, transport=transport)
        _write_metrics(cfg, engine, report, clock=clock)
        report.checkpoint = checkpoint_after_run(cfg, engine, clock=clock)
        if report.checkpoint is not None and not report.checkpoint["ok"]:
            report.failures.append(Failure("checkpoint", report.checkpoint["code"], report.checkpoint["message"]))
        return report
    finally:
        engine.dispose()


def _write_metrics(cfg: Config, engine: Engine, report: RunReport, *, clock: Clock) -> None:
    """The textfile-collector file after each run; a failure to write it is a failure of the run."""
    from extranet_intake.intake.metrics import collect, write_textfile

    try:
        with Session(engine) as session:
            registry = collect(session, now=clock(), last_run=report.as_dict())
        write_textfile(cfg.run.metrics_file, registry)
    except OSError as exc:
        report.failures.append(
            Failure("metrics", "metrics-write-failed", f"cannot write {cfg.run.metrics_file}: {exc.strerror}")
        )


# ------------------------------------------------------------------------------------------ dry run


@dataclass(frozen=True)
class _Candidate:
    source: str
    data: bytes
    provenance: Provenance
    filename: str | None
    #: why this original cannot be read at all (a real run gives it this coded outcome)
    problem: str = ""
    #: the arrival a run reads it by (None for a refused original)
    arrival: Arrival | None = None


def dry_run(cfg: Config, *, reporter: Reporter, clock: Clock = utc_now) -> RunReport:
    """What a run would do now, changing nothing: the sources are read by the pollers' own code in
    their read-only mode (IMAP folder selected read-only, BODY.PEEK; nothing stored, recorded or moved),
    and every plan is applied in one transaction that is rolled back."""
    _require_database(cfg)
    report = RunReport(started_at=clock(), dry_run=True)
    engine = open_engine(cfg.database_url)
    store = DocumentStore(cfg.store.path)
    try:
        with reporter.stage("sources (read only)") as st:
            candidates = _peek_sources(cfg, engine, store, clock=clock)
            st.advance(len(candidates))
        with Session(engine) as session:
            with (
                reporter.stage("documents", total=len(candidates)) as st,
                sandboxed_parser(cfg.parsing, read_trusted_roots(cfg.signatures)) as parser,
            ):
                # as the run: a stack is cut into parts (intake.stacks), read in a second round
                queue, done = candidates, set(session.exec(select(Document.sha256)))
                for _round in range(2):
                    parts: list[_Candidate] = []
                    for cand in queue:
                        done.add(cand.provenance.sha256)
                        parts.extend(_dry_document(cfg, session, cand, parser=parser, report=report, clock=clock))
                        st.advance()
                    # the parts not known yet, once each, in the run's order (first arrival, then the cut's order)
                    fresh: dict[str, _Candidate] = {}
                    for part in parts:
                        if part.provenance.sha256 not in done:
                            fresh.setdefault(part.provenance.sha256, part)
                    queue = sorted(fresh.values(), key=lambda c: c.provenance.received_at)
                    if not queue:
                        break
            session.rollback()
    finally:
        engine.dispose()
    report.finished_at = clock()
    return report


def _dry_document(
    cfg: Config, session: Session, cand: _Candidate, *, parser: SandboxedParser, report: RunReport, clock: Clock
) -> list[_Candidate]:
    """One document read and decided as the run would (``pipeline.read_document``), in the rolled-back
    session; returns the parts of a stack, to be read next as the run reads them."""
    if cand.problem or cand.arrival is None:
        report.documents.append(
            DocumentResult(cand.provenance.sha256, cand.source, None, None, "rejected", "rejected", (cand.problem,))
        )
        return []
    sha = cand.provenance.sha256
    read = read_document(parser, cand.data, cand.arrival, today=clock().date())
    if isinstance(read, list):
        result, warnings = split_result(sha, cand.source, read)
        report.documents.append(result)
        report.warnings.extend(warnings)
        arrivals = [(part_arrival(sha, cand.arrival, part), part.data) for part in read]
        return [
            _Candidate(
                a.source,
                data,
                arrival_provenance(a, sha256=a.sha256, require_dmarc=cfg.trust.require_dmarc),
                a.filename or None,
                arrival=a,
            )
            for a, data in arrivals
        ]
    form = replace(read, sha256=sha, channel=cand.provenance.channel)
    decision = process_form(session, form, cand.provenance, clock=clock)
    report.documents.append(
        DocumentResult(
            sha,
            cand.source,
            form.form_id,
            decision.plan.enterprise_number,
            form.outcome.value,
            decision.outcome.value,
            decision.plan.reasons + tuple(f"mail {m.kind.value} ({m.event.value})" for m in decision.mails),
        )
    )
    return []


def _require_database(cfg: Config) -> None:
    url = make_url(cfg.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise ConfigError(
            "database-missing",
            f"no database at {url.database}: run `extranet-intake init` first",
            file=cfg.source,
            key="database.url",
        )


class _Peeked:
    """What the pollers, read only, would take in and refuse, in the order they read it (a ``Peek``)."""

    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.refused: list[tuple[str, str]] = []

    def take(self, item: Incoming) -> None:
        self.items.append(item)

    def refuse(self, source: str, code: str) -> None:
        self.refused.append((source, code))


def _peek_sources(cfg: Config, engine: Engine, store: DocumentStore, *, clock: Clock) -> list[_Candidate]:
    """Every source read by its poller in read-only mode, in the run's order (Maildir, drop, IMAP)."""
    peeked = _Peeked()
    src = cfg.sources

    def sessions() -> Session:
        return Session(engine)

    if src.maildir.enabled:
        poll_maildir(src.maildir, store=store, session_factory=sessions, clock=clock, peek=peeked)
    if src.drop.enabled:
        poll_drop(src.drop, store=store, session_factory=sessions, clock=clock, peek=peeked)
    if src.imap.enabled:
        poll_imap(
            src.imap,
            store=store,
            session_factory=sessions,
            clock=clock,
            peek=peeked,
            password=cfg.secret(src.imap.password_env, key="sources.imap.password_env"),
        )
    with sessions() as session:
        return _Planned(cfg, session, store).plan(peeked)


#: where an arrival stands in the run's order: (received at, which step added it, its place in that step);
#: pending documents are read in the order of their first arrival (received_at, id), and a run adds the
#: rows of stored-before (their ids), stage 1 (the pollers) and stage 2 (attachments) in that order
_Order = tuple[datetime, int, int]
_STORED, _STAGE1, _STAGE2 = 0, 1, 2


class _Planned:
    """The documents a run would parse next, in its order: what is stored and pending, then what stage 1
    would store and stage 2 (``ingest.explode_messages``) would take out of the messages."""

    def __init__(self, cfg: Config, session: Session, store: DocumentStore) -> None:
        self.cfg = cfg
        self.session = session
        self.store = store
        self.seq = itertools.count()
        #: per content, its earliest arrival (the one a run names it by) and its bytes
        self.first: dict[str, tuple[_Order, Arrival]] = {}
        self.data: dict[str, bytes] = {}
        self.refused: list[_Candidate] = []

    def offer(self, order: _Order, arrival: Arrival, data: bytes) -> None:
        best = self.first.get(arrival.sha256)
        if best is None or order < best[0]:
            self.first[arrival.sha256] = (order, arrival)
        self.data.setdefault(arrival.sha256, data)

    def refuse(self, source: str, code: str, sha: str = "") -> None:
        self.refused.append(
            _Candidate(
                source,
                b"",
                Provenance(sha256=sha, channel=Channel.POST, sender=None, authenticated=False, received_at=utc_now()),
                None,
                problem=code,
            )
        )

    def plan(self, peeked: _Peeked) -> list[_Candidate]:
        session = self.session
        pending = pending_documents(session)
        for doc in pending:
            self.offer(
                (doc.arrival.received_at, _STORED, doc.arrival.id or 0), doc.arrival, self.store.open(doc.sha256)
            )
        messages = self._stored_messages()
        new = [(item, sha256_of(item.data)) for item in peeked.items]
        known = known_messages(session, [sha for item, sha in new if item.is_message], channel=Channel.EMAIL)
        for item, sha in new:
            order = (item.received_at, _STAGE1, next(self.seq))
            if not item.is_message:
                self.offer(
                    order,
                    Arrival(
                        sha256=sha,
                        channel=Channel.POST.value,
                        source=item.source,
                        filename=item.filename,
                        received_at=item.received_at,
                        outcome="stored",
                    ),
                    item.data,
                )
            elif sha not in known:  # identical bytes already stored: a duplicate, acknowledged only
                known.add(sha)
                messages.append(
                    (
                        order,
                        sha,
                        item.data,
                        [
                            Arrival(
                                sha256=sha,
                                channel=Channel.EMAIL.value,
                                source=item.source,
                                received_at=item.received_at,
                                outcome=MESSAGE_PENDING,
                            )
                        ],
                    )
                )
        for _order, sha, raw, arrivals in sorted(messages, key=lambda m: m[0]):
            self._explode(sha, raw, arrivals)
        for source, code in peeked.refused:
            self.refuse(source, code)
        parsed = set(session.exec(select(Document.sha256))) - {doc.sha256 for doc in pending}
        planned = sorted((order, arrival) for sha, (order, arrival) in self.first.items() if sha not in parsed)
        return [
            _Candidate(
                a.source,
                self.data[a.sha256],
                arrival_provenance(a, sha256=a.sha256, require_dmarc=self.cfg.trust.require_dmarc),
                a.filename or None,
                arrival=a,
            )
            for _, a in planned
        ] + self.refused

    def _stored_messages(self) -> list[tuple[_Order, str, bytes, list[Arrival]]]:
        """Messages stored by a run that stopped before stage 2: the next run opens them first."""
        by_sha: dict[str, list[Arrival]] = {}
        for arrival in self.session.exec(
            select(Arrival)
            .join(Document, col(Document.sha256) == col(Arrival.sha256))
            .where(
                col(Document.kind) == DocumentKind.MESSAGE.value,
                col(Document.parse_state) == ParseState.UNEXPLODED.value,
                col(Arrival.parent_sha256).is_(None),
            )
            .order_by(col(Arrival.received_at), col(Arrival.id))
        ):
            by_sha.setdefault(arrival.sha256, []).append(arrival)
        found = []
        for sha, arrivals in by_sha.items():
            try:
                raw = self.store.open(sha)
            except StoreError as exc:
                self.refuse(arrivals[0].source, exc.code, sha)
                continue
            found.append(((arrivals[0].received_at, _STORED, arrivals[0].id or 0), sha, raw, arrivals))
        return found

    def _explode(self, sha: str, raw: bytes, messages: list[Arrival]) -> None:
        """Stage 2 of one message, by stage 2's own reading (``explode.read_message``), nothing written."""
        one = read_message(sha, raw, messages, limits=explode_limits(self.cfg.sources))
        if one.error_code:  # a hostile message must not stop the dry run either (stage 2 codes it so)
            self.refuse(messages[0].source, one.error_code, sha)
            return
        common = message_facts(one, trust=self.cfg.trust)
        for message in messages:
            for att, row in attachment_rows(one, message, common):
                self.offer((message.received_at, _STAGE2, next(self.seq)), Arrival(**row), att.data)


# ------------------------------------------------------------------------------------------ status


def status_of(cfg: Config, *, clock: Clock = utc_now) -> dict[str, Any]:
    """Last run (from its JSON report), open review items, outbox by status, documents not parsed yet,
    organisations overdue with their access review, and the alerts that make ``status`` exit 1 (last
    run failed, a mail waiting too long)."""
    from extranet_intake.intake.monitor import Alert, outbox_alerts, outbox_states, overdue_access_reviews

    _require_database(cfg)
    reports = sorted(cfg.run.report_dir.glob("run-*.json")) if cfg.run.report_dir.is_dir() else []
    last = None
    if reports:
        data = json.loads(reports[-1].read_text(encoding="utf-8"))
        last = {
            "started_at": data["started_at"],
            "finished_at": data["finished_at"],
            "ok": data["ok"],
            "outcomes": data["outcomes"],
            "failures": len(data["failures"]),
            "report": str(reports[-1]),
            "for_people": data.get("for_people", 0),
        }
    engine = open_engine(cfg.database_url)
    try:
        with Session(engine) as session:
            review_open = session.exec(
                select(func.count()).select_from(ReviewItem).where(col(ReviewItem.status) == ReviewStatus.OPEN)
            ).one()
            outbox = Counter(
                {
                    str(s): int(n)
                    for s, n in session.exec(
                        select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
                    )
                }
            )
            pending = session.exec(
                select(func.count()).select_from(Document).where(col(Document.parse_state) == ParseState.PENDING)
            ).one()
            states = outbox_states(session, now=clock())
            people = mails_for_people(session, imap=cfg.sources.imap, maildir=cfg.sources.maildir)
            overdue = overdue_access_reviews(session)
    finally:
        engine.dispose()
    alerts = []
    if last is not None and not last["ok"]:
        alerts.append(
            {
                "code": Alert.LAST_RUN_FAILED.value,
                "message": f"the last run ({last['started_at']}) ended with {last['failures']} failure(s): "
                f"{last['report']}",
            }
        )
    alerts.extend(outbox_alerts(states, alert_after_minutes=cfg.mail.alert_after_minutes))
    return {
        "last_run": last,
        "review_open": int(review_open),
        "outbox": dict(outbox),
        "outbox_states": [s.as_dict() for s in states],
        "documents_pending": int(pending),
        "for_people": [m.as_dict() for m in people],
        # the team's to chase, shown but not an alert: nothing is wrong with the deployment
        "access_reviews_overdue": overdue,
        "alerts": alerts,
        "ok": not alerts,
    }


# ------------------------------------------------------------------------------------------ notices


class NoticeEvent(StrEnum):
    NEW_DOCUMENTS = "new-documents"
    NEW_FEATURE = "new-feature"


def notify_orgs(
    cfg: Config,
    *,
    event: NoticeEvent,
    what_nl: str,
    what_fr: str,
    org: str | None = None,
    clock: Clock = utc_now,
    transport: Transport | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Queue one org notice per organisation with open access (or just ``org``), then send the outbox.

    The text is given in Dutch and in French (each organisation reads its own language; one text in
    one language would reach the others as a foreign one, so that is refused). The idempotency key
    holds the event and both texts: running the same notice again sends nothing twice, to any
    organisation.
    """
    what = {"nl": what_nl.strip(), "fr": what_fr.strip()}
    if not any(what.values()):
        raise ConfigError("notice-empty", "say what is new (--what-nl and --what-fr)")
    missing = [lang for lang, text in what.items() if not text]
    if missing:
        raise ConfigError(
            "notice-language-missing",
            "the notice must be given in Dutch and in French: "
            + " and ".join(f"--what-{lang}" for lang in missing)
            + " missing",
        )
    own_engine = engine is None
    engine = engine or open_engine(cfg.database_url)
    digest = hashlib.sha256(f"{event.value}\n{what['nl']}\n{what['fr']}".encode()).hexdigest()[:16]
    try:
        with Session(writer(engine)) as session:  # reads then queues: BEGIN IMMEDIATE
            query = select(Organisation).where(col(Organisation.status) == OrgStatus.OPEN)
            if org:
                query = query.where(col(Organisation.enterprise_number) == org)
            orgs = list(session.exec(query))
            if org and not orgs:
                raise ConfigError("org-not-open", f"organisation {org} has no open access", org=org)
            mail_event = MailEvent.NEW_DOCUMENTS if event is NoticeEvent.NEW_DOCUMENTS else MailEvent.NEW_FEATURES

            def decide() -> Mails:
                mails = []
                for o in orgs:
                    key = f"notice:{event.value}:{digest}:{o.enterprise_number}"
                    if session.exec(select(OutboxMessage.id).where(col(OutboxMessage.idempotency_key) == key)).first():
                        continue
                    params: dict[str, Any] = {"org_name": o.name, "enterprise_number": o.enterprise_number}
                    params["documents" if event is NoticeEvent.NEW_DOCUMENTS else "features"] = [dict(what)]
                    mails.append(
                        MailIntent(
                            kind=MailKind.ORG_NOTICE,
                            event=mail_event,
                            enterprise_number=o.enterprise_number,
                            login=None,
                            params=params,
                            idempotency_key=key,
                        )
                    )
                return Mails(tuple(mails))

            notice = commit_decision(session, decide, clock=clock)
            queued, already = len(notice.mails), len(orgs) - len(notice.mails)
        drained = send_outbox(cfg, engine=engine, transport=transport or make_transport(cfg), clock=clock)
    finally:
        if own_engine:
            engine.dispose()
    return {
        "event": event.value,
        "organisations": len(orgs),
        "queued": queued,
        "already": already,
        "mail": drained.as_dict(),
        "ok": drained.ok,
    }
