"""One access review campaign end to end over the samples: mails, a confirmation, a forgery refused, an overdue."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from sqlmodel import Session

from extranet_intake.intake.access_review import daily_review
from extranet_intake.intake.config import load_config
from extranet_intake.intake.metrics import collect
from extranet_intake.provisioning.engines import make_engine
from tests.e2e.test_run_e2e import REVIEWER, SECOND_REVIEWER, Deployment, _decide_reviews, _deliver
from tests.fixtures.dovecot import ImapAccount
from tests.fixtures.smtp import SmtpServer

CODE = re.compile(r"RV-[A-Z2-9]{4}-[A-Z2-9]{4}")


def _reply(*, sender: str, domain: str, auth_domain: str, to_mid: str, code: str, mid: str) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = (
        f"mx.ethias.be; dmarc=pass (p=NONE) header.from={auth_domain}; dkim=pass header.d={auth_domain}"
    )
    msg["From"] = sender
    msg["To"] = "extranet2P@ethias.be"
    msg["Subject"] = f"Re: access review ({code})"
    msg["Message-ID"] = mid
    msg["In-Reply-To"] = to_mid
    msg["References"] = to_mid
    msg.set_content(f"De lijst klopt. / La liste est correcte.\n\n> ref. {code}\n")
    del domain
    return msg.as_bytes(policy=SMTP)


def test_one_campaign_over_the_samples(
    tmp_path: Path,
    db_url: str,
    imap_account: ImapAccount,
    smtp_server: SmtpServer,
    manifest: dict[str, Any],
    samples_dir: Path,
) -> None:
    dep = Deployment(tmp_path, db_url=db_url, imap=imap_account, smtp=smtp_server)
    dep.cli("init")
    dep.cli("contracts", "import", str(samples_dir / "contracts.xlsx"))
    dep.cli("legacy", "import", str(samples_dir / "legacy_accounts.xlsx"))
    for name in (REVIEWER, SECOND_REVIEWER):  # `review --by` names a staff account; four eyes need two
        dep.cli("staff", "add", name, "--role", "reviewer")
    queued: set[str] = set()
    for wave in (1, 2):
        _deliver(wave, manifest, samples_dir, imap_account, dep.drop)
        dep.run()
        _decide_reviews(dep, manifest, queued)
        dep.run()
    open_orgs = sorted(manifest["expected"]["organisations_open"])
    mu_of = {o["enterprise_number"]: o["master_user"]["email"] for o in manifest["organisations"]}

    # the campaign: one mail per open organisation, to its Master User, with its accounts and its code
    before = len(smtp_server.messages)
    due = date.today() + timedelta(days=10)
    started = json.loads(dep.cli("review-access", "start", "--due", due.isoformat(), "--by", "E2E", "--json"))
    assert sorted(started["sent"]) == open_orgs
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.messages[before:]}
    assert sorted(mails) == sorted(mu_of[en] for en in open_orgs)
    users = [u for u in json.loads(dep.cli("users", "list", "--json")) if u["status"] == "active"]
    for en in open_orgs:
        msg = mails[mu_of[en]]
        body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert CODE.search(str(msg["Subject"]))
        for u in users:
            if u.get("enterprise_number", u.get("org")) == en:
                assert u["email"] in body, (en, u["email"])

    first, second, third = open_orgs
    code = {en: CODE.search(str(mails[mu_of[en]]["Subject"])).group(0) for en in open_orgs}  # type: ignore[union-attr]
    mid = {en: str(mails[mu_of[en]]["Message-ID"]) for en in open_orgs}
    dom = {en: mu_of[en].rpartition("@")[2] for en in open_orgs}
    imap_account.deliver_many(
        [
            # the first organisation's Master User confirms, authenticated
            _reply(
                sender=mu_of[first],
                domain=dom[first],
                auth_domain=dom[first],
                to_mid=mid[first],
                code=code[first],
                mid="<confirm-1@e2e>",
            ),
            # someone else answers the second organisation's mail, with its code, under its Master User's name
            _reply(
                sender=f'"{mu_of[second]}" <intruder@evil.example>',
                domain="evil.example",
                auth_domain="evil.example",
                to_mid=mid[second],
                code=code[second],
                mid="<forged-2@e2e>",
            ),
        ]
    )
    report = dep.run()
    assert report["access_review"]["overdue"] == []

    shown = json.loads(dep.cli("review-access", "status", "--json"))
    states = {o["org"]: o["state"] for o in shown["campaigns"][0]["organisations"]}
    assert states == {first: "confirmed", second: "sent", third: "sent"}
    log = json.loads(dep.cli("audit", "log", "--json"))
    refused = [e for e in log if e["action"] == "access_review_reply_refused"]
    assert [
        (e["org"], json.loads(e["details"])["code"] if isinstance(e["details"], str) else e["details"]["code"])
        for e in refused
    ] == [(second, "sender-not-master-user")]

    # audit access: the first organisation's grants name the campaign that confirmed them
    grants = json.loads(dep.cli("audit", "access", "--at", datetime.now(UTC).isoformat(), "--json"))
    campaign = started["campaign"]
    assert {
        g["confirmed_by_campaign"] for g in grants if g["org"] == first and not g["legacy"] and g["until"] is None
    } == {campaign}
    assert {g["confirmed_by_campaign"] for g in grants if g["org"] != first} <= {None}

    # past the due date: the two silent organisations are overdue, in the run's step and in the status
    cfg = load_config(dep.config)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            late = daily_review(
                session,
                cfg=cfg,
                clock=lambda: datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
            )
            session.commit()
    finally:
        engine.dispose()
    assert sorted(o["org"] for o in late["newly_overdue"]) == [second, third]
    assert late["suspended"] == []  # suspend_overdue is off by default
    shown = json.loads(dep.cli("review-access", "status", "--json"))
    assert sorted(o["org"] for o in shown["overdue"]) == [second, third]
    # ops sees them too: in `status` (not an alert: the deployment is fine) and as a metric
    ops = json.loads(dep.cli("status", "--json"))
    assert sorted(o["org"] for o in ops["access_reviews_overdue"]) == [second, third]
    assert {o["due_date"] for o in ops["access_reviews_overdue"]} == {due.isoformat()}
    assert not any(a["code"] == "access-review-overdue" for a in ops["alerts"])
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            metrics = generate_latest(collect(session, now=datetime.now(UTC))).decode()
    finally:
        engine.dispose()
    assert "extranet_intake_access_reviews_overdue 2.0" in metrics
    assert json.loads(dep.cli("audit", "verify", "--json"))["ok"] is True
