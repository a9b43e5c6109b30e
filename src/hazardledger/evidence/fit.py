r"""Maximum-likelihood estimates of a type's reliability from its findings, with
profile-likelihood intervals.

Which parameters the findings can speak to depends on the type: the self-destruct
reliability :math:`\rho_{sd}` for a self-destructing type; :math:`\rho_{sda}` and the
power-source life (:math:`\beta`, :math:`\eta`) for a self-deactivating one; all four
for a type with both. The others stay at the catalog scenario's prior means. The fit
runs on unconstrained scales (logit for probabilities, log for the life) and a 90 %
interval is where the profile log-likelihood is within :math:`\chi^2_{1,0.90}/2` of its
maximum (Wilks); an end at the edge of the parameter space is reported as that edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit
from scipy.stats import chi2

from ..domain.vocab import PersistenceClass
from .likelihood import Findings, log_likelihood

FREE: dict[PersistenceClass, tuple[str, ...]] = {
    PersistenceClass.PERSISTENT: (),
    PersistenceClass.SELF_DESTRUCT: ("rho_sd",),
    PersistenceClass.SELF_DEACTIVATING: ("rho_sda", "life_beta", "life_eta_h"),
    PersistenceClass.SD_AND_SDA: ("rho_sd", "rho_sda", "life_beta", "life_eta_h"),
}
_PROBABILITY = {"rho_sd", "rho_sda"}
_EDGE = 18.0  # logit or log bound of the search: probabilities within 1.5e-8 of 0 or 1
_SHIFTS = (0.0, 2.0, -2.0, 1.0, -1.0)  # starting points around the prior means (fitting scale)


_REAL = {"temp_coef_per_c"}  # fitted on its own scale


def to_fitting_scale(name: str, value: float) -> float:
    if name in _PROBABILITY:
        return float(logit(np.clip(value, 1e-6, 1 - 1e-6)))
    return float(value) if name in _REAL else float(np.log(value))


def from_fitting_scale(name: str, x: float) -> float:
    if name in _PROBABILITY:
        return float(expit(x))
    return float(x) if name in _REAL else float(np.exp(x))


def _bounds(name: str, start: float) -> tuple[float, float]:
    if name in _REAL:
        return (-0.5, 0.5)  # per degree C: a factor of 150 per 10 degrees at the ends
    return (-_EDGE, _EDGE) if name in _PROBABILITY else (start - 8.0, start + 8.0)


@dataclass
class Estimate:
    mle: float
    low: float
    high: float


@dataclass
class FitResult:
    """Estimates with 90 % intervals, and what they stand on."""

    findings: int
    log_likelihood: float
    estimates: dict[str, Estimate] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)
    converged: bool = True


class ReliabilityFitter:
    """Fits the free parameters of one item type to its findings (lifelines-style API)."""

    def __init__(self, persistence: PersistenceClass, fixed: Mapping[str, float],
                 life: str = "weibull", level: float = 0.90, temperature: bool = False):
        # the temperature coefficient is identifiable only from findings with temperatures
        self.free = FREE[persistence] + (
            ("temp_coef_per_c",) if temperature and "life_eta_h" in FREE[persistence] else ())
        self.fixed = dict(fixed)
        self.life = life
        self.level = level

    def negative_log_likelihood(self, x: np.ndarray, findings: Findings,
                                names: tuple[str, ...], pinned: Mapping[str, float]) -> float:
        """Minus the log-likelihood with ``names`` at ``x`` (fitting scale), ``pinned`` set."""
        params = {**self.fixed, **pinned, **{n: from_fitting_scale(n, v) for n, v in zip(
            names, x, strict=True)}}
        return -log_likelihood(findings, params, self.life)

    def _optimise(self, findings: Findings, names: tuple[str, ...], start: np.ndarray,
                  bounds: list[tuple[float, float]], pinned: Mapping[str, float]
                  ) -> tuple[np.ndarray, float, bool]:
        if not names:
            return np.zeros(0), self.negative_log_likelihood(np.zeros(0), findings, (),
                                                             pinned), True
        result = minimize(self.negative_log_likelihood, start, args=(findings, names, pinned),
                          method="L-BFGS-B",
                          bounds=bounds)
        return result.x, float(result.fun), bool(result.success)

    def fit(self, findings: Findings, intervals: bool = True) -> FitResult:
        """Maximum likelihood, then (unless ``intervals`` is False) a profile-likelihood
        interval for each free parameter."""
        names = self.free
        start = np.array([to_fitting_scale(n, self.fixed[n]) for n in names])
        bounds = [_bounds(n, s) for n, s in zip(names, start, strict=True)]
        lows, highs = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
        best, nll, ok = self._optimise(findings, names, start, bounds, {})
        # A cure fraction and a long tail can look alike over short ages; when the first
        # answer sits at an edge (or failed), other starts keep the optimiser out of the
        # wrong optimum.
        at_edge = any(n in _PROBABILITY and abs(x) > 10 for n, x in zip(names, best,
                                                                        strict=True))
        if len(names) > 1 and (at_edge or not ok):
            tries = [(best, nll, ok)] + [
                self._optimise(findings, names, np.clip(start + shift, lows, highs), bounds, {})
                for shift in _SHIFTS[1:]]
            best, nll, ok = min(tries, key=lambda t: t[1])
        result = FitResult(findings.n, -nll, converged=ok,
                           fixed={k: v for k, v in self.fixed.items() if k not in names})
        threshold = nll + chi2.ppf(self.level, 1) / 2
        if not intervals:
            result.estimates = {n: Estimate(from_fitting_scale(n, x), np.nan, np.nan)
                                for n, x in zip(names, best, strict=True)}
            return result
        for j, name in enumerate(names):
            others = names[:j] + names[j + 1:]
            other_start = np.delete(best, j)
            other_bounds = bounds[:j] + bounds[j + 1:]

            def profile(x: float, _name: str = name, _others: tuple[str, ...] = others,
                        _start: np.ndarray = other_start,
                        _bounds: list[tuple[float, float]] = other_bounds) -> float:
                value = from_fitting_scale(_name, x)
                return self._optimise(findings, _others, _start, _bounds,
                                      {_name: value})[1] - threshold

            low = self._end(profile, best[j], bounds[j][0])
            high = self._end(profile, best[j], bounds[j][1])
            result.estimates[name] = Estimate(*(from_fitting_scale(name, x)
                                                for x in (best[j], low, high)))
        return result

    @staticmethod
    def _end(profile: Callable[[float], float], centre: float, edge: float) -> float:
        """Where the profile crosses the threshold between the MLE and an edge."""
        if profile(edge) <= 0:
            return edge
        return float(brentq(profile, centre, edge, xtol=1e-4)) if profile(centre) < 0 else centre
