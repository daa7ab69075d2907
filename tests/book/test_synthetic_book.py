"""Synthetic book: determinism, scaling, and its distributions against the fit and the cohort."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from delever.book import (
    DEFAULT_FITTED_PARAMS,
    BorrowerBook,
    FittedBookParams,
    load_fitted_params,
    read_lido_cohort,
    synthetic_book,
)
from delever.errors import InvalidArgument

REPO_ROOT = Path(__file__).resolve().parents[2]
N = 20_000  # large enough for KS distances of about 0.01
KS_CRITICAL_1PCT = 1.63 / math.sqrt(N)  # one-sample KS, alpha = 1%
# Stated tolerance against the real cohort (307 accounts): the 5% two-sample critical value is
# about 1.36·sqrt(1/307 + 1/N) = 0.078; the fit itself reaches 0.030, so ask for 0.06.
KS_MAX_VS_COHORT = 0.06
P = DEFAULT_FITTED_PARAMS


@pytest.fixture(scope="module")
def big_book() -> BorrowerBook:
    return synthetic_book(N, 1_000_000.0, 2_000.0, seed=7)


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    one = synthetic_book(500, 10_000.0, 2_500.0, seed=42)
    two = synthetic_book(500, 10_000.0, 2_500.0, seed=42)
    for name in ("collateral_eth", "debt_usd", "liquidation_threshold", "liquidation_bonus"):
        assert getattr(one, name).tobytes() == getattr(two, name).tobytes()
    pd.testing.assert_frame_equal(one.to_frame(), two.to_frame())
    other = synthetic_book(500, 10_000.0, 2_500.0, seed=43)
    assert not np.array_equal(one.collateral_eth, other.collateral_eth)


def test_shape_of_the_book(big_book: BorrowerBook) -> None:
    assert len(big_book) == N
    assert big_book.total_collateral_eth == 1_000_000.0  # exactly
    assert big_book.reference_price_usd == 2_000.0
    assert big_book.account_id.tolist() == list(range(N))
    assert not big_book.emode.any()
    assert np.all(big_book.liquidation_threshold == 0.83)  # Aave v3 Core WETH
    assert np.all(big_book.liquidation_bonus == 0.05)
    assert big_book.health_factor().min() > 1.0  # nobody starts liquidatable


def test_health_factor_matches_the_fitted_target(big_book: BorrowerBook) -> None:
    # independent of FittedBookParams' own helpers: scipy's Student t on log(HF - 1)
    log_excess = np.log(big_book.health_factor() - 1.0)
    target = stats.t(P.log_hf_minus_1_df, P.log_hf_minus_1_loc, P.log_hf_minus_1_scale)
    assert stats.kstest(log_excess, target.cdf).statistic < KS_CRITICAL_1PCT
    # the same check through the params' cdf on HF itself
    hf = np.sort(big_book.health_factor())
    ecdf = np.arange(1, N + 1) / N
    assert np.max(np.abs(P.hf_cdf(hf) - ecdf)) < KS_CRITICAL_1PCT + 1 / N


def test_size_distribution_is_the_fitted_lognormal(big_book: BorrowerBook) -> None:
    # scaling shifts log size by a constant, so compare the centred logs with N(0, std)
    log_size = np.log(big_book.collateral_eth)
    centred = log_size - log_size.mean()
    statistic = stats.kstest(centred, "norm", args=(0.0, P.log_collateral_usd_std)).statistic
    assert statistic < KS_CRITICAL_1PCT


def test_copula_correlation_closed_form() -> None:
    # Gaussian copula: Spearman rho_S = (6/pi) asin(rho / 2), here 0.5821 for rho = 0.6
    params = dataclasses.replace(P, size_hf_gaussian_rho=0.6)
    book = synthetic_book(N, 1_000.0, 2_000.0, seed=3, params=params)
    observed = stats.spearmanr(book.collateral_eth, book.health_factor()).statistic
    assert observed == pytest.approx(6 / math.pi * math.asin(0.3), abs=0.02)
    assert params.size_hf_spearman_rho == pytest.approx(6 / math.pi * math.asin(0.3))
    # the shipped fit is essentially independent
    independent = synthetic_book(N, 1_000.0, 2_000.0, seed=3)
    rank = stats.spearmanr(independent.collateral_eth, independent.health_factor()).statistic
    assert abs(rank) < 0.03


def test_price_level_and_total_leave_health_factors_alone() -> None:
    low = synthetic_book(300, 5_000.0, 1_500.0, seed=11)
    high = synthetic_book(300, 8_000.0, 3_000.0, seed=11)
    np.testing.assert_allclose(high.health_factor(), low.health_factor(), rtol=1e-12)
    np.testing.assert_allclose(high.collateral_eth, low.collateral_eth * 1.6, rtol=1e-12)
    np.testing.assert_allclose(high.debt_usd, low.debt_usd * 1.6 * 2.0, rtol=1e-12)
    # BorrowerBook.scaled gives the same book
    rescaled = low.scaled(total_collateral_eth=8_000.0, price_usd=3_000.0)
    np.testing.assert_allclose(rescaled.debt_usd, high.debt_usd, rtol=1e-12)
    assert rescaled.total_collateral_eth == 8_000.0


def test_threshold_and_bonus_are_applied() -> None:
    book = synthetic_book(
        200, 100.0, 2_000.0, seed=1, liquidation_threshold=0.81, liquidation_bonus=0.06
    )
    same_hf = synthetic_book(200, 100.0, 2_000.0, seed=1)
    np.testing.assert_allclose(book.health_factor(), same_hf.health_factor(), rtol=1e-12)
    np.testing.assert_allclose(book.debt_usd, same_hf.debt_usd * 0.81 / 0.83, rtol=1e-12)
    assert np.all(book.liquidation_bonus == 0.06)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"n_accounts": 0}, "n_accounts=0 must be at least 1", id="no-accounts"),
        pytest.param({"n_accounts": 2.5}, "must be an integer", id="fractional-accounts"),
        pytest.param({"total_collateral_eth": 0.0}, "must be greater than 0", id="zero-total"),
        pytest.param({"price_usd": math.nan}, "price_usd=nan must be a finite", id="nan-price"),
        pytest.param({"liquidation_threshold": 1.2}, r"must be in \(0, 1\]", id="lt-above-1"),
        pytest.param({"liquidation_bonus": -0.1}, "must not be negative", id="negative-bonus"),
        pytest.param({"liquidation_bonus": 0.3}, r"LT·\(1 \+ bonus\)", id="lt-times-bonus"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"n_accounts": 10, "total_collateral_eth": 1.0, "price_usd": 2e3}
    args.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        synthetic_book(seed=0, **args)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("log_collateral_usd_std", 0.0, "must be greater than 0"),
        ("log_hf_minus_1_scale", -1.0, "must be greater than 0"),
        ("log_hf_minus_1_df", math.inf, "finite"),
        ("size_hf_gaussian_rho", 1.0, r"must be in \(-1, 1\)"),
    ],
    ids=["zero-size-std", "negative-scale", "infinite-df", "rho-one"],
)
def test_bad_params(field: str, value: float, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        dataclasses.replace(P, **{field: value})


# --- the shipped parameters ------------------------------------------------------------------


def shipped_json() -> dict[str, Any]:
    text = resources.files("delever").joinpath("data/book/fitted_book_params.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def test_shipped_json_has_provenance_and_matches_the_defaults() -> None:
    data = shipped_json()
    prov = data["provenance"]
    assert prov["source_repo"] == "lidofinance/aave-liquidation-model"
    assert prov["source_file"] == "data/b21_debt_stables_v3.csv"
    assert prov["source_sha256_16"] == "e9ef86b2287c573c"  # SOURCES.md
    for key in ("rows", "fit_method", "fitted_on", "script", "source_license"):
        assert prov[key]
    assert load_fitted_params() == P
    assert P.log_hf_minus_1_df == data["health_factor"]["log_hf_minus_1_df"]
    assert data["goodness_of_fit"]["hf_ks_distance"] < 0.05


def test_load_fitted_params_from_a_file(tmp_path: Path) -> None:
    data = shipped_json()
    data["health_factor"]["log_hf_minus_1_loc"] = 0.5
    path = tmp_path / "params.json"
    path.write_text(json.dumps(data))
    assert load_fitted_params(path).log_hf_minus_1_loc == 0.5
    del data["size"]
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match="lack the entry 'size'"):
        load_fitted_params(path)
    with pytest.raises(InvalidArgument, match="no such file"):
        load_fitted_params(tmp_path / "nope.json")


def test_hf_from_normal_is_monotone_and_above_one() -> None:
    z = np.linspace(-40.0, 40.0, 2001)
    hf = P.hf_from_normal(z)
    assert np.all(hf[1:] >= hf[:-1])  # +inf (no debt) at the far upper tail is allowed
    assert np.isfinite(P.hf_from_normal(np.array([5.0]))[0])
    assert np.all(hf > 1.0)
    # median of HF: 1 + exp(loc)
    assert P.hf_from_normal(np.array([0.0]))[0] == pytest.approx(1 + math.exp(P.log_hf_minus_1_loc))
    assert isinstance(P, FittedBookParams)


# --- against the real cohort (GPL-3.0 validation data in the shared folder) ----------------------

LIDO_B21 = "lidofinance_aave-liquidation-model/b21_debt_stables_v3.csv"


def test_synthetic_book_resembles_the_lido_cohort(shared_raw: Path, big_book: BorrowerBook) -> None:
    cohort = read_lido_cohort(shared_raw / LIDO_B21)
    d_hf = stats.ks_2samp(big_book.health_factor(), cohort.health_factor()).statistic
    assert d_hf < KS_MAX_VS_COHORT
    # sizes: compare the shapes (centred log collateral); scaling moves only the location
    synthetic_logs = np.log(big_book.collateral_eth)
    cohort_logs = np.log(cohort.collateral_eth)
    d_size = stats.ks_2samp(
        synthetic_logs - synthetic_logs.mean(), cohort_logs - cohort_logs.mean()
    ).statistic
    assert d_size < KS_MAX_VS_COHORT


def load_fit_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_book", REPO_ROOT / "scripts" / "fit_book.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_parameters_reproduce_from_the_raw_data(shared_raw: Path) -> None:
    script = load_fit_script()
    refit = script.fit(script.read_cohort(shared_raw / LIDO_B21))
    for section, keys in script.FITTED_KEYS.items():
        for key in keys:
            assert refit[key] == pytest.approx(shipped_json()[section][key], rel=1e-6), key
