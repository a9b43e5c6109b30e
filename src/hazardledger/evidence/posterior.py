r"""Posterior samples of a type's parameters: the catalog scenario as prior, the
findings as likelihood.

Prior draws are reweighted by their likelihood and resampled (sampling importance
resampling). When the findings are so informative that few prior draws carry the
weight (effective sample size below ``min_ess``), the posterior is taken as the normal
approximation around the maximum-likelihood estimate on the fitting scales (logit for
probabilities, log for the life), whose curvature is measured numerically — by the
Bernstein–von Mises theorem the two agree as findings accumulate.
The hazard engine uses these samples with ``hazardledger hazard --posterior``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..catalog.loader import Catalog
from ..hazard.parameters import type_stream
from ..hazard.survival import state_probabilities
from .fit import FREE, ReliabilityFitter, from_fitting_scale, to_fitting_scale
from .likelihood import PROBABILITY_FLOOR, Findings

CHUNK = 256


def _log_likelihoods(findings: Findings, draws: Mapping[str, np.ndarray], life: str
                     ) -> np.ndarray:
    """Log-likelihood of every parameter draw, a chunk of draws at a time: (draws,)."""
    ages, weights = findings.ages()  # (n, nodes)
    known = ~np.isnan(findings.sd_setting_h)[None, :, None]
    state = findings.state[None, :, None]
    total = len(next(iter(draws.values())))
    out = np.empty(total)
    for start in range(0, total, CHUNK):
        p = {k: np.asarray(v[start:start + CHUNK])[:, None, None] for k, v in draws.items()}
        p["sd_setting_h"] = np.where(known, findings.sd_setting_h[None, :, None],
                                     p["sd_setting_h"])
        functional, destroyed, inert = state_probabilities(ages[None], p, life=life)
        chosen = np.where(state == 0, functional, np.where(state == 1, destroyed, inert))
        per_finding = np.maximum(chosen @ weights, PROBABILITY_FLOOR)
        out[start:start + CHUNK] = np.log(per_finding).sum(axis=1)
    return out


def posterior_samples(catalog: Catalog, code: str, scenario: str, findings: Findings,
                      n_samples: int, seed: int, prior_draws: int = 4000,
                      min_ess: float = 200.0) -> tuple[dict[str, np.ndarray], str]:
    """``n_samples`` posterior draws of every parameter, and how they were made."""
    item = catalog.get(code)
    rng = type_stream(seed, code, "posterior")
    draws = catalog.sample(code, scenario, prior_draws, rng)
    free = FREE[item.persistence]
    if not free or findings.n == 0:
        return {k: v[:n_samples] for k, v in catalog.sample(code, scenario, n_samples,
                                                            rng).items()}, "prior"
    loglik = _log_likelihoods(findings, draws, item.life_distribution)
    weights = np.exp(loglik - loglik.max())
    ess = weights.sum() ** 2 / (weights**2).sum()
    if ess >= min_ess:
        pick = rng.choice(prior_draws, n_samples, p=weights / weights.sum())
        return {k: v[pick] for k, v in draws.items()}, f"importance resampling (ESS {ess:.0f})"
    means = {k: float(np.mean(v)) for k, v in draws.items()}
    fitter = ReliabilityFitter(item.persistence, means, item.life_distribution)
    best = fitter.fit(findings, intervals=False).estimates
    centre = np.array([to_fitting_scale(n, best[n].mle) for n in free])
    covariance = _inverse_hessian(
        lambda x: fitter.negative_log_likelihood(x, findings, free, {}), centre)
    z = rng.multivariate_normal(centre, covariance, n_samples)
    out = {k: np.full(n_samples, v) for k, v in means.items()}
    for j, name in enumerate(free):
        out[name] = np.array([from_fitting_scale(name, x) for x in z[:, j]])
    for name in set(draws) - set(free):  # what the findings do not inform keeps its prior
        out[name] = draws[name][rng.choice(prior_draws, n_samples)]
    return out, f"normal approximation at the maximum likelihood (ESS {ess:.0f} too small)"


def _inverse_hessian(f: Callable[[np.ndarray], float], x: np.ndarray,
                     step: float = 1e-3) -> np.ndarray:
    """Inverse of the numerical Hessian of ``f`` at ``x`` (central differences)."""
    k = x.size
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step
            h[i, j] = h[j, i] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j)
                                 + f(x - e_i - e_j)) / (4 * step * step)
    values, vectors = np.linalg.eigh(h)
    values = np.maximum(values, 1e-6)  # a flat direction gets a wide but finite spread
    return (vectors / values) @ vectors.T
