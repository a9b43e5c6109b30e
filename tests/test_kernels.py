"""The compiled as-of kernels against plain NumPy, and the Poisson counts by inversion
against the Poisson distribution, at the edges as well as in the middle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hazardledger.hazard.kernels import (
    RecordCells,
    StackedTables,
    SumBuffers,
    area_sums,
    poisson_counts,
)
from hazardledger.hazard.tables import SurvivalTable, age_grid, locate, survival_table


def _tables(n_samples: int, rng: np.random.Generator, grid: np.ndarray
            ) -> list[SurvivalTable]:
    """Two cohorts: one with a self-destruct step at a setting between grid points, one
    without (rho_sd 0)."""
    out = []
    for rho_sd in (0.9, 0.0):
        params = {"rho_sd": np.full(n_samples, rho_sd), "rho_sda": rng.uniform(0.5, 1, n_samples),
                  "sd_setting_h": rng.uniform(3, 50, n_samples),
                  "sd_spread": np.zeros(n_samples), "temp_coef_per_c": np.zeros(n_samples),
                  "life_beta": np.full(n_samples, 3.0),
                  "life_eta_h": rng.uniform(24, 400, n_samples)}
        out.append(survival_table(params, grid))
    return out


def _numpy_sums(counts: np.ndarray, cohort: np.ndarray, area: np.ndarray, n_areas: int,
                tables: list[SurvivalTable], laid_from: np.ndarray, laid_to: np.ndarray,
                t: float) -> tuple[np.ndarray, np.ndarray]:
    """The same sums written plainly: the mean of S over each window, then per area."""
    n_samples = counts.shape[0]
    mean_s = np.empty(counts.shape)
    for c, table in enumerate(tables):
        point = (cohort == c) & (laid_to == laid_from)
        spread = (cohort == c) & (laid_to > laid_from)
        cell = locate(table.grid, np.maximum(t - laid_from[point], 0.0))
        mean_s[:, point] = table.survival_at(cell) * (t >= laid_from[point])
        upper = table.integral_at(locate(table.grid, np.maximum(t - laid_from[spread], 0.0)))
        lower = table.integral_at(locate(table.grid, np.maximum(t - laid_to[spread], 0.0)))
        mean_s[:, spread] = (upper - lower) / (laid_to[spread] - laid_from[spread])
    log_kept = np.log1p(-np.minimum(mean_s, 1.0 - 2.0**-23))
    expected = np.zeros((n_samples, n_areas))
    log_none = np.zeros((n_samples, n_areas))
    for s in range(n_samples):
        expected[s] = np.bincount(area, weights=counts[s] * mean_s[s], minlength=n_areas)
        log_none[s] = np.bincount(area, weights=counts[s] * log_kept[s], minlength=n_areas)
    return expected, log_none


@pytest.mark.parametrize("n_records", [1, 37, 9000])  # below, at and over a chunk of 4096
def test_the_kernels_equal_plain_numpy(n_records: int) -> None:
    rng = np.random.default_rng(n_records)
    n_samples, n_areas, t = 5, 7, 1000.0
    grid = age_grid(2000.0)
    tables = _tables(n_samples, rng, grid)
    cohort = np.sort(rng.integers(0, 2, n_records))
    laid_from = rng.uniform(-100, 1100, n_records)  # some not yet laid at t
    laid_to = laid_from + np.where(rng.random(n_records) < 0.5, 0.0, rng.uniform(0, 72, n_records))
    area = rng.integers(0, n_areas, n_records)
    counts = rng.integers(0, 20, (n_samples, n_records)).astype(np.float32)
    want_e, want_l = _numpy_sums(counts, cohort, area, n_areas, tables, laid_from, laid_to, t)
    cells = RecordCells.at(grid, laid_from, laid_to, t)
    buffers = SumBuffers(n_areas, n_samples)
    for _ in range(2):  # the buffers are zeroed again when reused
        got_e, got_l = area_sums(counts, area, n_areas, cohort, cells, StackedTables.of(tables),
                                 buffers=buffers)
        np.testing.assert_allclose(got_e, want_e, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_l, want_l, rtol=1e-9, atol=1e-12)
    # the mean of S given instead of the tables (regional temperatures) sums the same
    mean_s = np.full(counts.shape, 0.25, np.float32)
    got_e, _ = area_sums(counts, area, n_areas, mean_s=mean_s)
    want = np.stack([np.bincount(area, weights=0.25 * counts[s], minlength=n_areas)
                     for s in range(n_samples)])
    np.testing.assert_allclose(got_e, want, rtol=1e-12)


def test_an_item_certain_to_function_keeps_log_none_finite() -> None:
    grid = age_grid(100.0)
    persistent = survival_table({"rho_sd": np.zeros(1), "rho_sda": np.zeros(1),
                                 "sd_setting_h": np.zeros(1), "sd_spread": np.zeros(1),
                                 "temp_coef_per_c": np.zeros(1), "life_beta": np.ones(1),
                                 "life_eta_h": np.ones(1)}, grid)
    cells = RecordCells.at(grid, np.array([0.0]), np.array([0.0]), 50.0)
    expected, log_none = area_sums(np.array([[3.0]], np.float32), np.zeros(1, np.int64), 1,
                                   np.zeros(1, np.int64), cells, StackedTables.of([persistent]))
    assert expected[0, 0] == pytest.approx(3.0)
    assert np.isfinite(log_none[0, 0]) and -np.expm1(log_none[0, 0]) == pytest.approx(1.0)


@pytest.mark.parametrize("mean", [0.0, 1e-6, 0.05, 1.0, 2.9999999, 3.0000001, 9.5, 17.3, 30.0])
def test_poisson_counts_by_inversion_follow_the_poisson_distribution(mean: float) -> None:
    n = 200_000
    uniforms = np.random.default_rng(int(mean * 1000) + 1).random(n)
    uniforms[:3] = 0.0, 0.5, np.nextafter(1.0, 0.0)  # the ends of the search, both ways
    out = np.full(n, -1.0)
    poisson_counts(out, np.arange(n), np.full(n, mean), uniforms)
    assert out.min() >= 0 and np.all(out == np.round(out))
    # each count is the Poisson quantile of its uniform: the inversion is exact
    np.testing.assert_array_equal(out[3:], stats.poisson.ppf(uniforms[3:], mean))
    assert out[0] == 0 and out[1] == stats.poisson.median(mean)
    assert np.floor(mean) <= out[2] <= mean + 10 * np.sqrt(mean) + 10
    assert out.mean() == pytest.approx(mean, rel=max(0.02, 5 / np.sqrt(max(n * mean, 1))),
                                       abs=1e-3)


def test_a_uniform_next_to_one_ends_the_search() -> None:
    out = np.zeros(2)
    poisson_counts(out, np.arange(2), np.array([5.0, 30.0]),
                   np.array([np.nextafter(1.0, 0.0), np.nextafter(1.0, 0.0)]))
    assert np.all(out <= np.array([5.0, 30.0]) + 10 * np.sqrt([5.0, 30.0]) + 10)
