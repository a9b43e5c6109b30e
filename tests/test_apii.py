"""The Amended Protocol II check."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hazardledger.catalog.loader import Catalog
from hazardledger.cli import app
from hazardledger.hazard.apii import apii_check

CHECK = apii_check(Catalog.packaged(), n_samples=2000, seed=3).set_index(["code", "scenario"])


def test_ceiling_type_sits_exactly_on_both_ceilings() -> None:
    row = CHECK.loc[("ap-rd-apii", "treaty-minimum")]
    for column in ("sd_fail_30d_mean", "sd_fail_30d_q05", "sd_fail_30d_q95"):
        assert row[column] == pytest.approx(0.10, abs=1e-12)
    for column in ("functioning_120d_mean", "functioning_120d_q05", "functioning_120d_q95"):
        assert row[column] == pytest.approx(0.001, abs=1e-12)
    assert row["meets_ta_3a"] and row["verdict"] == "meets"


def test_verdicts() -> None:
    assert not CHECK.loc[("ap-persistent", "claimed"), "meets_ta_3a"]
    assert CHECK.loc[("ap-persistent", "claimed"), "functioning_120d_mean"] == 1.0
    assert CHECK.loc[("ap-nonpersistent-48h", "claimed"), "verdict"] == "fails: no self-destruct"
    pessimistic = CHECK.loc[("ap-rd-apii", "pessimistic")]
    assert not pessimistic["meets_ta_3a"]
    assert "fail to self-destruct in 30 days" in pessimistic["verdict"]
    assert CHECK.loc[("ap-rd-apii", "claimed"), "meets_ta_3a"]


def test_intervals_are_ordered() -> None:
    for name in ("sd_fail_30d", "functioning_120d"):
        assert (CHECK[f"{name}_q05"] <= CHECK[f"{name}_q95"]).all()
        assert ((CHECK[f"{name}_mean"] >= 0) & (CHECK[f"{name}_mean"] <= 1)).all()


def test_cli_prints_every_type_and_scenario(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["catalog", "check", "--samples", "500"],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.count("ap-rd-apii") == 3 and "treaty-minimum" in text and "meets" in text
    assert "still holds explosive" in text
