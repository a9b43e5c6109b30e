"""What every command group shares: the application, the consoles, the options used by more
than one group, and how bad input becomes exit code 2.

Exit codes: 0 success, 2 bad input or usage (one line per problem on stderr),
1 internal fault.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from ..catalog.loader import CatalogError
from ..domain.problems import InputRejected
from ..domain.schema import LAYERS
from ..ledger import Ledger, default_location, utc_timestamp
from ..locale import language
from ..store.base import StoreError
from .language import VALUE_NAMES, asked_language, say, show_error, speak


class PlainValueNames(TyperGroup):
    """The application's command group: in help, every value is named the way click names
    it (``--as-of TEXT``, ``FILE``) instead of Typer's ``<str>``. Set here, on the commands
    Typer has built, because it builds them afresh from the signatures on every run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_values(self)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        """Run the command line in the language asked for: its help and Typer's words are
        set before parsing, which shows them."""
        given = list(sys.argv[1:] if args is None else args)
        try:
            lang = language(asked_language(given))
        except ValueError as exc:
            err.print(f"Error: {exc}")
            sys.exit(2)
        speak(self, lang)
        # Typer's own handling, but for its usage errors, which are shown translated
        kwargs["standalone_mode"] = False
        try:
            returned = super().main(given, *rest, **kwargs)
        except typer.Abort:
            err.print(say("Aborted!"))
            sys.exit(1)
        except typer.TyperException as exc:  # click's usage and file errors
            err.print(show_error(exc))
            sys.exit(getattr(exc, "exit_code", 1))
        # an exit code (typer.Exit), or what a command returned: none of them returns one
        sys.exit(returned if isinstance(returned, int) else 0)


def _name_values(command: Any) -> None:
    for param in command.params:
        if param.metavar is not None:
            continue
        if param.param_type_name == "argument":
            param.metavar = (param.name or "value").upper()
            if hasattr(param, "display_type_rich"):  # Typer 0.29 adds "<str>" after the name
                param.display_type_rich = lambda ctx: None
        elif not getattr(param, "is_flag", False) and not getattr(param, "count", False):
            # Typer 0.29 describes a value by its annotation; earlier ones by click's type
            bare = param.bare_type() if hasattr(param, "bare_type") else param.type.name
            inner = bare[5:-1] if bare.startswith("list[") else bare
            param.metavar = VALUE_NAMES.get(inner, inner.upper())
    for sub in (getattr(command, "commands", None) or {}).values():
        _name_values(sub)


# Help as plain text (click's): Rich's markup read "[weights]" in a help text as a style
# and dropped it, labelled every option "<str>" or "<bool>", and kept docstrings' line breaks
# inside its boxes; piped to a file it was cut at 80 columns.
app = typer.Typer(help="Hazard Ledger: mine action records, residual hazard and priorities. "
                  "The model never releases land.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  cls=PlainValueNames)


@app.callback()
def _everywhere(lang: Annotated[str | None, typer.Option(
        "--lang", help="uk or en: the language of messages, help, reports and the web map; "
                       "default $HAZARDLEDGER_LANG, else the locale's")] = None
                ) -> None:
    """Nothing to do: ``--lang`` is read before parsing (:meth:`PlainValueNames.main`)."""


def warning(text: str) -> str:
    """A warning line in the language asked for (``--lang``, ``HAZARDLEDGER_LANG``, the
    locale's)."""
    return say("WARNING: ") + say(text)


def command_group(name: str, help: str) -> typer.Typer:
    """A group of subcommands (``hazardledger NAME ...``) with the application's settings."""
    group = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group

# Read through a pipe or a file, output keeps every value whole: tables take the width
# their values need instead of the 80 columns Rich assumes, which cut them with an ellipsis.
PIPED_WIDTH = 32_767


class PipedConsole(Console):
    """A console whose tables, read through a pipe or a file, are plain columns: no
    box-drawing characters in the way of grep, cut or a spreadsheet."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal:
            for shown in objects:
                if isinstance(shown, Table):
                    shown.box, shown.show_edge, shown.pad_edge = None, False, False
        super().print(*objects, **kwargs)


# No console markup and no highlighting, anywhere: what a command prints holds the ledger's
# data (names, ids, remarks, submitters), and an area named "[red]x[/red]" or an instance id
# "[bold]7" must print as written, never be read as styling (or lose its brackets).
out = PipedConsole(soft_wrap=True, markup=False, highlight=False,
                   width=None if sys.stdout.isatty() else PIPED_WIDTH)
err = PipedConsole(stderr=True, soft_wrap=True, markup=False, highlight=False,
                   width=None if sys.stderr.isatty() else PIPED_WIDTH)
F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[str | None, typer.Option("--db", envvar="HAZARDLEDGER_DB",
                                              help="Ledger: a .gpkg path (default ./ledger.gpkg)")]
LayerOption = Annotated[str, typer.Option("--layer", "-l", help=f"One of: {', '.join(LAYERS)}")]


def fail(lines: list[str], code: int = 2) -> None:
    for line in lines:
        err.print(line, soft_wrap=True)
    raise typer.Exit(code)


SHOWN_PROBLEMS = 50  # a file of junk lists this many problems, then how many more


def capped(lines: list[str]) -> list[str]:
    """The first problems of a long list, and a count of the rest: a file of junk names
    what is wrong with it in a screenful, not in a hundred thousand lines."""
    if len(lines) <= SHOWN_PROBLEMS:
        return lines
    rest = len(lines) - SHOWN_PROBLEMS
    return [*lines[:SHOWN_PROBLEMS], say("... and {n} more problems: mend these and import "
                                         "again (--dry-run checks without writing)",
                                         n=f"{rest:,}")]


def reports_bad_input(func: F) -> F:
    """Turn the project's input and store errors into exit code 2 with their messages."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _opened.clear()
        try:
            result = func(*args, **kwargs)
            for ledger in _opened:
                for note in ledger.notes:
                    err.print(say("note: ") + note)
            return result
        except InputRejected as exc:
            fail(capped(exc.lines()))
        except (StoreError, CatalogError, ValueError) as exc:
            fail([str(exc)])
        finally:  # a ledger's file is let go when its command ends, also when run in-process
            for ledger in _opened:
                ledger.close()
    return wrapper  # type: ignore[return-value]


_opened: list[Ledger] = []  # this command's ledgers, whose notes are shown at its end


def open_ledger(db: str | None) -> Ledger:
    """The ledger a command works on; its notes are printed when the command ends."""
    ledger = Ledger(db or default_location())
    _opened.append(ledger)
    return ledger


def output_file(path: Path | None, suffixes: tuple[str, ...], option: str = "--output"
                ) -> Path | None:
    """An output file checked before any work: its kind, and a folder that exists and can
    be written (else a message naming the option and the path, exit 2)."""
    if path is None:
        return None
    if path.suffix.lower() not in suffixes:
        raise ValueError(say("{option} {path}: use a {kinds} file", option=option, path=path,
                             kinds="/".join(suffixes)))
    folder = path.resolve().parent
    if path.is_dir() or not folder.is_dir():
        raise ValueError(say("{option} {path}: no such folder, or a folder itself",
                             option=option, path=path))
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(say("{option} {path}: cannot be written there", option=option,
                             path=path))
    return path


def parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(say("--map {pair}: expected SOURCE=FIELD (or SOURCE= to drop it)",
                                 pair=pair))
        src, dst = pair.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


Scenario = Annotated[str, typer.Option(help="claimed, treaty-minimum or pessimistic")]
Samples = Annotated[int, typer.Option(help="Parameter samples (more: smoother quantiles)")]
Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same figures")]
Config = Annotated[Path | None, typer.Option(
    help="TOML file of [weights], [land_use] and [communities] reach_km (see the README)")]


StateAt = Annotated[str | None, typer.Option(
    "--state-at", help="Compute from the ledger as its audit trail says it stood at this "
    "moment (UTC, ISO 8601, e.g. 2025-12-31T23:59:59Z), whatever was corrected since")]


def as_it_stood(ledger: Ledger, state_at: str | None) -> Ledger:
    """The ledger, or (with ``--state-at``) a read-only view of it at that moment."""
    if state_at is None:
        return ledger
    moment = parse_date(state_at, "--state-at")
    try:
        return ledger.at(moment)
    except ValueError as exc:  # a moment in the future
        raise ValueError(f"--state-at {exc}") from None


def parse_date(text: str, option: str) -> pd.Timestamp:
    """A date option as an instant in UTC, or a message naming the option."""
    try:
        stamp = utc_timestamp(text)
        if pd.isna(stamp):  # "" and "NaT" parse as no time at all
            raise ValueError(text)
        return stamp
    except ValueError:
        raise ValueError(say("{option}: not a date: {text} (use YYYY-MM-DD)", option=option,
                             text=repr(text))) from None
