"""Exogenous ETH price paths: GBM, Merton jumps, GARCH(1,1), block bootstrap, replay.

Every generator returns a float64 array of shape ``(n_paths, n_steps + 1)`` whose first
column is the start price, in USD. All randomness comes from ``np.random.default_rng(seed)``
(an int seed or a :class:`numpy.random.Generator`), drawn here in Python; the kernels in
:mod:`delever.kernels.paths` only transform the draws, so the same seed gives the same bytes.

Antithetic variates (``antithetic=True``, GBM / Merton / GARCH): ``n_paths`` must be even;
path ``i + n_paths // 2`` uses the negated normal shocks of path ``i`` (Merton's jump
counts are shared by the pair).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from delever._typing import ArrayLike, FloatArray1D, FloatArray2D
from delever.errors import (
    InvalidArgument,
    check_finite,
    check_non_negative,
    check_positive,
    unknown_name,
)
from delever.kernels.paths import (
    garch_fill,
    gbm_fill,
    log_increments_to_prices,
    stationary_indices,
)
from delever.market.calibration import (
    GarchParams,
    MarketCalibration,
    as_date,
    calibrate,
    fit_garch,
)
from delever.market.loaders import eth_daily_close, read_klines_csv

Seed = int | np.random.Generator
BootstrapMethod = Literal["stationary", "moving"]


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidArgument(
            f"seed={seed!r} must be an int or a numpy Generator (np.random.default_rng(...))."
        )
    if seed < 0:
        raise InvalidArgument(f"seed={seed!r} must not be negative.")
    return np.random.default_rng(int(seed))


def _count(field: str, value: int, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgument(f"{field}={value!r} must be a whole number.")
    if value < minimum:
        raise InvalidArgument(f"{field}={value!r} must be at least {minimum}.")
    return int(value)


def _check_shape(n_paths: int, n_steps: int, antithetic: bool) -> tuple[int, int]:
    n_paths = _count("n_paths", n_paths)
    n_steps = _count("n_steps", n_steps)
    if antithetic and n_paths % 2:
        raise InvalidArgument(
            f"n_paths={n_paths} must be even with antithetic=True (paths come in pairs)."
        )
    return n_paths, n_steps


def _normals(rng: np.random.Generator, out: FloatArray2D, antithetic: bool) -> None:
    """Fill ``out`` (C-contiguous) with standard normals, the second half mirrored if asked."""
    if antithetic:
        half = out.shape[0] // 2
        rng.standard_normal(out=out[:half])
        np.negative(out[:half], out=out[half:])
    else:
        rng.standard_normal(out=out)


def gbm_paths(
    s0_usd: float,
    n_paths: int,
    n_steps: int,
    *,
    sigma_per_step: float,
    drift_per_step: float = 0.0,
    seed: int | np.random.Generator,
    antithetic: bool = False,
) -> FloatArray2D:
    """Geometric Brownian motion price paths, exact in law at the step times.

    Parameters
    ----------
    s0_usd : float
        Start price (USD), > 0.
    n_paths, n_steps : int
        Number of paths and of steps per path (>= 1).
    sigma_per_step : float
        Volatility of the log return over one step (fraction; daily σ × sqrt(step in days)).
    drift_per_step : float
        Drift μ per step (fraction): ``E[S_{k+1} / S_k] = exp(μ)``. Default 0 (a martingale).
    seed : int or numpy.random.Generator
        Source of all randomness.
    antithetic : bool
        Pair path ``i`` with path ``i + n_paths // 2`` on negated shocks (n_paths even).

    Returns
    -------
    (n_paths, n_steps + 1) float64
        ``out[:, 0] == s0_usd``.

    Notes
    -----
    ``log S_k = log S_{k-1} + (μ - σ²/2) + σ z_k``, ``z_k ~ N(0, 1)`` i.i.d., so
    ``E[S_n] = s0 exp(nμ)`` and ``Var[log S_n] = nσ²`` (Black-Scholes dynamics, e.g. Hull,
    *Options, Futures and Other Derivatives*, ch. 15). One normal is drawn per path for the
    start column and discarded, so that the whole array is drawn in one contiguous call.
    """
    s0 = check_positive("s0_usd", s0_usd)
    sigma = check_non_negative("sigma_per_step", sigma_per_step)
    mu = check_finite("drift_per_step", drift_per_step)
    n_paths, n_steps = _check_shape(n_paths, n_steps, antithetic)
    rng = _rng(seed)
    out = np.empty((n_paths, n_steps + 1), dtype=np.float64)
    _normals(rng, out, antithetic)
    gbm_fill(out, s0, mu - 0.5 * sigma * sigma, sigma)
    return out


# Merton jumps for ETH, ILLUSTRATIVE (not fitted): about one jump every 50 days, of mean
# -5% and standard deviation 5% in the log price.
DEFAULT_JUMP_INTENSITY_PER_DAY = 0.02
DEFAULT_JUMP_MEAN = -0.05
DEFAULT_JUMP_STD = 0.05


def merton_paths(
    s0_usd: float,
    n_paths: int,
    n_steps: int,
    *,
    sigma_per_step: float,
    jump_intensity_per_step: float,
    jump_mean: float,
    jump_std: float,
    drift_per_step: float = 0.0,
    seed: int | np.random.Generator,
    antithetic: bool = False,
) -> FloatArray2D:
    """Merton (1976) jump-diffusion price paths: GBM plus Poisson jumps in the log price.

    Parameters
    ----------
    s0_usd : float
        Start price (USD), > 0.
    n_paths, n_steps : int
        Number of paths and steps.
    sigma_per_step : float
        Diffusion volatility of the log return per step (fraction).
    jump_intensity_per_step : float
        Poisson rate λ of jumps per step (>= 0).
    jump_mean, jump_std : float
        Mean m and standard deviation s (>= 0) of each log jump size ``Y ~ N(m, s²)``.
    drift_per_step : float
        Total drift μ per step: ``E[S_{k+1} / S_k] = exp(μ)`` (jumps compensated).
    seed : int or numpy.random.Generator
        Source of all randomness.
    antithetic : bool
        Negate the diffusion and jump-size normals in the second half (jump counts shared).

    Returns
    -------
    (n_paths, n_steps + 1) float64

    Notes
    -----
    Merton, "Option pricing when underlying stock returns are discontinuous", J. Financial
    Economics 3 (1976). Per step: ``N ~ Poisson(λ)``, log return
    ``(μ - σ²/2 - λκ) + σ z + m N + s sqrt(N) z'`` with ``κ = exp(m + s²/2) - 1``; the
    ``-λκ`` term compensates the jumps so that ``E[S_n] = s0 exp(nμ)``. The sum of ``N``
    i.i.d. ``N(m, s²)`` jumps is drawn exactly as ``m N + s sqrt(N) z'``.
    Total variance of a step's log return: ``σ² + λ(m² + s²)``.
    """
    s0 = check_positive("s0_usd", s0_usd)
    sigma = check_non_negative("sigma_per_step", sigma_per_step)
    lam = check_non_negative("jump_intensity_per_step", jump_intensity_per_step)
    m = check_finite("jump_mean", jump_mean)
    s = check_non_negative("jump_std", jump_std)
    mu = check_finite("drift_per_step", drift_per_step)
    n_paths, n_steps = _check_shape(n_paths, n_steps, antithetic)
    rng = _rng(seed)
    kappa = math.expm1(m + 0.5 * s * s)
    out = np.empty((n_paths, n_steps + 1), dtype=np.float64)
    _normals(rng, out, antithetic)
    jump_z = np.empty((n_paths, n_steps), dtype=np.float64)
    _normals(rng, jump_z, antithetic)
    half = n_paths // 2 if antithetic else n_paths
    counts = rng.poisson(lam, size=(half, n_steps)).astype(np.float64)
    if antithetic:
        counts = np.concatenate([counts, counts])
    inc = out[:, 1:]
    inc *= sigma
    inc += mu - 0.5 * sigma * sigma - lam * kappa
    inc += m * counts
    np.sqrt(counts, out=counts)
    counts *= s
    counts *= jump_z
    inc += counts
    log_increments_to_prices(out, s0)
    return out


def garch_paths(
    s0_usd: float,
    n_paths: int,
    n_steps: int,
    *,
    params: GarchParams,
    seed: int | np.random.Generator,
    sigma2_start: float | None = None,
    antithetic: bool = False,
) -> FloatArray2D:
    """GARCH(1,1) price paths from fitted parameters (log returns, normal shocks).

    Parameters
    ----------
    s0_usd : float
        Start price (USD), > 0.
    n_paths, n_steps : int
        Number of paths and steps (one step = the sampling interval of the fitted returns).
    params : GarchParams
        From :func:`delever.market.calibration.fit_garch` (fractions, not percent).
    seed : int or numpy.random.Generator
        Source of all randomness.
    sigma2_start : float, optional
        Conditional variance of the step before the first (fraction²); that step's residual
        is then taken at its expected size, ``eps² = sigma2_start``. Default: where the
        parameters come from a fit, its last variance and residual (the first step gets the
        one-step forecast ``ω + α ε_T² + β σ_T²``); otherwise the stationary start
        ``σ² = eps² = ω / (1 - α - β)``.
    antithetic : bool
        Negate the shocks in the second half (the variance paths of a pair coincide).

    Returns
    -------
    (n_paths, n_steps + 1) float64

    Notes
    -----
    ``σ²_k = ω + α ε²_{k-1} + β σ²_{k-1}``, ``ε_k = σ_k z_k``, ``log S_k = log S_{k-1} + μ +
    ε_k`` (Bollerslev, J. Econometrics 31, 1986). The loop over steps runs in a numba kernel,
    parallel over paths; the shocks are drawn here.
    """
    s0 = check_positive("s0_usd", s0_usd)
    n_paths, n_steps = _check_shape(n_paths, n_steps, antithetic)
    if sigma2_start is not None:
        start = check_positive("sigma2_start", sigma2_start)
        eps_0 = math.sqrt(start)
    elif params.last_variance is not None:
        start = params.last_variance
        eps_0 = params.last_residual if params.last_residual is not None else math.sqrt(start)
    elif params.persistence < 1.0:
        start = params.unconditional_variance
        eps_0 = math.sqrt(start)
    else:
        raise InvalidArgument(
            f"alpha + beta = {params.persistence:.4f} >= 1: no unconditional variance to "
            "start from; give sigma2_start."
        )
    rng = _rng(seed)
    out = np.empty((n_paths, n_steps + 1), dtype=np.float64)
    _normals(rng, out, antithetic)
    garch_fill(out, s0, params.mu, params.omega, params.alpha, params.beta, start, eps_0)
    return out


def _returns_array(returns: ArrayLike) -> FloatArray1D:
    data = np.ascontiguousarray(np.asarray(returns, dtype=np.float64).ravel())
    if data.size < 2:
        raise InvalidArgument(f"returns has {data.size} values; give at least 2 log returns.")
    if not np.isfinite(data).all():
        bad = int(np.flatnonzero(~np.isfinite(data))[0])
        raise InvalidArgument(f"returns[{bad}]={data[bad]!r} must be finite; drop gaps first.")
    return data


def bootstrap_indices(
    n_returns: int,
    n_paths: int,
    n_steps: int,
    *,
    block_length: float,
    method: BootstrapMethod = "stationary",
    seed: int | np.random.Generator,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Indices into a returns array for a block bootstrap, shape ``(n_paths, n_steps)``.

    Parameters
    ----------
    n_returns : int
        Length of the returns array.
    n_paths, n_steps : int
        Output shape.
    block_length : float
        Mean block length (stationary) or the block length (moving, rounded down), >= 1.
    method : {"stationary", "moving"}
        Politis-Romano stationary bootstrap (geometric block lengths, circular wrap) or the
        Künsch (1989) moving-block bootstrap (fixed blocks inside the data, no wrap).
    seed : int or numpy.random.Generator
        Source of all randomness.

    Returns
    -------
    (n_paths, n_steps) int64
    """
    n_returns = _count("n_returns", n_returns, minimum=2)
    n_paths, n_steps = _check_shape(n_paths, n_steps, False)
    length = check_positive("block_length", block_length)
    if length < 1:
        raise InvalidArgument(f"block_length={block_length!r} must be at least 1 step.")
    rng = _rng(seed)
    if method == "stationary":
        new_block = rng.random((n_paths, n_steps)) < 1.0 / length
        new_block[:, 0] = True
        starts = rng.integers(0, n_returns, size=(n_paths, n_steps), dtype=np.int64)
        result: np.ndarray[Any, np.dtype[np.int64]] = stationary_indices(
            new_block, starts, n_returns
        )
        return result
    if method == "moving":
        block = int(length)
        if block > n_returns:
            raise InvalidArgument(
                f"block_length={block} is longer than the {n_returns} returns given."
            )
        n_blocks = -(-n_steps // block)
        starts = rng.integers(0, n_returns - block + 1, size=(n_paths, n_blocks), dtype=np.int64)
        idx = starts[:, :, None] + np.arange(block, dtype=np.int64)[None, None, :]
        return np.ascontiguousarray(idx.reshape(n_paths, n_blocks * block)[:, :n_steps])
    raise unknown_name("method", str(method), ("stationary", "moving"))


def bootstrap_paths(
    s0_usd: float,
    n_paths: int,
    n_steps: int,
    *,
    returns: ArrayLike,
    block_length: float = 10.0,
    method: BootstrapMethod = "stationary",
    seed: int | np.random.Generator,
) -> FloatArray2D:
    """Price paths from a block bootstrap of observed log returns.

    Parameters
    ----------
    s0_usd : float
        Start price (USD), > 0.
    n_paths, n_steps : int
        Number of paths and steps (one step = the sampling interval of ``returns``).
    returns : array-like of float
        Observed log returns (e.g. ``np.diff(np.log(close))``), finite, at least 2.
    block_length : float
        Mean block length (stationary) or block length (moving), in steps. Blocks keep the
        short-range dependence (volatility clusters) of the data.
    method : {"stationary", "moving"}
        See :func:`bootstrap_indices`.
    seed : int or numpy.random.Generator
        Source of all randomness.

    Returns
    -------
    (n_paths, n_steps + 1) float64

    Notes
    -----
    Politis & Romano, "The stationary bootstrap", JASA 89 (1994); Künsch, "The jackknife and
    the bootstrap for general stationary observations", Ann. Statist. 17 (1989). Each path is
    ``s0 · exp(cumsum(returns[idx]))``: the marginal distribution of a step's return is the
    empirical one.
    """
    s0 = check_positive("s0_usd", s0_usd)
    data = _returns_array(returns)
    idx = bootstrap_indices(
        data.size, n_paths, n_steps, block_length=block_length, method=method, seed=seed
    )
    out = np.empty((idx.shape[0], idx.shape[1] + 1), dtype=np.float64)
    np.take(data, idx, out=out[:, 1:])
    log_increments_to_prices(out, s0)
    return out


def _close_series(
    source: FloatArray1D | pd.Series | pd.DataFrame | str | PathLike[str],
) -> FloatArray1D:
    if isinstance(source, str | PathLike):
        source = read_klines_csv(Path(source))
    if isinstance(source, pd.DataFrame):
        for name in ("close_usd", "close"):
            if name in source.columns:
                source = source[name]
                break
        else:
            raise InvalidArgument(
                f"prices: the DataFrame has no close_usd or close column (has "
                f"{', '.join(map(str, source.columns))})."
            )
    prices = np.ascontiguousarray(np.asarray(source, dtype=np.float64).ravel())
    if prices.size < 2:
        raise InvalidArgument(f"prices has {prices.size} values; give at least 2 prices.")
    bad = ~np.isfinite(prices) | (prices <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(f"prices[{i}]={prices[i]!r} must be a finite price > 0.")
    return prices


def replay_paths(
    prices: FloatArray1D | pd.Series | pd.DataFrame | str | PathLike[str],
    n_steps: int | None = None,
    *,
    n_paths: int = 1,
    start: int = 0,
    stride: int = 1,
    s0_usd: float | None = None,
) -> FloatArray2D:
    """Historical prices replayed as paths: one window, or sliding windows as several paths.

    Parameters
    ----------
    prices : array, Series, DataFrame or path
        Observed prices in time order (a DataFrame's ``close_usd`` or ``close`` column; a
        path is read with :func:`~delever.market.loaders.read_klines_csv`).
    n_steps : int, optional
        Steps per path. Default: all that fit after ``start`` (with ``n_paths = 1``).
    n_paths : int
        Number of windows; window ``i`` starts at ``start + i * stride``.
    start : int
        Position of the first window's first price.
    stride : int
        Shift between windows, in observations (>= 1).
    s0_usd : float, optional
        Rescale each window so it starts at this price (returns kept). Default: the
        observed prices.

    Returns
    -------
    (n_paths, n_steps + 1) float64

    Notes
    -----
    Deterministic: no randomness. Gaps in the data are not filled; a window spans whatever
    observations the input holds (use :func:`~delever.market.loaders.eth_daily_close`, which
    has none, for daily replays).
    """
    data = _close_series(prices)
    n_paths = _count("n_paths", n_paths)
    stride = _count("stride", stride)
    start = _count("start", start, minimum=0)
    if start >= data.size - 1:
        raise InvalidArgument(
            f"start={start} leaves no step to replay; the data has {data.size} prices."
        )
    if n_steps is None:
        if n_paths != 1:
            raise InvalidArgument("n_steps must be given with n_paths > 1 (sliding windows).")
        n_steps = data.size - 1 - start
    n_steps = _count("n_steps", n_steps)
    last = start + (n_paths - 1) * stride + n_steps
    if last >= data.size:
        fit = (data.size - 1 - start - n_steps) // stride + 1
        raise InvalidArgument(
            f"n_paths={n_paths} windows of n_steps={n_steps} from start={start} with "
            f"stride={stride} need {last + 1} prices, the data has {data.size}; at most "
            f"{max(fit, 0)} such windows fit."
        )
    rows = start + stride * np.arange(n_paths)[:, None] + np.arange(n_steps + 1)[None, :]
    out = np.ascontiguousarray(data[rows])
    if s0_usd is not None:
        s0 = check_positive("s0_usd", s0_usd)
        out *= s0 / out[:, :1]
        out[:, 0] = s0
    return out


PathGenerator = Callable[..., FloatArray2D]

MODELS: dict[str, PathGenerator] = {
    "gbm": gbm_paths,
    "merton": merton_paths,
    "garch": garch_paths,
    "bootstrap": bootstrap_paths,
    "replay": replay_paths,
}


def generate_paths(model: str, **kwargs: Any) -> FloatArray2D:
    """Call the path generator named ``model`` with ``kwargs``.

    Parameters
    ----------
    model : {"gbm", "merton", "garch", "bootstrap", "replay"}
        The generator: :func:`gbm_paths`, :func:`merton_paths`, :func:`garch_paths`,
        :func:`bootstrap_paths`, :func:`replay_paths`.
    **kwargs
        That generator's arguments, by name.

    Returns
    -------
    (n_paths, n_steps + 1) float64

    Raises
    ------
    InvalidArgument
        An unknown model (with close matches), or an argument the model does not take.
    """
    func = MODELS.get(model)
    if func is None:
        raise unknown_name("model", model, MODELS)
    try:
        inspect.signature(func).bind(**kwargs)
    except TypeError as exc:
        raise InvalidArgument(f"model={model!r}: {exc}.") from None
    return func(**kwargs)



# --- price models by name, in daily units and from a market calibration ------------------------

DEFAULT_BLOCK_DAYS = 10.0
BOOTSTRAP_METHODS = ("stationary", "moving")


@dataclass(frozen=True)
class PathRequest:
    """A draw of exogenous price paths, in the units a user gives (days, daily figures).

    ``s0_usd`` None: the calibration's last close; ``sigma_daily`` None: the calibrated daily
    volatility. ``step_days`` and ``drift_daily`` apply to gbm and merton, the jump figures to
    merton, ``block_days`` and ``bootstrap_method`` to bootstrap, ``replay_start`` (a day,
    default the last one before the cut-off) and ``stride_days`` to replay; ``antithetic`` to
    gbm, merton and garch. The other models' fields are not read.
    """

    n_paths: int
    n_steps: int
    seed: int = 0
    s0_usd: float | None = None
    sigma_daily: float | None = None
    drift_daily: float = 0.0
    step_days: float = 1.0
    antithetic: bool = False
    jump_intensity_per_day: float = DEFAULT_JUMP_INTENSITY_PER_DAY
    jump_mean: float = DEFAULT_JUMP_MEAN
    jump_std: float = DEFAULT_JUMP_STD
    block_days: float = DEFAULT_BLOCK_DAYS
    bootstrap_method: str = "stationary"
    replay_start: date | str | None = None
    stride_days: int = 1


@dataclass(frozen=True, eq=False)
class DrawnPaths:
    """Paths, ``(n_paths, n_steps + 1)`` USD, and the parameters the model used (JSON-able)."""

    paths_usd: FloatArray2D
    params: dict[str, Any]


@dataclass(frozen=True)
class _Draw:
    """One request against one calibration: the resolved start and volatility."""

    request: PathRequest
    calibration: MarketCalibration
    s0_usd: float
    sigma_daily: float

    def returns_text(self) -> str:
        cal = self.calibration
        return (f"{cal.n_daily_returns} daily log returns "
                f"{cal.sigma_window[0]}..{cal.sigma_window[1]}")


def _gbm(draw: _Draw) -> DrawnPaths:
    r = draw.request
    params: dict[str, Any] = {"sigma_per_step": draw.sigma_daily * math.sqrt(r.step_days),
                              "drift_per_step": r.drift_daily * r.step_days}
    paths = generate_paths("gbm", s0_usd=draw.s0_usd, n_paths=r.n_paths, n_steps=r.n_steps,
                           seed=r.seed, antithetic=r.antithetic, **params)
    return DrawnPaths(paths, params)


def _merton(draw: _Draw) -> DrawnPaths:
    """Jumps with the diffusion lowered so that the total daily variance is sigma_daily²."""
    r, sigma = draw.request, draw.sigma_daily
    lam, m, s = r.jump_intensity_per_day, r.jump_mean, r.jump_std
    jump_var = lam * (m * m + s * s)
    if jump_var >= sigma * sigma:
        raise InvalidArgument(
            f"jump variance per day {jump_var:.6g} (intensity x (mean² + std²)) must be "
            f"below sigma_daily² = {sigma * sigma:.6g}; lower --jump-intensity or sizes."
        )
    kwargs: dict[str, Any] = {
        "sigma_per_step": math.sqrt((sigma * sigma - jump_var) * r.step_days),
        "jump_intensity_per_step": lam * r.step_days,
        "jump_mean": m,
        "jump_std": s,
        "drift_per_step": r.drift_daily * r.step_days,
    }
    paths = generate_paths("merton", s0_usd=draw.s0_usd, n_paths=r.n_paths, n_steps=r.n_steps,
                           seed=r.seed, antithetic=r.antithetic, **kwargs)
    illustrative = (lam, m, s) == (DEFAULT_JUMP_INTENSITY_PER_DAY, DEFAULT_JUMP_MEAN,
                                   DEFAULT_JUMP_STD)
    return DrawnPaths(paths, {**kwargs, "jump_defaults_illustrative": illustrative})


def _garch(draw: _Draw) -> DrawnPaths:
    r, cal = draw.request, draw.calibration
    fitted = fit_garch(cal.daily_returns, source=f"GARCH(1,1) fit on {draw.returns_text()}")
    paths = generate_paths("garch", s0_usd=draw.s0_usd, n_paths=r.n_paths, n_steps=r.n_steps,
                           params=fitted, seed=r.seed, antithetic=r.antithetic)
    return DrawnPaths(paths, fitted.to_dict())


def _bootstrap(draw: _Draw) -> DrawnPaths:
    r = draw.request
    params: dict[str, Any] = {"block_length": r.block_days, "method": r.bootstrap_method,
                              "returns": draw.returns_text()}
    if r.bootstrap_method not in BOOTSTRAP_METHODS:
        raise unknown_name("bootstrap_method", r.bootstrap_method, BOOTSTRAP_METHODS)
    paths = generate_paths("bootstrap", s0_usd=draw.s0_usd, n_paths=r.n_paths,
                           n_steps=r.n_steps, returns=draw.calibration.daily_returns,
                           block_length=r.block_days, method=r.bootstrap_method, seed=r.seed)
    return DrawnPaths(paths, params)


def _replay(draw: _Draw) -> DrawnPaths:
    """Windows of the shipped daily closes from ``replay_start``, rescaled to ``s0_usd`` only
    when one was given."""
    r = draw.request
    closes = eth_daily_close()
    first = (draw.calibration.cutoff - timedelta(days=1) if r.replay_start is None
             else as_date(r.replay_start, "replay_start"))
    position = np.flatnonzero(pd.DatetimeIndex(closes.index).date == first)
    if position.size == 0:
        raise InvalidArgument(
            f"replay_start={first} is outside the daily data "
            f"({closes.index[0].date()}..{closes.index[-1].date()})."
        )
    paths = generate_paths("replay", prices=closes["close_usd"], n_steps=r.n_steps,
                           n_paths=r.n_paths, start=int(position[0]), stride=r.stride_days,
                           s0_usd=r.s0_usd)
    return DrawnPaths(paths, {"replay_start": first.isoformat(), "stride_days": r.stride_days,
                              "rescaled": r.s0_usd is not None})


PATH_MODELS: dict[str, Callable[[_Draw], DrawnPaths]] = {
    "gbm": _gbm,
    "merton": _merton,
    "garch": _garch,
    "bootstrap": _bootstrap,
    "replay": _replay,
}


def draw_paths(
    model: str, request: PathRequest, calibration: MarketCalibration | None = None
) -> DrawnPaths:
    """Paths of the price model named ``model`` (gbm, merton, garch, bootstrap, replay) from
    a request in daily units, calibrated on ``calibration`` (default: :func:`calibrate` with
    its default cut-off and window). The model's raw generator is :func:`generate_paths`.

    Raises
    ------
    InvalidArgument
        An unknown model (with close matches); a ``sigma_daily`` that is not positive; a
        merton jump variance at or above sigma_daily²; an unknown bootstrap method; a
        replay start outside the data.
    """
    draw_model = PATH_MODELS.get(model)
    if draw_model is None:
        raise unknown_name("model", model, PATH_MODELS)
    cal = calibration if calibration is not None else calibrate()
    sigma = (cal.sigma_daily.value if request.sigma_daily is None
             else check_positive("sigma_daily", request.sigma_daily))
    s0 = request.s0_usd if request.s0_usd is not None else cal.last_close_usd.value
    return draw_model(_Draw(request, cal, s0, sigma))


__all__ = [
    "BOOTSTRAP_METHODS",
    "DEFAULT_BLOCK_DAYS",
    "DEFAULT_JUMP_INTENSITY_PER_DAY",
    "DEFAULT_JUMP_MEAN",
    "DEFAULT_JUMP_STD",
    "MODELS",
    "PATH_MODELS",
    "DrawnPaths",
    "PathRequest",
    "bootstrap_indices",
    "bootstrap_paths",
    "draw_paths",
    "garch_paths",
    "gbm_paths",
    "generate_paths",
    "merton_paths",
    "replay_paths",
]
