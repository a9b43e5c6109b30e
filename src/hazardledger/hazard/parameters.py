"""Parameter samples θ_1..θ_S for each item type, drawn from a scenario's priors.

Each item type draws from its own random stream, keyed by the seed and the type's
code, so that adding a type to the catalog or to the ledger, or computing types in
another order, changes no other type's samples.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..catalog.loader import Catalog
from ..domain.item_types import PARAMETERS

# One number of samples and one seed for every command, the API and the report, so that
# the same question gets the same figures wherever it is asked.
DEFAULT_SAMPLES = 1000
DEFAULT_SEED = 0


def type_stream(seed: int, code: str, purpose: str = "parameters") -> np.random.Generator:
    """The random stream of one item type for one purpose."""
    key = zlib.crc32(f"{purpose}:{code}".encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


@dataclass(frozen=True)
class ParameterSamples:
    """Samples of every model parameter: ``values[name]`` has shape (types, samples)."""

    codes: tuple[str, ...]
    scenario: str
    values: dict[str, np.ndarray]
    life: dict[str, str]  # code -> power-source life distribution

    @property
    def n_samples(self) -> int:
        return int(next(iter(self.values.values())).shape[1])

    def index(self, code: str) -> int:
        return self.codes.index(code)

    def of(self, code: str) -> dict[str, np.ndarray]:
        """The samples of one type, each of shape (samples,)."""
        i = self.index(code)
        return {name: v[i] for name, v in self.values.items()}


def sample_parameters(catalog: Catalog, codes: Sequence[str], scenario: str, n_samples: int,
                      seed: int) -> ParameterSamples:
    """Draw ``n_samples`` parameter sets per type from the scenario's priors."""
    codes = tuple(dict.fromkeys(codes))
    values = {name: np.empty((len(codes), n_samples)) for name in PARAMETERS}
    for i, code in enumerate(codes):
        draws = catalog.sample(code, scenario, n_samples, type_stream(seed, code))
        for name in PARAMETERS:
            values[name][i] = draws[name]
    life = {code: catalog.get(code).life_distribution for code in codes}
    return ParameterSamples(codes, scenario, values, life)
