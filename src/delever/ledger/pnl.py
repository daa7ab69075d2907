"""Profit and loss at a mark price, and P&L from reported totals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from delever.errors import InvalidArgument, check_finite, check_non_negative, check_positive

# The identity total = realized + unrealized is checked to this relative tolerance (a few
# ulps of the larger term; the ledger builds total as the exact float sum).
_IDENTITY_REL_TOL = 1e-12


@dataclass(frozen=True)
class PnL:
    """Realized and unrealized P&L of a long ETH position at a mark price.

    Parameters
    ----------
    realized_usd
        P&L of the ETH already sold, net of all fees on the sales and of the buy fees of
        the ETH sold (USD).
    unrealized_usd
        ``position_eth * mark_price_usd - cost_basis_usd`` (USD).
    total_usd
        ``realized_usd + unrealized_usd`` (USD); checked on construction.
    mark_price_usd
        ETH price the open position is valued at (USD per ETH).
    position_eth
        ETH held.
    cost_basis_usd
        Cost of the ETH held, buy fees included (USD).
    average_cost_usd
        ``cost_basis_usd / position_eth`` (USD per ETH); NaN when flat.
    """

    realized_usd: float
    unrealized_usd: float
    total_usd: float
    mark_price_usd: float
    position_eth: float
    cost_basis_usd: float
    average_cost_usd: float

    def __post_init__(self) -> None:
        realized = check_finite("realized_usd", self.realized_usd)
        unrealized = check_finite("unrealized_usd", self.unrealized_usd)
        total = check_finite("total_usd", self.total_usd)
        check_positive("mark_price_usd", self.mark_price_usd)
        check_non_negative("position_eth", self.position_eth)
        expected = realized + unrealized
        tolerance = _IDENTITY_REL_TOL * max(1.0, abs(realized), abs(unrealized))
        if abs(total - expected) > tolerance:
            raise InvalidArgument(
                f"total_usd={total!r} must equal realized_usd + unrealized_usd = {expected!r}."
            )

    @property
    def market_value_usd(self) -> float:
        """Value of the open position at the mark (USD)."""
        return self.position_eth * self.mark_price_usd

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "realized_usd": self.realized_usd,
            "unrealized_usd": self.unrealized_usd,
            "total_usd": self.total_usd,
            "mark_price_usd": self.mark_price_usd,
            "position_eth": self.position_eth,
            "cost_basis_usd": self.cost_basis_usd,
            "average_cost_usd": self.average_cost_usd,
        }

    def summary(self) -> str:
        """A few lines for the terminal."""
        avg_cost = self.average_cost_usd
        avg = "n/a (flat)" if math.isnan(avg_cost) else f"${avg_cost:,.2f}"
        return "\n".join(
            [
                f"mark ${self.mark_price_usd:,.2f}, position {self.position_eth:,.4f} ETH, "
                f"average cost {avg}",
                f"realized   {self.realized_usd:>+20,.2f} USD",
                f"unrealized {self.unrealized_usd:>+20,.2f} USD",
                f"total      {self.total_usd:>+20,.2f} USD",
            ]
        )

    def __str__(self) -> str:
        return self.summary()


def make_pnl(
    *,
    realized_usd: float,
    position_eth: float,
    cost_basis_usd: float,
    mark_price_usd: float,
) -> PnL:
    """Build a :class:`PnL` from the realized part and the open position at a mark.

    Notes
    -----
    ``unrealized = position_eth * mark - cost_basis_usd``; ``total = realized + unrealized``
    (the same float sum, so the identity holds exactly).
    """
    mark = check_positive("mark_price_usd", mark_price_usd)
    unrealized = position_eth * mark - cost_basis_usd
    average = cost_basis_usd / position_eth if position_eth > 0 else math.nan
    return PnL(
        realized_usd=realized_usd,
        unrealized_usd=unrealized,
        total_usd=realized_usd + unrealized,
        mark_price_usd=mark,
        position_eth=position_eth,
        cost_basis_usd=cost_basis_usd,
        average_cost_usd=average,
    )


def pnl_from_summary(
    sold_eth: float,
    avg_sale_price_usd: float,
    held_eth: float,
    cost_basis_per_eth_usd: float,
    mark_price_usd: float,
) -> PnL:
    """P&L of a position known only from reported totals.

    Parameters
    ----------
    sold_eth
        ETH sold so far, >= 0.
    avg_sale_price_usd
        Average sale price (USD per ETH), > 0.
    held_eth
        ETH still held, >= 0.
    cost_basis_per_eth_usd
        Average cost of all the ETH bought, sold and held alike (USD per ETH), > 0.
    mark_price_usd
        Price the holding is valued at (USD per ETH), > 0.

    Returns
    -------
    PnL
        With ``cost_basis_usd = held_eth * cost_basis_per_eth_usd``.

    Notes
    -----
    The average-cost method on aggregates, fees ignored (reports give none):
    ``realized = sold * (sale - cost)``, ``unrealized = held * (mark - cost)``.
    For February 2026 (Odaily newsflash 467627, citing Yu Jin; estimates):
    255,500 x (2,168 - 3,180) = -258.566M realized; 396,000 x (1,904.04 - 3,180) =
    -505.28M unrealized.
    """
    sold = check_non_negative("sold_eth", sold_eth)
    sale = check_positive("avg_sale_price_usd", avg_sale_price_usd)
    held = check_non_negative("held_eth", held_eth)
    cost = check_positive("cost_basis_per_eth_usd", cost_basis_per_eth_usd)
    mark = check_positive("mark_price_usd", mark_price_usd)
    unrealized = held * (mark - cost)
    realized = sold * (sale - cost)
    return PnL(
        realized_usd=realized,
        unrealized_usd=unrealized,
        total_usd=realized + unrealized,
        mark_price_usd=mark,
        position_eth=held,
        cost_basis_usd=held * cost,
        average_cost_usd=cost if held > 0 else math.nan,
    )


__all__ = ["PnL", "make_pnl", "pnl_from_summary"]
