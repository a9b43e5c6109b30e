r"""The current-status likelihood of field findings.

A finding is one look at one item: laid at :math:`e` (somewhere in its record's laying
window), found at :math:`t`, in one state. Under the model of DESIGN.md, at age
:math:`a = t - e`

.. math::

    P(\text{functional}) = S(a), \quad
    P(\text{self-destroyed}) = \rho_{sd} G(a), \quad
    P(\text{inert}) = (1 - \rho_{sd} G(a))\,\rho_{sda} F_L(A(a)),

and a finding in an unknown state says nothing. An uncertain laying date is integrated
over its window with Gauss–Legendre points. All findings of a type are evaluated at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.vocab import FindingState
from ..hazard.survival import REFERENCE_TEMPERATURE_C, state_probabilities

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)
STATE_CODES = {FindingState.FUNCTIONAL.value: 0, FindingState.SELF_DESTROYED.value: 1,
               FindingState.INERT.value: 2}
PROBABILITY_FLOOR = 1e-300  # a probability of exactly 0 would make the log-likelihood -inf


@dataclass(frozen=True)
class Findings:
    """One type's informative findings as arrays (hours since 1970, state codes)."""

    laid_from_h: np.ndarray
    laid_to_h: np.ndarray
    found_h: np.ndarray
    state: np.ndarray  # 0 functional, 1 self-destroyed, 2 inert
    sd_setting_h: np.ndarray  # recorded setting, NaN where unknown
    # With regional temperatures: hours of each calendar month between laying (window
    # middle) and finding, and the region's temperature in each month: (n, 12) each.
    month_hours: np.ndarray | None = None
    month_temperature_c: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, laid_from_h: np.ndarray, laid_to_h: np.ndarray, found_h: np.ndarray,
                    states: np.ndarray, sd_setting_h: np.ndarray | None = None) -> Findings:
        """Keep the findings whose state is known; states are the vocabulary's strings.

        A found item was laid before it was found: a finding made while its record's
        laying window was still open has the part of the window before it as its own
        (the rest would give it age 0, "functional", and bias the battery life)."""
        codes = pd.Series(states, dtype=object).astype(str).map(STATE_CODES).fillna(-1).to_numpy(
            dtype=np.int64)
        keep = codes >= 0
        setting = (np.full(len(codes), np.nan) if sd_setting_h is None
                   else np.asarray(sd_setting_h, dtype=float))
        laid_from = np.asarray(laid_from_h, float)[keep]
        found = np.asarray(found_h, float)[keep]
        laid_to = np.minimum(np.asarray(laid_to_h, float)[keep], np.maximum(found, laid_from))
        return cls(laid_from, laid_to, found, codes[keep], setting[keep])

    @property
    def n(self) -> int:
        return int(self.state.size)

    def ages(self, step_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ages at the quadrature points of each laying window and their weights, both
        (..., n, 16) for ``step_h`` of shape (..., n); (n, 1) when every laying date is
        known exactly.

        Each window is cut where the age passes ``step_h`` (the self-destruct setting, per
        finding, or per parameter draw and finding; NaN or none: at the window's middle)
        and each part integrated by 8-point Gauss-Legendre: the state's probability jumps
        at that age, and one rule across the jump missed it by up to 0.04 for a 240-hour
        window."""
        if np.all(self.laid_to_h == self.laid_from_h):
            return (np.maximum(self.found_h - self.laid_from_h, 0.0)[:, None],
                    np.ones((self.n, 1)))
        start, end, found = self.laid_from_h, self.laid_to_h, self.found_h
        middle = (start + end) / 2
        cut = middle if step_h is None else np.where(
            np.isnan(step_h), middle, np.clip(found - step_h, start, end))
        width = np.where(end > start, end - start, 1.0)
        ages, weights = [], []
        for low, high in ((start, cut), (cut, end)):
            half = (high - low) / 2
            laid = ((low + high) / 2)[..., None] + half[..., None] * _NODES
            ages.append(np.maximum(found[:, None] - laid, 0.0))
            weights.append(_WEIGHTS * (half / width)[..., None])
        weight = np.concatenate(weights, axis=-1)
        # a finding whose laying date is exact: all its weight on one point
        first = np.zeros(2 * _NODES.size)
        first[0] = 1.0
        weight = np.where((end <= start)[:, None], first, weight)
        return np.concatenate(ages, axis=-1), weight


def state_likelihoods(findings: Findings, params: Mapping[str, float],
                      life: str = "weibull") -> np.ndarray:
    """Probability of each finding's observed state under one parameter set: (n,)."""
    chosen = state_probability_table(findings, params, life)
    return np.take_along_axis(chosen, findings.state[:, None], axis=1)[:, 0]


def state_probability_table(findings: Findings, params: Mapping[str, float],
                            life: str = "weibull") -> np.ndarray:
    """Probability of each state (functional, self-destroyed, inert) for each finding,
    its laying date integrated over its window: (n, 3). What a finding at that time and
    place would show, whatever it did show: the model's distribution of the data."""
    p: dict[str, np.ndarray | float] = {k: float(v) for k, v in params.items()}
    # a recorded self-destruct setting replaces the parameter for that finding's record
    setting = np.where(np.isnan(findings.sd_setting_h), float(params["sd_setting_h"]),
                       findings.sd_setting_h)
    p["sd_setting_h"] = setting[:, None]
    ages, weights = findings.ages(setting)
    equivalent = None
    if findings.month_hours is not None and findings.month_temperature_c is not None:
        # temperature-equivalent age from the finding's own calendar months
        gamma = float(params["temp_coef_per_c"])
        factor = np.exp(gamma * (findings.month_temperature_c - REFERENCE_TEMPERATURE_C))
        elapsed = findings.month_hours.sum(axis=1)
        mean_factor = np.where(elapsed > 0, (factor * findings.month_hours).sum(axis=1)
                               / np.where(elapsed > 0, elapsed, 1.0), 1.0)
        equivalent = ages * mean_factor[:, None]
    functional, destroyed, inert = state_probabilities(ages, p, equivalent,  # type: ignore[arg-type]
                                                       life=life)
    states = np.stack([np.broadcast_to(q, ages.shape) for q in (functional, destroyed, inert)],
                      axis=1)  # (n, 3, nodes)
    return states[:, :, 0] if weights.shape[1] == 1 else (states * weights[:, None, :]).sum(-1)


def log_likelihood(findings: Findings, params: Mapping[str, float],
                   life: str = "weibull") -> float:
    """Log-likelihood of the findings under one parameter set."""
    chosen = state_likelihoods(findings, params, life)
    return float(np.log(np.maximum(chosen, PROBABILITY_FLOOR)).sum())
