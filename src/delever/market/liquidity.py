"""State-dependent liquidity: depth that thins as realized volatility and drawdown rise.

The impact law's depth ``V`` (ETH) is thinned by the market's state
(:func:`delever.kernels.impact_law.depth_eth`, fields of
:class:`~delever.kernels.records.ImpactLaw`):

    V_eff = V * exp(-a * max(0, vol / vol_ref - 1)) * (1 - drawdown) ** b

with ``vol`` the EWMA realized volatility per sqrt(day) (half-life ``vol_halflife_s``) and
``drawdown`` the fall from the running peak. :class:`StateLiquidity` holds ``a, b, vol_ref``
and the half-life and puts them on a law (:meth:`StateLiquidity.apply`).

Calibration (:func:`fit_state_liquidity`; ``scripts/calibrate_liquidity.py`` prints it).
Data: the shipped Binance ETHUSDT daily klines with volume (``nvn01_ethusdt_1d.csv.gz``,
2020-01-01 .. 2025-06-24), days strictly before the calibration cut-off
(:data:`delever.market.calibration.DEFAULT_CUTOFF`, 2026-01-01, the cut-off of the default
scenario's ``[market]`` section; the volume data end before it). For each day ``t``:

- ``r_t = ln(close_t / close_{t-1})``;
- illiquidity (Amihud 2002, "Illiquidity and stock returns", J. Financial Markets 5) per
  ETH, normalized by the depth the law would use: ``A_t = |r_t| * Vbar_t / volume_eth_t``,
  ``Vbar_t`` the mean daily ETH volume of the 365 days before ``t`` (as ``delever
  calibrate``'s ADV). Illiquidity ~ 1 / depth, so ``ln A_t = c + a x_t - b ln(1 - dd_t)``.
  ETH volume, not dollar volume: the law's depth is in ETH, and a dollar measure at fixed
  ETH depth falls with the price itself, which would read the price level as thinning
  (the script prints the dollar variant: ``b`` about 0.85, mostly that mechanical effect);
- ``x_t = max(0, vol_t / vol_ref - 1)``: ``vol_t`` the EWMA of squared daily log returns up
  to day ``t - 1`` (half-life 10 days: the centre of mass of a 30-day window; seeded with
  the variance of the first 30 returns; first 60 days dropped as burn-in), ``vol_ref`` its
  median over the fitted days;
- ``dd_t = 1 - close_{t-1} / max(close over the 365 days before t)``.

Days with ``r_t = 0`` are dropped (no log). Ordinary least squares (numpy ``lstsq``) with
Newey-West (HAC, Bartlett weights, ``floor(4 (n/100)^(2/9))`` lags) standard errors, since
daily illiquidity is autocorrelated. The fit is weak (R^2 about 0.004: a day's |r| is mostly
noise) and part of ``a`` is mechanical (returns are larger when volatility is), so the
constants are ESTIMATES. The data find no thinning with drawdown in ETH depth (``b < 0``,
within two standard errors of 0): the law takes ``max(0, b) = 0``; the fitted value is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from delever._typing import ArrayLike, FloatArray, FloatArray1D
from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.kernels.impact_law import depth_eth_py, ewma_variance_py
from delever.kernels.records import ImpactLaw

SECONDS_PER_DAY = 86_400.0
DATA_FILE = "src/delever/data/binance/nvn01_ethusdt_1d.csv.gz"
METHOD = (
    "OLS of ln(|r_t| Vbar_t / volume_eth_t) on [1, max(0, vol_t/vol_ref - 1), ln(1 - dd_t)] "
    "(vol_t: EWMA of squared daily log returns to t-1, half-life 10 d; vol_ref its median; "
    "dd_t: fall of close_{t-1} from the 365-day peak; Vbar_t: 365-day mean ETH volume), "
    "Newey-West standard errors"
)


@dataclass(frozen=True)
class StateLiquidity:
    """How depth thins with the state: ``V exp(-a max(0, vol/vol_ref - 1)) (1 - dd)^b``.

    Attributes
    ----------
    thin_vol : a >= 0, elasticity of depth to volatility above ``vol_ref``.
    thin_drawdown : b >= 0, exponent on ``1 - drawdown``.
    vol_ref : volatility per sqrt(day) at which depth is ``V`` (> 0).
    vol_halflife_s : half-life of the engines' EWMA of squared log returns, seconds.
    source : where the numbers come from.
    """

    thin_vol: float
    thin_drawdown: float
    vol_ref: float
    vol_halflife_s: float
    source: str = "user input"

    def __post_init__(self) -> None:
        check_non_negative("thin_vol", self.thin_vol)
        check_non_negative("thin_drawdown", self.thin_drawdown)
        check_positive("vol_ref", self.vol_ref, "Give a volatility per sqrt(day), e.g. 0.04.")
        check_positive("vol_halflife_s", self.vol_halflife_s)

    def apply(self, law: ImpactLaw) -> ImpactLaw:
        """``law`` with this thinning (its scale, exponent, depth and decay kept)."""
        return law._replace(thin_vol=float(self.thin_vol),
                            thin_drawdown=float(self.thin_drawdown),
                            vol_ref=float(self.vol_ref),
                            vol_halflife_s=float(self.vol_halflife_s))

    def depth_factor(self, vol: ArrayLike, drawdown: ArrayLike) -> FloatArray:
        """``V_eff / V`` at realized volatility ``vol`` and ``drawdown`` (arrays broadcast)."""
        v = np.asarray(vol, dtype=np.float64)
        dd = np.clip(np.asarray(drawdown, dtype=np.float64), 0.0, 1.0)
        out: FloatArray = (np.exp(-self.thin_vol * np.maximum(0.0, v / self.vol_ref - 1.0))
                           * (1.0 - dd) ** self.thin_drawdown)
        return out


@dataclass(frozen=True)
class LiquidityFit:
    """The regression behind :class:`StateLiquidity` (see the module docstring)."""

    thin_vol: float
    thin_vol_se: float
    thin_drawdown: float  # as fitted (may be < 0: depth grows in drawdowns)
    thin_drawdown_se: float
    intercept: float
    r_squared: float
    n_days: int
    first_day: date
    last_day: date
    vol_ref: float
    vol_halflife_days: float
    hac_lags: int
    volume: str  # "eth" or "usd"

    def to_liquidity(self) -> StateLiquidity:
        """The law's constants: ``max(0, a)``, ``max(0, b)`` (the law cannot thicken)."""
        return StateLiquidity(
            thin_vol=max(0.0, self.thin_vol), thin_drawdown=max(0.0, self.thin_drawdown),
            vol_ref=self.vol_ref, vol_halflife_s=self.vol_halflife_days * SECONDS_PER_DAY,
            source=self.source())

    def source(self) -> str:
        """One line: data, range, method, fit (an estimate)."""
        return (f"fitted on {DATA_FILE} {self.first_day}..{self.last_day} ({self.n_days} days, "
                f"{self.volume.upper()} volume): a = {self.thin_vol:.3f} +/- "
                f"{self.thin_vol_se:.3f}, b = {self.thin_drawdown:.3f} +/- "
                f"{self.thin_drawdown_se:.3f}, R^2 = {self.r_squared:.4f}; {METHOD} (estimate)")

    def summary(self) -> str:
        """A few lines for the calibration script."""
        return "\n".join([
            f"State-dependent liquidity fit ({self.volume.upper()} volume), "
            f"{self.first_day}..{self.last_day}, {self.n_days} days",
            f"  a (thin_vol)      = {self.thin_vol: .4f}  (HAC s.e. {self.thin_vol_se:.4f}, "
            f"{self.hac_lags} lags)",
            f"  b (thin_drawdown) = {self.thin_drawdown: .4f}  (HAC s.e. "
            f"{self.thin_drawdown_se:.4f})",
            f"  intercept         = {self.intercept: .4f}",
            f"  R^2               = {self.r_squared:.4f}",
            f"  vol_ref           = {self.vol_ref:.5f} per sqrt(day) (median EWMA vol, "
            f"half-life {self.vol_halflife_days:g} days)",
        ])


def ewma_daily_vol(returns: FloatArray1D, halflife_days: float, seed_days: int = 30
                   ) -> FloatArray1D:
    """EWMA volatility per sqrt(day) known before each return: entry t uses returns < t.

    Same update as the engines (:func:`delever.kernels.impact_law.ewma_variance`), seeded
    with the variance of the first ``seed_days`` returns.
    """
    law = ImpactLaw(0.0, 0.5, 1.0, 1.0, 0.0, 0.0, 0.0, math.inf,
                    halflife_days * SECONDS_PER_DAY)
    var = float(np.var(returns[:seed_days]))
    out = np.empty(returns.shape[0])
    for t, r in enumerate(returns):
        out[t] = var
        var = ewma_variance_py(law, var, float(r), SECONDS_PER_DAY)
    vol: FloatArray1D = np.sqrt(out)
    return vol


def _newey_west_se(x: FloatArray, resid: FloatArray1D, lags: int) -> FloatArray1D:
    xtx_inv = np.linalg.inv(x.T @ x)
    u = x * resid[:, None]
    meat = u.T @ u
    for lag in range(1, lags + 1):
        weight = 1.0 - lag / (lags + 1.0)
        gamma = u[lag:].T @ u[:-lag]
        meat += weight * (gamma + gamma.T)
    out: FloatArray1D = np.sqrt(np.diag(xtx_inv @ meat @ xtx_inv))
    return out


def fit_state_liquidity(
    daily: pd.DataFrame | None = None,
    cutoff: date | None = None,
    *,
    vol_halflife_days: float = 10.0,
    peak_window_days: int = 365,
    adv_window_days: int = 365,
    burn_in_days: int = 60,
    volume: str = "eth",
) -> LiquidityFit:
    """Fit ``a`` and ``b`` on daily klines strictly before ``cutoff`` (module docstring).

    ``daily`` defaults to :func:`delever.market.loaders.load_binance_daily`, ``cutoff`` to
    :data:`delever.market.calibration.DEFAULT_CUTOFF`; ``volume="usd"`` uses dollar volume
    (for comparison only).
    """
    from delever.market.calibration import DEFAULT_CUTOFF
    from delever.market.loaders import load_binance_daily

    frame = load_binance_daily() if daily is None else daily
    day = DEFAULT_CUTOFF if cutoff is None else cutoff
    index = pd.DatetimeIndex(frame.index)
    frame = frame[index.date < day]
    if volume not in ("eth", "usd"):
        raise InvalidArgument(f"volume={volume!r} must be 'eth' or 'usd'.")
    close = frame["close_usd"].to_numpy(dtype=np.float64)
    traded = frame["volume_eth" if volume == "eth" else "quote_volume_usd"].to_numpy(
        dtype=np.float64)
    if close.shape[0] < burn_in_days + 30:
        raise InvalidArgument(f"cutoff={day}: {close.shape[0]} days before it; too few to fit.")
    returns = np.diff(np.log(close))
    vol = ewma_daily_vol(returns, vol_halflife_days)
    closes = pd.Series(close)
    peak = closes.rolling(peak_window_days, min_periods=1).max().shift(1).to_numpy()[1:]
    drawdown = np.clip(1.0 - close[:-1] / peak, 0.0, 1.0)
    vbar = pd.Series(traded).rolling(adv_window_days, min_periods=30).mean().shift(1).to_numpy()
    vbar = vbar[1:]
    keep = (returns != 0.0) & np.isfinite(vbar) & np.isfinite(drawdown) & (traded[1:] > 0.0)
    keep[:burn_in_days] = False
    vol_ref = float(np.median(vol[keep]))
    y = np.log(np.abs(returns[keep]) * vbar[keep] / traded[1:][keep])
    x = np.column_stack([np.ones(int(keep.sum())),
                         np.maximum(0.0, vol[keep] / vol_ref - 1.0),
                         np.log(1.0 - drawdown[keep])])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    resid = y - x @ coef
    n = int(keep.sum())
    lags = math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))
    se = _newey_west_se(x, resid, lags)
    days = frame.index[1:][keep]
    return LiquidityFit(
        thin_vol=float(coef[1]), thin_vol_se=float(se[1]),
        thin_drawdown=float(-coef[2]), thin_drawdown_se=float(se[2]),
        intercept=float(coef[0]), r_squared=float(1.0 - resid.var() / y.var()),
        n_days=n, first_day=days[0].date(), last_day=days[-1].date(), vol_ref=vol_ref,
        vol_halflife_days=float(vol_halflife_days), hac_lags=lags, volume=volume)


# The fit of fit_state_liquidity() on the shipped data (scripts/calibrate_liquidity.py prints
# it; tests/market/test_liquidity.py refits and checks these within tolerance). ESTIMATES.
FITTED_THIN_VOL = 0.13827930940470756
FITTED_THIN_VOL_SE = 0.0708227594674215
FITTED_THIN_DRAWDOWN = -0.14132604715080038  # as fitted; the law takes max(0, b) = 0
FITTED_THIN_DRAWDOWN_SE = 0.08546264794874156
FITTED_VOL_REF = 0.03788934359817305
FITTED_R_SQUARED = 0.0036091944899722117
FITTED_N_DAYS = 1941
FITTED_FIRST_DAY = date(2020, 3, 2)
FITTED_LAST_DAY = date(2025, 6, 24)
FITTED_VOL_HALFLIFE_DAYS = 10.0

FITTED_LIQUIDITY = StateLiquidity(
    thin_vol=max(0.0, FITTED_THIN_VOL),
    thin_drawdown=max(0.0, FITTED_THIN_DRAWDOWN),
    vol_ref=FITTED_VOL_REF,
    vol_halflife_s=FITTED_VOL_HALFLIFE_DAYS * SECONDS_PER_DAY,
    source=(f"ESTIMATE fitted on {DATA_FILE} {FITTED_FIRST_DAY}..{FITTED_LAST_DAY} "
            f"({FITTED_N_DAYS} days, ETH volume, before the 2026-01-01 cut-off): "
            f"a = {FITTED_THIN_VOL:.3f} +/- {FITTED_THIN_VOL_SE:.3f}, "
            f"b = {FITTED_THIN_DRAWDOWN:.3f} +/- {FITTED_THIN_DRAWDOWN_SE:.3f} (law: max(0, b)), "
            f"R^2 = {FITTED_R_SQUARED:.4f}; {METHOD}"),
)
"""The shipped state-dependent liquidity (estimates; see the module docstring)."""


def path_state(prices_usd: ArrayLike, step_s: float, liquidity: StateLiquidity,
               initial_var_per_day: float, initial_peak_usd: float | None = None
               ) -> tuple[FloatArray1D, FloatArray1D]:
    """Realized volatility and drawdown at each point of a price path, as the engines keep
    them: the EWMA of squared log returns (:func:`~delever.kernels.impact_law.ewma_variance`)
    updated with the return into each point, and the fall from the running peak (seeded with
    ``initial_peak_usd``, default the first price)."""
    prices = np.asarray(prices_usd, dtype=np.float64).reshape(-1)
    law = liquidity.apply(ImpactLaw(0.0, 0.5, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0))
    var = check_non_negative("initial_var_per_day", initial_var_per_day)
    peak = float(prices[0]) if initial_peak_usd is None else float(initial_peak_usd)
    vol = np.empty(prices.shape[0])
    drawdown = np.empty(prices.shape[0])
    for k, price in enumerate(prices):
        if k > 0:
            var = ewma_variance_py(law, var, math.log(price / prices[k - 1]), step_s)
        peak = max(peak, float(price))
        vol[k] = math.sqrt(var)
        drawdown[k] = 1.0 - price / peak
    return vol, drawdown


def path_depth_eth(law: ImpactLaw, vol: ArrayLike, drawdown: ArrayLike) -> FloatArray1D:
    """The law's depth at each point (:func:`~delever.kernels.impact_law.depth_eth`)."""
    v = np.asarray(vol, dtype=np.float64).reshape(-1)
    dd = np.asarray(drawdown, dtype=np.float64).reshape(-1)
    out: FloatArray1D = np.array([depth_eth_py(law, float(a), float(b))
                                  for a, b in zip(v, dd, strict=True)])
    return out


__all__ = [
    "DATA_FILE",
    "FITTED_LIQUIDITY",
    "LiquidityFit",
    "StateLiquidity",
    "ewma_daily_vol",
    "fit_state_liquidity",
    "path_depth_eth",
    "path_state",
]
