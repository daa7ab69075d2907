"""Bounds on the numbers the account and cascade commands accept, each with its reason.

Inside these bounds every USD sum, health factor, liquidation price and ratio the commands
print stays a finite float; outside them the answer would be ``inf`` or ``nan`` (or a
ZeroDivisionError), so the input is refused up front with one line naming the option.
"""

from __future__ import annotations

import math

from delever.errors import InvalidArgument, check_finite

# Aave's oracles quote USD with 8 decimals: 1e-8 USD is the smallest nonzero price.
MIN_PRICE_USD = 1e-8
# Far above any ETH price, far below where USD sums over a book of 1e6 ETH overflow a float.
MAX_PRICE_USD = 1e12
# About 8x all ETH in existence (~1.2e8): more is a unit mistake (wei given as ETH?).
MAX_ETH = 1e9
# About 10x all USD in existence (~1e14).
MAX_USD = 1e15
# Aave stores the liquidation threshold in basis points: 1 bp is its smallest nonzero value,
# and 0 disables the asset as collateral (nothing left for a health factor to measure).
MIN_LT = 1e-4


def check_price_usd(field: str, value: float) -> float:
    """A USD price per ETH in [MIN_PRICE_USD, MAX_PRICE_USD]."""
    price = check_finite(field, value)
    if price <= 0:
        raise InvalidArgument(f"{field}={value!r} must be greater than 0. Give the ETH price "
                              "in USD.")
    if price < MIN_PRICE_USD:
        raise InvalidArgument(f"{field}={value!r} must be at least {MIN_PRICE_USD:.0e} USD per "
                              "ETH (Aave's oracles quote 8 decimals); give a USD price.")
    if price > MAX_PRICE_USD:
        raise InvalidArgument(f"{field}={value!r} must be at most {MAX_PRICE_USD:.0e} USD per "
                              "ETH; give a USD price.")
    return price


def check_amount(field: str, value: float, maximum: float, unit: str) -> float:
    """A non-negative amount of at most ``maximum`` (MAX_ETH or MAX_USD)."""
    amount = check_finite(field, value)
    if amount < 0 or amount > maximum:
        what = "all ETH in existence is ~1.2e8" if unit == "ETH" else "all USD is ~1e14"
        raise InvalidArgument(
            f"{field}={value!r} must be in [0, {maximum:g}] {unit} ({what}); "
            f"give the amount in {unit}."
        )
    return amount


def check_lt(field: str, value: float) -> float:
    """A liquidation threshold in [MIN_LT, 1]."""
    if not (math.isfinite(value) and MIN_LT <= value <= 1.0):
        raise InvalidArgument(
            f"{field}={value!r}: the liquidation_threshold must be in [{MIN_LT:g}, 1] (Aave "
            "counts it in basis points "
            "and 0 disables WETH as collateral); give a fraction, e.g. 0.83."
        )
    return value


__all__ = ["MAX_ETH", "MAX_PRICE_USD", "MAX_USD", "MIN_LT", "MIN_PRICE_USD", "check_amount",
           "check_lt", "check_price_usd"]
