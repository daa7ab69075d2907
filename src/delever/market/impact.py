"""Price-impact models behind one vectorised interface, and the square-root law.

Conventions shared by every model in ``delever.market``:

- Orders are **sells** of ETH, given as non-negative ``qty_eth`` (a negative size is an
  :class:`~delever.errors.InvalidArgument`).
- :meth:`ImpactModel.execute` takes arrays of mids and order sizes (broadcast together) and
  treats every order as an independent alternative executed from the same state: the
  "what if I sold q" curve, or one order per Monte Carlo path. It returns :class:`Fills`.
- :meth:`ImpactModel.execute_schedule` executes the slices of one order one after another
  and returns :class:`ScheduleFills`, with the discount per slice and in total.
- The **liquidity discount** is the mark (the mid before the first sale) minus the average
  fill price: in USD per ETH, in USD in total (``mark * filled - proceeds``), as a fraction
  and in percent of the mark. For a zero order the average price is the mark and the
  discount zero (nothing was sold, nothing given up).
- Venue models (book, pool, square-root venue) keep their shape in relative terms: a book or
  pool built around its own mid is rescaled to the ``mid_price_usd`` it is executed at (ETH
  depth at each relative price level kept, USD amounts scaled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from delever._typing import ArrayLike, FloatArray, FloatArray1D
from delever.errors import InvalidArgument, check_fraction, check_non_negative, check_positive
from delever.kernels.impact import sqrt_impact
from delever.kernels.records import ImpactLaw


def _first_bad(values: FloatArray, bad: np.ndarray) -> str:
    flat_bad = np.flatnonzero(bad)
    index = int(flat_bad[0])
    value = float(values.reshape(-1)[index])
    where = f"[{index}]" if values.size > 1 else ""
    return f"{where}={value!r}"


def as_price_array(field_name: str, values: ArrayLike) -> FloatArray:
    """Float64 array of finite, strictly positive prices (one-line error otherwise)."""
    # A copy: results freeze their arrays, which must not freeze the caller's.
    arr = np.array(values, dtype=np.float64, copy=True, order="C")
    bad = ~(np.isfinite(arr) & (arr > 0.0))
    if bad.any():
        raise InvalidArgument(
            f"{field_name}{_first_bad(arr, bad)} must be a finite price greater than 0."
        )
    return arr


def as_qty_array(field_name: str, values: ArrayLike) -> FloatArray:
    """Float64 array of finite, non-negative ETH amounts (sells are positive)."""
    arr = np.array(values, dtype=np.float64, copy=True, order="C")
    bad = ~(np.isfinite(arr) & (arr >= 0.0))
    if bad.any():
        raise InvalidArgument(
            f"{field_name}{_first_bad(arr, bad)} must be a finite, non-negative ETH amount; "
            "the impact models take sells as positive sizes."
        )
    return arr


def as_orders(mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate and broadcast mids and sell sizes to one shape (float64, contiguous)."""
    mid = as_price_array("mid_price_usd", mid_price_usd)
    qty = as_qty_array("qty_eth", qty_eth)
    if mid.shape != qty.shape:
        try:
            mid, qty = np.broadcast_arrays(mid, qty)
        except ValueError:
            raise InvalidArgument(
                f"mid_price_usd (shape {mid.shape}) and qty_eth (shape {qty.shape}) must "
                "broadcast to one shape."
            ) from None
        mid = np.ascontiguousarray(mid)
        qty = np.ascontiguousarray(qty)
    return mid, qty


def _readonly(*arrays: FloatArray) -> None:
    for arr in arrays:
        arr.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Fills:
    """Independent sell orders executed from the same state (one entry per order).

    Attributes
    ----------
    model : name of the impact model.
    mark_price_usd : mid before each order, USD per ETH.
    qty_eth : requested sell size, ETH.
    filled_eth : ETH actually sold (less than ``qty_eth`` when a venue runs out).
    avg_price_usd : average fill price, USD per ETH (the mark where nothing was sold).
    new_mid_usd : mid right after the order, USD per ETH (each model states its rule).
    """

    model: str
    mark_price_usd: FloatArray
    qty_eth: FloatArray
    filled_eth: FloatArray
    avg_price_usd: FloatArray
    new_mid_usd: FloatArray

    def __post_init__(self) -> None:
        _readonly(
            self.mark_price_usd, self.qty_eth, self.filled_eth, self.avg_price_usd,
            self.new_mid_usd,
        )

    @property
    def unfilled_eth(self) -> FloatArray:
        """ETH left unsold, ETH."""
        out: FloatArray = self.qty_eth - self.filled_eth
        return out

    @property
    def proceeds_usd(self) -> FloatArray:
        """USD received, ``filled_eth * avg_price_usd``."""
        out: FloatArray = self.filled_eth * self.avg_price_usd
        return out

    @property
    def discount_usd_per_eth(self) -> FloatArray:
        """Mark minus average fill price, USD per ETH."""
        out: FloatArray = self.mark_price_usd - self.avg_price_usd
        return out

    @property
    def discount_usd(self) -> FloatArray:
        """USD given up against selling the filled ETH at the mark."""
        out: FloatArray = self.discount_usd_per_eth * self.filled_eth
        return out

    @property
    def discount_frac(self) -> FloatArray:
        """Discount as a fraction of the mark (0.01 = 1 %)."""
        out: FloatArray = self.discount_usd_per_eth / self.mark_price_usd
        return out

    @property
    def discount_pct(self) -> FloatArray:
        """Discount in percent of the mark."""
        out: FloatArray = 100.0 * self.discount_frac
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per order (arrays flattened)."""
        return pd.DataFrame(
            {
                "mark_price_usd": self.mark_price_usd.reshape(-1),
                "qty_eth": self.qty_eth.reshape(-1),
                "filled_eth": self.filled_eth.reshape(-1),
                "avg_price_usd": self.avg_price_usd.reshape(-1),
                "new_mid_usd": self.new_mid_usd.reshape(-1),
                "discount_usd": self.discount_usd.reshape(-1),
                "discount_pct": self.discount_pct.reshape(-1),
            }
        )

    def summary(self) -> str:
        """A few lines on the orders (the first five are listed)."""
        lines = [f"Fills ({self.model}): {self.qty_eth.size} order(s)"]
        frame = self.to_frame().head(5)
        lines.append(frame.to_string(index=False))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class ScheduleFills:
    """Slices of one sell order executed one after another.

    Attributes
    ----------
    model : name of the impact model.
    mark_price_usd : mid before the first slice, USD per ETH.
    time_days : time of each slice, days from the first.
    qty_eth, filled_eth : requested and sold ETH per slice.
    avg_price_usd : average fill price of each slice, USD per ETH (the mid before the slice
        when nothing was sold in it).
    mid_before_usd, mid_after_usd : mid just before and just after each slice.
    """

    model: str
    mark_price_usd: float
    time_days: FloatArray1D
    qty_eth: FloatArray1D
    filled_eth: FloatArray1D
    avg_price_usd: FloatArray1D
    mid_before_usd: FloatArray1D
    mid_after_usd: FloatArray1D

    def __post_init__(self) -> None:
        _readonly(
            self.time_days, self.qty_eth, self.filled_eth, self.avg_price_usd,
            self.mid_before_usd, self.mid_after_usd,
        )

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return int(self.qty_eth.shape[0])

    @property
    def proceeds_usd(self) -> FloatArray1D:
        """USD received per slice."""
        out: FloatArray1D = self.filled_eth * self.avg_price_usd
        return out

    @property
    def discount_usd_per_eth(self) -> FloatArray1D:
        """Mark minus each slice's average fill price, USD per ETH."""
        out: FloatArray1D = self.mark_price_usd - self.avg_price_usd
        return out

    @property
    def discount_usd(self) -> FloatArray1D:
        """USD given up per slice against selling it at the mark."""
        out: FloatArray1D = self.discount_usd_per_eth * self.filled_eth
        return out

    @property
    def discount_pct(self) -> FloatArray1D:
        """Per-slice discount in percent of the mark."""
        out: FloatArray1D = 100.0 * self.discount_usd_per_eth / self.mark_price_usd
        return out

    @property
    def total_qty_eth(self) -> float:
        """ETH requested in all."""
        return float(self.qty_eth.sum())

    @property
    def total_filled_eth(self) -> float:
        """ETH sold in all."""
        return float(self.filled_eth.sum())

    @property
    def total_unfilled_eth(self) -> float:
        """ETH left unsold in all."""
        return self.total_qty_eth - self.total_filled_eth

    @property
    def filled_pct(self) -> float:
        """ETH sold in percent of the ETH requested (100 when nothing was requested)."""
        qty = self.total_qty_eth
        return 100.0 * self.total_filled_eth / qty if qty > 0.0 else 100.0

    @property
    def total_proceeds_usd(self) -> float:
        """USD received in all."""
        return float(self.proceeds_usd.sum())

    @property
    def avg_fill_price_usd(self) -> float:
        """Average fill price over all slices, USD per ETH (the mark when nothing sold)."""
        filled = self.total_filled_eth
        return self.total_proceeds_usd / filled if filled > 0.0 else self.mark_price_usd

    @property
    def total_discount_usd(self) -> float:
        """USD given up in all: mark times ETH sold minus proceeds."""
        return self.mark_price_usd * self.total_filled_eth - self.total_proceeds_usd

    @property
    def total_discount_usd_per_eth(self) -> float:
        """Mark minus the overall average fill price, USD per ETH."""
        return self.mark_price_usd - self.avg_fill_price_usd

    @property
    def total_discount_pct(self) -> float:
        """Overall discount in percent of the mark, on the ETH actually sold (an unfilled rest
        is not priced: see :attr:`total_unfilled_eth`)."""
        return 100.0 * self.total_discount_usd_per_eth / self.mark_price_usd

    @property
    def final_mid_usd(self) -> float:
        """Mid right after the last slice (the mark when there are no slices)."""
        return float(self.mid_after_usd[-1]) if self.n_slices else self.mark_price_usd

    def to_frame(self) -> pd.DataFrame:
        """One row per slice."""
        return pd.DataFrame(
            {
                "time_days": self.time_days,
                "qty_eth": self.qty_eth,
                "filled_eth": self.filled_eth,
                "avg_price_usd": self.avg_price_usd,
                "mid_before_usd": self.mid_before_usd,
                "mid_after_usd": self.mid_after_usd,
                "discount_usd": self.discount_usd,
                "discount_pct": self.discount_pct,
            }
        )

    def summary(self) -> str:
        """Totals and the per-slice table."""
        head = (
            f"Schedule ({self.model}): {self.total_filled_eth:,.4f} of "
            f"{self.total_qty_eth:,.4f} ETH sold in {self.n_slices} slice(s) from a mark of "
            f"{self.mark_price_usd:,.2f} USD; average {self.avg_fill_price_usd:,.4f} USD, "
            f"discount {self.total_discount_usd:,.2f} USD ({self.total_discount_pct:.4f} %), "
            f"final mid {self.final_mid_usd:,.4f} USD"
        )
        return head + "\n" + self.to_frame().to_string(index=False)

    def __str__(self) -> str:
        return self.summary()


@runtime_checkable
class ImpactModel(Protocol):
    """What every price-impact model offers (see the module docstring for conventions)."""

    @property
    def name(self) -> str:
        """Short model name (``sqrt``, ``ac``, ``ow``, ``propagator``, ``book``, ...)."""
        ...

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Execute independent sell orders of ``qty_eth`` from mids ``mid_price_usd``."""
        ...

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Execute the slices of one sell order one after another, ``step_days`` apart."""
        ...


@runtime_checkable
class VenueModel(ImpactModel, Protocol):
    """An impact model with a marginal price, so a router can split orders across venues."""

    def marginal_price_usd(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> FloatArray:
        """USD received for the next ETH after ``qty_eth`` have been sold from ``mid``."""
        ...

    def qty_at_marginal_price_eth(
        self, mid_price_usd: ArrayLike, price_usd: ArrayLike
    ) -> FloatArray:
        """ETH to sell before the marginal price falls to ``price_usd`` (capped at capacity)."""
        ...


def check_step_days(step_days: float | None, default: float) -> float:
    """The schedule step (days): ``default`` when None, else a positive finite number."""
    if step_days is None:
        return default
    return check_positive("step_days", step_days)


def cumulative_schedule(
    model: ImpactModel, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None
) -> ScheduleFills:
    """Schedule of a model with no recovery between slices, from its cumulative fills.

    Slice k sells the ETH between the cumulative amounts ``Q_{k-1}`` and ``Q_k`` on the same
    impact curve, so its proceeds are ``P(Q_k) - P(Q_{k-1})``; ``time_days`` only labels the
    slices (``k * step_days``, default step one day).
    """
    mid = check_positive("mid_price_usd", mid_price_usd)
    slices = as_qty_array("slices_eth", slices_eth).reshape(-1)
    step = check_step_days(step_days, 1.0)
    cum = np.concatenate(([0.0], np.cumsum(slices)))
    fills = model.execute(mid, cum)
    proceeds = fills.proceeds_usd
    filled_cum = fills.filled_eth
    filled = np.diff(filled_cum)
    d_proceeds = np.diff(proceeds)
    mids = fills.new_mid_usd
    mid_before = mids[:-1].copy()
    sold = filled > 0.0
    avg = np.where(sold, d_proceeds / np.where(sold, filled, 1.0), mid_before)
    return ScheduleFills(
        model=model.name,
        mark_price_usd=mid,
        time_days=np.arange(slices.shape[0], dtype=np.float64) * step,
        qty_eth=slices.copy(),
        filled_eth=filled,
        avg_price_usd=avg,
        mid_before_usd=mid_before,
        mid_after_usd=mids[1:].copy(),
    )


def equal_slices(qty_eth: float, n_steps: int) -> FloatArray1D:
    """``n_steps`` equal slices of ``qty_eth`` (TWAP)."""
    qty = check_non_negative("qty_eth", qty_eth)
    n = check_n_steps(n_steps)
    return np.full(n, qty / n)


def check_n_steps(n_steps: int) -> int:
    """A whole number of steps, at least 1."""
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise InvalidArgument(f"n_steps={n_steps!r} must be a whole number >= 1.")
    return int(n_steps)


def half_life_to_rate(half_life_s: float) -> float:
    """``ln 2 / half_life_s`` per second; infinite for a half-life of 0 (gone at once)."""
    half_life = check_non_negative("half_life_s", half_life_s)
    return math.log(2.0) / half_life if half_life > 0.0 else math.inf


@dataclass(frozen=True)
class SquareRootImpact:
    """The square-root law of metaorder impact.

    Parameters
    ----------
    sigma_daily : daily volatility of the price, a fraction (0.04 = 4 % per day).
    adv_eth : average daily traded volume, ETH.
    impact_y : the dimensionless prefactor Y, of order 1 in the literature.
    permanent_frac : share of the peak impact left in the mid right after the order
        (1.0: the mid stays at the marginal price reached; about 2/3: the level to which
        the impact relaxes after a metaorder, see Notes).
    transient_half_life_s : half-life of the transient part ``(1 - permanent_frac) I`` in
        the engines, seconds (0, the default: it is gone at once, as in :meth:`execute`).
        Only :meth:`kernel_law` reads it; :meth:`execute` and :meth:`execute_schedule`
        keep today's rules (new mid ``m (1 - permanent_frac I)``; slices walk one curve).

    Notes
    -----
    The peak impact of a metaorder of Q ETH is ``I(Q) = Y * sigma_daily * sqrt(Q / V)``
    (Tóth, Lempérière, Deremble, de Lataillade, Kockelkoren & Bouchaud 2011, "Anomalous
    price impact and the critical nature of liquidity in financial markets", PRX 1, 021006;
    Bouchaud, Bonart, Donier & Gould 2018, "Trades, Quotes and Prices", ch. 12; Donier &
    Bonart 2015, "A million metaorder analysis of market impact on the Bitcoin", Market
    Microstructure and Liquidity 1, 1550008, find the same law on Bitcoin).

    What is implemented: the order is executed at a constant rate, and after q ETH the
    marginal price is ``mid * (1 - I(q))``. The proceeds are the integral of that, so the
    average fill is ``mid * (1 - 2/3 * I(Q))`` (the average price of a constant-rate
    metaorder sits 2/3 of the way to its peak impact) and the total discount
    ``2/3 * Y * sigma_daily * mid * Q**1.5 / sqrt(V)`` grows as ``Q**1.5``. The mid right
    after is ``mid * (1 - permanent_frac * I(Q))``; after a metaorder the impact relaxes
    to about 2/3 of its peak (the "fair pricing" result, Bouchaud et al. 2018 ch. 12), which
    ``permanent_frac=2/3`` reproduces. The marginal price reaches zero at
    ``Q_max = V / (Y sigma)**2``; ETH beyond that is reported unfilled (the law is far out
    of its range long before).
    """

    sigma_daily: float
    adv_eth: float
    impact_y: float = 1.0
    permanent_frac: float = 1.0
    transient_half_life_s: float = 0.0

    def __post_init__(self) -> None:
        check_non_negative("sigma_daily", self.sigma_daily, "Give a daily fraction, e.g. 0.04.")
        check_positive("adv_eth", self.adv_eth, "Give the average daily volume in ETH.")
        check_non_negative("impact_y", self.impact_y, "Y is of order 1, e.g. 1.0.")
        check_fraction("permanent_frac", self.permanent_frac, low_open=False)
        check_non_negative("transient_half_life_s", self.transient_half_life_s,
                           "Give seconds; 0 removes the transient part at once.")

    def kernel_law(self, step_s: float | None = None) -> ImpactLaw:
        """The law the engines walk: ``scale = Y sigma``, ``exponent = 1/2``, depth ``V``.

        ``decay_per_s = ln 2 / transient_half_life_s`` (infinite for a half-life of 0: the
        transient part is gone at once). ``step_s`` is not used: the law is exact at any
        step. One sale of ``Q`` from a fresh market through
        :func:`delever.kernels.impact_law.fill` fetches ``m Q (1 - 2/3 I(Q))``, as
        :meth:`execute` (tests/market/test_impact_models.py checks it).
        """
        del step_s  # exact at every step
        return ImpactLaw(scale=self.y_sigma, exponent=0.5, adv_eth=float(self.adv_eth),
                         permanent=float(self.permanent_frac),
                         decay_per_s=half_life_to_rate(self.transient_half_life_s),
                         thin_vol=0.0, thin_drawdown=0.0, vol_ref=math.inf,
                         vol_halflife_s=math.inf)

    @property
    def name(self) -> str:
        """Model name."""
        return "sqrt"

    @property
    def y_sigma(self) -> float:
        """``Y * sigma_daily``."""
        return self.impact_y * self.sigma_daily

    @property
    def capacity_eth(self) -> float:
        """ETH at which the marginal price reaches zero, ``V / (Y sigma)**2``."""
        ys2 = self.y_sigma * self.y_sigma
        return self.adv_eth / ys2 if ys2 > 0.0 else math.inf

    def peak_impact_frac(self, qty_eth: ArrayLike) -> FloatArray:
        """``Y * sigma_daily * sqrt(Q / V)``, a fraction of the mid (capped at 1)."""
        qty = as_qty_array("qty_eth", qty_eth)
        # The marginal impact of the walk, where both of the law's volumes stand at Q:
        # kernels.impact_law.impact_fraction vectorised (numpy's ``** 0.5`` is its sqrt, so
        # the figures are those of ``Y sigma sqrt(Q / V)``; tests check it against the kernel).
        law = self.kernel_law()
        ratio = np.atleast_1d(qty / law.adv_eth)  # an array: a 0-d one would take pow()
        out: FloatArray = np.minimum(law.scale * ratio ** law.exponent, 1.0).reshape(qty.shape)
        return out

    def average_discount_frac(self, qty_eth: ArrayLike) -> FloatArray:
        """``2/3 I(Q)``: one sale of Q from a fresh market fills ``2/3`` of its peak below."""
        out: FloatArray = (2.0 / 3.0) * self.peak_impact_frac(qty_eth)
        return out

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent sells; see the class Notes for the formulas."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        shape = qty.shape
        flat_mid = mid.reshape(-1)
        flat_qty = qty.reshape(-1)
        filled = np.empty_like(flat_qty)
        avg = np.empty_like(flat_qty)
        new_mid = np.empty_like(flat_qty)
        sqrt_impact(
            flat_mid, flat_qty, self.y_sigma, float(self.adv_eth), float(self.permanent_frac),
            filled, avg, new_mid,
        )
        return Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=filled.reshape(shape),
            avg_price_usd=avg.reshape(shape),
            new_mid_usd=new_mid.reshape(shape),
        )

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices walked along one metaorder's square-root curve (no relaxation between)."""
        return cumulative_schedule(self, mid_price_usd, slices_eth, step_days)

    def marginal_price_usd(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> FloatArray:
        """``mid * max(0, 1 - Y sigma sqrt(q / V))``."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        out: FloatArray = mid * (1.0 - self.peak_impact_frac(qty))
        return out

    def qty_at_marginal_price_eth(
        self, mid_price_usd: ArrayLike, price_usd: ArrayLike
    ) -> FloatArray:
        """``V * ((1 - p / mid) / (Y sigma))**2`` for ``0 <= p <= mid``, 0 above the mid."""
        mid = as_price_array("mid_price_usd", mid_price_usd)
        price = np.asarray(price_usd, dtype=np.float64)
        gap = np.clip(1.0 - price / mid, 0.0, 1.0)
        ys2 = self.y_sigma * self.y_sigma
        if ys2 == 0.0:
            out0: FloatArray = np.where(gap > 0.0, math.inf, 0.0)
            return out0
        out: FloatArray = self.adv_eth * gap * gap / ys2
        return out


__all__ = [
    "Fills",
    "ImpactModel",
    "ScheduleFills",
    "SquareRootImpact",
    "VenueModel",
    "as_orders",
    "as_price_array",
    "as_qty_array",
    "check_n_steps",
    "cumulative_schedule",
    "equal_slices",
    "half_life_to_rate",
]
