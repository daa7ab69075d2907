"""`delever simulate` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import delever
from delever.cli.main import app

ARGS = ["simulate", "trend-2026", "--paths", "40", "--steps", "48", "--seed", "7", "--json"]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_json_matches_the_library_and_is_byte_identical(runner: CliRunner) -> None:
    first = runner.invoke(app, [*ARGS, "-s", "hold,twap", "-s", "hf-ladder"])
    second = runner.invoke(app, [*ARGS, "-s", "hold,twap", "-s", "hf-ladder"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout
    payload = json.loads(first.stdout)
    assert sorted(payload["strategies"]) == ["hf-ladder", "hold", "twap"]  # keys sorted
    ref = delever.simulate(delever.load_scenario("trend-2026"), ["hold", "twap", "hf-ladder"],
                           n_paths=40, n_steps=48, seed=7)
    assert payload["strategies"]["twap"]["realized_pnl_usd"] == pytest.approx(
        ref["twap"].summary_dict()["realized_pnl_usd"], rel=1e-15)
    assert payload["n_paths"] == 40 and payload["seed"] == 7


def test_default_strategies_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["simulate", "--paths", "10", "--steps", "12"])
    assert result.exit_code == 0, result.stderr
    assert "hold" in result.stdout and "rebound" in result.stdout


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--paths", "-5"], "--paths=-5"), (["--steps", "0"], "--steps=0"),
     (["--strategy", "twapp"], "Did you mean 'twap'"), (["--step-hours", "0"], "--step-hours"),
     (["nonexistent-scenario"], "nonexistent-scenario"), (["--seed", "-1"], "--seed")],
    ids=["paths", "steps", "strategy", "step-hours", "scenario", "seed"],
)
def test_bad_input_exits_2_with_one_line(runner: CliRunner, argv: list[str], match: str) -> None:
    result = runner.invoke(app, ["simulate", *argv])
    assert result.exit_code == 2
    assert match in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
