"""``hazardledger keys``: the key that seals victims' personal fields at rest, held in a
file outside the ledger (``HAZARDLEDGER_KEY_FILE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..ledger import default_actor
from ..store.personal import KEY_FILE_ENV, Keyring, add_key, create_key_file
from .common import command_group, open_ledger, out, reports_bad_input
from .language import say

keys_app = command_group("keys", "The key that seals victims' personal fields at rest.")

KeyFile = Annotated[Path | None, typer.Option(
    "--file", envvar=KEY_FILE_ENV, help=f"The key file (default: ${KEY_FILE_ENV})")]
SealDb = Annotated[str | None, typer.Option(
    "--db", help="A ledger whose personal values to seal with the (new) key now")]
Actor = Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")]


def _seal(db: str, keyring: Keyring, actor: str | None) -> None:
    ledger = open_ledger(db)
    ledger.store.use_keyring(keyring)
    features, entries = ledger.seal_personal(actor=actor or default_actor())
    out.print(f"{ledger.shown}: " + (say(
        "sealed the personal fields of {features} features and {entries} audit entries of an "
        "earlier release (the chain was hashed again; its former head is kept in the trail)",
        features=f"{features:,}", entries=f"{entries:,}") if entries else say(
        "sealed the personal fields of {features} features", features=f"{features:,}")))


@keys_app.command("init")
@reports_bad_input
def keys_init(file: KeyFile = None, db: SealDb = None, actor: Actor = None) -> None:
    """Create a key file (readable by its owner only). Keep it outside the ledger and back
    it up: without it, victims' personal fields cannot be read. With --db, seal the
    personal values a ledger of the first release holds in clear."""
    if file is None:
        raise ValueError(say("--file: say where the key file goes (or set {variable})",
                             variable=KEY_FILE_ENV))
    keyring = create_key_file(file)
    out.print(say("created key file {path} (key {key}); give it to hazardledger as "
                  "{variable}={path}, keep it apart from the ledger and keep a copy somewhere "
                  "safe", path=keyring.path, key=keyring.current, variable=KEY_FILE_ENV))
    if db:
        _seal(db, keyring, actor)


@keys_app.command("rotate")
@reports_bad_input
def keys_rotate(file: KeyFile = None, db: SealDb = None, actor: Actor = None) -> None:
    """Add a new current key to the key file (older keys stay, so that earlier values
    still open). With --db, reseal a ledger's personal values with it (audited)."""
    if file is None:
        raise ValueError(say("--file: name the key file (or set {variable})",
                             variable=KEY_FILE_ENV))
    keyring = add_key(Keyring.load(file))
    out.print(say("{path}: new current key {key} ({n} keys in the file)", path=keyring.path,
                  key=keyring.current, n=len(keyring.keys)))
    if db:
        _seal(db, keyring, actor)
