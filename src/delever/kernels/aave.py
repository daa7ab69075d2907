"""Aave v3 kernels over arrays of single-collateral ETH / stablecoin-debt accounts.

Each account holds ``collateral_eth`` of one ETH-priced collateral (price ``price_usd``, in USD
per ETH of collateral) against ``debt_usd`` of stablecoin debt priced at $1. The liquidation
rules arrive as a :class:`~delever.kernels.records.LiquidationRules` record built by the
protocol object (``delever.protocol.get_protocol("aave-v3.6").kernel_rules()``); each account's
call is :func:`delever.kernels.liquidation.liquidate_one`. With a rule set's record the results
agree with :func:`delever.protocol.liquidation_call` (``exact=False``, same ``rule_set``) to
1e-14 relative on such accounts (tests/protocol/test_protocol_kernels.py,
tests/protocol/test_rule_sets.py).

Kernels are plain loops compiled with numba (``kernel = njit(...)(kernel_py)``); each input
is either a float shared by every account or a float64 array with one value per account
(numba compiles one specialised loop per combination). The public wrappers convert inputs,
check lengths and preallocate outputs. Outcomes are integer codes (``STATUS_*``);
:data:`STATUS_TEXT` maps them to the Aave error names.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from delever._typing import ArrayLike, FloatArray1D, IntArray1D
from delever.errors import InvalidArgument
from delever.kernels._numba import njit, prange
from delever.kernels.liquidation import (
    STATUS_DUST,
    STATUS_HEALTHY,
    STATUS_LIQUIDATED,
    STATUS_NO_COLLATERAL,
    liquidate_one,
)
from delever.kernels.records import LiquidationRules

STATUS_TEXT = {
    STATUS_LIQUIDATED: "liquidated",
    STATUS_HEALTHY: "HealthFactorNotBelowThreshold",
    STATUS_DUST: "MustNotLeaveDust",
    STATUS_NO_COLLATERAL: "CollateralCannotBeLiquidated",
}



def _at_py(x: float | FloatArray1D, i: int) -> float:
    """``x[i]`` for a per-account array, ``x`` itself for one value shared by every account.

    Compiled, the ``isinstance`` test is resolved per argument type, so each combination of
    scalar and array arguments gets its own specialised, vectorisable loop.
    """
    if isinstance(x, float):
        return x
    return x[i]  # type: ignore[no-any-return]


_at = njit(inline="always")(_at_py)

# error_model="numpy": float division by zero gives inf/nan instead of a checked exception,
# which lets LLVM vectorise the loops; every division below is guarded anyway.
_JIT = {"cache": True, "parallel": True, "error_model": "numpy"}


def health_factor_py(
    collateral_eth: float | FloatArray1D,
    debt_usd: float | FloatArray1D,
    price_usd: float | FloatArray1D,
    liquidation_threshold: float | FloatArray1D,
    out: FloatArray1D,
) -> None:
    """``HF = collateral * price * LT / debt`` (``inf`` with no debt), written into ``out``."""
    for i in prange(out.shape[0]):
        d = _at(debt_usd, i)
        hf = _at(collateral_eth, i) * _at(price_usd, i) * _at(liquidation_threshold, i) / d
        out[i] = hf if d > 0.0 else math.inf


health_factor_kernel = njit(**_JIT)(health_factor_py)


def liquidation_price_py(
    collateral_eth: float | FloatArray1D,
    debt_usd: float | FloatArray1D,
    liquidation_threshold: float | FloatArray1D,
    out: FloatArray1D,
) -> None:
    """``p = debt / (collateral * LT)`` written into ``out``.

    ``nan`` with no debt (never liquidated: ``price <= nan`` is false) and ``inf`` for debt
    with no collateral (liquidatable at any price).
    """
    for i in prange(out.shape[0]):
        d = _at(debt_usd, i)
        weight = _at(collateral_eth, i) * _at(liquidation_threshold, i)
        price = d / weight
        if not d > 0.0:
            price = math.nan
        elif not weight > 0.0:
            price = math.inf
        out[i] = price


liquidation_price_kernel = njit(**_JIT)(liquidation_price_py)


class LiquidationArrays(NamedTuple):
    """Per-account outcome of :func:`liquidation_call` (USD for debt, ETH for collateral)."""

    debt_repaid_usd: FloatArray1D
    collateral_seized_eth: FloatArray1D  # to the liquidator + protocol fee
    collateral_to_liquidator_eth: FloatArray1D
    protocol_fee_eth: FloatArray1D
    # Debt left on an account whose collateral is all taken: written off when
    # rules.write_off_bad_debt (Aave 3.3+), else still owed (Aave 3.0, HF after 0).
    bad_debt_usd: FloatArray1D
    close_factor: FloatArray1D  # 0.5 or 1.0; 0.0 where the call reverted
    health_factor_after: FloatArray1D
    status: IntArray1D  # STATUS_* codes


class AccountArrays(NamedTuple):
    """The accounts one array call liquidates: each field one float or one float per account."""

    collateral_eth: float | FloatArray1D
    debt_usd: float | FloatArray1D
    price_usd: float | FloatArray1D
    liquidation_threshold: float | FloatArray1D
    liquidation_bonus: float | FloatArray1D
    protocol_fee: float | FloatArray1D
    debt_to_cover_usd: float | FloatArray1D


def liquidation_call_rules_py(
    rules: LiquidationRules,
    accounts: AccountArrays,
    repaid_out: FloatArray1D,
    seized_out: FloatArray1D,
    to_liquidator_out: FloatArray1D,
    fee_out: FloatArray1D,
    bad_out: FloatArray1D,
    close_factor_out: FloatArray1D,
    hf_after_out: FloatArray1D,
    status_out: IntArray1D,
) -> None:
    """One liquidation call per account by ``rules`` (:func:`liquidate_one`), into the
    ``*_out`` arrays (the fields of :class:`LiquidationArrays`, in order: numba's parallel
    lowering loses writes made through a tuple of arrays, so they come one by one).

    Reverted calls write zeros, ``close_factor`` 0 and the unchanged HF.
    """
    c, d, p, lt, b, f, v = accounts
    for i in prange(status_out.shape[0]):
        status, repaid, seized, to_liquidator, fee, bad, close_factor, hf_after = liquidate_one(
            rules, _at(c, i), _at(d, i), _at(p, i), _at(lt, i), _at(b, i), _at(f, i), _at(v, i),
        )
        status_out[i] = status
        repaid_out[i] = repaid
        seized_out[i] = seized
        to_liquidator_out[i] = to_liquidator
        fee_out[i] = fee
        bad_out[i] = bad
        close_factor_out[i] = close_factor
        hf_after_out[i] = hf_after


liquidation_call_kernel = njit(**_JIT)(liquidation_call_rules_py)


def _arg(name: str, value: ArrayLike) -> float | FloatArray1D:
    """One value (a float) or one value per account (a contiguous float64 1-D array)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return float(array)
    array = array.reshape(-1)
    if array.size == 0:
        raise InvalidArgument(f"{name} must not be empty.")
    if array.size == 1:
        return float(array[0])
    return np.ascontiguousarray(array)


def _length(**args: float | FloatArray1D) -> int:
    sizes = {name: int(a.shape[0]) for name, a in args.items() if isinstance(a, np.ndarray)}
    if not sizes:
        return 1
    n = max(sizes.values())
    bad = [f"{name} has {size}" for name, size in sizes.items() if size != n]
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
    c = _arg("collateral_eth", collateral_eth)
    d = _arg("debt_usd", debt_usd)
    p = _arg("price_usd", price_usd)
    lt = _arg("liquidation_threshold", liquidation_threshold)
    out = np.empty(_length(collateral_eth=c, debt_usd=d, price_usd=p, liquidation_threshold=lt))
    health_factor_kernel(c, d, p, lt, out)
    return out


def liquidation_price(
    collateral_eth: ArrayLike, debt_usd: ArrayLike, liquidation_threshold: ArrayLike
) -> FloatArray1D:
    """ETH price at which HF = 1: ``debt / (collateral * LT)``.

    ``nan`` where there is no debt and ``inf`` where there is debt but no collateral.
    """
    c = _arg("collateral_eth", collateral_eth)
    d = _arg("debt_usd", debt_usd)
    lt = _arg("liquidation_threshold", liquidation_threshold)
    out = np.empty(_length(collateral_eth=c, debt_usd=d, liquidation_threshold=lt))
    liquidation_price_kernel(c, d, lt, out)
    return out


def liquidation_call(
    rules: LiquidationRules,
    collateral_eth: ArrayLike,
    debt_usd: ArrayLike,
    price_usd: ArrayLike,
    liquidation_threshold: ArrayLike,
    liquidation_bonus: ArrayLike,
    protocol_fee: ArrayLike,
    debt_to_cover_usd: ArrayLike = math.inf,
) -> LiquidationArrays:
    """One liquidation call on each account by ``rules`` (see :func:`liquidation_call_rules_py`).

    Parameters
    ----------
    rules
        The protocol's liquidation rules (``LendingProtocol.kernel_rules()``).
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
    c = _arg("collateral_eth", collateral_eth)
    d = _arg("debt_usd", debt_usd)
    p = _arg("price_usd", price_usd)
    lt = _arg("liquidation_threshold", liquidation_threshold)
    b = _arg("liquidation_bonus", liquidation_bonus)
    f = _arg("protocol_fee", protocol_fee)
    v = _arg("debt_to_cover_usd", debt_to_cover_usd)
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
    if not isinstance(rules, LiquidationRules):
        raise InvalidArgument("rules must be a LiquidationRules record (protocol.kernel_rules()).")
    # Plain floats and a bool, so numba compiles one specialisation per argument layout.
    typed_rules = LiquidationRules(float(rules.close_factor), float(rules.full_close_hf),
                                   float(rules.min_base_usd), float(rules.min_leftover_usd),
                                   bool(rules.write_off_bad_debt))
    liquidation_call_kernel(typed_rules, AccountArrays(c, d, p, lt, b, f, v), *result)
    return result


__all__ = [
    "STATUS_DUST",
    "STATUS_HEALTHY",
    "STATUS_LIQUIDATED",
    "STATUS_NO_COLLATERAL",
    "STATUS_TEXT",
    "AccountArrays",
    "LiquidationArrays",
    "health_factor",
    "health_factor_kernel",
    "health_factor_py",
    "liquidation_call",
    "liquidation_call_kernel",
    "liquidation_call_rules_py",
    "liquidation_price",
    "liquidation_price_kernel",
    "liquidation_price_py",
]
