"""When does the price get back to the cost basis?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from delever._typing import ArrayLike
from delever.errors import InvalidArgument, check_positive

T = TypeVar("T")


def time_to_recover(
    price_path_usd: ArrayLike,
    times: Sequence[T],
    cost_basis_usd_per_eth: float,
) -> T | None:
    """The first time the price reaches the cost basis; None if it never does.

    Parameters
    ----------
    price_path_usd
        ETH prices (USD per ETH), one per time, 1-D, finite and > 0.
    times
        The time of each price (datetimes, step numbers, ...), same length.
    cost_basis_usd_per_eth
        Average cost of the long position (USD per ETH), > 0.

    Returns
    -------
    T or None
        ``times[i]`` for the first ``i`` with ``price_path_usd[i] >= cost_basis_usd_per_eth``
        (``times[0]`` if the path starts at or above it); None if no price reaches it.
    """
    cost = check_positive("cost_basis_usd_per_eth", cost_basis_usd_per_eth)
    prices = np.asarray(price_path_usd, dtype=np.float64)
    if prices.ndim != 1:
        raise InvalidArgument(
            f"price_path_usd has shape {prices.shape}; give one path (a 1-D array)."
        )
    if len(times) != prices.shape[0]:
        raise InvalidArgument(
            f"times has {len(times)} entries but price_path_usd has {prices.shape[0]}; "
            "give one time per price."
        )
    bad = np.flatnonzero(~np.isfinite(prices) | (prices <= 0.0))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(
            f"price_path_usd[{i}]={float(prices[i])!r} must be a finite number greater than 0."
        )
    hits = np.flatnonzero(prices >= cost)
    return times[int(hits[0])] if hits.size else None


__all__ = ["time_to_recover"]
