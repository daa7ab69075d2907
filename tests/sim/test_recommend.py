"""The recommendation reads the plan and the advice without changing their figures."""

from __future__ import annotations

import math

import pytest

from delever.scenario import load_scenario
from delever.scenario.market import scenario_market
from delever.sim.advise import Advice, AdviceRun, AdviceSettings, advise
from delever.sim.api import build_inputs
from delever.sim.montecarlo import MonteCarlo
from delever.sim.plan import PlanObjective, PlanResult, PlanSearch, plan_for_scenario
from delever.sim.recommend import recommend


@pytest.fixture(scope="module")
def plan_and_advice() -> tuple[PlanResult, Advice]:
    sc = load_scenario()
    market = scenario_market(sc)
    plan = plan_for_scenario(sc, PlanObjective(), mc=MonteCarlo(0, 200), horizon_hours=24.0,
                             market=market, search=PlanSearch(maxfev=2))
    inputs = build_inputs(sc, n_paths=1, n_steps=1)
    run = AdviceRun(market, inputs.lending, sc.mark_price_usd, n_paths=60)
    advice = advise(inputs.position, run, AdviceSettings(horizon_days=1.0, after_horizon_days=60.0,
                                                         heatmap_horizon_days=5.0))
    return plan, advice


def test_recommendations_carry_the_figures_they_are_built_on(
        plan_and_advice: tuple[PlanResult, Advice]) -> None:
    plan, advice = plan_and_advice
    items = recommend(plan, advice)
    assert [r.topic for r in items] == ["how fast to sell", "margin buffer", "position size",
                                        "after the unwind"]
    speed, buffer, size, after = items
    assert speed.figures["params"] == list(plan.plan.params)
    assert speed.figures["mean_sold_eth"] == pytest.approx(float(plan.daily_sold_eth().sum()))
    assert plan.plan.describe() in speed.text
    assert buffer.figures["recommended_hf"] == advice.margin_buffer.recommended_hf
    assert f"{advice.margin_buffer.recommended_hf:.3f}" in buffer.text
    # the plan's 5% cap is looser than the buffer's 1% quantile: the text says so
    assert "stricter than the plan" in buffer.text
    assert size.figures["max_eth"] == min(lim.at_limit.eth for lim in advice.max_position.limits)
    assert size.figures["ratio"] == pytest.approx(
        size.figures["max_eth"] / advice.max_position.current_eth)
    # after the unwind: the choice is the strategy with the higher median final P&L per source
    for source, choice in after.figures["by_source"].items():
        med = {r.strategy: r.final_pnl.quantiles[2] for r in advice.after_unwind.rows
               if r.source == source}
        best = max(med, key=lambda k: -math.inf if med[k] is None else med[k])
        assert choice == best
    for r in items:
        assert "$-" not in r.text  # signs before the dollar
        assert set(r.to_dict()) == {"topic", "text", "figures"}
    # both statistics, and which each favours (issue 11: "chosen on medians while the
    # bootstrap means favour hold: state both")
    for source, choice in after.figures["by_source_mean"].items():
        mean = after.figures["mean_final_pnl_usd"][source]
        assert choice == max(mean, key=lambda k: mean[k])
    assert "mean " in after.text and "median " in after.text
    assert ("the means agree" in after.text) or ("the means favour" in after.text)
    # the plan says how wide the near-optimal set is, and is its centre
    near = plan.near_optimal
    assert near is not None and speed.figures["near_optimal"] == near.to_dict()
    assert near.text() in speed.text


def test_after_states_medians_and_means_when_they_disagree() -> None:
    """Rebounds win on medians, hold on means (the tails): the sentence says both."""
    from types import SimpleNamespace

    import numpy as np

    from delever.sim.advise import AfterRow, AfterUnwindResult, Distribution
    from delever.sim.recommend import _after

    def row(source: str, strategy: str, pnl: list[float]) -> AfterRow:
        x = np.array(pnl)
        return AfterRow(source, strategy, 0.5, 0.0, Distribution.of(np.zeros(3)),
                        Distribution.of(x), np.zeros(3), x)

    rows = (row("bootstrap", "hold", [-3e6, -2e6, 9e6]),      # median -2M, mean +1.33M
            row("bootstrap", "rebound", [-1e6, -1e6, -1e6]),  # median -1M, mean -1M
            row("model", "hold", [-3e6, -2e6, -1e6]),
            row("model", "rebound", [-1e6, -1e6, -1e6]))
    advice = SimpleNamespace(after_unwind=AfterUnwindResult(730.0, 24.0, 3, 3000.0, True, rows))
    rec = _after(advice)  # type: ignore[arg-type]
    assert rec.figures["by_source"] == {"bootstrap": "rebound", "model": "rebound"}
    assert rec.figures["by_source_mean"] == {"bootstrap": "hold", "model": "rebound"}
    assert rec.text.startswith("Sell into rebounds: its median final P&L")
    assert "the means favour hold on bootstrap paths" in rec.text
    assert "hold median -$2.0M, mean $1.3M" in rec.text
