"""Numbers as people read them: probabilities with significant figures, never negative.

A probability printed with two decimals hides what matters here: 0.004 reads "0.00" and
a rounding error reads "-0.00". Near 0 a probability keeps two significant figures; near 1
it keeps two significant figures of what is missing to 1 (0.9996, not "1.00"), and beyond
six nines it is shown as a bound.
"""

from __future__ import annotations

import math

import numpy as np


def probability(p: float) -> str:
    """A probability with two significant figures of its distance to the nearer edge."""
    if p is None or not np.isfinite(p):
        return "n/a"
    p = min(max(float(p), 0.0), 1.0)  # a rounding error never shows a negative probability
    if p == 0.0:
        return "0"
    if p == 1.0:
        return "1"
    if p < 0.5:
        return f"{p:.2g}" if p >= 1e-6 else "< 0.000001"
    missing = 1.0 - p
    if missing < 1e-6:
        return "> 0.999999"
    decimals = max(2, -math.floor(math.log10(missing)) + 1)
    text = f"{p:.{decimals}f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{p:.2f}"


def probability_span(mean: float, low: float, high: float) -> str:
    """``mean (low–high)`` for a probability."""
    return f"{probability(mean)} ({probability(low)}–{probability(high)})"
