"""Field forms (XLSForm) generated from the layers' schemas: the same fields, vocabularies,
bounds and rules that validate an import, asked on a phone in ODK Collect or KoboToolbox.

One form a field layer: hazard area (non-technical survey), record of laid items, finding,
incident, victim, activity. Labels come from the glossary in every language asked for
(Ukrainian and English by default); choice lists are the IMAS vocabularies of
:mod:`..domain.vocab`; numbers carry the ledger's bounds as constraints; the cross-field rules
a form can check (a window's end after its start, a range's top above its bottom, a method
only for survey and clearance) are constraints and relevance. Locations are GPS questions
whose accuracy the export keeps ("latitude longitude altitude accuracy"), with an accuracy
threshold the phone waits for.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from ..catalog.loader import Catalog
from ..domain.schema import LAYERS, FieldSpec, LayerSchema
from ..locale import LANGUAGES, term

FIELD_LAYERS = ("hazard_areas", "records", "findings", "incidents", "victims", "activities",
                "risk_education")
ACCURACY_THRESHOLD_M = 10  # the phone keeps reading the GPS until it is this good
# fields a form does not ask: the record's recorded point or line and its accuracy come from
# the GPS question that located it
DERIVED = {"records": {"location", "location_accuracy_m"}}
XPATH_TYPES = {"text": "text", "int": "integer", "float": "decimal", "date": "date",
               "datetime": "dateTime"}
# form-only questions: how a record's location and number are known (question type, name,
# glossary term)
RECORD_GEOMETRY = {"perimeter": ("geoshape", "geometry", "geometry_shape"),
                   "row": ("geotrace", "geometry_line", "geometry_line"),
                   "point": ("geopoint", "geometry_point", "geometry_point")}
# a point may be read off a map as an MGRS reference where there is no GPS fix: grid zone,
# latitude band, 100 km square and an even number of digits (spaces allowed)
MGRS_QUESTION = "geometry_mgrs"
MGRS_CONSTRAINT = ("regex(translate(., ' ', ''), '^[0-9]{1,2}[C-HJ-NP-Xc-hj-np-x]"
                   "[A-HJ-NP-Za-hj-np-z]{2}([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{8}|[0-9]{10})$')")
COUNT_FIELDS = {"exact": ("count",), "range": ("count_min", "count_max"),
                "density": ("density_per_m2",)}
# cross-field rules: the field, the field it must not be below, and the glossary message
NOT_BELOW = {("records", "laid_to"): ("laid_from", "not_before"),
             ("records", "count_max"): ("count_min", "not_below"),
             ("activities", "finished"): ("started", "not_before")}


@dataclass(frozen=True)
class Form:
    """One XLSForm: its sheets as rows of cells, ready to write or convert."""

    layer: str
    survey: list[dict[str, str]]
    choices: list[dict[str, str]]
    settings: dict[str, str]

    @property
    def form_id(self) -> str:
        return self.settings["form_id"]


def _labels(prefix: str, words: dict[str, str], languages: Sequence[str]) -> dict[str, str]:
    return {f"{prefix}::{LANGUAGES[lang]}": words[lang] for lang in languages}


def _list_name(spec: FieldSpec) -> str:
    if spec.name == "item_type":
        return "item_type"
    if spec.vocab is None:
        return spec.name  # a yes/no flag
    return re.sub(r"(?<!^)(?=[A-Z])", "_", spec.vocab.__name__).lower()


def _is_flag(spec: FieldSpec) -> bool:
    """A 0/1 integer (a victim was a deminer at work): asked as yes or no."""
    return spec.kind == "int" and spec.maximum is not None and spec.maximum.value == 1


def _number(value: float) -> str:
    """A bound as XPath reads it: no exponent (1.71e13 is not an XPath number)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _question(layer: str, spec: FieldSpec, languages: Sequence[str]) -> dict[str, str]:
    row = {"name": spec.name, **_labels("label", term("fields", spec.name), languages)}
    if spec.vocab is not None or spec.name == "item_type" or _is_flag(spec):
        row["type"] = f"select_one {_list_name(spec)}"
    else:
        row["type"] = XPATH_TYPES[spec.kind]
    if spec.required:
        row["required"] = "yes"
    checks, messages = [], []
    if spec.kind in ("int", "float") and row["type"] in ("integer", "decimal"):
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum.value if spec.maximum is not None else None
        if high is not None:
            checks.append(f". >= {_number(low)} and . <= {_number(high)}")
            messages.append({lang: text.format(low=_number(low), high=_number(high))
                             for lang, text in term("messages", "between").items()})
    if (layer, spec.name) in NOT_BELOW:
        other, message = NOT_BELOW[(layer, spec.name)]
        checks.append(f"${{{other}}} = '' or . >= ${{{other}}}")
        other_words = term("fields", other)
        messages.append({lang: text.format(other=other_words[lang])
                         for lang, text in term("messages", message).items()})
    if checks:
        row["constraint"] = " and ".join(f"({c})" for c in checks)
        row.update(_labels("constraint_message", {
            lang: "; ".join(m[lang] for m in messages) for lang in languages}, languages))
    if layer == "activities" and spec.name == "method":
        row["relevant"] = "${kind} != 'nts'"
    if spec.name == "remarks":
        row["appearance"] = "multiline"  # a box of several lines on the phone
    return row


def _grid_reference(languages: Sequence[str], relevant: str | None = None
                    ) -> dict[str, str]:
    """Where the phone has no GPS fix: the point as an MGRS reference read off a map."""
    row = {"type": "text", "name": MGRS_QUESTION, "constraint": MGRS_CONSTRAINT,
           **_labels("label", term("fields", MGRS_QUESTION), languages),
           **_labels("constraint_message", term("messages", "mgrs"), languages)}
    if relevant:
        row["relevant"] = relevant
    return row


def _geometry(schema: LayerSchema, languages: Sequence[str]) -> list[dict[str, str]]:
    point = {"body::accuracyThreshold": str(ACCURACY_THRESHOLD_M)}
    # a GPS point is asked (and needed) only while no MGRS reference is given: a
    # submission never holds both
    gps_needed = f"${{{MGRS_QUESTION}}} = ''"
    if schema.name == "records":
        rows = [{"type": "select_one geometry_kind", "name": "geometry_kind", "required": "yes",
                 **_labels("label", term("fields", "geometry_kind"), languages)}]
        for kind, (question, name, words_key) in RECORD_GEOMETRY.items():
            words = term("fields", words_key)
            relevant = f"${{geometry_kind}} = '{kind}'"
            if question == "geopoint":
                rows.append(_grid_reference(languages, relevant))
            rows.append({"type": question, "name": name,
                         "required": "yes",
                         "relevant": f"{relevant} and {gps_needed}" if question == "geopoint"
                         else relevant, **_labels("label", words, languages),
                         **(point if question == "geopoint" else {})})
        return rows
    if not schema.geometry_types:
        return []
    if "Point" in schema.geometry_types and "Polygon" not in schema.geometry_types:
        return [_grid_reference(languages),
                {"type": "geopoint", "name": "geometry", "required": "yes",
                 "relevant": gps_needed,
                 **_labels("label", term("fields", "geometry_point"), languages), **point}]
    return [{"type": "geoshape", "name": "geometry", "required": "yes",
             **_labels("label", term("fields", "geometry_shape"), languages)}]


def _choices(schema: LayerSchema, catalog: Catalog, languages: Sequence[str]
             ) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    lists: dict[str, Iterable[tuple[str, dict[str, str]]]] = {}
    for spec in schema.fields:
        if spec.name in DERIVED.get(schema.name, ()):
            continue
        name = _list_name(spec)
        if spec.name == "item_type":
            lists[name] = [(code, dict.fromkeys(LANGUAGES, f"{code} — {item.name}"))
                           for code, item in sorted(catalog.types.items())]
        elif spec.vocab is not None:
            lists[name] = [(v.value, term("choices", name, v.value)) for v in spec.vocab]
        elif _is_flag(spec):
            lists[name] = [(v, term("choices", name, v)) for v in ("0", "1")]
    if schema.name == "records":
        lists["geometry_kind"] = [(k, term("choices", "geometry_kind", k))
                                  for k in RECORD_GEOMETRY]
        lists["count_kind"] = [(k, term("choices", "count_kind", k)) for k in COUNT_FIELDS]
    for list_name, entries in lists.items():
        rows += [{"list_name": list_name, "name": value, **_labels("label", words, languages)}
                 for value, words in entries]
    return rows


def build_form(layer: str, catalog: Catalog, languages: Sequence[str] = ("uk", "en")) -> Form:
    """The XLSForm of one field layer, labelled in ``languages`` (the first is the default)."""
    if layer not in FIELD_LAYERS:
        raise ValueError(f"no field form for layer '{layer}' (forms: {', '.join(FIELD_LAYERS)})")
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ValueError(f"--lang {','.join(languages)}: languages are "
                         f"{', '.join(LANGUAGES)}")
    schema = LAYERS[layer]
    survey = _geometry(schema, languages)
    for spec in schema.fields:
        if spec.name in DERIVED.get(layer, ()):
            continue
        if layer == "records" and spec.name == "count":
            survey.append({"type": "select_one count_kind", "name": "count_kind",
                           "required": "yes",
                           **_labels("label", term("fields", "count_kind"), languages)})
        row = _question(layer, spec, languages)
        for kind, names in COUNT_FIELDS.items():
            if layer == "records" and spec.name in names:
                row["relevant"] = f"${{count_kind}} = '{kind}'"
                row["required"] = "yes"
        survey.append(row)
    choices = _choices(schema, catalog, languages)
    title = term("layers", layer)[languages[0]]
    # the version changes whenever the form does (a new field, a type added to the catalog)
    digest = hashlib.sha256(repr((survey, choices, list(languages))).encode()).hexdigest()
    settings = {"form_title": title, "form_id": f"hazardledger_{layer}",
                "version": f"hl-{digest[:10]}", "default_language": LANGUAGES[languages[0]]}
    return Form(layer, survey, choices, settings)


def write_xlsform(form: Form, path: Path) -> Path:
    """The form as an XLSForm workbook (survey, choices and settings sheets)."""
    book = Workbook()
    for title, rows in (("survey", form.survey), ("choices", form.choices),
                        ("settings", [form.settings])):
        sheet = book.active if title == "survey" else book.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        columns = list(dict.fromkeys(key for row in rows for key in row))
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(column, "") for column in columns])
    book.save(path)
    return path


def to_xform(xlsform: Path, validate: bool = False) -> str:
    """The XForm XML ODK Central and KoboToolbox take, converted by pyxform; with
    ``validate``, also checked by ODK Validate (pyxform runs it; it needs Java)."""
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    return convert(str(xlsform), warnings=warnings, validate=validate).xform


def build_forms(directory: Path, catalog: Catalog, languages: Sequence[str] = ("uk", "en"),
                layers: Sequence[str] = FIELD_LAYERS, validate: bool = False) -> list[Path]:
    """Every field form as an XLSForm (``.xlsx``) and as the XForm it converts to (``.xml``)."""
    forms = [build_form(layer, catalog, languages) for layer in layers]  # refused: nothing made
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for form in forms:
        book = write_xlsform(form, directory / f"{form.form_id}.xlsx")
        xml = directory / f"{form.form_id}.xml"
        xml.write_text(to_xform(book, validate), encoding="utf-8")
        written += [book, xml]
    return written
