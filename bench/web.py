"""Benchmark: the desk's pages under uvicorn with 1,000 open review items and 100,000 audit entries (SQLite).

Usage: .venv/bin/python bench/web.py [--items 1000] [--entries 100000] [--requests 200]

Measured with a real HTTP client (httpx, keep-alive) against uvicorn in its own process: the review
queue, one item page (a stored PDF beside its fields; every view appends a DOCUMENT_OPENED entry),
and a filtered audit page. The floor is a bare Starlette app in a second uvicorn process running the
same SQL (the same query functions) and returning its rows as plain text — no session, CSRF,
template or audit append. Requests alternate A/B so both sides see the same machine load.
Target: each page ≤ 150 ms p95.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extranet_intake.auditchain.chain import AUDIT_ENTRY, AUDIT_HEAD, AuditAction, EntryFields, chain
from extranet_intake.intake.database import upgrade
from extranet_intake.intake.store import DocumentStore
from extranet_intake.intake.store_tables import Document
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.models import DossierForm, Organisation, ReviewItem
from extranet_intake.provisioning.staff import Role, add_staff

SECRET = "bench-session-secret-" + "x" * 32
PASSWORD = "bench password 1234 long enough"
NOW = datetime.now(UTC)
ROOT = Path(__file__).resolve().parents[1]
FORMS = ("EAP-AGR", "EAP-MU", "EAP-USR")
ACTIONS = (
    AuditAction.ACCOUNT_CREATED,
    AuditAction.MAIL_SENT,
    AuditAction.REVIEW_APPROVED,
    AuditAction.CREDENTIALS_ISSUED,
    AuditAction.DOCUMENT_RECEIVED,
)


def _en(i: int) -> str:
    return f"0{400000000 + i:09d}"


def build(folder: Path, items: int, entries: int) -> tuple[str, int, str]:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    store = DocumentStore(folder / "store", fsync=False)
    pdf = (ROOT / "samples" / "documents" / "lejeune" / "agr-fr.pdf").read_bytes()
    real_sha = store.put(pdf)
    orgs = 50
    with engine.begin() as conn:
        conn.execute(
            Organisation.__table__.insert(),
            [  # type: ignore[attr-defined]
                {
                    "enterprise_number": _en(i),
                    "name": f"Organisation {i} NV",
                    "street": "",
                    "postcode": "",
                    "city": "",
                    "status": "open",
                    "created_at": NOW,
                }
                for i in range(orgs)
            ],
        )
        conn.execute(
            Document.__table__.insert(),
            [
                {  # type: ignore[attr-defined]
                    "sha256": real_sha,
                    "size": len(pdf),
                    "kind": "attachment",
                    "media_type": "application/pdf",
                    "first_seen_at": NOW,
                    "parse_state": "parsed",
                }
            ],
        )
        docs, queue = [], []
        for i in range(items):
            sha = real_sha if i == items // 2 else f"{i:064x}"
            form = FORMS[i % 3]
            fields = {
                "org_name": f"Organisation {i % orgs} NV",
                "org_enterprise_number": _en(i % orgs),
                "org_city": "Gent",
                "notification_email": f"n{i}@example.be",
                "signed_date": "2026-11-20",
            }
            at = NOW - timedelta(hours=i)
            docs.append(
                {
                    "sha256": sha,
                    "enterprise_number": _en(i % orgs),
                    "form_id": form,
                    "channel": "email",
                    "sender": f"mu{i % orgs}@example.be",
                    "authenticated": True,
                    "received_at": at,
                    "status": "in_review",
                    "reason": "human-approval-required",
                    "fields": fields,
                    "warnings": [],
                }
            )
            queue.append(
                {
                    "document_sha256": sha,
                    "enterprise_number": _en(i % orgs),
                    "form_id": form,
                    "reasons": ["human-approval-required"] if i % 4 else ["ocr-low-confidence"],
                    "fields": fields,
                    "errors": [],
                    "status": "open",
                    "created_at": at,
                    "corrections": {},
                }
            )
        conn.execute(DossierForm.__table__.insert(), docs)  # type: ignore[attr-defined]
        conn.execute(ReviewItem.__table__.insert(), queue)  # type: ignore[attr-defined]
        start = NOW - timedelta(minutes=entries)
        rows = list(
            chain(
                EntryFields(
                    at=start + timedelta(minutes=k),
                    actor=f"actor{k % 7}",
                    action=ACTIONS[k % len(ACTIONS)],
                    org=_en(k % orgs),
                    login=f"L{k % 997}",
                    document_sha256=None,
                    reason=f"entry {k}",
                )
                for k in range(entries)
            )
        )
        for part in range(0, len(rows), 10_000):
            conn.execute(AUDIT_ENTRY.insert(), rows[part : part + 10_000])
        conn.execute(sa.update(AUDIT_HEAD).values(seq=rows[-1]["seq"], hash=rows[-1]["hash"]))
        item_id = conn.execute(
            sa.select(ReviewItem.__table__.c.id).where(  # type: ignore[attr-defined]
                ReviewItem.__table__.c.document_sha256 == real_sha
            )
        ).scalar_one()  # type: ignore[attr-defined]
    from sqlmodel import Session

    with Session(engine) as session:
        add_staff(session, "rev", role=Role.REVIEWER, password=PASSWORD, actor="bench")
        add_staff(session, "aud", role=Role.AUDITOR, password=PASSWORD, actor="bench")
        session.commit()
    engine.dispose()
    return url, int(item_id), _en(3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(kind: str, url: str, store: str, port: int) -> None:
    """Run one server (``desk`` or ``bare``) in this process."""
    import uvicorn

    from extranet_intake.intake.config import Config

    cfg = Config()
    cfg.database.url = url
    cfg.store.path = Path(store)
    if kind == "desk":
        from extranet_intake.desk.app import create_app

        app = create_app(cfg, secret=SECRET)
    else:
        app = bare_app(cfg)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def bare_app(cfg: object) -> object:
    """Starlette, no middleware: the same query functions, the rows as text."""
    from sqlmodel import Session
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from extranet_intake.provisioning.approvals import approvals_of
    from extranet_intake.provisioning.audit_query import AuditFilter, audit_page
    from extranet_intake.provisioning.queue import review_queue
    from extranet_intake.provisioning.review import show_review

    engine = make_engine(cfg.database.url)  # type: ignore[attr-defined]

    def queue(request: Request) -> PlainTextResponse:
        with Session(engine) as session:
            page = review_queue(session, now=datetime.now(UTC))
        return PlainTextResponse("\n".join(f"{r.id} {r.form_id} {r.org_name}" for r in page.rows))

    def item(request: Request) -> PlainTextResponse:
        with Session(engine) as session:
            view = show_review(session, int(request.path_params["item_id"]))
            approvals = approvals_of(session, view.id)
        return PlainTextResponse(json.dumps(view.as_dict()) + str(len(approvals)))

    def audit(request: Request) -> PlainTextResponse:
        f = AuditFilter(
            org=request.query_params.get("org"),
            action=AuditAction(request.query_params["action"]) if "action" in request.query_params else None,
        )
        with engine.connect() as conn:
            page = audit_page(conn, f, size=50)
        return PlainTextResponse("\n".join(f"{r['seq']} {r['reason']}" for r in page.rows))

    return Starlette(routes=[Route("/review", queue), Route("/review/{item_id:int}", item), Route("/audit", audit)])


def _start(kind: str, url: str, store: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--url", url, "--store", str(store), "--port", str(port)], cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/review", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def _login(client: httpx.Client, name: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "name": name, "password": PASSWORD, "totp": "", "next": "/"}
    )
    assert response.status_code == 303, response.text


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--serve")
    ap.add_argument("--url")
    ap.add_argument("--store")
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.url, args.store, args.port)
        return
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        url, item_id, org = build(folder, args.items, args.entries)
        print(
            f"built {args.items} open review items and {args.entries} audit entries "
            f"in {time.perf_counter() - started:.1f} s"
        )
        desk, desk_base = _start("desk", url, folder / "store")
        bare, bare_base = _start("bare", url, folder / "store")
        try:
            pages = {
                "queue": "/review",
                "item": f"/review/{item_id}",
                "audit (org + action filter)": f"/audit?org={org}&action=credentials_issued",
            }
            with (
                httpx.Client(base_url=desk_base) as rev,
                httpx.Client(base_url=desk_base) as aud,
                httpx.Client(base_url=bare_base) as floor,
            ):
                _login(rev, "rev")
                _login(aud, "aud")
                clients = {"queue": rev, "item": rev, "audit (org + action filter)": aud}
                print(f"{'page':28} {'desk p50':>9} {'desk p95':>9} {'bare p50':>9} {'bare p95':>9} {'ratio p50':>9}")
                for name, path in pages.items():
                    a: list[float] = []
                    b: list[float] = []
                    for i in range(args.requests + 10):
                        for side in (0, 1) if i % 2 else (1, 0):
                            client = clients[name] if side == 0 else floor
                            t0 = time.perf_counter()
                            response = client.get(path)
                            elapsed = (time.perf_counter() - t0) * 1000
                            assert response.status_code == 200, (name, side, response.status_code)
                            if i >= 10:  # warm-up
                                (a if side == 0 else b).append(elapsed)
                    print(
                        f"{name:28} {statistics.median(a):8.1f}  {_pct(a, 95):8.1f}  {statistics.median(b):8.1f}  "
                        f"{_pct(b, 95):8.1f}  {statistics.median(a) / statistics.median(b):8.2f}x"
                    )
        finally:
            for proc in (desk, bare):
                proc.terminate()
                proc.wait(timeout=10)
    print(f"(ms; {args.requests} requests per page and side, interleaved; SQLite; pid {os.getpid()})")


if __name__ == "__main__":
    main()
