"""The ETH-correlated collateral assets a borrower book knows, with their Aave v3 Core rules.

A book entry is ETH-correlated collateral valued in ETH against stablecoin debt; the asset
only supplies default liquidation parameters (a CSV row may override them).
"""

from __future__ import annotations

from dataclasses import dataclass

from delever.errors import unknown_name


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


# Aave v3 Ethereum Core, non-e-mode. Source: th3nolo/aave-v3-data (MIT), flattened in
# shared/data/raw/th3nolo_aave-v3-data/aave_v3_ethereum_reserves_daily.csv; the values are
# unchanged in every snapshot 2025-07-22 .. 2026-08-22 (WETH: LTV 0.805, LT 0.83, bonus 0.05).
# Hard-coded here because delever.protocol.RESERVES did not exist when the book was written;
# replace with delever.protocol.RESERVES once it does.
BOOK_ASSETS: dict[str, BookAsset] = {
    "WETH": BookAsset("WETH", liquidation_threshold=0.83, liquidation_bonus=0.05),
    "wstETH": BookAsset("wstETH", liquidation_threshold=0.81, liquidation_bonus=0.06),
    "weETH": BookAsset("weETH", liquidation_threshold=0.80, liquidation_bonus=0.07),
}


def book_asset(symbol: str) -> BookAsset:
    """The known asset called ``symbol``; an unknown name gets close matches."""
    try:
        return BOOK_ASSETS[symbol]
    except KeyError:
        raise unknown_name("asset", symbol, BOOK_ASSETS) from None


__all__ = ["BOOK_ASSETS", "BookAsset", "book_asset"]
