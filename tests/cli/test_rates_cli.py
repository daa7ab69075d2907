"""``delever rates``: JSON equals the library, table prints, bad input exits 2 on one line."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.protocol import reserve_history as rh

runner = CliRunner()


def test_json_matches_library() -> None:
    result = runner.invoke(app, ["rates", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    lib = rh.weth_rate_after_withdrawal(255_500, date(2026, 2, 7))
    assert payload["recorded_borrow_rate"] == 0.054322
    assert payload["modelled_borrow_rate"] == pytest.approx(lib.modelled_borrow_rate, rel=1e-15)
    assert payload["utilization_before"] == pytest.approx(lib.utilization_before, rel=1e-15)
    assert payload["utilization_after"] == pytest.approx(lib.utilization_after, rel=1e-15)
    assert payload["total_supplied_eth"] == rh.WETH_TOTAL_SUPPLIED_ESTIMATE
    assert {"state", "curve", "withdrawal", "recorded"} <= set(payload["sources"])
    assert len(payload["table"]) == 8
    low, high = payload["modelled_borrow_rate_range"]
    assert low < payload["modelled_borrow_rate"] < high


def test_options_and_table() -> None:
    result = runner.invoke(app, ["rates", "--day", "2026-02-08", "--withdrawn-eth", "100000",
                                 "--total-supplied-eth", "2800000", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["total_supplied_eth"] == 2_800_000.0
    assert payload["withdrawn_eth"] == 100_000.0
    assert payload["recorded_borrow_rate"] == 0.024823
    text = runner.invoke(app, ["rates"])
    assert text.exit_code == 0 and "recorded" in text.stdout and "5.43%" in text.stdout


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--withdrawn-eth", "-1"], "withdrawn_eth"),
        (["--day", "2026-02-30"], "day="),
        (["--day", "2024-01-01"], "rate curve"),
        (["--total-supplied-eth", "100000"], "available liquidity"),
        (["--total-supplied-eth", "0"], "total_supplied"),
    ],
    ids=["negative", "bad-date", "no-curve", "too-small-supply", "zero-supply"],
)
def test_bad_input_exits_2(args: list[str], match: str) -> None:
    result = runner.invoke(app, ["rates", *args])
    assert result.exit_code == 2
    assert match in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
