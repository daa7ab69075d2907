"""delever.ledger: trades -> position, cost basis (FIFO or average) and P&L at a mark.

A long-only ledger of one leveraged long ETH position::

    from delever.ledger import Ledger, Side, Trade
    ledger = Ledger.from_trades(
        [Trade(t0, Side.BUY, 10.0, 3_000.0), Trade(t1, Side.SELL, 4.0, 2_500.0)],
        method="fifo",
    )
    ledger.pnl(2_000.0).total_usd

Positions known only from reported totals use :func:`pnl_from_summary`.
"""

from delever.ledger.ledger import COST_METHODS, DUST_REL_TOL, CostMethod, Ledger
from delever.ledger.pnl import PnL, pnl_from_summary
from delever.ledger.recovery import time_to_recover
from delever.ledger.trades import Lot, Side, Trade

__all__ = [
    "COST_METHODS",
    "DUST_REL_TOL",
    "CostMethod",
    "Ledger",
    "Lot",
    "PnL",
    "Side",
    "Trade",
    "pnl_from_summary",
    "time_to_recover",
]
