"""Split one sell order across venues so that their marginal prices meet.

For a sell of Q ETH over venues v with marginal prices ``m_v(q)`` (non-increasing in q),
the split that maximises the total proceeds gives each venue ``q_v(p*)``, the ETH it takes
before its marginal price falls to a common price ``p*``, with ``sum_v q_v(p*) = Q``
(first-order condition of maximising ``sum_v P_v(q_v)`` subject to ``sum_v q_v = Q``,
each ``P_v`` concave). ``p*`` is found by bisection on ``[0, mid]``, vectorised over
orders. Venues whose marginal price jumps (an order book's levels) take the remainder
left at the final bracket, in proportion to their jumps, so the split adds up to Q exactly.
A venue whose first marginal price is already below ``p*`` (e.g. a pool's fee) gets
nothing. Orders larger than all venues together are filled up to capacity and the rest is
reported unfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from delever._results import ResultContract
from delever._typing import ArrayLike, FloatArray, FloatArray2D
from delever.errors import InvalidArgument
from delever.market.impact import (
    Fills,
    ScheduleFills,
    VenueModel,
    as_orders,
    cumulative_schedule,
)

BISECTION_STEPS = 80  # halves [0, mid] down to mid * 2**-80: below float resolution


@dataclass(frozen=True, eq=False)
class RouteFills(ResultContract):
    """A routed set of orders.

    Attributes
    ----------
    fills : the combined fills (average over all venues; ``new_mid_usd`` is the common
        marginal price reached, or the mark for a zero order).
    venue_names : name of each venue.
    split_eth : (n_orders, n_venues) ETH sent to each venue.
    venue_fills : each venue's :class:`Fills` for its share.
    marginal_price_usd : (n_orders,) the common marginal price p*.
    """

    fills: Fills
    venue_names: tuple[str, ...]
    split_eth: FloatArray2D
    venue_fills: tuple[Fills, ...]
    marginal_price_usd: FloatArray

    def __post_init__(self) -> None:
        self.split_eth.setflags(write=False)
        self.marginal_price_usd.setflags(write=False)

    def summary(self) -> str:
        """The split of the first order and its totals."""
        parts = ", ".join(
            f"{name} {self.split_eth[0, k]:,.4f} ETH" for k, name in enumerate(self.venue_names)
        )
        return (
            f"Route: {parts}; common marginal price {float(self.marginal_price_usd[0]):,.4f} "
            f"USD\n{self.fills.summary()}"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class Router:
    """Split sells across venues at equal marginal prices.

    Parameters
    ----------
    venues : the venue models (each a :class:`~delever.market.impact.VenueModel`: a
        square-root venue, an order book, a Uniswap v3 pool, ...), executed at the same mid.
    names : labels for the venues (default: their model names, numbered if repeated).
    """

    venues: tuple[VenueModel, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        venues = tuple(self.venues)
        if not venues:
            raise InvalidArgument("venues: give at least one venue to route to.")
        for k, venue in enumerate(venues):
            if not isinstance(venue, VenueModel):
                raise InvalidArgument(
                    f"venues[{k}]={type(venue).__name__} has no marginal price; use a "
                    "SquareRootImpact, OrderBookImpact or UniswapV3Impact venue."
                )
        names = tuple(self.names)
        if not names:
            raw = [v.name for v in venues]
            names = tuple(
                f"{n}_{k}" if raw.count(n) > 1 else n for k, n in enumerate(raw)
            )
        if len(names) != len(venues):
            raise InvalidArgument(
                f"names has {len(names)} entries for {len(venues)} venues; give one per venue."
            )
        object.__setattr__(self, "venues", venues)
        object.__setattr__(self, "names", names)

    @classmethod
    def of(cls, venues: Sequence[VenueModel], names: Sequence[str] = ()) -> Router:
        """Convenience constructor from lists."""
        return cls(tuple(venues), tuple(names))

    @property
    def name(self) -> str:
        """Model name."""
        return "router"

    def _total_at(self, mid: FloatArray, price: FloatArray) -> tuple[FloatArray, FloatArray2D]:
        per_venue = np.stack([v.qty_at_marginal_price_eth(mid, price) for v in self.venues], -1)
        return per_venue.sum(axis=-1), per_venue

    def route(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> RouteFills:
        """Split each order across the venues and execute the shares."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        shape = qty.shape
        mid1 = mid.reshape(-1)
        qty1 = qty.reshape(-1)
        lo = np.zeros_like(mid1)  # total(lo) >= Q (or capacity)
        hi = mid1.copy()  # total(hi) <= Q: no venue sells at or above the mid
        capacity, cap_split = self._total_at(mid1, lo)
        target = np.minimum(qty1, capacity)
        for _ in range(BISECTION_STEPS):
            middle = 0.5 * (lo + hi)
            total, _ = self._total_at(mid1, middle)
            enough = total >= target
            lo = np.where(enough, middle, lo)
            hi = np.where(enough, hi, middle)
        total_hi, split_hi = self._total_at(mid1, hi)
        _, split_lo = self._total_at(mid1, lo)
        jumps = np.maximum(split_lo - split_hi, 0.0)
        jump_sum = jumps.sum(axis=-1)
        remainder = np.maximum(target - total_hi, 0.0)
        share = np.where(
            jump_sum[:, None] > 0.0, jumps / np.where(jump_sum > 0.0, jump_sum, 1.0)[:, None], 0.0
        )
        split = split_hi + remainder[:, None] * share
        full = qty1 >= capacity
        split = np.where(full[:, None], cap_split, split)
        venue_fills = tuple(
            venue.execute(mid1, split[:, k]) for k, venue in enumerate(self.venues)
        )
        filled = sum((f.filled_eth for f in venue_fills), np.zeros_like(qty1))
        proceeds = sum((f.proceeds_usd for f in venue_fills), np.zeros_like(qty1))
        sold = filled > 0.0
        avg = np.where(sold, proceeds / np.where(sold, filled, 1.0), mid1)
        marginal = np.where(qty1 > 0.0, hi, mid1)
        fills = Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=filled.reshape(shape),
            avg_price_usd=avg.reshape(shape),
            new_mid_usd=marginal.reshape(shape),
        )
        return RouteFills(
            fills=fills,
            venue_names=self.names,
            split_eth=split,
            venue_fills=venue_fills,
            marginal_price_usd=marginal,
        )

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent routed orders (combined fills; see :meth:`route` for the split)."""
        return self.route(mid_price_usd, qty_eth).fills

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices routed one after another. With no recovery at any venue, routing the
        cumulative amount at equal marginal prices is the same as routing slice by slice."""
        return cumulative_schedule(self, mid_price_usd, slices_eth, step_days)


__all__ = ["BISECTION_STEPS", "RouteFills", "Router"]
