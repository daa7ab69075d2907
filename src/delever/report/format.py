"""Number formats shared by the terminal and HTML output."""

from __future__ import annotations

import math
from dataclasses import dataclass


def format_usd(value: float) -> str:
    """``-$258.6M`` for millions and more, ``$1,904.04`` below; ``n/a`` for NaN/inf."""
    if not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    if abs(value) >= 1e6:
        return f"{sign}${abs(value) / 1e6:,.1f}M"
    return f"{sign}${abs(value):,.2f}"


@dataclass(frozen=True)
class ReportUnits:
    """What the engine sections count in: ETH and USD, or a loop's asset and ETH."""

    asset: str = "ETH"
    numeraire: str = "USD"

    @property
    def is_usd(self) -> bool:
        """Whether values are in USD (shown in $ and millions)."""
        return self.numeraire == "USD"

    def money(self, value: float) -> str:
        """A value: ``format_usd`` in USD, four decimals and the numeraire otherwise."""
        if self.is_usd:
            return format_usd(value)
        return "n/a" if not math.isfinite(value) else f"{value:,.4f} {self.numeraire}"

    def qty(self, amount: float) -> str:
        """An amount of the asset: whole ETH, or four significant digits of a loop's units."""
        if self.is_usd:
            return f"{amount:,.0f} ETH"
        return f"{amount:,.4g} {self.asset}"

    @property
    def scale(self) -> float:
        """Divisor of values on axes: millions of USD, single units of another numeraire."""
        return 1e6 if self.is_usd else 1.0

    @property
    def money_axis(self) -> str:
        """The axis label of values."""
        return "USD millions" if self.is_usd else self.numeraire

    @property
    def price_axis(self) -> str:
        """The axis label of prices."""
        return f"{self.numeraire} per {self.asset}"


ETH_USD = ReportUnits()
"""ETH amounts and USD values: every position but a loop."""

def report_units(engine_frame: dict[str, str] | None) -> ReportUnits:
    """The units of a run payload's ``engine_frame`` (a loop's asset and ETH); ETH and USD
    where it has none."""
    if not engine_frame:
        return ETH_USD
    return ReportUnits(str(engine_frame["asset"]), str(engine_frame["numeraire"]))


__all__ = ["ETH_USD", "ReportUnits", "format_usd", "report_units"]
