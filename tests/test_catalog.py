"""The shipped catalog: sources on every number, scenarios complete, priors right."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from scipy import stats

from hazardledger.catalog import priors as prior_math
from hazardledger.catalog.loader import Catalog, CatalogError
from hazardledger.catalog.present import catalog_table, item_type_detail
from hazardledger.domain.item_types import PARAMETERS, SCENARIOS, Prior
from hazardledger.hazard.survival import survival

CATALOG = Catalog.packaged()


def test_required_types_are_shipped() -> None:
    for code in ("ap-persistent", "at-persistent", "ap-nonpersistent-4h", "ap-nonpersistent-48h",
                 "ap-nonpersistent-15d", "ap-rd-apii", "ap-pfm1s-like", "submunition-generic"):
        assert code in CATALOG.codes()
    assert CATALOG.get("submunition-generic").category == "submunition"


def test_every_number_has_a_source_that_exists() -> None:
    for t in CATALOG.types.values():
        assert set(t.priors) == set(SCENARIOS)
        for table in t.priors.values():
            assert tuple(table) == PARAMETERS
            for prior in table.values():
                assert prior.source in CATALOG.sources
                assert CATALOG.sources[prior.source].citation


def test_unverified_claim_is_used_only_in_the_claimed_scenario() -> None:
    for t in CATALOG.types.values():
        for scenario, table in t.priors.items():
            for prior in table.values():
                if CATALOG.sources[prior.source].unverified:
                    assert scenario == "claimed", (t.code, scenario)


def test_every_source_cited_is_in_the_references_file() -> None:
    data = resources.files("hazardledger.catalog") / "data" / "sources.toml"
    sources = tomllib.loads(data.read_text("utf-8"))
    for sid, entry in sources.items():
        if entry.get("kind") != "assumption":
            assert len(entry["citation"]) > 30, sid


def _parameters(code: str, scenario: str) -> dict[str, np.ndarray]:
    return {p: np.asarray(prior_math.mean(pr)) for p, pr in CATALOG.priors(code, scenario).items()}


@pytest.mark.parametrize("setting", [4.0, 48.0, 360.0])
def test_ap_ii_ceiling_type_lands_exactly_on_the_ceilings(setting: float) -> None:
    p = _parameters("ap-rd-apii", "treaty-minimum")
    p["sd_setting_h"] = np.asarray(setting)
    sd_part = dict(p, rho_sda=np.asarray(0.0))
    assert survival(np.array([30 * 24.0]), sd_part)[0] == pytest.approx(0.10, abs=1e-12)
    assert survival(np.array([120 * 24.0]), p)[0] == pytest.approx(0.001, abs=1e-12)


def test_persistent_types_never_deactivate() -> None:
    for code in ("ap-persistent", "at-persistent", "submunition-generic"):
        for scenario in SCENARIOS:
            draws = CATALOG.sample(code, scenario, 100, np.random.default_rng(1))
            assert survival(np.array([1e6]), {k: v[:, None] for k, v in draws.items()}).min() == 1


@pytest.mark.parametrize(("prior", "frozen"), [
    (Prior("beta", (("a", 9.0), ("b", 1.0)), "x"), stats.beta(9, 1)),
    (Prior("lognormal", (("median", 48.0), ("sigma", 0.25)), "x"), stats.lognorm(s=0.25, scale=48)),
    (Prior("normal", (("mean", 0.0), ("sd", 0.0693)), "x"), stats.norm(0, 0.0693)),
    (Prior("uniform", (("low", 1.0), ("high", 40.0)), "x"), stats.uniform(1, 39)),
])
def test_priors_sample_mean_and_quantiles_match_scipy(prior: Prior, frozen: object) -> None:
    draws = prior_math.sample(prior, 200_000, np.random.default_rng(7))
    sd = frozen.std()  # type: ignore[attr-defined]
    assert draws.mean() == pytest.approx(frozen.mean(), abs=5 * sd / np.sqrt(draws.size))  # type: ignore[attr-defined]
    assert prior_math.mean(prior) == pytest.approx(frozen.mean())  # type: ignore[attr-defined]
    q = prior_math.quantile(prior, [0.05, 0.95])
    assert q == pytest.approx(frozen.ppf([0.05, 0.95]))  # type: ignore[attr-defined]
    assert np.mean(draws < q[0]) == pytest.approx(0.05, abs=0.005)


def test_choice_prior() -> None:
    prior = Prior("choice", (("values", (4.0, 48.0, 360.0)), ("weights", (1.0, 1.0, 2.0))), "x")
    draws = prior_math.sample(prior, 40_000, np.random.default_rng(3))
    assert set(np.unique(draws)) == {4.0, 48.0, 360.0}
    assert np.mean(draws == 360.0) == pytest.approx(0.5, abs=0.02)
    assert prior_math.mean(prior) == pytest.approx((4 + 48 + 720) / 4)
    assert list(prior_math.quantile(prior, [0.1, 0.4, 0.9])) == [4.0, 48.0, 360.0]


GOOD_USER_FILE = """
[sources.field-2026]
kind = "survey"
citation = "Example demining organisation, 2026 field report on type X (test)"

[types.user-x]
name = "User type X"
category = "ap_mine"
persistence = "self_deactivating"
[types.user-x.parameters]
rho_sd = { dist = "fixed", value = 0, source = "cbs-2024" }
sd_setting_h = { dist = "fixed", value = 0, source = "assumption-unused" }
sd_spread = { dist = "fixed", value = 0, source = "assumption-spread" }
rho_sda = { dist = "beta", a = 20, b = 2, source = "field-2026" }
life_beta = { dist = "fixed", value = 2, source = "field-2026" }
life_eta_h = { dist = "lognormal", median = 100, sigma = 0.5, source = "field-2026" }
temp_coef_per_c = { dist = "fixed", value = 0, source = "bu-802b" }
"""


def test_user_types_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_USER_FILE)
    bigger = CATALOG.with_file(path)
    assert "user-x" in bigger.codes() and "user-x" not in CATALOG.codes()
    assert prior_math.mean(bigger.priors("user-x", "pessimistic")["rho_sda"]) == pytest.approx(
        20 / 22)
    assert bigger.sources["field-2026"].kind == "survey"


@pytest.mark.parametrize(("edit", "message"), [
    (('dist = "beta", a = 20', 'dist = "gamma", a = 20'),
     "mine.toml: type 'user-x': parameter 'rho_sda': unknown distribution 'gamma'"),
    ((', source = "field-2026" }\nlife_beta', ' }\nlife_beta'),
     "mine.toml: type 'user-x': parameter 'rho_sda': no source: every number needs one"),
    (('rho_sda = { dist = "beta", a = 20, b = 2', 'rho_sda = { dist = "fixed", value = 1.5'),
     "mine.toml: type 'user-x': parameter 'rho_sda': is a probability but the prior reaches "
     "[1.5, 1.5]"),
    (("[types.user-x]", "[types.ap-persistent]"),
     "mine.toml: type 'ap-persistent': already in the catalog"),
    (("[types.user-x]", "[types.user-x"), "mine.toml: not valid TOML"),
    (('life_beta = { dist = "fixed", value = 2', 'life_beta = { dist = "normal", mean = 2, sd = 1'),
     "mine.toml: type 'user-x': parameter 'life_beta': cannot be negative but the prior reaches"),
    (('rho_sd = { dist = "fixed", value = 0,', 'rho_sd = { dist = "beta", a = 1, b = 1,'),
     "mine.toml: type 'user-x': scenario 'claimed': parameter 'rho_sd': must be fixed at 0 for "
     "a self_deactivating type"),
    (('source = "cbs-2024"', 'source = "nobody"'),
     "mine.toml: type 'user-x': parameter 'rho_sd': unknown source 'nobody'"),
])
def test_bad_user_files_are_refused_with_a_clear_message(tmp_path: Path, edit: tuple[str, str],
                                                         message: str) -> None:
    path = tmp_path / "mine.toml"
    assert edit[0] in GOOD_USER_FILE
    path.write_text(GOOD_USER_FILE.replace(*edit, 1))
    with pytest.raises(CatalogError) as info:
        CATALOG.with_file(path)
    assert str(info.value).startswith(message)


def test_terminal_views_show_values_and_sources() -> None:
    console = Console(record=True, width=200)
    console.print(catalog_table(CATALOG))
    console.print(item_type_detail(CATALOG, "ap-rd-apii"))
    text = console.export_text()
    assert "ap-nonpersistent-48h" in text and "self_deactivating" in text
    assert "scenario: treaty-minimum" in text and "0.9" in text
    assert "Technical Annex 3(a)" in text
    assert "claim-67000 (UNVERIFIED)" in text


def test_unknown_code_and_scenario() -> None:
    with pytest.raises(CatalogError, match="unknown item type 'nope'"):
        CATALOG.get("nope")
    with pytest.raises(CatalogError, match="unknown scenario 'optimistic'"):
        CATALOG.priors("ap-rd-apii", "optimistic")


def test_frame_summary() -> None:
    frame = CATALOG.to_frame()
    assert len(frame) == 3 * len(CATALOG.codes())
    row = frame[(frame.code == "ap-rd-apii") & (frame.scenario == "treaty-minimum")].iloc[0]
    assert row["rho_sd"] == 0.9 and row["rho_sda"] == 0.99


def test_life_distribution_option(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD_USER_FILE.replace('persistence = "self_deactivating"',
                                           'persistence = "self_deactivating"\n'
                                           'life_distribution = "lognormal"'))
    assert CATALOG.with_file(path).get("user-x").life_distribution == "lognormal"
    assert CATALOG.get("ap-rd-apii").life_distribution == "weibull"
    path.write_text(GOOD_USER_FILE.replace('persistence = "self_deactivating"',
                                           'persistence = "self_deactivating"\n'
                                           'life_distribution = "gamma"'))
    with pytest.raises(CatalogError, match="life_distribution 'gamma': expected weibull or "
                                           "lognormal"):
        CATALOG.with_file(path)
