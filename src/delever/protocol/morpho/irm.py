"""Morpho's AdaptiveCurveIRM: the exact integer contract and float helpers.

Mirrors morpho-org/morpho-blue-irm (commit a1a87fd) ``src/adaptive-curve-irm/``:
``AdaptiveCurveIrm.sol`` (``_borrowRate``, ``_curve``, ``_newRateAtTarget``),
``libraries/ExpLib.sol`` (``wExp``), ``libraries/ConstantsLib.sol``, ``libraries/MathLib.sol``
(``wMulToZero``, ``wDivToZero``) and ``libraries/UtilsLib.sol`` (``bound``).

The curve, with ``C = CURVE_STEEPNESS`` and ``err`` the utilization's distance from the target
normalised to [-1, 1]: ``rate = ((1 - 1/C) err + 1) r_T`` below target, ``((C - 1) err + 1) r_T``
above, so ``r_T / 4`` at 0% utilization, ``r_T`` at 90%, ``4 r_T`` at 100%. The rate at target
``r_T`` moves continuously: ``r_T(t) = r_T(0) exp(ADJUSTMENT_SPEED * err * t)``, bounded to
[MIN_RATE_AT_TARGET, MAX_RATE_AT_TARGET]. Integer rates are per second, scaled by WAD; float
helpers take and return rates per year (the curve is linear in ``r_T``, so only the bounds and
the adaptation speed care about the unit).

Solidity's signed ``/`` truncates toward zero (Python's ``//`` floors): :func:`_tdiv` mirrors it.
"""

from __future__ import annotations

import math

from delever.protocol.morpho.math import WAD, w_div_down

SECONDS_PER_YEAR = 365 * 24 * 3600  # Solidity's `365 days` in ConstantsLib.sol

# --- ConstantsLib.sol (morpho-blue-irm, adaptive-curve-irm/libraries) -----------------------
CURVE_STEEPNESS = 4 * WAD  # `CURVE_STEEPNESS = 4 ether`
ADJUSTMENT_SPEED = 50 * WAD // SECONDS_PER_YEAR  # `ADJUSTMENT_SPEED = 50 ether / int256(365 days)`
TARGET_UTILIZATION = 9 * 10**17  # `TARGET_UTILIZATION = 0.9 ether`
# `INITIAL_RATE_AT_TARGET = 0.04 ether / int256(365 days)` (4% a year)
INITIAL_RATE_AT_TARGET = 4 * 10**16 // SECONDS_PER_YEAR
# `MIN_RATE_AT_TARGET = 0.001 ether / int256(365 days)` (0.1% a year)
MIN_RATE_AT_TARGET = 10**15 // SECONDS_PER_YEAR
# `MAX_RATE_AT_TARGET = 2.0 ether / int256(365 days)` (200% a year)
MAX_RATE_AT_TARGET = 2 * WAD // SECONDS_PER_YEAR

# The same as floats, per year (the nominal values the constants above are divided from).
CURVE_STEEPNESS_F = 4.0
ADJUSTMENT_SPEED_PER_YEAR = 50.0
TARGET_UTILIZATION_F = 0.9
INITIAL_RATE_AT_TARGET_PER_YEAR = 0.04
MIN_RATE_AT_TARGET_PER_YEAR = 0.001
MAX_RATE_AT_TARGET_PER_YEAR = 2.0

# --- ExpLib.sol -----------------------------------------------------------------------------
LN_2_INT = 693147180559945309  # `LN_2_INT = 0.693147180559945309 ether`
LN_WEI_INT = -41446531673892822312  # `LN_WEI_INT = -41.446531673892822312 ether`
WEXP_UPPER_BOUND = 93859467695000404319  # `WEXP_UPPER_BOUND = 93.859467695000404319 ether`
# `WEXP_UPPER_VALUE = 57716089161558943949701069502944508345128.422502756744429568 ether`
WEXP_UPPER_VALUE = 57716089161558943949701069502944508345128422502756744429568


def _tdiv(x: int, y: int) -> int:
    """Solidity's signed division: the quotient truncated toward zero."""
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


def w_mul_to_zero(x: int, y: int) -> int:
    """MathLib.wMulToZero: ``x * y / WAD`` rounded toward zero."""
    return _tdiv(x * y, WAD)


def w_div_to_zero(x: int, y: int) -> int:
    """MathLib.wDivToZero: ``x * WAD / y`` rounded toward zero."""
    return _tdiv(x * WAD, y)


def bound(x: int, low: int, high: int) -> int:
    """UtilsLib.bound: ``max(min(x, high), low)``."""
    return max(min(x, high), low)


def w_exp(x: int) -> int:
    """ExpLib.wExp: ``e^x`` (WAD) as ``2^q e^r`` with a 2nd-order Taylor polynomial for ``e^r``.

    0 below ``ln(1e-18)``; ``WEXP_UPPER_VALUE`` at and above ``WEXP_UPPER_BOUND``.
    """
    if x < LN_WEI_INT:
        return 0
    if x >= WEXP_UPPER_BOUND:
        return WEXP_UPPER_VALUE
    # q = x / ln(2) rounded half toward zero; |r| <= ln(2)/2.
    rounding_adjustment = -_tdiv(LN_2_INT, 2) if x < 0 else _tdiv(LN_2_INT, 2)
    q = _tdiv(x + rounding_adjustment, LN_2_INT)
    r = x - q * LN_2_INT
    exp_r = WAD + r + _tdiv(_tdiv(r * r, WAD), 2)  # `r * r / WAD_INT / 2`
    return exp_r << q if q >= 0 else exp_r >> -q  # exp_r > 0: shifts as the EVM's


def utilization_wad(total_borrow_assets: int, total_supply_assets: int) -> int:
    """The IRM's utilization: ``totalBorrowAssets.wDivDown(totalSupplyAssets)``, 0 if no supply."""
    return w_div_down(total_borrow_assets, total_supply_assets) if total_supply_assets > 0 else 0


def error_wad(utilization: int) -> int:
    """``err``: ``(u - target) / (target or 1 - target)``, in [-1, 1] (WAD), rounded to zero."""
    norm = WAD - TARGET_UTILIZATION if utilization > TARGET_UTILIZATION else TARGET_UTILIZATION
    return w_div_to_zero(utilization - TARGET_UTILIZATION, norm)


def curve(rate_at_target: int, err: int) -> int:
    """AdaptiveCurveIrm._curve: the rate for ``rate_at_target`` and ``err`` (per second, WAD)."""
    coeff = WAD - w_div_to_zero(WAD, CURVE_STEEPNESS) if err < 0 else CURVE_STEEPNESS - WAD
    return w_mul_to_zero(w_mul_to_zero(coeff, err) + WAD, rate_at_target)


def new_rate_at_target(start_rate_at_target: int, linear_adaptation: int) -> int:
    """AdaptiveCurveIrm._newRateAtTarget: ``start * wExp(adaptation)``, bounded."""
    return bound(w_mul_to_zero(start_rate_at_target, w_exp(linear_adaptation)),
                 MIN_RATE_AT_TARGET, MAX_RATE_AT_TARGET)


def borrow_rate(total_borrow_assets: int, total_supply_assets: int, rate_at_target: int,
                elapsed_s: int) -> tuple[int, int]:
    """AdaptiveCurveIrm._borrowRate: ``(avg_rate, end_rate_at_target)``, per second (WAD).

    ``rate_at_target`` is the IRM's stored value for the market (0 before the first call, which
    starts it at ``INITIAL_RATE_AT_TARGET``); ``elapsed_s`` is ``block.timestamp -
    market.lastUpdate``. The average of the curve over the elapsed time is the trapezoid rule
    with two intervals: ``curve((start + end + 2 mid) / 4, err)``.
    """
    err = error_wad(utilization_wad(total_borrow_assets, total_supply_assets))
    if rate_at_target == 0:  # first interaction
        avg_rate_at_target = end_rate_at_target = INITIAL_RATE_AT_TARGET
    else:
        speed = w_mul_to_zero(ADJUSTMENT_SPEED, err)
        linear_adaptation = speed * elapsed_s
        if linear_adaptation == 0:
            avg_rate_at_target = end_rate_at_target = rate_at_target
        else:
            end_rate_at_target = new_rate_at_target(rate_at_target, linear_adaptation)
            mid_rate_at_target = new_rate_at_target(rate_at_target,
                                                    _tdiv(linear_adaptation, 2))
            avg_rate_at_target = _tdiv(
                rate_at_target + end_rate_at_target + 2 * mid_rate_at_target, 4)
    return curve(avg_rate_at_target, err), end_rate_at_target


# --- float helpers (rates per year) ---------------------------------------------------------
def error_float(utilization: float) -> float:
    """``err`` for a utilization fraction: -1 at 0, 0 at the 90% target, +1 at 100%."""
    target = TARGET_UTILIZATION_F
    norm = 1.0 - target if utilization > target else target
    return (utilization - target) / norm


def curve_float(rate_at_target: float, utilization: float) -> float:
    """The curve's rate at ``utilization`` for ``rate_at_target`` (same unit in and out)."""
    err = error_float(utilization)
    c = CURVE_STEEPNESS_F
    coeff = 1.0 - 1.0 / c if err < 0.0 else c - 1.0
    return (coeff * err + 1.0) * rate_at_target


def rate_at_target_after(rate_at_target_per_year: float, utilization: float,
                         elapsed_s: float) -> float:
    """The closed form ``r_T exp(speed * err * t)``, bounded as the contract (per year)."""
    speed_per_s = ADJUSTMENT_SPEED_PER_YEAR / SECONDS_PER_YEAR
    grown = rate_at_target_per_year * math.exp(speed_per_s * error_float(utilization) * elapsed_s)
    return min(max(grown, MIN_RATE_AT_TARGET_PER_YEAR), MAX_RATE_AT_TARGET_PER_YEAR)


def avg_borrow_rate_float(rate_at_target_per_year: float, utilization: float,
                          elapsed_s: float) -> tuple[float, float]:
    """Float ``_borrowRate``: ``(avg rate, end rate at target)``, per year, the same trapezoid."""
    end = rate_at_target_after(rate_at_target_per_year, utilization, elapsed_s)
    mid = rate_at_target_after(rate_at_target_per_year, utilization, elapsed_s / 2.0)
    avg = (rate_at_target_per_year + end + 2.0 * mid) / 4.0
    return curve_float(avg, utilization), end


__all__ = [
    "ADJUSTMENT_SPEED",
    "ADJUSTMENT_SPEED_PER_YEAR",
    "CURVE_STEEPNESS",
    "INITIAL_RATE_AT_TARGET",
    "INITIAL_RATE_AT_TARGET_PER_YEAR",
    "LN_2_INT",
    "LN_WEI_INT",
    "MAX_RATE_AT_TARGET",
    "MAX_RATE_AT_TARGET_PER_YEAR",
    "MIN_RATE_AT_TARGET",
    "MIN_RATE_AT_TARGET_PER_YEAR",
    "SECONDS_PER_YEAR",
    "TARGET_UTILIZATION",
    "WEXP_UPPER_BOUND",
    "WEXP_UPPER_VALUE",
    "avg_borrow_rate_float",
    "borrow_rate",
    "bound",
    "curve",
    "curve_float",
    "error_float",
    "error_wad",
    "new_rate_at_target",
    "rate_at_target_after",
    "utilization_wad",
    "w_div_to_zero",
    "w_exp",
    "w_mul_to_zero",
]
