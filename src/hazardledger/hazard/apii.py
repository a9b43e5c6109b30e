"""Amended Protocol II, Technical Annex 3(a), checked for every item type and scenario.

The annex sets two ceilings for remotely delivered anti-personnel mines: no more than
10 % may fail to self-destruct within 30 days after emplacement, and, with the back-up
self-deactivation, no more than 1 in 1,000 may still function 120 days after
emplacement. The check evaluates, over the scenario's parameter samples at the
reference temperature, the self-destruct part ``1 − ρ_sd·G(30 d)`` and the full
``S(120 d)``, and says a type meets the annex when the upper end of each 90 %
interval is within its ceiling. A type without self-destruct cannot meet 3(a).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalog.loader import Catalog
from ..domain.item_types import SCENARIOS
from .parameters import sample_parameters
from .survival import survival

SD_CEILING, SD_AGE_H = 0.10, 30 * 24.0
OVERALL_CEILING, OVERALL_AGE_H = 0.001, 120 * 24.0
_TOLERANCE = 1e-12  # the treaty-minimum type sits exactly on the ceilings


def apii_check(catalog: Catalog, n_samples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """One row per type and scenario: the two figures with 90 % intervals and a verdict."""
    rows = []
    codes = catalog.codes()
    for scenario in SCENARIOS:
        samples = sample_parameters(catalog, codes, scenario, n_samples, seed)
        for code in codes:
            p = samples.of(code)
            sd_only = dict(p, rho_sda=np.zeros(n_samples))
            sd30 = survival(np.full(n_samples, SD_AGE_H), sd_only)
            s120 = survival(np.full(n_samples, OVERALL_AGE_H), p)
            figures: dict[str, float] = {}
            for name, values in (("sd_fail_30d", sd30), ("functioning_120d", s120)):
                figures[f"{name}_mean"] = float(values.mean())
                figures[f"{name}_q05"], figures[f"{name}_q95"] = (
                    float(q) for q in np.quantile(values, [0.05, 0.95]))
            meets, verdict = _verdict(catalog.get(code).has_self_destruct, figures)
            rows.append({"code": code, "scenario": scenario, **figures, "meets_ta_3a": meets,
                         "verdict": verdict})
    return pd.DataFrame(rows)


def _verdict(has_self_destruct: bool, figures: dict[str, float]) -> tuple[bool, str]:
    sd_upper, overall_upper = figures["sd_fail_30d_q95"], figures["functioning_120d_q95"]
    sd_ok = sd_upper <= SD_CEILING + _TOLERANCE
    overall_ok = overall_upper <= OVERALL_CEILING + _TOLERANCE
    reasons = []
    if not has_self_destruct:
        reasons.append("no self-destruct")
    elif not sd_ok:
        reasons.append(f"up to {sd_upper:.1%} fail to self-destruct in 30 days (ceiling 10 %)")
    if not overall_ok:
        reasons.append(f"up to {overall_upper:.4g} still function at 120 days (ceiling 0.001)")
    meets = has_self_destruct and sd_ok and overall_ok
    return meets, "meets" if meets else "fails: " + "; ".join(reasons)
