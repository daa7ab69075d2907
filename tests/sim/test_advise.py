"""sim.advise against independent references: closed forms, hand-worked plans, properties,
and the same bytes with no Dask, 1 worker and 2 workers."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import norm

from delever.errors import InvalidArgument
from delever.market.impact import SquareRootImpact
from delever.market.paths import gbm_paths
from delever.protocol import InterestRateCurve
from delever.scenario import load_scenario
from delever.scenario.market import scenario_market
from delever.sim import advise as sa
from delever.sim.api import build_inputs
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    OracleParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    simulate_strategies,
)
from delever.strategy import TWAP, Hold
from delever.strategy.rules import Schedule

ZERO_CURVE = InterestRateCurve(0.9, 0.0, 0.0, 0.0, date(2020, 1, 1), None, "test: no interest",
                               True)


@pytest.fixture(scope="module")
def inputs():  # type: ignore[no-untyped-def]
    scenario = load_scenario("trend-2026")
    return scenario, build_inputs(scenario, n_paths=1, n_steps=1)


def _position(c: float, d: float, lt: float = 0.8) -> UnwindPosition:
    return UnwindPosition(("a",), np.array([c]), np.array([d]), np.array([lt]),
                          np.array([0.05]), np.array([0.1]), 3_000.0)


# --- margin buffer ------------------------------------------------------------------------


def _min_quantile_closed_form(sigma_daily: float, days: float, q: float, step_days: float) -> float:
    """q-quantile of min(S_t / S_0) over [0, T] for zero-drift GBM (log drift -sigma^2/2).

    Continuous monitoring, reflection principle with drift (Harrison 1985, "Brownian Motion
    and Stochastic Flow Systems", 1.8): P(min X <= a) = Phi((a - mu T) / (s sqrt T)) +
    exp(2 mu a / s^2) Phi((a + mu T) / (s sqrt T)). Discrete monitoring every dt: shift the
    barrier by exp(0.5826 s sqrt(dt)) (Broadie, Glasserman & Kou 1997, Math. Finance 7).
    """
    mu = -0.5 * sigma_daily**2
    sd = sigma_daily * math.sqrt(days)

    def p_hit(a: float) -> float:
        return float(norm.cdf((a - mu * days) / sd)
                     + math.exp(2 * mu * a / sigma_daily**2) * norm.cdf((a + mu * days) / sd))

    a = optimize.brentq(lambda x: p_hit(x) - q, -5.0, -1e-9)
    return math.exp(a) * math.exp(0.5826 * sigma_daily * math.sqrt(step_days))


def test_margin_buffer_matches_the_reflection_principle(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    sigma = 0.04
    market = UnwindMarket(SquareRootImpact(sigma, 500_000.0, impact_y=0.0))  # no impact, no book
    run = sa.AdviceRun(market, inp.lending, 2_000.0, n_paths=10_000, seed=3, sigma_daily=sigma)
    res = sa.margin_buffer(inp.position, run, windows_days=(3.0,), bootstrap_returns=np.array([]))
    assert [r.source for r in res.rows] == ["model"]
    row = res.rows[0]
    ref = _min_quantile_closed_form(sigma, 3.0, 0.01, 1.0 / 24.0)
    # Tolerance: the order-statistic 95% interval, widened by 0.3% for the continuity
    # correction's own error at 72 steps.
    assert row.ratio.low - 0.003 <= ref <= row.ratio.high + 0.003, (row.ratio, ref)
    assert row.ratio.high - row.ratio.low < 0.03
    assert row.required_hf.value == pytest.approx(1.0 / row.ratio.value, rel=1e-15)
    assert row.required_hf.low <= row.required_hf.value <= row.required_hf.high


def test_account_buffers_reach_the_required_hf_exactly(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    pos, p, h = inp.position, 1_904.0, 1.4
    rows = sa.account_buffers(pos, p, h)
    assert [r.name for r in rows] == [*pos.names, "total"]
    for i, r in enumerate(rows[:-1]):
        c, d, lt = pos.collateral_eth[i], pos.debt_usd[i], pos.liquidation_threshold[i]
        assert r.current_hf == pytest.approx(c * p * lt / d, rel=1e-14)
        assert (c + r.add_collateral_eth) * p * lt / d == pytest.approx(h, rel=1e-12)
        assert c * p * lt / (d - r.repay_debt_usd) == pytest.approx(h, rel=1e-12)
    total = rows[-1]
    assert total.add_collateral_eth == pytest.approx(sum(r.add_collateral_eth for r in rows[:-1]))
    # An account already above the target needs nothing.
    safe = sa.account_buffers(_position(100.0, 1_000.0), 2_000.0, 1.5)[0]
    assert safe.add_collateral_eth == 0.0 and safe.repay_debt_usd == 0.0


def test_margin_buffer_fatter_windows_ask_more(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, inp.lending, 1_904.0, n_paths=400, seed=1)
    hold = sa.margin_buffer(inp.position, run, windows_days=(1.0, 3.0),
                            bootstrap_returns=np.array([]))
    assert hold.rows[1].required_hf.value > hold.rows[0].required_hf.value
    assert hold.recommended_hf == hold.rows[1].required_hf.value


@pytest.mark.parametrize("sell_eth_per_day", [0.0, 30_000.0])
def test_margin_buffer_required_hf_is_the_engines_liquidation_edge(
        inputs, sell_eth_per_day: float) -> None:  # type: ignore[no-untyped-def]
    """A deterministic fall (every bootstrap return -4%, no model source, no rates, an oracle
    that follows the mid): with each account's debt set to HF = required x (1 + 1e-3) the
    unwind engine, run WITH the debt and the same stated sales repaying it, liquidates
    nobody; at required x (1 - 1e-3) it liquidates. Own impact, book and followers as in the
    scenario's market."""
    scenario, inp = inputs
    market = scenario_market(scenario)
    lending = replace(inp.lending, debt_curve=ZERO_CURVE, weth_curve=ZERO_CURVE)
    oracle = OracleParams()
    run = sa.AdviceRun(market, lending, 1_904.0, n_paths=8, seed=2, sigma_daily=0.0,
                       oracle=oracle)
    res = sa.margin_buffer(inp.position, run, windows_days=(3.0,),
                           bootstrap_returns=np.full(50, math.log(0.96)),
                           sell_eth_per_day=sell_eth_per_day)
    row = next(r for r in res.rows if r.source == "bootstrap")
    h = row.required_hf.value
    assert h > 1.0
    path = 1_904.0 * np.exp(math.log(0.96) * np.arange(4))[None, :]  # daily steps, 3 days
    pos = inp.position
    for factor, liquidated in ((1.0 + 1e-3, False), (1.0 - 1e-3, True)):
        debt = pos.collateral_eth * 1_904.0 * pos.liquidation_threshold / (h * factor)
        owner = replace(pos, debt_usd=debt)
        strategy = (Schedule((sell_eth_per_day,) * 3) if sell_eth_per_day else Hold())
        out = simulate_strategies(owner, [strategy], path, market=market, lending=lending,
                                  oracle=oracle, config=SimConfig(step_hours=24.0,
                                                                  repay_with_collateral=True))
        assert bool(out.results[0].liquidated[0]) is liquidated, (factor, h)


# --- staged deleveraging ------------------------------------------------------------------


def test_staged_one_batch_without_impact_is_the_closed_form() -> None:
    # c = 100 ETH, d = 150,000 USD, p = 2,000, LT 0.8: HF 1.0667. To reach 1.5 selling at the
    # mark: x = (1.5 * 150,000 - 100 * 2,000 * 0.8) / (1.5 * 2,000 - 2,000 * 0.8) = 65,000 /
    # 1,400 = 46.428571... ETH.
    market = UnwindMarket(SquareRootImpact(0.04, 1_000.0, impact_y=0.0))
    plan = sa.staged_deleveraging(_position(100.0, 150_000.0), market, mark_price_usd=2_000.0,
                                 target_hf=1.5)
    assert len(plan.batches) == 1
    assert plan.batches[0].eth == pytest.approx(65_000.0 / 1_400.0, rel=1e-12)
    assert plan.needed_eth == pytest.approx(plan.needed_eth_no_impact, rel=1e-12)
    assert plan.batches[0].hf_after == pytest.approx(1.5, rel=1e-12)
    assert plan.reached


def test_staged_batches_sum_to_the_need_and_respect_the_cap() -> None:
    # Y sigma = 0.04, V = 1,000 ETH, cap 1%: a batch is at most V (1.5 x 0.01 / 0.04)^2 =
    # 140.625 ETH, and the first (fresh market) fills at 2,000 x (1 - 2/3 x 0.04 x
    # sqrt(140.625 / 1,000)) = 2,000 x 0.99 = 1,980 USD.
    market = UnwindMarket(SquareRootImpact(0.04, 1_000.0, impact_y=1.0, permanent_frac=2 / 3),
                          transient_half_life_hours=6.0)
    pos = _position(1_000.0, 1_500_000.0)
    plan = sa.staged_deleveraging(pos, market, mark_price_usd=2_000.0, target_hf=1.5,
                                 max_batch_discount=0.01)
    assert plan.max_batch_eth == pytest.approx(140.625, rel=1e-12)
    first = plan.batches[0]
    assert first.eth == pytest.approx(140.625, rel=1e-12)
    assert first.fill_price_usd == pytest.approx(1_980.0, rel=1e-12)
    assert first.time_hours == 0.0 and plan.batches[1].time_hours == 24.0
    assert len(plan.batches) >= 4  # the closed form alone asks for ~464 ETH
    assert sum(b.eth for b in plan.batches) == pytest.approx(plan.needed_eth, rel=1e-12)
    assert plan.needed_eth > plan.needed_eth_no_impact  # impact lowers fills and the mid
    for b in plan.batches:
        assert b.eth <= plan.max_batch_eth * (1 + 1e-12)
        assert b.discount_frac <= 0.01 + 1e-12
        assert b.sqrt_law_discount_frac <= 0.01 + 1e-12
    assert plan.reached and plan.batches[-1].hf_after >= 1.5 * (1 - 1e-9)
    # ETH and USD balance: collateral left and debt left give the final HF at the final mid.
    c_left = 1_000.0 - plan.needed_eth
    d_left = 1_500_000.0 - plan.proceeds_usd
    assert c_left * plan.batches[-1].mid_usd * 0.8 / d_left >= 1.5 * (1 - 1e-3)


def test_staged_nothing_to_do_and_bad_target() -> None:
    market = UnwindMarket(SquareRootImpact(0.04, 1_000.0))
    plan = sa.staged_deleveraging(_position(100.0, 50_000.0), market, mark_price_usd=2_000.0,
                                 target_hf=1.5)
    assert plan.batches == () and plan.needed_eth == 0.0 and plan.reached
    with pytest.raises(InvalidArgument, match="target_hf"):
        sa.staged_deleveraging(_position(100.0, 150_000.0), market, mark_price_usd=2_000.0,
                              target_hf=0.5)


def test_staged_leaves_out_an_insolvent_account_and_serves_the_others() -> None:
    # "a": 100 ETH, debt 207,500 at 2,000 and LT 0.83: HF 0.8; its collateral (200,000 USD at
    # the mark) does not cover its debt, so no sale restores any HF: it used to raise
    # "target_hf=... cannot be reached". "b": HF 1.0667 as in the closed-form test above.
    market = UnwindMarket(SquareRootImpact(0.04, 1_000.0, impact_y=0.0))
    pos = UnwindPosition(("a", "b"), np.array([100.0, 100.0]), np.array([207_500.0, 150_000.0]),
                         np.array([0.83, 0.8]), np.array([0.05, 0.05]), np.array([0.1, 0.1]),
                         3_000.0)
    plan = sa.staged_deleveraging(pos, market, mark_price_usd=2_000.0, target_hf=1.5)
    assert plan.unreachable == ("a",) and not plan.reached
    assert len(plan.batches) == 1  # b alone, as in the closed form
    assert plan.batches[0].eth == pytest.approx(65_000.0 / 1_400.0, rel=1e-12)
    assert plan.needed_eth_no_impact == pytest.approx(65_000.0 / 1_400.0, rel=1e-12)
    assert plan.to_dict()["unreachable_accounts"] == ["a"]
    buffers = sa.account_buffers(pos, 2_000.0, 1.5)
    # the total's HF is (83 + 80) x 2,000 / 357,500 = 0.912: below 1 too
    assert [b.liquidatable_now for b in buffers] == [True, False, True]
    # add 1.5 x 207,500 / (2,000 x 0.83) - 100 = 87.5 ETH to restore HF 1.5
    assert buffers[0].add_collateral_eth == pytest.approx(87.5, rel=1e-12)
    assert buffers[0].to_dict()["liquidatable_now"] is True


# --- max position -------------------------------------------------------------------------

N_SIZE = 120


@pytest.fixture(scope="module")
def no_reserve_cap(inputs):  # type: ignore[no-untyped-def]
    _, inp = inputs
    return replace(inp.lending, weth_reserve=None, weth_curve=None)


def _size(inputs, lending, cap: float):  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, lending, 1_904.0, n_paths=N_SIZE, seed=5)
    return sa.max_position(inp.position, run, horizon_days=1.0, max_cost_frac=cap,
                           strategies=[TWAP(n_batches=24)])


def test_max_position_cost_binds_and_remeasures_at_the_cap(inputs, no_reserve_cap) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    res = _size(inputs, no_reserve_cap, 0.02)
    lim = res.twap
    assert lim.limiting == "cost"
    assert lim.at_limit.cost_frac.value == pytest.approx(0.02, rel=2e-3)
    # Independent re-measurement: the same GBM paths drawn here from the documented seeds
    # (stream MAX_POSITION = child 0 of the root, chunk 0 of it), the engine run directly,
    # cost = sum(exo x sold) - proceeds over the marked value.
    sigma = inp.market.impact.sigma_daily / math.sqrt(24.0)
    ss = np.random.SeedSequence(5).spawn(6)[0].spawn(1)[0]
    paths = gbm_paths(1_904.0, N_SIZE, 24, sigma_per_step=sigma, seed=np.random.default_rng(ss))
    pos = sa.scaled_position(inp.position, lim.at_limit.scale)
    r = simulate_strategies(pos, [TWAP(n_batches=24)], paths, market=inp.market,
                            lending=no_reserve_cap, oracle=CHAINLINK_ETH_USD,
                            config=SimConfig(step_hours=1.0)).results[0]
    cost = ((paths[:, 1:] * r.sold_eth[:, 1:]).sum(axis=1) - r.proceeds_usd).mean()
    assert cost / (pos.total_eth * 1_904.0) == pytest.approx(0.02, rel=2e-3)
    assert lim.at_limit.eth == pytest.approx(inp.position.total_eth * lim.at_limit.scale)
    assert lim.at_current is not None and lim.at_current.scale == 1.0


def test_max_position_monotone_in_the_cost_cap(inputs, no_reserve_cap) -> None:  # type: ignore[no-untyped-def]
    scales = [_size(inputs, no_reserve_cap, cap).twap.at_limit.scale
              for cap in (0.005, 0.01, 0.02)]
    assert scales[0] < scales[1] < scales[2]
    # Square-root law: cost ~ sqrt(s), so doubling the cap about quadruples the size.
    assert 3.0 < scales[2] / scales[1] < 5.0


def test_max_position_reserve_liquidity_binds_with_the_weth_reserve(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, inp.lending, 1_904.0, n_paths=40, seed=5)
    res = sa.max_position(inp.position, run, horizon_days=2.0,
                          strategies=[TWAP(n_batches=48)])
    w = inp.lending.weth_reserve
    assert w is not None
    assert res.twap.limiting == "withdrawal"
    assert res.twap.at_limit.eth == pytest.approx(w.total_supplied - w.total_borrowed, rel=0.01)


# --- heatmap ------------------------------------------------------------------------------


def test_heatmap_monotone_in_leverage_and_liquidated_cells(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    levs, mults = (1.5, 2.0, 3.0, 5.0), (0.9, 1.2, 1.6)
    run = sa.AdviceRun(inp.market, inp.lending, 2_000.0, n_paths=150, seed=2)
    hm = sa.leverage_heatmap(run, equity_usd=50_000_000.0, leverages=levs,
                             entry_multiples=mults, horizon_days=10.0)
    for i, lev in enumerate(levs):
        for j, m in enumerate(mults):
            hf = lev / (lev - 1.0) / m * 0.83
            assert hm.hf_now[i, j] == pytest.approx(hf, rel=1e-12)
            if hf < 1.0:
                assert hm.p_liquidation[i, j] == 1.0
    assert np.all(np.diff(hm.p_liquidation, axis=0) >= 0)  # more leverage, same paths
    assert np.all(np.diff(hm.p_liquidation, axis=1) >= 0)  # higher entry, lower HF now
    assert hm.hf_now[3, 2] < 1.0 and hm.hf_now[0, 0] > 1.0
    d = hm.to_dict()
    assert np.array(d["p_liquidation"]).shape == (4, 3)


# --- after the unwind ---------------------------------------------------------------------


def test_after_unwind_flat_price_never_recovers(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, inp.lending, 1_904.0, n_paths=8, sigma_daily=0.0)
    res = sa.after_unwind(inp.position, run, horizon_days=20.0, bootstrap_returns=np.array([]))
    assert [(r.source, r.strategy) for r in res.rows] == [("model", "hold"), ("model", "rebound")]
    hold = res.row("model", "hold")
    assert hold.share_recovered == 0.0 and hold.recovery.quantiles == (None,) * 5
    unrealized = inp.position.total_eth * (1_904.0 - 3_180.0)
    # Flat price, no sale: the P&L is the unrealized loss less 20 days of interest (< 1%).
    assert np.all(hold.final_pnl_usd < unrealized)
    assert np.all(hold.final_pnl_usd > unrealized * 1.02)


def test_after_unwind_distributions_are_consistent(inputs) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, inp.lending, 1_904.0, n_paths=60, seed=4)
    res = sa.after_unwind(inp.position, run, horizon_days=120.0)
    assert [r.source for r in res.rows] == ["bootstrap", "bootstrap", "model", "model"]
    for r in res.rows:
        assert r.share_recovered == pytest.approx(np.isfinite(r.recovery_days).mean())
        qs = [q for q in r.final_pnl.quantiles if q is not None]
        assert qs == sorted(qs) and len(qs) == 5
        assert r.final_pnl.mean == pytest.approx(r.final_pnl_usd.mean())
        keys = set(r.to_dict()["recovery_days"])
        assert keys == {"p05", "p25", "p50", "p75", "p95", "mean"}
    json.dumps(res.to_dict())


def test_historical_returns_are_demeaned() -> None:
    r = sa.historical_log_returns()
    assert abs(r.mean()) < 1e-15 and r.size > 2_000
    assert sa.historical_log_returns(demean=False).mean() > 0


# --- same bytes on 1 and 2 workers --------------------------------------------------------

pytest.importorskip("distributed", reason="dask[distributed] is not installed")


def _tiny(inputs, client):  # type: ignore[no-untyped-def]
    _, inp = inputs
    run = sa.AdviceRun(inp.market, inp.lending, 1_904.0, n_paths=sa.CHUNK_PATHS + 20, seed=9,
                       client=client)
    return sa.advise(inp.position, run, sa.AdviceSettings(
        horizon_days=0.5, buffer_windows_days=(0.5, 1.0), after_horizon_days=20.0,
        heatmap_horizon_days=2.0))


def _fingerprint(adv: sa.Advice) -> bytes:
    parts = [json.dumps(adv.to_dict(), sort_keys=True, default=repr).encode()]
    for r in adv.after_unwind.rows:
        parts += [r.recovery_days.tobytes(), r.final_pnl_usd.tobytes()]
    parts += [adv.heatmap.p_liquidation.tobytes(), adv.heatmap.expected_loss_usd.tobytes()]
    return b"|".join(parts)


@pytest.fixture(scope="module")
def local_advice(inputs):  # type: ignore[no-untyped-def]
    return _tiny(inputs, None)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_advise_same_bytes_on_1_and_2_workers(inputs, local_advice, n_workers) -> None:  # type: ignore[no-untyped-def]
    from delever.sim.distributed import open_client

    with open_client(n_workers=n_workers) as client:
        got = _tiny(inputs, client)
    assert _fingerprint(got) == _fingerprint(local_advice)


def test_advise_progress_and_keys(inputs, local_advice) -> None:  # type: ignore[no-untyped-def]
    assert set(local_advice.to_dict()) == {
        "seed", "n_paths", "max_position", "margin_buffer", "staged_deleveraging",
        "after_unwind", "leverage_heatmap"}
    assert local_advice.staged.target_hf == local_advice.margin_buffer.recommended_hf


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"alpha": 0.0}, "alpha=0.0"), ({"alpha": 1.0}, "alpha=1.0"),
     ({"max_cost_frac": -0.1}, "max_cost_frac"), ({"n_paths": 0}, "n_paths=0"),
     ({"seed": -1}, "seed=-1"), ({"mark_price_usd": 0.0}, "mark_price_usd")],
    ids=["alpha-0", "alpha-1", "cost", "paths", "seed", "mark"],
)
def test_max_position_bad_input(inputs, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    _, inp = inputs
    base = {"mark_price_usd": 1_904.0, "n_paths": 4}
    run_keys = {"mark_price_usd", "n_paths", "seed"}
    args = {**base, **kwargs}
    with pytest.raises(InvalidArgument, match=match):
        run = sa.AdviceRun(inp.market, inp.lending,
                           **{k: v for k, v in args.items() if k in run_keys})
        sa.max_position(inp.position, run,
                        **{k: v for k, v in args.items() if k not in run_keys})
