"""The loop book: the e-mode wstETH/WETH fit, its provenance, and a book drawn from it."""

from __future__ import annotations

import importlib.util
import json
import math
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy import stats

from delever.book import DEFAULT_FITTED_PARAMS, LOOP_FITTED_PARAMS, FittedBookParams, synthetic_book

REPO_ROOT = Path(__file__).resolve().parents[2]
LIDO_B1 = "lidofinance_aave-liquidation-model/b1_v3.csv"
# Rows of b1_v3.csv kept by the loop rule (fit_book.LOOP_RULE): 124 rows, one of which holds
# 27% of its collateral in rETH/cbETH (wstETH share 0.727 < 0.8); counted by hand with pandas.
LOOP_ROWS = 123
N = 20_000
P = LOOP_FITTED_PARAMS
# Aave v3 Core ETH-correlated e-mode (category 1): LT 0.95, bonus 0.01 (as the wsteth-loop
# scenario's e-mode category; delever.protocol reserves).
EMODE_LT, EMODE_BONUS = 0.95, 0.01


def loop_json() -> dict[str, Any]:
    text = resources.files("delever").joinpath(
        "data/book/fitted_loop_book_params.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_fit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_book", REPO_ROOT / "scripts" / "fit_book.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_loop_json_has_provenance_and_matches_the_constant() -> None:
    data = loop_json()
    prov = data["provenance"]
    assert prov["source_repo"] == "lidofinance/aave-liquidation-model"
    assert prov["source_file"] == "data/b1_v3.csv"
    assert prov["source_sha256_16"] == "2cebb2aa0e14a53f"  # shared/data/raw/SOURCES.md
    assert "GPL-3.0" in prov["source_license"]
    assert f"{LOOP_ROWS} rows" in prov["rows"] and "emode == 1" in prov["rows"]
    assert data["goodness_of_fit"]["n_accounts"] == LOOP_ROWS
    assert FittedBookParams.from_json_dict(data) == P
    assert P != DEFAULT_FITTED_PARAMS
    # loopers sit close to liquidation: median HF 1 + exp(loc) = 1.119 (vs 2.18 for b21)
    assert 1.0 + math.exp(P.log_hf_minus_1_loc) == pytest.approx(1.1188, abs=1e-4)


def test_shipped_loop_parameters_reproduce_from_the_raw_data(shared_raw: Path) -> None:
    script = load_fit_script()
    frame = script.read_cohort(shared_raw / LIDO_B1, script.select_loops)
    assert len(frame) == LOOP_ROWS
    assert (frame["emode"] == 1).all()
    refit = script.fit(frame)
    for section, keys in script.FITTED_KEYS.items():
        for key in keys:
            assert refit[key] == pytest.approx(loop_json()[section][key], rel=1e-6), key


@pytest.fixture(scope="module")
def loop_book() -> Any:
    # the ETH frame: 1.2 ETH per wstETH as the price, units as collateral, WETH debt
    return synthetic_book(N, 500_000.0, 1.2, seed=5, params=P,
                          liquidation_threshold=EMODE_LT, liquidation_bonus=EMODE_BONUS)


def test_loop_book_median_hf_is_the_fitted_one_within_monte_carlo_error(loop_book: Any) -> None:
    hf = loop_book.health_factor()
    fitted_median = 1.0 + math.exp(P.log_hf_minus_1_loc)
    # sample median's standard error: 1 / (2 f(m) sqrt(N)), f the HF density at the median:
    # f(m) = t_df pdf(0) / (scale · exp(loc)) (HF = 1 + exp(loc + scale·T))
    density = stats.t.pdf(0.0, P.log_hf_minus_1_df) / (
        P.log_hf_minus_1_scale * math.exp(P.log_hf_minus_1_loc))
    se = 1.0 / (2.0 * density * math.sqrt(N))
    assert abs(float(np.median(hf)) - fitted_median) < 4.0 * se
    # and in probability: the share below the fitted median is 1/2 within 4 standard errors
    assert abs(float(np.mean(hf < fitted_median)) - 0.5) < 4.0 * math.sqrt(0.25 / N)


def test_loop_book_is_in_the_eth_frame(loop_book: Any) -> None:
    assert loop_book.total_collateral_eth == 500_000.0  # units of wstETH, exactly
    assert np.all(loop_book.liquidation_threshold == EMODE_LT)
    assert np.all(loop_book.liquidation_bonus == EMODE_BONUS)
    # debt (WETH) = units x ETH per unit x LT / HF
    np.testing.assert_allclose(
        loop_book.debt_usd,
        loop_book.collateral_eth * 1.2 * EMODE_LT / loop_book.health_factor(), rtol=1e-12)
    # the fitted size-HF dependence: Spearman (6/pi) asin(rho/2) = -0.200, SE ~ 1/sqrt(N)
    rank = stats.spearmanr(loop_book.collateral_eth, loop_book.health_factor()).statistic
    assert rank == pytest.approx(P.size_hf_spearman_rho, abs=4.0 / math.sqrt(N))
    assert P.size_hf_spearman_rho == pytest.approx(-0.19993, abs=1e-4)
