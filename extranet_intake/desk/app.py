"""The desk's application factory: database, routers, sessions, CSRF, security headers, error pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extranet_intake.errors import ConfigError
from extranet_intake.intake.config import Config
from extranet_intake.provisioning.engines import make_engine
from extranet_intake.provisioning.staff import Role

__all__ = ["SECURITY_HEADERS", "Desk", "Room", "create_app", "route_table"]

STATIC = Path(__file__).parent / "static"
MIN_SECRET_LENGTH = 32

#: sent with every response. No inline script or style anywhere, so the policy can forbid both: an
#: injected <script> in a name from a form would not run even if escaping ever failed.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


@dataclass(frozen=True)
class Room:
    """A page a role lands on after sign-in and finds in the navigation."""

    path: str
    label: str
    roles: frozenset[Role]


#: the rooms of the desk, in navigation order; a room shows only when its route is registered
ROOMS = (
    Room("/review", "Review desk", frozenset({Role.REVIEWER})),
    Room("/audit", "Audit room", frozenset({Role.AUDITOR})),
    Room("/ops", "Operations", frozenset({Role.ADMIN})),
)


@dataclass
class Desk:
    """What every request needs: the configuration, the engine, the signing key, the registered rooms."""

    cfg: Config
    engine: Engine
    secret: bytes
    rooms: list[Room] = field(default_factory=list)
    #: paths whose POST is authenticated otherwise (none yet; an OIDC back-channel would be one)
    csrf_exempt: frozenset[str] = frozenset()

    def room_of(self, role: Role) -> Room | None:
        return next((room for room in self.rooms if role in room.roles), None)


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`SECURITY_HEADERS` (and no-store for pages, HSTS over TLS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                if not is_static and b"cache-control" not in present:
                    # pages show personal data: no copy in a shared or back-button cache
                    extra.append((b"cache-control", b"no-store"))
                if tls:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def route_table(routes: Sequence[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every (method, path) the routes answer (a mount as GET of its prefix); HEAD is implied by GET."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI ≥ 0.16x keeps included routers whole
        if original is not None:
            context = getattr(route, "include_context", None)
            out |= route_table(original.routes, prefix + str(getattr(context, "prefix", "")))
        elif isinstance(route, APIRoute | Route):
            out |= {(method, prefix + route.path) for method in (route.methods or ()) if method != "HEAD"}
        elif isinstance(route, Mount):
            out.add(("GET", prefix + route.path))
    return out


def _secret(cfg: Config, secret: str | None) -> bytes:
    value = secret if secret is not None else cfg.secret(cfg.web.session_secret_env, key="web.session_secret_env")
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "config-bad-value",
            f"the web session secret must be at least {MIN_SECRET_LENGTH} characters",
            file=cfg.source,
            key="web.session_secret_env",
        )
    return value.encode()


def create_app(cfg: Config, *, secret: str | None = None, engine: Engine | None = None) -> FastAPI:
    """The desk on ``cfg``'s database (which must be migrated: ``/readyz`` says whether it is)."""
    from extranet_intake.desk.pages import render
    from extranet_intake.desk.routes import ROUTERS
    from extranet_intake.desk.security import LoginRequired, check_csrf, login_url

    desk = Desk(cfg=cfg, engine=engine or make_engine(cfg.database_url), secret=_secret(cfg, secret))
    app = FastAPI(
        title="extranet-intake desk",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_csrf)],
    )
    app.state.desk = desk
    for router in ROUTERS:
        app.include_router(router)
    paths = {path for _, path in route_table(app.routes)}
    desk.rooms = [room for room in ROOMS if room.path in paths]
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=302)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            401: "Sign in first",
            403: "Not allowed",
            404: "Not found",
            405: "Not allowed",
            429: "Too many attempts",
        }
        if request.url.path.startswith(("/static/", "/healthz", "/readyz", "/metrics")):
            return Response(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
        try:
            # render() may read the session from the database: not on the event loop
            return await run_in_threadpool(
                render,
                request,
                "error.html",
                status=exc.status_code,
                title=titles.get(exc.status_code, "Error"),
                message=str(exc.detail),
            )
        except Exception:  # an error page must never fail: a bare one then
            return HTMLResponse(f"<h1>{exc.status_code}</h1>", status_code=exc.status_code)

    return app
