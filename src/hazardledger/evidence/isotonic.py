r"""The nonparametric check: the current-status NPMLE of the share still functioning.

Each finding is one look at one item at a known age: still functional or not. The
nonparametric maximum-likelihood estimate of :math:`S(a)` at the observed ages is the
non-increasing isotonic regression of the functional indicator on age, computed by the
pool-adjacent-violators algorithm (Jewell & Kalbfleisch, Biostatistics 2004); here SciPy's
compiled implementation, with ties at one age pooled first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression


def current_status_npmle(age_h: np.ndarray, functional: np.ndarray) -> pd.DataFrame:
    """Per distinct age: the number of findings, the observed share functional and the
    isotonic (non-increasing in age) estimate of S."""
    frame = pd.DataFrame({"age_h": np.asarray(age_h, dtype=float),
                          "functional": np.asarray(functional, dtype=float)})
    grouped = frame.groupby("age_h", sort=True)["functional"].agg(["size", "mean"])
    fit = isotonic_regression(grouped["mean"].to_numpy(), weights=grouped["size"].to_numpy(
        dtype=float), increasing=False)
    return pd.DataFrame({"age_h": grouped.index.to_numpy(), "findings": grouped["size"].to_numpy(),
                         "observed": grouped["mean"].to_numpy(), "npmle": fit.x})
