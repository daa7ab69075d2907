"""Limits checked before any work: paths x steps against the machine's memory (one rule for
every Monte Carlo command), absurd drifts, and no ``null`` where a number is promised."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.cli._finite import check_finite_payload, non_finite_paths
from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.sim import limits
from delever.sim.plan import PlanResult

GIB = 2**30


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _expect_one_line_exit_2(result: Any, *needles: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == ""
    return str(lines[0])


@pytest.mark.parametrize("argv", [
    ["simulate", "--paths", "10000000"],  # was MemoryError (53.7 GiB for the prices), exit 1
    ["run", "--paths", "1000000", "--no-report"],
    ["stress", "--paths", "100000000", "--steps", "1000"],
    ["paths", "--paths", "100000000", "--steps", "1000"],
    ["plan", "--paths", "10000000", "--horizon-days", "30"],
], ids=["simulate", "run", "stress", "paths", "plan"])
def test_too_many_paths_are_refused_up_front_with_the_memory(
        runner: CliRunner, argv: list[str]) -> None:
    line = _expect_one_line_exit_2(runner.invoke(app, argv), "--paths=", "GiB", "the limit here is")
    limit = limits.memory_limit_bytes() / GIB
    assert f"the limit here is {limit:,.1f} GiB" in line  # the same limit for every command


def test_memory_estimate_and_limit() -> None:
    # 10,000,000 paths x 721 prices x 8 bytes = 57.68e9 bytes = 53.7 GiB for one array.
    assert limits.paths_memory_bytes(10_000_000, 720, 1) == 10_000_000 * 721 * 8
    assert limits.strategy_arrays(2) == 1 + 2 * limits.ARRAYS_PER_STRATEGY
    with pytest.raises(InvalidArgument, match=r"needs about 53\.7 GiB .* here is 11\.7 GiB"):
        limits.check_paths_memory(10_000_000, 720, 1, limit_bytes=int(11.7 * GIB))
    assert limits.check_paths_memory(1_000, 720, 1, limit_bytes=GIB) == 1_000 * 721 * 8
    assert limits.memory_limit_bytes() > 0


@pytest.mark.parametrize(("drift", "steps"), [("1e9", "5"), ("-2", "5"), ("0.9", "100"),
                                              ("nan", "5")])
def test_absurd_drift_is_refused(runner: CliRunner, drift: str, steps: str) -> None:
    # --drift-daily 1e9 gave final-price statistics of null with exit 0.
    result = runner.invoke(app, ["paths", "--drift-daily", drift, "--paths", "10", "--steps",
                                 steps, "--json"])
    _expect_one_line_exit_2(result, "drift")


def test_a_sane_drift_still_draws(runner: CliRunner) -> None:
    result = runner.invoke(app, ["paths", "--drift-daily", "0.001", "--paths", "10",
                                 "--steps", "5", "--json"])
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)["final_price_usd"]
    assert all(isinstance(v, float) and math.isfinite(v) for v in stats.values())


def test_non_finite_paths_finds_nan_and_inf_but_not_an_infinite_hf() -> None:
    payload = {"objective_usd": {"value": math.nan}, "rows": [{"x": 1.0}, {"x": math.inf}],
               "accounts": [{"current_hf": math.inf}], "arr": np.array([1.0, -np.inf]),
               "never": None, "n": 3}
    assert list(non_finite_paths(payload)) == ["objective_usd.value", "rows[1].x", "arr[1]"]
    with pytest.raises(RuntimeError, match=r"plan computed a non-finite number at "
                                           r"objective_usd\.value"):
        check_finite_payload(payload, "plan")
    check_finite_payload({"accounts": [{"current_hf": math.inf}], "never": None}, "plan")


def test_plan_with_a_non_finite_result_exits_1_not_null(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard after computing: a NaN where a number is promised is an internal error."""
    real = PlanResult.to_dict

    def broken(self: PlanResult) -> dict[str, Any]:
        out = real(self)
        out["plan"]["objective_usd"] = math.nan
        return out

    monkeypatch.setattr(PlanResult, "to_dict", broken)
    result = runner.invoke(app, ["plan", "--paths", "50", "--horizon-days", "0.25",
                                 "--maxfev", "0", "--family", "almgren-chriss", "--workers",
                                 "0", "--json"])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "non-finite" in lines[0] and "plan.objective_usd" in lines[0]
