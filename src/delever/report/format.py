"""Number formats shared by the terminal and HTML output."""

from __future__ import annotations

import math


def format_usd(value: float) -> str:
    """``-$258.6M`` for millions and more, ``$1,904.04`` below; ``n/a`` for NaN/inf."""
    if not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    if abs(value) >= 1e6:
        return f"{sign}${abs(value) / 1e6:,.1f}M"
    return f"{sign}${abs(value):,.2f}"


__all__ = ["format_usd"]
