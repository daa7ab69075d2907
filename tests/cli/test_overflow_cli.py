"""Huge but finite inputs are refused in one line, before numpy can warn about overflow."""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from delever.cli.main import app


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["cascade", "--price-usd", "1.79e308", "--shock-pct", "10"], id="cascade"),
        pytest.param(["stress", "--price-usd", "1.79e308", "--paths", "2", "--steps", "2"],
                     id="stress"),
    ],
)
def test_huge_price_is_one_line_and_no_runtime_warning(argv: list[str]) -> None:
    with warnings.catch_warnings():
        # a numpy overflow would raise here (an internal error, exit 1) instead of warning
        warnings.simplefilter("error", RuntimeWarning)
        result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: price_usd=1.79e+308 must be at most")


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        pytest.param(["impact", "--qty-eth", "1", "--model", "ac", "--eta", "1e308"],
                     "discount_pct=inf", id="impact-ac-eta"),
        pytest.param(["stress", "--paths", "2", "--steps", "2", "--whale-debt-usd", "1e308"],
                     "whale_debt_usd=1e+308", id="stress-whale-debt"),
        pytest.param(["paths", "--paths", "2", "--steps", "3", "--s0", "1e308"],
                     "s0_usd=1e+308", id="paths-s0"),
    ],
)
def test_overflowing_inputs_are_one_line_without_warnings(argv: list[str], field: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), lines
