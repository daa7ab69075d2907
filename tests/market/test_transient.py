"""Transient impact: Obizhaeva-Wang exponential decay and the power-law propagator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from delever.errors import InvalidArgument
from delever.kernels.impact import (
    DECAY_EXPONENTIAL,
    DECAY_POWER_LAW,
    transient_fills,
    transient_fills_py,
    transient_mid,
    transient_mid_py,
)
from delever.market.transient import ObizhaevaWangImpact, PropagatorImpact

MID = 2000.0
K = 2e-3  # USD per ETH per ETH


def test_ow_single_trade_decays_exponentially() -> None:
    rho = 3.0
    model = ObizhaevaWangImpact(K, rho)
    t = np.array([0.0, 0.1, 0.5, 1.0, 4.0])
    path = model.mid_path_usd(MID, [0.0], [500.0], t)
    impact0 = K * 500.0
    assert_allclose(MID - path, impact0 * np.exp(-rho * t), rtol=1e-12, atol=1e-12 * MID)
    assert path[0] == MID - impact0  # right after the trade: the full move
    assert_allclose(model.half_life_days, math.log(2) / rho)


def test_ow_permanent_share_stays() -> None:
    model = ObizhaevaWangImpact(K, 5.0, permanent_frac=0.3)
    t = np.array([0.0, 0.2, 50.0])
    path = model.mid_path_usd(MID, [0.0], [100.0], t)
    expected = K * 100.0 * (0.3 + 0.7 * np.exp(-5.0 * t))
    assert_allclose(MID - path, expected, rtol=1e-12, atol=1e-12 * MID)
    assert_allclose(MID - path[-1], 0.3 * K * 100.0, rtol=1e-12)


def test_ow_two_trades_hand_computed() -> None:
    rho, gap = 2.0, 0.25
    model = ObizhaevaWangImpact(K, rho)
    run = model.execute_trades(MID, [0.0, gap], [100.0, 300.0])
    # Trade 1 walks a block book of depth 1/K from the mid; trade 2 starts from the mid
    # partly recovered: MID - K*100*exp(-rho*gap).
    before2 = MID - K * 100.0 * math.exp(-rho * gap)
    assert_allclose(run.avg_price_usd, [MID - K * 50.0, before2 - K * 150.0], rtol=1e-15)
    assert_allclose(run.mid_before_usd, [MID, before2], rtol=1e-15)
    assert_allclose(run.mid_after_usd, [MID - K * 100.0, before2 - K * 300.0], rtol=1e-15)
    cost = 100.0 * K * 50.0 + 300.0 * (MID - before2 + K * 150.0)
    assert_allclose(run.total_discount_usd, cost, rtol=1e-9)


def test_ow_optimal_strategy_matches_published_closed_form() -> None:
    """Obizhaeva & Wang (2013): with N + 1 trades tau apart and a = exp(-rho tau), the
    optimal first and last trades are X / ((N - 1)(1 - a) + 2) and the N - 1 in between
    (1 - a) times that. Brute force: minimise the model's cost with scipy."""
    rho, n_gaps, tau, qty = 2.0, 6, 0.25, 1000.0
    model = ObizhaevaWangImpact(K, rho)
    times = np.arange(n_gaps + 1) * tau

    def cost(free: np.ndarray) -> float:
        trades = np.append(free, 1.0 - free.sum()) * qty
        # Mark 1 USD: the cost is an offset, so a small mark keeps its digits.
        return model.execute_trades(1.0, times, np.abs(trades)).total_discount_usd / (
            K * qty * qty
        )

    result = minimize(cost, np.full(n_gaps, 1.0 / (n_gaps + 1)), method="BFGS",
                      options={"gtol": 1e-12})
    brute = np.append(result.x, 1.0 - result.x.sum()) * qty
    a = math.exp(-rho * tau)
    end = qty / ((n_gaps - 1) * (1 - a) + 2)
    closed = np.array([end] + [end * (1 - a)] * (n_gaps - 1) + [end])
    assert_allclose(brute, closed, atol=1e-4 * qty)
    assert cost(closed[:-1] / qty) <= result.fun + 1e-12


def test_propagator_single_trade_follows_the_power_law() -> None:
    t0, beta = 1.0 / 24.0, 0.4
    model = PropagatorImpact(K, t0, beta)
    t = np.array([0.0, t0, 10 * t0, 1000 * t0, 1e5 * t0])
    path = model.mid_path_usd(MID, [0.0], [250.0], t)
    assert_allclose(MID - path, K * 250.0 / (1 + t / t0) ** beta, rtol=1e-12, atol=1e-12 * MID)
    # Far out the decay is a power law of slope -beta on log-log axes.
    late = np.geomspace(1e4, 1e6, 5) * t0
    tail = 1.0 - model.mid_path_usd(1.0, [0.0], [250.0], late)  # mark 1: offsets keep digits
    slope = np.polyfit(np.log(late), np.log(tail), 1)[0]
    assert_allclose(slope, -beta, atol=1e-3)


def test_propagator_with_zero_exponent_is_permanent() -> None:
    model = PropagatorImpact(K, 0.1, 0.0)
    path = model.mid_path_usd(MID, [0.0, 1.0], [10.0, 20.0], [0.5, 2.0, 100.0])
    assert_allclose(path, [MID - K * 10.0, MID - K * 30.0, MID - K * 30.0], rtol=1e-15)


def test_propagator_two_trades_hand_computed() -> None:
    t0, beta, gap = 0.5, 0.5, 1.5
    model = PropagatorImpact(K, t0, beta)
    run = model.execute_trades(MID, [0.0, gap], [40.0, 60.0])
    before2 = MID - K * 40.0 / (1 + gap / t0) ** beta  # (1 + 3)^-0.5 = 1/2
    assert_allclose(before2, MID - K * 20.0)
    assert_allclose(run.avg_price_usd, [MID - K * 20.0, before2 - K * 30.0], rtol=1e-15)


@pytest.mark.parametrize(
    "model",
    [ObizhaevaWangImpact(K, 4.0, 0.1, n_steps=5, step_days=0.2),
     PropagatorImpact(K, 0.05, 0.3, n_steps=5, step_days=0.2)],
    ids=["ow", "propagator"],
)
def test_execute_is_the_equal_slice_schedule_scaled(
    model: ObizhaevaWangImpact | PropagatorImpact,
) -> None:
    qty = np.array([10.0, 1000.0, 12345.0])
    fills = model.execute(MID, qty)
    for q, avg, new_mid in zip(qty, fills.avg_price_usd, fills.new_mid_usd, strict=True):
        run = model.execute_schedule(MID, np.full(5, q / 5))
        assert_allclose(avg, run.avg_fill_price_usd, rtol=1e-12)
        assert_allclose(new_mid, run.final_mid_usd, rtol=1e-12)
        assert_allclose(run.time_days, np.arange(5) * 0.2)


def test_trades_at_one_time_walk_deeper() -> None:
    model = ObizhaevaWangImpact(K, 10.0)
    split = model.execute_trades(MID, [0.0, 0.0], [50.0, 50.0])
    block = model.execute_trades(MID, [0.0], [100.0])
    assert_allclose(split.total_proceeds_usd, block.total_proceeds_usd, rtol=1e-15)
    assert_allclose(split.final_mid_usd, block.final_mid_usd, rtol=1e-15)


@settings(deadline=None, max_examples=30)
@given(
    trades=st.lists(st.floats(0.0, 1e4), min_size=1, max_size=12),
    gaps=st.lists(st.floats(0.0, 2.0), min_size=12, max_size=12),
    kind=st.sampled_from([DECAY_EXPONENTIAL, DECAY_POWER_LAW]),
)
def test_kernels_compiled_equal_python(trades: list[float], gaps: list[float], kind: int) -> None:
    n = np.asarray(trades)
    t = np.cumsum(np.asarray(gaps[: n.shape[0]]))
    p1, p2 = (0.2, 3.0) if kind == DECAY_EXPONENTIAL else (0.05, 0.4)
    out = [np.empty_like(n) for _ in range(4)]
    transient_fills(t, n, kind, K, p1, p2, out[0], out[1])
    transient_fills_py(t, n, kind, K, p1, p2, out[2], out[3])
    assert_allclose(out[0], out[2], rtol=1e-12, atol=1e-12)
    assert_allclose(out[1], out[3], rtol=1e-12, atol=1e-12)
    evals = np.linspace(0.0, t[-1] + 1.0, 7)
    mids = [np.empty_like(evals) for _ in range(2)]
    transient_mid(t, n, kind, K, p1, p2, evals, mids[0])
    transient_mid_py(t, n, kind, K, p1, p2, evals, mids[1])
    assert_allclose(mids[0], mids[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: ObizhaevaWangImpact(0.0, 1.0), "impact_usd_per_eth"),
        (lambda: ObizhaevaWangImpact(K, -1.0), "resilience_per_day"),
        (lambda: ObizhaevaWangImpact(K, 1.0, permanent_frac=1.2), "permanent_frac"),
        (lambda: PropagatorImpact(K, 0.0, 0.5), "decay_time_days"),
        (lambda: PropagatorImpact(K, 1.0, -0.5), "decay_exponent"),
        (lambda: PropagatorImpact(K, 1.0, 0.5, n_steps=0), "n_steps"),
        (lambda: ObizhaevaWangImpact(K, 1.0).execute_trades(MID, [1.0, 0.0], [1.0, 1.0]),
         "time order"),
        (lambda: ObizhaevaWangImpact(K, 1.0).execute_trades(MID, [0.0], [1.0, 1.0]),
         "one per trade"),
        (lambda: ObizhaevaWangImpact(K, 1.0).execute_trades(MID, [0.0], [-1.0]), "trades_eth"),
    ],
    ids=["zero-impact", "negative-rho", "permanent-above-1", "zero-t0", "negative-beta",
         "zero-steps", "times-out-of-order", "times-length", "negative-trade"],
)
def test_bad_input(call: object, fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        call()  # type: ignore[operator]
