"""Trades and open lots: the inputs of the ledger."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from numbers import Real

from delever.errors import (
    InvalidArgument,
    check_non_negative,
    check_positive,
    unknown_name,
)


class Side(StrEnum):
    """Direction of a trade in ETH."""

    BUY = "buy"
    SELL = "sell"


def utc_time(field: str, value: object) -> datetime:
    """Return ``value`` as a UTC-aware datetime; a naive datetime is taken to be UTC.

    Parameters
    ----------
    field
        Name of the argument, for the error message.
    value
        A ``datetime`` (aware in any zone, or naive meaning UTC).

    Returns
    -------
    datetime
        The same instant with ``tzinfo=UTC``.
    """
    if not isinstance(value, datetime):
        raise InvalidArgument(
            f"{field}={value!r} must be a datetime; give e.g. datetime(2026, 2, 1, tzinfo=UTC)."
        )
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _number(field: str, value: object) -> float:
    # bool is an int subclass; True as a quantity is almost surely a mistake.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgument(f"{field}={value!r} must be a number.")
    return float(value)


def _side(value: object) -> Side:
    if isinstance(value, Side):
        return value
    if isinstance(value, str):
        try:
            return Side(value.strip().lower())
        except ValueError:
            pass
    raise unknown_name("side", str(value), [s.value for s in Side])


@dataclass(frozen=True)
class Trade:
    """One fill: ``quantity_eth`` bought or sold at ``price_usd``, paying ``fee_usd``.

    Parameters
    ----------
    time
        When the trade happened; naive datetimes are taken to be UTC, aware ones are
        converted to UTC.
    side
        ``Side.BUY`` or ``Side.SELL`` (the strings ``"buy"`` / ``"sell"`` are accepted).
    quantity_eth
        ETH bought or sold, > 0.
    price_usd
        Price per ETH in USD, > 0.
    fee_usd
        Fees paid on the trade in USD, >= 0. Buy fees go into the cost basis; sell fees
        reduce the sale's realized P&L.
    note
        Free text.
    """

    time: datetime
    side: Side
    quantity_eth: float
    price_usd: float
    fee_usd: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__ (ints become floats, times UTC).
        object.__setattr__(self, "time", utc_time("time", self.time))
        object.__setattr__(self, "side", _side(self.side))
        object.__setattr__(
            self, "quantity_eth",
            check_positive("quantity_eth", _number("quantity_eth", self.quantity_eth)),
        )
        object.__setattr__(
            self, "price_usd",
            check_positive("price_usd", _number("price_usd", self.price_usd)),
        )
        object.__setattr__(
            self, "fee_usd", check_non_negative("fee_usd", _number("fee_usd", self.fee_usd))
        )
        if not isinstance(self.note, str):
            raise InvalidArgument(f"note={self.note!r} must be a string.")

    @property
    def notional_usd(self) -> float:
        """Quantity times price, before fees (USD)."""
        return self.quantity_eth * self.price_usd

    @property
    def cash_flow_usd(self) -> float:
        """USD received (+) or paid (-) on the trade, fees included.

        Notes
        -----
        Buy: ``-(q * p + fee)``. Sell: ``q * p - fee``.
        """
        if self.side is Side.BUY:
            return -(self.notional_usd + self.fee_usd)
        return self.notional_usd - self.fee_usd


@dataclass(frozen=True)
class Lot:
    """An open FIFO lot: what is left of one buy.

    Parameters
    ----------
    time
        Time of the buy that opened the lot (UTC).
    quantity_eth
        ETH still open in the lot, > 0.
    price_usd
        The buy's price per ETH in USD (before fees).
    fee_usd
        The part of the buy's fee that belongs to the ETH still open (pro rata), USD.
    """

    time: datetime
    quantity_eth: float
    price_usd: float
    fee_usd: float = 0.0

    @property
    def cost_usd(self) -> float:
        """Cost of the open ETH in the lot, fee included (USD): ``q * p + fee``."""
        return self.quantity_eth * self.price_usd + self.fee_usd

    @property
    def cost_per_eth_usd(self) -> float:
        """Cost per open ETH, fee included (USD per ETH)."""
        return self.cost_usd / self.quantity_eth if self.quantity_eth > 0 else math.nan


__all__ = ["Lot", "Side", "Trade", "utc_time"]
