"""A loop (wstETH against WETH in e-mode) through the engines, against closed forms.

The engines count a loop in ETH (delever.scenario.loop): its health factor follows the
contract exchange rate (Aave's CAPO oracle), its sales get the market price, its debt accrues
at WETH's rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import delever
from delever.errors import InvalidArgument
from delever.protocol import borrow_rate
from delever.protocol.reserve_history import reserve_state_on
from delever.scenario.build import Scenario, build_scenario, load_scenario
from delever.scenario.loader import builtin_scenario_text, parse_scenario_text
from delever.scenario.runner import relabel_keys
from delever.sim.api import DEFAULT_RESERVE_DAY, position_of


def _loop(extra: str = "", oracle: str = "exchange-rate") -> Scenario:
    """The built-in wsteth-loop with its [loop] section's lines replaced by ``extra``."""
    text = builtin_scenario_text("wsteth-loop").replace(
        'oracle = "exchange-rate"', f'oracle = "{oracle}"\n{extra}')
    return build_scenario(parse_scenario_text(text, "test"))


def test_the_engine_view_counts_the_loop_in_eth() -> None:
    view = load_scenario("wsteth-loop").for_engines()
    pos = position_of(view)
    assert pos.collateral_eth.tolist() == pytest.approx([64.12786639338279], rel=1e-15)
    assert pos.debt_usd.tolist() == pytest.approx([68.55663633189393], rel=1e-15)
    assert pos.liquidation_threshold.tolist() == [0.95]  # the e-mode category's LT
    assert view.mark_price_usd == 1.225  # at par: the contract rate
    hf = 64.12786639338279 * 1.225 * 0.95 / 68.55663633189393
    assert hf == pytest.approx(1.0885715593456, rel=1e-13)  # the peer's figure


def test_a_slash_deeper_than_the_distance_liquidates_at_the_poisson_rate() -> None:
    # one 9% cut takes HF 1.0886 to 0.9906: every path with a slashing event in 30 days is
    # liquidated, so P(liquidation) = 1 - exp(-lambda T) (the carry moves HF by ~0.0003)
    lam = 3.0
    scenario = _loop(f"slash_intensity_per_year = {lam}\nslash_size = 0.09")
    res = delever.simulate(scenario, ["hold"], n_paths=4_000, n_steps=30, step_hours=24.0,
                           seed=7)
    p = float(res.results[0].liquidated.mean())
    expected = 1.0 - math.exp(-lam * 30.0 / 365.0)
    se = math.sqrt(expected * (1 - expected) / 4_000)
    assert abs(p - expected) < 4.0 * se, (p, expected, se)


def test_a_depeg_liquidates_only_with_a_market_oracle() -> None:
    # a market discount pulled towards 20% within days (> the 8.14% distance), no slashing
    deep = ("slash_intensity_per_year = 0.0\ndepeg_mu = 0.2\ndepeg_kappa_per_year = 200.0\n"
            "depeg_sigma_per_sqrt_year = 0.01")
    capo = delever.simulate(_loop(deep), ["hold"], n_paths=200, n_steps=30, step_hours=24.0)
    market = delever.simulate(_loop(deep, oracle="market"), ["hold"], n_paths=200,
                              n_steps=30, step_hours=24.0)
    assert not capo.results[0].liquidated.any()
    assert market.results[0].liquidated.all()


def test_the_debt_accrues_at_the_weth_rate() -> None:
    scenario = _loop("slash_intensity_per_year = 0.0")
    res = delever.simulate(scenario, ["hold"], n_paths=3, n_steps=30, step_hours=24.0)
    state, _ = reserve_state_on("WETH", DEFAULT_RESERVE_DAY)
    curve = scenario.reserves["WETH"].rate_curve_on(DEFAULT_RESERVE_DAY)
    # each day: WETH's rate at the reserve's utilization, Aave's calculateCompoundedInterest
    # (three Taylor terms); the reserve's debt and supply grow by the same interest, so its
    # utilization creeps up as the interest accrues
    debt = 68.55663633189393
    borrowed, supplied = state.total_borrowed, state.total_supplied
    for _ in range(30):
        x = borrow_rate(borrowed / supplied, curve) / 365.0
        factor = 1.0 + x + x * x / 2.0 + x ** 3 / 6.0
        interest = borrowed * (factor - 1.0)
        borrowed, supplied, debt = borrowed + interest, supplied + interest, debt * factor
    assert res.results[0].interest_usd == pytest.approx(
        np.full(3, debt - 68.55663633189393), rel=1e-9)


def test_a_loop_needs_its_market_depth_and_loop_accounts() -> None:
    text = builtin_scenario_text("wsteth-loop")
    no_depth = text.replace('adv_eth = { value = 100000.0', 'sigma_daily = { value = 0.002')
    with pytest.raises(InvalidArgument, match="needs \\[market\\] adv_eth"):
        build_scenario(parse_scenario_text(no_depth, "t")).for_engines()
    usdc = text.replace("debt.WETH =", "debt.USDC =").replace("emode = true", "emode = false")
    with pytest.raises(InvalidArgument, match="takes wstETH collateral against WETH debt"):
        build_scenario(parse_scenario_text(usdc, "t")).for_engines()


def test_relabel_keys_says_units_and_eth() -> None:
    out = relabel_keys({"total_pnl_usd": 1, "eth_left": 2, "cost_basis_usd_per_eth": 3,
                        "rows": [{"sold_eth": 4}]})
    assert out == {"total_pnl_eth": 1, "units_left": 2, "cost_basis_eth_per_unit": 3,
                   "rows": [{"sold_units": 4}]}


def test_run_wsteth_loop_end_to_end() -> None:
    result = delever.run("wsteth-loop", paths=40, seed=1)
    payload = result.to_dict()
    assert payload["engines_skipped"] is None
    assert payload["engine_frame"]["asset"] == "wstETH"
    hold = payload["simulation"]["strategies"]["hold"]
    assert {"total_pnl_eth", "units_left", "p_liquidation"} <= set(hold)
    assert hold["units_left"] == pytest.approx(64.12786639338279, rel=1e-12)
    assert payload["plan"] is not None and payload["advice"] is not None
    texts = " ".join(r["text"] for r in payload["recommendation"])
    assert "wstETH" in texts and "$" not in texts.replace("$0", "")
    assert payload["accounts"][0]["health_factor"] == pytest.approx(1.0885715593456, rel=1e-12)


def test_the_loop_commands_scenario_runs_through_the_engines() -> None:
    from delever.cli.loop_cmds import loop_scenario_toml
    from delever.protocol.loop import build_loop

    text = loop_scenario_toml(build_loop(10.0, 0.93, 10, 2_500.0, 1.225), "looped")
    view = build_scenario(parse_scenario_text(text, "looped")).for_engines()
    pos = position_of(view)
    assert pos.collateral_eth.tolist() == pytest.approx([64.12786639338279], rel=1e-15)
    assert view.mark_price_usd == 1.225


def test_days_to_liquidation_under_negative_carry() -> None:
    from delever.protocol.loop import build_loop

    # the peer's own check: 10% borrow against 2.5% staking takes HF 1.0886 to 1 in ~414 days
    # (its daily simple compounding); continuous compounding: ln(HF) / (r - y) years
    pos = build_loop(10.0, 0.93, 10, 2_500.0, 1.225, staking_yield=0.025, borrow_rate=0.10)
    assert pos.days_to_liquidation == pytest.approx(
        365.0 * math.log(pos.health_factor) / 0.075, rel=1e-14)
    assert 410 < pos.days_to_liquidation < 416
    assert math.isinf(build_loop(10.0, 0.93, 10, 2_500.0, 1.225, staking_yield=0.03,
                                 borrow_rate=0.02).days_to_liquidation)


def test_a_utilization_spike_erodes_the_health_factor_at_the_curves_rate() -> None:
    from delever.protocol.loop import borrow_rate_at_utilization

    rate, source = borrow_rate_at_utilization(0.99)
    assert rate == pytest.approx(0.0235 + 0.065 * (0.99 - 0.92) / (1 - 0.92), rel=1e-12)
    assert "utilization 0.99" in source
    scenario = _loop("slash_intensity_per_year = 0.0\nstaking_yield = 0.0\n"
                     "weth_utilization = 0.99")
    res = delever.simulate(scenario, ["hold"], n_paths=2, n_steps=60, step_hours=24.0)
    # the reserve's utilization starts at 0.99 and creeps up with its own interest
    state, _ = reserve_state_on("WETH", DEFAULT_RESERVE_DAY)
    curve = scenario.reserves["WETH"].rate_curve_on(DEFAULT_RESERVE_DAY)
    supplied = state.total_supplied
    borrowed = 0.99 * supplied
    debt = 68.55663633189393
    for _ in range(60):
        x = borrow_rate(borrowed / supplied, curve) / 365.0
        factor = 1.0 + x + x * x / 2.0 + x ** 3 / 6.0
        interest = borrowed * (factor - 1.0)
        borrowed, supplied, debt = borrowed + interest, supplied + interest, debt * factor
    hf_end = 64.12786639338279 * 1.225 * 0.95 / debt  # no yield: the rate stays at 1.225
    assert res.results[0].health_factor[:, -1] == pytest.approx([hf_end, hf_end], rel=1e-12)
    assert hf_end < 1.0885715593456 * math.exp(-0.0803 * 60 / 365) * 1.001


def test_the_chunked_run_draws_the_same_loop_paths_as_simulate() -> None:
    from delever.sim.distributed import simulate_distributed
    from delever.sim.montecarlo import MonteCarlo

    scenario = _loop("slash_intensity_per_year = 5.0\nslash_size = 0.05")
    one = delever.simulate(scenario, ["hold", "twap"], n_paths=300, n_steps=24,
                           step_hours=24.0, seed=3)
    chunked = simulate_distributed(scenario, ["hold", "twap"], mc=MonteCarlo(3, 300),
                                   n_steps=24, step_hours=24.0)
    for a, b in zip(one.results, chunked.results, strict=True):
        assert a.mid_usd.tobytes() == b.mid_usd.tobytes()
        assert a.oracle_usd.tobytes() == b.oracle_usd.tobytes()
        assert a.total_pnl_usd.tobytes() == b.total_pnl_usd.tobytes()
    assert one.results[0].oracle_usd[:, -1].min() < 1.225  # some path was slashed


def test_the_wsteth_eth_category_runs_through_the_scenario() -> None:
    from delever.cli.loop_cmds import loop_scenario_toml
    from delever.protocol.loop import build_loop, loop_debt_weth
    from delever.protocol.reserves import WSTETH_ETH_EMODE

    loop = build_loop(10.0, 0.93, 10, 2_500.0, 1.225, emode=WSTETH_ETH_EMODE)
    debt = loop_debt_weth(10.0, 0.93, 10)
    assert loop.health_factor == pytest.approx((10.0 + debt) * 0.955 / debt, rel=1e-13)
    scenario = build_scenario(parse_scenario_text(
        loop_scenario_toml(loop, "l8", emode=WSTETH_ETH_EMODE), "l8"))
    assert scenario.position_report().accounts[0].health_factor == pytest.approx(
        loop.health_factor, rel=1e-13)
    assert scenario.for_engines().engine_frame().risk.liquidation_threshold == 0.955
