"""The command line in the language asked for: its messages (``say``), its help (the
commands' and options' texts, translated on the command tree before it runs) and Typer's
own words that Typer marks for translation ("Options", "required", "default", ...).

Messages are written in English, marked ``say("... {name} ...", name=value)`` and looked up
in the catalog of :mod:`hazardledger.locale`; help texts are the command tree's own, so
``scripts/locale_update.py`` collects them from the tree (:func:`help_texts`) rather than
from the source. Typer marks its words for the stdlib's ``gettext``; they are in the same
catalog, compiled to ``hazardledger.mo`` beside it and bound as the process's text domain.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

from ..locale import DOMAIN, LANG_ENV, language, say, translator

__all__ = ["TYPER_TEXTS", "asked_language", "headings", "help_texts", "say", "speak"]

# The words of Typer's help and usage errors it marks for gettext (Typer 0.29 carries its own
# copy of click, whose other words, "Usage:" and "Error:" among them, are fixed English).
# tests/test_locale.py checks each against Typer's source, so an upgrade that rewords one
# shows up.
TYPER_TEXTS = ("Options", "Arguments", "Commands", "required", "default: {default}",
               "env var: {var}", "(dynamic)", "Missing command.", "No such command {name!r}.",
               "Aborted!")


def headings(*names: str) -> list[str]:
    """A table's column headings in the language asked for (``scripts/locale_update.py``
    collects the names given here)."""
    tr = translator(language())
    return [tr(name) for name in names]


def asked_language(args: Sequence[str]) -> str | None:
    """The value of the application's own ``--lang`` (before the command's name), if any."""
    for n, arg in enumerate(args):
        if arg == "--lang" and n + 1 < len(args):
            return args[n + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):  # the command's name: what follows is its own
            return None
    return None


def help_texts(command: Any) -> Iterator[tuple[Any, str, str]]:
    """Each (object, attribute, text) of the help of a click command tree: the commands'
    help and epilog, the parameters' help (``--help``'s own included)."""
    for attribute in ("help", "short_help", "epilog"):
        text = getattr(command, attribute, None)
        if text:
            yield command, attribute, text
    # --help is made when first asked for, and kept: made here, its text is translated too
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if getattr(param, "help", None):
            yield param, "help", param.help
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from help_texts(sub)


def speak(command: Any, lang: str) -> None:
    """Put the command tree's help, and Typer's words, in ``lang``: run before the command
    line is parsed, since help and usage errors are shown while parsing."""
    os.environ[LANG_ENV] = lang
    # Typer looks its words up through the stdlib's gettext, in the process's text domain
    # and the language of $LANGUAGE
    os.environ["LANGUAGE"] = lang
    gettext.bindtextdomain(DOMAIN, str(resources.files("hazardledger.locale")))
    gettext.textdomain(DOMAIN)
    if lang == "en":
        return
    tr = translator(lang)
    for owner, attribute, text in list(help_texts(command)):
        setattr(owner, attribute, tr(text))
