"""Hand-worked FIFO and average-cost examples (the arithmetic is in the comments)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from delever.ledger import Ledger, Lot, PnL, Side, Trade, time_to_recover

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _t(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


# Buy 10 @ 100 paying a $5 fee, buy 10 @ 120, sell 15 @ 130 paying a $10 fee.
TRADES = (
    Trade(_t(0), Side.BUY, 10.0, 100.0, fee_usd=5.0, note="first"),
    Trade(_t(1), Side.BUY, 10.0, 120.0),
    Trade(_t(2), Side.SELL, 15.0, 130.0, fee_usd=10.0),
)


def test_fifo_hand_example() -> None:
    ledger = Ledger.from_trades(TRADES, method="fifo")
    # Lots: 10 @ 100 + $5 fee = $1,005; 10 @ 120 = $1,200.
    # The sale of 15 takes lot 1 whole ($1,005) and 5 of lot 2 (5 x 120 = $600): $1,605.
    # Proceeds 15 x 130 - 10 = $1,940. Realized = 1,940 - 1,605 = $335.
    assert ledger.realized_pnl_usd == pytest.approx(335.0, abs=1e-9)
    assert ledger.position_eth == pytest.approx(5.0, abs=1e-12)
    # Left: 5 of lot 2 at $120 -> basis $600, average $120.
    assert ledger.cost_basis_usd == pytest.approx(600.0, abs=1e-9)
    assert ledger.average_cost_usd == pytest.approx(120.0, abs=1e-12)
    assert ledger.lots == (Lot(_t(1), 5.0, 120.0, 0.0),)
    assert ledger.fees_usd == pytest.approx(15.0)
    # Mark $110: unrealized = 5 x 110 - 600 = -$50; total = 335 - 50 = $285.
    pnl = ledger.pnl(110.0)
    assert pnl.unrealized_usd == pytest.approx(-50.0, abs=1e-9)
    assert pnl.total_usd == pytest.approx(285.0, abs=1e-9)
    assert pnl.total_usd == pnl.realized_usd + pnl.unrealized_usd
    # Cash: -1,005 - 1,200 + 1,940 = -$265; plus 5 x 110 = 550 -> $285 again.
    assert ledger.net_cash_flow_usd == pytest.approx(-265.0, abs=1e-9)


def test_average_cost_hand_example() -> None:
    ledger = Ledger.from_trades(TRADES, method="average")
    # Basis 1,005 + 1,200 = $2,205 over 20 ETH -> $110.25 average.
    # The sale of 15 removes 15 x 110.25 = $1,653.75. Realized = 1,940 - 1,653.75 = $286.25.
    assert ledger.realized_pnl_usd == pytest.approx(286.25, abs=1e-9)
    # Left: 5 ETH, basis 2,205 - 1,653.75 = $551.25, still $110.25 each.
    assert ledger.position_eth == pytest.approx(5.0, abs=1e-12)
    assert ledger.cost_basis_usd == pytest.approx(551.25, abs=1e-9)
    assert ledger.average_cost_usd == pytest.approx(110.25, abs=1e-12)
    # Mark $110: unrealized = 550 - 551.25 = -$1.25; total = 286.25 - 1.25 = $285
    # (the same total as FIFO: the method only moves P&L between realized and unrealized).
    pnl = ledger.pnl(110.0)
    assert pnl.unrealized_usd == pytest.approx(-1.25, abs=1e-9)
    assert pnl.total_usd == pytest.approx(285.0, abs=1e-9)
    # The lots stay FIFO whatever the method.
    assert ledger.lots == (Lot(_t(1), 5.0, 120.0, 0.0),)


def test_partial_lot_keeps_its_fee_pro_rata() -> None:
    # Buy 10 @ 100 with a $10 fee (cost $1,010), sell 4 @ 90.
    ledger = Ledger.from_trades(
        [Trade(_t(0), Side.BUY, 10.0, 100.0, fee_usd=10.0), Trade(_t(1), Side.SELL, 4.0, 90.0)]
    )
    # Cost out: 4/10 x 1,010 = $404. Realized = 360 - 404 = -$44.
    assert ledger.realized_pnl_usd == pytest.approx(-44.0, abs=1e-9)
    # Left: 6 ETH @ 100 with 6/10 of the fee = $6 -> cost $606, $101 per ETH.
    (lot,) = ledger.lots
    assert lot.quantity_eth == pytest.approx(6.0)
    assert lot.fee_usd == pytest.approx(6.0)
    assert lot.cost_usd == pytest.approx(606.0)
    assert lot.cost_per_eth_usd == pytest.approx(101.0)
    assert ledger.cost_basis_usd == pytest.approx(606.0)


def test_fifo_and_average_differ_on_later_sales() -> None:
    # Buy 1 @ 100, buy 1 @ 300, sell 1 @ 200.
    trades = [
        Trade(_t(0), Side.BUY, 1.0, 100.0),
        Trade(_t(1), Side.BUY, 1.0, 300.0),
        Trade(_t(2), Side.SELL, 1.0, 200.0),
    ]
    # FIFO sells the $100 ETH: +$100 realized, $300 left. Average: cost $200, 0 realized.
    fifo = Ledger.from_trades(trades, "fifo")
    average = Ledger.from_trades(trades, "average")
    assert fifo.realized_pnl_usd == pytest.approx(100.0)
    assert fifo.cost_basis_usd == pytest.approx(300.0)
    assert average.realized_pnl_usd == pytest.approx(0.0)
    assert average.cost_basis_usd == pytest.approx(200.0)
    # Selling the rest at 200 closes both at the same realized total: 200 + 200 - 400 = 0.
    last = Trade(_t(3), Side.SELL, 1.0, 200.0)
    assert fifo.add(last).realized_pnl_usd == pytest.approx(0.0, abs=1e-9)
    assert average.add(last).realized_pnl_usd == pytest.approx(0.0, abs=1e-9)


def test_full_close_leaves_no_dust() -> None:
    # 0.1 + 0.2 != 0.3 in floats; selling 0.3 must still close the position exactly.
    ledger = Ledger.from_trades(
        [
            Trade(_t(0), Side.BUY, 0.1, 100.0),
            Trade(_t(1), Side.BUY, 0.2, 100.0),
            Trade(_t(2), Side.SELL, 0.3, 100.0),
        ]
    )
    assert ledger.lots == ()
    assert ledger.position_eth == 0.0
    assert ledger.cost_basis_usd == 0.0
    assert math.isnan(ledger.average_cost_usd)
    pnl = ledger.pnl(123.0)
    assert pnl.unrealized_usd == 0.0
    assert pnl.realized_usd == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(pnl.average_cost_usd)


def test_add_returns_a_new_ledger_and_keeps_the_old() -> None:
    empty = Ledger()
    one = empty.add(TRADES[0])
    two = one.add(TRADES[1])
    assert empty.trades == () and empty.position_eth == 0.0
    assert one.position_eth == pytest.approx(10.0)
    assert two.position_eth == pytest.approx(20.0)
    assert two == Ledger.from_trades(TRADES[:2])
    # Same trades, different method: a different ledger.
    assert two != Ledger.from_trades(TRADES[:2], method="average")
    with pytest.raises(AttributeError):
        two.method = "average"  # type: ignore[misc]


def test_add_matches_from_trades_in_every_field() -> None:
    built = Ledger()
    for trade in TRADES:
        built = built.add(trade)
    batch = Ledger.from_trades(TRADES)
    assert built == batch
    assert built.lots == batch.lots
    assert built.realized_pnl_usd == batch.realized_pnl_usd
    pd.testing.assert_frame_equal(built.to_frame(), batch.to_frame())


def test_times_naive_is_utc_and_aware_is_converted() -> None:
    naive = Trade(datetime(2026, 2, 1, 12, 0), Side.BUY, 1.0, 1.0)
    aware = Trade(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), Side.BUY, 1.0, 1.0)
    plus8 = Trade(datetime(2026, 2, 1, 20, 0, tzinfo=timezone(timedelta(hours=8))), "buy", 1, 1)  # type: ignore[arg-type]
    assert naive == aware == plus8
    assert plus8.time.tzinfo is UTC
    assert plus8.side is Side.BUY
    assert isinstance(plus8.quantity_eth, float)


def test_to_frame_running_columns() -> None:
    frame = Ledger.from_trades(TRADES, method="fifo").to_frame()
    assert list(frame.columns) == [
        "time", "side", "quantity_eth", "price_usd", "fee_usd", "cash_flow_usd",
        "position_eth", "cost_basis_usd", "average_cost_usd", "realized_pnl_usd", "note",
    ]
    assert frame.index.name == "trade"
    assert str(frame["time"].dt.tz) == "UTC"
    assert list(frame["side"]) == ["buy", "buy", "sell"]
    # Running values from the FIFO example above.
    assert list(frame["position_eth"]) == pytest.approx([10.0, 20.0, 5.0])
    assert list(frame["cost_basis_usd"]) == pytest.approx([1005.0, 2205.0, 600.0])
    assert list(frame["average_cost_usd"]) == pytest.approx([100.5, 110.25, 120.0])
    assert list(frame["realized_pnl_usd"]) == pytest.approx([0.0, 0.0, 335.0])
    assert list(frame["cash_flow_usd"]) == pytest.approx([-1005.0, -1200.0, 1940.0])
    assert frame["note"].iloc[0] == "first"


def test_to_frame_of_empty_ledger() -> None:
    frame = Ledger().to_frame()
    assert frame.empty
    assert "realized_pnl_usd" in frame.columns


def test_summaries_are_text() -> None:
    ledger = Ledger.from_trades(TRADES)
    assert "fifo" in str(ledger) and "3 trades" in str(ledger)
    assert "realized" in str(ledger.pnl(110.0))
    assert "n/a" in str(Ledger().pnl(1.0))


def test_pnl_to_dict_round_trips() -> None:
    pnl = Ledger.from_trades(TRADES).pnl(110.0)
    assert PnL(**pnl.to_dict()) == pnl


# --- time_to_recover -------------------------------------------------------------------


def test_time_to_recover_first_touch() -> None:
    times = [_t(h) for h in range(6)]
    prices = [2000.0, 1900.0, 2500.0, 3179.99, 3180.0, 3500.0]
    # First price >= 3,180 is index 4 (an exact touch counts).
    assert time_to_recover(prices, times, 3180.0) == _t(4)


def test_time_to_recover_never_and_already() -> None:
    assert time_to_recover([1.0, 2.0, 3.0], [0, 1, 2], 3.5) is None
    assert time_to_recover([4.0, 2.0, 5.0], [0, 1, 2], 3.5) == 0
    assert time_to_recover([], [], 1.0) is None
