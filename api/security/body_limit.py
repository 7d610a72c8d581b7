"""Request bodies are refused above a size before anything parses them: a declared length at once,
a chunked body as soon as it passes the limit (it is buffered up to the limit, then replayed)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.security.asgi import app_settings, send_error
from avatar.face.quality import DEFAULT_THRESHOLDS

# the avatar upload carries a photo plus a JSON part and multipart headers; the route itself refuses a
# declared length over the photo limit (422 image_too_large, which the studio shows), so this is the
# backstop for bodies that do not declare one
PHOTO_ROUTE = ("POST", "/v1/avatars")
PHOTO_LIMIT = 2 * DEFAULT_THRESHOLDS.max_bytes


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        route = (scope["method"], scope["path"].rstrip("/"))
        limit = PHOTO_LIMIT if route == PHOTO_ROUTE else app_settings(scope.get("app")).max_body_bytes
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await _too_large(send, int(declared) if declared.isdigit() else -1, limit)
                return
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(send, size, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, size: int, limit: int) -> None:
    await send_error(
        send,
        413,
        "body_too_large",
        f"body: the request body is over the {limit} byte limit for this route",
        {"field": "body", "max_bytes": limit, "bytes": size},
        {},
    )
