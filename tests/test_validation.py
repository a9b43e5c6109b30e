"""Validation of batches: types, rules, geometry — pure, no store involved."""

from __future__ import annotations

import pandas as pd
import shapely

from hazardledger.domain.schema import LAYERS, layer
from hazardledger.domain.validation import LedgerFacts, lookups_needed, validate
from hazardledger.domain.vocab import PersistenceClass

from .conftest import NOW, UKRAINE, areas_frame, records_frame

TYPES = {"ap-persistent": PersistenceClass.PERSISTENT,
         "ap-nonpersistent-48h": PersistenceClass.SELF_DEACTIVATING,
         "ap-rd-apii": PersistenceClass.SD_AND_SDA}


def facts(**kw: object) -> LedgerFacts:
    base: dict[str, object] = {"now": NOW, "item_types": TYPES,
                               "existing": {"hazard_areas": frozenset({"HA-1"})},
                               "extent": UKRAINE}
    base.update(kw)
    return LedgerFacts(**base)  # type: ignore[arg-type]


def lines(layer_name: str, frame: pd.DataFrame, **kw: object) -> list[str]:
    result = validate(layer(layer_name), frame, facts(**kw))
    return [p.format("f") for p in result.problems]


def test_every_layer_has_id_and_typed_fields() -> None:
    for schema in LAYERS.values():
        assert schema.field_names[0] == "id"
        assert all(f.kind in {"text", "enum", "int", "float", "date", "datetime"}
                   for f in schema.fields)
    assert LAYERS["victims"].personal_fields == ("name", "date_of_birth", "address", "remarks")


def test_valid_batch_passes_and_is_typed() -> None:
    result = validate(layer("records"), records_frame(), facts())
    assert result.problems == []
    frame = result.frame
    assert str(frame["count"].dtype) == "Int64"
    assert str(frame["laid_from"].dtype) == "datetime64[us, UTC]"
    assert frame.crs.to_epsg() == 4326


def test_enum_values_are_normalised() -> None:
    raw = areas_frame(1)
    raw["classification"] = ["cha"]
    result = validate(layer("hazard_areas"), raw, facts(existing={}))
    assert result.problems == [] and result.frame["classification"].iloc[0] == "CHA"


def test_counts_ranges_and_densities() -> None:
    raw = records_frame(4)
    raw["count"] = [None, None, 5, None]
    raw["count_min"] = [3, 9, 1, None]
    raw["count_max"] = [8, 2, 4, None]
    raw["density_per_m2"] = [None, None, None, 0.01]
    assert lines("records", raw) == [
        "f:feature 2: count_min: count_min 9 is greater than count_max 2",
        "f:feature 3: count: give count or count_min..count_max, not both",
        "f:feature 4: density_per_m2: an unknown count given as a density needs the perimeter "
        "it covers (a polygon), not a point or line",
    ]


def test_unknown_count_is_not_zero() -> None:
    raw = records_frame(1).drop(columns=["count"])
    assert lines("records", raw) == [
        "f:feature 1: count: missing: give count, count_min and count_max, or density_per_m2 "
        "for an unknown count"]


def test_laying_window_and_future() -> None:
    raw = records_frame(2)
    raw["laid_to"] = ["2024-02-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    raw["laid_from"] = ["2024-03-01T00:00:00Z", "2026-12-01T00:00:00Z"]
    assert lines("records", raw) == [
        "f:feature 1: laid_to: laid_to 2024-02-01T00:00:00Z is before laid_from "
        "2024-03-01T00:00:00Z",
        "f:feature 2: laid_from: date in the future: 2026-12-01T00:00:00Z is after "
        "2026-11-01T00:00:00Z",
        "f:feature 2: laid_to: date in the future: 2027-01-01T00:00:00Z is after "
        "2026-11-01T00:00:00Z",
    ]


def test_findings_against_their_records() -> None:
    raw = pd.DataFrame({
        "id": ["F-1", "F-2", "F-3"], "record_id": ["R-1", "R-1", None],
        "item_type": ["ap-persistent", "ap-persistent", "ap-nonpersistent-48h"],
        "found_at": ["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"],
        "state": ["functional", "self_destroyed", "inert"],
        "geometry": [shapely.Point(36, 49)] * 3,
    })
    got = lines("findings", raw, existing={"records": frozenset({"R-1"})},
                record_laid_from={"R-1": pd.Timestamp("2024-03-01T06:00:00Z")})
    assert got == [
        "f:feature 1: found_at: found at 2024-01-01T00:00:00Z, before its record 'R-1' was "
        "laid (2024-03-01T06:00:00Z)",
        "f:feature 2: state: self_destroyed is impossible for item type 'ap-persistent', which "
        "has no self-destruct",
    ]


def test_geometry_problems() -> None:
    bowtie = shapely.Polygon([(36, 49), (36.1, 49.1), (36.1, 49), (36, 49.1)])
    raw = areas_frame(5)
    raw["geometry"] = [bowtie, shapely.Polygon(), None, shapely.Point(36, 49),
                       shapely.box(49, 36, 49.1, 36.1)]
    got = lines("hazard_areas", raw, existing={})
    assert got[0].startswith("f:feature 1: geometry: invalid geometry: Self-intersection[")
    assert got[0].endswith("; --repair fixes it with make_valid")
    assert got[1:] == [
        "f:feature 2: geometry: empty geometry",
        "f:feature 3: geometry: missing geometry",
        "f:feature 4: geometry: expected Polygon or MultiPolygon, got Point",
        "f:feature 5: geometry: latitude and longitude look swapped: (49, 36) lies outside the "
        "programme extent (22.1, 44.3, 40.3, 52.4) but (36, 49) lies inside it",
    ]
    repaired = validate(layer("hazard_areas"), raw.iloc[:1], facts(existing={}), repair=True)
    assert repaired.problems == [] and repaired.repaired == [1]
    assert shapely.is_valid(repaired.frame.geometry.iloc[0])


def test_lookups_needed_lists_ids_and_references() -> None:
    assert lookups_needed(layer("records"), records_frame(2)) == {
        "records": {"R-1", "R-2"}, "hazard_areas": {"HA-1"}}
