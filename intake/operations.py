"""The ops engineer's services behind the thin commands: init, run, dry run, status, org notices."""

from __future__ import annotations

import hashlib
import json
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from errors import ConfigError
from intake.authres import evaluate
from intake.checkpoints import checkpoint_after_run
from intake.config import Config
from intake.db import migrate, open_engine
from intake.decisions import Mails, commit_decision
from intake.explode import MESSAGE_UNREADABLE
from intake.mime import MimeLimits, extract
from intake.parsing import read_trusted_roots, sandboxed_parser
from intake.people import mails_for_people
from intake.pipeline import (
    Clock,
    DocumentResult,
    RunReport,
    daily_run,
    make_transport,
    provenance_of,
    send_outbox,
    utc_now,
)
from intake.progress import Reporter
from intake.report_rows import Failure
from intake.sources.drop import is_ignored
from intake.sources.files import Refused, read_listed
from intake.sources.imap import account_of, connect
from intake.store import DocumentStore, sha256_of
from intake.store_tables import Arrival, Document, FileLedger, ImapLedger, LedgerState, ParseState, pending_documents
from mailer.outbox import OutboxMessage
from mailer.transports import Transport
from parsers.result import Channel
from provisioning.db import writer
from provisioning.models import Organisation, OrgStatus, ReviewItem, ReviewStatus
from provisioning.plan import MailEvent, MailIntent, MailKind, Provenance
from provisioning.service import process_form

__all__ = ["NoticeEvent", "dry_run", "init_deployment", "notify_orgs", "run_once", "status_of"]


def init_deployment(cfg: Config) -> list[str]:
    """Create the folders (owner+group only) and the database schema (Alembic to head). Safe to run again."""
    done = []
    for folder in (cfg.run.data_dir, cfg.store.path, cfg.sources.drop.path, cfg.sources.drop.archive,
                   cfg.mail.outbox_dir, cfg.run.report_dir):
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        done.append(f"folder {folder}")
    for sub in ("new", "cur", "tmp"):
        (cfg.sources.maildir.path / sub).mkdir(mode=0o750, parents=True, exist_ok=True)
    done.append(f"maildir {cfg.sources.maildir.path}")
    migrate(cfg.database_url)
    done.append(f"database {make_url(cfg.database_url).render_as_string(hide_password=True)} (schema at head)")
    return done


def run_once(cfg: Config, *, reporter: Reporter, clock: Clock = utc_now, send: bool = True,
             transport: Transport | None = None) -> RunReport:
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
    from intake.metrics import collect, write_textfile

    try:
        with Session(engine) as session:
            registry = collect(session, now=clock(), last_run=report.as_dict())
        write_textfile(cfg.run.metrics_file, registry)
    except OSError as exc:
        report.failures.append(Failure("metrics", "metrics-write-failed",
                                       f"cannot write {cfg.run.metrics_file}: {exc.strerror}"))


# ------------------------------------------------------------------------------------------ dry run


@dataclass(frozen=True)
class _Candidate:
    source: str
    data: bytes
    provenance: Provenance
    filename: str | None
    #: why this original cannot be read at all (a real run gives it this coded outcome)
    problem: str = ""


def dry_run(cfg: Config, *, reporter: Reporter, clock: Clock = utc_now) -> RunReport:
    """What a run would do now, changing nothing: sources are only read (IMAP read-only, BODY.PEEK),
    nothing is stored or moved, and every plan is applied in one transaction that is rolled back."""
    _require_database(cfg)
    report = RunReport(started_at=clock(), dry_run=True)
    engine = open_engine(cfg.database_url)
    store = DocumentStore(cfg.store.path)
    try:
        with Session(engine) as session:
            with reporter.stage("sources (read only)") as st:
                candidates = list(_peek_sources(cfg, session, store, clock=clock))
                st.advance(len(candidates))
            with reporter.stage("documents", total=len(candidates)) as st, \
                    sandboxed_parser(cfg.parsing, read_trusted_roots(cfg.signatures)) as parser:
                for cand in candidates:
                    if cand.problem:
                        report.documents.append(DocumentResult(cand.provenance.sha256, cand.source, None, None,
                                                               "rejected", "rejected", (cand.problem,)))
                        st.advance()
                        continue
                    form = parser.parse(cand.data, today=clock().date(), filename=cand.filename)
                    form = replace(form, sha256=cand.provenance.sha256, channel=cand.provenance.channel)
                    decision = process_form(session, form, cand.provenance, clock=clock)
                    report.documents.append(DocumentResult(
                        cand.provenance.sha256, cand.source, form.form_id, decision.plan.enterprise_number,
                        form.outcome.value, decision.outcome.value,
                        decision.plan.reasons + tuple(f"mail {m.kind.value} ({m.event.value})"
                                                      for m in decision.mails)))
                    st.advance()
            session.rollback()
    finally:
        engine.dispose()
    report.finished_at = clock()
    return report


def _require_database(cfg: Config) -> None:
    url = make_url(cfg.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise ConfigError("database-missing", f"no database at {url.database}: run `extranet-intake init` first",
                          file=cfg.source, key="database.url")


def _peek_sources(cfg: Config, session: Session, store: DocumentStore, *, clock: Clock) -> Iterator[_Candidate]:
    now = clock()
    # Documents already stored but not parsed come first, as in a real run.
    for doc in pending_documents(session):
        yield _Candidate(doc.arrival.source, store.open(doc.sha256),
                         provenance_of(doc.arrival, sha256=doc.sha256, require_dmarc=cfg.trust.require_dmarc),
                         doc.arrival.filename or None)
    known = set(session.exec(select(Document.sha256)))
    if cfg.sources.maildir.enabled:
        done = set(session.exec(select(FileLedger.key).where(col(FileLedger.source) == "maildir",
                                                             col(FileLedger.state) != LedgerState.RETRY)))
        for sub in ("new", "cur"):
            folder = cfg.sources.maildir.path / sub
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                if path.name.split(":", 1)[0] not in done and not path.name.startswith("."):
                    yield from _file_candidates(cfg, f"maildir:{path.name}", path, known, now, message=True)
    if cfg.sources.drop.enabled and cfg.sources.drop.path.is_dir():
        for path in sorted(cfg.sources.drop.path.iterdir()):
            if not is_ignored(path.name):
                yield from _file_candidates(cfg, f"drop:{path.name}", path, known, now, message=False)
    if cfg.sources.imap.enabled:
        imap = cfg.sources.imap
        client = connect(imap, password=cfg.secret(imap.password_env, key="sources.imap.password_env"))
        try:
            info = client.select_folder(imap.folder, readonly=True)
            validity = int(info[b"UIDVALIDITY"])
            done_uids = set(session.exec(select(ImapLedger.uid).where(
                col(ImapLedger.account) == account_of(imap), col(ImapLedger.folder) == imap.folder,
                col(ImapLedger.uidvalidity) == validity, col(ImapLedger.state) != LedgerState.RETRY)))
            uids = [u for u in client.search("ALL") if u not in done_uids]
            for start in range(0, len(uids), imap.batch_size):
                fetched = client.fetch(uids[start:start + imap.batch_size], ["BODY.PEEK[]"])
                for uid, item in sorted(fetched.items()):
                    yield from _message_candidates(cfg, f"imap:{imap.folder};uid={uid}", item[b"BODY[]"], known, now)
        finally:
            client.logout()


def _file_candidates(cfg: Config, source: str, path: Path, known: set[str], now: Any, *,
                     message: bool) -> Iterator[_Candidate]:
    """A folder source's file as the real run reads it (never through a link or a pipe)."""
    try:
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode):
            return
        data = (read_listed(path, st, max_bytes=cfg.sources.maildir.max_message_bytes, too_large="message-too-large")
                if message else read_listed(path, st, max_bytes=cfg.sources.drop.max_bytes))
    except Refused as exc:
        yield _unreadable(source, exc.code, None, now)
        return
    except FileNotFoundError:
        return
    except OSError as exc:
        yield _unreadable(source, "file-unreadable", exc, now)
        return
    if data is None:  # still being written: the real run leaves it for later too
        return
    if message:
        yield from _message_candidates(cfg, source, data, known, now)
        return
    sha = sha256_of(data)
    if sha not in known:
        known.add(sha)
        yield _Candidate(source, data, Provenance(sha256=sha, channel=Channel.POST, sender=None, authenticated=False,
                                                  received_at=now), path.name)


def _unreadable(source: str, code: str, exc: BaseException | None, now: Any, sha: str = "") -> _Candidate:
    why = f"{code}: {type(exc).__name__}" if exc is not None else code
    return _Candidate(source, b"", Provenance(sha256=sha, channel=Channel.POST, sender=None, authenticated=False,
                                              received_at=now), None, problem=why)


def _message_candidates(cfg: Config, source: str, raw: bytes, known: set[str], now: Any) -> Iterator[_Candidate]:
    try:
        ex = extract(raw, limits=MimeLimits(max_message_bytes=cfg.sources.imap.max_message_bytes,
                                            max_part_bytes=cfg.sources.imap.max_part_bytes))
    except Exception as exc:  # a hostile message must not stop the dry run either (stage 2 codes it so)
        yield _unreadable(source, MESSAGE_UNREADABLE, exc, now, sha256_of(raw))
        return
    verdict = evaluate(ex.envelope.authentication_results, trusted_ids=cfg.trust.trusted_authserv_ids,
                       sender=ex.envelope.sender)
    arrival = Arrival(sha256="", channel=Channel.EMAIL, source=source, sender=ex.envelope.sender,
                      message_id=ex.envelope.message_id, auth_trusted=verdict.trusted, dmarc=verdict.dmarc.value,
                      received_at=now, outcome="forms")
    for att in ex.attachments:
        sha = sha256_of(att.data)
        if sha in known:
            continue
        known.add(sha)
        yield _Candidate(source, att.data, provenance_of(arrival, sha256=sha, require_dmarc=cfg.trust.require_dmarc),
                         att.filename)


# ------------------------------------------------------------------------------------------ status


def status_of(cfg: Config, *, clock: Clock = utc_now) -> dict[str, Any]:
    """Last run (from its JSON report), open review items, outbox by status, documents not parsed yet,
    and the alerts that make ``status`` exit 1 (last run failed, a mail waiting too long)."""
    from intake.monitor import Alert, outbox_alerts, outbox_states

    _require_database(cfg)
    reports = sorted(cfg.run.report_dir.glob("run-*.json")) if cfg.run.report_dir.is_dir() else []
    last = None
    if reports:
        data = json.loads(reports[-1].read_text(encoding="utf-8"))
        last = {"started_at": data["started_at"], "finished_at": data["finished_at"], "ok": data["ok"],
                "outcomes": data["outcomes"], "failures": len(data["failures"]), "report": str(reports[-1]),
                "for_people": data.get("for_people", 0)}
    engine = open_engine(cfg.database_url)
    try:
        with Session(engine) as session:
            review_open = session.exec(select(func.count()).select_from(ReviewItem)
                                       .where(col(ReviewItem.status) == ReviewStatus.OPEN)).one()
            outbox = Counter({str(s): int(n) for s, n in session.exec(
                select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status)))})
            pending = session.exec(select(func.count()).select_from(Document)
                                   .where(col(Document.parse_state) == ParseState.PENDING)).one()
            states = outbox_states(session, now=clock())
            people = mails_for_people(session, imap=cfg.sources.imap, maildir=cfg.sources.maildir)
    finally:
        engine.dispose()
    alerts = []
    if last is not None and not last["ok"]:
        alerts.append({"code": Alert.LAST_RUN_FAILED.value,
                       "message": f"the last run ({last['started_at']}) ended with {last['failures']} failure(s): "
                                  f"{last['report']}"})
    alerts.extend(outbox_alerts(states, alert_after_minutes=cfg.mail.alert_after_minutes))
    return {"last_run": last, "review_open": int(review_open), "outbox": dict(outbox),
            "outbox_states": [s.as_dict() for s in states], "documents_pending": int(pending),
            "for_people": [m.as_dict() for m in people], "alerts": alerts, "ok": not alerts}


# ------------------------------------------------------------------------------------------ notices


class NoticeEvent(StrEnum):
    NEW_DOCUMENTS = "new-documents"
    NEW_FEATURE = "new-feature"


def notify_orgs(cfg: Config, *, event: NoticeEvent, what_nl: str, what_fr: str, org: str | None = None,
                clock: Clock = utc_now, transport: Transport | None = None,
                engine: Engine | None = None) -> dict[str, Any]:
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
        raise ConfigError("notice-language-missing", "the notice must be given in Dutch and in French: "
                          + " and ".join(f"--what-{lang}" for lang in missing) + " missing")
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
                    if session.exec(select(OutboxMessage.id).where(col(OutboxMessage.idempotency_key) == key)
                                    ).first():
                        continue
                    params: dict[str, Any] = {"org_name": o.name, "enterprise_number": o.enterprise_number}
                    params["documents" if event is NoticeEvent.NEW_DOCUMENTS else "features"] = [dict(what)]
                    mails.append(MailIntent(kind=MailKind.ORG_NOTICE, event=mail_event,
                                            enterprise_number=o.enterprise_number, login=None, params=params,
                                            idempotency_key=key))
                return Mails(tuple(mails))

            notice = commit_decision(session, decide, clock=clock)
            queued, already = len(notice.mails), len(orgs) - len(notice.mails)
        drained = send_outbox(cfg, engine=engine, transport=transport or make_transport(cfg), clock=clock)
    finally:
        if own_engine:
            engine.dispose()
    return {"event": event.value, "organisations": len(orgs), "queued": queued, "already": already,
            "mail": drained.as_dict(), "ok": drained.ok}

