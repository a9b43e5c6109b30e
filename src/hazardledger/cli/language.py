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
import io
import os
import re
import types
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

from ..locale import DOMAIN, LANG_ENV, N_, say, translator

__all__ = ["TYPER_TEXTS", "asked_language", "headings", "help_texts", "say", "show_error",
           "speak"]

# The words of Typer's help and usage errors it marks for gettext (Typer 0.29 carries its own
# copy of click, whose other words, "Usage:" and "Error:" among them, are fixed English).
# tests/test_locale.py checks each against Typer's source, so an upgrade that rewords one
# shows up.
TYPER_TEXTS = ("Options", "Arguments", "Commands", "required", "default: {default}",
               "env var: {var}", "(dynamic)", "Missing command.", "No such command {name!r}.",
               "Aborted!")


# Typer's usage errors as its copy of click words them (fixed English), and ours for them;
# "reason" is itself looked up again. An error none of them matches is shown as Typer wrote
# it. tests/test_locale.py provokes each and fails if Typer rewords one.
USAGE_ERRORS = tuple((re.compile(pattern), template) for pattern, template in (
    # the name as Typer quotes it: '--as-of', or '--layer' / '-l' for an option with two
    (r"Missing option (?P<name>'.+')\.", N_("Missing option {name}.")),
    (r"Missing argument (?P<name>'.+')\.", N_("Missing argument {name}.")),
    (r"Option '(?P<name>[^']+)' requires an argument\.",
     N_("Option '{name}' requires an argument.")),
    (r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)",
     N_("No such option: {name} (Possible options: {options})")),
    (r"No such option: (?P<name>\S+)", N_("No such option: {name}")),
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)",
     N_("Got unexpected extra argument(s) ({args})")),
    # "No such command 'x'." Typer translates itself; the suggestion it adds, it does not
    (r"(?P<head>.+)\. Did you mean (?P<options>.+)\?", N_("{head}. Did you mean {options}?")),
    (r"Invalid value for '(?P<name>[^']+)': (?P<reason>.+)",
     N_("Invalid value for '{name}': {reason}")),
    (r"Input should be a valid integer, unable to parse string as an integer",
     N_("a whole number is expected")),
    (r"Input should be a valid number, unable to parse string as a number",
     N_("a number is expected")),
    (r"Input should be greater than or equal to (?P<low>\S+)",
     N_("the least allowed is {low}")),
    (r"Input should be less than or equal to (?P<high>\S+)",
     N_("the most allowed is {high}")),
))
_TRY = re.compile(r"Try '(?P<command>.+) (?P<option>--help|-h)' for help\.")


def usage_message(text: str) -> str:
    """One of Typer's usage-error messages in the language asked for (as written if it is
    none of those known)."""
    for pattern, template in USAGE_ERRORS:
        match = pattern.fullmatch(text)
        if match:
            values = match.groupdict()
            if "reason" in values:
                values["reason"] = usage_message(values["reason"])
            return say(template, **values)
    return text


def show_error(exc: Any) -> str:
    """What Typer shows for a usage error (the usage line, how to get help, the error),
    in the language asked for."""
    buffer = io.StringIO()
    exc.show(file=buffer)
    lines = []
    for line in buffer.getvalue().splitlines():
        hint = _TRY.fullmatch(line)
        if hint:
            line = say("Try '{command} {option}' for help.", **hint.groupdict())
        elif line.startswith("Error: "):
            line = say("Error: {message}", message=usage_message(line[len("Error: "):]))
        lines.append(line)
    return "\n".join(lines)


def _translated_usage(command: Any, ctx: Any, formatter: Any) -> None:
    """A command's usage line with its first word in the language asked for."""
    formatter.write_usage(ctx.command_path, " ".join(command.collect_usage_pieces(ctx)),
                          prefix=say("Usage:") + " ")


def headings(*names: str) -> list[str]:
    """A table's column headings in the language asked for (``scripts/locale_update.py``
    collects the names given here)."""
    return [say(name) for name in names]


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


# What help names a value by (set on the command tree in common._name_values) and the
# usage line's words: shown in the language asked for, like the help itself
VALUE_NAMES = {"str": "TEXT", "text": "TEXT", "int": "INTEGER", "integer": "INTEGER",
               "float": "NUMBER", "Path": "PATH", "path": "PATH"}
_SHOWN_NAMES = {*VALUE_NAMES.values(), "[OPTIONS]", "COMMAND [ARGS]..."}


def help_texts(command: Any) -> Iterator[tuple[Any, str, str]]:
    """Each (object, attribute, text) of the help of a click command tree: the commands'
    help and epilog, the parameters' help (``--help``'s own included), and the names help
    gives values and the usage line's parts."""
    for each in _tree(command):
        for attribute in ("options_metavar", "subcommand_metavar"):
            text = getattr(each, attribute, None)
            if text in _SHOWN_NAMES:
                yield each, attribute, text
        for attribute in ("help", "short_help", "epilog"):
            text = getattr(each, attribute, None)
            if text:
                yield each, attribute, text
        # --help is made when first asked for, and kept: made here, it is translated too
        help_option = each.get_help_option(each.context_class(each))
        for param in [*each.params, *([help_option] if help_option else [])]:
            if getattr(param, "help", None):
                yield param, "help", param.help
            if getattr(param, "metavar", None) in _SHOWN_NAMES:
                yield param, "metavar", param.metavar


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
    for each in _tree(command):  # "Usage:" is fixed English in Typer's copy of click
        each.format_usage = types.MethodType(_translated_usage, each)


def _tree(command: Any) -> Iterator[Any]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _tree(sub)
