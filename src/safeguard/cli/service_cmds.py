"""Commands: `serve` (the HTTP safety service) and `keys create|list|revoke`."""

from __future__ import annotations

from typing import Annotated

import typer

from safeguard.cli.app import app

keys_app = typer.Typer(help="API keys for the HTTP service (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn and service log level")] = "info",
    workers: Annotated[
        int, typer.Option(min=1, help="server processes (about one per core; they share the database)")
    ] = 1,
) -> None:
    """Run the safety service (REST API, OpenAPI at /docs) on HOST:PORT."""
    from safeguard.server.serve import run

    run(host=host, port=port, log_level=log_level, workers=workers)


@keys_app.command("create")
def keys_create(
    scope: Annotated[
        list[str], typer.Option("--scope", help="ingest, review or admin (repeatable)")
    ],
    name: Annotated[str | None, typer.Option(help="a label for the key")] = None,
) -> None:
    """Create an API key; the key itself is printed once, as the last line."""
    from safeguard.accounts.keys import create_key
    from safeguard.store.db import session_scope

    with session_scope() as session:
        info, secret = create_key(session, scope, name)
    typer.echo(f"created key {info.id} with scopes {','.join(info.scopes)}")
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (ids, scopes, state; never the secrets)."""
    from safeguard.accounts.keys import list_keys
    from safeguard.store.db import session_scope

    with session_scope() as session:
        for info in list_keys(session):
            state = "revoked" if info.revoked_at else "active"
            typer.echo(
                f"{info.id}\t{','.join(info.scopes)}\t{state}\t"
                f"{info.created_at:%Y-%m-%dT%H:%M:%SZ}\t{info.name or ''}"
            )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id from `keys list`")]) -> None:
    """Revoke a key (a running server stops accepting it within seconds)."""
    from safeguard.accounts.keys import revoke_key
    from safeguard.store.db import session_scope

    with session_scope() as session:
        info = revoke_key(session, key_id)
    typer.echo(f"revoked key {info.id}")
