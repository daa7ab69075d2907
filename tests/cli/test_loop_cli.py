"""The loop scenario through the commands: the JSON counts in wstETH and ETH, never USD."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_plan_on_a_loop_says_its_units() -> None:
    result = CliRunner().invoke(app, ["plan", "wsteth-loop", "--paths", "20",
                                      "--horizon-days", "1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["engine_frame"]["asset"] == "wstETH"
    keys = _keys({k: v for k, v in payload.items() if k != "engine_frame"})
    assert not [k for k in keys if k.endswith("_usd") or "_usd_" in k]
    assert "objective_eth" in keys and "initial_units" in keys


def test_simulate_on_a_loop_runs_the_exchange_rate_paths() -> None:
    result = CliRunner().invoke(app, ["simulate", "wsteth-loop", "--paths", "30", "--steps",
                                      "24", "--strategy", "hold", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    hold = payload["strategies"]["hold"]
    assert hold["units_left"] == pytest.approx(64.12786639338279, rel=1e-12)
    assert "total_pnl_eth" in hold and payload["engine_frame"]["numeraire"] == "ETH"


def test_loop_command_rate_from_utilization() -> None:
    result = CliRunner().invoke(app, ["loop", "--capital-eth", "10", "--ltv", "0.93",
                                      "--loops", "10", "--price-usd", "2500", "--rate",
                                      "1.225", "--weth-utilization", "0.99", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["borrow_rate"] == pytest.approx(0.0235 + 0.065 * 0.07 / 0.08, rel=1e-12)
    assert "utilization 0.99" in payload["borrow_rate_source"]
    both = CliRunner().invoke(app, ["loop", "--capital-eth", "10", "--ltv", "0.93",
                                    "--loops", "10", "--price-usd", "2500", "--rate", "1.225",
                                    "--weth-utilization", "0.99", "--borrow-rate", "0.1"])
    assert both.exit_code == 2 and "not both" in both.output
