"""Array kernels of the price-impact models (no objects, no I/O).

Each kernel works on flat float64 arrays and plain numbers; the wrappers in
:mod:`delever.market` validate inputs, broadcast, preallocate ``out`` arrays and build the
result objects. Loops are compiled with numba (``kernel = njit(cache=True)(kernel_py)``);
kernels that are a handful of numpy calls (``searchsorted`` on cumulative sums) stay numpy.
Sells are positive ETH amounts throughout.
"""

from __future__ import annotations

import math

import numpy as np

from delever._typing import FloatArray1D
from delever.kernels._numba import njit

# Decay-kernel codes for the linear transient-impact kernels.
DECAY_EXPONENTIAL = 0  # Obizhaeva-Wang: G(t) = g0 * (perm + (1 - perm) * exp(-rho t))
DECAY_POWER_LAW = 1  # propagator: G(t) = g0 / (1 + t / t0) ** beta


def sqrt_impact_py(
    mid_usd: FloatArray1D,
    qty_eth: FloatArray1D,
    y_sigma: float,
    adv_eth: float,
    permanent_frac: float,
    filled_out: FloatArray1D,
    avg_out: FloatArray1D,
    new_mid_out: FloatArray1D,
) -> None:
    """Square-root-law fills of independent sell orders, written into the ``*_out`` arrays.

    The marginal price after ``q`` ETH is ``mid * (1 - y_sigma * sqrt(q / adv_eth))``; it
    reaches zero at ``q_max = adv_eth / y_sigma**2``, beyond which nothing more is sold.
    The average fill is ``mid * (1 - 2/3 * peak)`` and the new mid
    ``mid * (1 - permanent_frac * peak)``, ``peak = y_sigma * sqrt(filled / adv_eth)``.
    """
    ys2 = y_sigma * y_sigma  # may underflow to 0 for a tiny y_sigma: then no cap
    q_max = adv_eth / ys2 if ys2 > 0.0 else math.inf
    for i in range(qty_eth.shape[0]):
        mid = mid_usd[i]
        qty = qty_eth[i]
        if qty <= 0.0:
            filled_out[i] = 0.0
            avg_out[i] = mid
            new_mid_out[i] = mid
            continue
        filled = qty if qty < q_max else q_max
        peak = y_sigma * math.sqrt(filled / adv_eth)
        filled_out[i] = filled
        avg_out[i] = mid * (1.0 - (2.0 / 3.0) * peak)
        new_mid_out[i] = mid * (1.0 - permanent_frac * peak)


sqrt_impact = njit(cache=True)(sqrt_impact_py)


def book_sweep(
    cum_size_eth: FloatArray1D,
    cum_notional_rel: FloatArray1D,
    level_price_rel: FloatArray1D,
    qty_eth: FloatArray1D,
) -> tuple[FloatArray1D, FloatArray1D, FloatArray1D]:
    """Sweep sells down a book of bid levels, vectorised over orders (searchsorted).

    Parameters
    ----------
    cum_size_eth : cumulative bid size from the best bid down, ETH, strictly increasing.
    cum_notional_rel : cumulative ``size * price / mid`` of the same levels, ETH.
    level_price_rel : bid prices as fractions of the mid, strictly decreasing.
    qty_eth : sell sizes, ETH, non-negative.

    Returns
    -------
    filled_eth, proceeds_rel (USD proceeds divided by the mid), last_price_rel (price of the
    last level hit as a fraction of the mid; 1.0 where nothing was sold).
    """
    filled = np.minimum(qty_eth, cum_size_eth[-1])
    # First level whose cumulative size reaches the order: the level the sweep ends in.
    k = np.searchsorted(cum_size_eth, filled, side="left")
    k = np.minimum(k, cum_size_eth.shape[0] - 1)
    prev = k - 1
    has_prev = prev >= 0
    prev_size = np.where(has_prev, cum_size_eth[np.maximum(prev, 0)], 0.0)
    prev_notional = np.where(has_prev, cum_notional_rel[np.maximum(prev, 0)], 0.0)
    proceeds = prev_notional + (filled - prev_size) * level_price_rel[k]
    last = np.where(filled > 0.0, level_price_rel[k], 1.0)
    return filled, proceeds, last


def book_qty_at_price(
    cum_size_eth: FloatArray1D, level_price_rel: FloatArray1D, price_rel: FloatArray1D
) -> FloatArray1D:
    """ETH a sweep sells before the marginal price falls below ``price_rel`` (levels >= it)."""
    # Levels are sorted by decreasing price: count those at or above the target price.
    n_levels = np.searchsorted(-level_price_rel, -price_rel, side="right")
    padded = np.concatenate(([0.0], cum_size_eth))
    out: FloatArray1D = padded[n_levels]
    return out


def book_marginal_price_rel(
    cum_size_eth: FloatArray1D, level_price_rel: FloatArray1D, qty_eth: FloatArray1D
) -> FloatArray1D:
    """Price (fraction of mid) of the level holding the ``qty_eth``-th ETH; 1.0 at zero, 0 past
    the end of the book."""
    k = np.searchsorted(cum_size_eth, qty_eth, side="left")
    inside = k < cum_size_eth.shape[0]
    price = np.where(inside, level_price_rel[np.minimum(k, cum_size_eth.shape[0] - 1)], 0.0)
    out: FloatArray1D = np.where(qty_eth > 0.0, price, 1.0)
    return out


def univ3_swap_table_eval(
    zero_for_one: bool,
    boundary_sqrt: FloatArray1D,
    segment_liquidity: FloatArray1D,
    cum_in_net: FloatArray1D,
    cum_out: FloatArray1D,
    amount_in_net: FloatArray1D,
) -> tuple[FloatArray1D, FloatArray1D, FloatArray1D]:
    """Exact-input swaps of many sizes through a precomputed range table (raw token units).

    Parameters
    ----------
    zero_for_one : True when token0 is sold (sqrt price falls), False for token1 (it rises).
    boundary_sqrt : (K + 1,) sqrt prices (Q64.96 / 2**96) from the current price through each
        initialized tick in the swap direction to where liquidity ends.
    segment_liquidity : (K,) active liquidity in each segment, all > 0 except possibly zero
        width segments.
    cum_in_net, cum_out : (K + 1,) input net of fee and output to reach each boundary.
    amount_in_net : input amounts net of fee.

    Returns
    -------
    used_in_net (capped at the table's capacity), amount_out, sqrt_price_after.

    Notes
    -----
    Inside a segment of liquidity L (Uniswap v3 SqrtPriceMath): token0 in gives
    ``sqrtQ = L * sqrtP / (L + dx * sqrtP)``, i.e. ``d(1/sqrtP) = dx / L``, and
    ``dy_out = L * (sqrtP - sqrtQ)``; token1 in gives ``sqrtQ = sqrtP + dy / L`` and
    ``dx_out = L * (1/sqrtP - 1/sqrtQ)``.
    """
    n_seg = segment_liquidity.shape[0]
    used = np.minimum(amount_in_net, cum_in_net[-1])
    if n_seg == 0:
        zeros = np.zeros_like(used)
        return zeros, zeros.copy(), np.full_like(used, boundary_sqrt[0])
    k = np.searchsorted(cum_in_net, used, side="right") - 1
    k = np.clip(k, 0, n_seg - 1)
    rest = used - cum_in_net[k]
    start = boundary_sqrt[k]
    liq = segment_liquidity[k]
    moving = rest > 0.0
    safe_liq = np.where(moving, liq, 1.0)
    # Outputs in cancellation-free form: L (s - s') = r s s' for token0 in, and
    # L (1/s - 1/s') = r / (s s') for token1 in (r the input used in the segment).
    if zero_for_one:
        after = np.where(moving, safe_liq * start / (safe_liq + rest * start), start)
        out = cum_out[k] + rest * start * after
    else:
        after = np.where(moving, start + rest / safe_liq, start)
        out = cum_out[k] + rest / (start * after)
    return used, out, after


def univ3_net_in_to_sqrt(
    zero_for_one: bool,
    boundary_sqrt: FloatArray1D,
    segment_liquidity: FloatArray1D,
    cum_in_net: FloatArray1D,
    target_sqrt: FloatArray1D,
) -> FloatArray1D:
    """Input net of fee that moves the pool's sqrt price to ``target_sqrt`` (capped at the
    table's capacity; zero for targets on the wrong side of the current price)."""
    n_seg = segment_liquidity.shape[0]
    if n_seg == 0:
        return np.zeros_like(target_sqrt)
    # Position along the swap direction: sqrt falls for zero_for_one, rises otherwise.
    sign = -1.0 if zero_for_one else 1.0
    key = sign * boundary_sqrt
    tkey = sign * target_sqrt
    k = np.searchsorted(key, tkey, side="right") - 1
    before = k < 0
    beyond = k >= n_seg
    kk = np.clip(k, 0, n_seg - 1)
    start = boundary_sqrt[kk]
    liq = segment_liquidity[kk]
    safe_target = np.where(target_sqrt > 0.0, target_sqrt, 1.0)
    if zero_for_one:
        within = liq * (start - safe_target) / (start * safe_target)
    else:
        within = liq * (target_sqrt - start)
    amount = cum_in_net[kk] + np.maximum(within, 0.0)
    amount = np.where(before, 0.0, amount)
    out: FloatArray1D = np.where(beyond, cum_in_net[-1], np.minimum(amount, cum_in_net[-1]))
    return out


def transient_fills_py(
    time_days: FloatArray1D,
    trade_eth: FloatArray1D,
    kind: int,
    g0_usd_per_eth: float,
    p1: float,
    p2: float,
    fill_out: FloatArray1D,
    mid_before_out: FloatArray1D,
) -> None:
    """Fill prices and pre-trade mids (as USD offsets from the initial mid) of a schedule
    under linear transient impact with decay kernel G.

    The mid just before trade i is ``-sum_{j<i} G(t_i - t_j) n_j``; the trade walks a
    block-shaped book of depth ``1 / G(0)``, so it fills on average ``G(0) n_i / 2`` below
    that mid and leaves the mid ``G(0) n_i`` lower. ``kind`` selects G:
    ``DECAY_EXPONENTIAL``: ``g0 * (p1 + (1 - p1) * exp(-p2 t))`` (p1 permanent fraction,
    p2 resilience per day); ``DECAY_POWER_LAW``: ``g0 / (1 + t / p1) ** p2`` (p1 = t0 in days,
    p2 = beta). O(n^2) in the number of trades.
    """
    n = time_days.shape[0]
    for i in range(n):
        acc = 0.0
        for j in range(i):
            dt = time_days[i] - time_days[j]
            if kind == DECAY_EXPONENTIAL:
                g = g0_usd_per_eth * (p1 + (1.0 - p1) * math.exp(-p2 * dt))
            else:
                g = g0_usd_per_eth / (1.0 + dt / p1) ** p2
            acc += g * trade_eth[j]
        mid_before_out[i] = -acc
        fill_out[i] = -acc - 0.5 * g0_usd_per_eth * trade_eth[i]


transient_fills = njit(cache=True)(transient_fills_py)


def transient_mid_py(
    time_days: FloatArray1D,
    trade_eth: FloatArray1D,
    kind: int,
    g0_usd_per_eth: float,
    p1: float,
    p2: float,
    eval_days: FloatArray1D,
    out: FloatArray1D,
) -> None:
    """Mid offsets (USD) at ``eval_days``: ``-sum_{t_j <= t} G(t - t_j) n_j`` (trades at the
    evaluation time count as done). Same kernels as :func:`transient_fills_py`."""
    for k in range(eval_days.shape[0]):
        t = eval_days[k]
        acc = 0.0
        for j in range(time_days.shape[0]):
            dt = t - time_days[j]
            if dt < 0.0:
                continue
            if kind == DECAY_EXPONENTIAL:
                g = g0_usd_per_eth * (p1 + (1.0 - p1) * math.exp(-p2 * dt))
            else:
                g = g0_usd_per_eth / (1.0 + dt / p1) ** p2
            acc += g * trade_eth[j]
        out[k] = -acc


transient_mid = njit(cache=True)(transient_mid_py)


__all__ = [
    "DECAY_EXPONENTIAL",
    "DECAY_POWER_LAW",
    "book_marginal_price_rel",
    "book_qty_at_price",
    "book_sweep",
    "sqrt_impact",
    "sqrt_impact_py",
    "transient_fills",
    "transient_fills_py",
    "transient_mid",
    "transient_mid_py",
    "univ3_net_in_to_sqrt",
    "univ3_swap_table_eval",
]
