"""The ledger's layers as typed data classes (DESIGN.md, "Domain").

Each dataclass field carries the metadata the rest of the system needs — its
storage kind, whether it is required, its vocabulary, its bounds, whether it is
personal data — so that the layer schemas in :mod:`hazardledger.domain.schema`
are derived from these classes rather than written a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shapely import Geometry

from . import bounds
from .bounds import Bound
from .vocab import (
    ActivityKind,
    AreaStatus,
    Classification,
    Evidence,
    FindingState,
    Gender,
    InfoReliability,
    LandUse,
    Outcome,
    RecordSource,
    ReleaseMethod,
)


def _f(
    kind: str,
    *,
    required: bool = False,
    vocab: type[StrEnum] | None = None,
    minimum: float | None = None,
    maximum: Bound | None = None,
    personal: bool = False,
    ref: str | None = None,
    doc: str = "",
    default: Any = None,
) -> Any:
    """A dataclass field with the metadata the schema is derived from."""
    meta = {
        "kind": kind,
        "required": required,
        "vocab": vocab,
        "minimum": minimum,
        "maximum": maximum,
        "personal": personal,
        "ref": ref,
        "doc": doc,
    }
    if required:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


REMARKS = ("Free text: what the other fields cannot say (up to 4,000 characters, line "
           "breaks kept)")


@dataclass(frozen=True)
class HazardArea:
    """A suspected or confirmed hazardous area (polygon)."""

    id: str = _f("text", required=True, doc="Hazard area ID (IMSMA Item ID)")
    name: str = _f("text", required=True)
    classification: Classification = _f("enum", required=True, vocab=Classification)
    status: AreaStatus = _f("enum", required=True, vocab=AreaStatus)
    info_date: date = _f("date", required=True, doc="Date of information")
    region: str | None = _f("text", doc="Administrative region (oblast)")
    land_use: LandUse | None = _f("enum", vocab=LandUse)
    evidence: Evidence | None = _f("enum", vocab=Evidence)
    source: str | None = _f("text", doc="Who reported it")
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class Record:
    """What was laid or is suspected: a type, a count (exact, a range, or unknown
    with a density), and a laying window — Amended Protocol II Technical Annex 1."""

    id: str = _f("text", required=True)
    item_type: str = _f("text", required=True, doc="Catalog code")
    laid_from: datetime = _f("datetime", required=True)
    source: RecordSource = _f("enum", required=True, vocab=RecordSource)
    info_reliability: InfoReliability = _f("enum", required=True, vocab=InfoReliability)
    area_id: str | None = _f("text", ref="hazard_areas")
    laid_to: datetime | None = _f("datetime", doc="End of the laying window; default laid_from")
    count: int | None = _f("int", minimum=0, maximum=bounds.COUNT)
    count_min: int | None = _f("int", minimum=0, maximum=bounds.COUNT)
    count_max: int | None = _f("int", minimum=0, maximum=bounds.COUNT)
    density_per_m2: float | None = _f("float", minimum=0, maximum=bounds.DENSITY_PER_M2,
                                       doc="For unknown counts: items per m²")
    sd_setting_h: float | None = _f("float", minimum=0, maximum=bounds.SD_SETTING_H,
                                     doc="Recorded self-destruct setting")
    location: str | None = _f("text", doc="The point (single item) or line (a row) as "
                                          "recorded, WKT; the geometry is the perimeter")
    location_accuracy_m: float | None = _f("float", minimum=0, maximum=bounds.ACCURACY_M, doc=(
        "How far around a recorded point or line its perimeter is drawn, metres"))
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class Finding:
    """One item found by a deminer: a current-status observation."""

    id: str = _f("text", required=True)
    item_type: str = _f("text", required=True)
    found_at: datetime = _f("datetime", required=True)
    state: FindingState = _f("enum", required=True, vocab=FindingState)
    area_id: str | None = _f("text", ref="hazard_areas")
    record_id: str | None = _f("text", ref="records")
    activity_id: str | None = _f("text", ref="activities")
    depth_cm: float | None = _f("float", minimum=0, maximum=bounds.DEPTH_CM)
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class Incident:
    """An accident or incident: evidence that something functioned there."""

    id: str = _f("text", required=True)
    occurred_at: datetime = _f("datetime", required=True)
    item_type: str | None = _f("text")
    area_id: str | None = _f("text", ref="hazard_areas")
    civilians_killed: int = _f("int", minimum=0, maximum=bounds.CASUALTIES, default=0)
    civilians_injured: int = _f("int", minimum=0, maximum=bounds.CASUALTIES, default=0)
    deminers_killed: int = _f("int", minimum=0, maximum=bounds.CASUALTIES, default=0)
    deminers_injured: int = _f("int", minimum=0, maximum=bounds.CASUALTIES, default=0)
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class Victim:
    """A person killed or injured. Personal fields are redacted from every export
    unless explicitly asked for, and (in the server) shown to admins only."""

    id: str = _f("text", required=True)
    incident_id: str = _f("text", required=True, ref="incidents")
    outcome: Outcome = _f("enum", required=True, vocab=Outcome)
    deminer: int = _f("int", minimum=0, maximum=bounds.FLAG, default=0,
                      doc="1 if a deminer at work, else 0")
    gender: Gender | None = _f("enum", vocab=Gender)
    activity_at_time: str | None = _f("text")
    name: str | None = _f("text", personal=True)
    date_of_birth: date | None = _f("date", personal=True)
    address: str | None = _f("text", personal=True)
    remarks: str | None = _f("text", personal=True, doc=REMARKS)


@dataclass(frozen=True)
class Activity:
    """Survey or clearance: the only way land is released (IMAS 07.11)."""

    id: str = _f("text", required=True)
    area_id: str = _f("text", required=True, ref="hazard_areas")
    kind: ActivityKind = _f("enum", required=True, vocab=ActivityKind)
    organisation: str = _f("text", required=True)
    started: date = _f("date", required=True)
    finished: date | None = _f("date")
    method: ReleaseMethod | None = _f(
        "enum", vocab=ReleaseMethod,
        doc="How technical survey or clearance searched: manual, mechanical, dogs or "
            "combined; empty when not recorded (clearance then takes the prior of all "
            "methods together)")
    cancelled_m2: float = _f("float", minimum=0, maximum=bounds.AREA_M2, default=0.0)
    reduced_m2: float = _f("float", minimum=0, maximum=bounds.AREA_M2, default=0.0)
    cleared_m2: float = _f("float", minimum=0, maximum=bounds.AREA_M2, default=0.0)
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class Place:
    """A populated place (GeoNames by default, CC BY 4.0)."""

    id: str = _f("text", required=True)
    name: str = _f("text", required=True)
    population: int = _f("int", required=True, minimum=0, maximum=bounds.POPULATION)
    region: str | None = _f("text")
    country: str | None = _f("text")
    source: str | None = _f("text")
    outline: str | None = _f("text", doc="The settlement's outline as given, WKT; the "
                                         "geometry is a point inside it")
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None


@dataclass(frozen=True)
class RiskEducationSession:
    """An explosive ordnance risk education session (IMAS 12.10) and who it reached, by sex
    and age as the GICHD Minimum Data Requirements ask: girls and boys under 18, women and
    men; people counted without either, apart."""

    id: str = _f("text", required=True)
    held_on: date = _f("date", required=True, doc="Date of the session")
    organisation: str = _f("text", required=True)
    area_id: str | None = _f("text", ref="hazard_areas",
                             doc="The hazard area it warned about, if one")
    region: str | None = _f("text", doc="Administrative region (oblast)")
    girls: int = _f("int", minimum=0, maximum=bounds.AUDIENCE, default=0,
                    doc="Girls under 18 reached")
    boys: int = _f("int", minimum=0, maximum=bounds.AUDIENCE, default=0,
                   doc="Boys under 18 reached")
    women: int = _f("int", minimum=0, maximum=bounds.AUDIENCE, default=0,
                    doc="Women (18 and over) reached")
    men: int = _f("int", minimum=0, maximum=bounds.AUDIENCE, default=0,
                  doc="Men (18 and over) reached")
    not_disaggregated: int = _f("int", minimum=0, maximum=bounds.AUDIENCE, default=0,
                                doc="People reached whose sex or age was not recorded")
    remarks: str | None = _f("text", doc=REMARKS)
    geometry: Geometry | None = None
