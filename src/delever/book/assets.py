"""The ETH-correlated collateral assets a borrower book knows, with their Aave v3 Core rules.

A book entry is ETH-correlated collateral valued in ETH against stablecoin debt; the asset
only supplies default liquidation parameters (a CSV row may override them).
"""

from __future__ import annotations

from dataclasses import dataclass

from delever.errors import unknown_name
from delever.protocol import RESERVES


@dataclass(frozen=True)
class BookAsset:
    """Liquidation parameters of one collateral asset outside e-mode.

    Parameters
    ----------
    symbol : str
        Reserve symbol on Aave v3 Ethereum Core.
    liquidation_threshold : float
        Fraction of the collateral value counted in the health factor.
    liquidation_bonus : float
        Collateral bonus paid to the liquidator above 1 (0.05 means 5%).
    """

    symbol: str
    liquidation_threshold: float
    liquidation_bonus: float


# Aave v3 Ethereum Core, non-e-mode, from the protocol's reserve registry (the one holder of
# protocol constants; sources there: th3nolo/aave-v3-data, WETH LT 0.83 bonus 0.05, wstETH
# 0.81 / 0.06, weETH 0.80 / 0.07).
BOOK_ASSETS: dict[str, BookAsset] = {
    symbol: BookAsset(symbol, liquidation_threshold=RESERVES[symbol].liquidation_threshold,
                      liquidation_bonus=RESERVES[symbol].liquidation_bonus)
    for symbol in ("WETH", "wstETH", "weETH")
}


def book_asset(symbol: str) -> BookAsset:
    """The known asset called ``symbol``; an unknown name gets close matches."""
    try:
        return BOOK_ASSETS[symbol]
    except KeyError:
        raise unknown_name("asset", symbol, BOOK_ASSETS) from None


__all__ = ["BOOK_ASSETS", "BookAsset", "book_asset"]
