"""The command as users run it: output piped to a file keeps every value whole, help says
what each option takes in plain words, and the command groups import one shared module,
never each other."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from hazardledger.catalog.loader import Catalog
from hazardledger.cli import app

HAZARDLEDGER = str(Path(sys.executable).with_name("hazardledger"))


def _run(*args: str, cwd: Path) -> str:
    # stdout is a pipe here, as in 'hazardledger catalog list > types.txt'
    done = subprocess.run([HAZARDLEDGER, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_piped_catalog_list_shows_every_code_whole(tmp_path: Path) -> None:
    text = _run("catalog", "list", "--db", str(tmp_path / "none.gpkg"), cwd=tmp_path)
    codes = set(Catalog.packaged().types)
    assert codes and all(re.search(rf"(^|\s){re.escape(c)}(\s|$)", text, re.M) for c in codes)
    assert "…" not in text
    # plain columns: nothing drawn around them for grep, cut or a spreadsheet to trip on
    assert not re.search("[\u2500-\u257f]", text), text


def _commands(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subs = getattr(command, "commands", None) or {}
    found = [path] if not subs else []
    for name, sub in subs.items():
        found += _commands(sub, (*path, name))
    return found


@pytest.mark.parametrize("command", _commands(get_command(app)), ids=" ".join)
def test_help_names_values_plainly_and_keeps_brackets(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], prog_name="hazardledger")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not re.search(r"<(str|int|float|bool|list\[str\])>", text), text
    assert "Usage: hazardledger " + " ".join(command) in text
    if command == ("priorities",):
        assert "[weights], [land_use] and [communities]" in text


def test_command_groups_share_one_module_and_import_no_other_group() -> None:
    package = Path(__file__).parents[1] / "src" / "hazardledger" / "cli"
    shared = {"common", "language"}  # what groups share; language imports no sibling
    groups = {m.stem for m in package.glob("*.py")} - {"__init__", "__main__", *shared}
    assert {"audit", "catalog", "data", "hazard", "serve"} <= groups
    for module in package.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        siblings = set(re.findall(r"^from \.(\w*) import", text, re.M))
        if module.stem == "language":
            assert not siblings, siblings
        elif module.stem == "common":
            assert siblings == {"language"}, siblings  # the shared module imports no group
        elif module.stem not in ("__init__", "__main__"):
            assert siblings <= shared and "common" in siblings, (module.name, siblings)


def test_every_import_of_the_command_resolves_also_those_made_late() -> None:
    """Commands import their heavy modules when run (the server, the report): each such
    import is resolved here, so that a command nobody ran in the tests cannot fail on it."""
    import ast
    import importlib

    package = Path(__file__).parents[1] / "src" / "hazardledger" / "cli"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = importlib.util.resolve_name(
                    "." * node.level + (node.module or ""), "hazardledger.cli")
                imported = importlib.import_module(base)
                for alias in node.names:
                    assert hasattr(imported, alias.name) or importlib.util.find_spec(
                        f"{base}.{alias.name}"), (module.name, base, alias.name)
