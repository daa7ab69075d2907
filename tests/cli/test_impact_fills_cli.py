"""``delever impact``: partial fills are reported and warned about; options a model does not
read are warned about; sizes that would overflow are refused in one line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.cli.market_cmds import illustrative_book


def _invoke(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    result = CliRunner().invoke(app, ["impact", *args, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout), result.stderr.strip().splitlines()


def test_book_sweep_beyond_the_book_reports_the_fill_and_warns() -> None:
    payload, stderr = _invoke(["--model", "book", "--qty-eth", "255500"])
    depth = illustrative_book().bid_depth_eth  # 8,600 ETH of bids in the synthetic book
    assert payload["filled_eth"] == pytest.approx(depth)
    assert payload["unfilled_eth"] == pytest.approx(255_500 - depth)
    assert payload["filled_pct"] == pytest.approx(100 * depth / 255_500)
    # the discount is over the ETH filled: mark minus proceeds / filled, in % of the mark
    avg_fill = payload["proceeds_usd"] / payload["filled_eth"]
    assert payload["avg_price_usd"] == pytest.approx(avg_fill)
    assert payload["discount_pct"] == pytest.approx(
        100 * (payload["price_usd"] - avg_fill) / payload["price_usd"]
    )
    assert payload["discount_usd"] == pytest.approx(
        payload["price_usd"] * payload["filled_eth"] - payload["proceeds_usd"]
    )
    # slices that sold nothing gave nothing up: discount 0 (a number, never null)
    rows = payload["schedule"]
    assert [row["filled_eth"] == 0 for row in rows] == [False] + [True] * 4
    assert rows[0]["discount_pct"] > 0
    assert [row["discount_pct"] for row in rows[1:]] == [0.0] * 4
    assert len(stderr) == 1 and stderr[0].startswith("warning: only 8,600.00 of 255,500.00")
    assert payload["warnings"] and "unfilled" in payload["warnings"][0]


def test_univ3_pool_exhausted_warns() -> None:
    payload, stderr = _invoke(["--model", "univ3", "--qty-eth", "255500"])
    assert 0 < payload["filled_pct"] < 100
    assert any("unfilled" in line for line in stderr)


def test_full_fill_has_no_warning() -> None:
    payload, stderr = _invoke(["--model", "book", "--qty-eth", "100"])
    assert payload["filled_pct"] == pytest.approx(100.0)
    assert payload["unfilled_eth"] == pytest.approx(0.0)
    assert payload["warnings"] == [] and stderr == []


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        pytest.param(["--model", "sqrt", "--eta", "3"], "--eta is not used by --model sqrt",
                     id="ac-option-on-sqrt"),
        pytest.param(["--model", "book", "--half-life-days", "1"],
                     "--half-life-days is not used by --model book", id="ow-option-on-book"),
        pytest.param(["--model", "univ3", "--book-file", "x.csv"],
                     "--book-file is not used by --model univ3", id="book-file-on-univ3"),
        pytest.param(["--model", "book", "--sigma-daily", "0.05"],
                     "--sigma-daily is not used by --model book", id="sqrt-option-on-book"),
        pytest.param(["--model", "ac", "--sigma", "40", "--eta", "1e-4", "--gamma", "1e-5",
                      "--adv-eth", "5"], "--adv-eth is not used by --model ac",
                     id="adv-when-ac-fully-given"),
    ],
)
def test_options_the_model_does_not_read_are_reported(args: list[str], warning: str) -> None:
    payload, stderr = _invoke([*args, "--qty-eth", "100"])
    assert any(line.startswith(f"warning: {warning}") for line in stderr), stderr
    assert any(w.startswith(warning) for w in payload["warnings"])


def test_options_the_model_reads_give_no_warning() -> None:
    payload, stderr = _invoke(["--model", "ac", "--qty-eth", "100", "--eta", "1e-4",
                               "--sigma-daily", "0.05"])
    assert payload["warnings"] == [] and stderr == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--model", "ac", "--qty-eth", "1e308"], id="qty"),
        pytest.param(["--model", "ac", "--qty-eth", "1", "--price-usd", "1e308"], id="price"),
    ],
)
def test_huge_sizes_are_refused_in_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["impact", *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "at most" in lines[0]
