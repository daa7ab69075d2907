"""State-dependent liquidity: the thinning rule, the engines' state, the fit on the data."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from delever.kernels.impact_law import depth_eth_py
from delever.kernels.records import square_root_law
from delever.market import liquidity as liq
from delever.market.liquidity import (
    FITTED_LIQUIDITY,
    StateLiquidity,
    ewma_daily_vol,
    fit_state_liquidity,
    path_depth_eth,
    path_state,
)

THIN = StateLiquidity(thin_vol=0.5, thin_drawdown=2.0, vol_ref=0.04, vol_halflife_s=86_400.0)


def test_depth_factor_by_hand_and_as_the_kernel() -> None:
    # vol 0.06 = 1.5 vol_ref, drawdown 0.2: exp(-0.5 * 0.5) * 0.8^2
    assert float(THIN.depth_factor(0.06, 0.2)) == pytest.approx(math.exp(-0.25) * 0.64)
    assert float(THIN.depth_factor(0.03, 0.0)) == 1.0  # calm and at the peak: full depth
    law = THIN.apply(square_root_law(0.04, 500_000.0))
    for vol in (0.0, 0.04, 0.05, 0.1):
        for dd in (0.0, 0.1, 0.5, 0.9):
            assert depth_eth_py(law, vol, dd) == pytest.approx(
                500_000.0 * float(THIN.depth_factor(vol, dd)), rel=1e-13)


def test_depth_thins_monotonically_in_vol_and_drawdown() -> None:
    vols = np.linspace(0.0, 0.3, 61)
    dds = np.linspace(0.0, 0.95, 39)
    grid = THIN.depth_factor(vols[:, None], dds[None, :])
    assert np.all(np.diff(grid, axis=0) <= 0.0)
    assert np.all(np.diff(grid, axis=1) < 0.0)
    assert np.all(np.diff(grid[vols > 0.04], axis=0) < 0.0)  # strictly above vol_ref
    fitted = FITTED_LIQUIDITY.depth_factor(vols, 0.0)
    assert np.all(np.diff(fitted) <= 0.0) and fitted[-1] < 1.0


def test_apply_keeps_the_law_and_sets_the_state_fields() -> None:
    law = THIN.apply(square_root_law(0.04, 500_000.0, permanent=0.5, decay_per_s=1e-4))
    assert (law.scale, law.adv_eth, law.permanent, law.decay_per_s) == (0.04, 500_000.0, 0.5,
                                                                       1e-4)
    assert (law.thin_vol, law.thin_drawdown, law.vol_ref, law.vol_halflife_s) == (
        0.5, 2.0, 0.04, 86_400.0)


def test_path_state_by_hand() -> None:
    # drawdown from the running peak: 100, 110, 99 -> 0, 0, 0.1
    vol, dd = path_state([100.0, 110.0, 99.0], 3600.0, THIN, 0.0016)
    assert dd == pytest.approx([0.0, 0.0, 0.1])
    keep = 0.5 ** (1 / 24)  # one hour of a one-day half-life
    var1 = keep * 0.0016 + (1 - keep) * math.log(1.1) ** 2 * 24
    var2 = keep * var1 + (1 - keep) * math.log(0.9) ** 2 * 24
    assert vol == pytest.approx([0.04, math.sqrt(var1), math.sqrt(var2)], rel=1e-13)
    _, dd_seeded = path_state([100.0, 110.0], 3600.0, THIN, 0.0016, initial_peak_usd=200.0)
    assert dd_seeded == pytest.approx([0.5, 0.45])
    law = THIN.apply(square_root_law(0.04, 1000.0))
    assert path_depth_eth(law, vol, dd) == pytest.approx(
        1000.0 * THIN.depth_factor(vol, dd), rel=1e-13)


def test_ewma_daily_vol_uses_only_earlier_returns() -> None:
    returns = np.array([0.01, -0.02, 0.03, 0.0, 0.05] * 10)
    vol = ewma_daily_vol(returns, 10.0, seed_days=5)
    keep = 0.5 ** 0.1
    var0 = float(np.var(returns[:5]))
    assert vol[0] == pytest.approx(math.sqrt(var0))
    assert vol[1] == pytest.approx(math.sqrt(keep * var0 + (1 - keep) * 0.01**2))


def test_the_fit_recovers_a_planted_thinning() -> None:
    # Synthetic days whose illiquidity is exp(a x - b ln(1 - dd)) times noise: the fit finds
    # a and b (a known-answer check of the regression and the variable construction).
    rng = np.random.default_rng(7)
    n = 3000
    returns = rng.standard_t(4, n) * 0.03
    close = 1000.0 * np.exp(np.cumsum(returns))
    frame = pd.DataFrame({"close_usd": close}, index=pd.date_range(
        "2010-01-01", periods=n, freq="D", tz="UTC"))
    log_r = np.diff(np.log(close))
    vol = ewma_daily_vol(log_r, 10.0)
    vol_ref = float(np.median(vol[60:]))
    peak = pd.Series(close).rolling(365, min_periods=1).max().shift(1).to_numpy()[1:]
    dd = np.clip(1 - close[:-1] / peak, 0, 1)
    depth = np.exp(-0.8 * np.maximum(0, vol / vol_ref - 1)) * (1 - dd) ** 0.6
    # |r| / volume ~ 1 / depth: volume = |r| * depth * noise
    volume = np.abs(log_r) * depth * np.exp(rng.normal(0, 0.05, n - 1)) * 1e6
    frame["volume_eth"] = np.concatenate(([1e6], volume))
    frame["quote_volume_usd"] = frame["volume_eth"] * close
    fit = fit_state_liquidity(frame, date(2030, 1, 1))
    assert fit.thin_vol == pytest.approx(0.8, abs=0.15)
    assert fit.thin_drawdown == pytest.approx(0.6, abs=0.15)
    assert fit.last_day < date(2030, 1, 1)


def test_stored_constants_refit_from_the_shipped_data() -> None:
    fit = fit_state_liquidity()
    assert fit.last_day < date(2026, 1, 1)  # only days before the cut-off
    assert fit.n_days == liq.FITTED_N_DAYS
    assert (fit.first_day, fit.last_day) == (liq.FITTED_FIRST_DAY, liq.FITTED_LAST_DAY)
    assert fit.thin_vol == pytest.approx(liq.FITTED_THIN_VOL, rel=1e-6)
    assert fit.thin_vol_se == pytest.approx(liq.FITTED_THIN_VOL_SE, rel=1e-6)
    assert fit.thin_drawdown == pytest.approx(liq.FITTED_THIN_DRAWDOWN, rel=1e-6)
    assert fit.thin_drawdown_se == pytest.approx(liq.FITTED_THIN_DRAWDOWN_SE, rel=1e-6)
    assert fit.vol_ref == pytest.approx(liq.FITTED_VOL_REF, rel=1e-9)
    assert fit.r_squared == pytest.approx(liq.FITTED_R_SQUARED, rel=1e-6)
    stored = fit.to_liquidity()
    assert FITTED_LIQUIDITY.thin_vol == pytest.approx(stored.thin_vol, rel=1e-6)
    assert FITTED_LIQUIDITY.thin_drawdown == stored.thin_drawdown == 0.0  # fitted b < 0
    assert "ESTIMATE" in FITTED_LIQUIDITY.source and "nvn01_ethusdt_1d" in FITTED_LIQUIDITY.source


def test_an_earlier_cutoff_fits_on_fewer_days() -> None:
    fit = fit_state_liquidity(cutoff=date(2023, 1, 1))
    assert fit.last_day == date(2022, 12, 31)
    assert fit.n_days < liq.FITTED_N_DAYS
