"""Item types and their parameter priors, as plain typed data.

An item type holds only what decides how long an item stays hazardous: whether it
has a self-destruct and how reliably and when it fires, whether power-source
exhaustion leaves it inert and how long the power source lasts. Every number is a
:class:`Prior` that names its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .vocab import ItemCategory, PersistenceClass

SCENARIOS = ("claimed", "treaty-minimum", "pessimistic")
PARAMETERS = ("rho_sd", "sd_setting_h", "sd_spread", "rho_sda", "life_beta", "life_eta_h",
              "temp_coef_per_c")
PROBABILITIES = frozenset({"rho_sd", "rho_sda"})
REAL_VALUED = frozenset({"temp_coef_per_c"})  # may be negative; every other parameter may not
DISTRIBUTIONS = {
    "fixed": ("value",),
    "beta": ("a", "b"),
    "lognormal": ("median", "sigma"),
    "normal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "choice": ("values", "weights"),
}


@dataclass(frozen=True)
class Source:
    """A public source, or a labelled modelling assumption."""

    id: str
    kind: str  # treaty, government, news, ngo, vendor, reference, assumption
    citation: str
    unverified: bool = False


@dataclass(frozen=True)
class Prior:
    """A parameter's distribution and where it comes from."""

    dist: str
    args: tuple[tuple[str, float | tuple[float, ...]], ...]
    source: str
    note: str = ""

    def arg(self, name: str) -> float | tuple[float, ...]:
        return dict(self.args)[name]


@dataclass(frozen=True)
class ItemType:
    """One kind of explosive ordnance as the residual hazard model sees it."""

    code: str
    name: str
    category: ItemCategory
    persistence: PersistenceClass
    description: str
    origin: str
    # scenario -> parameter -> prior
    priors: dict[str, dict[str, Prior]] = field(default_factory=dict)
    # weibull (life_beta = shape, life_eta_h = scale) or lognormal (life_beta = sigma of
    # the log, life_eta_h = median)
    life_distribution: str = "weibull"

    @property
    def has_self_destruct(self) -> bool:
        return self.persistence in (PersistenceClass.SELF_DESTRUCT, PersistenceClass.SD_AND_SDA)

    @property
    def has_self_deactivation(self) -> bool:
        return self.persistence in (PersistenceClass.SELF_DEACTIVATING,
                                    PersistenceClass.SD_AND_SDA)
