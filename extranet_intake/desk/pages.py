"""Server-rendered pages: one Jinja2 environment (autoescape on), its globals, and ``render()``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from extranet_intake.desk.security import ANON_CSRF_COOKIE, cookie_secure, csrf_token, current_staff, desk_of, sign
from extranet_intake.reasons import describe, reason_text

__all__ = ["ENV", "render", "t"]

ENV = Environment(
    loader=PackageLoader("extranet_intake.desk", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def t(key: str, lang: str = "en") -> str:
    """The title of a reason code in ``lang``, from the one reason catalogue (reasons.py); a stored reason
    that names several codes or a note comes out as their words too; an unknown key stands as itself."""
    return reason_text(key, lang) if "," in key or ":" in key else describe(key, lang).title


ENV.globals["t"] = t


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """``template`` rendered with ``request``, ``staff``, ``csrf_token()``, ``rooms`` and ``ctx``."""
    staff = current_staff(request)
    desk = desk_of(request)
    token = csrf_token(request)
    lang = staff.language if staff is not None else "en"
    html = ENV.get_template(template).render(
        request=request,
        staff=staff,
        csrf_token=lambda *_: token,
        # words in the signed-in person's language (NL/FR)
        t=lambda key, lang=lang: t(str(key), lang),
        explain=lambda key: describe(str(key), lang).text,
        rooms=[room for room in desk.rooms if staff is not None and staff.role in room.roles],
        **ctx,
    )
    response = HTMLResponse(html, status_code=status)
    new_anon = getattr(request.state, "new_anon_csrf", None)
    if new_anon:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            sign(desk.secret, new_anon),
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )
    return response
