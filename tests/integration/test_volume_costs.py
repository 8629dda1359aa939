"""Cost that must not grow with volume: the claim of the next mail, the legacy login lookup, the state read."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from extranet_intake.mailer.purposes import Event, Purpose
from extranet_intake.mailer.send import Sender, SendSettings
from extranet_intake.mailer.transports import FileTransport
from tests.fixtures.mailer import FakeClock, MailDb


@pytest.mark.asyncio
async def test_a_claim_carries_no_list_of_the_rows_already_sent(mail_db: MailDb, tmp_path: Path) -> None:
    """The last claim of a drain binds as many parameters as the first (it once grew by one a mail). The sender
    claims a batch at a time, so 30 mails take at least 30 / batch_size claims."""
    clock = FakeClock()
    with mail_db.session() as s:
        mail_db.world.add_org(s, "0644695949", notification="extranet@acme.be", mu_email="an.claes@acme.be")
        outbox = mail_db.world.outbox(clock)
        for i in range(30):
            outbox.enqueue(
                s,
                purpose=Purpose.ORG_NOTICE,
                ref="0644695949",
                event=Event.ACCESS_OPENED,
                params={"org_name": "Acme NV", "accounts": 1},
                key=f"n{i}",
            )
        s.commit()
    claims: list[int] = []

    def count(
        conn: object, cursor: object, statement: str, parameters: object, context: object, executemany: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT OUTBOX.ID") and "ORDER BY" in statement.upper():
            claims.append(len(parameters) if isinstance(parameters, (tuple, list, dict)) else 0)

    sa.event.listen(mail_db.engine, "before_cursor_execute", count)
    try:
        report = await Sender(
            mail_db.engine, ports=mail_db.world.ports(), transport=FileTransport(tmp_path), clock=clock
        ).drain()
    finally:
        sa.event.remove(mail_db.engine, "before_cursor_execute", count)
    assert len(report.sent) == 30
    assert len(claims) >= 30 // SendSettings().batch_size >= 3
    assert max(claims) == min(claims)


def test_the_legacy_login_lookup_uses_an_index(engine: sa.Engine) -> None:
    """Login allocation's case-insensitive check must not scan the old Extranet's accounts."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT login FROM legacy_account WHERE upper(login) = 'EAPX'"
                )
            )
            assert "ix_legacy_account_login_upper" in plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether an index can answer
            plan = " ".join(
                str(r[0])
                for r in conn.exec_driver_sql("EXPLAIN SELECT login FROM legacy_account WHERE upper(login) = 'EAPX'")
            )
            assert "ix_legacy_account_login_upper" in plan


def test_a_forms_state_holds_only_the_accounts_its_rules_can_look_at(engine: sa.Engine, tmp_path: Path) -> None:
    """At 1,000 accounts an organisation's plan read them all (30 ms); the rules need at most a few."""
    from sqlmodel import Session

    from extranet_intake.provisioning.state import load_state
    from tests.fixtures.provisioning import EN, usr
    from tests.integration.test_provisioning_flow import open_dossier, receive

    open_dossier(engine, tmp_path)
    for i in range(6):
        receive(engine, usr(email=f"user{i}@acme.be"))
    with Session(engine) as session:
        everyone = load_state(session, EN).accounts
        assert len(everyone) == 7
        login = next(a.login for a in everyone if a.email == "user3@acme.be")
        by_login = load_state(
            session, EN, fields=dict(usr(action="modify", login=login.lower(), email="new@acme.be").fields)
        )
        assert [a.login for a in by_login.accounts] == [login]
        by_email = load_state(session, EN, fields=dict(usr(action="revoke", email=" User4@ACME.be").fields))
        assert [a.email for a in by_email.accounts] == ["user4@acme.be"]
        assert load_state(session, EN, fields=dict(usr(email="nobody@acme.be").fields)).accounts == ()
