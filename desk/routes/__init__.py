"""Every router of the desk; ``create_app`` includes them in this order (append yours)."""

from __future__ import annotations

from fastapi import APIRouter

from desk.routes import audit, auth, health, ops, review

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    auth.router,
    health.router,
    review.router,
    audit.router,
    ops.router,
]
