"""How the service's own pages get a key, as an HttpOnly, SameSite=Strict cookie ``fitroom_<scope>``
(scripts cannot read it, other sites cannot send it):

- the studio mints a shopper key per browser, so each browser sees only its own avatars;
- the demo product page uses the local widget key (:mod:`api.security.local_keys`);
- the dashboard needs an analytics (or admin) key, pasted once into ``/sign-in``.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.db.session import session_scope
from api.deps import SettingsDep
from api.security.auth import cookie_name, resolve_key
from api.security.keys import create_key
from api.security.local_keys import demo_widget_key
from api.security.principal import Scope
from api.settings import Settings

router = APIRouter(include_in_schema=False)
_MAX_AGE = 30 * 24 * 3600
_NEXT = {"/dashboard"}


def set_key_cookie(request: Request, response: Response, scope: Scope, key: str) -> None:
    response.set_cookie(
        cookie_name(scope),
        key,
        max_age=_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def _valid(request: Request, settings: Settings, scope: Scope, *accepted: Scope) -> bool:
    key = request.cookies.get(cookie_name(scope))
    principal = resolve_key(settings, key) if key else None
    return principal is not None and principal.scope in (scope, *accepted)


def studio_key(request: Request, response: Response, settings: Settings) -> None:
    """Give a browser without a working shopper cookie a new shopper key of its own."""
    if _valid(request, settings, Scope.SHOPPER):
        return
    with session_scope(settings.sqlalchemy_url) as session:
        issued = create_key(session, Scope.SHOPPER, name="studio")
    set_key_cookie(request, response, Scope.SHOPPER, issued.key)


def demo_key(request: Request, response: Response, settings: Settings) -> None:
    key = demo_widget_key(settings)
    if key is not None:
        set_key_cookie(request, response, Scope.WIDGET, key)


def analytics_signed_in(request: Request, settings: Settings) -> bool:
    return _valid(request, settings, Scope.ANALYTICS, Scope.ADMIN)


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fitroom · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>Sign in</h1><p>{message}</p>
<form method="post" action="/sign-in"><input type="hidden" name="next" value="{next}">
<label>Analytics key <input name="key" type="password" autocomplete="off" required size="48"></label>
<button type="submit">Sign in</button></form>
<p>Make one with <code>fitroom keys create --scope analytics</code>.</p></body></html>"""


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(next: Annotated[str, Query(max_length=64)] = "/dashboard") -> HTMLResponse:
    target = next if next in _NEXT else "/dashboard"
    return HTMLResponse(_FORM.format(message="The dashboard needs an analytics key.", next=escape(target)))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    settings: SettingsDep,
    key: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=64)] = "/dashboard",
) -> Response:
    """Check the key and keep it in the dashboard's cookie; a wrong key gets the form again (401)."""
    principal = resolve_key(settings, key.strip())
    if principal is None or principal.scope not in (Scope.ANALYTICS, Scope.ADMIN):
        body = _FORM.format(message="That key is not an active analytics key.", next="/dashboard")
        return HTMLResponse(body, status_code=401)
    response = RedirectResponse(next if next in _NEXT else "/dashboard", status_code=303)
    set_key_cookie(request, response, Scope.ANALYTICS, key.strip())
    return response
