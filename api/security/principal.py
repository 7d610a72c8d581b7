"""The caller of the current request, as a context variable.

Set by the authentication dependency (an ``async`` dependency, so it runs in the request's own
context) and copied into threadpool calls by anyio; the avatar table reads it to record an owner.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """What a key may do: the widget recommends and checks, a shopper owns avatars, analytics reads
    the analytics tables, admin does everything (imports, training, keys, model reloads)."""

    WIDGET = "widget"
    SHOPPER = "shopper"
    ANALYTICS = "analytics"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    key_id: str
    scope: Scope
    origins: tuple[str, ...]


_current: ContextVar[Principal | None] = ContextVar("fitroom_principal", default=None)


def set_current(principal: Principal | None) -> None:
    _current.set(principal)


def current() -> Principal | None:
    return _current.get()


def current_key_id() -> str | None:
    """The key id of the request in progress, or None outside a request (CLI)."""
    principal = _current.get()
    return principal.key_id if principal is not None else None
