r"""Posterior samples of a type's parameters: the catalog scenario as prior, the
findings as likelihood.

The free parameters (those the findings speak to, :data:`~.fit.FREE`) are drawn on
their fitting scales :math:`z` (logit for probabilities, log for the life) by importance
sampling. The target is

.. math::  \pi(z, \phi) \propto p_z(z)\, p(\phi)\, L(z, \phi),

with :math:`p_z` the prior carried to the fitting scale (its Jacobian included) and
:math:`\phi` the parameters the findings hardly speak to, drawn from their prior. The
proposal for :math:`z` is a defensive mixture (Hesterberg 1995): 70 % a multivariate
Student t with 4 degrees of freedom around the posterior mode, shaped by the inverse
Hessian there, and 30 % the prior itself, so that no region the posterior can reach is
left without draws. A second round moves the t to the first round's weighted mean and
covariance. The weighted draws are resampled.

A normal approximation would fail exactly where it matters: with a reliability whose
estimate sits at 1 the log posterior is nearly flat on the logit scale and the normal
spreads its draws over all of (0, 1). The importance weights correct any proposal,
and the t's heavy tails keep their variance finite. How well they did is the effective
sample size, reported with the draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import stats
from scipy.optimize import minimize
from scipy.special import betaln, expit, log_expit, logsumexp

from ..catalog import priors as prior_math
from ..catalog.loader import Catalog
from ..domain.item_types import Prior
from ..hazard.parameters import type_stream
from ..hazard.survival import state_probabilities
from .fit import _PROBABILITY, _REAL, FREE
from .likelihood import PROBABILITY_FLOOR, Findings

CHUNK = 256
PROPOSALS = 8000  # draws per round; the ESS of the final round is reported
DEFENSIVE = 0.3  # the prior's share of the proposal
DEGREES_OF_FREEDOM = 4
EDGES = {name: (0.0, 1.0) for name in _PROBABILITY}  # where a credible interval may end


def _log_likelihoods(findings: Findings, draws: Mapping[str, np.ndarray], life: str
                     ) -> np.ndarray:
    """Log-likelihood of every parameter draw, a chunk of draws at a time: (draws,)."""
    known = ~np.isnan(findings.sd_setting_h)[None, :, None]
    state = findings.state[None, :, None]
    total = len(next(iter(draws.values())))
    out = np.empty(total)
    for start in range(0, total, CHUNK):
        p = {k: np.asarray(v[start:start + CHUNK])[:, None, None] for k, v in draws.items()}
        p["sd_setting_h"] = np.where(known, findings.sd_setting_h[None, :, None],
                                     p["sd_setting_h"])
        # each window cut where the age passes this draw's setting for that finding
        ages, weights = findings.ages(np.broadcast_to(
            p["sd_setting_h"], (min(CHUNK, total - start), findings.n, 1))[..., 0])
        if ages.ndim == 2:  # every laying date exact: the same ages for every draw
            ages, weights = ages[None], weights[None]
        functional, destroyed, inert = state_probabilities(ages, p, life=life)
        chosen = np.where(state == 0, functional, np.where(state == 1, destroyed, inert))
        per_finding = np.maximum((chosen * weights).sum(-1), PROBABILITY_FLOOR)
        out[start:start + CHUNK] = np.log(per_finding).sum(axis=1)
    return out


def _to_parameter(name: str, z: np.ndarray) -> np.ndarray:
    if name in _PROBABILITY:
        return expit(z)
    return z if name in _REAL else np.exp(z)


def _to_fitting(name: str, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if name in _PROBABILITY:
        clipped = np.clip(value, 1e-300, 1.0)
        with np.errstate(divide="ignore"):
            return np.log(clipped) - np.log1p(-np.minimum(clipped, 1 - 1e-16))
    return value if name in _REAL else np.log(np.maximum(value, 1e-300))


def _log_prior_z(name: str, prior: Prior, z: np.ndarray) -> np.ndarray:
    """The prior's log density on the fitting scale: the density of the parameter plus
    the log of the transform's Jacobian, computed from ``z`` so that it stays finite for a
    probability a hair from 1."""
    if name in _PROBABILITY:
        log_p, log_q = log_expit(z), log_expit(-z)  # log θ, log(1 − θ)
        if prior.dist == "beta":
            a, b = float(prior.arg("a")), float(prior.arg("b"))  # type: ignore[arg-type]
            return a * log_p + b * log_q - betaln(a, b)
        return prior_math.log_density(prior, expit(z)) + log_p + log_q
    if name in _REAL:
        return prior_math.log_density(prior, z)
    return prior_math.log_density(prior, np.exp(z)) + z


def _mode(objective: Callable[[np.ndarray], float], starts: list[np.ndarray]) -> np.ndarray:
    """The posterior mode from several starts (one with each probability near 1)."""
    tries = [minimize(objective, x, method="L-BFGS-B",
                      bounds=[(-30.0, 30.0)] * x.size) for x in starts]
    return min(tries, key=lambda r: r.fun).x


def _inverse_hessian(f: Callable[[np.ndarray], float], x: np.ndarray,
                     step: float = 1e-2) -> np.ndarray:
    """Inverse of the numerical Hessian of ``f`` at ``x`` (central differences), with
    flat directions given a wide but finite spread."""
    k = x.size
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step
            h[i, j] = h[j, i] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j)
                                 + f(x - e_i - e_j)) / (4 * step * step)
    values, vectors = np.linalg.eigh(h)
    values = np.maximum(values, 0.25)  # a standard deviation of at most 2 on the z scale
    return (vectors / values) @ vectors.T


class _Target:
    """The log posterior of the free parameters on their fitting scale."""

    def __init__(self, findings: Findings, priors: Mapping[str, Prior],
                 free: tuple[str, ...], life: str):
        self.findings, self.priors, self.free, self.life = findings, priors, free, life

    def log_prior(self, z: np.ndarray) -> np.ndarray:
        return np.sum([_log_prior_z(n, self.priors[n], z[:, j])
                       for j, n in enumerate(self.free)], axis=0)

    def log_posterior(self, z: np.ndarray, others: Mapping[str, np.ndarray]) -> np.ndarray:
        """At each row of ``z`` with the other parameters ``others`` (arrays of len(z))."""
        prior = self.log_prior(z)
        out = np.full(len(z), -np.inf)
        ok = np.isfinite(prior)
        if ok.any():
            draws = {**{k: v[ok] for k, v in others.items()},
                     **{n: _to_parameter(n, z[ok, j]) for j, n in enumerate(self.free)}}
            out[ok] = prior[ok] + _log_likelihoods(self.findings, draws, self.life)
        return out


def _proposal_log_density(target: _Target, z: np.ndarray, centre: np.ndarray,
                          shape: np.ndarray) -> np.ndarray:
    t = stats.multivariate_t(centre, shape, df=DEGREES_OF_FREEDOM, allow_singular=True)
    return np.logaddexp(np.log1p(-DEFENSIVE) + np.atleast_1d(t.logpdf(z)),
                        np.log(DEFENSIVE) + target.log_prior(z))


def _round(target: _Target, centre: np.ndarray, shape: np.ndarray, prior_z: np.ndarray,
           others: Mapping[str, np.ndarray], rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """One round of importance sampling: the draws and their normalised log weights."""
    n = len(prior_z)
    from_t = stats.multivariate_t(centre, shape, df=DEGREES_OF_FREEDOM,
                                  allow_singular=True).rvs(size=n, random_state=rng)
    from_t = np.asarray(from_t, dtype=float).reshape(n, -1)
    z = np.where((rng.random(n) < DEFENSIVE)[:, None], prior_z, from_t)
    log_w = target.log_posterior(z, others) - _proposal_log_density(target, z, centre, shape)
    return z, log_w - logsumexp(log_w)


def posterior_samples(catalog: Catalog, code: str, scenario: str, findings: Findings,
                      n_samples: int, seed: int, proposals: int = PROPOSALS
                      ) -> tuple[dict[str, np.ndarray], str]:
    """``n_samples`` posterior draws of every parameter, and how they were made."""
    item = catalog.get(code)
    priors = catalog.priors(code, scenario)
    rng = type_stream(seed, code, "posterior")
    free = tuple(n for n in FREE[item.persistence] if priors[n].dist in prior_math.CONTINUOUS)
    if not free or findings.n == 0:
        return catalog.sample(code, scenario, n_samples, rng), "prior"
    target = _Target(findings, priors, free, item.life_distribution)
    draws = catalog.sample(code, scenario, proposals, rng)
    means = {k: np.full(1, prior_math.mean(p)) for k, p in priors.items() if k not in free}
    prior_z = np.column_stack([_to_fitting(n, draws[n]) for n in free])
    prior_z = np.clip(prior_z, -40.0, 40.0)  # a beta draw of exactly 1.0 in floating point

    def negative(z: np.ndarray) -> float:
        return -float(target.log_posterior(z[None, :], means)[0])

    centre = np.median(prior_z, axis=0)
    starts = [centre] + [np.where(np.arange(len(free)) == j, 12.0, centre)
                         for j, n in enumerate(free) if n in _PROBABILITY]
    mode = _mode(negative, starts)
    shape = _inverse_hessian(negative, mode)
    others = {k: v for k, v in draws.items() if k not in free}
    z, log_w = _round(target, mode, shape, prior_z, others, rng)
    weights = np.exp(log_w)
    ess = 1.0 / np.sum(weights**2)
    if ess >= 50:  # a second round, the t moved to where the first round's weight lies
        mean = weights @ z
        spread = ((z - mean) * weights[:, None]).T @ (z - mean)
        spread = np.atleast_2d(spread) + 1e-6 * np.eye(len(free))
        redrawn = catalog.sample(code, scenario, proposals, rng)
        prior_z = np.clip(np.column_stack([_to_fitting(n, redrawn[n]) for n in free]),
                          -40.0, 40.0)
        others = {k: v for k, v in redrawn.items() if k not in free}
        z, log_w = _round(target, mean, spread, prior_z, others, rng)
        weights = np.exp(log_w)
        ess = 1.0 / np.sum(weights**2)
    pick = rng.choice(len(weights), n_samples, p=weights / weights.sum())
    out = {k: v[pick] for k, v in others.items()}
    out.update({n: _to_parameter(n, z[pick, j]) for j, n in enumerate(free)})
    how = f"importance sampling (effective sample size {ess:.0f} of {proposals})"
    if ess < n_samples / 4:
        how += "; few effective draws: intervals less certain than they look"
    return out, how


def credible_interval(name: str, values: np.ndarray, level: float = 0.90
                      ) -> tuple[float, float]:
    """The equal-tailed interval holding ``level`` of the posterior draws; for a
    probability whose posterior is piled against an edge of [0, 1] the one-sided interval
    from that edge instead (its highest density is there, beyond the last draw).

    Piled against the edge: of the draws between the median and the edge, the half nearer
    the edge holds at least as many as the half nearer the median (a density that does not
    fall towards the edge)."""
    x = np.asarray(values, dtype=float)
    if np.ptp(x) == 0:  # a fixed value: no interval around it
        return float(x[0]), float(x[0])
    if name in EDGES:
        low_edge, high_edge = EDGES[name]
        median = float(np.median(x))
        for edge in (high_edge, low_edge):
            half = (edge - median) / 2
            if half == 0:
                continue
            near_edge = np.count_nonzero((x - (median + half)) * np.sign(half) > 0)
            near_median = np.count_nonzero(((x - median) * np.sign(half) > 0)
                                           & ((x - (median + half)) * np.sign(half) <= 0))
            if near_edge >= near_median:
                if edge == high_edge:
                    return float(np.quantile(x, 1 - level)), high_edge
                return low_edge, float(np.quantile(x, level))
    tail = (1 - level) / 2
    low, high = np.quantile(x, [tail, 1 - tail])
    return float(low), float(high)
