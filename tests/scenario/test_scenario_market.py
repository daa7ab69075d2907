"""scenario_market: the default square-root market plus the scenario's book and followers."""

from __future__ import annotations

import numpy as np
import pytest

import delever
from delever.book import build_ladder, synthetic_book
from delever.scenario import build_scenario, load_scenario, scenario_book_sales, scenario_market
from delever.sim.api import build_inputs
from delever.sim.unwind import BookSales, simulate_unwind
from delever.strategy import Hold

# The built-in trend-2026 [book] section: 2,000 accounts, 1,000,000 ETH, seed 0, followers
# kappa 0.5 (illustrative estimate), lag 1 step.
TREND_2026_KAPPA = 0.5


def test_default_scenario_has_its_book_and_followers() -> None:
    scenario = delever.load_scenario()
    market = scenario_market(scenario)
    spec = scenario.spec.book
    assert spec is not None
    assert market.followers_kappa == TREND_2026_KAPPA
    assert market.followers_lag_steps == spec.followers_lag_steps == 1
    assert market.book is not None and len(market.book) > spec.n_accounts  # several rungs each
    # the same draw as amplification_report's, at the mark
    book = synthetic_book(spec.n_accounts, spec.total_collateral_eth.value,
                          scenario.mark_price_usd, seed=spec.seed)
    ref = BookSales.from_ladder(build_ladder(book))
    assert market.book.trigger_usd.tobytes() == ref.trigger_usd.tobytes()
    assert market.book.value_usd.tobytes() == ref.value_usd.tobytes()
    # nobody in the book is liquidatable at the mark itself
    assert float(market.book.trigger_usd[0]) < scenario.mark_price_usd
    # the impact is build_inputs' default market
    default = build_inputs(scenario, n_paths=1, n_steps=1).market
    assert market.impact == default.impact
    assert market.transient_half_life_hours == default.transient_half_life_hours
    assert default.book is None and default.followers_kappa == 0.0


def test_flags_switch_the_actors_off() -> None:
    scenario = load_scenario()
    no_book = scenario_market(scenario, book=False)
    assert no_book.book is not None and len(no_book.book) == 0
    assert no_book.followers_kappa == TREND_2026_KAPPA
    no_followers = scenario_market(scenario, followers=False)
    assert no_followers.followers_kappa == 0.0
    assert no_followers.book is not None and len(no_followers.book) > 0


def test_a_scenario_without_a_book_section() -> None:
    scenario = load_scenario()
    bare = build_scenario(scenario.spec.model_copy(update={"book": None}))
    market = scenario_market(bare)
    assert market.book is not None and len(market.book) == 0
    assert market.followers_kappa == 0.0 and market.followers_lag_steps == 1
    assert len(scenario_book_sales(bare)) == 0


def test_the_book_sells_into_a_crash() -> None:
    scenario = load_scenario()
    inputs = build_inputs(scenario, n_paths=1, n_steps=1)
    mark = scenario.mark_price_usd
    crash = mark * np.exp(np.linspace(0.0, np.log(0.7), 49))[None, :]  # -30% over 48 h
    market = scenario_market(scenario)
    with_book = simulate_unwind(inputs.position, Hold(), crash, market=market,
                                lending=inputs.lending)
    alone = simulate_unwind(inputs.position, Hold(), crash, market=inputs.market,
                            lending=inputs.lending)
    assert with_book.book_sold_eth[0] > 0
    # S(p) of the ladder at the lowest mid is what a continuous fall sells; the engine sells
    # the same rungs at the mid reached (lower than the trigger), so at least as much ETH
    assert market.book is not None
    low = float(with_book.mid_usd[0].min())
    crossed = market.book.trigger_usd >= low
    at_triggers = float((market.book.value_usd[crossed] / market.book.trigger_usd[crossed]).sum())
    assert with_book.book_sold_eth[0] == pytest.approx(at_triggers, rel=0.05)
    assert with_book.book_sold_eth[0] >= at_triggers * (1 - 1e-12)
    assert with_book.mid_usd[0, -1] < alone.mid_usd[0, -1]
