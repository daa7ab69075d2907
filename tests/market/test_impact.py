"""Shared checks over every impact model, and the square-root law against closed forms.

The shared checks follow scikit-learn's ``parametrize_with_checks``: every (model, check)
pair is its own test, so a failure names both.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.integrate import quad

from delever.errors import InvalidArgument
from delever.kernels.impact import sqrt_impact, sqrt_impact_py
from delever.market.almgren_chriss import AlmgrenChrissImpact
from delever.market.impact import Fills, ImpactModel, SquareRootImpact, VenueModel
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.router import Router
from delever.market.transient import ObizhaevaWangImpact, PropagatorImpact
from delever.market.univ3 import UniswapV3Impact, UniswapV3Pool, illustrative_pool

MID = 2000.0


def _book() -> OrderBook:
    bids = [(1999.0 - 0.5 * k, 5.0 + 2.0 * k) for k in range(30)]
    asks = [(2001.0 + 0.5 * k, 5.0) for k in range(5)]
    return OrderBook.from_levels(bids, asks)


def _pool_eth0() -> UniswapV3Pool:
    return UniswapV3Pool.from_usd_ranges(
        2000.0, [(1800.0, 2200.0, 400.0), (1000.0, 3000.0, 2000.0)], eth_is_token0=True,
        fee_pips=3000, tick_spacing=60,
    )


MODELS: dict[str, Callable[[], ImpactModel]] = {
    "sqrt": lambda: SquareRootImpact(sigma_daily=0.04, adv_eth=5e5, impact_y=0.8),
    "sqrt-relaxed": lambda: SquareRootImpact(0.04, 5e5, permanent_frac=2.0 / 3.0),
    "ac-twap": lambda: AlmgrenChrissImpact(sigma=80.0, eta=3e-4, gamma=3e-5, n_steps=5),
    "ac-risk-averse": lambda: AlmgrenChrissImpact(
        sigma=80.0, eta=3e-4, gamma=3e-5, epsilon=0.01, risk_aversion=1e-7, n_steps=8,
        step_days=0.5,
    ),
    "ow": lambda: ObizhaevaWangImpact(1.5e-3, 16.6, permanent_frac=0.2, n_steps=4,
                                      step_days=0.05),
    "ow-block": lambda: ObizhaevaWangImpact(1.5e-3, 16.6),
    "propagator": lambda: PropagatorImpact(1.5e-3, 1.0 / 24.0, 0.4, n_steps=6, step_days=0.1),
    "book": lambda: OrderBookImpact(_book()),
    "univ3-eth-token1": lambda: UniswapV3Impact(illustrative_pool()),
    "univ3-eth-token0": lambda: UniswapV3Impact(_pool_eth0()),
    "router-sqrt-univ3": lambda: Router.of(
        [SquareRootImpact(0.04, 5e5), UniswapV3Impact(illustrative_pool())]
    ),
    "router-book-univ3": lambda: Router.of(
        [OrderBookImpact(_book()), UniswapV3Impact(_pool_eth0())]
    ),
}

# Sizes from tiny to past the book's and the small pool's depth.
SIZES = np.array([0.0, 1e-6, 0.5, 3.0, 10.0, 47.0, 150.0, 600.0, 2_500.0, 9_000.0, 40_000.0])


def check_zero_order_fills_at_mid(model: ImpactModel) -> None:
    fills = model.execute(MID, 0.0)
    assert fills.avg_price_usd[()] == MID
    assert fills.new_mid_usd[()] == MID
    assert fills.filled_eth[()] == 0.0
    assert fills.discount_usd[()] == 0.0
    assert fills.discount_pct[()] == 0.0


def check_larger_sell_lower_average(model: ImpactModel) -> None:
    avg = model.execute(MID, SIZES).avg_price_usd
    assert (np.diff(avg) <= 1e-9 * MID).all(), avg


def check_discount_non_negative(model: ImpactModel) -> None:
    fills = model.execute(MID, SIZES)
    assert (fills.discount_usd_per_eth >= -1e-9 * MID).all()
    assert (fills.discount_usd >= -1e-6).all()
    assert (fills.new_mid_usd <= MID * (1 + 1e-12)).all()


def check_vectorised_equals_loop(model: ImpactModel) -> None:
    mids = np.linspace(1500.0, 2500.0, SIZES.shape[0])
    vec = model.execute(mids, SIZES)
    for i, (m, q) in enumerate(zip(mids, SIZES, strict=True)):
        one = model.execute(m, q)
        for name in ("filled_eth", "avg_price_usd", "new_mid_usd"):
            assert_allclose(getattr(one, name)[()], getattr(vec, name)[i], rtol=1e-12,
                            err_msg=f"{name} of order {i}")


def check_broadcast_and_shape(model: ImpactModel) -> None:
    grid = model.execute(np.array([[1900.0], [2100.0]]), np.array([1.0, 10.0, 100.0]))
    assert grid.avg_price_usd.shape == (2, 3)
    assert_allclose(grid.avg_price_usd[1], model.execute(2100.0, [1.0, 10.0, 100.0]).avg_price_usd,
                    rtol=1e-12)


def check_results_read_only_and_inputs_untouched(model: ImpactModel) -> None:
    qty = np.array([1.0, 2.0])
    fills = model.execute(MID, qty)
    assert qty.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        fills.avg_price_usd[0] = 0.0


def check_schedule_totals_add_up(model: ImpactModel) -> None:
    sched = model.execute_schedule(MID, [10.0, 0.0, 30.0, 5.0])
    assert sched.n_slices == 4
    assert_allclose(sched.discount_usd.sum(), sched.total_discount_usd, rtol=1e-9, atol=1e-6)
    assert_allclose(sched.total_proceeds_usd, sched.avg_fill_price_usd * sched.total_filled_eth,
                    rtol=1e-12)
    assert sched.total_discount_usd >= -1e-6
    assert sched.filled_eth[1] == 0.0
    assert "discount" in str(sched)


def check_bad_sizes_refused(model: ImpactModel) -> None:
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(InvalidArgument, match="qty_eth"):
            model.execute(MID, [1.0, bad])
    with pytest.raises(InvalidArgument, match="mid_price_usd"):
        model.execute(0.0, 1.0)
    with pytest.raises(InvalidArgument, match="slices_eth"):
        model.execute_schedule(MID, [1.0, -2.0])


def check_is_an_impact_model(model: ImpactModel) -> None:
    assert isinstance(model, ImpactModel)
    assert isinstance(model.name, str) and model.name
    assert isinstance(model.execute(MID, 1.0), Fills)


CHECKS = [
    check_zero_order_fills_at_mid,
    check_larger_sell_lower_average,
    check_discount_non_negative,
    check_vectorised_equals_loop,
    check_broadcast_and_shape,
    check_results_read_only_and_inputs_untouched,
    check_schedule_totals_add_up,
    check_bad_sizes_refused,
    check_is_an_impact_model,
]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
@pytest.mark.parametrize("model_name", list(MODELS))
def test_shared_check(model_name: str, check: Callable[[ImpactModel], None]) -> None:
    check(MODELS[model_name]())


VENUES = ["sqrt", "book", "univ3-eth-token1", "univ3-eth-token0"]


@pytest.mark.parametrize("model_name", VENUES)
def test_venue_marginal_price_and_inverse_agree(model_name: str) -> None:
    venue = MODELS[model_name]()
    assert isinstance(venue, VenueModel)
    qty = np.array([0.0, 0.3, 7.0, 60.0, 400.0])
    marginal = venue.marginal_price_usd(MID, qty)
    assert (np.diff(marginal) <= 1e-9).all()
    # Selling up to the inverse of a price brings the marginal price to it (or just past a
    # book level, whose price jumps).
    back = venue.qty_at_marginal_price_eth(MID, marginal[1:] * (1 - 1e-12))
    assert (back >= qty[1:] * (1 - 1e-9)).all()


@pytest.mark.parametrize("model_name", VENUES)
def test_venue_proceeds_are_integral_of_marginal_price(model_name: str) -> None:
    """Proceeds = the integral of the marginal price over the ETH sold (scipy quad)."""
    venue = MODELS[model_name]()
    assert isinstance(venue, VenueModel)
    for qty in (3.0, 80.0):
        integral, _ = quad(lambda q: float(venue.marginal_price_usd(MID, q)), 0.0, qty,
                           limit=400, points=np.linspace(0, qty, 41)[1:-1])
        assert_allclose(venue.execute(MID, qty).proceeds_usd[()], integral, rtol=1e-6)


# --- the square-root law ------------------------------------------------------------------------


def test_sqrt_hand_example() -> None:
    # sigma 0.04, V 500,000 ETH, Y 1, Q 5,000 ETH: peak impact 0.04 * sqrt(0.01) = 0.004,
    # average fill 2000 * (1 - 2/3 * 0.004) = 1994.666..., new mid 2000 * 0.996 = 1992.
    fills = SquareRootImpact(0.04, 500_000.0).execute(2000.0, 5000.0)
    assert_allclose(fills.avg_price_usd[()], 2000.0 * (1 - 2.0 / 3.0 * 0.004), rtol=1e-14)
    assert_allclose(fills.new_mid_usd[()], 1992.0, rtol=1e-14)
    assert_allclose(fills.discount_usd[()], 5000.0 * 2000.0 * 2.0 / 3.0 * 0.004, rtol=1e-12)
    assert_allclose(fills.discount_pct[()], 100 * 2.0 / 3.0 * 0.004, rtol=1e-12)


def test_sqrt_cost_scales_as_q_to_the_1_5() -> None:
    model = SquareRootImpact(0.05, 1e6, impact_y=0.7)
    qty = np.geomspace(1.0, 1e5, 11)
    cost = model.execute(MID, qty).discount_usd
    slope = np.polyfit(np.log(qty), np.log(cost), 1)[0]
    assert_allclose(slope, 1.5, atol=1e-9)
    assert_allclose(cost[1:] / cost[:-1], (qty[1:] / qty[:-1]) ** 1.5, rtol=1e-9)


def test_sqrt_impact_of_zero_is_zero_and_average_is_two_thirds_of_peak() -> None:
    model = SquareRootImpact(0.04, 5e5)
    assert model.peak_impact_frac(0.0)[()] == 0.0
    fills = model.execute(MID, [100.0, 1e4])
    peak = model.peak_impact_frac([100.0, 1e4])
    assert_allclose(fills.discount_frac, 2.0 / 3.0 * peak, rtol=1e-12)
    # With the mid left at 2/3 of the peak (relaxed impact) the new mid is the average fill.
    relaxed = SquareRootImpact(0.04, 5e5, permanent_frac=2.0 / 3.0).execute(MID, [100.0, 1e4])
    assert_allclose(relaxed.new_mid_usd, relaxed.avg_price_usd, rtol=1e-12)


def test_sqrt_schedule_walks_the_same_curve() -> None:
    model = SquareRootImpact(0.04, 5e5)
    sched = model.execute_schedule(MID, [2000.0] * 5)
    block = model.execute(MID, 10_000.0)
    assert_allclose(sched.avg_fill_price_usd, block.avg_price_usd[()], rtol=1e-12)
    assert_allclose(sched.final_mid_usd, block.new_mid_usd[()], rtol=1e-12)
    assert_allclose(sched.mid_before_usd[1:], sched.mid_after_usd[:-1], rtol=1e-15)


def test_sqrt_capacity_where_marginal_price_reaches_zero() -> None:
    model = SquareRootImpact(0.5, 100.0, impact_y=2.0)  # Q_max = 100 / 1 = 100 ETH
    assert_allclose(model.capacity_eth, 100.0)
    fills = model.execute(MID, [100.0, 250.0])
    assert_allclose(fills.filled_eth, [100.0, 100.0])
    assert_allclose(fills.unfilled_eth, [0.0, 150.0])
    assert_allclose(fills.avg_price_usd, [MID / 3.0, MID / 3.0])  # integral of 1 - sqrt(q)
    assert_allclose(model.marginal_price_usd(MID, 250.0)[()], 0.0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"sigma_daily": -0.1, "adv_eth": 1.0}, "sigma_daily"),
        ({"sigma_daily": 0.04, "adv_eth": 0.0}, "adv_eth"),
        ({"sigma_daily": 0.04, "adv_eth": math.nan}, "adv_eth"),
        ({"sigma_daily": 0.04, "adv_eth": 1.0, "impact_y": -1.0}, "impact_y"),
        ({"sigma_daily": 0.04, "adv_eth": 1.0, "permanent_frac": 1.5}, "permanent_frac"),
    ],
    ids=["negative-sigma", "zero-adv", "nan-adv", "negative-y", "permanent-above-1"],
)
def test_sqrt_bad_parameters(kwargs: dict[str, float], fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        SquareRootImpact(**kwargs)


@settings(deadline=None, max_examples=50)
@given(
    qty=st.lists(st.floats(0.0, 1e7), min_size=1, max_size=20),
    mid=st.floats(1.0, 1e5),
    y_sigma=st.floats(0.0, 0.3),
)
def test_sqrt_kernel_compiled_equals_python(qty: list[float], mid: float, y_sigma: float) -> None:
    q = np.asarray(qty)
    m = np.full_like(q, mid)
    outs = [tuple(np.empty_like(q) for _ in range(3)) for _ in range(2)]
    sqrt_impact(m, q, y_sigma, 5e5, 0.7, *outs[0])
    sqrt_impact_py(m, q, y_sigma, 5e5, 0.7, *outs[1])
    for jit, py in zip(*outs, strict=True):
        assert_allclose(jit, py, rtol=1e-13)
