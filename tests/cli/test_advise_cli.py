"""`delever advise` through typer's CliRunner: stable JSON keys, bad input exits 2."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

TOP_KEYS = {
    "scenario", "market", "n_paths", "seed", "alpha", "max_cost_frac", "horizon_days",
    "workers", "scheduler", "max_position", "margin_buffer", "staged_deleveraging",
    "after_unwind", "leverage_heatmap", "report_path",
}


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def payload(runner: CliRunner) -> dict[str, Any]:
    result = runner.invoke(app, ["advise", "--paths", "16", "--seed", "3", "--horizon-days",
                                 "1", "--workers", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1  # exactly one JSON object
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_json_top_level_keys_are_stable(payload: dict[str, Any]) -> None:
    assert set(payload) == TOP_KEYS
    assert payload["scenario"] == "trend-2026" and payload["n_paths"] == 16
    assert payload["seed"] == 3 and payload["workers"] == 0 and payload["scheduler"] is None
    assert set(payload["max_position"]["limits"]) == {"twap", "almgren-chriss"}
    assert set(payload["max_position"]["limits"]["twap"]) == {
        "strategy", "limiting", "scale", "eth", "at_limit", "at_current", "evaluations"}
    assert payload["max_position"]["current_eth"] == pytest.approx(396_000.0)
    rows = payload["margin_buffer"]["rows"]
    assert [(r["source"], r["window_days"]) for r in rows] == [
        ("model", 3.0), ("model", 7.0), ("bootstrap", 3.0), ("bootstrap", 7.0)]
    assert [a["name"] for a in rows[0]["accounts"]] == ["A-low", "B-core", "C-high", "total"]
    staged = payload["staged_deleveraging"]
    assert staged["target_hf"] == payload["margin_buffer"]["recommended_hf"]
    assert sum(b["eth"] for b in staged["batches"]) == pytest.approx(staged["needed_eth"])
    assert {(r["source"], r["strategy"]) for r in payload["after_unwind"]["rows"]} == {
        ("bootstrap", "hold"), ("bootstrap", "rebound"), ("model", "hold"),
        ("model", "rebound")}
    heat = payload["leverage_heatmap"]
    assert len(heat["p_liquidation"]) == len(heat["leverages"])
    assert all(len(row) == len(heat["entry_prices_usd"]) for row in heat["p_liquidation"])


def test_terminal_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["advise", "--paths", "8", "--horizon-days", "0.5"])
    assert result.exit_code == 0, result.stderr
    for text in ("largest position", "Staged deleveraging", "After the unwind",
                 "P(liquidation)"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--alpha", "0"], "--alpha=0"), (["--alpha", "1.5"], "--alpha=1.5"),
     (["--paths", "-5"], "--paths=-5"), (["--max-cost", "0"], "--max-cost=0"),
     (["--horizon-days", "0"], "--horizon-days"), (["--seed", "-1"], "--seed"),
     (["--workers", "-1"], "--workers"), (["--sell-eth-per-day", "-5"], "--sell-eth-per-day"),
     (["nonexistent-scenario"], "nonexistent-scenario"),
     (["--scheduler", "not an address"], "scheduler="),
     (["--scheduler", "tcp://h:8786", "--workers", "2"], "--workers=2")],
    ids=["alpha-0", "alpha-big", "paths", "cost", "horizon", "seed", "workers", "sell",
         "scenario", "scheduler", "scheduler-and-workers"],
)
def test_bad_input_exits_2_with_one_line(runner: CliRunner, argv: list[str], match: str) -> None:
    result = runner.invoke(app, ["advise", *argv])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert match in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_advise_report_has_the_advice_charts(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "advice.html"
    result = runner.invoke(app, ["advise", "--paths", "16", "--horizon-days", "1",
                                 "--workers", "0", "--report", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["report_path"] == str(out)
    text = out.read_text()
    assert "Risk advice (delever advise)" in text
    assert text.count("plotly-graph-div") == 5  # buffer, recovery, P&L, two heatmaps
    # where it came from (the built-in file's hash), and the heatmaps' equity with its basis
    shipped = resources.files("delever.scenario.builtin").joinpath("trend-2026.toml")
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() in text
    assert "equity at cost" in text


INSOLVENT = """
name = "insolvent"
[mark]
price_usd = 2000
[position]
[[position.trades]]
time = 2026-01-01T00:00:00Z
side = "buy"
quantity_eth = 100
price_usd = 3000
[[accounts]]
name = "under"
collateral = { WETH = 100 }
debt = { USDC = %d }
"""


@pytest.mark.parametrize("debt_usd", [184_444, 207_500], ids=["hf-0.9", "hf-0.8-underwater"])
def test_an_account_below_hf_1_is_reported_not_refused(
        runner: CliRunner, tmp_path: Path, debt_usd: int) -> None:
    # WETH 100 at 2,000 (LT 0.83) against USDC debt: HF 0.9 (selling restores it) and HF 0.8
    # (the debt exceeds the collateral's value: no sale does). Both used to stop at
    # "target_hf=1.2... cannot be reached" (exit 2) for HF 0.8.
    path = tmp_path / "insolvent.toml"
    path.write_text(INSOLVENT % debt_usd)
    result = runner.invoke(app, ["advise", str(path), "--paths", "16", "--horizon-days", "1",
                                 "--workers", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    accounts = out["margin_buffer"]["rows"][0]["accounts"]
    assert accounts[0]["name"] == "under" and accounts[0]["liquidatable_now"] is True
    assert accounts[0]["current_hf"] < 1.0 and accounts[0]["add_collateral_eth"] > 0
    staged = out["staged_deleveraging"]
    if debt_usd > 200_000:
        assert staged["unreachable_accounts"] == ["under"] and not staged["reached"]
    else:
        assert staged["unreachable_accounts"] == [] and staged["reached"]
