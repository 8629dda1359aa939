"""Health for the load balancer and monitoring: ``/healthz`` (the process answers), ``/readyz`` (database at the
latest schema) and ``/metrics`` (admins, or a scraper with the configured bearer token)."""

from __future__ import annotations

import hmac
import os
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from extranet_intake.desk.metrics import collect
from extranet_intake.desk.security import current_staff, desk_of
from extranet_intake.intake.database import head_revision, schema_revision
from extranet_intake.provisioning.staff import Role

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    desk = desk_of(request)
    # the same one-SELECT check every command makes (intake/database.py), not Alembic on each probe
    head = head_revision()
    try:
        current = schema_revision(desk.engine)
    except Exception as exc:  # any failure to reach the database is "not ready", with its kind
        return JSONResponse({"status": "database-unreachable", "error": type(exc).__name__}, status_code=503)
    if current != head:
        return JSONResponse(
            {"status": "database-schema-outdated", "current": current, "expected": head}, status_code=503
        )
    return JSONResponse({"status": "ready", "revision": head})


@router.get("/metrics")
def metrics(request: Request) -> PlainTextResponse:
    desk = desk_of(request)
    token = os.environ.get(desk.cfg.web.metrics_token_env, "")
    sent = request.headers.get("authorization", "")
    if not (token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())):
        staff = current_staff(request)
        # a scraper gets 401, never a redirect to a login page it cannot fill in
        if staff is None:
            raise HTTPException(
                status_code=401,
                detail="sign in or send the metrics bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if staff.role is not Role.ADMIN:
            raise HTTPException(status_code=403, detail="metrics are for admins")
    body = collect(desk.engine, session_idle=timedelta(minutes=desk.cfg.web.session_idle_minutes))
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
