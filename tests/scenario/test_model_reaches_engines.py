"""The scenario's ``[market] model`` reaches the unwind engine (simulate, plan, advise use the
same market) and the replay: a linear law's mid after one sale, by hand."""

from __future__ import annotations

import numpy as np
import pytest

import delever
from delever.scenario import parse_scenario_text
from delever.scenario.build import build_scenario
from delever.scenario.market import scenario_market
from delever.sim.replay import market_law
from delever.strategy.rules import SellAll
from scenario_text import one_account_scenario

ADV_ETH = 500_000.0
MARKET = ("[market]\nsigma_daily = 0.04\nadv_eth = 500000\nimpact_y = 1.0\n"
          "impact_y_range = [0.5, 1.5]\n")


def _scenario(extra: str) -> delever.Scenario:
    text = one_account_scenario(debt="{ USDC = 1000 }", extra=MARKET + extra)
    return build_scenario(parse_scenario_text(text))


def _mid_after_selling(scenario: delever.Scenario) -> tuple[float, float]:
    flat = np.full((1, 4), 2_000.0)
    run = delever.simulate(scenario, [SellAll()], n_steps=3, paths=flat).results[0]
    return float(run.sold_eth[0].sum()), float(run.mid_usd[0, -1])


def test_a_linear_market_moves_the_mid_by_its_own_law() -> None:
    # linear, all permanent: after q ETH the mid is 2000 (1 - 0.1 q / V), whatever comes later
    sold, mid = _mid_after_selling(_scenario('model = "linear"\nimpact_per_adv = 0.1\n'))
    assert sold > 99.0  # all of it but what the withdrawal rule keeps back for the debt
    assert mid == pytest.approx(2_000.0 * (1.0 - 0.1 * sold / ADV_ETH), rel=1e-12)


def test_the_default_market_is_not_the_linear_one() -> None:
    sold, mid = _mid_after_selling(_scenario(""))
    assert mid != pytest.approx(2_000.0 * (1.0 - 0.1 * sold / ADV_ETH), rel=1e-6)


def test_plan_advise_and_replay_markets_carry_the_law() -> None:
    scenario = _scenario('model = "linear"\nimpact_per_adv = 0.1\n')
    market = scenario_market(scenario)  # the market of plan and advise
    assert market.law is not None and market.kernel_law() == market.law
    assert market.law.exponent == 1.0 and market.law.scale == 0.1
    assert market_law(market, 1.0) == market.law  # the replay's own-impact decomposition
