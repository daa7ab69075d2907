"""The liquidity discount of a reported sale, by the square-root law.

``delever run`` shows it beside the reported average price: how much of the gap between the
marked price and what the sale fetched a market of limited depth explains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from delever.errors import InvalidArgument
from delever.market.impact import SquareRootImpact


@dataclass(frozen=True)
class SaleDiscountReport:
    """The modelled liquidity discount of one metaorder sold in daily slices.

    ``discount_pct`` is against the mid at the start of the sale, with no exogenous move
    (the square-root law's average fill, 2/3 of the peak impact). ``modelled_avg_price_usd``
    prices each slice against the realized market of its day (``market_price_usd``), which
    already holds the permanent part of the earlier slices, so only the within-slice
    discount applies there.
    """

    qty_eth: float
    n_slices: int
    sigma_daily: float
    adv_eth: float
    impact_y: float
    impact_y_range: tuple[float, float]
    peak_impact_pct: float
    discount_pct: float
    discount_pct_range: tuple[float, float]  # at the ends of impact_y_range
    market_avg_price_usd: float  # quantity-weighted market price over the sale days; nan if none
    modelled_avg_price_usd: float  # market price less the within-slice discount; nan if none
    reported_avg_price_usd: float  # the scenario's trades' average sale price
    market_price_source: str

    def discount_usd(self, mark_price_usd: float) -> float:
        """The discount in USD on the whole sale, against ``mark_price_usd``."""
        return self.qty_eth * mark_price_usd * self.discount_pct / 100.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "model": "sqrt",
            "qty_eth": self.qty_eth,
            "n_slices": self.n_slices,
            "sigma_daily": self.sigma_daily,
            "adv_eth": self.adv_eth,
            "impact_y": self.impact_y,
            "impact_y_range": list(self.impact_y_range),
            "peak_impact_pct": self.peak_impact_pct,
            "liquidity_discount_pct": self.discount_pct,
            "liquidity_discount_pct_range": list(self.discount_pct_range),
            "market_avg_price_usd": self.market_avg_price_usd,
            "modelled_avg_price_usd": self.modelled_avg_price_usd,
            "reported_avg_price_usd": self.reported_avg_price_usd,
            "market_price_source": self.market_price_source,
        }


def _schedule_ratios(model: SquareRootImpact, slices_eth: np.ndarray) -> tuple[float, np.ndarray]:
    """Total discount fraction and each slice's fill / mid-before ratio (mid = 1)."""
    schedule = model.execute_schedule(1.0, slices_eth)
    if schedule.total_unfilled_eth > 0:
        raise InvalidArgument(
            f"qty_eth={float(slices_eth.sum()):,.0f} exceeds what the square-root law can fill "
            f"(V / (Y sigma)^2 = {model.capacity_eth:,.0f} ETH); lower impact_y or raise adv_eth."
        )
    total = 1.0 - schedule.avg_fill_price_usd
    return total, np.asarray(schedule.avg_price_usd / schedule.mid_before_usd)


def sale_discount(
    slices_eth: Sequence[float],
    sale_prices_usd: Sequence[float],
    *,
    sigma_daily: float,
    adv_eth: float,
    impact_y: float,
    impact_y_range: tuple[float, float],
    market_prices_usd: Sequence[float] | None = None,
    market_price_source: str = "",
) -> SaleDiscountReport:
    """Liquidity discount of a sale made in slices (one per day), by the square-root law.

    Parameters
    ----------
    slices_eth
        ETH sold in each daily slice.
    sale_prices_usd
        The reported price of each slice (USD per ETH), for the reported average.
    sigma_daily, adv_eth, impact_y, impact_y_range
        Square-root-law parameters: daily volatility (fraction), average daily volume (ETH),
        Y and its sensitivity range.
    market_prices_usd
        The market's price on each slice's day (e.g. the daily typical price), or None.

    Returns
    -------
    SaleDiscountReport
    """
    slices = np.asarray(slices_eth, dtype=np.float64)
    prices = np.asarray(sale_prices_usd, dtype=np.float64)
    if slices.size == 0 or slices.shape != prices.shape:
        raise InvalidArgument("sale: give one price per slice and at least one slice.")
    qty = float(slices.sum())
    central = SquareRootImpact(sigma_daily=sigma_daily, adv_eth=adv_eth, impact_y=impact_y)
    discount, ratios = _schedule_ratios(central, slices)
    low, high = (
        _schedule_ratios(
            SquareRootImpact(sigma_daily=sigma_daily, adv_eth=adv_eth, impact_y=y), slices
        )[0]
        for y in impact_y_range
    )
    market_avg = modelled = math.nan
    if market_prices_usd is not None:
        market = np.asarray(market_prices_usd, dtype=np.float64)
        if market.shape == slices.shape and np.all(np.isfinite(market)):
            market_avg = float(np.dot(slices, market) / qty)
            modelled = float(np.dot(slices, market * ratios) / qty)
    return SaleDiscountReport(
        qty_eth=qty,
        n_slices=int(slices.size),
        sigma_daily=sigma_daily,
        adv_eth=adv_eth,
        impact_y=impact_y,
        impact_y_range=impact_y_range,
        peak_impact_pct=100.0 * float(central.peak_impact_frac(qty)),
        discount_pct=100.0 * discount,
        discount_pct_range=(100.0 * low, 100.0 * high),
        market_avg_price_usd=market_avg,
        modelled_avg_price_usd=modelled,
        reported_avg_price_usd=float(np.dot(slices, prices) / qty),
        market_price_source=market_price_source,
    )


__all__ = ["SaleDiscountReport", "sale_discount"]
