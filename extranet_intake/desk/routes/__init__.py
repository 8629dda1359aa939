"""Every router of the desk; ``create_app`` includes them in this order (append yours)."""

from __future__ import annotations

from fastapi import APIRouter

from extranet_intake.desk.routes import audit, auth, health, oidc, ops, review

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    auth.router,
    health.router,
    oidc.router,
    review.router,
    audit.router,
    ops.router,
]
