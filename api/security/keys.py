"""Creating, listing, revoking and resolving API keys.

A key is 32 random bytes (``fr_`` + URL-safe base64); the database holds only its SHA-256 digest.
A slow password hash would add its cost to every request and buys nothing here: the keys are
uniformly random with 256 bits of entropy, so a leaked digest cannot be brute-forced back to a key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.key_tables import ApiKey
from api.security.principal import Principal, Scope

PREFIX = "fr_"


@dataclass(frozen=True)
class IssuedKey:
    """The only moment the plain key exists outside its holder."""

    id: str
    key: str
    scope: Scope


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def normalise_origin(origin: str) -> str:
    """``https://Shop.Example/`` → ``https://shop.example``: browsers send the origin in this form."""
    origin = origin.strip().rstrip("/").lower()
    scheme, sep, host = origin.partition("://")
    if scheme not in ("http", "https") or not sep or not host or "/" in host:
        raise ValueError(f"origin {origin!r} must look like https://shop.example (scheme and host only)")
    return origin


def create_key(
    session: Session, scope: Scope, *, name: str = "", origins: list[str] | None = None
) -> IssuedKey:
    """Store a new key's digest and return the key (shown once, never stored)."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=secrets.token_hex(6),
        digest=digest(key),
        scope=scope.value,
        name=name,
        origins=[normalise_origin(o) for o in origins or []],
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, key, scope)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, key_id: str) -> bool:
    """Mark the key revoked (kept for the audit trail); False when no such active key exists."""
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC).replace(tzinfo=None)
    session.flush()
    return True


def resolve(session: Session, key: str) -> Principal | None:
    """The active key's principal, or None for an unknown, malformed or revoked key."""
    if not key.startswith(PREFIX) or len(key) > 128:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.digest == digest(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    return Principal(row.id, Scope(row.scope), tuple(row.origins or ()))


def active_origins(session: Session) -> frozenset[str]:
    """Every origin listed on an active key (what a CORS preflight may be answered for)."""
    rows = session.scalars(select(ApiKey.origins).where(ApiKey.revoked_at.is_(None)))
    return frozenset(o for origins in rows for o in origins or ())
