"""Layer schemas derived from the entity dataclasses.

One :class:`LayerSchema` per layer tells storage, import, export and validation
which fields exist, their kinds and rules, and what geometry the layer holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from ..locale import N_
from .bounds import Bound
from .entities import (
    Activity,
    Finding,
    HazardArea,
    Incident,
    Place,
    Record,
    RiskEducationSession,
    Victim,
)

# Storage kinds and the GeoPackage column type each is stored as.
GPKG_TYPES = {
    "text": "TEXT",
    "enum": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "date": "DATE",
    "datetime": "DATETIME",
}


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a layer."""

    name: str
    kind: str
    required: bool
    vocab: type[StrEnum] | None
    minimum: float | None
    maximum: Bound | None
    personal: bool
    ref: str | None
    doc: str
    default: object

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.vocab) if self.vocab else ()


@dataclass(frozen=True)
class LayerSchema:
    """A layer of the ledger: its fields and the geometry it accepts."""

    name: str
    entity: type
    fields: tuple[FieldSpec, ...]
    # Shapely geometry type names accepted on import, or () for a table without geometry.
    geometry_types: tuple[str, ...]
    # The GeoPackage geometry column type; polygons are stored as multipolygons.
    gpkg_geometry: str | None
    description: str

    @property
    def spatial(self) -> bool:
        return self.gpkg_geometry is not None

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)


def _fields(entity: type) -> tuple[FieldSpec, ...]:
    specs = []
    for f in dataclasses.fields(entity):
        if f.name == "geometry":
            continue
        m = f.metadata
        default = None if f.default is dataclasses.MISSING else f.default
        specs.append(
            FieldSpec(
                name=f.name,
                kind=m["kind"],
                required=m["required"],
                vocab=m["vocab"],
                minimum=m["minimum"],
                maximum=m["maximum"],
                personal=m["personal"],
                ref=m["ref"],
                doc=m["doc"],
                default=default,
            )
        )
    return tuple(specs)


_POLYGONAL = ("Polygon", "MultiPolygon")

LAYERS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema("hazard_areas", HazardArea, _fields(HazardArea), _POLYGONAL,
                    "MULTIPOLYGON", N_("Suspected and confirmed hazardous areas")),
        # records are stored by their perimeter, places as points (see forms.py): one
        # geometry type a layer, which QGIS opens as one layer
        LayerSchema("records", Record, _fields(Record),
                    ("Point", "MultiPoint", "LineString", "MultiLineString", *_POLYGONAL),
                    "MULTIPOLYGON", N_("What was laid or is suspected, where and when")),
        LayerSchema("findings", Finding, _fields(Finding), ("Point",), "POINT",
                    N_("Items found in survey and clearance, with their state")),
        LayerSchema("incidents", Incident, _fields(Incident), ("Point",), "POINT",
                    N_("Accidents and incidents")),
        LayerSchema("victims", Victim, _fields(Victim), (), None,
                    N_("People killed or injured (personal data: admin only)")),
        LayerSchema("activities", Activity, _fields(Activity), _POLYGONAL, "MULTIPOLYGON",
                    N_("Non-technical survey, technical survey and clearance")),
        LayerSchema("places", Place, _fields(Place), ("Point", *_POLYGONAL),
                    "POINT", N_("Populated places: points, with the outlines of settlements "
                                "given as polygons (GeoNames by default, CC BY 4.0)")),
        LayerSchema("risk_education", RiskEducationSession, _fields(RiskEducationSession),
                    ("Point",), "POINT", N_("Risk education sessions and whom they reached, "
                                            "by sex and age")),
    )
}


def layer(name: str) -> LayerSchema:
    """The schema of a layer, or a ValueError naming the layers there are."""
    try:
        return LAYERS[name]
    except KeyError:
        raise ValueError(
            f"unknown layer '{name}' (layers: {', '.join(LAYERS)})"
        ) from None
