"""The dependencies that guard routers: a valid key of an allowed scope, its origin, its rate limit,
and (for shopper keys) ownership of the avatar named in the path.

Routers get them once in ``api.main`` (``include_router(..., dependencies=guard(...))``), not per
route. A key comes as ``Authorization: Bearer`` or, for the service's own pages, as the HttpOnly,
SameSite=Strict cookie ``fitroom_<scope>`` that the page set (:mod:`api.security.pages`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.db.avatar_tables import Avatar
from api.db.session import session_scope
from api.deps import SettingsDep
from api.errors import ApiError, not_found
from api.security import keys
from api.security.principal import Principal, Scope, current, set_current
from api.security.ratelimit import limiter_for, retry_after
from api.settings import Settings

_cache: dict[str, tuple[float, Principal]] = {}


def cookie_name(scope: Scope) -> str:
    return f"fitroom_{scope.value}"


def forget_cached_keys() -> None:
    """Drop every resolved key (after a revocation in this process)."""
    _cache.clear()


def resolve_key(settings: Settings, key: str) -> Principal | None:
    """The key's principal, trusted for ``key_cache_seconds`` (a revocation elsewhere lags that long)."""
    digest = keys.digest(key)
    hit = _cache.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    with session_scope(settings.sqlalchemy_url) as session:
        principal = keys.resolve(session, key)
    if principal is not None and settings.key_cache_seconds > 0:
        _cache[digest] = (time.monotonic() + settings.key_cache_seconds, principal)
    return principal


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {}, {"WWW-Authenticate": "Bearer"})


def _presented(request: Request, scopes: Sequence[Scope]) -> list[str]:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized("the Authorization header must be `Bearer <key>`")
        return [value.strip()]
    return [request.cookies[cookie_name(s)] for s in scopes if cookie_name(s) in request.cookies]


async def _authenticate(request: Request, settings: Settings, scopes: Sequence[Scope]) -> Principal:
    presented = _presented(request, scopes)
    if not presented:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>` (`fitroom keys create`)")
    found = None
    for key in presented:
        hit = _cache.get(keys.digest(key))
        fresh = hit is not None and hit[0] > time.monotonic()
        found = hit[1] if fresh and hit else await run_in_threadpool(resolve_key, settings, key)
        if found is not None:
            break
    if found is None:
        raise _unauthorized("invalid or revoked API key")
    if found.scope not in scopes:
        allowed = ", ".join(s.value for s in scopes)
        raise ApiError(
            403,
            "forbidden",
            f"a {found.scope.value} key may not call this route (needs: {allowed})",
            {"scope": found.scope.value, "allowed": [s.value for s in scopes]},
        )
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if found.origins and origin and origin.lower() not in found.origins and origin.lower() != own:
        raise ApiError(403, "origin_not_allowed", f"this key is not valid on {origin}", {"origin": origin})
    return found


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


async def _rate_limit(request: Request, settings: Settings, principal: Principal) -> None:
    path = _route_path(request)
    creating = request.method == "POST" and path == "/v1/avatars"
    limit = settings.avatar_create_per_minute if creating else settings.rate_limit_per_minute
    wait = await limiter_for(settings.redis_url).hit(f"{principal.key_id}:{request.method}:{path}", limit, 60)
    if wait is not None:
        seconds = retry_after(wait)
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limit} requests a minute to {request.method} {path} with this key; "
            f"retry in {seconds} s",
            {"limit": limit, "window_seconds": 60, "retry_after": seconds},
            {"Retry-After": str(seconds)},
        )


def require(*scopes: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys of these scopes (admin is always added)."""
    allowed = tuple(dict.fromkeys((*scopes, Scope.ADMIN)))

    async def dependency(request: Request, settings: SettingsDep) -> Principal:
        principal = await _authenticate(request, settings, allowed)
        await _rate_limit(request, settings, principal)
        set_current(principal)
        request.state.key_id = principal.key_id
        return principal

    return dependency


def _owner(settings: Settings, avatar_id: str) -> tuple[bool, str | None]:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.execute(select(Avatar.owner_key_id).where(Avatar.id == avatar_id)).first()
    return (row is not None, row[0] if row is not None else None)


async def avatar_owner(request: Request, settings: SettingsDep) -> None:
    """A shopper reaches only avatars it created; anyone else's is a 404, so ids are not confirmed."""
    avatar_id = request.path_params.get("avatar_id")
    principal = current()
    if avatar_id is None or principal is None or principal.scope is Scope.ADMIN:
        return
    exists, owner = await run_in_threadpool(_owner, settings, str(avatar_id)[:64])
    if exists and owner != principal.key_id:
        raise not_found("avatar", str(avatar_id))


def guard(*scopes: Scope, owned: bool = False) -> list[Any]:
    """``dependencies=`` for ``include_router``: the scope check, then the ownership check."""
    deps: list[DependsParam] = [Depends(require(*scopes))]
    if owned:
        deps.append(Depends(avatar_owner))
    return deps
