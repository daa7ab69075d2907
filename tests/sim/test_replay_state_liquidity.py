"""The replay's own impact walks the kernels' ImpactLaw, with fixed or state-thinned depth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_replay import ADV, SIGMA, Y, _inputs

from delever.market import SquareRootImpact
from delever.market.liquidity import StateLiquidity
from delever.sim.replay import (
    drawdown_decomposition,
    market_law,
    own_impact_fraction,
    state_liquidity_own_impact,
)
from delever.sim.unwind import UnwindMarket


@pytest.mark.parametrize("half_life_hours", [0.0, 6.0])
def test_own_impact_is_the_unwind_kernel_s_law(half_life_hours: float) -> None:
    # The unwind kernel's formula before the ImpactLaw (Q_mem shrinking by decay^2 a step,
    # I = Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V))) beside the law.
    schedule = np.array([3_000.0, 0.0, 7_000.0, 1_000.0, 0.0, 0.0, 12_000.0])
    market = UnwindMarket(SquareRootImpact(SIGMA, ADV, Y, 2.0 / 3.0), half_life_hours)
    own = own_impact_fraction(schedule, market, 1.0)
    decay = market.decay_per_step(1.0)
    q_all = q_mem = 0.0
    for k, q in enumerate(schedule, start=1):
        q_mem *= decay * decay
        q_all += q
        q_mem = q_mem + q if decay > 0 else 0.0
        by_hand = Y * SIGMA * (2 / 3 * math.sqrt(q_all / ADV) + 1 / 3 * math.sqrt(q_mem / ADV))
        assert own[k] == pytest.approx(by_hand, rel=1e-14)
    law = market_law(market, 1.0)
    assert law.decay_per_s == (math.inf if half_life_hours == 0 else
                               pytest.approx(math.log(2) / (3600 * half_life_hours)))


def test_no_thinning_gives_the_fixed_depth_impact() -> None:
    inputs = _inputs(6.0)
    none = StateLiquidity(thin_vol=0.0, thin_drawdown=0.0, vol_ref=0.04, vol_halflife_s=86_400)
    fixed = own_impact_fraction(inputs.schedule_eth, inputs.market, 1.0)
    thinned = state_liquidity_own_impact(inputs, none, initial_var_per_day=0.0016)
    assert thinned == pytest.approx(fixed, rel=1e-14)


def test_drawdown_thinning_by_hand() -> None:
    # No relaxation (permanent only), b = 1, no vol effect: I_k = perm Y sigma
    # sqrt(Q_k / (V (1 - dd_k))) with dd_k the fall of the path from its start.
    inputs = _inputs(0.0)
    liquidity = StateLiquidity(thin_vol=0.0, thin_drawdown=1.0, vol_ref=1.0,
                               vol_halflife_s=86_400)
    own = state_liquidity_own_impact(inputs, liquidity, initial_var_per_day=0.0)
    dd = 1.0 - inputs.realized_usd / inputs.realized_usd[0]
    q = np.concatenate(([0.0], np.cumsum(inputs.schedule_eth)))
    expected = 2.0 / 3.0 * Y * SIGMA * np.sqrt(q / (ADV * (1.0 - dd)))
    assert own == pytest.approx(expected, rel=1e-12)
    fixed = drawdown_decomposition(inputs, own_impact_fraction(inputs.schedule_eth,
                                                               inputs.market, 1.0))
    thin = drawdown_decomposition(inputs, own)
    assert thin["drawdown_log_pct"] == fixed["drawdown_log_pct"]
    assert thin["own_impact_log_pct"] > fixed["own_impact_log_pct"]  # thinner depth
    assert thin["own_impact_log_pct"] + thin["rest_log_pct"] == pytest.approx(
        thin["drawdown_log_pct"])
