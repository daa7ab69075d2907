"""Aave v3.6 integer math: WadRayMath, PercentageMath, MathUtils, and the liquidation constants.

Every function works on Python ``int`` (unbounded) and mirrors the Solidity library of the same
name in aave-dao/aave-v3-origin at tag v3.6.0 (commit 5a230ec8, the code live on Ethereum Core
in February 2026), including its rounding direction:

- ``WadRayMath.sol``: ``wadMul``/``wadDiv``/``rayMul``/``rayDiv`` round half up; the
  ``*Floor``/``*Ceil`` variants added in v3.4 round as named.
- ``PercentageMath.sol``: ``percentMul``/``percentDiv`` round half up; ``percentMulCeil``,
  ``percentMulFloor`` and ``percentDivCeil`` as named. Percentages are basis points (1e4 = 100%).
- ``MathUtils.sol``: ``calculateLinearInterest``, ``calculateCompoundedInterest`` (since v3.4 the
  three-term Taylor polynomial ``1 + x + x^2/2 + x^3/6``; v3.0-v3.3 used a binomial expansion,
  kept here as :func:`calculate_compounded_interest_binomial`) and ``mulDivCeil``.

Arguments outside ``uint256`` (negative, or a product that would overflow where the contract
checks) raise ``OverflowError``, the analogue of the contract's bare ``revert``.
"""

from __future__ import annotations

# --- WadRayMath.sol -------------------------------------------------------------------------
WAD = 10**18
HALF_WAD = WAD // 2
RAY = 10**27
HALF_RAY = RAY // 2
WAD_RAY_RATIO = 10**9

# --- PercentageMath.sol ---------------------------------------------------------------------
PERCENTAGE_FACTOR = 10**4  # 100.00% in basis points
HALF_PERCENTAGE_FACTOR = PERCENTAGE_FACTOR // 2

# --- MathUtils.sol --------------------------------------------------------------------------
SECONDS_PER_YEAR = 365 * 24 * 3600  # "ignoring leap years"

# --- ValidationLogic.sol / LiquidationLogic.sol ---------------------------------------------
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD  # HF below 1e18 can be liquidated
MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD = 95 * 10**16  # price-oracle sentinel bypass
CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16  # at or below 0.95e18 the whole debt is liquidatable
DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS = 5_000  # 0.5e4 = 50.00%
DEFAULT_LIQUIDATION_CLOSE_FACTOR = 0.5  # the same as a fraction
BASE_CURRENCY_UNIT = 10**8  # the Aave oracle's base currency: USD with 8 decimals
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2_000 * BASE_CURRENCY_UNIT  # $2,000
MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2  # $1,000

UINT256_MAX = 2**256 - 1


def _uint(*values: int) -> None:
    for value in values:
        if value < 0 or value > UINT256_MAX:
            raise OverflowError(f"{value} is outside uint256 (the contract would revert)")


def _no_overflow(product: int) -> None:
    if product > UINT256_MAX:
        raise OverflowError("uint256 overflow (the contract would revert)")


# --- WadRayMath -----------------------------------------------------------------------------
def wad_mul(a: int, b: int) -> int:
    """``WadRayMath.wadMul``: ``(a*b + WAD/2) / WAD``, half up."""
    _uint(a, b)
    _no_overflow(a * b + HALF_WAD)
    return (a * b + HALF_WAD) // WAD


def wad_div(a: int, b: int) -> int:
    """``WadRayMath.wadDiv``: ``(a*WAD + b/2) / b``, half up; reverts on ``b == 0``."""
    _uint(a, b)
    if b == 0:
        raise ZeroDivisionError("wadDiv by zero (the contract would revert)")
    _no_overflow(a * WAD + b // 2)
    return (a * WAD + b // 2) // b


def ray_mul(a: int, b: int) -> int:
    """``WadRayMath.rayMul``: ``(a*b + RAY/2) / RAY``, half up."""
    _uint(a, b)
    _no_overflow(a * b + HALF_RAY)
    return (a * b + HALF_RAY) // RAY


def ray_mul_floor(a: int, b: int) -> int:
    """``WadRayMath.rayMulFloor``: ``a*b / RAY`` rounded down."""
    _uint(a, b)
    _no_overflow(a * b)
    return (a * b) // RAY


def ray_mul_ceil(a: int, b: int) -> int:
    """``WadRayMath.rayMulCeil``: ``a*b / RAY`` rounded up."""
    _uint(a, b)
    _no_overflow(a * b)
    return -((-a * b) // RAY)


def ray_div(a: int, b: int) -> int:
    """``WadRayMath.rayDiv``: ``(a*RAY + b/2) / b``, half up; reverts on ``b == 0``."""
    _uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDiv by zero (the contract would revert)")
    _no_overflow(a * RAY + b // 2)
    return (a * RAY + b // 2) // b


def ray_div_floor(a: int, b: int) -> int:
    """``WadRayMath.rayDivFloor``: ``a*RAY / b`` rounded down."""
    _uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDivFloor by zero (the contract would revert)")
    _no_overflow(a * RAY)
    return (a * RAY) // b


def ray_div_ceil(a: int, b: int) -> int:
    """``WadRayMath.rayDivCeil``: ``a*RAY / b`` rounded up."""
    _uint(a, b)
    if b == 0:
        raise ZeroDivisionError("rayDivCeil by zero (the contract would revert)")
    _no_overflow(a * RAY)
    return -((-a * RAY) // b)


def ray_to_wad(a: int) -> int:
    """``WadRayMath.rayToWad``: divide by 1e9, remainder >= 0.5e9 rounds up."""
    _uint(a)
    quotient, remainder = divmod(a, WAD_RAY_RATIO)
    return quotient + (1 if remainder >= WAD_RAY_RATIO // 2 else 0)


def wad_to_ray(a: int) -> int:
    """``WadRayMath.wadToRay``: multiply by 1e9 (reverts on overflow)."""
    _uint(a)
    _no_overflow(a * WAD_RAY_RATIO)
    return a * WAD_RAY_RATIO


# --- PercentageMath -------------------------------------------------------------------------
def percent_mul(value: int, percentage: int) -> int:
    """``PercentageMath.percentMul``: ``(value*pct + 0.5e4) / 1e4``, half up."""
    _uint(value, percentage)
    _no_overflow(value * percentage + HALF_PERCENTAGE_FACTOR)
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_mul_floor(value: int, percentage: int) -> int:
    """``PercentageMath.percentMulFloor``: ``value*pct / 1e4`` rounded down."""
    _uint(value, percentage)
    _no_overflow(value * percentage)
    return (value * percentage) // PERCENTAGE_FACTOR


def percent_mul_ceil(value: int, percentage: int) -> int:
    """``PercentageMath.percentMulCeil``: ``value*pct / 1e4`` rounded up."""
    _uint(value, percentage)
    _no_overflow(value * percentage)
    return -((-value * percentage) // PERCENTAGE_FACTOR)


def percent_div(value: int, percentage: int) -> int:
    """``PercentageMath.percentDiv``: ``(value*1e4 + pct/2) / pct``, half up."""
    _uint(value, percentage)
    if percentage == 0:
        raise ZeroDivisionError("percentDiv by zero (the contract would revert)")
    _no_overflow(value * PERCENTAGE_FACTOR + percentage // 2)
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage


def percent_div_ceil(value: int, percentage: int) -> int:
    """``PercentageMath.percentDivCeil``: ``value*1e4 / pct`` rounded up."""
    _uint(value, percentage)
    if percentage == 0:
        raise ZeroDivisionError("percentDivCeil by zero (the contract would revert)")
    _no_overflow(value * PERCENTAGE_FACTOR)
    return -((-value * PERCENTAGE_FACTOR) // percentage)


# --- MathUtils ------------------------------------------------------------------------------
def mul_div_ceil(a: int, b: int, c: int) -> int:
    """``MathUtils.mulDivCeil``: ``a*b / c`` rounded up; reverts on ``c == 0``."""
    _uint(a, b, c)
    if c == 0:
        raise ZeroDivisionError("mulDivCeil by zero (the contract would revert)")
    _no_overflow(a * b)
    return -((-a * b) // c)


def calculate_linear_interest(rate_ray: int, elapsed_s: int) -> int:
    """``MathUtils.calculateLinearInterest``: the supply-side growth factor, in ray.

    Parameters
    ----------
    rate_ray
        Annual rate in ray (e.g. 0.05e27 for 5%).
    elapsed_s
        Seconds since the last update.

    Returns
    -------
    int
        ``RAY + rate * elapsed / SECONDS_PER_YEAR`` (division rounded down).
    """
    _uint(rate_ray, elapsed_s)
    return RAY + (rate_ray * elapsed_s) // SECONDS_PER_YEAR


def calculate_compounded_interest(rate_ray: int, elapsed_s: int) -> int:
    """``MathUtils.calculateCompoundedInterest`` (v3.4+): the borrow-side growth factor, in ray.

    Parameters
    ----------
    rate_ray
        Annual rate in ray.
    elapsed_s
        Seconds since the last update.

    Returns
    -------
    int
        ``RAY + x + rayMul(x, x/2 + rayMul(x, x/6))`` with ``x = rate*elapsed/SECONDS_PER_YEAR``,
        i.e. the Taylor polynomial ``1 + x + x^2/2 + x^3/6`` of ``exp(x)``, which falls short of
        ``exp(x)`` by about ``x^4/24``.
    """
    _uint(rate_ray, elapsed_s)
    if elapsed_s == 0:
        return RAY
    x = (rate_ray * elapsed_s) // SECONDS_PER_YEAR
    return RAY + x + ray_mul(x, x // 2 + ray_mul(x, x // 6))


def calculate_compounded_interest_binomial(rate_ray: int, elapsed_s: int) -> int:
    """``MathUtils.calculateCompoundedInterest`` as in v3.0-v3.3 (binomial expansion), in ray.

    ``RAY + r*n + n(n-1)/2 * r^2 + n(n-1)(n-2)/6 * r^3`` with ``r`` the per-second rate and
    ``n`` the seconds elapsed (powers of ``r`` via ``rayMul``, divisions rounded down). Kept for
    comparison; v3.6 uses :func:`calculate_compounded_interest`.
    """
    _uint(rate_ray, elapsed_s)
    n = elapsed_s
    if n == 0:
        return RAY
    n_minus_1 = n - 1
    n_minus_2 = n - 2 if n > 2 else 0
    base_power_two = ray_mul(rate_ray, rate_ray) // (SECONDS_PER_YEAR * SECONDS_PER_YEAR)
    base_power_three = ray_mul(base_power_two, rate_ray) // SECONDS_PER_YEAR
    second_term = (n * n_minus_1 * base_power_two) // 2
    third_term = (n * n_minus_1 * n_minus_2 * base_power_three) // 6
    return RAY + (rate_ray * n) // SECONDS_PER_YEAR + second_term + third_term


__all__ = [
    "BASE_CURRENCY_UNIT",
    "CLOSE_FACTOR_HF_THRESHOLD",
    "DEFAULT_LIQUIDATION_CLOSE_FACTOR",
    "DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS",
    "HALF_PERCENTAGE_FACTOR",
    "HALF_RAY",
    "HALF_WAD",
    "HEALTH_FACTOR_LIQUIDATION_THRESHOLD",
    "MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD",
    "MIN_LEFTOVER_BASE",
    "PERCENTAGE_FACTOR",
    "RAY",
    "SECONDS_PER_YEAR",
    "UINT256_MAX",
    "WAD",
    "WAD_RAY_RATIO",
    "calculate_compounded_interest",
    "calculate_compounded_interest_binomial",
    "calculate_linear_interest",
    "mul_div_ceil",
    "percent_div",
    "percent_div_ceil",
    "percent_mul",
    "percent_mul_ceil",
    "percent_mul_floor",
    "ray_div",
    "ray_div_ceil",
    "ray_div_floor",
    "ray_mul",
    "ray_mul_ceil",
    "ray_mul_floor",
    "ray_to_wad",
    "wad_div",
    "wad_mul",
    "wad_to_ray",
]
