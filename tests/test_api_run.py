"""``delever.run()``: the library behind ``delever run``.

Its ``to_dict()`` is exactly the object ``delever run --json`` prints (same scenario, paths
and seed); ``summary()`` / ``str()`` and ``to_frame()`` show the same figures.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

import delever
from delever.cli.main import app
from delever.errors import InvalidArgument

PATHS = 4  # small: the comparison is of the wiring, not of the Monte Carlo


@pytest.fixture(scope="module")
def result() -> delever.RunResult:
    return delever.run(paths=PATHS, seed=3)


def test_to_dict_is_the_json_of_the_command(result: delever.RunResult) -> None:
    out = CliRunner().invoke(app, ["run", "--paths", str(PATHS), "--seed", "3", "--no-report",
                                   "--json"])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    assert result.to_dict() == printed
    assert printed["report_path"] is None
    # every section ran on the default scenario
    for key in ("simulation", "replay", "cascade", "plan", "advice", "recommendation"):
        assert printed[key] is not None, key


def test_sections_are_reported_in_order_as_they_complete() -> None:
    seen: list[tuple[str, frozenset[str]]] = []

    def on_section(name: str, partial: delever.RunResult) -> None:
        seen.append((name, frozenset(partial.payload)))

    delever.run("trend-2026", paths=2, seed=0, on_section=on_section)
    names = [name for name, _ in seen]
    assert names == ["start", "position", "market", "simulation", "replay", "cascade", "plan",
                     "advice", "recommendation"]
    keys = dict(seen)
    assert keys["start"] == {"scenario", "title"}
    assert "market" not in keys["position"] and "market" in keys["market"]
    assert "plan" not in keys["cascade"] and "plan" in keys["plan"]


def test_summary_and_frame_show_the_figures(result: delever.RunResult) -> None:
    data = result.to_dict()
    text = str(result)
    assert text == result.summary()
    assert data["scenario"] in text and f"{PATHS:,} paths" in text
    assert f"total {data['pnl']['total_usd'] / 1e6:+,.1f}M USD" in text
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["value"]
    assert frame.loc["scenario", "value"] == data["scenario"]
    assert frame.loc["simulation.n_paths", "value"] == PATHS
    first = data["accounts"][0]["health_factor"]
    assert math.isclose(frame["value"]["accounts.0.health_factor"], first)


def test_with_report_path_only_sets_the_path(result: delever.RunResult) -> None:
    moved = result.with_report_path("r.html")
    assert moved.to_dict() == {**result.to_dict(), "report_path": "r.html"}
    assert result.report_path is None


@pytest.mark.parametrize(("paths", "seed", "message"), [
    (1, 0, r"paths=1 must be a whole number in \[2, 1,000,000\]"),
    (10, -1, "seed=-1 must not be negative"),
], ids=["one-path", "negative-seed"])
def test_bad_arguments_are_refused_before_any_work(paths: int, seed: int, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        delever.run("no-such-scenario", paths=paths, seed=seed)  # refused before the load
