"""An L2 order-book snapshot and the sweep of a market sell down its bids.

A sell of q ETH takes the best bid, then the next level, and so on (price-time priority
inside a level does not matter to the seller). The fills of many order sizes at once come
from cumulative sums of the bid sizes and notionals and one ``searchsorted``.

When the bids run out, the sweep stops: ``on_exhausted="report"`` (the default) reports the
ETH left over as ``unfilled_eth`` (the average price is over the ETH actually sold, and the
new mid is the last bid's price); ``on_exhausted="raise"`` raises
:class:`~delever.errors.InvalidArgument` instead.

A book is kept in relative terms when executed at another mid: level prices scale by
``mid_price_usd / book.mid_price_usd``, sizes in ETH stay. The mid after a sell is the price
of the last level hit (where the best bid stands after the sweep); the refill of the book
and the re-centring of the spread are not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from delever._typing import ArrayLike, FloatArray, FloatArray1D
from delever.errors import InvalidArgument, check_positive
from delever.kernels.impact import book_marginal_price_rel, book_qty_at_price, book_sweep
from delever.market.impact import (
    Fills,
    ScheduleFills,
    as_orders,
    as_price_array,
    cumulative_schedule,
)


def _levels(field_name: str, prices: ArrayLike, sizes: ArrayLike) -> tuple[FloatArray1D, ...]:
    price = np.array(prices, dtype=np.float64, copy=True).reshape(-1)
    size = np.array(sizes, dtype=np.float64, copy=True).reshape(-1)
    if price.shape != size.shape:
        raise InvalidArgument(
            f"{field_name}: {price.shape[0]} prices but {size.shape[0]} sizes; give one size "
            "per level."
        )
    bad_price = ~(np.isfinite(price) & (price > 0.0))
    if bad_price.any():
        i = int(np.flatnonzero(bad_price)[0])
        raise InvalidArgument(
            f"{field_name}_price_usd[{i}]={price[i]!r} must be a finite price greater than 0."
        )
    bad_size = ~(np.isfinite(size) & (size > 0.0))
    if bad_size.any():
        i = int(np.flatnonzero(bad_size)[0])
        raise InvalidArgument(
            f"{field_name}_size_eth[{i}]={size[i]!r} must be greater than 0; drop empty levels."
        )
    return price, size


@dataclass(frozen=True, eq=False)
class OrderBook:
    """An L2 snapshot: bid levels (best first, strictly decreasing prices) and ask levels
    (best first, strictly increasing), sizes in ETH > 0.

    Parameters
    ----------
    bid_price_usd, bid_size_eth : bid levels, best (highest) first.
    ask_price_usd, ask_size_eth : ask levels, best (lowest) first; may be empty when
        ``mid_price_usd`` is given.
    mid_price_usd : the mid; default ``(best bid + best ask) / 2``. It must lie in
        ``[best bid, best ask]``.
    source : where the snapshot comes from (file, exchange, time, or "synthetic").

    Raises
    ------
    InvalidArgument : no bids, a crossed book (best bid >= best ask), prices not strictly
        monotone, a size <= 0, or a mid outside the spread.
    """

    bid_price_usd: FloatArray1D
    bid_size_eth: FloatArray1D
    ask_price_usd: FloatArray1D
    ask_size_eth: FloatArray1D
    mid_price_usd: float
    source: str = ""

    def __post_init__(self) -> None:
        bid_p, bid_s = _levels("bid", self.bid_price_usd, self.bid_size_eth)
        ask_p, ask_s = _levels("ask", self.ask_price_usd, self.ask_size_eth)
        if bid_p.shape[0] == 0:
            raise InvalidArgument("bid levels: the book has no bids to sell into.")
        if bid_p.shape[0] > 1 and not (np.diff(bid_p) < 0.0).all():
            i = int(np.flatnonzero(np.diff(bid_p) >= 0.0)[0])
            raise InvalidArgument(
                f"bid_price_usd[{i + 1}]={bid_p[i + 1]!r} must be below bid_price_usd[{i}]="
                f"{bid_p[i]!r}; bids go best (highest) first, strictly decreasing."
            )
        if ask_p.shape[0] > 1 and not (np.diff(ask_p) > 0.0).all():
            i = int(np.flatnonzero(np.diff(ask_p) <= 0.0)[0])
            raise InvalidArgument(
                f"ask_price_usd[{i + 1}]={ask_p[i + 1]!r} must be above ask_price_usd[{i}]="
                f"{ask_p[i]!r}; asks go best (lowest) first, strictly increasing."
            )
        if ask_p.shape[0] and bid_p[0] >= ask_p[0]:
            raise InvalidArgument(
                f"best bid {bid_p[0]!r} must be below best ask {ask_p[0]!r}; the book is "
                "crossed."
            )
        mid = check_positive("mid_price_usd", self.mid_price_usd)
        high = ask_p[0] if ask_p.shape[0] else np.inf
        if not (bid_p[0] <= mid <= high):
            raise InvalidArgument(
                f"mid_price_usd={mid!r} must lie between the best bid {bid_p[0]!r} and the "
                f"best ask {high!r}."
            )
        for name, arr in (
            ("bid_price_usd", bid_p), ("bid_size_eth", bid_s),
            ("ask_price_usd", ask_p), ("ask_size_eth", ask_s),
        ):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "mid_price_usd", mid)

    @classmethod
    def from_levels(
        cls,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]] = (),
        *,
        mid_price_usd: float | None = None,
        source: str = "",
    ) -> OrderBook:
        """A book from ``(price_usd, size_eth)`` pairs in any order (sorted here; equal
        prices on one side are refused, not merged)."""
        bid = np.array(bids, dtype=np.float64).reshape(-1, 2)
        ask = np.array(asks, dtype=np.float64).reshape(-1, 2)
        bid = bid[np.argsort(-bid[:, 0], kind="stable")]
        ask = ask[np.argsort(ask[:, 0], kind="stable")]
        if mid_price_usd is None:
            if ask.shape[0] == 0:
                raise InvalidArgument(
                    "mid_price_usd is required when the book has no asks."
                )
            mid_price_usd = 0.5 * (float(bid[0, 0]) + float(ask[0, 0])) if bid.shape[0] else 0.0
        return cls(
            bid_price_usd=bid[:, 0], bid_size_eth=bid[:, 1],
            ask_price_usd=ask[:, 0], ask_size_eth=ask[:, 1],
            mid_price_usd=float(mid_price_usd), source=source,
        )

    @classmethod
    def from_depth_bands(
        cls,
        percentage: ArrayLike,
        depth_eth: ArrayLike,
        notional_usd: ArrayLike,
        *,
        source: str = "",
    ) -> OrderBook:
        """A book from cumulative depth bands (Binance ``bookDepth`` rows of one snapshot).

        Parameters
        ----------
        percentage : band edges in percent from the mid, negative for bids (e.g. -5..-1,
            -0.2) and positive for asks.
        depth_eth : cumulative base quantity (ETH) from the mid to the band edge.
        notional_usd : cumulative quote notional (USD) of the same orders.

        Notes
        -----
        Each band's increment of depth becomes one level at its average price
        ``d(notional) / d(depth)``, so the book holds the file's ETH and USD exactly; the
        prices inside a band are not known. Bands with no increment are dropped. The mid,
        which the file does not give, is estimated as the midpoint of the innermost bid and
        ask band prices (an estimate; the CLI rescales the book to ``--price-usd`` anyway).
        """
        pct = np.asarray(percentage, dtype=np.float64).reshape(-1)
        depth = np.asarray(depth_eth, dtype=np.float64).reshape(-1)
        notional = np.asarray(notional_usd, dtype=np.float64).reshape(-1)
        if not (pct.shape == depth.shape == notional.shape):
            raise InvalidArgument("percentage, depth and notional must have one value per band.")
        if not (np.isfinite(pct).all() and np.isfinite(depth).all()
                and np.isfinite(notional).all()):
            raise InvalidArgument("depth bands must hold finite numbers.")
        sides: dict[str, FloatArray1D] = {}
        for side, mask in (("bid", pct < 0.0), ("ask", pct > 0.0)):
            order = np.argsort(np.abs(pct[mask]), kind="stable")
            p, d, n = pct[mask][order], depth[mask][order], notional[mask][order]
            if p.shape[0] > 1 and (np.diff(np.abs(p)) == 0.0).any():
                raise InvalidArgument(f"{side} bands: a percentage appears twice in one snapshot.")
            dd = np.diff(np.concatenate(([0.0], d)))
            dn = np.diff(np.concatenate(([0.0], n)))
            if (dd < 0.0).any() or (dn < 0.0).any():
                raise InvalidArgument(
                    f"{side} bands: cumulative depth and notional must not decrease away from "
                    "the mid."
                )
            keep = dd > 0.0
            sides[f"{side}_size"] = dd[keep]
            sides[f"{side}_price"] = dn[keep] / dd[keep]
        if sides["bid_size"].shape[0] == 0:
            raise InvalidArgument("depth bands: no bid depth to sell into.")
        best_bid = float(sides["bid_price"][0])
        if sides["ask_size"].shape[0]:
            mid = 0.5 * (best_bid + float(sides["ask_price"][0]))
        else:
            mid = best_bid
        return cls(
            bid_price_usd=sides["bid_price"], bid_size_eth=sides["bid_size"],
            ask_price_usd=sides["ask_price"], ask_size_eth=sides["ask_size"],
            mid_price_usd=mid, source=source,
        )

    @property
    def best_bid_usd(self) -> float:
        """Highest bid, USD per ETH."""
        return float(self.bid_price_usd[0])

    @property
    def bid_depth_eth(self) -> float:
        """All bid size, ETH: the most a sweep can sell."""
        return float(self.bid_size_eth.sum())

    def summary(self) -> str:
        """One line on the book."""
        return (
            f"OrderBook: mid {self.mid_price_usd:,.4f} USD, {self.bid_price_usd.shape[0]} bid "
            f"levels ({self.bid_depth_eth:,.4f} ETH down to {self.bid_price_usd[-1]:,.4f}), "
            f"{self.ask_price_usd.shape[0]} ask levels; {self.source or 'no source given'}"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class OrderBookImpact:
    """Market sells swept down an :class:`OrderBook` (see the module docstring).

    Parameters
    ----------
    book : the snapshot.
    on_exhausted : ``"report"`` (unfilled ETH in the result) or ``"raise"``.
    """

    book: OrderBook
    on_exhausted: Literal["report", "raise"] = "report"
    # Derived in __post_init__: bid prices / mid, cumulative sizes and notionals / mid.
    _price_rel: FloatArray1D = field(init=False, repr=False)
    _cum_size: FloatArray1D = field(init=False, repr=False)
    _cum_notional: FloatArray1D = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.on_exhausted not in ("report", "raise"):
            raise InvalidArgument(
                f"on_exhausted={self.on_exhausted!r} must be 'report' or 'raise'."
            )
        rel = self.book.bid_price_usd / self.book.mid_price_usd
        size = self.book.bid_size_eth
        cum_size = np.cumsum(size)
        cum_notional = np.cumsum(size * rel)
        for arr in (rel, cum_size, cum_notional):
            arr.setflags(write=False)
        object.__setattr__(self, "_price_rel", rel)
        object.__setattr__(self, "_cum_size", cum_size)
        object.__setattr__(self, "_cum_notional", cum_notional)

    @property
    def name(self) -> str:
        """Model name."""
        return "book"

    @property
    def capacity_eth(self) -> float:
        """All bid size, ETH."""
        return self.book.bid_depth_eth

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent sweeps: average price ``mid * (sum_i size_i rel_i) / filled``."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        if self.on_exhausted == "raise":
            over = qty > self.capacity_eth
            if over.any():
                i = int(np.flatnonzero(over.reshape(-1))[0])
                raise InvalidArgument(
                    f"qty_eth={float(qty.reshape(-1)[i])!r} exceeds the book's bid depth "
                    f"{self.capacity_eth!r} ETH; sell less or use on_exhausted='report'."
                )
        shape = qty.shape
        filled, proceeds_rel, last_rel = book_sweep(
            self._cum_size, self._cum_notional, self._price_rel, qty.reshape(-1)
        )
        flat_mid = mid.reshape(-1)
        sold = filled > 0.0
        avg = np.where(sold, flat_mid * proceeds_rel / np.where(sold, filled, 1.0), flat_mid)
        return Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=filled.reshape(shape),
            avg_price_usd=avg.reshape(shape),
            new_mid_usd=(flat_mid * last_rel).reshape(shape),
        )

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Slices swept one after another with no refill between them."""
        return cumulative_schedule(self, mid_price_usd, slices_eth, step_days)

    def marginal_price_usd(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> FloatArray:
        """Price of the level that holds the next ETH after ``qty_eth`` (0 past the book)."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        rel = book_marginal_price_rel(self._cum_size, self._price_rel, qty.reshape(-1))
        out: FloatArray = mid * rel.reshape(qty.shape)
        return out

    def qty_at_marginal_price_eth(
        self, mid_price_usd: ArrayLike, price_usd: ArrayLike
    ) -> FloatArray:
        """Bid size at prices >= ``price_usd`` (after rescaling to ``mid``), ETH."""
        mid = as_price_array("mid_price_usd", mid_price_usd)
        price = np.asarray(price_usd, dtype=np.float64)
        mid_b, price_b = np.broadcast_arrays(mid, price)
        rel = (price_b / mid_b).reshape(-1)
        out: FloatArray = book_qty_at_price(self._cum_size, self._price_rel, rel).reshape(
            mid_b.shape
        )
        return out


__all__ = ["OrderBook", "OrderBookImpact"]
