"""Weights of the priority factors, from defaults or a user's TOML file.

A file may set any of these tables; what it leaves out keeps its default::

    [weights]            # relative; they are divided by their sum
    hazard = 0.35        # P(at least one item still functions)
    exposure = 0.30      # people near the area, distance-weighted
    incidents = 0.15     # accidents recorded in the area
    land_use = 0.10      # what the land is needed for
    remaining_area = 0.10

    [land_use]           # 0..1 per land-use class
    residential = 1.0

    [communities]
    reach_km = 5.0       # hazard areas within this distance of a place count for it
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..domain.vocab import LandUse
from ..locale import say

DEFAULT_WEIGHTS = MappingProxyType({"hazard": 0.35, "exposure": 0.30, "incidents": 0.15,
                                    "land_use": 0.10, "remaining_area": 0.10})
# Land where people live and farm comes first (IMAS 07.11 land release aims at returning
# land to productive use); unknown use counts as middling rather than as harmless.
DEFAULT_LAND_USE = MappingProxyType({
    LandUse.RESIDENTIAL: 1.0, LandUse.AGRICULTURAL: 0.8, LandUse.INFRASTRUCTURE: 0.8,
    LandUse.PASTURE: 0.6, LandUse.FOREST: 0.4, LandUse.WATER: 0.2, LandUse.OTHER: 0.5,
    LandUse.UNKNOWN: 0.5,
})
DEFAULT_REACH_KM = 5.0


@dataclass(frozen=True)
class PriorityConfig:
    """What the ranking weighs, and how far a community's reach extends."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    land_use: dict[str, float] = field(default_factory=lambda: {
        str(k): v for k, v in DEFAULT_LAND_USE.items()})
    reach_km: float = DEFAULT_REACH_KM
    source: str = "defaults"

    def normalised(self) -> dict[str, float]:
        total = sum(self.weights.values())
        return {k: v / total for k, v in self.weights.items()}

    def describe(self) -> str:
        return ", ".join(f"{k} {v:.2f}" for k, v in self.normalised().items())


def _numbers(table: Any, name: str, allowed: set[str], where: str, upper: float | None
             ) -> dict[str, float]:
    if not isinstance(table, dict):
        raise ValueError(f"{where}: [{name}] " + say("must be a table of numbers"))
    out = {}
    for key, value in table.items():
        if key not in allowed:
            raise ValueError(f"{where}: [{name}] {key}: " + say(
                "unknown (known: {known})", known=", ".join(sorted(allowed))))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (
                upper is not None and value > upper):
            expected = (say("expected a number between 0 and {upper}", upper=f"{upper:g}")
                        if upper is not None else say("expected a number 0 or more"))
            raise ValueError(f"{where}: [{name}] {key} = {value!r}: {expected}")
        out[key] = float(value)
    return out


def load_config(path: Path | None) -> PriorityConfig:
    """The defaults, overridden by the TOML file at ``path`` if one is given."""
    config = PriorityConfig()
    if path is None:
        return config
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{where}: " + say("no such file")) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: " + say("not valid TOML ({reason})", reason=exc)) from None
    unknown = sorted(set(data) - {"weights", "land_use", "communities"})
    if unknown:
        raise ValueError(f"{where}: " + say("unknown table [{table}] (known: [weights], "
                                            "[land_use], [communities])", table=unknown[0]))
    weights = {**config.weights, **_numbers(data.get("weights", {}), "weights",
                                            set(DEFAULT_WEIGHTS), where, None)}
    if sum(weights.values()) <= 0:
        raise ValueError(f"{where}: [weights] " + say("all zero: at least one factor must "
                                                      "count"))
    land_use = {**config.land_use, **_numbers(data.get("land_use", {}), "land_use",
                                              {str(u) for u in LandUse}, where, 1.0)}
    reach = _numbers(data.get("communities", {}), "communities", {"reach_km"}, where, 100.0)
    reach_km = reach.get("reach_km", config.reach_km)
    if reach_km <= 0:
        raise ValueError(f"{where}: [communities] " + say("reach_km must be above 0"))
    return replace(config, weights=weights, land_use=land_use, reach_km=reach_km, source=where)
