"""``hazardledger serve`` and ``hazardledger users``: the ledger as a multi-user server."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from .cli import DbOption, _ledger, app, out, reports_bad_input
from .ledger import default_actor

users_app = typer.Typer(help="Server users and their API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@app.command()
@reports_bad_input
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the ledger: OGC API – Features (read and, for editors, write) with tokens."""
    import os

    import uvicorn

    from .api.app import SERVE_DB_ENV, create_app

    ledger = _ledger(db)
    store = ledger.store  # opened now, so that a missing ledger fails before listening
    store.begin_serving()
    # uvicorn stops gracefully on SIGTERM and then raises the signal again; turned into an
    # exit here, it leaves through the finally below, which puts the file back in order.
    signal.signal(signal.SIGTERM, _stopped)
    out.print(f"serving {ledger.shown} on http://{host}:{port}/ (OGC API – Features; "
              "API tokens from 'hazardledger users add')")
    try:
        if workers > 1:  # each worker process builds its own app from the environment
            os.environ[SERVE_DB_ENV] = ledger.location
            uvicorn.run("hazardledger.api.app:app_from_env", factory=True, host=host,
                        port=port, workers=workers, log_level="warning")
        else:
            uvicorn.run(create_app(ledger.location), host=host, port=port,
                        log_level="warning")
    finally:
        note = store.end_serving()
        ledger.close()
        if note:
            out.print(f"[yellow]{note}[/yellow]")


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@users_app.command("add")
@reports_bad_input
def users_add(
    name: Annotated[str, typer.Argument(help="Who the token is for")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin")],
    db: DbOption = None,
) -> None:
    """Create a user (or give an existing one a new token and role); prints the token once."""
    from .api.auth import add_user

    ledger = _ledger(db)
    token = add_user(ledger.store, name, role, actor=default_actor())
    out.print(f"user {name} ({role.lower()}): token {token}")
    out.print("Keep the token now: the ledger stores only its hash.")


@users_app.command("list")
@reports_bad_input
def users_list(db: DbOption = None) -> None:
    """The server's users and their roles (never their tokens)."""
    table = Table("user", "role", "token created", title="Server users")
    for user in _ledger(db).store.users():
        table.add_row(user.name, user.role, user.created_at)
    out.print(table)
