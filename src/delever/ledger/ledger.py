"""An immutable long-only ETH ledger: position, cost basis (FIFO or average), P&L."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from delever.errors import InvalidArgument, unknown_name
from delever.ledger.pnl import PnL, make_pnl
from delever.ledger.trades import Lot, Side, Trade

CostMethod = Literal["fifo", "average"]
COST_METHODS: tuple[CostMethod, ...] = ("fifo", "average")

# ETH amounts closer than this fraction of all the ETH ever bought count as equal: a sale
# that leaves less than that in a lot (or in the position) takes all of it, so float dust
# (0.1 + 0.2 != 0.3; a position tracked by subtraction) never leaves a phantom lot or blocks
# a full close. Float error in ETH amounts scales with the amounts traded, not the remainder.
DUST_REL_TOL = 1e-12

FRAME_COLUMNS = (
    "time",
    "side",
    "quantity_eth",
    "price_usd",
    "fee_usd",
    "cash_flow_usd",
    "position_eth",
    "cost_basis_usd",
    "average_cost_usd",
    "realized_pnl_usd",
    "note",
)


@dataclass(frozen=True)
class _State:
    """Running totals after some trades."""

    lots: tuple[Lot, ...] = ()
    cost_basis_usd: float = 0.0  # by the ledger's method
    realized_pnl_usd: float = 0.0
    fees_usd: float = 0.0
    bought_eth: float = 0.0  # all ETH ever bought: the scale of float dust

    @property
    def dust_eth(self) -> float:
        return DUST_REL_TOL * self.bought_eth

    @property
    def position_eth(self) -> float:
        return math.fsum(lot.quantity_eth for lot in self.lots)


def _consume_fifo(
    lots: tuple[Lot, ...], quantity_eth: float, dust_eth: float
) -> tuple[tuple[Lot, ...], float]:
    """Take ``quantity_eth`` from the oldest lots; return the lots left and the cost taken."""
    taken: list[float] = []
    left = quantity_eth
    for index, lot in enumerate(lots):
        # The whole lot goes when the sale covers it (to within float dust).
        if left >= lot.quantity_eth - dust_eth:
            taken.append(lot.cost_usd)
            left -= lot.quantity_eth
            if left <= 0.0:
                return lots[index + 1 :], math.fsum(taken)
            continue
        share = left / lot.quantity_eth  # in (0, 1): the lot's fee goes pro rata
        taken.append(share * lot.cost_usd)
        rest = Lot(
            time=lot.time,
            quantity_eth=lot.quantity_eth - left,
            price_usd=lot.price_usd,
            fee_usd=lot.fee_usd * (1.0 - share),
        )
        return (rest, *lots[index + 1 :]), math.fsum(taken)
    return (), math.fsum(taken)


def _apply(state: _State, trade: Trade, method: CostMethod) -> _State:
    """The state after one more trade (pure)."""
    fees = state.fees_usd + trade.fee_usd
    if trade.side is Side.BUY:
        lot = Lot(trade.time, trade.quantity_eth, trade.price_usd, trade.fee_usd)
        bought = (*state.lots, lot)
        basis = (
            math.fsum(x.cost_usd for x in bought)
            if method == "fifo"
            else state.cost_basis_usd + lot.cost_usd
        )
        return _State(
            bought, basis, state.realized_pnl_usd, fees, state.bought_eth + trade.quantity_eth
        )

    position = state.position_eth
    quantity = trade.quantity_eth
    if quantity > position + state.dust_eth:
        raise InvalidArgument(
            f"quantity_eth={quantity!r} sold at {trade.time.isoformat()} exceeds the position "
            f"of {position!r} ETH; the ledger is long-only (it books a leveraged long), so a "
            "sale cannot open a short."
        )
    closes = quantity >= position - state.dust_eth
    if closes:
        lots: tuple[Lot, ...] = ()
        fifo_cost = math.fsum(x.cost_usd for x in state.lots)
    else:
        lots, fifo_cost = _consume_fifo(state.lots, quantity, state.dust_eth)
    if method == "fifo":
        cost_removed = fifo_cost
        basis = math.fsum(x.cost_usd for x in lots)
    else:
        cost_removed = state.cost_basis_usd if closes else state.cost_basis_usd * (
            quantity / position
        )
        basis = 0.0 if closes else state.cost_basis_usd - cost_removed
    # Proceeds use the traded quantity, so cash in = cash out + P&L exactly.
    realized = state.realized_pnl_usd + (trade.notional_usd - trade.fee_usd - cost_removed)
    return _State(lots, basis, realized, fees, state.bought_eth)


@dataclass(frozen=True)
class _Row:
    position_eth: float
    cost_basis_usd: float
    realized_pnl_usd: float


def _check_method(method: str) -> CostMethod:
    if method not in COST_METHODS:
        raise unknown_name("method", str(method), COST_METHODS)
    return method


@dataclass(frozen=True)
class Ledger:
    """Trades in time order and what they add up to: position, cost basis, realized P&L.

    Long-only: it books one leveraged long ETH position, so selling more ETH than is held
    raises :class:`~delever.errors.InvalidArgument` (a sale within ``DUST_REL_TOL`` (1e-12)
    times the ETH ever bought of the position closes it exactly). Build one with :meth:`from_trades`
    (or ``Ledger()`` for an empty one) and extend it with :meth:`add`, which returns a new
    ledger.

    Parameters
    ----------
    trades
        The trades, oldest first (equal times keep their order).
    method
        ``"fifo"``: a sale is costed against the oldest open lots. ``"average"``: against
        the average cost of the position before the sale.

    Notes
    -----
    Fees: a buy's fee is part of the cost of the ETH bought (it enters the cost basis and
    leaves it pro rata as that ETH is sold); a sell's fee is subtracted from that sale's
    realized P&L. So for any method and any mark ``m``,
    ``realized + unrealized = sum(cash flows) + position * m``, with cash flows
    ``-(q p + fee)`` per buy and ``q p - fee`` per sell.
    """

    trades: tuple[Trade, ...] = ()
    method: CostMethod = "fifo"
    _state: _State = field(init=False, repr=False, compare=False)
    _rows: tuple[_Row, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        method = _check_method(self.method)
        trades = tuple(self.trades)
        state = _State()
        rows: list[_Row] = []
        for index, trade in enumerate(trades):
            if not isinstance(trade, Trade):
                raise InvalidArgument(f"trades[{index}]={trade!r} must be a Trade.")
            if index and trade.time < trades[index - 1].time:
                raise InvalidArgument(
                    f"trades[{index}].time={trade.time.isoformat()} is earlier than "
                    f"trades[{index - 1}].time={trades[index - 1].time.isoformat()}; "
                    "give trades in time order."
                )
            try:
                state = _apply(state, trade, method)
            except InvalidArgument as exc:
                raise InvalidArgument(f"trades[{index}]: {exc}") from None
            rows.append(_Row(state.position_eth, state.cost_basis_usd, state.realized_pnl_usd))
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "trades", trades)
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_rows", tuple(rows))

    @classmethod
    def from_trades(cls, trades: Iterable[Trade], method: CostMethod = "fifo") -> Ledger:
        """A ledger of ``trades`` (oldest first) costed by ``method`` ("fifo" or "average")."""
        return cls(trades=tuple(trades), method=method)

    def add(self, trade: Trade) -> Ledger:
        """A new ledger with ``trade`` appended; this one is unchanged.

        Raises
        ------
        InvalidArgument
            If ``trade`` is earlier than the last trade, or sells more than is held.
        """
        if not isinstance(trade, Trade):
            raise InvalidArgument(f"trade={trade!r} must be a Trade.")
        if self.trades and trade.time < self.trades[-1].time:
            raise InvalidArgument(
                f"time={trade.time.isoformat()} is earlier than the last trade's "
                f"time={self.trades[-1].time.isoformat()}; add trades in time order."
            )
        state = _apply(self._state, trade, self.method)
        row = _Row(state.position_eth, state.cost_basis_usd, state.realized_pnl_usd)
        # Skip __post_init__: the new state is one step from the old one.
        new = object.__new__(Ledger)
        object.__setattr__(new, "trades", (*self.trades, trade))
        object.__setattr__(new, "method", self.method)
        object.__setattr__(new, "_state", state)
        object.__setattr__(new, "_rows", (*self._rows, row))
        return new

    @property
    def position_eth(self) -> float:
        """ETH held (sum of the open lots)."""
        return self._state.position_eth

    @property
    def cost_basis_usd(self) -> float:
        """Cost of the ETH held by the ledger's method, buy fees included (USD)."""
        return self._state.cost_basis_usd

    @property
    def average_cost_usd(self) -> float:
        """``cost_basis_usd / position_eth`` (USD per ETH); NaN when flat."""
        position = self.position_eth
        return self.cost_basis_usd / position if position > 0 else math.nan

    @property
    def lots(self) -> tuple[Lot, ...]:
        """Open lots, oldest first, as FIFO sees them.

        Always FIFO, whatever ``method``: under ``"average"`` their costs add up to the
        FIFO basis, not to :attr:`cost_basis_usd`.
        """
        return self._state.lots

    @property
    def realized_pnl_usd(self) -> float:
        """P&L of all sales so far, net of sell fees and of the buy fees of the ETH sold."""
        return self._state.realized_pnl_usd

    @property
    def fees_usd(self) -> float:
        """All fees paid, buys and sells (USD)."""
        return self._state.fees_usd

    @property
    def net_cash_flow_usd(self) -> float:
        """USD received minus USD paid over all trades, fees included."""
        return math.fsum(trade.cash_flow_usd for trade in self.trades)

    def pnl(self, mark_price_usd: float) -> PnL:
        """Realized and unrealized P&L with the open position valued at ``mark_price_usd``.

        Notes
        -----
        ``unrealized = position_eth * mark - cost_basis_usd``;
        ``total = realized + unrealized``.
        """
        return make_pnl(
            realized_usd=self.realized_pnl_usd,
            position_eth=self.position_eth,
            cost_basis_usd=self.cost_basis_usd,
            mark_price_usd=mark_price_usd,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per trade with the running position, cost basis, average cost, realized P&L.

        The index is the trade number; ``time`` is a UTC column (times may repeat).
        """
        records = [
            {
                "time": trade.time,
                "side": trade.side.value,
                "quantity_eth": trade.quantity_eth,
                "price_usd": trade.price_usd,
                "fee_usd": trade.fee_usd,
                "cash_flow_usd": trade.cash_flow_usd,
                "position_eth": row.position_eth,
                "cost_basis_usd": row.cost_basis_usd,
                "average_cost_usd": (
                    row.cost_basis_usd / row.position_eth if row.position_eth > 0 else math.nan
                ),
                "realized_pnl_usd": row.realized_pnl_usd,
                "note": trade.note,
            }
            for trade, row in zip(self.trades, self._rows, strict=True)
        ]
        frame = pd.DataFrame.from_records(records, columns=list(FRAME_COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        frame.index.name = "trade"
        return frame

    def summary(self) -> str:
        """A few lines for the terminal."""
        avg = self.average_cost_usd
        avg_text = "n/a (flat)" if math.isnan(avg) else f"${avg:,.2f}"
        return "\n".join(
            [
                f"Ledger ({self.method}), {len(self.trades)} trades",
                f"position   {self.position_eth:,.4f} ETH, average cost {avg_text}",
                f"cost basis {self.cost_basis_usd:,.2f} USD",
                f"realized   {self.realized_pnl_usd:+,.2f} USD (fees paid {self.fees_usd:,.2f})",
            ]
        )

    def __str__(self) -> str:
        return self.summary()


__all__ = ["COST_METHODS", "DUST_REL_TOL", "CostMethod", "Ledger"]
