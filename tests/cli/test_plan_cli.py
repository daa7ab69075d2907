"""`delever plan` through typer's CliRunner: stable JSON keys, the library's answer, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.scenario import load_scenario
from delever.scenario.market import scenario_market
from delever.sim.montecarlo import MonteCarlo
from delever.sim.plan import PlanObjective, PlanSearch, plan_for_scenario

ARGS = ["plan", "trend-2026", "--paths", "200", "--horizon-days", "1", "--maxfev", "2",
        "--family", "almgren-chriss,hf-ladder", "--workers", "0", "--seed", "3", "--json"]

TOP_KEYS = {"scenario", "seed", "book", "workers", "scheduler", "objective", "n_paths",
            "n_steps", "step_hours", "paths", "initial_eth", "plan", "binding", "binding_text",
            "constraint_cost_usd", "withdrawal_shortfall_eth", "unconstrained", "families",
            "baselines", "plan_gain_usd", "evaluations", "near_optimal", "report_path"}
METRIC_KEYS = {"label", "family", "params", "n_paths", "mean_loss_usd", "cvar_loss_usd",
               "std_loss_usd", "objective_usd", "p_liquidation", "mean_sold_frac",
               "feasible"}


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_plan_json_keys_are_stable_and_match_the_library(runner: CliRunner) -> None:
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == TOP_KEYS
    assert set(payload["plan"]) == {"family", "params", "description", "metrics",
                                    "fresh_p_liquidation", "daily_sold_eth"}
    assert set(payload["plan"]["metrics"]) == METRIC_KEYS
    assert [b["label"] for b in payload["baselines"]] == [
        "hold", "sell-now", "twap", "almgren-chriss", "hf-ladder"]
    for b in payload["baselines"]:
        assert set(b) == METRIC_KEYS
    assert payload["binding"] in ("liquidation", "none", "infeasible")
    assert set(payload["plan_gain_usd"]) == {b["label"] for b in payload["baselines"]}
    sc = load_scenario("trend-2026")
    ref = plan_for_scenario(sc, PlanObjective(), mc=MonteCarlo(3, 200), horizon_hours=24.0,
                            market=scenario_market(sc),
                            search=PlanSearch(["almgren-chriss", "hf-ladder"], maxfev=2))
    assert payload["plan"]["params"] == list(ref.plan.params)
    assert payload["plan"]["metrics"]["objective_usd"]["value"] == pytest.approx(
        ref.plan_metrics.objective_usd.value, rel=1e-12)


def test_plan_on_a_local_dask_cluster_gives_the_same_json(runner: CliRunner) -> None:
    """`--workers 1` starts a real LocalCluster; the plan is the same as in this process."""
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    here = runner.invoke(app, ARGS)
    args = list(ARGS)
    args[args.index("--workers") + 1] = "1"
    there = runner.invoke(app, args)
    assert here.exit_code == 0 and there.exit_code == 0, there.stderr
    a, b = json.loads(here.stdout), json.loads(there.stdout)
    assert (a.pop("workers"), b.pop("workers")) == (0, 1)
    assert a == b


def test_plan_report_has_the_comparison_chart(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    result = runner.invoke(app, [*ARGS, "--report", str(out)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["report_path"] == str(out)
    text = out.read_text()
    assert "The optimal unwind (delever plan)" in text
    assert text.count("plotly-graph-div") == 2  # the comparison and the sales over time
    shipped = resources.files("delever.scenario.builtin").joinpath("trend-2026.toml")
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() in text  # provenance
    assert "estimates in the scenario file" in text  # trend-2026 has estimated inputs
    bad = runner.invoke(app, [*ARGS, "--report", str(tmp_path)])
    assert bad.exit_code == 2 and "is a folder" in bad.stderr


def test_plan_on_an_existing_scheduler(runner: CliRunner) -> None:
    """`--scheduler ADDRESS` connects to a running cluster (started here) and gives the same
    plan as this process."""
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is missing")
    here = json.loads(runner.invoke(app, ARGS).stdout)
    args = [a for a in ARGS if a not in ("--workers", "0")]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        result = runner.invoke(app, [*args, "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.stderr
    there = json.loads(result.stdout)
    assert there["scheduler"] == cluster.scheduler_address and there["workers"] is None
    for key in ("workers", "scheduler"):
        here.pop(key), there.pop(key)
    assert here == there


def test_plan_with_jumps_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, [*ARGS, "--jumps", "--jump-intensity", "0.1"])
    assert result.exit_code == 0, result.stderr
    paths = json.loads(result.stdout)["paths"]
    assert paths["model"] == "merton" and paths["jumps"]["intensity_per_day"] == 0.1
    plain = json.loads(runner.invoke(app, ARGS).stdout)["paths"]
    assert plain["model"] == "gbm" and plain["jumps"] is None
    too_big = runner.invoke(app, [*ARGS, "--jumps", "--jump-intensity", "5"])
    assert too_big.exit_code == 2 and "jump variance" in too_big.stderr


def test_plan_table(runner: CliRunner) -> None:
    result = runner.invoke(app, [a for a in ARGS if a != "--json"])
    assert result.exit_code == 0, result.stderr
    assert "plan:" in result.stdout and "sell-now" in result.stdout
    assert "fresh paths" in result.stdout


@pytest.mark.parametrize(("flag", "value", "needle"), [
    ("--alpha", "0", "alpha"),
    ("--alpha", "1.5", "alpha"),
    ("--risk-aversion", "-1", "--risk-aversion=-1"),
    ("--risk-aversion", "1e308", "[0, 1000]"),  # was a "plan" with a null objective, exit 0
    ("--risk-aversion", "nan", "--risk-aversion=nan"),
    ("--paths", "10000000", "GiB"),  # with --horizon-days 1: ~1.0 GiB a day's array, x 8
    ("--cvar-level", "1", "cvar_level"),
    ("--paths", "0", "--paths"),
    ("--paths", "1", "two paths"),  # its intervals were NaN, written as null with exit 0
    ("--horizon-days", "0", "--horizon-days"),
    ("--horizon-days", "1.01", "--horizon-days"),
    ("--family", "twapp", "--family"),
    ("--workers", "-1", "--workers"),
    ("--scheduler", "not an address", "scheduler"),
    ("--pieces", "0", "--pieces"),
])
def test_bad_input_exits_2_with_one_line(runner: CliRunner, flag: str, value: str,
                                         needle: str) -> None:
    args = [a for a in ARGS if a not in ("--workers", "0")]
    result = runner.invoke(app, [*args, flag, value])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert result.stdout == ""


def test_ctrl_c_during_a_plan_on_workers_is_one_line_and_leaves_no_process() -> None:
    """SIGINT to the process group (what a terminal's Ctrl-C does) while `plan --workers 2`
    runs: exit 130, "interrupted", no worker tracebacks (there were 68-143 lines), no child
    process left."""
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen(
        [sys.executable, "-m", "delever.cli.main", "plan", "--workers", "2", "--paths",
         "20000", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 240.0
        kids: list[Any] = []
        while time.monotonic() < deadline and proc.poll() is None:
            kids = [k for k in parent.children(recursive=True)
                    if any("spawn_main" in part for part in k.cmdline())]
            if len(kids) >= 2:
                break
            time.sleep(0.1)
        assert len(kids) >= 2, "the workers never started"
        # past the spawning window (a Ctrl-C inside it is dropped); one during the rest of
        # the start-up is held until the cluster is whole
        time.sleep(2.0)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines and lines[-1] == "interrupted" and len(lines) <= 2, err
    time.sleep(0.5)
    alive = [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
    assert not alive
