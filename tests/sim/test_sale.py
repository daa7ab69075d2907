"""The liquidity discount of a sale in slices, against the square-root law by hand."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.sim.sale import sale_discount

SIGMA, ADV, Y = 0.04, 500_000.0, 1.0


def _proceeds_fraction(q: float) -> float:
    # Integral of the marginal price 1 - Y sigma sqrt(x / V) from 0 to q (mid = 1).
    return q - 2.0 / 3.0 * Y * SIGMA * q**1.5 / math.sqrt(ADV)


def test_two_slices_match_the_hand_integral() -> None:
    q1, q2 = 100_000.0, 150_000.0
    market = [2000.0, 1900.0]
    report = sale_discount(
        [q1, q2],
        [2100.0, 2050.0],
        sigma_daily=SIGMA,
        adv_eth=ADV,
        impact_y=Y,
        impact_y_range=(0.5, 1.5),
        market_prices_usd=market,
    )
    total = q1 + q2
    # Whole metaorder: average fill 1 - 2/3 Y sigma sqrt(Q / V).
    assert report.discount_pct == pytest.approx(100 * 2 / 3 * Y * SIGMA * math.sqrt(total / ADV))
    assert report.peak_impact_pct == pytest.approx(100 * Y * SIGMA * math.sqrt(total / ADV))
    # Slice 2 fills at (P(Q) - P(q1)) / q2 against a mid already at 1 - Y sigma sqrt(q1 / V).
    ratio1 = _proceeds_fraction(q1) / q1
    ratio2 = ((_proceeds_fraction(total) - _proceeds_fraction(q1)) / q2) / (
        1 - Y * SIGMA * math.sqrt(q1 / ADV)
    )
    expected = (q1 * market[0] * ratio1 + q2 * market[1] * ratio2) / total
    assert report.modelled_avg_price_usd == pytest.approx(expected, rel=1e-12)
    assert report.market_avg_price_usd == pytest.approx((q1 * 2000 + q2 * 1900) / total)
    assert report.reported_avg_price_usd == pytest.approx((q1 * 2100 + q2 * 2050) / total)
    low, high = report.discount_pct_range
    assert low == pytest.approx(report.discount_pct / 2)  # linear in Y
    assert high == pytest.approx(report.discount_pct * 1.5)


def test_without_market_prices_the_modelled_price_is_unknown() -> None:
    report = sale_discount(
        [10.0], [2000.0], sigma_daily=SIGMA, adv_eth=ADV, impact_y=Y, impact_y_range=(0.5, 1.5)
    )
    assert math.isnan(report.modelled_avg_price_usd)


def test_a_sale_beyond_the_law_s_capacity_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="exceeds what the square-root law can fill"):
        sale_discount(
            [1e12], [2000.0], sigma_daily=SIGMA, adv_eth=ADV, impact_y=Y, impact_y_range=(0.5, 1.5)
        )


def test_run_reports_the_market_section_beside_the_reported_average() -> None:
    result = CliRunner().invoke(app, ["run", "--json"])
    assert result.exit_code == 0, result.stderr
    market = json.loads(result.stdout)["market"]
    assert market["reported_avg_price_usd"] == pytest.approx(2168.0)
    assert market["qty_eth"] == pytest.approx(255_500.0)
    # Calibrated before 2026-01-01: sigma about 3.9%/day, ADV about 501k ETH (estimates).
    expected = (
        100
        * 2
        / 3
        * market["impact_y"]
        * market["sigma_daily"]
        * math.sqrt(255_500 / market["adv_eth"])
    )
    assert market["liquidity_discount_pct"] == pytest.approx(expected)
    assert 0 < market["liquidity_discount_pct"] < 5
    assert market["modelled_avg_price_usd"] < market["market_avg_price_usd"]
