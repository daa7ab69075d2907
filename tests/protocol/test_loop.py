"""Looped staking positions: the issue's reference loop, the carry by hand, bad inputs."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.protocol.loop import build_loop, default_borrow_rate, loop_debt_weth
from delever.scenario import load_scenario

REFERENCE = ["loop", "--capital-eth", "10", "--ltv", "0.93", "--loops", "10", "--price-usd",
             "2500", "--rate", "1.225", "--json"]


def test_reference_loop_matches_the_issue_and_the_closed_form() -> None:
    result = CliRunner().invoke(app, REFERENCE)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    # the issue's figures (aave-wsteth-risk's default position)
    assert round(out["collateral_units"], 4) == 64.1279
    assert round(out["debt_weth"], 4) == 68.5566
    assert round(out["health_factor"], 7) == 1.0885716
    assert round(out["exchange_rate_drop_to_liquidation_pct"], 4) == 8.1365
    # closed forms: a geometric sum, HF = C R LT / D with the e-mode LT 95%, drop = 1 - 1/HF
    debt = 10 * 0.93 * (1 - 0.93**10) / (1 - 0.93)
    assert out["debt_weth"] == pytest.approx(debt, rel=1e-14)
    assert out["health_factor"] == pytest.approx((10 + debt) * 0.95 / debt, rel=1e-14)
    assert out["exchange_rate_drop_to_liquidation_pct"] == pytest.approx(
        100 * (1 - 1 / out["health_factor"]), rel=1e-12)
    assert out["leverage"] == pytest.approx((10 + debt) / 10, rel=1e-14)


def test_carry_and_break_even_by_hand() -> None:
    loop = build_loop(10, 0.9, 5, 3000, 1.2, staking_yield=0.03, borrow_rate=0.02)
    debt = loop_debt_weth(10, 0.9, 5)
    assert loop.net_yield_eth_per_year == pytest.approx((10 + debt) * 0.03 - debt * 0.02)
    at_break_even = build_loop(10, 0.9, 5, 3000, 1.2, staking_yield=0.03,
                               borrow_rate=loop.break_even_borrow_rate)
    assert at_break_even.net_yield_eth_per_year == pytest.approx(0.0, abs=1e-12)
    # ETH/USD does not move an e-mode loop's health factor
    assert build_loop(10, 0.9, 5, 1000, 1.2).health_factor == pytest.approx(
        loop.health_factor, rel=1e-14)


def test_default_borrow_rate_is_the_recorded_one() -> None:
    rate, source = default_borrow_rate()
    assert build_loop(10, 0.93, 10, 2500, 1.225).borrow_rate == rate
    assert 0.0 < rate < 0.2 and "2026-02-01" in source and "th3nolo" in source


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"asset": "USDC"}, "must be an ETH derivative"),
    ({"asset": "WETH"}, "must be an ETH derivative"),
    ({"ltv": 0.95}, "above the e-mode's LTV"),
    ({"loops": 0}, "loops=0"),
    ({"rate": -1.0}, "rate=-1.0"),
])
def test_bad_loops_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"capital_eth": 10.0, "ltv": 0.93, "loops": 10,
                               "price_usd": 2500.0, "rate": 1.225, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        build_loop(**args)  # type: ignore[arg-type]


def test_loop_toml_is_a_scenario_with_the_same_health_factor(tmp_path: Path) -> None:
    path = tmp_path / "my-loop.toml"
    result = CliRunner().invoke(app, [*REFERENCE, "--toml", str(path)])
    assert result.exit_code == 0, result.stderr
    doc = tomllib.loads(path.read_text())
    assert doc["accounts"][0]["emode"] is True
    (account,) = load_scenario(path).position_report().accounts
    assert account.health_factor == pytest.approx(json.loads(result.stdout)["health_factor"],
                                                  rel=1e-12)
    assert account.distance_driver.startswith("wstETH")
    assert math.isclose(account.distance_to_liquidation_pct, 8.136493975540592, rel_tol=1e-9)


def test_position_of_the_reference_loop() -> None:
    loop = build_loop(10, 0.93, 10, 2500, 1.225)
    args = ["position", "--asset", "wstETH", "--collateral-eth", repr(loop.collateral_eth),
            "--debt-eth", repr(loop.debt_weth), "--price-usd", "2500", "--rate", "1.225",
            "--emode", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["health_factor"] == pytest.approx(loop.health_factor, rel=1e-14)
    assert out["distance_to_liquidation_pct"] == pytest.approx(
        loop.exchange_rate_drop_to_liquidation_pct, rel=1e-12)
    assert out["distance_driver"] == "wstETH/ETH"
    assert out["collateral_units"] == pytest.approx(loop.collateral_units, rel=1e-14)
    exact = CliRunner().invoke(app, [*args, "--exact"])
    assert json.loads(exact.stdout)["health_factor_wad"].startswith("10885715")


@pytest.mark.parametrize(("extra", "message"), [
    (["--debt-usd", "1000", "--debt-eth", "1"], "not both"),
    (["--debt-eth", "1", "--lt", "0.8"], "--lt, --ltv and --bonus"),
    (["--debt-usd", "1000", "--rate", "1.2"], "--rate applies to an ETH derivative"),
    (["--debt-usd", "1000", "--emode"], "e-mode"),
    (["--debt-eth", "1", "--asset", "USDC"], "--asset='USDC'"),
])
def test_position_loop_options_refused_in_one_line(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["position", "--collateral-eth", "10", "--price-usd",
                                      "2500", *extra])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_liquidate_a_loop_by_hand() -> None:
    """HF 0.995 (> 0.95): half the WETH debt is repaid, the liquidator gets its value in
    wstETH plus the 1% e-mode bonus, less the protocol's 10% share of the bonus."""
    collateral_eth, debt_eth, rate = 78.5566, 75.0, 1.225
    result = CliRunner().invoke(app, [
        "liquidate", "--asset", "wstETH", "--collateral-eth", repr(collateral_eth),
        "--debt-usd", "0", "--debt-eth", repr(debt_eth), "--price-usd", "2500", "--rate",
        repr(rate), "--emode", "--debt-to-cover-usd", "inf", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["health_factor_before"] == pytest.approx(collateral_eth * 0.95 / debt_eth)
    assert out["close_factor"] == 0.5 and out["debt_repaid"] == pytest.approx(37.5)
    seized = 37.5 * 1.01 / rate
    fee = 37.5 * 0.01 / rate * 0.1
    assert out["collateral_to_liquidator_tokens"] == pytest.approx(seized - fee, rel=1e-12)
    assert out["protocol_fee_tokens"] == pytest.approx(fee, rel=1e-12)
    assert out["collateral_left_tokens"] == pytest.approx(collateral_eth / rate - seized)
