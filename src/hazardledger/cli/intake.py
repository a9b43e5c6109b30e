"""``hazardledger forms``: the field forms teams fill on phones (ODK Collect, KoboToolbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..intake.forms import FIELD_LAYERS, build_forms
from .common import DbOption, command_group, open_ledger, out, reports_bad_input
from .language import say

forms_app = command_group("forms", "Field forms (XLSForm) for ODK Collect and KoboToolbox.")


@forms_app.command("build")
@reports_bad_input
def forms_build(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write them to")
                      ] = Path("forms"),
    lang: Annotated[str, typer.Option(
        help="Languages of the labels, the first the form's default: uk, en or both")
                    ] = "uk,en",
    layer: Annotated[list[str] | None, typer.Option(
        help=f"Only these layers' forms (of {', '.join(FIELD_LAYERS)})")] = None,
    validate: Annotated[bool, typer.Option(
        help="Also check each form with ODK Validate (needs a Java runtime)")] = False,
    db: DbOption = None,
) -> None:
    """Write an XLSForm (.xlsx) and its XForm (.xml) for each field layer, from the same
    fields, vocabularies and bounds that validate an import; item types from the ledger's
    catalog when it has one, else the packaged catalog."""
    catalog = open_ledger(db).catalog  # the packaged one where there is no ledger yet
    languages = [part.strip() for part in lang.split(",") if part.strip()]
    written = build_forms(output, catalog, languages, layer or FIELD_LAYERS, validate)
    for path in written:
        out.print(say("wrote {path}", path=path))
    out.print(say("Upload the .xml (or the .xlsx) to ODK Central or KoboToolbox."))
