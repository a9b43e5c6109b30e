r"""Maximum-likelihood estimates of a type's reliability from its findings, with
profile-likelihood intervals.

Which parameters the findings can speak to depends on the type: the self-destruct
reliability :math:`\rho_{sd}` for a self-destructing type; :math:`\rho_{sda}` and the
power-source life (:math:`\beta`, :math:`\eta`) for a self-deactivating one; all four
for a type with both. The others stay at the catalog scenario's prior means. The fit
runs on unconstrained scales (logit for probabilities, log for the life) and a 90 %
interval is where the profile log-likelihood is within :math:`c_k\,\chi^2_{1,0.90}/2` of
its maximum; an end at the edge of the parameter space is reported as that edge.

Wilks' theorem gives :math:`c_k = 1`, and it fails here with hundreds of findings:
current-status data on a power-source life say little (a finding shows only whether the
item still worked), and the likelihood-ratio statistic at the true life's shape averaged
1.4 where Wilks expects 1, so 90 % intervals covered 78-81 %. With ``calibration = B`` the
factor :math:`c_k` is estimated per parameter by a parametric bootstrap (Bartlett's
correction): B data sets drawn from the fitted model at the findings' own times and
windows, each refitted, and :math:`c_k` the mean of their statistics at the fitted value,
never below 1 (the correction only widens). ``benchmarks/coverage_study.py`` measures the
coverage with and without it.

A probability whose estimate sits at an edge (0 or 1: no finding of the kind that would
move it, e.g. no item still functional long after its self-deactivation life) is outside
both: the likelihood is then :math:`\approx e^{-\lambda}` in the expected number
:math:`\lambda` of such findings, Wilks' threshold ends the interval at
:math:`\lambda = 1.35`, and the bootstrap's factor at the edge is 1. The open side then
takes the threshold :math:`\max(c_k\,\chi^2_{1,0.90},\,-2\ln 0.05)/2`, whose end
:math:`\lambda = 3.0` is Clopper and Pearson's exact bound for zero events. With records
laid over 240-hour windows, rho_sda sat at 1 in 34 of 200 simulated data sets and its Wilks
interval missed the truth in 26 of them, for 81 % coverage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit
from scipy.stats import chi2

from ..domain.vocab import PersistenceClass
from ..locale import N_
from .likelihood import Findings, log_likelihood, state_probability_table

FREE: dict[PersistenceClass, tuple[str, ...]] = {
    PersistenceClass.PERSISTENT: (),
    PersistenceClass.SELF_DESTRUCT: ("rho_sd",),
    PersistenceClass.SELF_DEACTIVATING: ("rho_sda", "life_beta", "life_eta_h"),
    PersistenceClass.SD_AND_SDA: ("rho_sd", "rho_sda", "life_beta", "life_eta_h"),
}
_PROBABILITY = {"rho_sd", "rho_sda"}
_EDGE = 18.0  # logit bound of the search: probabilities within 1.5e-8 of 0 or 1
_SHIFTS = (0.0, 2.0, -2.0, 1.0, -1.0)  # starting points around the prior means (fitting scale)
_NEAR_ONE = 12.0  # a start with a probability at 1 - 6e-6: where an estimate at the edge lies
_RESTARTS = 3  # times a better optimum found by a profile restarts the intervals
_SWEEP = 8  # profile points from the estimate to each edge, each warm-started from the last
# Search limits of the others, on the log scale: a life or a shape beyond them is one the
# findings cannot tell apart from the limit ("not determined by the findings").
_LOG_LIMITS = {"life_beta": (np.log(0.05), np.log(100.0))}
_LOG_SPAN = 8.0  # the life's scale: e^±8 (a factor of about 3,000) around the prior mean
_REAL = {"temp_coef_per_c"}  # fitted on its own scale
_BOOTSTRAP_STREAM = 0xB007  # keys the calibration's random stream apart from any other
_SUSPECT = 10.0  # a bootstrap statistic above this (p 0.0016 under Wilks) is searched again


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
    if name in _PROBABILITY:
        return (-_EDGE, _EDGE)
    return _LOG_LIMITS.get(name, (start - _LOG_SPAN, start + _LOG_SPAN))


@dataclass
class Estimate:
    """A maximum-likelihood estimate and its 90 % profile interval; ``determined`` is False
    when the interval runs to the search limits (a flat profile: the findings cannot tell
    the value), and then ``mle`` says nothing."""

    mle: float
    low: float
    high: float
    determined: bool = True
    note: str = ""


@dataclass
class FitResult:
    """Estimates with 90 % intervals, and what they stand on."""

    findings: int
    log_likelihood: float
    estimates: dict[str, Estimate] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)
    converged: bool = True
    # per parameter, the factor on Wilks' threshold (1.0: uncalibrated)
    calibration: dict[str, float] = field(default_factory=dict)


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
                          method="L-BFGS-B", bounds=bounds)
        return result.x, float(result.fun), bool(result.success)

    def _best_of(self, findings: Findings, names: tuple[str, ...], starts: list[np.ndarray],
                 bounds: list[tuple[float, float]], pinned: Mapping[str, float]
                 ) -> tuple[np.ndarray, float, bool]:
        """The best optimum from several starts (a cure fraction and a long tail look alike
        over short ages, so one start can end in the wrong optimum)."""
        lows = np.array([b[0] for b in bounds])
        highs = np.array([b[1] for b in bounds])
        tries = [self._optimise(findings, names, np.clip(x, lows, highs), bounds, pinned)
                 for x in starts]
        return min(tries, key=lambda t: t[1])

    @staticmethod
    def _starts(names: tuple[str, ...], centre: np.ndarray, *extra: np.ndarray
                ) -> list[np.ndarray]:
        """Where to start: ``extra`` first, then around ``centre``, then with each
        probability at 1 (an estimate at the edge of the parameter space)."""
        starts = [*extra, *(centre + shift for shift in _SHIFTS)]
        for k, name in enumerate(names):
            if name in _PROBABILITY:
                edge = centre.copy()
                edge[k] = _NEAR_ONE
                starts.append(edge)
        return starts

    def fit(self, findings: Findings, intervals: bool = True, calibration: int = 0,
            seed: int = 0) -> FitResult:
        """Maximum likelihood, then (unless ``intervals`` is False) a profile-likelihood
        interval for each free parameter, and whether the findings determine it; with
        ``calibration`` bootstrap data sets (seeded by ``seed``), the intervals' threshold
        is corrected per parameter (see the module's notes)."""
        names = self.free
        start = np.array([to_fitting_scale(n, self.fixed[n]) for n in names])
        bounds = [_bounds(n, s) for n, s in zip(names, start, strict=True)]
        best, nll, ok = self._best_of(findings, names, self._starts(names, start), bounds, {})
        factors: np.ndarray | None = None
        for attempt in range(_RESTARTS + 1):
            result = FitResult(findings.n, -nll, converged=ok,
                               fixed={k: v for k, v in self.fixed.items() if k not in names})
            if not intervals:
                result.estimates = {n: Estimate(from_fitting_scale(n, x), np.nan, np.nan)
                                    for n, x in zip(names, best, strict=True)}
                return result
            if factors is None:  # once: a restart moves the estimate too little to matter
                factors = (self._bartlett(findings, names, best, bounds, calibration, seed)
                           if calibration else np.ones(len(names)))
            result.calibration = {n: float(c) for n, c in zip(names, factors, strict=True)}
            better = None
            for j, name in enumerate(names):
                low, high, flat, better = self._interval(
                    findings, names, j, best, bounds, nll,
                    nll + factors[j] * chi2.ppf(self.level, 1) / 2,
                    look_for_better=attempt < _RESTARTS)
                if better is not None:
                    break
                at_edge = name in _PROBABILITY and not np.isnan(flat)
                if at_edge:
                    # as likely at the edge as at the optimum found: the estimate is the
                    # edge, and the open side's end is the exact one for no events seen
                    low, high, _, _ = self._interval(
                        findings, names, j, best, bounds, nll,
                        nll + max(factors[j] * chi2.ppf(self.level, 1),
                                  _edge_statistic(self.level)) / 2,
                        look_for_better=False)
                at = flat if at_edge else best[j]
                result.estimates[name] = _estimate(name, at, low, high, bounds[j])
            if better is None:
                result.converged = ok and attempt < _RESTARTS
                return _step_life(result)
            # a profile found a higher likelihood than the first search: start again there,
            # within the same search limits
            best, nll, ok = self._best_of(findings, names, [better], bounds, {})
        raise AssertionError("unreachable: the last attempt does not look for better")

    def _bartlett(self, findings: Findings, names: tuple[str, ...], best: np.ndarray,
                  bounds: list[tuple[float, float]], replicates: int, seed: int
                  ) -> np.ndarray:
        """Per parameter, the mean likelihood-ratio statistic at the fitted value over
        ``replicates`` data sets drawn from the fitted model (at least 1)."""
        pinned_at = {n: from_fitting_scale(n, x) for n, x in zip(names, best, strict=True)}
        cumulative = np.cumsum(state_probability_table(
            findings, {**self.fixed, **pinned_at}, self.life), axis=1)
        # a stream of its own: the caller's seed may well have drawn the findings themselves
        rng = np.random.default_rng([seed, _BOOTSTRAP_STREAM])
        statistics = np.zeros((replicates, len(names)))
        # one replicate after another (each a few optimisations over every finding at once)
        for b in range(replicates):
            u = rng.random(findings.n) * cumulative[:, -1]
            drawn = replace(findings, state=(u[:, None] > cumulative[:, :-1]).sum(axis=1))
            # started at the truth of the draw, and with each probability at 1
            x, nll, _ = self._best_of(drawn, names, self._starts(names, best, best)[:1] + [
                s for s in self._starts(names, best)[len(_SHIFTS):]], bounds, {})
            constrained = np.empty(len(names))
            for j, name in enumerate(names):
                others, near = names[:j] + names[j + 1:], [np.delete(x, j), np.delete(best, j)]
                pinned, limits = {name: pinned_at[name]}, bounds[:j] + bounds[j + 1:]
                constrained[j] = self._best_of(drawn, others, near, limits, pinned)[1]
                if 2 * (constrained[j] - nll) > _SUSPECT:
                    # a statistic this large is more often an optimiser stuck than a draw
                    # that far out: searched again from every start
                    constrained[j] = min(constrained[j], self._best_of(
                        drawn, others, self._starts(others, near[1], *near), limits,
                        pinned)[1])
            # a constrained optimum below the free one: the free search fell short
            statistics[b] = 2 * (constrained - min(nll, float(constrained.min())))
        return np.maximum(statistics.mean(axis=0), 1.0)

    def _interval(self, findings: Findings, names: tuple[str, ...], j: int, best: np.ndarray,
                  bounds: list[tuple[float, float]], floor: float, threshold: float,
                  look_for_better: bool = True
                  ) -> tuple[float, float, float, np.ndarray | None]:
        """Where the profile of parameter ``j`` crosses the threshold on each side: swept
        from the estimate to the edge, each point's other parameters optimised from the
        last point's optimum, from the overall estimate and with each probability at 1, so
        that a parameter sitting at a boundary does not hold the others back. Also a point
        better than the estimate, if the sweep finds one."""
        others = names[:j] + names[j + 1:]
        other_bounds = bounds[:j] + bounds[j + 1:]
        at_best = np.delete(best, j)  # ``floor``: the overall minimum

        def profile(x: float, warm: np.ndarray, restarts: bool = True
                    ) -> tuple[float, np.ndarray]:
            pinned = {names[j]: from_fitting_scale(names[j], x)}
            starts = self._starts(others, at_best, warm)[:2] + self._starts(
                others, at_best)[len(_SHIFTS):] if restarts else [warm]
            solution, value, _ = self._best_of(findings, others, starts, other_bounds, pinned)
            return value, solution

        ends: list[float] = []
        flat = np.nan  # an edge where the profile is as high as at the estimate
        for edge in bounds[j]:
            warm, previous, end = at_best, float(best[j]), float(edge)
            for x in np.linspace(best[j], edge, _SWEEP + 1)[1:]:
                value, solution = profile(float(x), warm)
                if look_for_better and value < floor - 1e-3:  # better beyond rounding
                    point = np.insert(solution, j, x)
                    return np.nan, np.nan, np.nan, point
                if value > threshold:
                    # between two restarted points the optimum moves little: the
                    # crossing is refined from the bracket's inner optimum alone
                    end = float(brentq(
                        lambda y, w=warm: profile(y, w, restarts=False)[0] - threshold,
                        previous, float(x), xtol=1e-4))
                    break
                warm, previous = solution, float(x)
            else:
                if value <= floor + 1e-3:
                    flat = float(edge)
            ends.append(end)
        return min(ends), max(ends), flat, None


def _edge_statistic(level: float) -> float:
    """The likelihood-ratio threshold whose interval, for a probability estimated at an
    edge, ends where Clopper and Pearson's does with no events observed: -2 ln((1 - level)/2),
    5.99 at 90 % against Wilks' 2.71 (module notes)."""
    return float(-2.0 * np.log((1.0 - level) / 2.0))


_STEP_NOTE = N_("not determined by the findings: they fit a step (every item ending at one "
                "age) as well as any spread of lives, so neither the life's shape nor its "
                "scale has a trustworthy interval; read the posterior")


def _step_life(result: FitResult) -> FitResult:
    """A shape whose profile runs to a search limit is the findings fitting a step.

    Its likelihood is then not regular, and the profile's bounds were measured to mislead:
    with 100 findings the shape ran to a limit in 85 of 200 simulated data sets, and its
    one-sided bound ("at least ...") covered the truth in 33 % of them, the scale's interval
    in 59 % (``benchmarks/coverage_study.py``). Both are reported as not determined, with
    no bound, and the posterior speaks for them."""
    shape = result.estimates.get("life_beta")
    if shape is None or shape.determined:
        return result
    for name in ("life_beta", "life_eta_h"):
        if name in result.estimates:
            result.estimates[name] = Estimate(np.nan, np.nan, np.nan, False, _STEP_NOTE)
    return result


def _estimate(name: str, best: float, low: float, high: float,
              bounds: tuple[float, float]) -> Estimate:
    """The estimate on the parameter's own scale, and whether the findings determine it: a
    probability is undetermined when its interval spans both edges; any other parameter
    when its interval reaches a search limit (it is then reported as a bound, if any)."""
    at_low, at_high = low <= bounds[0] + 1e-6, high >= bounds[1] - 1e-6
    value = [from_fitting_scale(name, x) for x in (best, low, high)]
    if name in _PROBABILITY:  # the search's edges stand for the parameter space's: 0 and 1
        value = [0.0 if x <= bounds[0] + 1e-6 else 1.0 if x >= bounds[1] - 1e-6 else v
                 for x, v in zip((best, low, high), value, strict=True)]
    determined = not (at_low and at_high) if name in _PROBABILITY else not (at_low or at_high)
    if determined:
        return Estimate(value[0], value[1], value[2])
    if at_low and at_high:
        note = N_("not determined by the findings")
    elif at_high:
        note = f"not determined by the findings: at least {value[1]:.3g}"
    else:
        note = f"not determined by the findings: at most {value[2]:.3g}"
    return Estimate(np.nan, np.nan if at_low else value[1], np.nan if at_high else value[2],
                    False, note)
