"""Morpho Blue integer math (MathLib, SharesMathLib, UtilsLib): rounding, virtual shares."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delever.protocol.morpho.math import (
    LIQUIDATION_CURSOR,
    MAX_LIQUIDATION_INCENTIVE_FACTOR,
    ORACLE_PRICE_SCALE,
    VIRTUAL_ASSETS,
    VIRTUAL_SHARES,
    WAD,
    exactly_one_zero,
    mul_div_down,
    mul_div_up,
    to_assets_down,
    to_assets_up,
    to_shares_down,
    to_shares_up,
    to_uint128,
    w_div_down,
    w_div_up,
    w_mul_down,
    w_taylor_compounded,
    zero_floor_sub,
)


def test_constants_as_in_constants_lib() -> None:
    # ConstantsLib.sol / SharesMathLib.sol / MathLib.sol
    assert WAD == 10**18
    assert ORACLE_PRICE_SCALE == 10**36
    assert LIQUIDATION_CURSOR == 300_000_000_000_000_000  # 0.3e18
    assert MAX_LIQUIDATION_INCENTIVE_FACTOR == 1_150_000_000_000_000_000  # 1.15e18
    assert (VIRTUAL_SHARES, VIRTUAL_ASSETS) == (10**6, 1)


def test_mul_div_rounding_directions() -> None:
    # 7 * 3 / 2 = 10.5: down 10, up 11; an exact quotient is the same both ways
    assert (mul_div_down(7, 3, 2), mul_div_up(7, 3, 2)) == (10, 11)
    assert (mul_div_down(6, 3, 2), mul_div_up(6, 3, 2)) == (9, 9)
    # wMulDown(1.5, 1.5) = 2.25; wDivDown(1, 3) = 0.333..e18 floored, wDivUp ceiled
    assert w_mul_down(3 * WAD // 2, 3 * WAD // 2) == 225 * 10**16
    assert w_div_down(1, 3) == 333_333_333_333_333_333
    assert w_div_up(1, 3) == 333_333_333_333_333_334


@given(st.integers(0, 10**30), st.integers(0, 10**30), st.integers(1, 10**30))
def test_mul_div_up_is_ceiling(x: int, y: int, d: int) -> None:
    # MathLibTest.testMulDivUp: mulDivUp == (x*y == 0 ? 0 : (x*y - 1) / d + 1)
    assert mul_div_up(x, y, d) == (0 if x * y == 0 else (x * y - 1) // d + 1)
    assert mul_div_down(x, y, d) == (x * y) // d


def test_overflow_and_uint128_reverts() -> None:
    with pytest.raises(OverflowError):
        mul_div_down(2**200, 2**100, 1)  # x * y past uint256
    with pytest.raises(OverflowError):
        to_uint128(2**128)
    assert to_uint128(2**128 - 1) == 2**128 - 1


def test_utils() -> None:
    assert exactly_one_zero(0, 5) and exactly_one_zero(5, 0)
    assert not exactly_one_zero(0, 0) and not exactly_one_zero(1, 1)
    assert zero_floor_sub(5, 7) == 0 and zero_floor_sub(7, 5) == 2


def test_w_taylor_compounded_hand_worked() -> None:
    # x = 4% a year per second, n = one year:
    # nx = 1_268_391_679 * 31_536_000 = 39_999_999_988_944_000
    # second = floor(nx^2 / 2e18) = 799_999_999_557_760, third = floor(second * nx / 3e18)
    #        = 10_666_666_657_821 ; sum = 40_810_666_655_159_581 (e^0.04 - 1 = 0.0408107741...)
    nx = 1_268_391_679 * 31_536_000
    second = nx * nx // (2 * WAD)
    third = second * nx // (3 * WAD)
    assert (second, third) == (799_999_999_557_760, 10_666_666_657_821)
    assert w_taylor_compounded(1_268_391_679, 31_536_000) == 40_810_666_655_159_581
    # below e^x - 1 by the missing 4th term (x^4/24 = 1.07e-7)
    assert math.expm1(nx / WAD) - 40_810_666_655_159_581 / WAD == pytest.approx(1.07e-7, rel=0.01)


def test_first_deposit_gets_virtual_share_rate() -> None:
    # Empty market: toSharesDown(1, 0, 0) = 1 * (0 + 1e6) / (0 + 1) = 1e6 shares per asset unit
    assert to_shares_down(1, 0, 0) == 1_000_000
    assert to_shares_up(1, 0, 0) == 1_000_000
    # and back: toAssetsDown(1e6, 1, 1e6) = 1e6 * (1 + 1) / (1e6 + 1e6) = 1
    assert to_assets_down(1_000_000, 1, 1_000_000) == 1
    # 1_000 USDC (6 decimals) first supply: 1e9 units -> 1e15 shares
    assert to_shares_down(10**9, 0, 0) == 10**15


def test_shares_rounding_on_virtual_shares() -> None:
    # 100 assets behind 1e6 shares (price inflated): 1 asset is 1 * (1e6 + 1e6) / (100 + 1)
    # = 19_801.98... shares: down 19_801, up 19_802
    assert to_shares_down(1, 100, 10**6) == 19_801
    assert to_shares_up(1, 100, 10**6) == 19_802
    # one share is 1 * (100 + 1) / (1e6 + 1e6) = 5.05e-5 assets: down 0, up 1
    assert to_assets_down(1, 100, 10**6) == 0
    assert to_assets_up(1, 100, 10**6) == 1


@given(st.integers(0, 10**24), st.integers(0, 10**24), st.integers(0, 10**30))
def test_shares_math_against_fractions(assets: int, total_assets: int, total_shares: int) -> None:
    # the slow reference: exact rationals, floor and ceil
    rate = Fraction(total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)
    assert to_shares_down(assets, total_assets, total_shares) == math.floor(assets * rate)
    assert to_shares_up(assets, total_assets, total_shares) == math.ceil(assets * rate)
    assert to_assets_down(assets, total_assets, total_shares) == math.floor(assets / rate)
    assert to_assets_up(assets, total_assets, total_shares) == math.ceil(assets / rate)
