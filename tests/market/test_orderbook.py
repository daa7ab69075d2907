"""The L2 order-book sweep on hand-made books."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from delever.errors import InvalidArgument
from delever.market.orderbook import OrderBook, OrderBookImpact

# Bids 10 @ 1999, 20 @ 1998, 50 @ 1995; one ask 5 @ 2001; mid 2000.
BOOK = OrderBook.from_levels([(1998.0, 20.0), (1999.0, 10.0), (1995.0, 50.0)], [(2001.0, 5.0)])


def test_hand_made_book_arithmetic() -> None:
    assert BOOK.mid_price_usd == 2000.0
    assert list(BOOK.bid_price_usd) == [1999.0, 1998.0, 1995.0]  # sorted best first
    fills = OrderBookImpact(BOOK).execute(2000.0, [5.0, 10.0, 25.0, 80.0])
    # 5 @ 1999; 10 @ 1999; 10 @ 1999 + 15 @ 1998 = 49,960 -> 1998.4;
    # 10 @ 1999 + 20 @ 1998 + 50 @ 1995 = 19,990 + 39,960 + 99,750 = 159,700 -> 1996.25.
    assert_allclose(fills.avg_price_usd, [1999.0, 1999.0, 49_960.0 / 25.0, 159_700.0 / 80.0],
                    rtol=1e-15)
    assert_allclose(fills.proceeds_usd, [9_995.0, 19_990.0, 49_960.0, 159_700.0], rtol=1e-15)
    assert_allclose(fills.new_mid_usd, [1999.0, 1999.0, 1998.0, 1995.0])
    # Discount: mark 2000 minus the average, times the ETH: 5, 10, 40, 300 USD.
    assert_allclose(fills.discount_usd, [5.0, 10.0, 40.0, 300.0], rtol=1e-12)
    assert_allclose(fills.discount_pct, [0.05, 0.05, 0.08, 0.1875], rtol=1e-12)


def test_exhausted_book_reports_unfilled() -> None:
    fills = OrderBookImpact(BOOK).execute(2000.0, [80.0, 100.0])
    assert_allclose(fills.filled_eth, [80.0, 80.0])
    assert_allclose(fills.unfilled_eth, [0.0, 20.0])
    assert_allclose(fills.avg_price_usd, [1996.25, 1996.25])
    assert_allclose(fills.new_mid_usd, [1995.0, 1995.0])


def test_exhausted_book_can_raise() -> None:
    model = OrderBookImpact(BOOK, on_exhausted="raise")
    assert model.execute(2000.0, 80.0).filled_eth[()] == 80.0
    with pytest.raises(InvalidArgument, match=r"bid depth 80\.0"):
        model.execute(2000.0, [1.0, 80.5])


def test_book_rescales_to_another_mid() -> None:
    fills = OrderBookImpact(BOOK).execute(3000.0, 25.0)
    assert_allclose(fills.avg_price_usd[()], 1.5 * 49_960.0 / 25.0, rtol=1e-14)
    assert_allclose(fills.new_mid_usd[()], 1.5 * 1998.0, rtol=1e-14)


def test_schedule_sweeps_without_refill() -> None:
    sched = OrderBookImpact(BOOK).execute_schedule(2000.0, [15.0, 15.0, 60.0])
    # Slice 1: 10 @ 1999 + 5 @ 1998; slice 2: 15 @ 1998; slice 3: 50 @ 1995, 10 unfilled.
    assert_allclose(sched.avg_price_usd, [(19_990.0 + 9_990.0) / 15.0, 1998.0, 1995.0])
    assert_allclose(sched.filled_eth, [15.0, 15.0, 50.0])
    assert_allclose(sched.total_unfilled_eth, 10.0)
    assert_allclose(sched.mid_after_usd, [1998.0, 1998.0, 1995.0])


def test_marginal_price_and_quantity_at_price() -> None:
    model = OrderBookImpact(BOOK)
    assert_allclose(model.marginal_price_usd(2000.0, [0.0, 5.0, 10.0, 10.5, 80.0, 81.0]),
                    [2000.0, 1999.0, 1999.0, 1998.0, 1995.0, 0.0])
    assert_allclose(model.qty_at_marginal_price_eth(2000.0, [2000.0, 1999.0, 1998.5, 1995.0, 1.0]),
                    [0.0, 10.0, 10.0, 80.0, 80.0])


def _slow_sweep(prices: np.ndarray, sizes: np.ndarray, qty: float) -> tuple[float, float]:
    """Walk the levels one at a time (the oracle): filled ETH and USD proceeds."""
    filled, proceeds = 0.0, 0.0
    for price, size in zip(prices, sizes, strict=True):
        take = min(qty - filled, size)
        proceeds += take * price
        filled += take
        if filled >= qty:
            break
    return filled, proceeds


@settings(deadline=None, max_examples=60)
@given(
    sizes=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=25),
    steps=st.lists(st.floats(0.01, 5.0), min_size=25, max_size=25),
    orders=st.lists(st.floats(0.0, 3000.0), min_size=1, max_size=10),
)
def test_vectorised_sweep_equals_level_by_level_walk(
    sizes: list[float], steps: list[float], orders: list[float]
) -> None:
    size = np.asarray(sizes)
    prices = 1999.0 - np.cumsum(np.asarray(steps[: size.shape[0]]))
    book = OrderBook(prices, size, np.array([2001.0]), np.array([1.0]), 2000.0)
    fills = OrderBookImpact(book).execute(2000.0, orders)
    for i, qty in enumerate(orders):
        filled, proceeds = _slow_sweep(prices, size, qty)
        assert_allclose(fills.filled_eth[i], filled, rtol=1e-12, atol=1e-12)
        assert_allclose(fills.proceeds_usd[i], proceeds, rtol=1e-12, atol=1e-9)


def test_book_from_binance_depth_bands() -> None:
    # Cumulative bands: bids 10 ETH / 19,900 USD within 1 %, 30 ETH / 59,500 USD within 2 %;
    # asks 5 ETH / 10,100 USD within 1 %. Levels: 10 @ 1,990, 20 @ 39,600 / 20 = 1,980,
    # ask 5 @ 2,020; mid (1,990 + 2,020) / 2 = 2,005 (an estimate).
    book = OrderBook.from_depth_bands([-2.0, -1.0, 1.0], [30.0, 10.0, 5.0],
                                      [59_500.0, 19_900.0, 10_100.0])
    assert_allclose(book.bid_price_usd, [1990.0, 1980.0])
    assert_allclose(book.bid_size_eth, [10.0, 20.0])
    assert_allclose(book.ask_price_usd, [2020.0])
    assert book.mid_price_usd == 2005.0
    # The book holds the file's notional exactly.
    fills = OrderBookImpact(book).execute(book.mid_price_usd, 30.0)
    assert_allclose(fills.proceeds_usd[()], 59_500.0, rtol=1e-14)


def test_depth_bands_drop_empty_bands_and_refuse_falling_depth() -> None:
    book = OrderBook.from_depth_bands([-1.0, -2.0, -3.0, 1.0], [10.0, 10.0, 15.0, 1.0],
                                      [19_900.0, 19_900.0, 29_600.0, 2_020.0])
    assert_allclose(book.bid_size_eth, [10.0, 5.0])
    with pytest.raises(InvalidArgument, match="must not decrease"):
        OrderBook.from_depth_bands([-1.0, -2.0], [10.0, 5.0], [19_900.0, 29_000.0])


A = np.array


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"bid_price_usd": A([2001.0, 1999.0])}, "crossed"),
        ({"bid_price_usd": A([2000.5, 1999.0]), "mid_price_usd": 2000.0}, "between"),
        ({"bid_price_usd": A([1999.0, 1999.0])}, "strictly decreasing"),
        ({"bid_price_usd": A([1998.0, 1999.0])}, "strictly decreasing"),
        ({"ask_price_usd": A([2002.0, 2001.0])}, "strictly increasing"),
        ({"bid_size_eth": A([1.0, 0.0])}, "greater than 0"),
        ({"bid_size_eth": A([1.0, -3.0])}, "greater than 0"),
        ({"bid_price_usd": A([1999.0, math.nan])}, "finite price"),
        ({"bid_price_usd": A([1999.0, -1.0])}, "finite price"),
        ({"bid_price_usd": A([]), "bid_size_eth": A([])}, "no bids"),
        ({"bid_size_eth": A([1.0])}, "one size per level"),
        ({"mid_price_usd": 0.0}, "mid_price_usd"),
    ],
    ids=["crossed", "mid-below-best-bid", "equal-bids", "bids-rising", "asks-falling",
         "zero-size", "negative-size", "nan-price", "negative-price", "no-bids",
         "size-count", "zero-mid"],
)
def test_bad_books_refused(kwargs: dict[str, object], fragment: str) -> None:
    good: dict[str, object] = {
        "bid_price_usd": A([1999.0, 1998.0]), "bid_size_eth": A([1.0, 2.0]),
        "ask_price_usd": A([2001.0, 2002.0]), "ask_size_eth": A([1.0, 2.0]),
        "mid_price_usd": 2000.0,
    }
    OrderBook(**good)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=fragment):
        OrderBook(**{**good, **kwargs})  # type: ignore[arg-type]


def test_duplicate_levels_in_a_list_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="strictly decreasing"):
        OrderBook.from_levels([(1999.0, 1.0), (1999.0, 2.0)], [(2001.0, 1.0)])
    with pytest.raises(InvalidArgument, match="mid_price_usd is required"):
        OrderBook.from_levels([(1999.0, 1.0)])
    one_sided = OrderBook.from_levels([(1999.0, 1.0)], mid_price_usd=2000.0)
    assert one_sided.ask_price_usd.shape == (0,)
