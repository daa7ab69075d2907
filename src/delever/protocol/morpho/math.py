"""Morpho Blue integer math: MathLib, SharesMathLib, UtilsLib and the protocol constants.

Every function works on Python ``int`` and mirrors the Solidity function of the same name in
morpho-org/morpho-blue (``src/libraries/MathLib.sol``, ``SharesMathLib.sol``, ``UtilsLib.sol``,
``ConstantsLib.sol``; commit 3085651), including its rounding direction. Solidity 0.8 reverts
on overflow and underflow; here a value outside ``uint256`` (or a ``uint128`` cast that would
not fit) raises ``OverflowError``, the analogue of the revert.
"""

from __future__ import annotations

# --- MathLib.sol ----------------------------------------------------------------------------
WAD = 10**18  # MathLib.sol: `uint256 constant WAD = 1e18`

# --- SharesMathLib.sol ----------------------------------------------------------------------
VIRTUAL_SHARES = 10**6  # SharesMathLib.sol: `VIRTUAL_SHARES = 1e6`
VIRTUAL_ASSETS = 1  # SharesMathLib.sol: `VIRTUAL_ASSETS = 1`

# --- ConstantsLib.sol -----------------------------------------------------------------------
MAX_FEE = 25 * 10**16  # ConstantsLib.sol: `MAX_FEE = 0.25e18`
ORACLE_PRICE_SCALE = 10**36  # ConstantsLib.sol: `ORACLE_PRICE_SCALE = 1e36`
LIQUIDATION_CURSOR = 3 * 10**17  # ConstantsLib.sol: `LIQUIDATION_CURSOR = 0.3e18`
# ConstantsLib.sol: `MAX_LIQUIDATION_INCENTIVE_FACTOR = 1.15e18`
MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * 10**16

UINT256_MAX = 2**256 - 1
UINT128_MAX = 2**128 - 1


def _check_uint256(*values: int) -> None:
    for value in values:
        if value < 0 or value > UINT256_MAX:
            raise OverflowError(f"{value} is outside uint256 (the contract would revert)")


def to_uint128(x: int) -> int:
    """UtilsLib.toUint128: ``x`` if it fits in ``uint128``, else the contract reverts."""
    if x < 0 or x > UINT128_MAX:
        raise OverflowError(f"{x} is outside uint128 (MAX_UINT128_EXCEEDED)")
    return x


def sub(x: int, y: int) -> int:
    """Checked ``x - y`` (Solidity 0.8 reverts on underflow)."""
    if y > x:
        raise OverflowError(f"{x} - {y} underflows (the contract would revert)")
    return x - y


# --- MathLib --------------------------------------------------------------------------------
def mul_div_down(x: int, y: int, d: int) -> int:
    """MathLib.mulDivDown: ``(x * y) / d`` rounded down."""
    _check_uint256(x, y, x * y)
    return (x * y) // d


def mul_div_up(x: int, y: int, d: int) -> int:
    """MathLib.mulDivUp: ``(x * y + (d - 1)) / d``, i.e. rounded up."""
    _check_uint256(x, y, x * y + (d - 1))
    return (x * y + (d - 1)) // d


def w_mul_down(x: int, y: int) -> int:
    """MathLib.wMulDown: ``x * y / WAD`` rounded down."""
    return mul_div_down(x, y, WAD)


def w_div_down(x: int, y: int) -> int:
    """MathLib.wDivDown: ``x * WAD / y`` rounded down."""
    return mul_div_down(x, WAD, y)


def w_div_up(x: int, y: int) -> int:
    """MathLib.wDivUp: ``x * WAD / y`` rounded up."""
    return mul_div_up(x, WAD, y)


def w_taylor_compounded(x: int, n: int) -> int:
    """MathLib.wTaylorCompounded: ``e^(x n) - 1`` by its first three Taylor terms (WAD).

    ``x`` is a per-second rate (WAD), ``n`` seconds: ``nx + (nx)^2/2 + (nx)^3/6``, each
    division rounded down as the contract's ``mulDivDown``.
    """
    first_term = x * n
    second_term = mul_div_down(first_term, first_term, 2 * WAD)
    third_term = mul_div_down(second_term, first_term, 3 * WAD)
    return first_term + second_term + third_term


# --- SharesMathLib --------------------------------------------------------------------------
def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    """SharesMathLib.toSharesDown: ``assets`` in shares, rounded down."""
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    """SharesMathLib.toAssetsDown: ``shares`` in assets, rounded down."""
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    """SharesMathLib.toSharesUp: ``assets`` in shares, rounded up."""
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    """SharesMathLib.toAssetsUp: ``shares`` in assets, rounded up."""
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


# --- UtilsLib -------------------------------------------------------------------------------
def exactly_one_zero(x: int, y: int) -> bool:
    """UtilsLib.exactlyOneZero: exactly one of ``x`` and ``y`` is zero."""
    return (x == 0) != (y == 0)


def zero_floor_sub(x: int, y: int) -> int:
    """UtilsLib.zeroFloorSub: ``max(0, x - y)``."""
    return x - y if x > y else 0


__all__ = [
    "LIQUIDATION_CURSOR",
    "MAX_FEE",
    "MAX_LIQUIDATION_INCENTIVE_FACTOR",
    "ORACLE_PRICE_SCALE",
    "UINT128_MAX",
    "UINT256_MAX",
    "VIRTUAL_ASSETS",
    "VIRTUAL_SHARES",
    "WAD",
    "exactly_one_zero",
    "mul_div_down",
    "mul_div_up",
    "sub",
    "to_assets_down",
    "to_assets_up",
    "to_shares_down",
    "to_shares_up",
    "to_uint128",
    "w_div_down",
    "w_div_up",
    "w_mul_down",
    "w_taylor_compounded",
    "zero_floor_sub",
]
