"""Amplification of a sale by other borrowers' liquidations and by followers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.book import BorrowerBook
from delever.book.actors import Followers, ImpactParams, LargeAccount
from delever.cli.main import app
from delever.sim.amplification import sale_amplification

IMPACT = ImpactParams(1.0, 0.04, 500_000.0)
PATH = np.linspace(2000.0, 1900.0, 25)
# Enough debt that the proceeds never repay it all (the seller stops selling when debt-free).
SELLER = LargeAccount(100_000.0, 100_000_000.0, sell_eth_per_step=1_000.0)


def test_sale_alone_is_the_square_root_law() -> None:
    safe = BorrowerBook.from_arrays([10.0, 20.0], [0.0, 0.0], 0.83, 0.05)
    report = sale_amplification(safe, PATH, SELLER, impact=IMPACT, followers=Followers())
    alone = report.cases[0]
    # Permanent impact on all 24,000 ETH sold: p = E (1 - Y sigma sqrt(Q / V)).
    assert alone.final_price_usd == pytest.approx(1900.0 * (1 - 0.04 * math.sqrt(24_000 / 5e5)))
    # Nobody to liquidate: no amplification.
    assert report.amplification_book == pytest.approx(1.0)


def test_liquidations_and_followers_amplify_the_drop() -> None:
    # Borrowers whose liquidation prices sit just under the path: the sale pushes them over.
    collateral = np.full(50, 100.0)
    liq_price = np.linspace(1800.0, 1890.0, 50)
    debt = liq_price * collateral * 0.83
    book = BorrowerBook.from_arrays(collateral, debt, 0.83, 0.05)
    report = sale_amplification(book, PATH, SELLER, impact=IMPACT, followers=Followers(0.5, 1))
    assert report.cases[1].accounts_liquidated > 0
    assert report.amplification_book > 1.0
    assert report.amplification_book_and_followers > report.amplification_book
    # Followers sell half of the seller's sales, one step late: 0.5 x 23 steps x 1,000 ETH.
    followers_sold = report.cases[2].other_sold_eth - report.cases[1].other_sold_eth
    assert followers_sold == pytest.approx(0.5 * 23 * 1_000.0)


def test_run_reports_the_cascade_section() -> None:
    result = CliRunner().invoke(app, ["run", "--paths", "20", "--no-report", "--json"])
    assert result.exit_code == 0, result.stderr
    cascade = json.loads(result.stdout)["cascade"]
    assert cascade["sale_eth"] == pytest.approx(255_500.0)
    assert cascade["amplification_book"] >= 1.0
    assert cascade["amplification_book_and_followers"] >= cascade["amplification_book"]
