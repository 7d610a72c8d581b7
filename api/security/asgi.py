"""Helpers shared by the pure-ASGI middlewares (which run before FastAPI's dependencies)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

from api.settings import Settings, get_settings


def app_settings(app: Any) -> Settings:
    """The settings the routes see: a test's ``dependency_overrides`` entry, else the process's."""
    overrides = getattr(app, "dependency_overrides", {})
    return overrides.get(get_settings, get_settings)()


async def send_error(
    send: Send, status: int, code: str, message: str, details: dict[str, Any], headers: dict[str, str]
) -> None:
    """The common error shape, sent before the app has seen the request."""
    body = json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
