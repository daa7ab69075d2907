"""``delever impact`` through typer's CliRunner: exit codes, one-line errors, JSON keys."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.market.univ3 import illustrative_pool

MODELS = ["sqrt", "ac", "ow", "propagator", "book", "univ3", "router"]
COMMON_KEYS = {
    "model", "qty_eth", "price_usd", "horizon_steps", "step_days", "filled_eth",
    "unfilled_eth", "proceeds_usd", "avg_price_usd", "final_mid_usd", "discount_usd",
    "discount_usd_per_eth", "discount_pct", "schedule", "parameters", "estimates", "notes",
}


def _run_json(args: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["impact", *args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1  # exactly one JSON object on stdout
    payload: dict[str, Any] = json.loads(lines[0])
    return payload


@pytest.mark.parametrize("model", MODELS)
def test_every_model_emits_the_common_json(model: str) -> None:
    payload = _run_json(["--qty-eth", "1000", "--model", model])
    assert payload.keys() >= COMMON_KEYS
    assert payload["model"] == model
    assert len(payload["schedule"]) == payload["horizon_steps"] == 5
    total = sum(row["discount_usd"] for row in payload["schedule"])
    assert total == pytest.approx(payload["discount_usd"], rel=1e-9, abs=1e-6)
    assert payload["discount_usd"] >= 0.0
    assert payload["avg_price_usd"] <= payload["price_usd"]
    assert payload["discount_usd_per_eth"] == pytest.approx(
        payload["price_usd"] - payload["avg_price_usd"], rel=1e-9
    )


def test_sqrt_json_matches_the_closed_form() -> None:
    payload = _run_json(["--qty-eth", "5000", "--price-usd", "2000", "--sigma-daily", "0.04",
                         "--adv-eth", "500000", "--impact-y", "1", "--horizon-steps", "1"])
    assert payload["avg_price_usd"] == pytest.approx(2000.0 * (1 - 2.0 / 3.0 * 0.004), rel=1e-12)
    assert payload["final_mid_usd"] == pytest.approx(1992.0, rel=1e-12)
    assert payload["estimates"] == []


def test_defaults_are_labelled_estimates() -> None:
    payload = _run_json(["--qty-eth", "10"])
    assert {"sigma_daily", "adv_eth", "impact_y", "price_usd"} <= set(payload["estimates"])


def test_ac_json_has_schedule_cost_and_variance() -> None:
    payload = _run_json(["--qty-eth", "1000", "--model", "ac", "--horizon-steps", "4",
                         "--sigma", "80", "--eta", "3e-4", "--gamma", "3e-5", "--epsilon",
                         "0.01", "--risk-aversion", "1e-7", "--step-days", "0.5"])
    holdings = payload["schedule_eth"]
    assert len(holdings) == 5 and holdings[0] == 1000.0 and holdings[-1] == 0.0
    assert all(a >= b for a, b in itertools.pairwise(holdings))
    assert payload["expected_cost_usd"] == pytest.approx(payload["discount_usd"], rel=1e-8)
    assert payload["variance_usd2"] > 0.0
    assert payload["estimates"] == ["price_usd"]  # only the mark was left to its default


def test_ac_zero_risk_aversion_is_twap() -> None:
    payload = _run_json(["--qty-eth", "800", "--model", "ac", "--horizon-steps", "4"])
    assert payload["schedule_eth"] == pytest.approx([800.0, 600.0, 400.0, 200.0, 0.0])


def test_router_json_has_the_split() -> None:
    payload = _run_json(["--qty-eth", "20000", "--model", "router"])
    assert set(payload["split_eth"]) == {"sqrt", "univ3"}
    assert sum(payload["split_eth"].values()) == pytest.approx(20000.0, rel=1e-12)
    assert any("synthetic" in note for note in payload["notes"])


def test_levels_csv_book(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text("side,price_usd,size_eth\nbid,1998,20\nask,2001,5\nbid,1999,10\n"
                    "bid,1995,50\n")
    payload = _run_json(["--qty-eth", "25", "--model", "book", "--book-file", str(path),
                         "--horizon-steps", "1"])
    # Mid (1999 + 2001) / 2 = 2000; 10 @ 1999 + 15 @ 1998 = 49,960 -> 1998.4.
    assert payload["price_usd"] == 2000.0
    assert payload["avg_price_usd"] == pytest.approx(1998.4, rel=1e-14)
    assert payload["discount_usd"] == pytest.approx(40.0, rel=1e-9)
    assert payload["estimates"] == []


def test_binance_book_depth_file(tmp_path: Path) -> None:
    pytest.importorskip("delever.market.loaders")
    path = tmp_path / "ETHUSDT-bookDepth-2026-02-05.csv"
    path.write_text(
        "timestamp,percentage,depth,notional\n"
        "2026-02-05 00:00:08,-2.00,30,59500\n"
        "2026-02-05 00:00:08,-1.00,10,19900\n"
        "2026-02-05 00:00:08,1.00,5,10100\n"
    )
    payload = _run_json(["--qty-eth", "30", "--model", "book", "--book-file", str(path),
                         "--horizon-steps", "1"])
    assert payload["price_usd"] == 2005.0  # midpoint of the innermost band prices
    assert payload["proceeds_usd"] == pytest.approx(59_500.0, rel=1e-12)
    assert "bookDepth" in payload["venue_source"]


def test_pool_file(tmp_path: Path) -> None:
    pytest.importorskip("delever.market.loaders")
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(illustrative_pool().to_state_dict()))
    from_file = _run_json(["--qty-eth", "1000", "--model", "univ3", "--pool-file", str(path)])
    built_in = _run_json(["--qty-eth", "1000", "--model", "univ3"])
    assert from_file["avg_price_usd"] == pytest.approx(built_in["avg_price_usd"], rel=1e-9)
    assert not any("synthetic" in note for note in from_file["notes"])


def test_human_output() -> None:
    result = CliRunner().invoke(app, ["impact", "--qty-eth", "100", "--model", "ow"])
    assert result.exit_code == 0, result.stderr
    assert "discount_usd" in result.stdout and "estimates" in result.stdout


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD = [
    ("unknown-model", ["--model", "sqr"], "did you mean 'sqrt'"),
    ("negative-size", ["--qty-eth", "-5"], "qty_eth"),
    ("nan-size", ["--qty-eth", "nan"], "qty_eth"),
    ("zero-price", ["--price-usd", "0"], "price_usd"),
    ("zero-adv", ["--adv-eth", "0"], "adv_eth"),
    ("zero-steps", ["--horizon-steps", "0"], "horizon_steps"),
    ("eta-tilde", ["--model", "ac", "--eta", "1e-9", "--gamma", "1"], "eta_tilde"),
    ("missing-book", ["--model", "book", "--book-file", "no/such.csv"], "no such file"),
    ("missing-pool", ["--model", "univ3", "--pool-file", "no/such.json"], "no such file"),
]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_exit_2_one_line(args: list[str], fragment: str) -> None:
    base = ["impact", "--qty-eth", "10"]
    result = CliRunner().invoke(app, [*base, *args, "--json"])
    _assert_one_line(result.exit_code, result.stderr, result.stdout, fragment)


FILE_CASES = [
    ("crossed-book", "book", "side,price_usd,size_eth\nbid,2002,1\nask,2001,1\n", "crossed"),
    ("zero-size-level", "book", "side,price_usd,size_eth\nbid,1999,0\nask,2001,1\n",
     "greater than 0"),
    ("bad-side", "book", "side,price_usd,size_eth\nbuy,1999,1\n", "side"),
    ("bad-header", "book", "price,size\n1999,1\n", "header"),
    ("empty-pool", "univ3", json.dumps({
        "token0": "USDC", "token1": "WETH", "decimals0": 6, "decimals1": 18, "fee_pips": 500,
        "sqrt_price_x96": "1771595571142957166518320255467520", "liquidity": "0",
        "tick": 200311, "ticks": []}), "no liquidity"),
]


@pytest.mark.parametrize(("model", "text", "fragment"), [c[1:] for c in FILE_CASES],
                         ids=[c[0] for c in FILE_CASES])
def test_bad_files_exit_2_one_line(tmp_path: Path, model: str, text: str, fragment: str) -> None:
    if model == "univ3":
        pytest.importorskip("delever.market.loaders")
        args = ["--pool-file", _write(tmp_path, "pool.json", text)]
    else:
        args = ["--book-file", _write(tmp_path, "book.csv", text)]
    result = CliRunner().invoke(app, ["impact", "--qty-eth", "1", "--model", model, *args])
    _assert_one_line(result.exit_code, result.stderr, result.stdout, fragment)


def _assert_one_line(code: int, stderr: str, stdout: str, fragment: str) -> None:
    assert code == 2, (code, stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in stderr + stdout
    assert stdout.strip() == ""


def test_help_lists_the_flags_and_their_defaults() -> None:
    result = CliRunner().invoke(app, ["impact", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for flag in ("--qty-eth", "--model", "--sigma-daily", "--adv-eth", "--impact-y", "--eta",
                 "--gamma", "--risk-aversion", "--book-file", "--pool-file", "--json"):
        assert flag in result.stdout
    assert "calibrated on Binance data before 2026-01-01, estimate" in result.stdout
