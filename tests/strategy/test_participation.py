"""The participation (POV) strategy: a fixed share of the daily volume per step.

Hand-worked schedules, and the engine on flat price paths selling exactly that pace.
"""

from __future__ import annotations

import numpy as np
import pytest

import delever
from delever.errors import InvalidArgument
from delever.strategy import StrategyContext
from delever.strategy.rules import Participation, strategy_by_name


def _context(initial_eth: float, adv_eth: float, n_steps: int = 10) -> StrategyContext:
    return StrategyContext(n_steps=n_steps, step_hours=1.0, initial_eth=initial_eth,
                           initial_debt_usd=1e6, mark_price_usd=2_000.0, sigma_daily=0.04,
                           adv_eth=adv_eth, impact_y=1.0)


def test_schedule_by_hand() -> None:
    # 10% of 120,000 ETH a day, hourly: 500 ETH a step; 1,750 ETH = 3 full steps + 250 ETH
    spec = Participation(rate=0.10).rule_spec(_context(1_750.0, 120_000.0))
    expected = np.zeros(10)
    expected[:3] = 500.0 / 1_750.0
    expected[3] = 250.0 / 1_750.0
    np.testing.assert_allclose(spec.schedule_frac, expected, rtol=1e-12)
    assert spec.schedule_frac.sum() == pytest.approx(1.0, rel=1e-12)


def test_a_slow_market_leaves_eth_at_the_horizon() -> None:
    # 1% of 24,000 ETH a day: 10 ETH an hour; 10 steps sell 100 of 1,000 ETH, no catch-up
    spec = Participation(rate=0.01).rule_spec(_context(1_000.0, 24_000.0))
    np.testing.assert_allclose(spec.schedule_frac, np.full(10, 0.01), rtol=1e-12)


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5, float("nan")])
def test_bad_rate_is_refused(rate: float) -> None:
    with pytest.raises(InvalidArgument, match="rate="):
        Participation(rate=rate)


def test_reachable_by_name() -> None:
    assert isinstance(strategy_by_name("participation"), Participation)
    assert "participation" not in delever.strategy.DEFAULT_STRATEGIES  # the run is unchanged


def test_the_engine_sells_at_the_pace_of_the_volume() -> None:
    scenario = delever.load_scenario("trend-2026")
    n_steps = 6
    flat = np.full((2, n_steps + 1), scenario.mark_price_usd)
    result = delever.simulate(scenario, [Participation(rate=0.01)], n_steps=n_steps,
                              paths=flat, seed=0)
    run = result.results[0]
    adv_eth = scenario.spec.market.adv_eth.value
    per_step = 0.01 * adv_eth / 24.0
    # every step sells the same share of the volume (nothing near the liquidation band)
    np.testing.assert_allclose(run.sold_eth[:, 1:], per_step, rtol=1e-9)
