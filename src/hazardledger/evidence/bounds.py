r"""Binomial bounds for failure shares, above all when nothing has failed yet.

With :math:`k` failures in :math:`n` trials the Clopper–Pearson interval at level
:math:`1-\alpha` is :math:`[B(\alpha/2; k, n-k+1),\ B(1-\alpha/2; k+1, n-k)]` with
:math:`B` the beta quantile; the Jeffreys interval uses the Beta(k + ½, n − k + ½)
posterior. A one-sided upper bound at level :math:`1-\alpha` is the upper end of the
two-sided interval at :math:`1-2\alpha`; at zero failures Clopper–Pearson gives
:math:`1 - \alpha^{1/n}` (so 2,995 clean trials are needed to show 1 in 1,000 at 95 %, and
29 to show 10 %). Vectorised over arrays of counts.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta


def clopper_pearson(failures: np.ndarray | int, trials: np.ndarray | int,
                    level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided interval for the failure share."""
    k = np.asarray(failures, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return low, high


def jeffreys(failures: np.ndarray | int, trials: np.ndarray | int,
             level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval (equal-tailed Beta(k + ½, n − k + ½)); with no failures the lower
    end is 0, with only failures the upper end is 1 (Brown, Cai & DasGupta 2001)."""
    k = np.asarray(failures, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - level
    low = np.where(k > 0, beta.ppf(alpha / 2, k + 0.5, n - k + 0.5), 0.0)
    high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5), 1.0)
    return low, high


def upper_bound(failures: np.ndarray | int, trials: np.ndarray | int, level: float = 0.95,
                method: str = "clopper-pearson") -> np.ndarray:
    """One-sided upper bound on the failure share at ``level``."""
    two_sided = 2 * level - 1
    if method == "clopper-pearson":
        return clopper_pearson(failures, trials, two_sided)[1]
    if method == "jeffreys":
        return jeffreys(failures, trials, two_sided)[1]
    raise ValueError(f"unknown method '{method}' (methods: clopper-pearson, jeffreys)")


def trials_needed(share: float, level: float = 0.95) -> int:
    """Failure-free trials needed before the one-sided bound reaches ``share``."""
    return int(np.ceil(np.log(1 - level) / np.log(1 - share)))
