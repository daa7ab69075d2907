"""The router: equal marginal prices at the split, and a split that beats every venue alone."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from delever.errors import InvalidArgument
from delever.market.almgren_chriss import AlmgrenChrissImpact
from delever.market.impact import SquareRootImpact
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.router import Router
from delever.market.univ3 import UniswapV3Impact, illustrative_pool

MID = 2000.0
SQRT = SquareRootImpact(0.04, 5e5)
POOL = UniswapV3Impact(illustrative_pool())
BOOK = OrderBookImpact(
    OrderBook.from_levels([(1999.0 - 2.0 * k, 40.0) for k in range(50)], [(2001.0, 1.0)])
)


@pytest.mark.parametrize("qty", [500.0, 5_000.0, 60_000.0])
def test_marginal_prices_meet_at_the_split(qty: float) -> None:
    routed = Router.of([SQRT, POOL]).route(MID, qty)
    split = routed.split_eth[0]
    assert (split > 0).all()
    assert_allclose(split.sum(), qty, rtol=1e-12)
    m_sqrt = SQRT.marginal_price_usd(MID, split[0])[()]
    m_pool = POOL.marginal_price_usd(MID, split[1])[()]
    assert_allclose(m_sqrt, m_pool, rtol=1e-9)
    assert_allclose(routed.marginal_price_usd[0], m_sqrt, rtol=1e-9)


@pytest.mark.parametrize("venues", [[SQRT, POOL], [BOOK, POOL]], ids=["sqrt+pool", "book+pool"])
@pytest.mark.parametrize("qty", [50.0, 900.0, 1_900.0])
def test_split_beats_each_venue_alone_and_any_other_split(venues: list, qty: float) -> None:
    routed = Router.of(venues).route(MID, qty)
    best = routed.fills.proceeds_usd[()]
    for venue in venues:
        alone = venue.execute(MID, qty)
        assert best >= alone.proceeds_usd[()] * (1 - 1e-12)
    # Brute force over 401 splits: none beats the router.
    share = np.linspace(0.0, 1.0, 401)
    grid = (venues[0].execute(MID, share * qty).proceeds_usd
            + venues[1].execute(MID, (1 - share) * qty).proceeds_usd)
    assert best >= grid.max() * (1 - 1e-12)


def test_book_and_pool_split_adds_up_and_respects_levels() -> None:
    routed = Router.of([BOOK, POOL], ["cex", "amm"]).route(MID, [0.0, 30.0, 700.0, 1500.0])
    assert routed.venue_names == ("cex", "amm")
    assert_allclose(routed.split_eth.sum(axis=1), [0.0, 30.0, 700.0, 1500.0], rtol=1e-12)
    for k in range(1, 4):
        p_star = routed.marginal_price_usd[k]
        book_eth, pool_eth = routed.split_eth[k]
        # The book sells every level above p* and nothing below it.
        above = BOOK.qty_at_marginal_price_eth(MID, p_star * (1 + 1e-9))[()]
        at = BOOK.qty_at_marginal_price_eth(MID, p_star * (1 - 1e-9))[()]
        assert above - 1e-9 <= book_eth <= at + 1e-9
        if pool_eth > 0:
            assert_allclose(POOL.marginal_price_usd(MID, pool_eth)[()], p_star, rtol=1e-7)
    assert routed.fills.avg_price_usd[0] == MID


def test_order_beyond_all_venues_is_partly_unfilled() -> None:
    capacity = BOOK.capacity_eth + POOL.capacity_eth
    fills = Router.of([BOOK, POOL]).execute(MID, [capacity, capacity + 123.0])
    assert_allclose(fills.filled_eth, [capacity, capacity], rtol=1e-9)
    assert_allclose(fills.unfilled_eth[1], 123.0, rtol=1e-6)


def test_router_refuses_a_model_without_marginal_price() -> None:
    with pytest.raises(InvalidArgument, match="venues\\[1\\]"):
        Router.of([SQRT, AlmgrenChrissImpact(sigma=1.0, eta=1e-3, gamma=0.0)])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="at least one"):
        Router.of([])
    with pytest.raises(InvalidArgument, match="one per venue"):
        Router.of([SQRT, POOL], ["only-one"])
