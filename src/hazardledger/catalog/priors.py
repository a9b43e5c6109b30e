"""Prior distributions: vectorised sampling, means and quantiles, and their checks."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..domain.item_types import DISTRIBUTIONS, PROBABILITIES, REAL_VALUED, Prior


def sample(prior: Prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws."""
    a = dict(prior.args)
    if prior.dist == "fixed":
        return np.full(n, float(a["value"]))  # type: ignore[arg-type]
    if prior.dist == "beta":
        return rng.beta(a["a"], a["b"], n)
    if prior.dist == "lognormal":
        return rng.lognormal(np.log(a["median"]), a["sigma"], n)
    if prior.dist == "normal":
        return rng.normal(a["mean"], a["sd"], n)
    if prior.dist == "uniform":
        return rng.uniform(a["low"], a["high"], n)
    values = np.asarray(a["values"], dtype=float)
    weights = np.asarray(a["weights"], dtype=float)
    return rng.choice(values, size=n, p=weights / weights.sum())


def _frozen(prior: Prior):
    a = dict(prior.args)
    return {
        "beta": lambda: stats.beta(a["a"], a["b"]),
        "lognormal": lambda: stats.lognorm(s=a["sigma"], scale=a["median"]),
        "normal": lambda: stats.norm(a["mean"], a["sd"]),
        "uniform": lambda: stats.uniform(a["low"], float(a["high"]) - float(a["low"])),  # type: ignore[arg-type]
    }[prior.dist]()


def mean(prior: Prior) -> float:
    """The prior mean."""
    if prior.dist == "fixed":
        return float(prior.arg("value"))  # type: ignore[arg-type]
    if prior.dist == "choice":
        values = np.asarray(prior.arg("values"), dtype=float)
        weights = np.asarray(prior.arg("weights"), dtype=float)
        return float(values @ (weights / weights.sum()))
    return float(_frozen(prior).mean())


def quantile(prior: Prior, q: float | np.ndarray) -> np.ndarray:
    """The prior's quantile(s) ``q``."""
    q = np.asarray(q, dtype=float)
    if prior.dist == "fixed":
        return np.full(q.shape, float(prior.arg("value")))  # type: ignore[arg-type]
    if prior.dist == "choice":
        values = np.asarray(prior.arg("values"), dtype=float)
        weights = np.asarray(prior.arg("weights"), dtype=float)
        order = np.argsort(values)
        cdf = np.cumsum(weights[order]) / weights.sum()
        return values[order][np.minimum(np.searchsorted(cdf, q - 1e-12), len(values) - 1)]
    return np.asarray(_frozen(prior).ppf(q))


def support(prior: Prior) -> tuple[float, float]:
    """The smallest and largest value the prior can take."""
    a = dict(prior.args)
    if prior.dist == "fixed":
        v = float(a["value"])  # type: ignore[arg-type]
        return v, v
    if prior.dist == "beta":
        return 0.0, 1.0
    if prior.dist == "lognormal":
        return 0.0, np.inf
    if prior.dist == "normal":
        return -np.inf, np.inf
    if prior.dist == "uniform":
        return float(a["low"]), float(a["high"])  # type: ignore[arg-type]
    values = [float(v) for v in a["values"]]  # type: ignore[union-attr]
    return min(values), max(values)


def problems(parameter: str, prior: Prior) -> list[str]:
    """What is wrong with a prior for a parameter (empty if nothing)."""
    if prior.dist not in DISTRIBUTIONS:
        return [f"unknown distribution '{prior.dist}' (known: {', '.join(DISTRIBUTIONS)})"]
    a = dict(prior.args)
    out = []
    positive = {"beta": ("a", "b"), "lognormal": ("median", "sigma"), "normal": ("sd",)}
    for name in positive.get(prior.dist, ()):
        if not float(a[name]) > 0:  # type: ignore[arg-type]
            out.append(f"{prior.dist} {name} must be positive, got {a[name]}")
    if prior.dist == "uniform" and not float(a["low"]) < float(a["high"]):  # type: ignore[arg-type]
        out.append(f"uniform low must be below high, got {a['low']} and {a['high']}")
    if prior.dist == "choice":
        values = np.atleast_1d(np.asarray(a["values"], dtype=float))
        weights = np.atleast_1d(np.asarray(a["weights"], dtype=float))
        if not values.size or values.size != weights.size:
            out.append("choice needs as many weights as values")
        elif weights.min() < 0 or weights.sum() <= 0:
            out.append("choice weights must be non-negative and not all zero")
    if out:
        return out
    low, high = support(prior)
    if parameter in PROBABILITIES and (low < 0 or high > 1):
        out.append(f"is a probability but the prior reaches [{low:g}, {high:g}]")
    elif parameter not in REAL_VALUED and low < 0:
        out.append(f"cannot be negative but the prior reaches {low:g}")
    return out


CONTINUOUS = ("beta", "lognormal", "normal", "uniform")


def log_density(prior: Prior, x: np.ndarray) -> np.ndarray:
    """The prior's log density at ``x`` (``-inf`` outside its support); continuous
    distributions only."""
    if prior.dist not in CONTINUOUS:
        raise ValueError(f"a {prior.dist} prior has no density")
    with np.errstate(divide="ignore"):
        return np.asarray(_frozen(prior).logpdf(np.asarray(x, dtype=float)))
