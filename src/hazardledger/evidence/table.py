"""The fit table: per item type, the catalog's value beside the field estimate.

Findings are joined to their records for the laying window (and a recorded
self-destruct setting); findings without a record have no known age and are counted
but not used. Whether the findings determine a parameter is decided from its profile
likelihood (:class:`~.fit.Estimate`), not from a count: a parameter they cannot tell
is reported as "not determined by the findings" (with a bound where the profile gives
one), never as the optimiser's search limit. Beside the fit: the one-sided 95 % upper
bounds on the failure share among items whose mechanism has had its chance, and the
observed shares at the ages Amended Protocol II's Technical Annex 3(a) speaks of,
compared like with like (the share not self-destroyed at 30 days against its 10 %
ceiling, only for types with a self-destruct; the share still functioning at 120 days
against 0.1 %).

Beside the profile-likelihood estimate, each parameter's posterior: the scenario's prior
updated by the same findings (:mod:`.posterior`). With few findings on a power-source life
the findings often fit a step, and the life's shape and scale are then reported as not
determined (in 85 to 98 of 200 data sets of 100 findings of the coverage study's design).
Counting those as claiming no bound, the calibrated intervals of the life covered 87-98 %
of the truths, the posterior intervals 90 % of truths drawn from the prior
(``benchmarks/coverage_study.py``; the README's table).
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pandas as pd

from ..catalog import priors as prior_math
from ..catalog.loader import Catalog
from ..domain.vocab import PersistenceClass
from ..hazard.climate import month_hours, regional_table
from ..hazard.inputs import hours
from ..locale import N_
from .bounds import clopper_pearson, upper_bound
from .fit import FREE, ReliabilityFitter
from .likelihood import STATE_CODES, Findings
from .posterior import credible_interval, posterior_samples

MIN_FINDINGS = 1  # a fit is tried from one finding on; the profile says what it determines
# bootstrap data sets that calibrate a type's intervals (evidence.fit): with 40, 90 %
# intervals covered 85-92 % with 400 findings where Wilks' covered 78-91 %
# (benchmarks/coverage_study.py)
CALIBRATION = 40
POSTERIOR_DRAWS = 1000  # as the hazard's samples: a 5 % quantile rests on 50 draws


def findings_of(findings: pd.DataFrame, records: pd.DataFrame, code: str,
                climate: tuple[pd.DataFrame, pd.DataFrame, str] | None = None) -> Findings:
    """One type's findings with the laying windows of their records; with ``climate``
    (hazard areas, a monthly temperature table, its source) also the calendar months and
    temperatures each item went through."""
    mine = findings[findings["item_type"] == code]
    rec = records.set_index("id")
    known = mine["record_id"].isin(rec.index)
    mine = mine[known]
    laid_from = rec["laid_from"].reindex(mine["record_id"]).reset_index(drop=True)
    laid_to = rec["laid_to"].reindex(mine["record_id"]).reset_index(drop=True).fillna(laid_from)
    setting = rec["sd_setting_h"].reindex(mine["record_id"]).to_numpy(dtype=float)
    data = Findings.from_arrays(hours(laid_from), hours(laid_to),
                                hours(mine["found_at"].reset_index(drop=True)),
                                mine["state"].to_numpy(), setting)
    if climate is None or not data.n:
        return data
    areas, temperatures, source = climate
    states = mine["state"].isin(list(STATE_CODES)).to_numpy()
    area = rec["area_id"].reindex(mine["record_id"]).to_numpy()[states]
    region = pd.Series(area).map(areas.set_index("id")["region"]).fillna("").to_numpy()
    names = np.unique(region)
    table = regional_table(temperatures, names, source)
    middle = (data.laid_from_h + data.laid_to_h) / 2
    end = float(data.found_h.max())
    spent = month_hours(middle, end) - month_hours(data.found_h, end)
    return replace(data, month_hours=spent,
                   month_temperature_c=table[np.searchsorted(names, region)])


def _chance_failures(findings: Findings, persistence: PersistenceClass,
                     means: dict[str, float]) -> tuple[int, int]:
    """(functional, all) among findings old enough that the mechanism should have acted."""
    age = findings.found_h - findings.laid_to_h
    if persistence in (PersistenceClass.SELF_DESTRUCT, PersistenceClass.SD_AND_SDA):
        setting = np.where(np.isnan(findings.sd_setting_h), means["sd_setting_h"],
                           findings.sd_setting_h)
        old = age > 2 * setting
    else:
        old = age > 3 * means["life_eta_h"]
    return int((findings.state[old] == 0).sum()), int(old.sum())


# Amended Protocol II, Technical Annex 3(a): (age, what is counted, ceiling, who it binds)
ANNEX_CHECKS = {
    "not_self_destroyed_30d": (30 * 24.0, N_("not self-destroyed"), 0.10),
    "functional_120d": (120 * 24.0, N_("still functioning"), 0.001),
}
_HAS_SELF_DESTRUCT = (PersistenceClass.SELF_DESTRUCT, PersistenceClass.SD_AND_SDA)


def observed_share(findings: Findings, age_h: float, counted: str = "still functioning",
                   spread: float = 0.25) -> tuple[int, float, float, float]:
    """Findings aged within ±``spread`` of ``age_h``: (count, share ``counted``, 90 %
    Clopper–Pearson interval); ``counted`` is "still functioning" or "not self-destroyed"."""
    age = findings.found_h - (findings.laid_from_h + findings.laid_to_h) / 2
    near = np.abs(age / age_h - 1) <= spread
    n = int(near.sum())
    if not n:
        return 0, np.nan, np.nan, np.nan
    state = findings.state[near]
    k = int((state != 1).sum() if counted == "not self-destroyed" else (state == 0).sum())
    low, high = clopper_pearson(k, n, 0.90)
    return n, k / n, float(low), float(high)


def annex_checks(persistence: PersistenceClass) -> dict[str, tuple[float, str, float]]:
    """The Annex 3(a) comparisons that apply to a type: nothing about self-destruct for a
    type without one, nothing at all for a persistent type."""
    if persistence == PersistenceClass.PERSISTENT:
        return {}
    return {k: v for k, v in ANNEX_CHECKS.items()
            if k != "not_self_destroyed_30d" or persistence in _HAS_SELF_DESTRUCT}


def fit_table(findings: pd.DataFrame, records: pd.DataFrame, catalog: Catalog,
              scenario: str, codes: list[str] | None = None,
              min_findings: int = MIN_FINDINGS,
              climate: tuple[pd.DataFrame, pd.DataFrame, str] | None = None,
              calibration: int = CALIBRATION) -> pd.DataFrame:
    """One row per type and fitted parameter (one row for types with nothing to fit);
    intervals calibrated by ``calibration`` bootstrap data sets a type (0: Wilks alone),
    seeded by the type's code so that a fit is repeatable."""
    rows = []
    present = sorted(set(findings["item_type"]))
    for code in codes or present:
        item = catalog.get(code)
        priors = catalog.priors(code, scenario)
        means = {name: prior_math.mean(p) for name, p in priors.items()}
        data = findings_of(findings, records, code, climate)
        base: dict[str, object] = {"item_type": code, "persistence": item.persistence.value,
                                   "scenario": scenario, "findings": data.n}
        free = FREE[item.persistence]
        if not free:
            rows.append({**base, "parameter": "", "note": "persistent: nothing to fit"})
            continue
        for label, (age, counted, _ceiling) in annex_checks(item.persistence).items():
            n, share, low, high = observed_share(data, age, counted)
            base.update({f"observed_{label}_findings": n, f"observed_{label}": share,
                         f"observed_{label}_q05": low, f"observed_{label}_q95": high})
        failures, chances = _chance_failures(data, item.persistence, means)
        base.update({"old_functional": failures, "old_findings": chances,
                     "failure_upper_95_clopper_pearson": float(upper_bound(failures, chances))
                     if chances else np.nan,
                     "failure_upper_95_jeffreys": float(upper_bound(failures, chances,
                                                                    method="jeffreys"))
                     if chances else np.nan})
        enough = data.n >= max(min_findings, 1)
        fitter = ReliabilityFitter(item.persistence, means, item.life_distribution,
                                   temperature=climate is not None)
        seed = zlib.crc32(code.encode())
        result = fitter.fit(data, calibration=calibration, seed=seed) if enough else None
        posterior = posterior_samples(catalog, code, scenario, data, POSTERIOR_DRAWS,
                                      seed)[0] if enough else {}
        for name in fitter.free:
            low, high = prior_math.quantile(priors[name], np.array([0.05, 0.95]))
            row = {**base, "parameter": name, "catalog_mean": means[name],
                   "catalog_q05": float(low), "catalog_q95": float(high),
                   "catalog_source": priors[name].source,
                   "field_mle": np.nan, "field_q05": np.nan, "field_q95": np.nan,
                   "posterior_median": np.nan, "posterior_q05": np.nan,
                   "posterior_q95": np.nan, "determined": False}
            if result is None:
                row["note"] = (f"not fitted: {data.n} findings with a laying date; "
                               "see the upper bounds")
            else:
                e = result.estimates[name]
                row.update(field_mle=e.mle, field_q05=e.low, field_q95=e.high,
                           determined=e.determined, note=e.note,
                           threshold_factor=result.calibration[name])
            # a prior the scenario fixes is not updated: nothing to show beside it
            if name in posterior and priors[name].dist in prior_math.CONTINUOUS:
                low, high = credible_interval(name, posterior[name])
                row.update(posterior_median=float(np.median(posterior[name])),
                           posterior_q05=low, posterior_q95=high)
            rows.append(row)
    return pd.DataFrame(rows)


def fit_panels(table: pd.DataFrame, findings: pd.DataFrame, records: pd.DataFrame,
               catalog: Catalog, scenario: str) -> list[dict[str, object]]:
    """What the fit plot draws for each fitted type: ages, states, fitted and catalog
    parameters (prior means where nothing was fitted)."""
    if "field_mle" not in table:  # only persistent types, or nothing fitted
        return []
    panels = []
    for code, rows in table.dropna(subset=["field_mle"]).groupby("item_type", sort=True):
        item = catalog.get(str(code))
        means = {n: prior_math.mean(p) for n, p in catalog.priors(str(code), scenario).items()}
        fitted = {**means, **dict(zip(rows["parameter"], rows["field_mle"], strict=True))}
        data = findings_of(findings, records, str(code))
        age = data.found_h - (data.laid_from_h + data.laid_to_h) / 2
        panels.append({"code": code, "age_h": age, "functional": data.state == 0,
                       "fitted": fitted, "catalog": means, "life": item.life_distribution})
    return panels
