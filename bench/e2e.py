"""Benchmark: forms/s through the whole daily run, and the share of time per stage.

A real Dovecot holds ``--messages`` mails, each carrying one user fiche (two in three fillable,
one in three flattened) sent by its organisation's Master User with DMARC pass, so every one is
applied automatically: account created, credentials and Master User notice sent to a real
aiosmtpd (STARTTLS + AUTH). The organisations are opened first (agreement, Master User fiche and
approvals), outside the measurement. Runs on SQLite and on PostgreSQL.

    .venv/bin/python bench/e2e.py [--messages 1000] [--orgs 20] [--backend sqlite|postgresql|both]

Needs root, Debian ``dovecot-imapd`` and PostgreSQL at 127.0.0.1:5432 (as the test suite does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trustme
from sqlmodel import Session

from intake.config import load_config
from intake.operations import init_deployment, run_once
from intake.progress import PlainProgress
from intake.render import render_form
from intake.wiring import enqueue_mails
from provisioning.db import make_engine
from provisioning.reference import import_contracts_file
from provisioning.review import approve, list_reviews
from tests.fixtures.deployment import IMAP_PASSWORD_ENV, SMTP_PASSWORD_ENV, write_deployment_config
from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.postgres import PgAdmin
from tests.fixtures.smtp import SmtpServer

GATEWAY = "mx.ethias.be"
SIGNED = "16/11/2026"


def enterprise_number(i: int) -> str:
    base = 4_000_000 + i * 7919  # the first eight digits (leading 0), then the mod-97 check
    return f"{base:08d}{97 - base % 97:02d}"


def org_values(i: int) -> dict[str, Any]:
    return {"org_name": f"Bench Organisation {i} NV", "org_enterprise_number": enterprise_number(i),
            "signed_date": SIGNED}


def opening_forms(i: int) -> list[tuple[str, bytes]]:
    org = org_values(i)
    agr = render_form("EAP-AGR", "nl", {**org, "org_street": "Kerkstraat 1", "org_postcode": "1000",
                                        "org_city": "Brussel", "notification_email": f"extranet@org{i}.example",
                                        "correspondence_language": "nl", "signatory_name": "Els Peeters",
                                        "signatory_function": "Zaakvoerder", "signed_place": "Brussel",
                                        "accept_terms": True})
    mu = render_form("EAP-MU", "nl", {**org, "mu_last_name": "Maes", "mu_first_name": "Lien",
                                      "mu_function": "HR", "mu_email": f"mu@org{i}.example",
                                      "mu_phone": "+32 2 511 22 33", "mu_language": "nl", "rep_name": "Els Peeters",
                                      "rep_function": "Zaakvoerder"})
    return [("agr.pdf", agr), ("mu.pdf", mu), ("usr.pdf", user_fiche((i, 0, False)))]


def user_fiche(args: tuple[int, int, bool]) -> bytes:
    org_i, n, flat = args
    lang = "fr" if n % 2 else "nl"
    return render_form("EAP-USR", lang, {
        **org_values(org_i), "action": "new", "user_last_name": f"Gebruiker{n}", "user_first_name": "Bench",
        "user_email": f"user{n}@org{org_i}.example", "user_language": lang, "user_type": "internal",
        "profile": "consult_input" if n % 3 else "consult", "scope": "selected" if n % 2 else "all",
        "contracts": [f"BENCH-{org_i}-1"] if n % 2 else [], "mu_name": "Lien Maes"}, flatten=flat, signed=flat)


def message(org_i: int, attachments: list[tuple[str, bytes]], n: int) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = f"{GATEWAY}; dmarc=pass header.from=org{org_i}.example; spf=pass"
    msg["From"] = f"mu@org{org_i}.example"
    msg["To"] = "extranet2P@ethias.be"
    msg["Subject"] = f"Gebruikersfiche {n}"
    msg["Message-ID"] = f"<bench-{org_i}-{n}@org{org_i}.example>"
    msg.set_content("In bijlage de fiche.")
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes(policy=SMTP)


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{root / 'bench.db'}"
        return
    admin = PgAdmin()
    url = admin.create("bench_e2e")
    try:
        yield url
    finally:
        admin.drop(url)


def bench(backend: str, *, messages: int, orgs: int, dovecot: DovecotServer, smtp: SmtpServer,
          fiches: list[bytes]) -> None:
    root = Path(tempfile.mkdtemp(prefix=f"bench-e2e-{backend}-"))
    imap = dovecot.add_user()
    with database(backend, root) as db_url:
        os.environ[IMAP_PASSWORD_ENV], os.environ[SMTP_PASSWORD_ENV] = imap.password, smtp.password
        cfg = load_config(write_deployment_config(root, db_url=db_url, imap=imap, smtp=smtp, drop=False))
        init_deployment(cfg)
        register = root / "contracts.csv"
        register.write_text("enterprise_number,contract_number,contract_name\n" + "".join(
            f"{enterprise_number(i)},BENCH-{i}-1,Groepsverzekering {i}\n" for i in range(orgs)), encoding="utf-8")
        engine = make_engine(db_url)
        quiet = PlainProgress(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the bench

        def clock() -> datetime:
            return datetime.now(UTC)

        with Session(engine) as session:
            import_contracts_file(session, register, clock=clock)
            session.commit()
        # opening the organisations: not measured
        imap.deliver_many([message(i, opening_forms(i), 0) for i in range(orgs)])
        run_once(cfg, reporter=quiet)
        with Session(engine) as session:
            for item in list_reviews(session):
                decision = approve(session, item.id, by="Bench Reviewer", clock=clock)
                enqueue_mails(session, decision.mails, clock=clock, actor="Bench Reviewer")
            session.commit()
        opened = run_once(cfg, reporter=quiet)
        assert opened.ok, opened.failures

        imap.deliver_many([message(n % orgs, [(f"fiche-{n}.pdf", data)], n + 1) for n, data in enumerate(fiches)])
        started = time.perf_counter()
        report = run_once(cfg, reporter=quiet)
        elapsed = time.perf_counter() - started
        engine.dispose()
    applied = report.outcomes().get("applied", 0)
    assert report.ok, report.failures[:5]
    assert applied == messages, report.outcomes()
    sent = len(report.mail.sent) if report.mail is not None else 0
    print(f"\n{backend}: {messages} messages, {applied} forms applied, {sent} mails sent "
          f"in {elapsed:.1f} s → {applied / elapsed:.1f} forms/s end to end")
    total = sum(report.timings.values())
    for stage, seconds in report.timings.items():
        print(f"  {stage:<12} {seconds:7.1f} s  {seconds / total:6.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--orgs", type=int, default=20)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)

    t0 = time.perf_counter()
    jobs = [(n % args.orgs, n + 1, n % 3 == 2) for n in range(args.messages)]
    with ProcessPoolExecutor() as pool:
        fiches = list(pool.map(user_fiche, jobs, chunksize=20))
    print(f"rendered {len(fiches)} user fiches in {time.perf_counter() - t0:.1f} s (not measured)")

    dovecot = DovecotServer(Path(tempfile.mkdtemp(prefix="dvc-", dir="/tmp")))
    os.chmod(dovecot.root, 0o755)
    dovecot.start()
    ca = trustme.CA()
    ca_file = Path(tempfile.mkdtemp(prefix="bench-ca-")) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    smtp = SmtpServer(ca=ca, ca_file=ca_file, implicit_tls=False)
    smtp.start()
    try:
        for backend in backends:
            bench(backend, messages=args.messages, orgs=args.orgs, dovecot=dovecot, smtp=smtp, fiches=fiches)
    finally:
        smtp.stop()
        dovecot.stop()


if __name__ == "__main__":
    main()
