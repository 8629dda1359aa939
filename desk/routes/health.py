"""Health for the load balancer: ``/healthz`` (the process answers) and ``/readyz`` (database at the latest schema)."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from desk.security import desk_of
from intake.db import alembic_config

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    desk = desk_of(request)
    heads = set(ScriptDirectory.from_config(alembic_config(desk.cfg.database_url)).get_heads())
    try:
        with desk.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any failure to reach the database is "not ready", with its kind
        return JSONResponse({"status": "database-unreachable", "error": type(exc).__name__}, status_code=503)
    if current != heads:
        return JSONResponse({"status": "schema-outdated", "current": sorted(current), "expected": sorted(heads)},
                            status_code=503)
    return JSONResponse({"status": "ready", "revision": sorted(current)})
