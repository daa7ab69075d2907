"""A scenario's ``[book] file`` (a book read from the chain) reaches every engine that uses the
other borrowers: the run's book sales and the replay's amplification, not only cascade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from delever.book import build_ladder
from delever.book.loaders import read_book_parquet, write_book_parquet
from delever.errors import InvalidArgument
from delever.scenario import load_scenario
from delever.scenario.loader import builtin_scenario_text
from delever.scenario.market import book_risk, scenario_book_sales
from delever.sim.unwind import BookSales


def _row(i: int, collateral_eth: float, debt_usd: float) -> dict[str, Any]:
    return {"account": f"0x{i:040x}", "collateral_eth": collateral_eth, "debt_usd": debt_usd,
            "liquidation_threshold": 0.83, "liquidation_bonus": 0.05, "emode": False,
            "asset": "WETH", "health_factor": 1.2, "eth_collateral_usd": 0.0,
            "eth_debt_usd": 0.0, "other_collateral_usd": 0.0, "total_debt_usd": debt_usd,
            "emode_category": 0}


def _scenario(tmp_path: Path, book: str) -> Path:
    text = builtin_scenario_text("trend-2026")
    start = text.index("[book]")
    end = text.index("[reported]")
    path = tmp_path / "s.toml"
    path.write_text(text[:start] + book + "\n" + text[end:])
    return path


def test_book_file_reaches_the_run_and_the_replay(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = [_row(i, float(c), float(c) * 1600.0 * 0.83 * float(h))
            for i, (c, h) in enumerate(zip(rng.uniform(10, 5000, 300),
                                           rng.uniform(0.5, 0.95, 300), strict=True))]
    write_book_parquet(tmp_path / "book.parquet", rows,
                       {"market": "ethereum-core", "chain_id": 1, "block": 1,
                        "eth_price_usd": 2000.0, "source": "test rows"})
    scenario = load_scenario(_scenario(tmp_path, '[book]\nfile = "book.parquet"\n'))
    book = read_book_parquet(tmp_path / "book.parquet")
    sales = scenario_book_sales(scenario)
    risk = book_risk(scenario)
    expected = BookSales.from_ladder(build_ladder(book, rules=scenario.protocol.kernel_rules(),
                                                  protocol_fee=risk.protocol_fee))
    assert np.array_equal(sales.trigger_usd, expected.trigger_usd)
    assert np.array_equal(sales.value_usd, expected.value_usd)
    # the file's 300 borrowers, not a synthetic draw
    drawn = load_scenario(_scenario(
        tmp_path, "[book]\nn_accounts = 2000\ntotal_collateral_eth = 1000000\n"))
    assert len(sales.trigger_usd) != len(scenario_book_sales(drawn).trigger_usd)
    assert len(scenario.borrower_book(2000.0, risk)) == 300  # type: ignore[arg-type]


def test_a_book_needs_a_file_or_a_total(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"total_collateral_eth .* or file"):
        load_scenario(_scenario(tmp_path, "[book]\nn_accounts = 10\n"))
