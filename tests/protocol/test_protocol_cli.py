"""``delever position`` / ``delever liquidate`` with ``--protocol``, and the scenario's
``protocol`` key: hand-worked numbers, the default unchanged, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.protocol import AaveV3
from delever.scenario.build import build_scenario
from delever.scenario.loader import read_scenario_spec
from scenario_text import one_account_scenario

POS = ["position", "--collateral-eth", "100", "--debt-usd", "100000", "--price-usd", "2000"]
# The small position of test_rule_sets.py (a): 0.5 ETH at $2,000 against $855, HF 0.971.
SMALL_LIQ = ["liquidate", "--collateral-eth", "0.5", "--debt-usd", "855", "--price-usd", "2000",
             "--debt-to-cover-usd", "inf"]
MORPHO = ["--protocol", "morpho-blue", "--lltv", "0.86"]
# Morpho Blue's LIF at LLTV 86%: min(1.15, 1 / (1 - 0.3 * 0.14)) (Morpho.liquidate).
LIF_86 = 1.0 / (1.0 - 0.3 * (1.0 - 0.86))


def _json(argv: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _one_line_error(argv: list[str]) -> str:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_default_protocol_output_is_unchanged() -> None:
    default = _json(POS)
    assert _json([*POS, "--protocol", "aave-v3.6"]) == default
    assert set(default) == {"health_factor", "liquidation_price_usd", "available_borrow_usd",
                            "distance_to_liquidation_pct", "collateral_usd", "debt_usd",
                            "liquidation_threshold", "ltv", "exact"}
    assert default["health_factor"] == pytest.approx(1.66)


def test_liquidate_by_rule_set() -> None:
    # 3.3+: under $2,000 of collateral the whole debt goes; 3.0: half of it.
    v36 = _json(SMALL_LIQ)
    assert _json([*SMALL_LIQ, "--protocol", "aave-v3.3"]) == v36
    assert v36["close_factor"] == 1.0 and v36["debt_repaid_usd"] == pytest.approx(855.0)
    v30 = _json([*SMALL_LIQ, "--protocol", "aave-v3.0"])
    assert v30["close_factor"] == 0.5 and v30["debt_repaid_usd"] == pytest.approx(427.5)
    assert v30["debt_left_usd"] == pytest.approx(427.5)
    exact = _json([*SMALL_LIQ, "--protocol", "aave-v3.0", "--exact"])
    assert exact["debt_repaid_usd"] == pytest.approx(427.5)


def test_liquidate_v30_keeps_bad_debt_owed() -> None:
    argv = ["liquidate", "--collateral-eth", "1", "--debt-usd", "2000", "--price-usd", "2000",
            "--debt-to-cover-usd", "inf"]
    left = 2_000.0 - 2_000.0 / 1.05
    v36 = _json(argv)
    assert v36["bad_debt_usd"] == pytest.approx(left) and v36["debt_left_usd"] == 0.0
    v30 = _json([*argv, "--protocol", "aave-v3.0"])
    assert v30["bad_debt_usd"] == 0.0 and v30["debt_left_usd"] == pytest.approx(left)


def test_morpho_position_closed_form() -> None:
    out = _json(["position", "--collateral-eth", "10", "--debt-usd", "15000", "--price-usd",
                 "2000", *MORPHO])
    assert out["health_factor"] == pytest.approx(10 * 2_000 * 0.86 / 15_000)
    assert out["liquidation_price_usd"] == pytest.approx(15_000 / (10 * 0.86))
    assert out["protocol"] == "morpho-blue"


def test_morpho_liquidate_by_seized_collateral() -> None:
    # 10 ETH at $2,000 against $18,000: HF 0.956. Seizing 2 ETH repays 2 * 2,000 / LIF.
    out = _json(["liquidate", "--collateral-eth", "10", "--debt-usd", "18000", "--price-usd",
                 "2000", *MORPHO, "--seize-eth", "2"])
    assert out["liquidation_incentive_factor"] == pytest.approx(LIF_86, rel=1e-12)
    assert out["debt_repaid_usd"] == pytest.approx(4_000.0 / LIF_86, rel=1e-12)
    assert out["collateral_to_liquidator_eth"] == pytest.approx(2.0)
    assert out["bad_debt_usd"] == 0.0
    # all the collateral of an underwater market: the debt it does not buy is bad debt
    gone = _json(["liquidate", "--collateral-eth", "1", "--debt-usd", "2000", "--price-usd",
                  "2000", *MORPHO, "--seize-eth", "1"])
    assert gone["bad_debt_usd"] == pytest.approx(2_000.0 - 2_000.0 / LIF_86, rel=1e-12)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["liquidate", "--collateral-eth", "10", "--debt-usd", "15000", "--price-usd", "2000",
          *MORPHO, "--seize-eth", "2"], "healthy"),
        ([*POS, "--protocol", "aave-v3.5"], "--protocol='aave-v3.5' is not known"),
        ([*POS, "--protocol", "morpho-blue"], "--lltv is required"),
        ([*POS, "--lltv", "0.8"], "--lltv does not apply"),
        ([*POS, *MORPHO, "--lt", "0.5"], "--lt does not apply"),
        ([*POS, "--protocol", "morpho-blue", "--lltv", "1.5"], "lltv"),
        ([*SMALL_LIQ, "--seize-eth", "1"], "--seize-eth does not apply"),
        (SMALL_LIQ[:-2], "--debt-to-cover-usd is required"),
    ],
    ids=["morpho-healthy", "unknown", "no-lltv", "lltv-on-aave", "lt-on-morpho", "lltv-above-1",
         "seize-on-aave", "aave-no-cover"],
)
def test_protocol_errors_are_one_line(argv: list[str], fragment: str) -> None:
    assert fragment in _one_line_error(argv)


def test_scenario_protocol_key(tmp_path: Path) -> None:
    default = tmp_path / "default.toml"
    default.write_text(one_account_scenario())
    assert build_scenario(read_scenario_spec(default)).protocol == AaveV3("3.6")
    v30 = tmp_path / "v30.toml"
    v30.write_text('protocol = "aave-v3.0"\n' + one_account_scenario())
    scenario = build_scenario(read_scenario_spec(v30))
    assert scenario.protocol.name == "aave-v3.0"
    assert scenario.protocol.kernel_rules().min_base_usd == 0.0
    bad = tmp_path / "bad.toml"
    bad.write_text('protocol = "aave-v3.5"\n' + one_account_scenario())
    line = _one_line_error(["validate", str(bad)])
    assert "protocol" in line and "aave-v3.6" in line
    assert CliRunner().invoke(app, ["validate", str(v30)]).exit_code == 0
