"""The largest values a real ledger holds, each with the reason it is safe.

Every number a user gives is checked against its bounds before it is cast or stored: a
count of 1e29 must be refused, not wrap around to a negative number of mines that makes
a minefield look inert. The bounds are generous ceilings — far above any real record —
so that no true value is ever refused, and each says why it is one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..locale import N_


@dataclass(frozen=True)
class Bound:
    """An upper bound and why no real value exceeds it."""

    value: float
    why: str  # English, marked for the catalog; shown through locale.say


COUNT = Bound(10_000_000, N_(
    "the national planning scale of DESIGN.md: 10 million items for a whole country, so no "
    "single record holds more"))
DENSITY_PER_M2 = Bound(1_000, N_(
    "a physical ceiling: 1,000 items per m² would leave each 10 cm², smaller than any "
    "explosive ordnance item"))
SD_SETTING_H = Bound(8_766, N_(
    "one year, 24 times the longest reported self-destruct setting (15 days: US DoD 1998)"))
DEPTH_CM = Bound(3_000, N_(
    "30 m, deeper than buried ordnance is searched for (an assumption)"))
CASUALTIES = Bound(1_000, N_(
    "no single explosive ordnance incident reaches 1,000 casualties (Landmine Monitor "
    "counted 293–608 a year in all of Ukraine, 2022–2024)"))
AUDIENCE = Bound(1_000_000, N_(
    "one risk education session reaching more than a million people is a broadcast, not a "
    "session (an assumption: record mass media campaigns in remarks)"))
POPULATION = Bound(50_000_000, N_(
    "above the largest urban area in the world (about 37 million)"))
AREA_M2 = Bound(1.71e13, N_("the area of the largest country (17.1 million km²)"))
ACCURACY_M = Bound(10_000, N_(
    "a location known only to 10 km is not a point: give the record's perimeter instead"))
FLAG = Bound(1, N_("a yes/no flag: 0 or 1"))
