"""The February 2026 replay agrees with what happened, and its fields cannot contradict.

Published figures (estimates, S1 = Odaily newsflash 467627 citing Yu Jin): 255,500 ETH sold
at an average of $2,168 over Feb 1-6, 2026; 396,000 ETH and $526M of debt left afterwards;
liquidation prices $1,509-1,708. The fund was not liquidated.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.ledger import Ledger
from delever.market import SquareRootImpact
from delever.protocol import (
    Account,
    InterestRateCurve,
    Prices,
    ReserveState,
    account_data,
    rate_distance_to_liquidation,
)
from delever.scenario import load_scenario
from delever.scenario.replay import replay_inputs
from delever.sim.api import build_inputs
from delever.sim.position import NamedAccount, analyze_position
from delever.sim.replay import equal_start_split, run_replay
from delever.sim.unwind import (
    LendingParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    simulate_unwind,
)
from delever.strategy import Hold, SellAll
from scenario_text import one_account_scenario

S1_SOLD_ETH = 255_500.0
S1_AVG_PRICE_USD = 2_168.0
S1_HELD_ETH = 396_000.0
S1_DEBT_USD = 526e6
BUILTIN = Path(__file__).resolve().parents[2] / "src" / "delever" / "scenario" / "builtin"


@pytest.fixture(scope="module")
def replay_json() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["replay", "trend-2026", "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_reported_schedule_is_not_liquidated_and_ends_at_the_reported_state(
    replay_json: dict[str, Any],
) -> None:
    row = replay_json["counterfactuals"]["reported"]
    assert row["liquidated"] is False
    assert row["seized_eth"] == 0.0
    assert row["eth_left"] == pytest.approx(S1_HELD_ETH, rel=1e-9)
    assert row["debt_left_usd"] == pytest.approx(S1_DEBT_USD, abs=10.0)
    end = replay_json["end_state"]
    # each account ends at its reported liquidation price (the scenario's band)
    for name, price in end["reported_liquidation_prices_usd"].items():
        assert end["liquidation_prices_usd"][name] == pytest.approx(price, rel=1e-6)
    band = sorted(end["liquidation_prices_usd"].values())
    assert band[0] == pytest.approx(1_509.0, rel=1e-6)
    assert band[-1] == pytest.approx(1_708.0, rel=1e-4)


def test_the_start_position_holds_the_sales_and_states_its_rule(
    replay_json: dict[str, Any],
) -> None:
    start = replay_json["start_position"]
    assert start["total_eth"] == pytest.approx(S1_HELD_ETH + S1_SOLD_ETH, rel=1e-12)
    shares = [a["share_of_sales"] for a in start["accounts"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-12)
    liq = [a["liquidation_price_usd"] for a in start["accounts"]]
    # one health factor at the start, up to the interest each account accrued
    assert max(liq) / min(liq) - 1.0 < 1e-3
    assert any("one health factor at the start" in note for note in replay_json["notes"])


def test_modelled_average_price_is_within_two_percent(replay_json: dict[str, Any]) -> None:
    modelled = replay_json["modelled_avg_price_usd"]
    assert abs(modelled / S1_AVG_PRICE_USD - 1.0) < 0.02


def test_liquidated_and_min_health_factor_never_contradict(
    replay_json: dict[str, Any],
) -> None:
    rows = replay_json["counterfactuals"]
    assert any(row["liquidated"] for row in rows.values())  # hold is liquidated on this path
    for name, row in rows.items():
        assert row["liquidated"] == (row["min_health_factor"] < 1.0), name


def test_held_back_is_at_most_the_position(replay_json: dict[str, Any]) -> None:
    position_eth = replay_json["start_position"]["total_eth"]
    for name, row in replay_json["counterfactuals"].items():
        assert 0.0 <= row["held_back_eth"] <= position_eth, name


# --- the rules behind those figures, on hand-worked cases ------------------------------------

ZERO_CURVE = InterestRateCurve(0.9, 0.0, 0.0, 0.0, date(2020, 1, 1), None, "test", True)


def _one_account(coll: float = 40_000.0, debt: float = 50_098_800.0) -> UnwindPosition:
    return UnwindPosition(("A",), np.array([coll]), np.array([debt]), np.array([0.83]),
                          np.array([0.05]), np.array([0.10]), 3_180.0)


def _flat_market() -> UnwindMarket:
    return UnwindMarket(SquareRootImpact(0.039, 501_029.0, 0.0, 2 / 3), 0.0)


def test_equal_start_split_hand_worked() -> None:
    """Ends (100 ETH, $100,000) and (100 ETH, $50,000), LT 0.8, 100 ETH sold at $2,000.

    One start liquidation price L0 = (150,000 + 200,000) / (300 x 0.8) = $1,458.33 (the
    pooled one), so s_i = (L0 0.8 100 - d_i) / (2,000 - 0.8 L0) = 20 and 80 ETH.
    """
    end = UnwindPosition(("a", "b"), np.array([100.0, 100.0]), np.array([1e5, 5e4]),
                         np.array([0.8, 0.8]), np.array([0.05, 0.05]), np.array([0.1, 0.1]),
                         3_000.0)
    sold = equal_start_split(end, 100.0, 2_000.0)
    np.testing.assert_allclose(sold, [20.0, 80.0], rtol=1e-9)
    start_liq = (end.debt_usd + 2_000.0 * sold) / ((end.collateral_eth + sold) * 0.8)
    np.testing.assert_allclose(start_liq, 350_000.0 / 240.0, rtol=1e-9)


def test_equal_start_split_leaves_an_account_already_above_the_level_alone() -> None:
    end = UnwindPosition(("a", "b"), np.array([100.0, 100.0]), np.array([1e5, 1.5e5]),
                         np.array([0.8, 0.8]), np.array([0.05, 0.05]), np.array([0.1, 0.1]),
                         3_000.0)
    sold = equal_start_split(end, 10.0, 2_500.0)  # b ends at $1,875, above the level
    assert sold[1] == 0.0
    assert sold[0] == pytest.approx(10.0)


def test_held_back_is_the_largest_backlog_not_a_sum_over_steps() -> None:
    """SellAll over 5 flat steps, capped by the withdrawal rule (HF 1.1 after the withdrawal):
    step 1 holds back 40,000 - cap, each later step less (the proceeds repay debt, so more
    may be withdrawn). The largest backlog is step 1's; the old sum over steps was larger."""
    paths = np.full((1, 6), 1_904.04)
    res = simulate_unwind(_one_account(), SellAll(floor_hf=1.1), paths, market=_flat_market(),
                          lending=LendingParams(ReserveState(5e9, 3.3e9), ZERO_CURVE))
    cap = 40_000.0 - 1.1 * 50_098_800.0 / (1_904.04 * 0.83)
    assert res.sold_eth[0, 1] == pytest.approx(cap, rel=1e-12)
    assert res.sold_eth[0, 2] > 0.0  # a backlog remained after step 1
    assert res.unfilled_eth[0] == pytest.approx(40_000.0 - cap, rel=1e-9)
    assert res.unfilled_eth[0] <= 40_000.0


def test_a_liquidated_path_records_the_health_factor_that_triggered_it() -> None:
    """Oracle = mid, no impact: at $1,400 HF = 40,000 x 1,400 x 0.83 / 50,098,800 = 0.9278;
    the call (100% close factor below 0.95) is recorded with that HF, not the HF after it."""
    paths = np.array([[1_904.04, 1_400.0]])
    res = simulate_unwind(_one_account(), Hold(), paths, market=_flat_market(),
                          lending=LendingParams(ReserveState(5e9, 3.3e9), ZERO_CURVE),
                          config=SimConfig(liquidator_sell_frac=0.0))
    assert res.liquidated[0]
    hf_trigger = 40_000.0 * 1_400.0 * 0.83 / 50_098_800.0
    assert res.health_factor[0, 1] == pytest.approx(hf_trigger, rel=1e-12)
    assert res.health_factor[0].min() < 1.0


# --- the scenario's reserves reach every engine ------------------------------------------------

OVERRIDE = """
[reserve_overrides.WETH]
liquidation_threshold = { value = 0.95, source = "test override" }
ltv = { value = 0.93, source = "test override" }
liquidation_bonus = { value = 0.02, source = "test override" }
"""

# HF at the mark $2,000: 100 x 2,000 x 0.83 / 170,000 = 0.976 (liquidatable) with Aave's
# WETH LT, 1.118 with the override: every engine must see the override.
TIGHT = one_account_scenario(name="tight", debt="{ USDC = 170000 }")


@pytest.fixture()
def tight_file(tmp_path: Path) -> Path:
    path = tmp_path / "tight.toml"
    path.write_text(TIGHT + OVERRIDE)
    return path


def test_build_inputs_uses_the_scenario_reserves(tight_file: Path) -> None:
    inputs = build_inputs(load_scenario(tight_file), n_paths=1, n_steps=1)
    assert inputs.position.liquidation_threshold[0] == 0.95
    assert inputs.position.liquidation_bonus[0] == 0.02


def test_simulate_hold_uses_the_override(tight_file: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(tight_file), "-s", "hold", "--paths",
                                      "20", "--steps", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # with LT 0.83 the account is below HF 1 at the start and hold is liquidated on every path
    assert payload["strategies"]["hold"]["p_liquidation"] == 0.0


def test_plan_uses_the_override(tight_file: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(tight_file), "--paths", "40",
                                      "--horizon-days", "1", "--workers", "0", "--family",
                                      "hf-ladder", "--json"])
    assert result.exit_code == 0, result.output
    hold = next(b for b in json.loads(result.stdout)["baselines"] if b["label"] == "hold")
    assert hold["p_liquidation"]["value"] < 1.0  # 1.0 with Aave's LT: below HF 1 at the start


def test_advise_uses_the_override(tight_file: Path) -> None:
    result = CliRunner().invoke(app, ["advise", str(tight_file), "--paths", "20",
                                      "--workers", "0", "--json"])
    assert result.exit_code == 0, result.output
    account = json.loads(result.stdout)["margin_buffer"]["rows"][0]["accounts"][0]
    assert account["current_hf"] == pytest.approx(100 * 2_000 * 0.95 / 170_000, rel=1e-12)


def test_replay_uses_the_override(tmp_path: Path) -> None:
    path = tmp_path / "trend-lt95.toml"
    path.write_text((BUILTIN / "trend-2026.toml").read_text() + OVERRIDE)
    inputs = replay_inputs(load_scenario(path))
    assert np.all(inputs.position.liquidation_threshold == 0.95)
    result = run_replay(inputs, [Hold()])
    end = result.end_state()
    # the end liquidation prices are the accounts' debt / (ETH x 0.95)
    assert end["reported_liquidation_prices_usd"]["A-low"] == pytest.approx(
        50_098_800.0 / (40_000.0 * 0.95))
    assert end["liquidation_prices_usd"]["A-low"] == pytest.approx(
        50_098_800.0 / (40_000.0 * 0.95), rel=1e-6)


# --- distance in the terms that move it ------------------------------------------------------

def test_wsteth_loop_distance_is_the_exchange_rate_drop() -> None:
    """aave-wsteth-risk's default position: 10 ETH, 10 loops at LTV 0.93, ETH $2,500,
    1.225 ETH per wstETH; that peer reports HF 1.0885715593456 and liquidation at an 8.14%
    fall of the wstETH/ETH rate (1 - 1 / HF, all collateral wstETH, e-mode LT 0.95)."""
    debt_weth = 10.0 * sum(0.93**k for k in range(1, 11))
    account = Account(collateral={"wstETH": (10.0 + debt_weth) / 1.225},
                      debt={"WETH": debt_weth}, emode=True)
    prices = Prices.from_eth(2_500.0)
    hf = account_data(account, prices).health_factor
    assert hf == pytest.approx(1.0885715593456, rel=1e-12)
    rate = rate_distance_to_liquidation(account, prices)
    assert rate is not None and rate.driver == "wstETH/ETH"
    assert rate.drop_pct == pytest.approx(100.0 * (1.0 - 1.0 / hf), rel=1e-12)
    assert round(rate.drop_pct, 2) == 8.14
    report = analyze_position([NamedAccount("loop", account)], prices,
                              Ledger().pnl(2_500.0))
    row = report.accounts[0].to_dict()
    assert row["distance_to_liquidation_pct"] == pytest.approx(rate.drop_pct)
    assert row["distance_driver"] == "wstETH/ETH"
    assert math.isnan(row["liquidation_price_usd"])


def test_eth_against_stablecoin_distance_is_the_eth_price_drop() -> None:
    account = Account(collateral={"WETH": 100.0}, debt={"USDC": 100_000.0})
    prices = Prices.from_eth(2_000.0)
    assert rate_distance_to_liquidation(account, prices) is None
    row = analyze_position([NamedAccount("a", account)], prices,
                           Ledger().pnl(2_000.0)).accounts[0].to_dict()
    assert row["distance_driver"] == "ETH/USD"
    assert row["distance_to_liquidation_pct"] == pytest.approx(
        100.0 * (1.0 - 100_000.0 / (100.0 * 0.83) / 2_000.0))


def test_a_mid_driven_to_zero_frees_no_collateral_and_calls_no_liquidation() -> None:
    """A sale past the square-root law's capacity (Y sigma sqrt(q / V) >= 1) leaves the mid,
    and so the oracle, at 0: the withdrawal cap and the liquidation check must not divide by
    that price (found by the validate-then-run property test: exit 1 before)."""
    market = UnwindMarket(SquareRootImpact(0.5, 1_000.0, 10.0, 1.0), 0.0)
    res = simulate_unwind(_one_account(), SellAll(), np.full((1, 4), 1_904.04), market=market,
                          lending=LendingParams(ReserveState(5e9, 3.3e9), ZERO_CURVE))
    assert res.mid_usd[0, -1] == 0.0
    assert np.isfinite(res.eth_left[0]) and np.isfinite(res.final_debt_usd[0])
    assert not res.liquidated[0]


LOOP = one_account_scenario(name="loop", mark_usd=2500.0, bought_eth=78.557, buy_usd=2500.0,
                            collateral="{ wstETH = 64.12836 }",
                            debt="{ WETH = 68.5569 }", emode=True)


def test_run_reports_a_loop_it_cannot_simulate_instead_of_refusing_it(tmp_path: Path) -> None:
    """What validate accepts runs: a wstETH/WETH e-mode loop (aave-wsteth-risk's default
    position, rounded) is reported at the mark with the rate that liquidates it; the unwind
    engines, which take WETH against stablecoins, say they were skipped and why."""
    path = tmp_path / "loop.toml"
    path.write_text(LOOP)
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "2", "--no-report",
                                      "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "WETH collateral against USDC/USDT" in payload["engines_skipped"]
    assert payload["simulation"] is None and payload["plan"] is None
    account = payload["accounts"][0]
    assert account["distance_driver"] == "wstETH/ETH"
    assert account["distance_to_liquidation_pct"] == pytest.approx(8.14, abs=0.01)
