"""`delever cascade` and `delever stress` through typer's CliRunner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.book import BorrowerBook, cascade, synthetic_book
from delever.cli.cascade_cmds import DEFAULT_BOOK_ACCOUNTS, DEFAULT_BOOK_COLLATERAL_ETH
from delever.cli.main import app

CASCADE_KEYS = {"final_price_usd", "rounds", "collateral_liquidated_eth", "collateral_sold_eth",
                "debt_repaid_usd", "bad_debt_usd", "accounts_liquidated", "amplification"}
HEADER = "account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus\n"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _json(runner: CliRunner, argv: list[str]) -> dict[str, object]:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


def test_cascade_json_on_a_hand_worked_book(runner: CliRunner, tmp_path: Path) -> None:
    # One borrower: C = 100, D = 150,000 at P0 = 2,000, shock 15% -> full close at 1,700
    # (see tests/book/test_cascade_engines.py); Y = 1, sigma = 0.04, V = 500,000.
    path = tmp_path / "book.csv"
    path.write_text(HEADER + "a,100,150000,0.83,0.05\n")
    argv = ["cascade", "--book", str(path), "--price-usd", "2000", "--shock-pct", "15",
            "--impact-y", "1", "--sigma-daily", "0.04", "--adv-eth", "500000", "--json"]
    out = _json(runner, argv)
    assert set(out) >= CASCADE_KEYS
    seized = 150_000 / 1_700 * 1.05
    sold = seized * (1 - 0.1 * 0.05 / 1.05)
    final = 1_700 * (1 - 0.04 * math.sqrt(sold / 500_000))
    assert out["final_price_usd"] == pytest.approx(final, rel=1e-12)
    assert out["collateral_liquidated_eth"] == pytest.approx(seized, rel=1e-12)
    assert out["collateral_sold_eth"] == pytest.approx(sold, rel=1e-12)
    assert out["rounds"] == 1 and out["accounts_liquidated"] == 1
    assert out["bad_debt_usd"] == 0.0
    assert out["amplification"] == pytest.approx((2000 - final) / 300, rel=1e-12)
    ladder = _json(runner, [*argv, "--engine", "ladder"])
    assert ladder["final_price_usd"] == pytest.approx(final, rel=1e-12)


def test_cascade_default_book_matches_the_library(runner: CliRunner) -> None:
    out = _json(runner, ["cascade", "--price-usd", "2000", "--shock-pct", "25", "--json"])
    book = synthetic_book(DEFAULT_BOOK_ACCOUNTS, DEFAULT_BOOK_COLLATERAL_ETH, 2000.0, seed=0)
    ref = cascade(book, price_usd=2000.0, shock_frac=0.25)
    assert out["final_price_usd"] == ref.final_price_usd
    assert out["collateral_liquidated_eth"] == ref.collateral_liquidated_eth
    assert out["accounts_liquidated"] == ref.accounts_liquidated
    assert out["amplification"] > 1.0  # type: ignore[operator]
    again = runner.invoke(app, ["cascade", "--price-usd", "2000", "--shock-pct", "25", "--json"])
    assert json.loads(again.stdout) == out


def test_cascade_text_output(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cascade", "--price-usd", "2000", "--shock-pct", "10"])
    assert result.exit_code == 0
    assert "amplification" in result.stdout


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (HEADER + "a,-1,1000,0.83,0.05\n", "collateral_eth"),
        (HEADER + "a,10,1000,1.2,0.05\n", "liquidation_threshold"),
        ("", "empty"),
        ("account,collateral_eth,debt_usd,asset\na,10,1000,DOGE\n", "asset"),
        (HEADER + "a,10,1000,0.83,0.05\na,5,100,0.83,0.05\n", "a"),
    ],
    ids=["negative", "lt-above-1", "empty-file", "unknown-asset", "duplicate"],
)
def test_bad_books_exit_2(runner: CliRunner, tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["cascade", "--book", str(path), "--price-usd", "2000",
                                 "--shock-pct", "10", "--json"])
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert match.lower() in lines[0].lower()


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--shock-pct", "100"], "shock_pct"),
        (["--shock-pct", "-5"], "shock_pct"),
        (["--engine", "fastest"], "engine"),
        (["--adv-eth", "0"], "adv_eth"),
        (["--impact-y", "-1"], "impact_y"),
        (["--price-usd", "0"], "price_usd"),
        (["--book", "/nonexistent/book.csv"], "book"),
    ],
    ids=["shock-100", "shock-negative", "engine", "adv", "y", "price", "missing-file"],
)
def test_bad_flags_exit_2(runner: CliRunner, argv: list[str], match: str) -> None:
    base = {"--price-usd": "2000", "--shock-pct": "10"}
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        base[flag] = value
    args = ["cascade", *[x for kv in base.items() for x in kv], "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    assert match in result.stderr


def test_stress_json(runner: CliRunner) -> None:
    argv = ["stress", "--paths", "40", "--steps", "48", "--seed", "3", "--json"]
    out = _json(runner, argv)
    for key in ("p_large_liquidated", "liquidations_at_risk_eth", "bad_debt_var_usd",
                "amplification_median", "amplification_p95"):
        est = out[key]
        assert isinstance(est, dict) and set(est) == {"value", "low", "high"}
    assert out["n_paths"] == 40 and out["engine"] == "ladder"
    assert out["large_account"]["liquidation_price_usd"] == pytest.approx(  # type: ignore[index]
        526e6 / (396_000 * 0.83))
    again = runner.invoke(app, argv)
    assert json.loads(again.stdout) == out
    exact = _json(runner, [*argv, "--engine", "exact"])
    assert exact["p_large_liquidated"] == out["p_large_liquidated"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["--paths", "0"], "n_paths"), (["--whale-lt", "1.5"], "liquidation_threshold"),
     (["--liquidator-immediate", "2"], "immediate_share"), (["--engine", "x"], "engine")],
    ids=["paths", "whale-lt", "phi", "engine"],
)
def test_stress_bad_flags_exit_2(runner: CliRunner, argv: list[str], match: str) -> None:
    result = runner.invoke(app, ["stress", "--steps", "4", *argv, "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert match in result.stderr


def test_book_type_is_used(tmp_path: Path) -> None:
    # a sanity check of the CSV path used above: the reader gives the hand-worked account
    from delever.book import read_book_csv

    path = tmp_path / "b.csv"
    path.write_text(HEADER + "a,100,150000,0.83,0.05\n")
    book = read_book_csv(path)
    assert isinstance(book, BorrowerBook) and book.total_debt_usd == 150_000.0
