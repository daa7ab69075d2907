"""Properties: money never gets lost; the cost method only splits P&L, never changes it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from delever.ledger import Ledger, Side, Trade, pnl_from_summary

T0 = datetime(2026, 1, 1, tzinfo=UTC)

prices = st.floats(min_value=1.0, max_value=1e5)
# Each step: (is_buy, quantity or fraction of the position, price, fee).
steps = st.lists(
    st.tuples(
        st.booleans(),
        st.floats(min_value=1e-3, max_value=1e6),
        prices,
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e4)),
    ),
    min_size=1,
    max_size=25,
)


def _trades(plan: list[tuple[bool, float, float, float]]) -> list[Trade]:
    """Turn a plan into valid trades: sells take a fraction (<= 1) of what is held."""
    trades: list[Trade] = []
    held = 0.0
    for i, (is_buy, size, price, fee) in enumerate(plan):
        time = T0 + timedelta(minutes=i)
        if is_buy or held <= 0:
            trades.append(Trade(time, Side.BUY, size, price, fee))
            held += size
        else:
            fraction = min(1.0, size / 1e5)  # up to and including the whole position
            quantity = held if fraction >= 1.0 else max(fraction, 1e-6) * held
            trades.append(Trade(time, Side.SELL, quantity, price, fee))
            held -= quantity
    return trades


def _scale(trades: list[Trade], position_eth: float, mark: float) -> float:
    return math.fsum(t.notional_usd + t.fee_usd for t in trades) + position_eth * mark + 1.0


@settings(max_examples=150, deadline=None)
@given(plan=steps, mark=prices, method=st.sampled_from(["fifo", "average"]))
def test_money_never_gets_lost(
    plan: list[tuple[bool, float, float, float]], mark: float, method: str
) -> None:
    """Sum of cash flows + position x mark = total P&L (computed here, not by the ledger)."""
    trades = _trades(plan)
    ledger = Ledger.from_trades(trades, method=method)  # type: ignore[arg-type]
    pnl = ledger.pnl(mark)
    cash = math.fsum(
        -(t.quantity_eth * t.price_usd + t.fee_usd) if t.side == "buy"
        else t.quantity_eth * t.price_usd - t.fee_usd
        for t in trades
    )
    position = math.fsum(t.quantity_eth if t.side == "buy" else -t.quantity_eth for t in trades)
    scale = _scale(trades, abs(position), mark)
    assert math.isclose(ledger.position_eth, position, rel_tol=1e-9, abs_tol=1e-9 * scale / mark)
    assert math.isclose(pnl.total_usd, cash + position * mark, rel_tol=1e-9, abs_tol=1e-9 * scale)
    assert pnl.total_usd == pnl.realized_usd + pnl.unrealized_usd
    # Fees are money too: with fees zeroed the total rises by exactly the fees paid.
    free = Ledger.from_trades(
        [Trade(t.time, t.side, t.quantity_eth, t.price_usd) for t in trades], method=method  # type: ignore[arg-type]
    )
    assert math.isclose(
        free.pnl(mark).total_usd - pnl.total_usd,
        math.fsum(t.fee_usd for t in trades),
        rel_tol=1e-9,
        abs_tol=1e-9 * scale,
    )


@settings(max_examples=150, deadline=None)
@given(plan=steps, mark=prices)
def test_method_splits_but_keeps_the_total(
    plan: list[tuple[bool, float, float, float]], mark: float
) -> None:
    trades = _trades(plan)
    fifo = Ledger.from_trades(trades, method="fifo")
    average = Ledger.from_trades(trades, method="average")
    scale = _scale(trades, fifo.position_eth, mark)
    assert fifo.position_eth == average.position_eth
    assert fifo.lots == average.lots
    assert math.isclose(
        fifo.pnl(mark).total_usd, average.pnl(mark).total_usd, rel_tol=1e-9, abs_tol=1e-9 * scale
    )
    if not fifo.lots:  # flat: everything is realized, by either method
        assert math.isclose(
            fifo.realized_pnl_usd, average.realized_pnl_usd, rel_tol=1e-9, abs_tol=1e-9 * scale
        )
    # Cost basis is never negative, and the unrealized P&L at the average cost is zero.
    for ledger in (fifo, average):
        assert ledger.cost_basis_usd >= 0.0
        if ledger.position_eth > 0:
            at_cost = ledger.pnl(ledger.average_cost_usd)
            assert math.isclose(at_cost.unrealized_usd, 0.0, abs_tol=1e-9 * scale)


@settings(max_examples=150, deadline=None)
@given(
    sold=st.floats(min_value=0.0, max_value=1e7),
    sale=prices,
    held=st.floats(min_value=0.0, max_value=1e7),
    cost=prices,
    mark=prices,
)
def test_summary_equals_an_average_cost_ledger(
    sold: float, sale: float, held: float, cost: float, mark: float
) -> None:
    """pnl_from_summary = a ledger of one buy of sold + held at cost, then one sale."""
    summary = pnl_from_summary(sold, sale, held, cost, mark)
    trades = []
    if sold + held > 0:
        trades.append(Trade(T0, Side.BUY, sold + held, cost))
    if sold > 0:
        trades.append(Trade(T0 + timedelta(days=1), Side.SELL, sold, sale))
    pnl = Ledger.from_trades(trades, method="average").pnl(mark)
    scale = (sold + held) * (cost + sale + mark) + 1.0
    assert math.isclose(summary.realized_usd, pnl.realized_usd, rel_tol=1e-9, abs_tol=1e-9 * scale)
    assert math.isclose(
        summary.unrealized_usd, pnl.unrealized_usd, rel_tol=1e-9, abs_tol=1e-9 * scale
    )
    assert summary.total_usd == summary.realized_usd + summary.unrealized_usd
