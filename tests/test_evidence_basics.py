"""Binomial bounds against statsmodels, and the isotonic estimate against a direct PAVA."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from hazardledger.evidence.bounds import (
    clopper_pearson,
    jeffreys,
    trials_needed,
    upper_bound,
)
from hazardledger.evidence.isotonic import current_status_npmle


@pytest.mark.parametrize(("k", "n"), [(0, 29), (0, 2995), (3, 40), (17, 17), (5, 1000)])
def test_intervals_match_statsmodels(k: int, n: int) -> None:
    low, high = clopper_pearson(k, n, 0.90)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.10, method="beta")
    assert (float(low), float(high)) == pytest.approx((ref_low, ref_high), abs=1e-12)
    low, high = jeffreys(k, n, 0.90)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.10, method="jeffreys")
    # statsmodels gives the plain Beta quantiles; at k = 0 (k = n) the end is 0 (1), as
    # Brown, Cai & DasGupta (2001) advise, so only the other end is compared there
    assert float(low) == (0.0 if k == 0 else pytest.approx(ref_low, abs=1e-12))
    assert float(high) == (1.0 if k == n else pytest.approx(ref_high, abs=1e-12))


def test_zero_failure_bounds() -> None:
    # REFERENCES: 2,995 clean trials show 1 in 1,000 at 95 %; 29 show 10 %
    assert float(upper_bound(0, 2995)) == pytest.approx(1 - 0.05 ** (1 / 2995))
    assert float(upper_bound(0, 2995)) <= 0.001 < float(upper_bound(0, 2994))
    assert float(upper_bound(0, 29)) <= 0.10 < float(upper_bound(0, 28))
    assert trials_needed(0.001) == 2995 and trials_needed(0.10) == 29
    assert float(upper_bound(0, 100, method="jeffreys")) < float(upper_bound(0, 100))
    vector = upper_bound(np.array([0, 1, 2]), np.array([10, 10, 10]))
    assert np.all(np.diff(vector) > 0)
    with pytest.raises(ValueError, match="unknown method"):
        upper_bound(0, 10, method="wald")


def _pava(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Textbook pool-adjacent-violators for a non-increasing fit (test oracle)."""
    blocks = [[float(v), float(x), 1] for v, x in zip(y, w, strict=True)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] < blocks[i + 1][0]:
            a, b = blocks[i], blocks[i + 1]
            weight = a[1] + b[1]
            blocks[i] = [(a[0] * a[1] + b[0] * b[1]) / weight, weight, a[2] + b[2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return np.concatenate([[v] * n for v, _, n in blocks])


def test_isotonic_estimate_is_non_increasing_and_matches_pava() -> None:
    rng = np.random.default_rng(3)
    age = rng.choice(np.arange(1, 200), 500)
    functional = rng.random(500) < np.exp(-age / 60)
    fit = current_status_npmle(age, functional)
    assert np.all(np.diff(fit["npmle"]) <= 1e-12)
    assert fit["findings"].sum() == 500
    np.testing.assert_allclose(fit["npmle"], _pava(fit["observed"].to_numpy(),
                                                  fit["findings"].to_numpy(dtype=float)))
    # the estimate follows the truth
    mid = fit[(fit["age_h"] > 50) & (fit["age_h"] < 70)]
    assert abs(mid["npmle"].mean() - np.exp(-1)) < 0.15
