"""`delever calibrate` and `delever paths` through typer's CliRunner."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.market.calibration import calibrate, fit_garch
from delever.market.loaders import eth_daily_close
from delever.market.paths import bootstrap_paths, garch_paths, gbm_paths, merton_paths


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _ok(runner: CliRunner, argv: list[str]) -> str:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


# --- calibrate -----------------------------------------------------------------------------------


def test_calibrate_prints_the_market_section(runner: CliRunner) -> None:
    out = _ok(runner, ["calibrate"])
    parsed = tomllib.loads(out)
    assert parsed["market"]["sigma_daily"]["value"] == calibrate().sigma_daily.value
    assert parsed["market"]["cutoff"].isoformat() == "2026-01-01"


def test_calibrate_json(runner: CliRunner) -> None:
    payload = json.loads(_ok(runner, ["calibrate", "--cutoff", "2025-07-01", "--window-days",
                                      "90", "--json"]))
    expected = calibrate("2025-07-01", 90)
    assert payload["sigma_daily"]["value"] == expected.sigma_daily.value
    assert payload["adv_eth"]["value"] == expected.adv_eth.value
    assert payload["window_days"] == 90 and payload["cutoff"] == "2025-07-01"
    assert payload["output"] is None
    assert tomllib.loads(payload["toml"])["market"]["adv_eth"]["estimate"] is True
    for key in ("adv_source", "adv_window", "sigma_window", "impact_y", "impact_y_range",
                "sigma_daily_intraday", "last_close_usd"):
        assert key in payload


def test_calibrate_writes_the_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "market.toml"
    out = _ok(runner, ["calibrate", "--output", str(target)])
    assert "wrote" in out
    assert tomllib.loads(target.read_text())["market"]["impact_y"]["value"] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["market.toml"]  # no temp file left


def test_failed_calibrate_keeps_the_earlier_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "market.toml"
    target.write_text("# earlier output\n")
    result = runner.invoke(app, ["calibrate", "--cutoff", "2030-01-01", "--output", str(target)])
    assert result.exit_code == 2
    assert target.read_text() == "# earlier output\n"


# --- paths ---------------------------------------------------------------------------------------


def test_paths_gbm_parquet_matches_the_library(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "p.parquet"
    payload = json.loads(_ok(runner, ["paths", "--model", "gbm", "--paths", "50", "--steps",
                                      "20", "--seed", "7", "--output", str(target), "--json"]))
    cal = calibrate()
    expected = gbm_paths(cal.last_close_usd.value, 50, 20,
                         sigma_per_step=cal.sigma_daily.value, seed=7)
    table = pq.read_table(target)
    assert table.column_names == [f"step_{k}" for k in range(21)]
    np.testing.assert_array_equal(np.column_stack(list(table.to_pydict().values())), expected)
    assert payload["shape"] == [50, 21] and payload["n_paths"] == 50 and payload["n_steps"] == 20
    assert payload["output"] == str(target) and payload["format"] == "parquet"
    assert payload["s0_usd"] == cal.last_close_usd.value == 2971.64
    final = payload["final_price_usd"]
    assert final["mean"] == pytest.approx(expected[:, -1].mean())
    assert final["p50"] == pytest.approx(np.percentile(expected[:, -1], 50))
    assert payload["min_price_usd"]["p01"] == pytest.approx(np.percentile(expected.min(1), 1))
    assert payload["params"]["sigma_per_step"] == cal.sigma_daily.value
    again = tmp_path / "again.parquet"
    _ok(runner, ["paths", "--paths", "50", "--steps", "20", "--seed", "7", "-o", str(again)])
    assert again.read_bytes() == target.read_bytes()  # same seed, same bytes


def test_paths_csv_same_seed_same_bytes(runner: CliRunner, tmp_path: Path) -> None:
    argv = ["paths", "--model", "merton", "--paths", "10", "--steps", "5", "--seed", "3",
            "--s0", "2000", "--step-days", "0.5"]
    _ok(runner, [*argv, "--output", str(tmp_path / "a.csv"), "--json"])
    _ok(runner, [*argv, "--output", str(tmp_path / "b.csv"), "--json"])
    first = (tmp_path / "a.csv").read_bytes()
    assert first == (tmp_path / "b.csv").read_bytes()
    data = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    # Merton defaults: diffusion variance = sigma² - lambda (m² + s²), per half-day step
    sigma = calibrate().sigma_daily.value
    expected = merton_paths(
        2000.0, 10, 5,
        sigma_per_step=math.sqrt((sigma**2 - 0.02 * (0.05**2 + 0.05**2)) * 0.5),
        jump_intensity_per_step=0.01, jump_mean=-0.05, jump_std=0.05, seed=3,
    )  # fmt: skip
    np.testing.assert_array_equal(data, expected)  # %.17g round-trips float64 exactly


def test_paths_garch_and_bootstrap_use_the_window_returns(runner: CliRunner) -> None:
    cal = calibrate()
    payload = json.loads(_ok(runner, ["paths", "--model", "garch", "--paths", "20",
                                      "--steps", "10", "--seed", "5", "--json"]))
    fitted = fit_garch(cal.daily_returns)
    expected = garch_paths(cal.last_close_usd.value, 20, 10, params=fitted, seed=5)
    assert payload["final_price_usd"]["mean"] == pytest.approx(expected[:, -1].mean())
    assert payload["params"]["alpha"] == pytest.approx(fitted.alpha)
    payload = json.loads(_ok(runner, ["paths", "--model", "bootstrap", "--paths", "20",
                                      "--steps", "10", "--seed", "5", "--block-days", "4",
                                      "--bootstrap-method", "moving", "--json"]))
    expected = bootstrap_paths(cal.last_close_usd.value, 20, 10, returns=cal.daily_returns,
                               block_length=4, method="moving", seed=5)
    assert payload["final_price_usd"]["mean"] == pytest.approx(expected[:, -1].mean())


def test_paths_replay_starts_at_the_last_close_before_the_cutoff(runner: CliRunner) -> None:
    payload = json.loads(_ok(runner, ["paths", "--model", "replay", "--paths", "3",
                                      "--steps", "5", "--json"]))
    close = eth_daily_close()["close_usd"]
    assert payload["s0_usd"] == close.loc["2025-12-31"]
    # window i starts on 2025-12-31 + i days; its last price is 5 days later
    assert payload["final_price_usd"]["mean"] == pytest.approx(
        close.loc["2026-01-05":"2026-01-07"].mean()
    )
    assert payload["params"]["replay_start"] == "2025-12-31"


def test_paths_table_output(runner: CliRunner) -> None:
    out = _ok(runner, ["paths", "--paths", "100", "--steps", "3"])
    assert "final price" in out and "path minimum" in out


# --- bad input -----------------------------------------------------------------------------------

PATHS = ["paths", "--paths", "10", "--steps", "5"]
BAD = [
    ("negative-paths", ["paths", "--paths", "-5"], "--paths"),
    ("zero-steps", ["paths", "--steps", "0"], "--steps"),
    ("negative-seed", [*PATHS, "--seed", "-1"], "seed"),
    ("unknown-model", [*PATHS, "--model", "gmb"], "Did you mean 'gbm'"),
    ("cutoff-after-data", [*PATHS, "--cutoff", "2027-01-01"], "after the end of the data"),
    ("cutoff-not-a-date", [*PATHS, "--cutoff", "tomorrow"], "not a date"),
    ("window-too-short", [*PATHS, "--window-days", "5"], "at least 30"),
    ("bad-extension", [*PATHS, "--output", "out.xlsx"], "unsupported extension"),
    ("no-extension", [*PATHS, "--output", "out"], "unsupported extension"),
    ("missing-folder", [*PATHS, "--output", "no/such/dir/out.csv"], "does not exist"),
    ("negative-s0", [*PATHS, "--s0", "-2000"], "s0_usd"),
    ("zero-sigma", [*PATHS, "--sigma-daily", "0"], "sigma_daily"),
    ("odd-antithetic", ["paths", "--paths", "3", "--antithetic"], "even"),
    ("antithetic-bootstrap", [*PATHS, "--model", "bootstrap", "--antithetic"], "antithetic"),
    ("step-days-garch", [*PATHS, "--model", "garch", "--step-days", "0.5"], "step-days"),
    ("jumps-too-big", [*PATHS, "--model", "merton", "--jump-intensity", "1"], "jump variance"),
    ("bad-bootstrap-method", [*PATHS, "--model", "bootstrap", "--bootstrap-method", "block"],
     "stationary"),
    ("replay-too-long", ["paths", "--model", "replay", "--steps", "500"], "windows"),
    ("replay-start-outside", [*PATHS, "--model", "replay", "--replay-start", "2019-01-01"],
     "outside the daily data"),
    ("calibrate-cutoff-after-data", ["calibrate", "--cutoff", "2026-06-01"], "after the end"),
    ("calibrate-window-too-short", ["calibrate", "--window-days", "3"], "at least 30"),
    ("calibrate-too-little-data", ["calibrate", "--cutoff", "2020-01-10"], "at least 30"),
]


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_exits_2_with_one_line(
    argv: list[str], fragment: str, runner: CliRunner, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*argv, "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip() == ""
    assert list(tmp_path.iterdir()) == []  # nothing written
