"""Submissions of the field forms as ODK Central and KoboToolbox export them (CSV, XLSX,
GeoJSON), read into rows for the review queue.

What the servers write, and what is kept:

- the submission's instance id (``meta-instanceID`` in Central, ``meta/instanceID`` or
  ``_uuid`` in Kobo, ``KEY`` from Briefcase, ``__id`` in GeoJSON), without its ``uuid:``
  prefix: the key that keeps a submission from entering the queue twice;
- when it was submitted and by whom (``SubmissionDate``/``SubmitterName``,
  ``_submission_time``/``_submitted_by``);
- the form's questions, whatever group prefix the export puts before them
  (``group-field``, ``group/field``);
- GPS answers written as ODK writes them: a geopoint ``"lat lon altitude accuracy"``, a
  geotrace or geoshape as such points joined by ``;`` (or split by Central into
  ``…-Latitude``, ``…-Longitude``, ``…-Altitude``, ``…-Accuracy``; by Kobo into
  ``_…_latitude`` and the like), with the worst accuracy of its points kept.

Nothing here validates a submission against the ledger: that is the review's work, and
approval runs the same validation as any import.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..domain.problems import InputRejected, Problem
from ..domain.schema import LAYERS
from ..domain.text import UNSAFE_PATTERN, printable
from ..io.locations import mgrs_points
from ..locale import say
from .forms import DERIVED, FIELD_LAYERS, MGRS_QUESTION, RECORD_GEOMETRY

MAX_INSTANCE_ID = 100
MAX_META = 200  # who sent a submission, and when
MAX_ANSWER = 10_000  # any one answer: the ledger's longest text is 4,000 characters
MAX_ACCURACY_M = 10_000.0  # worse than this a GPS reading locates nothing worth keeping
INSTANCE_ID = ("meta-instanceID", "meta/instanceID", "instanceID", "KEY", "__id", "_uuid")
SUBMITTED_AT = ("SubmissionDate", "_submission_time")
SUBMITTER = ("SubmitterName", "_submitted_by")
_CENTRAL_PARTS = {"Latitude": 0, "Longitude": 1, "Altitude": 2, "Accuracy": 3}
_KOBO_PARTS = {"latitude": 0, "longitude": 1, "altitude": 2, "precision": 3}


def layer_of(path: Path) -> str | None:
    """The layer a file's name says it holds (the form id ``hazardledger_<layer>``)."""
    for layer in sorted(FIELD_LAYERS, key=len, reverse=True):  # hazard_areas before areas
        if re.search(rf"hazardledger_{layer}(?![a-z_])", path.name):
            return layer
    return None


def _read_raw(path: Path) -> tuple[pd.DataFrame, list[object]]:
    """The export as text columns, and each row's GeoJSON geometry (GeoJSON only)."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        features = document.get("features") if isinstance(document, dict) else None
        if not isinstance(features, list) or not all(isinstance(f, dict) and isinstance(
                f.get("properties") or {}, dict) for f in features):
            raise ValueError(say("not a GeoJSON FeatureCollection"))
        rows = [{**(f.get("properties") or {}), **({"__id": f["id"]} if "id" in f else {})}
                for f in features]
        return (pd.DataFrame(rows, dtype=object),
                [f.get("geometry") for f in features])
    if suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
        return frame, [None] * len(frame)
    if suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        # Kobo writes ';' between columns by default, Central ','
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        frame = pd.read_csv(path, dtype=object, sep=dialect.delimiter, encoding="utf-8-sig",
                            keep_default_na=False, na_values=[""])
        return frame, [None] * len(frame)
    raise ValueError(say("unsupported file type '{suffix}' (submissions: .csv, .xlsx, "
                         ".geojson)", suffix=path.suffix))


def _pick(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _odk_points(text: str) -> tuple[np.ndarray, float | None]:
    """(n, 2) lon/lat of an ODK geo answer, and its worst accuracy (metres)."""
    parts = [p.split() for p in text.strip().strip(";").split(";") if p.strip()]
    if not parts or any(len(p) < 2 or len(p) > 4 for p in parts):
        raise ValueError(say("expected points 'latitude longitude [altitude accuracy]' "
                             "joined by ';'"))
    numbers = np.array([[float(v) for v in p[:2]] for p in parts])
    accuracies = [float(p[3]) for p in parts if len(p) == 4]
    if not (np.isfinite(numbers).all() and np.isfinite(accuracies).all()):
        raise ValueError(say("a coordinate or an accuracy that is not a number"))
    if (np.abs(numbers[:, 0]) > 90).any() or (np.abs(numbers[:, 1]) > 180).any():
        raise ValueError(say("latitude beyond ±90° or longitude beyond ±180°"))
    return numbers[:, ::-1], max(accuracies) if accuracies else None


def _geometry(question: str, text: str) -> tuple[object, float | None]:
    points, accuracy = _odk_points(text)
    if question == "geopoint":
        if len(points) != 1:
            raise ValueError(say("a point question holds one point"))
        return shapely.points(points[0]), accuracy
    if question == "geotrace":
        if len(points) < 2:
            raise ValueError(say("a line needs two points at least"))
        return shapely.linestrings(points), accuracy
    ring = points if (points[0] == points[-1]).all() else np.vstack([points, points[:1]])
    if len(ring) < 4:
        raise ValueError(say("a shape needs three points at least"))
    return shapely.polygons(ring), accuracy


def _split_points(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """A geopoint Central or Kobo split into columns, joined back into ODK's text; the
    altitude and accuracy only where both are given (a missing accuracy is unknown, never
    0 m)."""
    for pattern, parts in ((f"{name}-{{}}", _CENTRAL_PARTS), (f"_{name}_{{}}", _KOBO_PARTS)):
        lat, lon, altitude, accuracy = (
            frame[pattern.format(k)].astype("string").str.strip()
            if pattern.format(k) in frame.columns else
            pd.Series(pd.NA, index=frame.index, dtype="string") for k in parts)
        if lat.isna().all() and lon.isna().all():
            continue
        # one of the two alone is kept, and refused as no point by the parser
        point = (lat.fillna("") + " " + lon.fillna("")).str.strip().where(
            lat.notna() | lon.notna())
        full = point + " " + altitude.fillna("0") + " " + accuracy
        return full.where(accuracy.notna() & (accuracy != ""), point)
    return None


def read_submissions(path: str | Path, layer: str) -> tuple[pd.DataFrame, list[Problem]]:
    """The submissions in an export of ``layer``'s form: one row each with ``instance_id``,
    ``submitted_at``, ``submitter``, ``accuracy_m``, ``geometry`` and the layer's fields
    as text; and the problems that keep rows out (each names its row and question)."""
    path = Path(path)
    if layer not in FIELD_LAYERS:
        raise ValueError(say("no field form for layer '{layer}' (forms: {forms})",
                             layer=layer, forms=", ".join(FIELD_LAYERS)))
    try:
        raw, geojson = _read_raw(path)
    except (ValueError, OSError, UnicodeDecodeError, csv.Error, KeyError,
            zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputRejected(path.name, [Problem(None, "file", say(
            "cannot be read as a form export: {reason}", reason=reason))]) from None
    raw = raw.reset_index(drop=True)
    schema = LAYERS[layer]
    problems: list[Problem] = []
    ids = _pick(raw, INSTANCE_ID).astype("string").str.strip().str.removeprefix("uuid:")
    missing = ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy(bool)
    problems += [Problem(int(i) + 1, "instanceID", say(
        "no instance id: export the submissions with their metadata (meta/instanceID)"))
        for i in np.flatnonzero(missing)]
    # an instance id is a UUID (41 characters with its prefix): a key, shown and typed
    odd = ~missing & ((ids.str.len().fillna(0).to_numpy() > MAX_INSTANCE_ID)
                      | ids.str.contains(UNSAFE_PATTERN, regex=True).fillna(False)
                      .to_numpy(bool))
    problems += [Problem(int(i) + 1, "instanceID", say(
        "not an instance id: '{id}' (at most {n} characters, no control characters)",
        id=printable(ids.iloc[i], 60), n=MAX_INSTANCE_ID)) for i in np.flatnonzero(odd)]
    # group prefixes go: the question's own name is the field's
    short: dict[object, str] = {c: re.split(r"[-/]", str(c))[-1] for c in raw.columns}
    named = pd.Series(list(short.values()))
    for twice in sorted(set(named[named.duplicated()]) & set(schema.field_names)):
        problems.append(Problem(None, twice, say(
            "two questions of the export have this name (in different groups): the form is "
            "not the ledger's")))
    questions = {c: s for c, s in short.items() if s in schema.field_names
                 and s not in DERIVED.get(layer, ())}
    out = pd.DataFrame({s: raw[c] for c, s in questions.items()})
    out.insert(0, "instance_id", ids)
    out["submitted_at"] = _pick(raw, SUBMITTED_AT)
    out["submitter"] = _pick(raw, SUBMITTER)
    problems += _bounded(out)
    geometry, accuracy = _geometries(raw, layer, geojson, short, problems)
    # a phone reports metres of horizontal accuracy; anything else is not a reading
    wrong = ~np.isnan(accuracy) & ~((accuracy >= 0) & (accuracy <= MAX_ACCURACY_M))
    problems += [Problem(int(i) + 1, "geometry", say(
        "GPS accuracy {metres} m is no reading (0 to {most} m)", metres=f"{accuracy[i]:g}",
        most=f"{MAX_ACCURACY_M:,.0f}")) for i in np.flatnonzero(wrong)]
    out["accuracy_m"] = accuracy
    if "location_accuracy_m" in schema.field_names:  # a record's point or line as located
        out["location_accuracy_m"] = pd.Series(accuracy, dtype=object).where(
            ~np.isnan(accuracy), None)
    out["geometry"] = geometry
    return out, sorted(problems)


def _bounded(out: pd.DataFrame) -> list[Problem]:
    """Answers are kept as sent until a review validates them: bounded here, so that a
    hostile export cannot fill the queue (and its audit trail) with megabytes or with
    control characters in who sent it and when."""
    problems = []
    for column in out.columns:
        if column == "instance_id":
            continue
        text = out[column].astype("string")
        limit = MAX_ANSWER if column not in ("submitter", "submitted_at") else MAX_META
        long = text.str.len().fillna(0).to_numpy() > limit
        problems += [Problem(int(i) + 1, column, say("longer than {limit} characters",
                                                     limit=f"{limit:,}"))
                     for i in np.flatnonzero(long)]
        if column in ("submitter", "submitted_at"):
            bad = text.str.contains(UNSAFE_PATTERN, regex=True).fillna(False).to_numpy(bool)
            problems += [Problem(int(i) + 1, column, say(
                "contains control or invisible characters")) for i in np.flatnonzero(bad & ~long)]
    return problems


def _grid_references(raw: pd.DataFrame, short: dict[object, str], geometry: np.ndarray,
                     accuracy: np.ndarray, problems: list[Problem]) -> None:
    """Points answered as MGRS references (no GPS fix), at the centre of their square; the
    accuracy is the square's half-diagonal (7.1 m for a 10 m reference)."""
    column = next((c for c, s in short.items() if s == MGRS_QUESTION), None)
    if column is None:
        return
    written = raw[column].astype("string").str.strip()
    given = written.notna().to_numpy() & (written != "").fillna(False).to_numpy(bool)
    located = ~shapely.is_missing(geometry)
    for i in np.flatnonzero(given & located):
        problems.append(Problem(int(i) + 1, MGRS_QUESTION,
                                say("the submission answers two location questions")))
    use = given & ~located
    if not use.any():
        return
    compact = written[use].str.replace(" ", "", regex=False).reset_index(drop=True)
    lon, lat, bad = mgrs_points(compact, written[use].reset_index(drop=True))
    rows = np.flatnonzero(use)
    problems += [Problem(int(rows[k]) + 1, MGRS_QUESTION, reason) for k, reason in bad]
    digits = compact.str.extract(r"(\d*)$")[0].str.len().to_numpy(float)
    side = 10.0 ** (5 - digits / 2)
    ok = ~np.isnan(lon)
    geometry[rows[ok]] = shapely.points(lon[ok], lat[ok])
    accuracy[rows[ok]] = side[ok] * np.sqrt(2) / 2


def _geometries(raw: pd.DataFrame, layer: str, geojson: list[object],
                short: dict[object, str], problems: list[Problem]
                ) -> tuple[np.ndarray, np.ndarray]:
    n = len(raw)
    geometry = np.full(n, None, dtype=object)
    accuracy = np.full(n, np.nan)
    if not LAYERS[layer].spatial:
        return geometry, accuracy
    asked = ({name: kind for kind, name, _ in RECORD_GEOMETRY.values()} if layer == "records"
             else {"geometry": "geopoint" if LAYERS[layer].gpkg_geometry == "POINT"
                   else "geoshape"})
    for name, kind in asked.items():
        column = next((c for c, s in short.items() if s == name), None)
        values = raw[column].astype("string") if column is not None else _split_points(
            raw, name)
        if values is None:
            continue
        answered = values.notna().to_numpy() & (values.str.strip() != "").fillna(
            False).to_numpy(bool)
        for i in (int(k) for k in np.flatnonzero(answered)):
            if geometry[i] is not None:
                problems.append(Problem(i + 1, name,
                                        say("the submission answers two location questions")))
                continue
            try:
                geometry[i], worst = _geometry(kind, str(values.iloc[i]))
            except ValueError as exc:
                problems.append(Problem(i + 1, name, say("not an ODK {kind}: {reason}",
                                                         kind=kind, reason=exc)))
                continue
            accuracy[i] = np.nan if worst is None else worst
    _grid_references(raw, short, geometry, accuracy, problems)
    for i, shape in enumerate(geojson):  # a GeoJSON export's own geometry, where no answer
        if shape is not None and geometry[i] is None:
            try:
                geometry[i] = shapely.from_geojson(json.dumps(shape))
            except shapely.errors.GEOSException:
                problems.append(Problem(i + 1, "geometry", say("not a GeoJSON geometry")))
    return geometry, accuracy
