"""One outbox listing for `outbox list` (newest first, any state) and the desk's ops page (unsent, due first)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from extranet_intake.intake.monitor import UNSENT, OutboxOrder, outbox_listing
from extranet_intake.mailer.outbox import OutboxMessage, OutboxStatus
from extranet_intake.mailer.purposes import Event, Purpose
from tests.fixtures.mailer import FakeClock, MailDb


def test_one_listing_serves_the_command_and_the_ops_page(mail_db: MailDb) -> None:
    clock = FakeClock()
    with mail_db.session() as s:
        mail_db.world.add_org(s, "0644695949", notification="extranet@acme.be", mu_email="an.claes@acme.be")
        outbox = mail_db.world.outbox(clock)
        ids = []
        for i in range(3):
            row = outbox.enqueue(
                s,
                purpose=Purpose.ORG_NOTICE,
                ref="0644695949",
                event=Event.ACCESS_OPENED,
                params={"org_name": "Acme NV", "accounts": 1},
                key=f"n{i}",
            )
            ids.append(row.id)
            clock.advance(minutes=1)
        refused = outbox.enqueue(
            s,
            purpose=Purpose.CREDENTIALS,
            ref="NOPE",
            event=Event.ACCOUNT_OPENED,
            params={"login": "NOPE"},
            key="k-refused",
        ).id
        t = OutboxMessage.__table__  # type: ignore[attr-defined]
        # the first is sent; the second is deferred to after the third
        s.execute(sa.update(t).where(t.c.id == ids[0]).values(status=OutboxStatus.SENT.value, sent_at=clock()))
        s.execute(
            sa.update(t)
            .where(t.c.id == ids[1])
            .values(attempts=1, last_error="x" * 600, next_attempt_at=clock() + timedelta(hours=1))
        )
        s.commit()
        everything = outbox_listing(s.connection())
        queued = outbox_listing(s.connection(), states=[OutboxStatus.QUEUED])
        ops = outbox_listing(s.connection(), states=UNSENT, order=OutboxOrder.DUE)
    assert [r.id for r in everything] == [refused, ids[2], ids[1], ids[0]]  # newest first, every state
    assert [r.id for r in queued] == [ids[2], ids[1]]
    assert [r.id for r in ops] == [ids[2], refused, ids[1]]  # due first; the sent one is history
    shown = {r.id: r.as_dict(now=clock()) for r in everything}
    assert shown[ids[0]]["state"] == "sent"
    assert shown[ids[0]]["next_attempt_at"] is None
    assert shown[ids[0]]["sent_at"] is not None
    assert shown[ids[1]]["next_attempt_at"] == (clock() + timedelta(hours=1)).isoformat()
    assert shown[ids[2]]["age_seconds"] == 60
    assert "params" not in shown[ids[2]]  # never the template's parameters
