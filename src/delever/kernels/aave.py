"""Aave v3 kernels over arrays of single-collateral ETH / stablecoin-debt accounts.

Each account holds ``collateral_eth`` of one ETH-priced collateral (price ``price_usd``, in USD
per ETH of collateral) against ``debt_usd`` of stablecoin debt priced at $1. The float64 rules
are those of :func:`delever.protocol.liquidation_call` with ``exact=False`` (Aave v3.6
``LiquidationLogic.executeLiquidationCall``), and the two agree to the last bit on such
accounts (checked in tests/protocol/test_kernels.py).

Kernels are plain loops compiled with numba (``kernel = njit(...)(kernel_py)``); each array
argument is either of length n or of length 1 (broadcast by a zero stride, no copy). The
public wrappers convert inputs to contiguous float64 arrays, check lengths and preallocate
outputs. Outcomes are integer codes (``STATUS_*``); :data:`STATUS_TEXT` maps them to the Aave
error names.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from delever._typing import ArrayLike, FloatArray1D, IntArray1D
from delever.errors import InvalidArgument
from delever.kernels._numba import njit, prange

# Outcome codes of liquidation_call (mapped to Aave's Errors.sol names by STATUS_TEXT).
STATUS_LIQUIDATED = 0
STATUS_HEALTHY = 1  # HF >= 1: HealthFactorNotBelowThreshold
STATUS_DUST = 2  # would leave < $1,000 of debt or collateral: MustNotLeaveDust
STATUS_NO_COLLATERAL = 3  # nothing to seize: CollateralCannotBeLiquidated

STATUS_TEXT = {
    STATUS_LIQUIDATED: "liquidated",
    STATUS_HEALTHY: "HealthFactorNotBelowThreshold",
    STATUS_DUST: "MustNotLeaveDust",
    STATUS_NO_COLLATERAL: "CollateralCannotBeLiquidated",
}

# LiquidationLogic.sol constants, in USD and HF units (see delever.protocol.math).
CLOSE_FACTOR_HF_THRESHOLD = 0.95
DEFAULT_LIQUIDATION_CLOSE_FACTOR = 0.5
MIN_BASE_MAX_CLOSE_FACTOR_USD = 2_000.0
MIN_LEFTOVER_USD = 1_000.0


def health_factor_py(
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    price_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    out: FloatArray1D,
) -> None:
    """``HF = collateral * price * LT / debt`` (``inf`` with no debt), written into ``out``."""
    n = out.shape[0]
    sc = 1 if collateral_eth.shape[0] > 1 else 0
    sd = 1 if debt_usd.shape[0] > 1 else 0
    sp = 1 if price_usd.shape[0] > 1 else 0
    sl = 1 if liquidation_threshold.shape[0] > 1 else 0
    for i in prange(n):
        d = debt_usd[i * sd]
        if d > 0.0:
            out[i] = collateral_eth[i * sc] * price_usd[i * sp] * liquidation_threshold[i * sl] / d
        else:
            out[i] = math.inf


health_factor_kernel = njit(cache=True, parallel=True)(health_factor_py)


def liquidation_price_py(
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    out: FloatArray1D,
) -> None:
    """``p = debt / (collateral * LT)`` written into ``out``.

    ``nan`` with no debt (never liquidated: ``price <= nan`` is false) and ``inf`` for debt
    with no collateral (liquidatable at any price).
    """
    n = out.shape[0]
    sc = 1 if collateral_eth.shape[0] > 1 else 0
    sd = 1 if debt_usd.shape[0] > 1 else 0
    sl = 1 if liquidation_threshold.shape[0] > 1 else 0
    for i in prange(n):
        d = debt_usd[i * sd]
        weight = collateral_eth[i * sc] * liquidation_threshold[i * sl]
        if d <= 0.0:
            out[i] = math.nan
        elif weight <= 0.0:
            out[i] = math.inf
        else:
            out[i] = d / weight


liquidation_price_kernel = njit(cache=True, parallel=True)(liquidation_price_py)


def liquidation_call_py(
    collateral_eth: FloatArray1D,
    debt_usd: FloatArray1D,
    price_usd: FloatArray1D,
    liquidation_threshold: FloatArray1D,
    liquidation_bonus: FloatArray1D,
    protocol_fee: FloatArray1D,
    debt_to_cover_usd: FloatArray1D,
    debt_repaid_out: FloatArray1D,
    seized_out: FloatArray1D,
    to_liquidator_out: FloatArray1D,
    fee_out: FloatArray1D,
    bad_debt_out: FloatArray1D,
    close_factor_out: FloatArray1D,
    hf_after_out: FloatArray1D,
    status_out: IntArray1D,
) -> None:
    """One ``liquidationCall`` per account (Aave v3.6 rules, float64), into the ``*_out`` arrays.

    Steps as ``LiquidationLogic.executeLiquidationCall``: HF < 1 or ``STATUS_HEALTHY``; 50%
    cap when the collateral and the debt are both >= $2,000 and HF > 0.95, else 100%;
    collateral ``= repaid / price * (1 + bonus)`` capped at the balance (repaid reduced to
    match); protocol fee ``= fee * bonus part``; ``STATUS_DUST`` if a partial liquidation leaves
    less than $1,000 of debt or collateral; all collateral gone -> the remaining debt is bad
    debt. Reverted calls write zeros, ``close_factor`` 0 and the unchanged HF.
    """
    n = status_out.shape[0]
    sc = 1 if collateral_eth.shape[0] > 1 else 0
    sd = 1 if debt_usd.shape[0] > 1 else 0
    sp = 1 if price_usd.shape[0] > 1 else 0
    sl = 1 if liquidation_threshold.shape[0] > 1 else 0
    sb = 1 if liquidation_bonus.shape[0] > 1 else 0
    sf = 1 if protocol_fee.shape[0] > 1 else 0
    sv = 1 if debt_to_cover_usd.shape[0] > 1 else 0
    for i in prange(n):
        c = collateral_eth[i * sc]
        d = debt_usd[i * sd]
        p = price_usd[i * sp]
        lt = liquidation_threshold[i * sl]
        bonus_factor = 1.0 + liquidation_bonus[i * sb]
        fee_share = protocol_fee[i * sf]
        debt_repaid_out[i] = 0.0
        seized_out[i] = 0.0
        to_liquidator_out[i] = 0.0
        fee_out[i] = 0.0
        bad_debt_out[i] = 0.0
        close_factor_out[i] = 0.0
        hf = c * p * lt / d if d > 0.0 else math.inf
        hf_after_out[i] = hf
        if not hf < 1.0:
            status_out[i] = STATUS_HEALTHY
            continue
        if c <= 0.0 or lt <= 0.0:
            status_out[i] = STATUS_NO_COLLATERAL
            continue
        max_debt = d
        close_factor = 1.0
        if c * p >= MIN_BASE_MAX_CLOSE_FACTOR_USD and d >= MIN_BASE_MAX_CLOSE_FACTOR_USD and (
            hf > CLOSE_FACTOR_HF_THRESHOLD
        ):
            close_factor = DEFAULT_LIQUIDATION_CLOSE_FACTOR
            max_debt = d * DEFAULT_LIQUIDATION_CLOSE_FACTOR  # the pair's debt is all the debt
        cover = debt_to_cover_usd[i * sv]
        actual = cover if cover < max_debt else max_debt
        max_collateral = actual / p * bonus_factor
        if max_collateral > c:
            seized = c
            actual = c * p / bonus_factor
        else:
            seized = max_collateral
        fee = (seized - seized / bonus_factor) * fee_share if fee_share > 0.0 else 0.0
        if actual < d and seized < c and (
            d - actual < MIN_LEFTOVER_USD or (c - seized) * p < MIN_LEFTOVER_USD
        ):
            status_out[i] = STATUS_DUST
            continue
        status_out[i] = STATUS_LIQUIDATED
        debt_repaid_out[i] = actual
        seized_out[i] = seized
        to_liquidator_out[i] = seized - fee
        fee_out[i] = fee
        close_factor_out[i] = close_factor
        if seized == c:
            # No collateral left: LiquidationLogic._burnDebtTokens writes the rest off.
            bad_debt_out[i] = d - actual
            hf_after_out[i] = math.inf
        else:
            left = d - actual
            hf_after_out[i] = (c - seized) * p * lt / left if left > 0.0 else math.inf


liquidation_call_kernel = njit(cache=True, parallel=True)(liquidation_call_py)


class LiquidationArrays(NamedTuple):
    """Per-account outcome of :func:`liquidation_call` (USD for debt, ETH for collateral)."""

    debt_repaid_usd: FloatArray1D
    collateral_seized_eth: FloatArray1D  # to the liquidator + protocol fee
    collateral_to_liquidator_eth: FloatArray1D
    protocol_fee_eth: FloatArray1D
    bad_debt_usd: FloatArray1D
    close_factor: FloatArray1D  # 0.5 or 1.0; 0.0 where the call reverted
    health_factor_after: FloatArray1D
    status: IntArray1D  # STATUS_* codes


def _as_array(name: str, value: ArrayLike) -> FloatArray1D:
    array = np.ascontiguousarray(np.asarray(value, dtype=np.float64).reshape(-1))
    if array.size == 0:
        raise InvalidArgument(f"{name} must not be empty.")
    return array


def _length(**arrays: FloatArray1D) -> int:
    sizes = {name: int(a.shape[0]) for name, a in arrays.items()}
    n = max(sizes.values())
    bad = [f"{name} has {size}" for name, size in sizes.items() if size not in (1, n)]
    if bad:
        raise InvalidArgument(
            f"array lengths must be 1 or {n}: {', '.join(bad)}; give one value per account."
        )
    return n


def health_factor(
    collateral_eth: ArrayLike,
    debt_usd: ArrayLike,
    price_usd: ArrayLike,
    liquidation_threshold: ArrayLike,
) -> FloatArray1D:
    """Health factors of single-collateral ETH / stablecoin-debt accounts.

    Parameters
    ----------
    collateral_eth
        Collateral, ETH (or tokens of the ETH-priced collateral).
    debt_usd
        Stablecoin debt, USD.
    price_usd
        Collateral price, USD; one value or one per account.
    liquidation_threshold
        LT fraction; one value or one per account.

    Returns
    -------
    FloatArray1D
        ``collateral * price * LT / debt``; ``inf`` where there is no debt.
    """
    c = _as_array("collateral_eth", collateral_eth)
    d = _as_array("debt_usd", debt_usd)
    p = _as_array("price_usd", price_usd)
    lt = _as_array("liquidation_threshold", liquidation_threshold)
    out = np.empty(_length(collateral_eth=c, debt_usd=d, price_usd=p, liquidation_threshold=lt))
    health_factor_kernel(c, d, p, lt, out)
    return out


def liquidation_price(
    collateral_eth: ArrayLike, debt_usd: ArrayLike, liquidation_threshold: ArrayLike
) -> FloatArray1D:
    """ETH price at which HF = 1: ``debt / (collateral * LT)``.

    ``nan`` where there is no debt and ``inf`` where there is debt but no collateral.
    """
    c = _as_array("collateral_eth", collateral_eth)
    d = _as_array("debt_usd", debt_usd)
    lt = _as_array("liquidation_threshold", liquidation_threshold)
    out = np.empty(_length(collateral_eth=c, debt_usd=d, liquidation_threshold=lt))
    liquidation_price_kernel(c, d, lt, out)
    return out


def liquidation_call(
    collateral_eth: ArrayLike,
    debt_usd: ArrayLike,
    price_usd: ArrayLike,
    liquidation_threshold: ArrayLike,
    liquidation_bonus: ArrayLike,
    protocol_fee: ArrayLike,
    debt_to_cover_usd: ArrayLike = math.inf,
) -> LiquidationArrays:
    """One Aave v3.6 ``liquidationCall`` on each account (see :func:`liquidation_call_py`).

    Parameters
    ----------
    collateral_eth, debt_usd, price_usd, liquidation_threshold
        As :func:`health_factor`.
    liquidation_bonus
        Bonus above 1 (0.05 for WETH).
    protocol_fee
        Treasury share of the bonus part (0.10).
    debt_to_cover_usd
        Debt the liquidator offers; ``inf`` (default) takes the maximum the rules allow.

    Returns
    -------
    LiquidationArrays
    """
    c = _as_array("collateral_eth", collateral_eth)
    d = _as_array("debt_usd", debt_usd)
    p = _as_array("price_usd", price_usd)
    lt = _as_array("liquidation_threshold", liquidation_threshold)
    b = _as_array("liquidation_bonus", liquidation_bonus)
    f = _as_array("protocol_fee", protocol_fee)
    v = _as_array("debt_to_cover_usd", debt_to_cover_usd)
    if np.any(np.isnan(v)) or np.any(v < 0):
        raise InvalidArgument("debt_to_cover_usd must not be negative or NaN.")
    n = _length(collateral_eth=c, debt_usd=d, price_usd=p, liquidation_threshold=lt,
                liquidation_bonus=b, protocol_fee=f, debt_to_cover_usd=v)
    result = LiquidationArrays(
        debt_repaid_usd=np.empty(n),
        collateral_seized_eth=np.empty(n),
        collateral_to_liquidator_eth=np.empty(n),
        protocol_fee_eth=np.empty(n),
        bad_debt_usd=np.empty(n),
        close_factor=np.empty(n),
        health_factor_after=np.empty(n),
        status=np.empty(n, dtype=np.int64),
    )
    liquidation_call_kernel(c, d, p, lt, b, f, v, *result)
    return result


__all__ = [
    "STATUS_DUST",
    "STATUS_HEALTHY",
    "STATUS_LIQUIDATED",
    "STATUS_NO_COLLATERAL",
    "STATUS_TEXT",
    "LiquidationArrays",
    "health_factor",
    "health_factor_kernel",
    "health_factor_py",
    "liquidation_call",
    "liquidation_call_kernel",
    "liquidation_call_py",
    "liquidation_price",
    "liquidation_price_kernel",
    "liquidation_price_py",
]
