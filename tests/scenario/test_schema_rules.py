"""Scenario-file nonsense is refused before any work starts, with one line naming the field.

Each bad input goes through ``delever validate FILE`` and ``delever run FILE``: exit 2, one
line on stderr that names the field, no traceback. The bounds' reasons live in schema.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.market.loaders import load_binance_daily, load_binance_daily_recent
from delever.scenario import load_scenario
from delever.scenario.schema import SHIPPED_DATA_LAST_DAY

MINIMAL = """
name = "mini"
[mark]
price_usd = 2000
[position]
[[position.trades]]
time = 2026-01-01T00:00:00Z
side = "buy"
quantity_eth = 100
price_usd = 3000
[[accounts]]
name = "a"
collateral = { WETH = 100 }
debt = { USDC = 100000 }
"""

SELL = """[[position.trades]]
time = 2026-01-02T00:00:00Z
side = "sell"
quantity_eth = 10
price_usd = 2500
[[accounts]]"""

MARKET = """
[market]
sigma_daily = 0.04
adv_eth = 500000
impact_y = 1.0
impact_y_range = [0.5, 1.5]
cutoff = 2026-01-01
"""

BOOK = """
[book]
total_collateral_eth = 1000000
followers_kappa = 0.5
"""

SUMMARY = """
name = "mini"
[mark]
price_usd = 2000
[position.summary]
cost_basis_usd_per_eth = 3000
sold_eth = 10
avg_sale_price_usd = 2500
held_eth = 90
[[accounts]]
name = "a"
collateral = { WETH = 90 }
debt = { USDC = 100000 }
"""


def _market(old: str, new: str) -> str:
    assert old in MARKET
    return MINIMAL + MARKET.replace(old, new)


def _book(old: str, new: str) -> str:
    assert old in BOOK
    return MINIMAL + BOOK.replace(old, new)


def _mini(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


# (id, scenario text, fragment the one line must hold: the field, then the rule)
CASES = [
    ("y-range-nan", _market("[0.5, 1.5]", "[nan, -1.0]"), "market.impact_y_range"),
    ("y-range-reversed", _market("[0.5, 1.5]", "[1.5, 0.5]"), "market.impact_y_range"),
    ("y-range-inf", _market("[0.5, 1.5]", "[0.5, inf]"), "market.impact_y_range"),
    ("y-range-zero-low", _market("[0.5, 1.5]", "[0.0, 1.5]"), "market.impact_y_range"),
    ("y-outside-range", _market("impact_y = 1.0", "impact_y = 2.0"), "impact_y_range"),
    ("y-range-boolean", _market("[0.5, 1.5]", "[true, 1.5]"), "market.impact_y_range"),
    ("y-too-large", _market("impact_y = 1.0", "impact_y = 50"), "market.impact_y"),
    ("sigma-percent", _market("sigma_daily = 0.04", "sigma_daily = 3.9"), "looks like a percent"),
    ("adv-above-all-eth", _market("adv_eth = 500000", "adv_eth = 1e9"), "market.adv_eth"),
    ("cutoff-after-data", _market("2026-01-01", "2030-01-01"), "market.cutoff"),
    ("cutoff-before-genesis", _market("2026-01-01", "2014-01-01"), "market.cutoff"),
    ("cutoff-number", _market("2026-01-01", "20260101"), "market.cutoff"),
    ("price-boolean", _mini("price_usd = 3000", "price_usd = { value = true }"),
     "position.trades.0.price_usd"),
    ("price-quoted", _mini("price_usd = 3000", "price_usd = { value = '3000' }"),
     "position.trades.0.price_usd"),
    ("mark-boolean", _mini("price_usd = 2000", "price_usd = true"), "mark.price_usd"),
    ("price-1e30", _mini("price_usd = 3000", "price_usd = 1e30"), "position.trades.0.price_usd"),
    ("mark-1e30", _mini("price_usd = 2000", "price_usd = 1e30"), "mark.price_usd"),
    ("time-2999", _mini("2026-01-01T00:00:00Z", "2999-01-01T00:00:00Z"),
     "position.trades.0.time"),
    ("time-negative", _mini("2026-01-01T00:00:00Z", "-5"), "position.trades.0.time"),
    ("time-before-1970", _mini("2026-01-01T00:00:00Z", "1969-12-31T00:00:00Z"),
     "position.trades.0.time"),
    ("time-before-genesis", _mini("2026-01-01T00:00:00Z", "2015-07-29T23:59:59Z"),
     "genesis"),
    ("time-naive", _mini("2026-01-01T00:00:00Z", "2026-01-01T00:00:00"), "add Z or +00:00"),
    ("times-naive-and-aware", _mini("[[accounts]]", SELL.replace(
        "2026-01-02T00:00:00Z", "2026-01-02T00:00:00")).replace("WETH = 100", "WETH = 90"),
     "position.trades.1.time"),
    ("mark-time-naive", _mini("price_usd = 2000", "price_usd = 2000\ntime = 2026-01-01T00:00:00"),
     "mark.time"),
    ("mark-time-2999", _mini("price_usd = 2000", "price_usd = 2000\ntime = 2999-01-01"),
     "mark.time"),
    ("quantity-above-all-eth", _mini("quantity_eth = 100", "quantity_eth = 1e9"),
     "position.trades.0.quantity_eth"),
    ("fee-above-value", _mini("price_usd = 3000", "price_usd = 3000\nfee_usd = 1e6"), "fee_usd"),
    ("book-1e20-eth", _book("1000000", "1e20"), "book.total_collateral_eth"),
    ("kappa-1000", _book("0.5", "1000"), "book.followers_kappa"),
    ("collateral-above-all-eth", _mini("WETH = 100", "WETH = 1e9"), "accounts.0.collateral.WETH"),
    ("debt-1e15", _mini("USDC = 100000", "USDC = 1e15"), "accounts.0.debt.USDC"),
    ("bonus-above-1", MINIMAL + "[reserve_overrides.WETH]\nliquidation_bonus = 1.05\n",
     "liquidation_bonus"),
    ("position-far-above-accounts", _mini("quantity_eth = 100", "quantity_eth = 10000"),
     "position.trades"),
    ("accounts-far-above-position", _mini("WETH = 100", "WETH = 1000"), "position.trades"),
    ("summary-far-from-accounts", SUMMARY.replace("held_eth = 90", "held_eth = 9000"),
     "position.summary.held_eth"),
]


def _check_one_line_exit_2(exit_code: int, stderr: str, stdout: str, fragment: str) -> None:
    assert exit_code == 2, (exit_code, stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in stderr + stdout
    assert stdout.strip() == ""


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_nonsense_is_refused_with_one_line(
    command: str, text: str, fragment: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    argv = [command, str(path), "--json"]
    if command == "run":
        argv += ["--paths", "2", "--no-report"]
    result = CliRunner().invoke(app, argv)
    _check_one_line_exit_2(result.exit_code, result.stderr, result.stdout, fragment)


# Each good case sits at or just inside a bound that a bad case above crosses.
GOOD = [
    ("minimal", MINIMAL),
    ("with-market", MINIMAL + MARKET),
    ("with-book", MINIMAL + BOOK),
    ("summary", SUMMARY),
    ("offset-time", _mini("2026-01-01T00:00:00Z", "2026-01-01T02:00:00+02:00")),
    ("genesis-day", _mini("2026-01-01T00:00:00Z", "2015-07-30T00:00:00Z")),
    ("mark-date", _mini("price_usd = 2000", "price_usd = 2000\ntime = 2026-01-01")),
    ("kappa-10", _book("0.5", "10")),
    ("book-all-eth", _book("1000000", "1.2e8")),
    ("sigma-1", _market("sigma_daily = 0.04", "sigma_daily = 1.0")),
    ("y-range-point", _market("[0.5, 1.5]", "[1.0, 1.0]")),
    ("y-range-ints", _market("[0.5, 1.5]", "[1, 2]")),
    ("cutoff-day-after-data", _market("2026-01-01", "2026-05-02")),
    ("position-within-10pct", _mini("WETH = 100", "WETH = 109")),
    ("price-1e7", _mini("price_usd = 3000", "price_usd = 1e7")),
]


@pytest.mark.parametrize("text", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_bounds_themselves_are_accepted(text: str, tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0, result.stderr


def test_shipped_data_last_day_is_the_data_s() -> None:
    # The cut-off bound is a constant so that validation reads no data; pin it to the data.
    last = max(load_binance_daily().index.max(), load_binance_daily_recent().index.max())
    assert last.date() == SHIPPED_DATA_LAST_DAY


@pytest.mark.parametrize("name", ["trend-2026", "trend-2025-cycle"])
def test_builtin_scenarios_pass_the_new_rules(name: str) -> None:
    # trend-2026: 396,000 ETH held = the three accounts' 396,000 ETH of WETH collateral.
    scenario = load_scenario(name)
    assert scenario.spec.name == name
    assert date(2015, 7, 30) <= scenario.spec.position.trades[0].time.date()
