"""Market calibration on the shipped Binance ETHUSDT data, and GARCH(1,1) fitting.

:func:`calibrate` estimates the daily volatility of ETH log returns and the average daily
volume (ADV) from data strictly before a cut-off date, and attaches the square-root-law
impact coefficient Y from the literature. Every figure carries its source and an
``estimate`` label, and :meth:`MarketCalibration.to_toml_section` writes the scenario
``[market]`` section.

:func:`fit_garch` fits a GARCH(1,1) with the ``arch`` package (Sheppard, bashtage/arch).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from delever._typing import ArrayLike, FloatArray1D
from delever.errors import InvalidArgument, check_positive
from delever.market.loaders import (
    MSHMWR_SOURCE,
    NVN01_SOURCE,
    eth_daily_close,
    load_binance_4h,
    load_binance_daily,
    load_binance_hourly,
)

# Square-root law I(Q) = Y · σ_daily · sqrt(Q / V_daily). Y is "of order unity" in every
# study cited; the central value and the range are our reading of them (an estimate).
IMPACT_Y = 1.0
IMPACT_Y_RANGE = (0.5, 1.5)
IMPACT_Y_SOURCE = (
    "square-root law I = Y sigma sqrt(Q/V) with Y of order 1: Toth et al. 2011 (Phys. Rev. X "
    "1, 021006); Bouchaud, Bonart, Donier & Gould 2018, Trades, Quotes and Prices (CUP), "
    "ch. 12; Donier & Bonart 2015 (Bitcoin/USD metaorders, Market Microstructure and "
    "Liquidity 1, 1550008). Central value 1.0 and range 0.5-1.5 are a judgement, not a fit"
)

MIN_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 36_500
MIN_DAILY_RETURNS = 30
MIN_VOLUME_DAYS = 30
MIN_INTRADAY_DAYS = 20
DEFAULT_CUTOFF = date(2026, 1, 1)
DEFAULT_WINDOW_DAYS = 365


@dataclass(frozen=True)
class SourcedValue:
    """A number with where it comes from and whether it is an estimate."""

    value: float
    source: str
    estimate: bool = True

    def to_dict(self) -> dict[str, Any]:
        """``{"value", "source", "estimate"}``."""
        return {"value": self.value, "source": self.source, "estimate": self.estimate}


# --- GARCH(1,1) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GarchParams:
    """GARCH(1,1) parameters for log returns as fractions (not percent).

    Attributes
    ----------
    mu : float
        Mean log return per step.
    omega : float
        Constant of the variance equation (fraction²).
    alpha, beta : float
        ARCH and GARCH coefficients.
    loglikelihood : float, optional
        Log-likelihood of the fit (of the returns scaled by ``scale``).
    n_obs : int
        Number of returns fitted (0 for parameters given by hand).
    last_variance : float, optional
        Conditional variance of the last fitted step (fraction²).
    last_residual : float, optional
        Residual ``r - mu`` of the last fitted step.
    converged : bool
        Whether the optimiser reported convergence.
    source : str
        Where the parameters come from.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    loglikelihood: float | None = None
    n_obs: int = 0
    last_variance: float | None = None
    last_residual: float | None = None
    converged: bool = True
    source: str = "user input"

    def __post_init__(self) -> None:
        for name in ("mu", "omega", "alpha", "beta"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidArgument(f"{name}={getattr(self, name)!r} must be finite.")
        if self.omega <= 0:
            raise InvalidArgument(f"omega={self.omega!r} must be greater than 0.")
        if self.alpha < 0 or self.beta < 0:
            raise InvalidArgument(f"alpha={self.alpha!r}, beta={self.beta!r} must not be negative.")

    @property
    def persistence(self) -> float:
        """``alpha + beta`` (< 1 for a stationary process)."""
        return self.alpha + self.beta

    @property
    def unconditional_variance(self) -> float:
        """``omega / (1 - alpha - beta)`` (fraction² per step); inf when not stationary."""
        gap = 1.0 - self.persistence
        return self.omega / gap if gap > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict."""
        return {
            "mu": self.mu,
            "omega": self.omega,
            "alpha": self.alpha,
            "beta": self.beta,
            "persistence": self.persistence,
            "unconditional_sigma": math.sqrt(self.unconditional_variance),
            "loglikelihood": self.loglikelihood,
            "n_obs": self.n_obs,
            "converged": self.converged,
            "source": self.source,
        }


def fit_garch(
    returns: ArrayLike, *, scale: float = 100.0, zero_mean: bool = False, source: str = ""
) -> GarchParams:
    """Fit a GARCH(1,1) with normal shocks to log returns by maximum likelihood (``arch``).

    Parameters
    ----------
    returns : array-like of float
        Log returns per step, as fractions (0.01 = 1%), finite, at least 100.
    scale : float
        Factor applied before fitting (``arch`` converges best on returns in percent, so
        100); the parameters are scaled back.
    zero_mean : bool
        Fix ``mu = 0`` instead of estimating a constant mean.
    source : str
        Text stored in the result's ``source`` (default: "GARCH(1,1) fit ...").

    Returns
    -------
    GarchParams

    Notes
    -----
    ``r_k = mu + eps_k``, ``eps_k = sigma_k z_k``, ``sigma²_k = omega + alpha eps²_{k-1} +
    beta sigma²_{k-1}`` (Bollerslev 1986), fitted with ``arch.arch_model(..., vol="GARCH",
    p=1, q=1, dist="normal", rescale=False)`` on ``scale · returns``; then ``mu /= scale``,
    ``omega /= scale²``.
    """
    data = np.asarray(returns, dtype=np.float64).ravel()
    if data.size < 100:
        raise InvalidArgument(f"returns has {data.size} values; a GARCH fit needs at least 100.")
    if not np.isfinite(data).all():
        bad = int(np.flatnonzero(~np.isfinite(data))[0])
        raise InvalidArgument(f"returns[{bad}]={data[bad]!r} must be finite.")
    scale = check_positive("scale", scale)
    from arch import arch_model  # imported here: arch is slow to import and rarely needed

    model = arch_model(
        data * scale,
        mean="Zero" if zero_mean else "Constant",
        vol="GARCH",
        p=1,
        q=1,
        dist="normal",
        rescale=False,
    )
    result = model.fit(disp="off", show_warning=False)
    params = result.params
    mu = 0.0 if zero_mean else float(params["mu"]) / scale
    variance = np.asarray(result.conditional_volatility, dtype=np.float64) ** 2
    residual = np.asarray(result.resid, dtype=np.float64)
    return GarchParams(
        mu=mu,
        omega=float(params["omega"]) / scale**2,
        alpha=float(params["alpha[1]"]),
        beta=float(params["beta[1]"]),
        loglikelihood=float(result.loglikelihood),
        n_obs=int(data.size),
        last_variance=float(variance[-1]) / scale**2,
        last_residual=float(residual[-1]) / scale,
        converged=int(result.convergence_flag) == 0,
        source=source or f"GARCH(1,1) fit (arch, normal shocks) on {data.size} log returns",
    )


# --- calibration -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MarketData:
    """The frames calibration reads (default: the shipped Binance data).

    Attributes
    ----------
    daily_close : DataFrame
        ``close_usd`` by UTC day, no gaps (:func:`~delever.market.loaders.eth_daily_close`).
    daily_volume : DataFrame
        ``volume_eth`` and ``quote_volume_usd`` by UTC day
        (:func:`~delever.market.loaders.load_binance_daily`).
    intraday : tuple of (name, bar_hours, DataFrame with close_usd)
        Intraday bars in order of preference (finest first).
    close_source, volume_source : str
        Provenance texts.
    """

    daily_close: pd.DataFrame
    daily_volume: pd.DataFrame
    intraday: tuple[tuple[str, float, pd.DataFrame], ...]
    close_source: str
    volume_source: str

    @classmethod
    def shipped(cls) -> MarketData:
        """The Binance ETHUSDT data shipped in ``delever/data/binance``."""
        return cls(
            daily_close=eth_daily_close(),
            daily_volume=load_binance_daily(),
            intraday=(
                ("1h", 1.0, load_binance_hourly()),
                ("4h", 4.0, load_binance_4h()),
            ),
            close_source=(f"daily closes: {NVN01_SOURCE} to 2025-06-24, then {MSHMWR_SOURCE}"),
            volume_source=NVN01_SOURCE,
        )


@dataclass(frozen=True, eq=False)
class MarketCalibration:
    """Market figures estimated from data strictly before ``cutoff``.

    Attributes
    ----------
    cutoff : date
        No data on or after this UTC date was used.
    window_days : int
        Length of the estimation window (days before the cut-off).
    sigma_daily : SourcedValue
        Standard deviation of daily log returns (fraction), over ``sigma_window``.
    sigma_window : (date, date)
        First and last day whose return was used (inclusive).
    n_daily_returns : int
        Number of daily returns used.
    sigma_daily_intraday : SourcedValue or None
        Daily volatility from intraday bars: std of bar log returns x sqrt(bars per day);
        ``None`` where no intraday data precede the cut-off.
    intraday_bars : str or None
        ``"1h"`` or ``"4h"``.
    intraday_window : (date, date) or None
        Days of intraday data used (may be shorter than the window, or earlier, see source).
    n_intraday_returns : int
        Bar returns used (only between bars exactly one bar apart; gaps are skipped).
    adv_eth, adv_usd : SourcedValue
        Average daily volume in ETH and in USD (quote USDT counted as USD).
    adv_source : str
        What the ADV is an average of, and why its window may end before the cut-off.
    adv_window : (date, date)
        First and last day of volume averaged.
    adv_days : int
        Days of volume averaged.
    impact_y : SourcedValue
        Square-root-law coefficient Y (literature).
    impact_y_range : (float, float)
        Range of Y for sensitivity runs.
    last_close_usd : SourcedValue
        Close of the last day before the cut-off (a start price for paths).
    last_close_date : date
        That day.
    daily_returns : (n_daily_returns,) float64, read-only
        The daily log returns of the window, in time order.
    """

    cutoff: date
    window_days: int
    sigma_daily: SourcedValue
    sigma_window: tuple[date, date]
    n_daily_returns: int
    sigma_daily_intraday: SourcedValue | None
    intraday_bars: str | None
    intraday_window: tuple[date, date] | None
    n_intraday_returns: int
    adv_eth: SourcedValue
    adv_usd: SourcedValue
    adv_source: str
    adv_window: tuple[date, date]
    adv_days: int
    impact_y: SourcedValue
    impact_y_range: tuple[float, float]
    last_close_usd: SourcedValue
    last_close_date: date
    daily_returns: FloatArray1D = field(repr=False)

    def __post_init__(self) -> None:
        self.daily_returns.setflags(write=False)

    @property
    def sigma_annual(self) -> float:
        """``sigma_daily · sqrt(365)`` (crypto trades every day)."""
        return self.sigma_daily.value * math.sqrt(365.0)

    def to_dict(self) -> dict[str, Any]:
        """Every figure with its source, as JSON-ready values (dates as ISO strings)."""

        def window(pair: tuple[date, date] | None) -> list[str] | None:
            return None if pair is None else [pair[0].isoformat(), pair[1].isoformat()]

        intraday = self.sigma_daily_intraday
        return {
            "cutoff": self.cutoff.isoformat(),
            "window_days": self.window_days,
            "sigma_daily": self.sigma_daily.to_dict(),
            "sigma_annual": self.sigma_annual,
            "sigma_window": window(self.sigma_window),
            "n_daily_returns": self.n_daily_returns,
            "sigma_daily_intraday": None if intraday is None else intraday.to_dict(),
            "intraday_bars": self.intraday_bars,
            "intraday_window": window(self.intraday_window),
            "n_intraday_returns": self.n_intraday_returns,
            "adv_eth": self.adv_eth.to_dict(),
            "adv_usd": self.adv_usd.to_dict(),
            "adv_source": self.adv_source,
            "adv_window": window(self.adv_window),
            "adv_days": self.adv_days,
            "impact_y": self.impact_y.to_dict(),
            "impact_y_range": list(self.impact_y_range),
            "last_close_usd": self.last_close_usd.to_dict(),
            "last_close_date": self.last_close_date.isoformat(),
        }

    def to_toml_section(self) -> str:
        """The scenario ``[market]`` section (TOML), with provenance in comments.

        Keys: ``sigma_daily``, ``adv_eth``, ``impact_y`` as ``{ value, source, estimate }``
        inline tables, ``impact_y_range`` as ``[low, high]`` and ``cutoff`` as a date, the
        shape :class:`delever.scenario.schema.MarketSpec` reads. Figures the schema has no
        key for (ADV in USD, the intraday check, the windows) are written as comments.
        """

        def inline(item: SourcedValue) -> str:
            source = json.dumps(item.source, ensure_ascii=False)
            estimate = "true" if item.estimate else "false"
            return (
                f"{{ value = {_toml_float(item.value)}, source = {source}, estimate = {estimate} }}"
            )

        lines = [
            f"# Written by `delever calibrate` (cut-off {self.cutoff.isoformat()}, window "
            f"{self.window_days} days). All market figures are estimates.",
            f"# sigma_daily: {self.n_daily_returns} daily log returns "
            f"{self.sigma_window[0]} .. {self.sigma_window[1]} "
            f"(annualised x sqrt(365): {self.sigma_annual:.4f}).",
        ]
        if self.sigma_daily_intraday is not None and self.intraday_window is not None:
            lines.append(
                f"# check: from {self.intraday_bars} bars {self.intraday_window[0]} .. "
                f"{self.intraday_window[1]}: sigma_daily = "
                f"{self.sigma_daily_intraday.value:.6f}."
            )
        lines += [
            f"# adv_eth: {self.adv_source}.",
            f"# adv_usd = {self.adv_usd.value:,.0f} (quote volume, USDT counted as USD).",
            f"# impact_y_range: {IMPACT_Y_SOURCE}.",
            f"# last close before the cut-off: {self.last_close_usd.value} USD on "
            f"{self.last_close_date}.",
            "[market]",
            f"sigma_daily = {inline(self.sigma_daily)}",
            f"adv_eth = {inline(self.adv_eth)}",
            f"impact_y = {inline(self.impact_y)}",
            f"impact_y_range = [{_toml_float(self.impact_y_range[0])}, "
            f"{_toml_float(self.impact_y_range[1])}]",
            f"cutoff = {self.cutoff.isoformat()}",
        ]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """A few lines for a terminal."""
        parts = [
            f"Market calibration, cut-off {self.cutoff} (data strictly before), "
            f"window {self.window_days} days",
            f"  sigma_daily  {self.sigma_daily.value:.5f}  ({self.n_daily_returns} daily returns "
            f"{self.sigma_window[0]} .. {self.sigma_window[1]}; annual {self.sigma_annual:.3f})",
        ]
        if self.sigma_daily_intraday is not None and self.intraday_window is not None:
            parts.append(
                f"  from {self.intraday_bars} bars {self.sigma_daily_intraday.value:.5f}  "
                f"({self.n_intraday_returns} bar returns {self.intraday_window[0]} .. "
                f"{self.intraday_window[1]})"
            )
        parts += [
            f"  ADV          {self.adv_eth.value:,.0f} ETH = ${self.adv_usd.value:,.0f}  "
            f"({self.adv_days} days {self.adv_window[0]} .. {self.adv_window[1]})",
            f"  impact Y     {self.impact_y.value} (range {self.impact_y_range[0]} - "
            f"{self.impact_y_range[1]}, literature)",
            f"  last close   ${self.last_close_usd.value:,.2f} on {self.last_close_date}",
        ]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()


def _toml_float(value: float) -> str:
    text = repr(float(value))
    return text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"


def as_date(value: date | datetime | str, field_name: str = "cutoff") -> date:
    """A date from a date, a datetime or an ISO string ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidArgument(f"{field_name}={value!r} is not a date; give YYYY-MM-DD.") from None


def _utc(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.isoformat(), tz="UTC")


def _consecutive_log_returns(close: pd.Series, step: pd.Timedelta) -> pd.Series:
    """Log returns between bars exactly ``step`` apart (gaps give no return), by end bar."""
    values = np.log(close.to_numpy(dtype=np.float64))
    index = pd.DatetimeIndex(close.index)
    keep = (index[1:] - index[:-1]) == step
    returns = pd.Series(np.diff(values)[keep], index=index[1:][keep], dtype=np.float64)
    return returns


def _intraday_sigma(
    data: MarketData, start: pd.Timestamp, end: pd.Timestamp, window_days: int
) -> tuple[SourcedValue, str, tuple[date, date], int] | None:
    """Intraday estimate: the finest bars covering >= MIN_INTRADAY_DAYS days of the window,
    else the last ``window_days`` of the coarsest bars before the cut-off."""
    candidates = []
    for name, hours, frame in data.intraday:
        step = pd.Timedelta(hours=hours)
        # a bar counts only once it has closed before the cut-off
        opens = pd.DatetimeIndex(frame.index)
        bars = frame.loc[opens + step <= end, "close_usd"]
        returns = _consecutive_log_returns(bars, step)
        candidates.append((name, hours, returns, frame.attrs.get("source", name)))
    chosen = None
    for name, hours, returns, source in candidates:
        inside = returns[returns.index >= start]
        if pd.DatetimeIndex(inside.index).normalize().nunique() >= MIN_INTRADAY_DAYS:
            chosen = (name, hours, inside, source, "")
            break
    if chosen is None:
        for name, hours, returns, source in reversed(candidates):
            if len(returns) == 0:
                continue
            last = returns.index[-1]
            first_day = last.normalize() - pd.Timedelta(days=window_days - 1)
            inside = returns[returns.index >= first_day]
            if pd.DatetimeIndex(inside.index).normalize().nunique() >= MIN_INTRADAY_DAYS:
                chosen = (
                    name,
                    hours,
                    inside,
                    source,
                    "; no intraday bars in the window, so the last window of bars before the "
                    "cut-off",
                )
                break
    if chosen is None:
        return None
    name, hours, inside, source, note = chosen
    sigma = float(np.std(inside.to_numpy(), ddof=1) * math.sqrt(24.0 / hours))
    first, last = inside.index[0].date(), inside.index[-1].date()
    text = (
        f"std of {len(inside)} {name} log returns {first}..{last} x sqrt({24.0 / hours:g}) "
        f"({source}; returns across missing bars skipped{note})"
    )
    return SourcedValue(sigma, text, True), name, (first, last), len(inside)


def calibrate(
    cutoff: date | datetime | str = DEFAULT_CUTOFF,
    window_days: int = DEFAULT_WINDOW_DAYS,
    *,
    impact_y: float = IMPACT_Y,
    impact_y_range: tuple[float, float] = IMPACT_Y_RANGE,
    data: MarketData | None = None,
) -> MarketCalibration:
    """Estimate σ, ADV and the last price from data strictly before ``cutoff``.

    Parameters
    ----------
    cutoff : date or ISO string
        First UTC day not used. Must not be after the day following the data's last day.
    window_days : int
        Days before the cut-off used for σ (>= 30); also the length of the ADV window.
    impact_y : float
        Square-root-law coefficient Y (default 1.0 from the literature, see Notes).
    impact_y_range : (float, float)
        Range of Y for sensitivity runs (default 0.5-1.5).
    data : MarketData, optional
        The frames to read (default: the shipped Binance data).

    Returns
    -------
    MarketCalibration

    Raises
    ------
    InvalidArgument
        A cut-off after the data, a window under 30 days, or a window holding fewer than 30
        daily returns or 30 days of volume.

    Notes
    -----
    σ_daily is the sample standard deviation (ddof 1) of ``log(C_d / C_{d-1})`` for the days
    ``d`` in ``[cutoff - window_days, cutoff)``; a day's bar closes at 23:59:59.999 UTC, so
    it lies wholly before the cut-off. The volume data end on 2025-06-24: the ADV is the mean
    daily volume over the last ``window_days`` days with volume before the cut-off, and
    ``adv_source`` / ``adv_window`` say which. The volume is Binance spot ETHUSDT only, a
    fraction of the whole ETH market. Y: square-root law ``I = Y σ sqrt(Q / V)``, with Y of
    order one in Tóth et al. (2011), Bouchaud et al. (2018) and, for Bitcoin, Donier & Bonart
    (2015); 1.0 and 0.5-1.5 are a judgement from those, labelled as an estimate.
    """
    day = as_date(cutoff)
    window_days, y, (low, high) = _check_calibration_args(window_days, impact_y, impact_y_range)
    data = MarketData.shipped() if data is None else data

    close = data.daily_close["close_usd"]
    last_day = close.index[-1].date()
    if day > last_day + timedelta(days=1):
        raise InvalidArgument(
            f"cutoff={day} is after the end of the data (last daily close {last_day}); give "
            f"a cut-off on or before {last_day + timedelta(days=1)}."
        )
    end = _utc(day)
    start = end - pd.Timedelta(days=window_days)
    before = close[close.index < end]
    returns = _window_returns(close, before, day, start, window_days)
    adv = _adv_fields(data, day, end, window_days)
    intraday = _intraday_sigma(data, start, end, window_days)
    last_close = float(before.iloc[-1])
    last_close_date = before.index[-1].date()
    return MarketCalibration(
        cutoff=day,
        window_days=window_days,
        **_sigma_fields(returns, data.close_source),
        sigma_daily_intraday=None if intraday is None else intraday[0],
        intraday_bars=None if intraday is None else intraday[1],
        intraday_window=None if intraday is None else intraday[2],
        n_intraday_returns=0 if intraday is None else intraday[3],
        **adv,
        impact_y=SourcedValue(y, IMPACT_Y_SOURCE, True),
        impact_y_range=(low, high),
        last_close_usd=SourcedValue(
            last_close, f"Binance ETHUSDT close of {last_close_date} ({data.close_source})", False
        ),
        last_close_date=last_close_date,
    )


def _sigma_fields(returns: pd.Series, close_source: str) -> dict[str, Any]:
    """σ_daily (sample std, ddof 1) of the window's daily log returns, and the returns."""
    sigma = float(np.std(returns.to_numpy(), ddof=1))
    sigma_window = (returns.index[0].date(), returns.index[-1].date())
    return {
        "sigma_daily": SourcedValue(
            sigma,
            f"std of {len(returns)} daily log returns {sigma_window[0]}..{sigma_window[1]}, "
            f"{close_source}",
            True,
        ),
        "sigma_window": sigma_window,
        "n_daily_returns": len(returns),
        "daily_returns": np.ascontiguousarray(returns.to_numpy(dtype=np.float64)),
    }


def _check_calibration_args(
    window_days: int, impact_y: float, impact_y_range: tuple[float, float]
) -> tuple[int, float, tuple[float, float]]:
    """The window as an int (in range), Y positive and inside its range."""
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer):
        raise InvalidArgument(f"window_days={window_days!r} must be a whole number of days.")
    window_days = int(window_days)
    if window_days < MIN_WINDOW_DAYS:
        raise InvalidArgument(f"window_days={window_days} must be at least {MIN_WINDOW_DAYS} days.")
    if window_days > MAX_WINDOW_DAYS:  # past this, date arithmetic overflows (no data anyway)
        raise InvalidArgument(f"window_days={window_days} must be at most {MAX_WINDOW_DAYS} days "
                              "(100 years; the data start in 2017).")
    y = check_positive("impact_y", impact_y)
    low, high = (float(v) for v in impact_y_range)
    if not (0 < low <= y <= high) or not math.isfinite(high):
        raise InvalidArgument(
            f"impact_y_range={impact_y_range!r} must be [low, high] with 0 < low <= "
            f"impact_y={y} <= high."
        )
    return window_days, y, (low, high)


def _window_returns(
    close: pd.Series, before: pd.Series, day: date, start: pd.Timestamp, window_days: int
) -> pd.Series:
    """Daily log returns of consecutive closes within ``[start, cutoff)`` (enough of them)."""
    returns = _consecutive_log_returns(before, pd.Timedelta(days=1))
    returns = returns[returns.index >= start]
    if len(returns) < MIN_DAILY_RETURNS:
        first = close.index[0].date()
        raise InvalidArgument(
            f"cutoff={day}, window_days={window_days}: the window holds {len(returns)} daily "
            f"returns, at least {MIN_DAILY_RETURNS} are needed (data start {first})."
        )
    return returns


def _adv_fields(
    data: MarketData, day: date, end: pd.Timestamp, window_days: int
) -> dict[str, Any]:
    """The ADV: mean daily volume over the last ``window_days`` days of volume before the
    cut-off, with what it is an average of."""
    volume = data.daily_volume.loc[data.daily_volume.index < end]
    if len(volume) == 0:
        raise InvalidArgument(f"cutoff={day}: no volume data before the cut-off.")
    volume_end = volume.index[-1]
    volume = volume[volume.index > volume_end - pd.Timedelta(days=window_days)]
    if len(volume) < MIN_VOLUME_DAYS:
        raise InvalidArgument(
            f"cutoff={day}, window_days={window_days}: {len(volume)} days of volume before "
            f"the cut-off, at least {MIN_VOLUME_DAYS} are needed."
        )
    adv_window = (volume.index[0].date(), volume.index[-1].date())
    adv_text = (
        f"mean daily volume over {len(volume)} days {adv_window[0]}..{adv_window[1]} of "
        f"{data.volume_source}; one venue and one pair, so the whole ETH market trades more"
    )
    if volume_end + pd.Timedelta(days=1) < end:
        adv_text += (
            f"; volume data end {volume_end.date()}, before the cut-off {day}, so this is "
            "the last window of volume before it"
        )
    return {
        "adv_eth": SourcedValue(float(volume["volume_eth"].mean()), adv_text, True),
        "adv_usd": SourcedValue(float(volume["quote_volume_usd"].mean()),
                                adv_text + "; USDT counted as USD", True),
        "adv_source": adv_text,
        "adv_window": adv_window,
        "adv_days": len(volume),
    }


__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_WINDOW_DAYS",
    "IMPACT_Y",
    "IMPACT_Y_RANGE",
    "IMPACT_Y_SOURCE",
    "GarchParams",
    "MarketCalibration",
    "MarketData",
    "SourcedValue",
    "as_date",
    "calibrate",
    "fit_garch",
]
