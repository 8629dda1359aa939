"""Mails per second delivered to a local aiosmtpd (STARTTLS + AUTH) by the mailer, against the floor.

Floor: a bare aiosmtplib loop — the same concurrency, each worker one authenticated connection
reused for all its messages, ``sendmail`` of the same pre-serialised bytes. Measured:
``SmtpTransport.send`` with the same messages and concurrency, and the whole ``Sender.drain``
(outbox claim, recipient re-check, credentials issued and hashed, render, send, commit, audit)
on SQLite. Usage: python bench/smtp.py [N] [CONCURRENCY]

``python bench/smtp.py --scale [PAIRS]`` asks whether a drain's cost per mail grows with the
outbox (issue 15.10: each claim once carried the list of every row already tried): drains of 300
and of 3,000 notices to the same aiosmtpd, interleaved small/large PAIRS times (default 3), on
SQLite and PostgreSQL; it prints the median ms per mail of each and the large/small ratio
(target ≤ 1.2).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extranet_intake.mailer.purposes import Event, Language, Purpose, Recipient  # noqa: E402
from extranet_intake.mailer.render import check_message, compose, render  # noqa: E402
from extranet_intake.mailer.send import Sender, SendSettings  # noqa: E402
from extranet_intake.mailer.transports import Envelope, Security, SmtpSettings, SmtpTransport  # noqa: E402
from tests.fixtures.mailer import make_mail_db  # noqa: E402
from tests.fixtures.smtp import SmtpServer  # noqa: E402


def _messages(n: int) -> list[Envelope]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        rcpt = Recipient(f"user{i}@acme.be", f"User {i}", Language.NL)
        rendered = render(
            Purpose.ORG_NOTICE,
            Event.ACCESS_OPENED,
            Language.NL,
            recipient_name=rcpt.name,
            params={"org_name": "Acme", "accounts": 3},
            now=now,
        )
        msg = compose(
            rendered,
            sender="extranet2P@ethias.be",
            sender_name="Ethias Extranet",
            recipient=rcpt,
            message_id=f"<bench.{i}@ethias.be>",
            when=now,
        )
        data = check_message(msg, envelope_recipient=rcpt.address)
        out.append(Envelope("extranet2P@ethias.be", rcpt.address, msg, data))
    return out


async def _floor(server: SmtpServer, envelopes: list[Envelope], concurrency: int) -> float:
    queue: asyncio.Queue[Envelope] = asyncio.Queue()
    for e in envelopes:
        queue.put_nowait(e)

    async def worker() -> None:
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            start_tls=True,
            tls_context=server.client_context,
            username=server.user,
            password=server.password,
            timeout=30,
        )
        await client.connect()
        while not queue.empty():
            e = queue.get_nowait()
            await client.sendmail(e.sender, [e.recipient], e.data)
        await client.quit()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(envelopes) / (time.perf_counter() - t0)


def _settings(server: SmtpServer, concurrency: int) -> SmtpSettings:
    return SmtpSettings(
        host=server.host,
        port=server.port,
        security=Security.STARTTLS,
        user=server.user,
        password=server.password,
        ca_file=str(server.ca_file),
        concurrency=concurrency,
    )


async def _transport(server: SmtpServer, envelopes: list[Envelope], concurrency: int) -> float:
    transport = SmtpTransport(_settings(server, concurrency))
    t0 = time.perf_counter()
    await asyncio.gather(*(transport.send(e) for e in envelopes))
    rate = len(envelopes) / (time.perf_counter() - t0)
    await transport.aclose()
    return rate


async def _drain(server: SmtpServer, n: int, concurrency: int, tmp: Path) -> float:
    gen = make_mail_db("sqlite", tmp)
    db = next(gen)
    with db.session() as s:
        outbox = db.world.outbox()
        for i in range(n):
            db.world.add_account(s, f"EAP{i}", f"user{i}@acme.be", f"User {i}", "nl")
            outbox.enqueue(
                s,
                purpose=Purpose.CREDENTIALS,
                ref=f"EAP{i}",
                event=Event.ACCOUNT_OPENED,
                params={"login": f"EAP{i}"},
                key=f"c{i}",
            )
        s.commit()
    transport = SmtpTransport(_settings(server, concurrency))
    sender = Sender(
        db.engine, ports=db.world.ports(), transport=transport, settings=SendSettings(concurrency=concurrency)
    )
    t0 = time.perf_counter()
    report = await sender.drain()
    rate = len(report.sent) / (time.perf_counter() - t0)
    await transport.aclose()
    assert len(report.sent) == n, report.as_dict()
    for _ in gen:  # runs the cleanup after the yield
        pass
    return rate


async def _notice_drain(server: SmtpServer, kind: str, n: int, concurrency: int, tmp: Path) -> float:
    """Seconds per mail of one drain of ``n`` organisation notices (no password: the claim's share shows)."""
    gen = make_mail_db(kind, tmp)
    db = next(gen)
    try:
        with db.session() as s:
            db.world.add_org(s, "0644695949", notification="extranet@acme.be", mu_email="an.claes@acme.be")
            outbox = db.world.outbox()
            for i in range(n):
                outbox.enqueue(
                    s,
                    purpose=Purpose.ORG_NOTICE,
                    ref="0644695949",
                    event=Event.ACCESS_OPENED,
                    params={"org_name": "Acme NV", "accounts": 1},
                    key=f"n{i}",
                )
            s.commit()
        transport = SmtpTransport(_settings(server, concurrency))
        sender = Sender(
            db.engine, ports=db.world.ports(), transport=transport, settings=SendSettings(concurrency=concurrency)
        )
        t0 = time.perf_counter()
        report = await sender.drain()
        elapsed = time.perf_counter() - t0
        await transport.aclose()
        assert len(report.sent) == n, report.as_dict()
    finally:
        for _ in gen:  # runs the cleanup after the yield
            pass
    return elapsed / n


def scale(pairs: int, concurrency: int = 4) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ca = trustme.CA()
        ca_file = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server = SmtpServer(ca=ca, ca_file=ca_file, implicit_tls=False)
        server.start()
        try:
            for kind in ("sqlite", "postgresql"):
                costs: dict[int, list[float]] = {300: [], 3000: []}
                for p in range(pairs):
                    for n in (300, 3000):
                        run_dir = Path(tmp) / f"{kind}-{n}-{p}"
                        run_dir.mkdir()
                        costs[n].append(asyncio.run(_notice_drain(server, kind, n, concurrency, run_dir)))
                        server.messages.clear()
                small, large = statistics.median(costs[300]), statistics.median(costs[3000])
                print(
                    f"{kind:10s} drain of   300 notices: {small * 1000:6.2f} ms/mail   "
                    f"3,000: {large * 1000:6.2f} ms/mail   ratio {large / small:4.2f}   "
                    f"(median of {pairs} interleaved pairs)",
                    flush=True,
                )
        finally:
            server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--scale":
        scale(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with tempfile.TemporaryDirectory() as tmp:
        ca = trustme.CA()
        ca_file = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server = SmtpServer(ca=ca, ca_file=ca_file, implicit_tls=False)
        server.start()
        try:
            envelopes = _messages(n)
            asyncio.run(_floor(server, envelopes[: min(50, n)], concurrency))  # warm up
            # interleaved A B A B, five pairs; the median of the per-pair ratios (docs: every bench)
            floors, ourss, ratios = [], [], []
            for _ in range(5):
                floors.append(asyncio.run(_floor(server, envelopes, concurrency)))
                ourss.append(asyncio.run(_transport(server, envelopes, concurrency)))
                ratios.append(ourss[-1] / floors[-1])
            floor, ours, ratio = statistics.median(floors), statistics.median(ourss), statistics.median(ratios)
            drain_n = min(n, 300)
            drain = asyncio.run(_drain(server, drain_n, concurrency, Path(tmp)))
        finally:
            server.stop()
    print(f"aiosmtpd on loopback, STARTTLS + AUTH, {n} mails, concurrency {concurrency}")
    print(f"floor  bare aiosmtplib loop      : {floor:8.1f} mails/s")
    print(
        f"mailer SmtpTransport.send        : {ours:8.1f} mails/s   ratio {ratio:.2f} of the floor (median of 5 pairs)"
    )
    print(
        f"mailer Sender.drain (SQLite, {drain_n} credentials mails with argon2 in the test issuer): "
        f"{drain:8.1f} mails/s   ratio {drain / floor:.2f}"
    )


if __name__ == "__main__":
    main()
