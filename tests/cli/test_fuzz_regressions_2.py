"""Fuzz findings of issue 11 on stress, cascade, position and liquidate, one row each.

Each bad input is refused before any work with exit 2 and one ``error:`` line naming the
option; each edge input that is accepted answers with finite numbers only.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

STRESS = ["stress", "--paths", "2", "--steps", "3"]
CASCADE = ["cascade", "--price-usd", "2000"]
POSITION = ["position", "--collateral-eth", "100", "--debt-usd", "100000"]
LIQUIDATE = ["liquidate", "--collateral-eth", "100", "--debt-usd", "170000",
             "--debt-to-cover-usd", "50000"]

REFUSED = [
    # ZeroDivisionError (exit 1) before: a subnormal price.
    pytest.param([*STRESS, "--price-usd", "5e-324"], "price_usd=5e-324", id="stress-price-tiny"),
    # amplification nan before: GBM paths without volatility do not move.
    pytest.param([*STRESS, "--sigma-daily", "0"], "sigma_daily=0.0", id="stress-sigma-0"),
    pytest.param([*STRESS, "--sigma-daily", "-0"], "sigma_daily=-0.0", id="stress-sigma-minus-0"),
    pytest.param([*STRESS, "--sigma-daily", "1e-300"], "sigma_daily=1e-300",
                 id="stress-sigma-tiny"),
    # OverflowError (exit 1) before: int64 in the kernels.
    pytest.param([*STRESS, "--follower-lag", "9223372036854775808"], "follower_lag=",
                 id="stress-follower-lag-huge"),
    pytest.param([*STRESS, "--liquidator-later-steps", "99999999999999999999999"],
                 "liquidator_later_steps=", id="stress-later-steps-huge"),
    # liquidation_price_usd null before.
    pytest.param([*STRESS, "--whale-collateral-eth", "1e-300"], "whale_collateral_eth=1e-300",
                 id="stress-whale-collateral-sub-wei"),
    pytest.param([*STRESS, "--whale-lt", "5e-324"], "whale_lt=5e-324", id="stress-whale-lt"),
    pytest.param([*STRESS, "--whale-collateral-eth", "1e10"], "whale_collateral_eth=",
                 id="stress-whale-collateral-huge"),
    # amplification nan before: no first move.
    pytest.param([*CASCADE, "--shock-pct", "0"], "shock_pct=0.0", id="cascade-shock-0"),
    pytest.param([*CASCADE, "--shock-pct", "-0"], "shock_pct=-0.0", id="cascade-shock-minus-0"),
    pytest.param([*CASCADE, "--shock-pct", "1e-300"], "shock_pct=1e-300",
                 id="cascade-shock-tiny"),
    pytest.param(["cascade", "--price-usd", "5e-324", "--shock-pct", "10"], "price_usd=5e-324",
                 id="cascade-price-tiny"),
    # non-finite health factor, collateral or liquidation price before.
    pytest.param([*POSITION, "--price-usd", "1e308"], "price_usd=1e+308", id="position-price-huge"),
    pytest.param([*POSITION, "--price-usd", "5e-324"], "price_usd=5e-324",
                 id="position-price-tiny"),
    pytest.param([*POSITION, "--price-usd", "2000", "--lt", "5e-324"], "--lt=5e-324",
                 id="position-lt-tiny"),
    pytest.param(["position", "--collateral-eth", "1e308", "--debt-usd", "100000",
                  "--price-usd", "2000"], "--collateral-eth=1e+308", id="position-collateral-huge"),
    pytest.param(["position", "--collateral-eth", "100", "--debt-usd", "1e16",
                  "--price-usd", "2000"], "--debt-usd=1e+16", id="position-debt-huge"),
    # an error naming no option before ("the account has no WETH enabled as collateral").
    pytest.param([*LIQUIDATE, "--price-usd", "2000", "--lt", "-0"], "--lt=-0.0",
                 id="liquidate-lt-minus-0"),
    pytest.param([*LIQUIDATE, "--price-usd", "2000", "--lt", "0"], "--lt=0.0",
                 id="liquidate-lt-0"),
    pytest.param([*LIQUIDATE, "--price-usd", "5e-324"], "price_usd=5e-324",
                 id="liquidate-price-tiny"),
]


@pytest.mark.parametrize(("argv", "start"), REFUSED)
def test_bad_input_is_one_line_naming_the_option(argv: list[str], start: str) -> None:
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {start}"), lines
    assert result.stdout == ""


def _finite(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


ACCEPTED = [
    # The bounds themselves answer with finite numbers.
    pytest.param([*POSITION, "--price-usd", "1e-8"], id="position-price-min"),
    pytest.param(["position", "--collateral-eth", "1e-18", "--debt-usd", "1e15", "--price-usd",
                  "1e-8", "--lt", "0.0001"], id="position-worst-corner"),
    pytest.param(["position", "--collateral-eth", "1e9", "--debt-usd", "0.000001",
                  "--price-usd", "1e12"], id="position-best-corner"),
    pytest.param([*LIQUIDATE, "--price-usd", "2000", "--lt", "0.0001"], id="liquidate-lt-min"),
    pytest.param(["cascade", "--price-usd", "1e-8", "--shock-pct", "10"], id="cascade-price-min"),
    pytest.param([*CASCADE, "--shock-pct", "0.01"], id="cascade-shock-min"),
    pytest.param([*STRESS, "--sigma-daily", "0.0001"], id="stress-sigma-min"),
    # One path that only rises: no exogenous fall, amplification 1 by rule (was null).
    pytest.param(["stress", "--paths", "1", "--steps", "1", "--seed", "0"],
                 id="stress-no-fall"),
]


@pytest.mark.parametrize("argv", ACCEPTED)
def test_edge_input_gives_finite_json(argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    payload = json.loads(result.stdout)
    assert _finite(payload), payload


def test_stress_without_a_fall_reports_amplification_one() -> None:
    # seed 0: the one path's one step rises (its STRESS-stream normal is +1.57)
    result = CliRunner().invoke(app, ["stress", "--paths", "1", "--steps", "1", "--seed", "0",
                                      "--json"])
    payload = json.loads(result.stdout)
    assert payload["amplification_paths"] == 0
    assert payload["amplification_median"] == {"value": 1.0, "low": 1.0, "high": 1.0}


def test_position_without_debt_prints_no_nan_or_inf() -> None:
    result = CliRunner().invoke(app, ["position", "--collateral-eth", "100", "--debt-usd", "0",
                                      "--price-usd", "2000"])
    assert result.exit_code == 0, result.stderr
    words = set(result.stdout.replace("│", " ").split())
    assert not words & {"nan", "inf", "None"}, result.stdout
    assert "infinite" in words and "n/a" in words
