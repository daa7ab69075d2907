"""Transient impact: Obizhaeva-Wang exponential resilience and a power-law propagator.

Both are linear in the traded volume: a sell of n ETH at time s moves the mid at t >= s by
``-G(t - s) * n`` USD, and the mid is the initial mid plus the sum over past trades.
A trade walks a block-shaped book of depth ``1 / G(0)`` ETH per USD, so it fills on
average ``G(0) n / 2`` below the mid just before it and leaves the mid ``G(0) n`` lower
(Obizhaeva & Wang's block-shaped limit-order book; the same self-impact convention is used
for the propagator).

- Obizhaeva, A. & Wang, J. (2013), "Optimal trading strategy and supply/demand dynamics",
  Journal of Financial Markets 16(1), 1-32: ``G(t) = k (p + (1 - p) exp(-rho t))`` with
  instantaneous impact k = 1/q (q the book's depth), a permanent share p (their
  lambda q) and resilience rho.
- Bouchaud, J.-P., Gefen, Y., Potters, M. & Wyart, M. (2004), "Fluctuations and response
  in financial markets: the subtle nature of 'random' price changes", Quantitative Finance
  4(2), 176-190: a propagator decaying as a power law, here ``G(t) = G0 / (1 + t/t0)**beta``
  (linear in volume, as in Gatheral 2010, "No-dynamic-arbitrage and market impact").

Sells are positive ETH amounts; times are in days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from delever._typing import ArrayLike, FloatArray, FloatArray1D
from delever.errors import InvalidArgument, check_fraction, check_non_negative, check_positive
from delever.kernels.impact import (
    DECAY_EXPONENTIAL,
    DECAY_POWER_LAW,
    transient_fills,
    transient_mid,
)
from delever.market.impact import (
    Fills,
    ScheduleFills,
    as_orders,
    as_qty_array,
    check_n_steps,
    check_step_days,
)


def _as_times(field_name: str, values: ArrayLike, n: int | None = None) -> FloatArray1D:
    times = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if not np.isfinite(times).all():
        raise InvalidArgument(f"{field_name} must hold finite times in days.")
    if n is not None and times.shape[0] != n:
        raise InvalidArgument(
            f"{field_name} has {times.shape[0]} entries; it needs one per trade ({n})."
        )
    if times.shape[0] > 1 and (np.diff(times) < 0.0).any():
        raise InvalidArgument(f"{field_name} must be in time order (non-decreasing).")
    return times


class _LinearTransientImpact:
    """Shared machinery of the two linear transient models (kernel code and parameters)."""

    n_steps: int
    step_days: float

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _kernel(self) -> tuple[int, float, float, float]:
        raise NotImplementedError

    def decay_kernel_usd_per_eth(self, t_days: ArrayLike) -> FloatArray:
        """G(t): the mid move, USD per ETH sold, t days after the sale (t >= 0)."""
        kind, g0, p1, p2 = self._kernel()
        t = np.asarray(t_days, dtype=np.float64)
        if kind == DECAY_EXPONENTIAL:
            out: FloatArray = g0 * (p1 + (1.0 - p1) * np.exp(-p2 * t))
        else:
            out = g0 / (1.0 + t / p1) ** p2
        return out

    def execute_trades(
        self, mid_price_usd: float, time_days: ArrayLike, trades_eth: ArrayLike
    ) -> ScheduleFills:
        """Fills of sells ``trades_eth`` at times ``time_days`` (non-decreasing, days)."""
        mid = check_positive("mid_price_usd", mid_price_usd)
        trades = as_qty_array("trades_eth", trades_eth).reshape(-1)
        times = _as_times("time_days", time_days, trades.shape[0])
        kind, g0, p1, p2 = self._kernel()
        fill = np.empty_like(trades)
        before = np.empty_like(trades)
        transient_fills(times, trades, kind, g0, p1, p2, fill, before)
        sold = trades > 0.0
        return ScheduleFills(
            model=self.name,
            mark_price_usd=mid,
            time_days=times,
            qty_eth=trades.copy(),
            filled_eth=trades.copy(),
            avg_price_usd=mid + np.where(sold, fill, before),
            mid_before_usd=mid + before,
            mid_after_usd=mid + before - g0 * trades,
        )

    def mid_path_usd(
        self,
        mid_price_usd: float,
        time_days: ArrayLike,
        trades_eth: ArrayLike,
        eval_days: ArrayLike,
    ) -> FloatArray1D:
        """The mid at ``eval_days`` after sells ``trades_eth`` at ``time_days`` (trades at an
        evaluation time count as done)."""
        mid = check_positive("mid_price_usd", mid_price_usd)
        trades = as_qty_array("trades_eth", trades_eth).reshape(-1)
        times = _as_times("time_days", time_days, trades.shape[0])
        evals = np.array(eval_days, dtype=np.float64, copy=True).reshape(-1)
        if not np.isfinite(evals).all():
            raise InvalidArgument("eval_days must hold finite times in days.")
        kind, g0, p1, p2 = self._kernel()
        out = np.empty_like(evals)
        transient_mid(times, trades, kind, g0, p1, p2, evals, out)
        result: FloatArray1D = mid + out
        return result

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices sold ``step_days`` apart (default: the model's ``step_days``)."""
        slices = as_qty_array("slices_eth", slices_eth).reshape(-1)
        step = check_step_days(step_days, self.step_days)
        times = np.arange(slices.shape[0], dtype=np.float64) * step
        return self.execute_trades(mid_price_usd, times, slices)

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent orders, each sold in ``n_steps`` equal slices ``step_days`` apart.

        The model is linear in volume, so one unit schedule gives every order exactly:
        the average fill is ``mid - c Q`` and the mid right after the last slice
        ``mid - d Q``.
        """
        mid, qty = as_orders(mid_price_usd, qty_eth)
        unit = self.execute_schedule(1.0, np.full(self.n_steps, 1.0 / self.n_steps))
        c = 1.0 - unit.avg_fill_price_usd  # USD per ETH per ETH
        d = 1.0 - unit.final_mid_usd
        return Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=qty.copy(),
            avg_price_usd=mid - c * qty,
            new_mid_usd=mid - d * qty,
        )


@dataclass(frozen=True)
class ObizhaevaWangImpact(_LinearTransientImpact):
    """Obizhaeva-Wang (2013) block-shaped book with exponential resilience.

    Parameters
    ----------
    impact_usd_per_eth : k = 1/q, the instantaneous mid move per ETH sold, USD per ETH.
    resilience_per_day : rho, per day: the transient part of an impact decays as
        ``exp(-rho t)`` (half-life ``ln 2 / rho`` days).
    permanent_frac : share of k that never decays (OW's lambda q), in [0, 1].
    n_steps, step_days : the schedule ``execute`` uses for each order (equal slices).

    Notes
    -----
    ``G(t) = k (p + (1 - p) exp(-rho t))``; after a single sale of n ETH the mid at t is
    ``mid - p k n - (1 - p) k n exp(-rho t)``. Fills as in the module docstring.
    """

    impact_usd_per_eth: float
    resilience_per_day: float
    permanent_frac: float = 0.0
    n_steps: int = 1
    step_days: float = 1.0

    def __post_init__(self) -> None:
        check_positive("impact_usd_per_eth", self.impact_usd_per_eth)
        check_non_negative("resilience_per_day", self.resilience_per_day)
        check_fraction("permanent_frac", self.permanent_frac, low_open=False)
        check_n_steps(self.n_steps)
        check_positive("step_days", self.step_days)

    @property
    def name(self) -> str:
        """Model name."""
        return "ow"

    @property
    def half_life_days(self) -> float:
        """``ln 2 / rho``, days."""
        rho = self.resilience_per_day
        return math.log(2.0) / rho if rho > 0.0 else math.inf

    def _kernel(self) -> tuple[int, float, float, float]:
        return (
            DECAY_EXPONENTIAL, float(self.impact_usd_per_eth), float(self.permanent_frac),
            float(self.resilience_per_day),
        )


@dataclass(frozen=True)
class PropagatorImpact(_LinearTransientImpact):
    """Linear propagator with power-law decay ``G(t) = G0 / (1 + t / t0)**beta``.

    Parameters
    ----------
    impact_usd_per_eth : G0, the instantaneous mid move per ETH sold, USD per ETH.
    decay_time_days : t0, days: the time scale after which the power law sets in.
    decay_exponent : beta >= 0 (Bouchaud et al. 2004 find beta of about 0.2-0.4 on
        stocks; beta = 0 is purely permanent impact).
    n_steps, step_days : the schedule ``execute`` uses for each order (equal slices).
    """

    impact_usd_per_eth: float
    decay_time_days: float
    decay_exponent: float
    n_steps: int = 1
    step_days: float = 1.0

    def __post_init__(self) -> None:
        check_positive("impact_usd_per_eth", self.impact_usd_per_eth)
        check_positive("decay_time_days", self.decay_time_days)
        check_non_negative("decay_exponent", self.decay_exponent)
        check_n_steps(self.n_steps)
        check_positive("step_days", self.step_days)

    @property
    def name(self) -> str:
        """Model name."""
        return "propagator"

    def _kernel(self) -> tuple[int, float, float, float]:
        return (
            DECAY_POWER_LAW, float(self.impact_usd_per_eth), float(self.decay_time_days),
            float(self.decay_exponent),
        )


__all__ = ["ObizhaevaWangImpact", "PropagatorImpact"]
