"""The ledger against a plain list model, driven by a hypothesis state machine."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from delever.errors import InvalidArgument
from delever.ledger import DUST_REL_TOL, Ledger, Side, Trade

T0 = datetime(2026, 1, 1, tzinfo=UTC)

quantities = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
prices = st.floats(min_value=1.0, max_value=1e5, allow_nan=False, allow_infinity=False)
fees = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e4))
fractions = st.one_of(st.just(1.0), st.floats(min_value=1e-6, max_value=1.0))


class LedgerVersusModel(RuleBasedStateMachine):
    """Buys, sells within the position and marks; every step compared with the model.

    The model keeps FIFO lots as ``[quantity, cost]`` pairs in a list (cost includes the
    buy fee), a running average-cost basis, realized P&L by both methods, and the cash
    flows. It never looks at the ledger's numbers except to choose sale sizes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.method = "fifo"
        self.step = 0
        self.lots: list[list[float]] = []  # FIFO: [quantity_eth, cost_usd incl. fee]
        self.avg_position = 0.0
        self.avg_basis = 0.0
        self.realized: dict[str, float] = {"fifo": 0.0, "average": 0.0}
        self.cash_usd = 0.0  # sum of cash flows: -(q p + fee) per buy, q p - fee per sell
        self.gross_usd = 1.0  # sum of |cash flows|: the scale of float rounding
        self.bought_eth = 0.0  # the documented dust rule: DUST_REL_TOL x all ETH bought

    @initialize(method=st.sampled_from(["fifo", "average"]))
    def choose_method(self, method: str) -> None:
        self.method = method
        self.ledger = Ledger(method=method)  # type: ignore[arg-type]

    def _time(self) -> datetime:
        self.step += 1
        return T0 + timedelta(hours=self.step)

    @property
    def model_position(self) -> float:
        return sum(q for q, _ in self.lots)

    def _close(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * self.gross_usd)

    @rule(quantity=quantities, price=prices, fee=fees)
    def buy(self, quantity: float, price: float, fee: float) -> None:
        self.ledger = self.ledger.add(Trade(self._time(), Side.BUY, quantity, price, fee))
        cost = quantity * price + fee
        self.lots.append([quantity, cost])
        self.avg_position += quantity
        self.avg_basis += cost
        self.cash_usd -= cost
        self.gross_usd += cost
        self.bought_eth += quantity

    @precondition(lambda self: self.lots)
    @rule(fraction=fractions, price=prices, fee=fees)
    def sell(self, fraction: float, price: float, fee: float) -> None:
        held = self.model_position
        quantity = held if fraction == 1.0 else fraction * held
        self.ledger = self.ledger.add(Trade(self._time(), Side.SELL, quantity, price, fee))
        proceeds = quantity * price - fee
        self.cash_usd += proceeds
        self.gross_usd += quantity * price + fee
        # FIFO: walk the lots from the oldest.
        left, cost_out = quantity, 0.0
        while left > 0 and self.lots:
            lot_q, lot_cost = self.lots[0]
            if left >= lot_q - DUST_REL_TOL * self.bought_eth:
                cost_out += lot_cost
                left -= lot_q
                self.lots.pop(0)
            else:
                cost_out += lot_cost * left / lot_q
                self.lots[0] = [lot_q - left, lot_cost * (1 - left / lot_q)]
                left = 0.0
        self.realized["fifo"] += proceeds - cost_out
        # Average cost: the sale takes its share of the basis.
        share = min(1.0, quantity / self.avg_position) if self.lots else 1.0
        self.realized["average"] += proceeds - share * self.avg_basis
        self.avg_basis -= share * self.avg_basis
        self.avg_position = self.model_position

    @precondition(lambda self: self.lots)
    @rule(extra=st.floats(min_value=1e-6, max_value=10.0), price=prices)
    def oversell_is_refused(self, extra: float, price: float) -> None:
        before = self.ledger
        quantity = self.model_position * (1 + extra) + 1e-3
        with pytest.raises(InvalidArgument, match="long-only"):
            self.ledger.add(Trade(self._time(), Side.SELL, quantity, price))
        assert self.ledger is before and self.ledger.trades == before.trades

    @rule(mark=prices)
    def mark(self, mark: float) -> None:
        pnl = self.ledger.pnl(mark)
        # The identity, and total P&L computed independently: cash + position x mark.
        assert pnl.total_usd == pnl.realized_usd + pnl.unrealized_usd
        scale = self.gross_usd + self.model_position * mark
        model_total = self.cash_usd + self.model_position * mark
        assert math.isclose(pnl.total_usd, model_total, rel_tol=1e-9, abs_tol=1e-9 * scale)
        model_basis = (
            sum(c for _, c in self.lots) if self.method == "fifo" else self.avg_basis
        )
        model_unrealized = self.model_position * mark - model_basis
        assert math.isclose(
            pnl.unrealized_usd, model_unrealized, rel_tol=1e-9, abs_tol=1e-9 * scale
        )
        assert pnl.mark_price_usd == mark

    @invariant()
    def position_matches(self) -> None:
        assert self._close(self.ledger.position_eth, self.model_position)
        assert len(self.ledger.lots) == len(self.lots)
        for lot, (q, cost) in zip(self.ledger.lots, self.lots, strict=True):
            assert self._close(lot.quantity_eth, q)
            assert self._close(lot.cost_usd, cost)

    @invariant()
    def cost_basis_matches(self) -> None:
        model_basis = (
            sum(c for _, c in self.lots) if self.method == "fifo" else self.avg_basis
        )
        assert self._close(self.ledger.cost_basis_usd, model_basis)
        if not self.lots:
            assert self.ledger.cost_basis_usd == 0.0
            assert math.isnan(self.ledger.average_cost_usd)

    @invariant()
    def realized_matches(self) -> None:
        assert self._close(self.ledger.realized_pnl_usd, self.realized[self.method])

    @invariant()
    def fees_and_cash_match(self) -> None:
        assert self._close(self.ledger.net_cash_flow_usd, self.cash_usd)
        assert self._close(
            self.ledger.fees_usd, math.fsum(t.fee_usd for t in self.ledger.trades)
        )


LedgerVersusModel.TestCase.settings = settings(
    max_examples=300, stateful_step_count=30, deadline=None
)
TestLedgerVersusModel = LedgerVersusModel.TestCase
