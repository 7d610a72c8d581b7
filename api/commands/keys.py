"""``fitroom keys``: create, list and revoke API keys (stored hashed; a key is shown only once)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from api.db.session import session_scope
from api.security import keys
from api.security.local_keys import ensure_local_keys
from api.security.principal import Scope
from api.settings import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("create")
def create(
    scope: Annotated[Scope, typer.Option(help="widget, shopper, analytics or admin.")],
    origin: Annotated[
        list[str] | None, typer.Option("--origin", help="A web origin the key works from (repeatable).")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for lists and logs.")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"id", "key", "scope"} as the last line.')
    ] = False,
) -> None:
    """Create a key; the key itself is printed once and never stored."""
    try:
        with session_scope(get_settings().sqlalchemy_url) as session:
            issued = keys.create_key(session, scope, name=name, origins=origin or [])
    except ValueError as exc:
        typer.echo(f"--origin: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps({"id": issued.id, "key": issued.key, "scope": issued.scope.value}))
        return
    typer.echo(f"created {issued.scope.value} key {issued.id}; it is shown only now:\n{issued.key}")
    typer.echo("send it as: Authorization: Bearer <key>")


@app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """Every key's id, scope, name, origins and state (never the key)."""
    with session_scope(get_settings().sqlalchemy_url) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "scope": r.scope,
                "name": r.name,
                "origins": r.origins,
                "created_at": r.created_at.isoformat(),
                "revoked": r.revoked_at is not None,
            }
            for r in keys.list_keys(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else "active"
        typer.echo(f"{r['id']}  {r['scope']:<9}  {state:<7}  {r['name']}  {' '.join(r['origins'])}")


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `fitroom keys list`).")]) -> None:
    """Revoke a key at once (other workers stop trusting it within FITROOM_KEY_CACHE_SECONDS)."""
    with session_scope(get_settings().sqlalchemy_url) as session:
        done = keys.revoke_key(session, key_id)
    if not done:
        typer.echo(f"no active key {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@app.command("local")
def local() -> None:
    """Make the local admin key and the demo pages' widget key unless they exist (serve does it too)."""
    made = ensure_local_keys(get_settings())
    typer.echo(f"admin key: {made.admin}\ndemo widget key: {made.widget}")
