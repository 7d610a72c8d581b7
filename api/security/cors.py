"""CORS for exactly the origins listed on active keys (``fitroom keys create --origin``).

A preflight carries no key, so it is answered for any origin some active key lists; the key sent
with the real request must then list that origin itself (checked in :mod:`api.security.auth`).
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db.session import session_scope
from api.security.asgi import app_settings, send_error
from api.security.keys import active_origins
from api.settings import Settings

ALLOW_HEADERS = "Authorization, Content-Type, X-Request-ID"
ALLOW_METHODS = "GET, POST, DELETE"
EXPOSE = "X-Request-ID, Retry-After"
_TTL_S = 5.0
_cache: dict[str, tuple[float, frozenset[str]]] = {}


def _origins(settings: Settings) -> frozenset[str]:
    url = settings.sqlalchemy_url
    hit = _cache.get(url)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    with session_scope(url) as session:
        origins = active_origins(session)
    _cache[url] = (time.monotonic() + _TTL_S, origins)
    return origins


def forget_cached_origins() -> None:
    _cache.clear()


class KeyOriginCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        allowed = origin.lower() in await run_in_threadpool(_origins, app_settings(scope.get("app")))
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            if not allowed:
                await send_error(
                    send,
                    403,
                    "origin_not_allowed",
                    f"no active key lists the origin {origin}",
                    {"origin": origin},
                    {"Vary": "Origin"},
                )
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin.encode()),
                        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                        (b"access-control-max-age", b"600"),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSE
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)
