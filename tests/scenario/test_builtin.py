"""The built-in scenarios reproduce the reported figures' arithmetic."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from delever.cli.main import app
from delever.scenario import ScenarioSpec, builtin_scenarios, load_scenario
from delever.scenario import schema as schema_module

# Press figures (approximate; Odaily newsflash 467627 citing Yu Jin), as estimates:
REALIZED_PNL_USD_ODAILY_467627 = -258.6e6  # 255,500 x (2,168 - 3,180)
UNREALIZED_PNL_USD_ODAILY_467627 = -505.3e6  # 396,000 x (754M/396,000 - 3,180)
TOTAL_PNL_USD_ODAILY_467627 = -763.8e6
BAND_BOUNDS_USD = (1500.0, 1720.0)  # reported band $1,509-1,708


def _run_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_trend_2026_reproduces_reported_pnl() -> None:
    payload = _run_json("--paths", "100", "--no-report")  # the P&L needs no paths
    assert payload["scenario"] == "trend-2026"
    pnl = payload["pnl"]
    assert pnl["realized_usd"] == pytest.approx(REALIZED_PNL_USD_ODAILY_467627, abs=0.5e6)
    assert pnl["unrealized_usd"] == pytest.approx(UNREALIZED_PNL_USD_ODAILY_467627, abs=0.5e6)
    assert pnl["total_usd"] == pytest.approx(TOTAL_PNL_USD_ODAILY_467627, abs=1e6)
    assert pnl["total_usd"] == pytest.approx(pnl["realized_usd"] + pnl["unrealized_usd"], rel=1e-12)
    # Hand computation: 255,500 x (2,168 - 3,180) = -258,566,000 exactly.
    assert pnl["realized_usd"] == pytest.approx(-258_566_000.0, rel=1e-12)
    assert pnl["mark_price_usd"] == pytest.approx(754e6 / 396_000, rel=1e-9)
    assert pnl["position_eth"] == pytest.approx(396_000.0)


def test_trend_2026_band_and_accounts() -> None:
    payload = _run_json("trend-2026", "--paths", "100", "--no-report")
    low, high = payload["liquidation_band_usd"]
    assert BAND_BOUNDS_USD[0] <= low <= high <= BAND_BOUNDS_USD[1]
    assert low == pytest.approx(1509.0, abs=0.5)
    assert high == pytest.approx(1708.0, abs=0.5)
    accounts = payload["accounts"]
    assert len(accounts) >= 3
    assert sum(a["collateral_eth"] for a in accounts) == pytest.approx(396_000.0)
    assert sum(a["debt_usd"] for a in accounts) == pytest.approx(526e6, rel=1e-6)
    for account in accounts:
        assert set(account) >= {
            "collateral_eth",
            "debt_usd",
            "health_factor",
            "liquidation_price_usd",
        }
        # Closed form for one collateral asset against a $1 stablecoin: D / (C x LT).
        closed_form = account["debt_usd"] / (account["collateral_eth"] * 0.83)
        assert account["liquidation_price_usd"] == pytest.approx(closed_form, rel=1e-9)
        hf = (
            account["collateral_eth"]
            * payload["pnl"]["mark_price_usd"]
            * 0.83
            / account["debt_usd"]
        )
        assert account["health_factor"] == pytest.approx(hf, rel=1e-9)
    # "most near $1,560": the account holding the most ETH sits there.
    biggest = max(accounts, key=lambda a: a["collateral_eth"])
    assert biggest["liquidation_price_usd"] == pytest.approx(1560.0, abs=0.5)


def test_trend_2025_cycle_implied_size() -> None:
    payload = _run_json("trend-2025-cycle")
    assert payload["pnl"]["realized_usd"] == pytest.approx(315e6, rel=1e-9)
    assert payload["pnl"]["position_eth"] == pytest.approx(0.0)
    assert payload["liquidation_band_usd"] is None
    reported = payload["reported"]
    # The implied size sits inside the range implied by the $1,000-2,000 buying range.
    low = reported["implied_position_low_eth"]["value"]
    high = reported["implied_position_high_eth"]["value"]
    assert low == pytest.approx(315e6 / (4000 - 1000))
    assert high == pytest.approx(315e6 / (4000 - 2000))
    scenario = load_scenario("trend-2025-cycle")
    assert scenario.ledger is not None
    bought = sum(t.quantity_eth for t in scenario.ledger.trades if t.side.value == "buy")
    assert low <= bought <= high


def test_same_scenario_gives_identical_json_bytes() -> None:
    # every section, plan and advice included, at fewer paths than the default (speed)
    first = CliRunner().invoke(app, ["run", "--paths", "300", "--json"]).stdout
    second = CliRunner().invoke(app, ["run", "--paths", "300", "--json"]).stdout
    assert first == second
    assert first.count("\n") == 1  # exactly one JSON object


@pytest.mark.parametrize("name", builtin_scenarios())
def test_every_builtin_scenario_labels_outside_numbers(name: str) -> None:
    scenario = load_scenario(name)
    # Every account amount and trade figure in the shipped scenarios is sourced.
    for account in scenario.spec.accounts:
        for item in [*account.collateral.values(), *account.debt.values()]:
            assert item.source != "user input"
    for trade in scenario.spec.position.trades:
        assert trade.quantity_eth.source != "user input"
        assert trade.price_usd.source != "user input"
    assert scenario.estimates(), "press-based scenarios must flag estimates"


def _models() -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(schema_module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == schema_module.__name__
        and not obj.__name__.startswith("_")
    ]


def _is_numeric(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_numeric(a) for a in args if a is not type(None))
    return annotation in (int, float)


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_field_has_description_and_numbers_have_bounds(model: type[BaseModel]) -> None:
    """Like scikit-learn's check_param_validation: every field documented and bounded."""
    assert ScenarioSpec in _models()
    for field_name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{field_name} has no description"
        if model.__name__ == "Sourced":
            continue  # its value's bounds come from the field that uses it
        if _is_numeric(field.annotation):
            assert field.metadata, f"{model.__name__}.{field_name} has no bounds"
        if "Sourced" in str(field.annotation) and "dict" not in str(field.annotation):
            # Optional[Annotated[Sourced, AfterValidator]] keeps its bound inside the union.
            metadata = list(field.metadata)
            for member in typing.get_args(field.annotation):
                metadata.extend(getattr(member, "__metadata__", ()))
            validators = [m for m in metadata if hasattr(m, "func")]
            assert validators, f"{model.__name__}.{field_name}: Sourced without a bound"


def test_run_simulates_replays_and_writes_the_report(tmp_path: Any) -> None:
    payload = _run_json("--paths", "200")
    strategies = payload["simulation"]["strategies"]
    assert {"hold", "sell-all", "twap", "almgren-chriss", "hf-ladder"} <= set(strategies)
    for figures in strategies.values():
        assert 0.0 <= figures["p_liquidation"] <= 1.0
    assert payload["replay"]["reported_avg_price_usd"] == pytest.approx(2168.0)
    report = tmp_path / "delever-report.html"  # tests run in a temporary folder
    assert payload["report_path"] == "delever-report.html"
    text = report.read_text()
    for heading in ("Position at the mark", "Monte Carlo",
                    "Replay of the reported sales from 2026-02-01",
                    "Recommendation", "The optimal unwind (delever plan)",
                    "Risk advice (delever advise)"):
        assert heading in text
    # the reported figures beside the model's (as the terminal) and where the report came from
    for shown in ("<th>reported</th>", "-$258.0M", "-$505.0M", "-$763.0M",
                  "scenario file SHA-256", "equity at the mark"):
        assert shown in text
    # the run ends with the plan, the advice and the recommendation (issue 7)
    assert payload["plan"]["n_paths"] == 200 and payload["plan"]["binding"] in (
        "liquidation", "none", "infeasible")
    assert set(payload["advice"]) >= {"max_position", "margin_buffer", "staged_deleveraging",
                                      "after_unwind", "leverage_heatmap"}
    topics = [r["topic"] for r in payload["recommendation"]]
    assert topics == ["how fast to sell", "margin buffer", "position size",
                      "after the unwind"]
    assert all(set(r) == {"topic", "text", "figures"} for r in payload["recommendation"])


def test_run_without_report_writes_nothing(tmp_path: Any) -> None:
    payload = _run_json("--paths", "50", "--no-report")
    assert payload["report_path"] is None
    assert list(tmp_path.iterdir()) == []
