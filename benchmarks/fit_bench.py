"""Fitting benchmark: 100,000 findings of one battery-only type with known laying dates.

    python benchmarks/fit_bench.py [--n 100000]

The battery is certain to deactivate (rho_sda = 1), so the model is a plain Weibull
with current-status data, which lifelines (`WeibullFitter.fit_interval_censoring`) and
SciPy (`stats.CensoredData` with `weibull_min.fit`) also fit. Each runs in its own
process for its own peak memory; the point estimates are compared.
Target: ours at least 10x faster than lifelines with equal estimates.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import numpy as np
from synthetic import run_children

TRUE_BETA, TRUE_ETA = 3.0, 60.0


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    age = rng.uniform(1, 240, n)
    life = TRUE_ETA * rng.weibull(TRUE_BETA, n)
    return age, life <= age  # (age at finding, inert)


def child(kind: str, n: int) -> dict[str, float]:
    age, inert = data(n)
    start = time.perf_counter()
    if kind == "ours":
        from hazardledger.domain.vocab import PersistenceClass
        from hazardledger.evidence.fit import ReliabilityFitter
        from hazardledger.evidence.likelihood import Findings

        start = time.perf_counter()
        findings = Findings.from_arrays(np.zeros(n), np.zeros(n), age,
                                        np.where(inert, "inert", "functional"))
        fixed = {"rho_sd": 0.0, "sd_setting_h": 0.0, "sd_spread": 0.0, "rho_sda": 1.0,
                 "life_beta": 2.0, "life_eta_h": 100.0, "temp_coef_per_c": 0.0}
        fitter = ReliabilityFitter(PersistenceClass.SELF_DEACTIVATING, fixed)
        fitter.free = ("life_beta", "life_eta_h")
        est = fitter.fit(findings, intervals=False).estimates
        beta, eta = est["life_beta"].mle, est["life_eta_h"].mle
    elif kind == "lifelines":
        from lifelines import WeibullFitter

        start = time.perf_counter()
        model = WeibullFitter().fit_interval_censoring(np.where(inert, 0.0, age),
                                                       np.where(inert, age, np.inf))
        beta, eta = model.rho_, model.lambda_
    else:
        from scipy import stats

        start = time.perf_counter()
        censored = stats.CensoredData(left=age[inert], right=age[~inert])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            beta, _, eta = stats.weibull_min.fit(censored, floc=0)
    return {"seconds": time.perf_counter() - start, "beta": float(beta), "eta": float(eta),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return
    runs = run_children(__file__, ("ours", "lifelines", "scipy"), "--n", str(args.n))
    ours = runs["ours"]
    print(f"fit benchmark: {args.n:,} current-status findings, truth beta {TRUE_BETA}, "
          f"eta {TRUE_ETA} h")
    for kind, r in runs.items():
        print(f"  {kind:10s} {r['seconds']:7.2f} s  peak {r['peak_mb']:6.0f} MB  beta "
              f"{r['beta']:.4f}  eta {r['eta']:.3f}")
    for kind in ("lifelines", "scipy"):
        r = runs[kind]
        print(f"  ours vs {kind}: {r['seconds'] / ours['seconds']:.1f}x faster; beta differs "
              f"{abs(ours['beta'] / r['beta'] - 1):.2%}, eta {abs(ours['eta'] / r['eta'] - 1):.2%}"
              " (target: >= 10x faster than lifelines, equal estimates)")


if __name__ == "__main__":
    main()
