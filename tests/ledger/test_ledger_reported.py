"""The reported February 2026 figures, reproduced by the ledger and by pnl_from_summary.

Source: press figures, Odaily newsflash 467627 citing on-chain analyst Yu Jin. Every
constant below is an ESTIMATE (press rounding of on-chain analysis).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from delever.ledger import Ledger, Side, Trade, pnl_from_summary

# Inputs as reported (estimates; Odaily 467627 citing Yu Jin).
SOLD_ETH_ESTIMATE_ODAILY_467627 = 255_500.0
AVG_SALE_PRICE_USD_ESTIMATE_ODAILY_467627 = 2_168.0
HELD_ETH_ESTIMATE_ODAILY_467627 = 396_000.0
COST_BASIS_USD_PER_ETH_ESTIMATE_ODAILY_467627 = 3_180.0
HOLDING_VALUE_USD_ESTIMATE_ODAILY_467627 = 754e6
# Outputs as reported (estimates, rounded to $1M by the press).
REALIZED_PNL_USD_ESTIMATE_ODAILY_467627 = -258e6
UNREALIZED_PNL_USD_ESTIMATE_ODAILY_467627 = -505e6
TOTAL_PNL_USD_ESTIMATE_ODAILY_467627 = -763e6

# Implied mark: 754,000,000 / 396,000 = 1,904.04... USD per ETH.
MARK_USD = HOLDING_VALUE_USD_ESTIMATE_ODAILY_467627 / HELD_ETH_ESTIMATE_ODAILY_467627

# Exact arithmetic on the reported inputs:
#   realized   = 255,500 x (2,168 - 3,180) = 255,500 x -1,012 = -258,566,000
#   unrealized = 754,000,000 - 396,000 x 3,180 = 754,000,000 - 1,259,280,000 = -505,280,000
#   total      = -763,846,000
REALIZED_EXACT_USD = -258_566_000.0
UNREALIZED_EXACT_USD = -505_280_000.0
TOTAL_EXACT_USD = -763_846_000.0


def test_summary_reproduces_reported_figures() -> None:
    pnl = pnl_from_summary(
        SOLD_ETH_ESTIMATE_ODAILY_467627,
        AVG_SALE_PRICE_USD_ESTIMATE_ODAILY_467627,
        HELD_ETH_ESTIMATE_ODAILY_467627,
        COST_BASIS_USD_PER_ETH_ESTIMATE_ODAILY_467627,
        MARK_USD,
    )
    assert pnl.realized_usd == pytest.approx(REALIZED_EXACT_USD, rel=1e-12)
    assert pnl.unrealized_usd == pytest.approx(UNREALIZED_EXACT_USD, rel=1e-12)
    assert pnl.total_usd == pytest.approx(TOTAL_EXACT_USD, rel=1e-12)
    # Against the press's rounded figures: within their $1M rounding.
    assert pnl.realized_usd == pytest.approx(REALIZED_PNL_USD_ESTIMATE_ODAILY_467627, abs=1e6)
    assert pnl.unrealized_usd == pytest.approx(UNREALIZED_PNL_USD_ESTIMATE_ODAILY_467627, abs=1e6)
    assert pnl.total_usd == pytest.approx(TOTAL_PNL_USD_ESTIMATE_ODAILY_467627, abs=1e6)
    assert pnl.position_eth == HELD_ETH_ESTIMATE_ODAILY_467627
    assert pnl.cost_basis_usd == pytest.approx(396_000 * 3_180.0)
    assert pnl.average_cost_usd == 3_180.0
    assert pnl.market_value_usd == pytest.approx(HOLDING_VALUE_USD_ESTIMATE_ODAILY_467627)


def _feb_2026_trades() -> list[Trade]:
    # One aggregate buy of sold + held = 651,500 ETH at the reported cost, then the 255,500
    # ETH of sales split by day (5 x 42,583 + 42,585), all at the reported average.
    buy = Trade(
        datetime(2026, 1, 31, tzinfo=UTC), Side.BUY,
        SOLD_ETH_ESTIMATE_ODAILY_467627 + HELD_ETH_ESTIMATE_ODAILY_467627,
        COST_BASIS_USD_PER_ETH_ESTIMATE_ODAILY_467627,
    )
    sizes = [42_583.0] * 5 + [42_585.0]
    assert sum(sizes) == SOLD_ETH_ESTIMATE_ODAILY_467627
    sells = [
        Trade(datetime(2026, 2, day, 12, tzinfo=UTC), Side.SELL, size,
              AVG_SALE_PRICE_USD_ESTIMATE_ODAILY_467627)
        for day, size in zip(range(1, 7), sizes, strict=True)
    ]
    return [buy, *sells]


@pytest.mark.parametrize("method", ["fifo", "average"])
def test_ledger_reproduces_reported_figures(method: str) -> None:
    ledger = Ledger.from_trades(_feb_2026_trades(), method=method)  # type: ignore[arg-type]
    pnl = ledger.pnl(MARK_USD)
    assert ledger.position_eth == HELD_ETH_ESTIMATE_ODAILY_467627
    assert ledger.average_cost_usd == pytest.approx(3_180.0, rel=1e-12)
    assert pnl.realized_usd == pytest.approx(REALIZED_EXACT_USD, rel=1e-12)
    assert pnl.unrealized_usd == pytest.approx(UNREALIZED_EXACT_USD, rel=1e-12)
    assert pnl.total_usd == pnl.realized_usd + pnl.unrealized_usd
    assert pnl.total_usd == pytest.approx(TOTAL_PNL_USD_ESTIMATE_ODAILY_467627, abs=1e6)
    # And it agrees with the totals-only route.
    summary = pnl_from_summary(255_500.0, 2_168.0, 396_000.0, 3_180.0, MARK_USD)
    assert pnl.realized_usd == pytest.approx(summary.realized_usd, rel=1e-12)
    assert pnl.unrealized_usd == pytest.approx(summary.unrealized_usd, rel=1e-12)


def test_no_recovery_on_the_way_down() -> None:
    # Daily sale prices all at $2,168 never reach the $3,180 cost; a later $3,200 does.
    from delever.ledger import time_to_recover

    times = [t.time for t in _feb_2026_trades()[1:]]
    prices = [2_168.0] * len(times)
    assert time_to_recover(prices, times, 3_180.0) is None
    prices[-1] = 3_200.0
    assert time_to_recover(prices, times, 3_180.0) == times[-1]
