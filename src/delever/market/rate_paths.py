"""Paths of an ETH derivative's value in ETH (wstETH, weETH): contract rate x market factor.

Model
-----
The ETH value of one unit of the derivative at time ``t`` (years of 365 days) is

    V_t = R_t · m_t,

- ``R_t``, the **contract rate** (ETH per unit by the token's own contract). It is what Aave's
  oracle reads: Aave v3's wstETH price is ``min(ratio, capped ratio) × ETH/USD`` with
  ``ratio = stETH.getPooledEthByShares(1e18)`` (bgd-labs/aave-capo @
  8e51df14cbd8503ee78b940089dbec3e9f0fd79a, ``src/contracts/lst-adapters/
  WstETHPriceCapAdapter.sol`` ``getRatio``; the cap ``snapshotRatio + maxRatioGrowthPerSecond
  × (now − snapshotTimestamp)`` is in ``src/contracts/PriceCapAdapterBase.sol``
  ``latestAnswer`` @ 056c225399519cea32ed6c0b3cc7c156b386b572). The stETH/ETH *market* feed is
  not read: the earlier ``CLwstETHSynchronicityPriceAdapter`` (bgd-labs/
  cl-synchronicity-price-adapter @ d7589fc1cef777d978c0d1f67553fd1127b5184c) multiplied by the
  Chainlink stETH/ETH feed too; CAPO replaced it. So against WETH debt in e-mode the health
  factor moves with ``R_t`` only, while an exit sale gets ``R_t · m_t``. (The cap only binds
  when the rate grows faster than the cap allows; a jump *down* is never capped.) weETH is
  read the same way, ``ratio = weETH.getRate()`` (same repository @
  886186ece2459a569eb4fbfd0d35768749f97f5d, ``src/contracts/lst-adapters/
  WeETHPriceCapAdapter.sol``); no weETH/ETH market data ship, so its discount uses the stETH
  fit unless given by hand (:meth:`DepegParams.given`). Here
  ``R_t = R_0 · exp(y t) · (1 − J)^{N_t}``: the staking yield ``y`` (continuously
  compounded, per year) accrues exactly, and ``N_t`` is a Poisson process of slashing events
  of intensity ``λ`` per year, each cutting the rate by the **fixed** fraction ``J``.
- ``m_t = 1 − d_t``, the **market factor**: ``d_t`` is the discount of the market price to the
  contract rate (what an exit sale gets, before its own price impact). ``d_t`` is an
  Ornstein–Uhlenbeck process ``dd = κ (μ − d) dt + σ dW``, simulated with its exact
  transition ``d_{t+Δ} = μ + (d_t − μ) e^{−κΔ} + σ sqrt((1 − e^{−2κΔ}) / (2κ)) z``
  (Gaussian, so ``d`` may go negative: a premium, as the data show at times).

The OU parameters are fitted (:func:`fit_depeg`) on the Chainlink stETH/ETH feed rounds: the
answer (18 decimals) is stETH's market price in ETH, and one stETH is one ETH by contract, so
``d = 1 − answer``. The fit is exact maximum likelihood for irregular intervals (each
interval's own transition), with ``μ`` and ``σ`` profiled out in closed form and ``κ`` found
by scipy's bounded Brent search. The feed updates on a deviation threshold as well as a daily
heartbeat, so its extra rounds come when the discount swings; the shipped fit therefore uses
the last round of each UTC day (see :func:`fit_depeg`, Notes). The fitted figures ship in
``delever/data/chainlink/steth_eth_depeg.json`` (:func:`shipped_depeg_params`); the rounds
themselves do not (on-chain facts with no licence file: only derived numbers are shipped).

Randomness: ``seed`` -> ``np.random.SeedSequence(seed)`` -> two children, child 0 for the
slashing counts and child 1 for the OU normals, so changing the depeg parameters never
changes the slashing draws and vice versa; the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

from delever._typing import FloatArray1D, FloatArray2D
from delever.errors import (
    InvalidArgument,
    check_finite,
    check_non_negative,
    check_positive,
)
from delever.market.calibration import SourcedValue, as_date

DAYS_PER_YEAR = 365.0  # Aave's PriceCapAdapterBase: SECONDS_PER_YEAR = 365 days
ANSWER_SCALE = 10**18  # the Chainlink stETH/ETH feed answers with 18 decimals
SHIPPED_FILE = "steth_eth_depeg.json"
# kappa search bounds (per year): a half-life between ~7 minutes and ~700 years
KAPPA_BOUNDS_PER_YEAR = (1e-3, 1e5)
MIN_FIT_ROUNDS = 30
SeedLike = int | np.random.SeedSequence


@dataclass(frozen=True)
class DepegParams:
    """Ornstein–Uhlenbeck parameters of the discount ``d = 1 − market/contract``.

    Attributes
    ----------
    mu : SourcedValue
        Long-run mean discount (fraction; 0.002 = 0.2%).
    kappa_per_year : SourcedValue
        Mean-reversion speed (1/year); half-life ``ln 2 / κ`` years.
    sigma_per_sqrt_year : SourcedValue
        Volatility of ``d`` (fraction per sqrt(year)).
    window : (date, date) or None
        First and last UTC day of the rounds fitted (None for parameters given by hand).
    cutoff : date or None
        No round at or after this UTC day was used.
    n_rounds : int
        Rounds fitted (0 for parameters given by hand).
    loglikelihood : float or None
        Log-likelihood of the fit (conditional on the first round).
    """

    mu: SourcedValue
    kappa_per_year: SourcedValue
    sigma_per_sqrt_year: SourcedValue
    window: tuple[date, date] | None = None
    cutoff: date | None = None
    n_rounds: int = 0
    loglikelihood: float | None = None

    def __post_init__(self) -> None:
        check_finite("mu", self.mu.value)
        check_positive("kappa_per_year", self.kappa_per_year.value)
        check_non_negative("sigma_per_sqrt_year", self.sigma_per_sqrt_year.value)

    @classmethod
    def given(cls, mu: float, kappa_per_year: float, sigma_per_sqrt_year: float,
              source: str = "user input") -> DepegParams:
        """Parameters given by hand (``estimate=False``, ``source`` as told)."""
        return cls(SourcedValue(float(mu), source, False),
                   SourcedValue(float(kappa_per_year), source, False),
                   SourcedValue(float(sigma_per_sqrt_year), source, False))

    @property
    def stationary_std(self) -> float:
        """``σ / sqrt(2κ)``: the standard deviation of ``d`` in the long run (fraction)."""
        return self.sigma_per_sqrt_year.value / math.sqrt(2.0 * self.kappa_per_year.value)

    @property
    def half_life_days(self) -> float:
        """``ln 2 / κ`` in days."""
        return math.log(2.0) / self.kappa_per_year.value * DAYS_PER_YEAR

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings)."""
        return {
            "mu": self.mu.to_dict(),
            "kappa_per_year": self.kappa_per_year.to_dict(),
            "sigma_per_sqrt_year": self.sigma_per_sqrt_year.to_dict(),
            "window": None if self.window is None else [d.isoformat() for d in self.window],
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "n_rounds": self.n_rounds,
            "loglikelihood": self.loglikelihood,
            "stationary_std": self.stationary_std,
            "half_life_days": self.half_life_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DepegParams:
        """The inverse of :meth:`to_dict` (derived fields ignored)."""

        def sourced(key: str) -> SourcedValue:
            item = data[key]
            return SourcedValue(float(item["value"]), str(item["source"]), bool(item["estimate"]))

        window = data.get("window")
        cutoff = data.get("cutoff")
        return cls(
            mu=sourced("mu"),
            kappa_per_year=sourced("kappa_per_year"),
            sigma_per_sqrt_year=sourced("sigma_per_sqrt_year"),
            window=None if window is None else (date.fromisoformat(window[0]),
                                                date.fromisoformat(window[1])),
            cutoff=None if cutoff is None else date.fromisoformat(cutoff),
            n_rounds=int(data.get("n_rounds", 0)),
            loglikelihood=data.get("loglikelihood"),
        )


# --- reading the rounds -------------------------------------------------------------------------


def read_steth_eth_rounds(path: str | PathLike[str]) -> pd.DataFrame:
    """Chainlink stETH/ETH rounds as fetched by sajanrajdev/ape-chainlink-fetcher.

    Parameters
    ----------
    path : str or path
        CSV with columns ``(index), round, answer, start, update, answeredInRound``; ``answer``
        has 18 decimals (stETH price in ETH), ``update`` is a unix time in seconds.

    Returns
    -------
    DataFrame
        Indexed by the update time (UTC, ascending, unique), columns ``price_eth`` (answer /
        1e18) and ``discount`` (``1 − price_eth``). ``attrs["source"]`` names the file and
        ``attrs["dropped"]`` says which rows were dropped and why.

    Notes
    -----
    Dropped: rows whose answer or update time is not a positive integer (the fetcher writes
    an all-zero row for a missing round), rows answered in an earlier round (stale:
    ``answeredInRound < round``), and later rows repeating an update time.
    """
    file = Path(path)
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        why = " ".join(str(exc).split())  # pandas' messages span lines
        raise InvalidArgument(f"path={str(file)!r}: cannot read the rounds ({why}).") from None
    missing = {"round", "answer", "update", "answeredInRound"} - set(raw.columns)
    if missing:
        raise InvalidArgument(f"path={str(file)!r}: no column {', '.join(sorted(missing))}.")
    answer = [_as_int(v) for v in raw["answer"]]
    update = [_as_int(v) for v in raw["update"]]
    rounds = [_as_int(v) for v in raw["round"]]
    answered = [_as_int(v) for v in raw["answeredInRound"]]
    bad = [a is None or a <= 0 or u is None or u <= 0 for a, u in zip(answer, update, strict=True)]
    stale = [not b and r is not None and q is not None and q < r
             for b, r, q in zip(bad, rounds, answered, strict=True)]
    keep = [not (b or s) for b, s in zip(bad, stale, strict=True)]
    # int / int is correctly rounded in Python: the 18-decimal answer loses nothing extra
    price = [a / ANSWER_SCALE for a, k in zip(answer, keep, strict=True) if k and a is not None]
    seconds = np.asarray([u for u, k in zip(update, keep, strict=True) if k], dtype=np.int64)
    times = pd.to_datetime(seconds, unit="s", utc=True)
    frame = pd.DataFrame({"price_eth": np.asarray(price, dtype=np.float64)}, index=times)
    frame = frame.sort_index(kind="stable")
    duplicated = frame.index.duplicated(keep="first")
    frame = frame[~duplicated]
    frame.index.name = "time"
    frame["discount"] = 1.0 - frame["price_eth"]
    frame.attrs["source"] = file.name
    frame.attrs["dropped"] = (f"{sum(bad)} rows with a non-positive or unreadable answer or "
                              f"update time, {sum(stale)} stale rows (answeredInRound < round), "
                              f"{int(duplicated.sum())} rows repeating an update time")
    return frame


def _as_int(text: str) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


# --- the fit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ProfileFit:
    kappa: float
    mu: float
    sigma: float
    loglikelihood: float


def _profile(kappa: float, x_prev: FloatArray1D, x_next: FloatArray1D,
             dt_years: FloatArray1D) -> _ProfileFit:
    """Exact OU likelihood at ``kappa`` with ``mu`` and ``sigma`` at their closed-form MLE.

    ``x_i | x_{i−1} ~ N(μ + (x_{i−1} − μ) a_i, σ² v_i)``, ``a_i = e^{−κΔ_i}``,
    ``v_i = (1 − a_i²) / (2κ)``. For fixed κ: ``μ̂`` is weighted least squares with weights
    ``1 / v_i``; ``σ̂² = mean(r_i² / v_i)``.
    """
    a = np.exp(-kappa * dt_years)
    v = -np.expm1(-2.0 * kappa * dt_years) / (2.0 * kappa)
    w = 1.0 / v
    b = 1.0 - a
    y = x_next - a * x_prev
    mu = float(np.sum(w * b * y) / np.sum(w * b * b))
    r = y - mu * b
    sigma2 = float(np.mean(r * r * w))
    n = x_next.size
    loglik = -0.5 * (n * math.log(2.0 * math.pi * sigma2) + float(np.sum(np.log(v))) + n)
    return _ProfileFit(kappa, mu, math.sqrt(sigma2), loglik)


def fit_ou_exact(discount: FloatArray1D, dt_years: FloatArray1D) -> tuple[float, float, float,
                                                                           float]:
    """Exact maximum-likelihood OU fit on irregularly spaced observations.

    Parameters
    ----------
    discount : (n,) float64
        Observations in time order.
    dt_years : (n − 1,) float64
        Time between consecutive observations (years, > 0).

    Returns
    -------
    (mu, kappa_per_year, sigma_per_sqrt_year, loglikelihood)

    Notes
    -----
    The likelihood is that of the exact Gaussian transitions, conditional on the first
    observation; ``μ`` and ``σ`` are profiled out in closed form and ``log κ`` maximised by
    ``scipy.optimize.minimize_scalar(method="bounded")`` within
    ``KAPPA_BOUNDS_PER_YEAR`` (a bound hit raises: no mean reversion visible in the data).
    """
    x = np.ascontiguousarray(discount, dtype=np.float64)
    dt = np.ascontiguousarray(dt_years, dtype=np.float64)
    if x.ndim != 1 or dt.shape != (x.size - 1,):
        raise InvalidArgument(f"dt_years has shape {dt.shape}; it needs ({x.size - 1},), one "
                              "interval between each pair of observations.")
    if x.size < MIN_FIT_ROUNDS or not np.isfinite(x).all():
        raise InvalidArgument(f"discount: {x.size} values, at least {MIN_FIT_ROUNDS} finite ones "
                              "are needed for an OU fit.")
    if not (np.isfinite(dt).all() and (dt > 0).all()):
        raise InvalidArgument("dt_years must be finite and > 0 (times strictly increasing).")
    x_prev, x_next = x[:-1], x[1:]
    low, high = (math.log(k) for k in KAPPA_BOUNDS_PER_YEAR)
    result = minimize_scalar(
        lambda log_k: -_profile(math.exp(log_k), x_prev, x_next, dt).loglikelihood,
        bounds=(low, high), method="bounded", options={"xatol": 1e-10, "maxiter": 500})
    log_kappa = float(result.x)
    if min(log_kappa - low, high - log_kappa) < 1e-6:
        raise InvalidArgument(f"OU fit: kappa={math.exp(log_kappa):.6g}/year at a search bound "
                              f"{KAPPA_BOUNDS_PER_YEAR}; the data show no mean reversion.")
    fit = _profile(math.exp(log_kappa), x_prev, x_next, dt)
    return fit.mu, fit.kappa, fit.sigma, fit.loglikelihood


def fit_depeg(
    frame: pd.DataFrame,
    cutoff: date | datetime | str,
    *,
    start: date | datetime | str | None = None,
    sampling: str = "daily",
) -> DepegParams:
    """Fit the discount's OU parameters on the rounds strictly before ``cutoff``.

    Parameters
    ----------
    frame : DataFrame
        From :func:`read_steth_eth_rounds` (UTC time index, ``discount`` column).
    cutoff : date or ISO string
        First UTC day not used (rounds at or after its 00:00 UTC are left out).
    start : date or ISO string, optional
        First UTC day used (default: the first round).
    sampling : {"daily", "all"}
        ``"daily"`` (default): the last round of each UTC day; ``"all"``: every round.

    Returns
    -------
    DepegParams
        Each parameter a :class:`SourcedValue` (estimate) naming the file, the window, the
        sampling and the method.

    Notes
    -----
    Why daily by default: the feed adds a round whenever the price moves past its deviation
    threshold, so the extra intraday rounds come exactly when the discount swings (21 of the
    745 rounds, nearly all in the June 2022 turbulence). Fitted on every round, those swings
    read as very fast mean reversion (half-life about 4 days, sigma 0.14/sqrt(year)); fitted
    on one round per day the half-life is about 39 days, and on one per week about 41 days:
    the daily and weekly fits agree, the all-rounds one does not, so the daily sampling is the
    one consistent with a single OU at the horizons an unwind spans.
    """
    if sampling not in ("daily", "all"):
        raise InvalidArgument(f"sampling={sampling!r} must be 'daily' or 'all'.")
    end = pd.Timestamp(as_date(cutoff, "cutoff")).tz_localize("UTC")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    keep = index < end
    if start is not None:
        keep &= index >= pd.Timestamp(as_date(start, "start")).tz_localize("UTC")
    series = pd.Series(frame["discount"].to_numpy(dtype=np.float64)[keep], index=index[keep])
    if sampling == "daily":
        series = series.groupby(pd.DatetimeIndex(series.index).normalize()).tail(1)
    times = pd.DatetimeIndex(series.index)
    if times.size < MIN_FIT_ROUNDS:
        raise InvalidArgument(f"cutoff={as_date(cutoff, 'cutoff')}: {times.size} rounds in the "
                              f"window, at least {MIN_FIT_ROUNDS} are needed.")
    seconds = np.diff(times.as_unit("ns").asi8) / 1e9
    mu, kappa, sigma, loglik = fit_ou_exact(series.to_numpy(),
                                            seconds / (DAYS_PER_YEAR * 86_400.0))
    window = (times[0].date(), times[-1].date())
    which = "the last round of each UTC day" if sampling == "daily" else "every round"
    text = (f"exact-transition OU maximum likelihood (mu, sigma profiled, kappa by scipy "
            f"bounded Brent) on {times.size} Chainlink stETH/ETH rounds ({which}) "
            f"{window[0]}..{window[1]} (d = 1 - answer/1e18; "
            f"{frame.attrs.get('source', 'rounds file')}; cut-off {as_date(cutoff, 'cutoff')})")
    return DepegParams(
        mu=SourcedValue(mu, f"mean discount: {text}", True),
        kappa_per_year=SourcedValue(kappa, f"speed per year: {text}", True),
        sigma_per_sqrt_year=SourcedValue(sigma, f"volatility per sqrt(year): {text}", True),
        window=window,
        cutoff=as_date(cutoff, "cutoff"),
        n_rounds=int(times.size),
        loglikelihood=loglik,
    )


def shipped_depeg_payload() -> dict[str, Any]:
    """The whole shipped JSON (provenance, window, largest discount, parameters)."""
    text = resources.files("delever").joinpath("data", "chainlink", SHIPPED_FILE).read_text(
        encoding="utf-8")
    payload: dict[str, Any] = json.loads(text)
    return payload


def shipped_depeg_params() -> DepegParams:
    """The OU parameters fitted on the Chainlink stETH/ETH rounds, shipped with the package."""
    return DepegParams.from_dict(shipped_depeg_payload()["params"])


# --- paths --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RatePaths:
    """Contract rate and market factor paths, each ``(n_paths, n_steps + 1)``, column 0 the start.

    Attributes
    ----------
    contract : (n_paths, n_steps + 1) float64, read-only
        ``R_t``: ETH per unit by the token's contract (what Aave's oracle reads).
    market : (n_paths, n_steps + 1) float64, read-only
        ``m_t = 1 − d_t``: the market price as a fraction of the contract rate.
    step_days : float
        Days per step.
    """

    contract: FloatArray2D
    market: FloatArray2D
    step_days: float

    def __post_init__(self) -> None:
        self.contract.setflags(write=False)
        self.market.setflags(write=False)

    @property
    def value_eth(self) -> FloatArray2D:
        """``contract × market``: ETH an exit sale gets per unit (before its own impact)."""
        out: FloatArray2D = self.contract * self.market
        return out

    @property
    def discount(self) -> FloatArray2D:
        """``1 − market``."""
        out: FloatArray2D = 1.0 - self.market
        return out


def _seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a non-negative int or a SeedSequence.")
    return np.random.SeedSequence(int(seed))


def _child(parent: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """Child ``k`` of ``parent`` as ``parent.spawn`` makes it on a fresh sequence, without
    spawning: ``spawn`` counts the children already made, so the same parent object passed
    twice would otherwise give different draws."""
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, k),
                                  pool_size=parent.pool_size)


def _whole(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidArgument(f"{field}={value!r} must be a whole number >= 1.")
    return int(value)


def rate_paths(
    n_paths: int,
    n_steps: int,
    *,
    step_days: float,
    r0: float,
    staking_yield: float,
    slash_intensity_per_year: float,
    slash_size: float,
    depeg: DepegParams,
    d0: float,
    seed: SeedLike,
) -> RatePaths:
    """Draw contract-rate and market-factor paths (model in the module docstring).

    Parameters
    ----------
    n_paths, n_steps : int
        Paths and steps (>= 1).
    step_days : float
        Days per step (> 0; years are 365 days).
    r0 : float
        Contract rate at the start (ETH per unit, > 0; e.g. wstETH's stEthPerToken).
    staking_yield : float
        Continuously compounded staking yield per year (fraction; 0.03 = 3%).
    slash_intensity_per_year : float
        Poisson intensity λ of slashing events per year (>= 0).
    slash_size : float
        Fixed fraction ``J`` in [0, 1) of the rate lost at each event.
    depeg : DepegParams
        OU parameters of the discount (:func:`shipped_depeg_params` or
        :meth:`DepegParams.given`).
    d0 : float
        Discount at the start (fraction; 0 = at par).
    seed : int or numpy.random.SeedSequence
        Child 0 of ``SeedSequence(seed)`` draws the slashing counts, child 1 the OU normals.

    Returns
    -------
    RatePaths
        ``contract[:, k] = r0 · exp(y · k · Δ) · (1 − J)^{N_k}`` exactly (``Δ`` in years),
        ``market[:, k] = 1 − d_k``.
    """
    n_paths, n_steps = _whole("n_paths", n_paths), _whole("n_steps", n_steps)
    dt_years = check_positive("step_days", step_days) / DAYS_PER_YEAR
    r0 = check_positive("r0", r0)
    y = check_finite("staking_yield", staking_yield)
    lam = check_non_negative("slash_intensity_per_year", slash_intensity_per_year)
    jump = check_non_negative("slash_size", slash_size)
    if jump >= 1.0:
        raise InvalidArgument(f"slash_size={jump!r} must be in [0, 1): a fraction of the rate.")
    d0 = check_finite("d0", d0)
    slash_seed, depeg_seed = (_child(_seed_sequence(seed), k) for k in (0, 1))

    counts = np.random.default_rng(slash_seed).poisson(lam * dt_years, size=(n_paths, n_steps))
    log_r = np.empty((n_paths, n_steps + 1), dtype=np.float64)
    log_r[:, 0] = 0.0
    # cumulative counts times log(1 − J), plus the yield at each step time computed directly
    # (y · k · Δ, not a running sum) so accrual over a whole year is exact to rounding
    np.cumsum(counts, axis=1, out=log_r[:, 1:], dtype=np.float64)
    log_r[:, 1:] *= math.log1p(-jump) if jump > 0 else 0.0
    log_r += y * dt_years * np.arange(n_steps + 1, dtype=np.float64)
    contract = np.exp(log_r, out=log_r)
    contract *= r0
    contract[:, 0] = r0

    market = 1.0 - ou_paths(n_paths, n_steps, dt_years=dt_years, params=depeg, x0=d0,
                            rng=np.random.default_rng(depeg_seed))
    return RatePaths(contract=contract, market=market, step_days=float(step_days))


ORACLE_MODES = ("exchange-rate", "market")


@dataclass(frozen=True)
class ExchangeRatePathModel:
    """The engines' exogenous paths for a loop: the asset's value in ETH and the oracle's.

    The unwind engines count a loop in ETH: the "price" of a unit of the asset is its market
    value in ETH, ``R_t · m_t`` (:func:`rate_paths`), which the exit sales get before their own
    impact. The oracle reads, with ``oracle = "exchange-rate"`` (Aave v3's CAPO adapters, the
    default), the contract rate ``R_t``, which no sale moves: :meth:`draw` returns it as the
    exogenous oracle path. ``oracle = "market"`` is the counterfactual of an oracle that reads
    the market (Aave v2's stETH market feed, see the module docstring): the oracle then follows
    the mid as the engines' push oracle does, and :meth:`draw` returns no oracle path.
    """

    r0: float
    d0: float
    staking_yield: float
    slash_intensity_per_year: float
    slash_size: float
    depeg: DepegParams
    oracle: str = "exchange-rate"

    def __post_init__(self) -> None:
        if self.oracle not in ORACLE_MODES:
            raise InvalidArgument(f"oracle={self.oracle!r} must be one of "
                                  f"{', '.join(ORACLE_MODES)}.")
        # a dry draw checks every number with rate_paths' own messages
        rate_paths(1, 1, step_days=1.0, r0=self.r0, staking_yield=self.staking_yield,
                   slash_intensity_per_year=self.slash_intensity_per_year,
                   slash_size=self.slash_size, depeg=self.depeg, d0=self.d0, seed=0)
        if not 0.0 <= self.d0 < 1.0:
            raise InvalidArgument(f"d0={self.d0!r} must be a discount in [0, 1).")

    @property
    def s0(self) -> float:
        """The asset's market value at the start, ETH per unit: ``r0 (1 − d0)``."""
        return self.r0 * (1.0 - self.d0)

    def draw(self, n_paths: int, n_steps: int, step_hours: float, seed: SeedLike
             ) -> tuple[FloatArray2D, FloatArray2D | None]:
        """``(market value, oracle)`` paths, each ``(n_paths, n_steps + 1)`` in ETH per unit;
        the oracle None when it follows the market."""
        paths = rate_paths(n_paths, n_steps, step_days=check_positive("step_hours", step_hours)
                           / 24.0, r0=self.r0, staking_yield=self.staking_yield,
                           slash_intensity_per_year=self.slash_intensity_per_year,
                           slash_size=self.slash_size, depeg=self.depeg, d0=self.d0, seed=seed)
        value = np.ascontiguousarray(paths.value_eth)
        if self.oracle == "market":
            return value, None
        return value, np.array(paths.contract, dtype=np.float64, order="C")

    def describe(self) -> dict[str, Any]:
        """The model's numbers for reports."""
        return {"model": "exchange-rate x market discount", "oracle": self.oracle,
                "r0_eth_per_unit": self.r0, "d0": self.d0, "staking_yield": self.staking_yield,
                "slash_intensity_per_year": self.slash_intensity_per_year,
                "slash_size": self.slash_size, "depeg": self.depeg.to_dict()}


def ou_paths(n_paths: int, n_steps: int, *, dt_years: float, params: DepegParams, x0: float,
             rng: np.random.Generator) -> FloatArray2D:
    """OU paths by the exact transition, ``(n_paths, n_steps + 1)`` with column 0 = ``x0``.

    ``x_k − μ = a (x_{k−1} − μ) + s z_k``, ``a = e^{−κΔ}``, ``s = σ sqrt((1 − a²)/(2κ))``: an
    AR(1) filter (``scipy.signal.lfilter``, compiled C). A numba kernel does not pay: on
    10,000 x 365 lfilter takes 24 ms and a numba loop 7 ms, within a whole :func:`rate_paths`
    draw of 0.2-0.35 s dominated by numpy drawing the Poisson counts and normals and by memory
    traffic (measured on this project's shared 2-core machine, best of 3).
    """
    kappa = params.kappa_per_year.value
    mu = params.mu.value
    a = math.exp(-kappa * dt_years)
    s = params.sigma_per_sqrt_year.value * math.sqrt(-math.expm1(-2.0 * kappa * dt_years)
                                                     / (2.0 * kappa))
    # one normal per path is drawn for column 0 and overwritten, so the whole array is drawn
    # in one contiguous call with no temporary (as gbm_paths does)
    shocks = np.empty((n_paths, n_steps + 1), dtype=np.float64)
    rng.standard_normal(out=shocks)
    shocks *= s
    shocks[:, 0] = x0 - mu
    out: FloatArray2D = lfilter([1.0], [1.0, -a], shocks, axis=1)
    out += mu
    out[:, 0] = x0
    return np.ascontiguousarray(out)


__all__ = [
    "DAYS_PER_YEAR",
    "ORACLE_MODES",
    "DepegParams",
    "ExchangeRatePathModel",
    "RatePaths",
    "fit_depeg",
    "fit_ou_exact",
    "ou_paths",
    "rate_paths",
    "read_steth_eth_rounds",
    "shipped_depeg_params",
    "shipped_depeg_payload",
]
