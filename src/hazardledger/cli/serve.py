"""``hazardledger serve`` and ``hazardledger users``: the ledger as a multi-user server."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..api.protections import DEFAULT_MAX_BODY
from ..ledger import default_actor
from .common import DbOption, app, command_group, err, fail, open_ledger, out, reports_bad_input
from .language import headings, say

users_app = command_group("users", "Server users and their API tokens.")
basemap_app = command_group("basemap", "The web map's basemap: the packaged outlines, or "
                                       "tiles from a server you choose.")


@app.command()
@reports_bad_input
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes, each with its own "
                                                    "socket on the port")] = 1,
    max_body: Annotated[int, typer.Option(
        "--max-body", min=1024, max=2**31 - 1,
        help="Largest request body in bytes (413 above it); the default fits any real batch")
                        ] = DEFAULT_MAX_BODY,
    prepare_ahead: Annotated[bool, typer.Option(
        "--prepare-ahead/--no-prepare-ahead",
        help="Compute the residual hazard and priorities of the web map's dates (today and "
             "the first of each month, two years back to one ahead) in the background, from "
             "the first request on, so that its date slider answers at once")] = True,
) -> None:
    """Serve the ledger: OGC API – Features (read and, for editors, write) with tokens."""
    import uvicorn

    from ..api.app import create_app
    from ..api.throttle import log_to_stderr
    from ..api.workers import ServerFailed, check_port, run_workers

    log_to_stderr()
    ledger = open_ledger(db)
    store = ledger.store  # opened now, so that a missing ledger fails before listening
    check_port(host, port)  # a port in use is bad input: exit 2 with its message
    store.begin_serving()
    # uvicorn stops gracefully on SIGTERM and then raises the signal again; turned into an
    # exit here, it leaves through the finally below, which puts the file back in order.
    signal.signal(signal.SIGTERM, _stopped)
    out.print(say("serving {ledger} on {url} (OGC API – Features; API tokens from "
                  "'hazardledger users add')", ledger=ledger.shown,
                  url=f"http://{host}:{port}/"))
    try:
        if workers > 1:
            run_workers(ledger.location, host, port, workers, max_body=max_body,
                        prepare_ahead=prepare_ahead, tell=lambda line: err.print(line))
        else:
            uvicorn.run(create_app(ledger.location, max_body, prepare_ahead=prepare_ahead),
                        host=host, port=port, log_level="warning")
    except ServerFailed as exc:
        fail([str(exc)], code=1)
    finally:
        note = store.end_serving()
        ledger.close()
        if note:
            err.print(note)


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@users_app.command("add")
@reports_bad_input
def users_add(
    name: Annotated[str, typer.Argument(help="Who the token is for")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin")],
    expires: Annotated[str | None, typer.Option(
        help="When the token stops working: days (90d) or a UTC date or time "
             "(2027-03-31 means 00:00 UTC that day); never by default")] = None,
    db: DbOption = None,
) -> None:
    """Create a user (or give an existing one a new token, role and expiry, which also
    undoes a revocation); prints the token once."""
    from ..api.auth import add_user, token_sha256

    ledger = open_ledger(db)
    token = add_user(ledger.store, name, role, actor=default_actor(), expires=expires)
    user = ledger.store.user_for_token(token_sha256(token))
    expiry = say(", expires {moment}", moment=user.expires_at) if user and user.expires_at else ""
    out.print(Text(say("user {name} ({role}{expiry}): token {token}", name=name,
                       role=role.lower(), expiry=expiry, token=token)))
    out.print(say("Keep the token now: the ledger stores only its hash."))


@users_app.command("list")
@reports_bad_input
def users_list(db: DbOption = None) -> None:
    """The server's users, their roles, and their tokens' state (never the tokens)."""
    from ..api.auth import utc_now

    now = utc_now()
    table = Table(*headings("user", "role", "status", "token created", "expires",
                            "last used"), title=say("Server users"))
    for user in open_ledger(db).store.users():
        # Text, not markup: a name is data, and '[' in one must print as itself
        status = user.status(now)
        if user.revoked_at:
            status += f" {user.revoked_at}"
        table.add_row(*(Text(value or "–") for value in (
            user.name, user.role, status, user.created_at, user.expires_at,
            user.last_used_at)))
    out.print(table)


@users_app.command("revoke")
@reports_bad_input
def users_revoke(
    name: Annotated[str, typer.Argument(help="Whose token to revoke")],
    db: DbOption = None,
) -> None:
    """Revoke a user's token: the server refuses it from the next request on (audited).
    'users add' with the same name gives the user a new token."""
    user = open_ledger(db).store.revoke_user(name, actor=default_actor())
    out.print(Text(say("user {name}: token revoked at {moment}", name=user.name,
                       moment=user.revoked_at)))


@basemap_app.command("set")
@reports_bad_input
def basemap_set(
    url: Annotated[str, typer.Argument(help="Tile URL with {z}, {x} and {y}, e.g. "
                                            "https://tiles.example.org/{z}/{x}/{y}.png")],
    attribution: Annotated[str, typer.Option(help="The provider and licence, shown on the "
                                                  "map")],
    db: DbOption = None,
) -> None:
    """Show tiles from URL under the web map (audited). Browsers then ask that host for
    tiles, and only that host: the page's policy names it. Restart 'serve' to apply."""
    from ..api.basemap import ATTRIBUTION_SETTING, URL_SETTING, tile_basemap

    tiles = tile_basemap(url, attribution)
    store = open_ledger(db).store
    store.set_meta(URL_SETTING, tiles.url, actor=default_actor())
    store.set_meta(ATTRIBUTION_SETTING, tiles.attribution, actor=default_actor())
    out.print(Text(say("basemap: tiles from {origin} (restart 'serve' to apply)",
                       origin=tiles.origin)))


@basemap_app.command("off")
@reports_bad_input
def basemap_off(db: DbOption = None) -> None:
    """Back to the packaged outlines: no request to any other host (audited)."""
    from ..api.basemap import URL_SETTING

    open_ledger(db).store.set_meta(URL_SETTING, "", actor=default_actor())
    out.print(say("basemap: the packaged outlines (restart 'serve' to apply)"))


@basemap_app.command("show")
@reports_bad_input
def basemap_show(db: DbOption = None) -> None:
    """The basemap the web map draws."""
    from ..api.basemap import ATTRIBUTION_SETTING, URL_SETTING, stored_basemap

    store = open_ledger(db).store
    tiles = stored_basemap(store.get_meta(URL_SETTING), store.get_meta(ATTRIBUTION_SETTING))
    out.print(Text(say("basemap: the packaged outlines (Natural Earth)") if tiles is None
                   else say("basemap: {url} ({attribution})", url=tiles.url,
                            attribution=tiles.attribution)))
