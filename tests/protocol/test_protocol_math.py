"""WadRayMath / PercentageMath / MathUtils against hand-worked values and exact fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.protocol import math as am

U100 = st.integers(min_value=0, max_value=2**100)  # products stay inside uint256


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


# --- hand-worked rounding examples ----------------------------------------------------------
def test_wad_ray_half_up_examples() -> None:
    # wadMul(1.5 wei-wad, 1 wad): (1 * 1.5e18 + 0.5e18) / 1e18 = 2 -> 1e18*1 + ... simple cases:
    assert am.wad_mul(3 * am.WAD, 2 * am.WAD) == 6 * am.WAD
    # 1 * 0.5e18 = 0.5 wad-wei exactly -> half rounds up to 1
    assert am.wad_mul(1, am.HALF_WAD) == 1
    # 1 * (0.5e18 - 1) -> 0.4999... rounds down to 0
    assert am.wad_mul(1, am.HALF_WAD - 1) == 0
    # wadDiv(1, 3) = (1e18 + 1) / 3 = 333333333333333333.67 -> floor of (a*WAD + b/2)/b = 333..333
    assert am.wad_div(1, 3) == 333_333_333_333_333_333
    # wadDiv(2, 3) = (2e18 + 1)/3 = 666666666666666667 (half up from .666...)
    assert am.wad_div(2, 3) == 666_666_666_666_666_667
    assert am.ray_mul(1, am.HALF_RAY) == 1
    assert am.ray_mul(1, am.HALF_RAY - 1) == 0
    assert am.ray_div(2, 3) == (2 * am.RAY + 1) // 3


def test_floor_and_ceil_variants() -> None:
    # 1 * 1 / 1e27 = 1e-27: floor 0, ceil 1.
    assert am.ray_mul_floor(1, 1) == 0
    assert am.ray_mul_ceil(1, 1) == 1
    assert am.ray_mul_ceil(am.RAY, 5) == 5  # exact product, no rounding up
    # rayDiv 1/3: floor 333..3 (27 digits), ceil one more.
    third = am.RAY // 3
    assert am.ray_div_floor(1, 3) == third
    assert am.ray_div_ceil(1, 3) == third + 1
    assert am.ray_div_ceil(3, 3) == am.RAY
    # percentMul 10001 * 50% = 5000.5 -> half up 5001, floor 5000, ceil 5001.
    assert am.percent_mul(10_001, 5_000) == 5_001
    assert am.percent_mul_floor(10_001, 5_000) == 5_000
    assert am.percent_mul_ceil(10_001, 5_000) == 5_001
    # percentDiv 100 / 105% = 95.238 -> 95 (half up), ceil 96
    assert am.percent_div(100, 10_500) == 95
    assert am.percent_div_ceil(100, 10_500) == 96
    # mulDivCeil 7*3/2 = 10.5 -> 11; 8*3/2 = 12 exactly.
    assert am.mul_div_ceil(7, 3, 2) == 11
    assert am.mul_div_ceil(8, 3, 2) == 12


def test_ray_wad_conversion() -> None:
    assert am.wad_to_ray(7) == 7 * 10**9
    assert am.ray_to_wad(1_499_999_999) == 1  # remainder 0.4999e9 rounds down
    assert am.ray_to_wad(1_500_000_000) == 2  # remainder 0.5e9 rounds up


@settings(max_examples=300, deadline=None)
@given(a=U100, b=st.integers(min_value=1, max_value=2**100))
def test_rounding_directions_against_fractions(a: int, b: int) -> None:
    assert am.wad_mul(a, b) == _half_up(Fraction(a * b, am.WAD))
    assert am.wad_div(a, b) == math.floor(Fraction(a * am.WAD + b // 2, b))
    assert am.ray_mul(a, b) == _half_up(Fraction(a * b, am.RAY))
    assert am.ray_mul_floor(a, b) == math.floor(Fraction(a * b, am.RAY))
    assert am.ray_mul_ceil(a, b) == math.ceil(Fraction(a * b, am.RAY))
    assert am.ray_div_floor(a, b) == math.floor(Fraction(a * am.RAY, b))
    assert am.ray_div_ceil(a, b) == math.ceil(Fraction(a * am.RAY, b))
    assert am.mul_div_ceil(a, b, 7) == math.ceil(Fraction(a * b, 7))
    pct = b % 20_001
    assert am.percent_mul(a, pct) == _half_up(Fraction(a * pct, 10_000))
    assert am.percent_mul_floor(a, pct) == math.floor(Fraction(a * pct, 10_000))
    assert am.percent_mul_ceil(a, pct) == math.ceil(Fraction(a * pct, 10_000))
    if pct:
        assert am.percent_div_ceil(a, pct) == math.ceil(Fraction(a * 10_000, pct))


def test_reverts_as_overflow_or_zero_division() -> None:
    with pytest.raises(OverflowError):
        am.ray_mul(2**200, 2**100)
    with pytest.raises(OverflowError):
        am.percent_mul(-1, 5)
    with pytest.raises(ZeroDivisionError):
        am.wad_div(1, 0)
    with pytest.raises(ZeroDivisionError):
        am.mul_div_ceil(1, 1, 0)


def test_constants() -> None:
    assert am.CLOSE_FACTOR_HF_THRESHOLD == 950_000_000_000_000_000
    assert am.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD == 2_000 * 10**8
    assert am.MIN_LEFTOVER_BASE == 1_000 * 10**8
    assert am.DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS == 5_000
    assert am.SECONDS_PER_YEAR == 31_536_000


# --- accrual --------------------------------------------------------------------------------
def test_linear_interest_one_year_at_5pct() -> None:
    # RAY + 0.05e27 * 31,536,000 / 31,536,000 = 1.05e27 exactly.
    assert am.calculate_linear_interest(5 * 10**25, am.SECONDS_PER_YEAR) == 105 * 10**25
    # One day: 0.05e27 * 86400 / 31536000 = 1.36986301369863013698630136e23 (floored).
    day = am.calculate_linear_interest(5 * 10**25, 86_400)
    assert day == am.RAY + (5 * 10**25 * 86_400) // am.SECONDS_PER_YEAR
    assert day == 1_000_136_986_301_369_863_013_698_630


def test_compounded_interest_hand_worked_one_year_at_5pct() -> None:
    # x = 0.05e27; x/6 = 8333333333333333333333333 (floor);
    # rayMul(x, x/6) = (0.05e27 * 8333333333333333333333333 + 0.5e27) / 1e27
    #               = 416666666666666666666666.65 + 0.5 -> 416666666666666666666667;
    # x/2 + that = 25000000000000000000000000 + 416666666666666666666667
    # rayMul(x, 25416666666666666666666667) = 1270833333333333333333333.35 -> ...333;
    # total = 1e27 + 0.05e27 + 1270833333333333333333333.
    x = 5 * 10**25
    expected = am.RAY + x + 1_270_833_333_333_333_333_333_333
    assert am.calculate_compounded_interest(x, am.SECONDS_PER_YEAR) == expected
    # 1 + 0.05 + 0.00125 + 0.0000208333 = 1.0512708333...
    assert expected / am.RAY == pytest.approx(1 + 0.05 + 0.05**2 / 2 + 0.05**3 / 6, rel=1e-15)
    assert am.calculate_compounded_interest(x, 0) == am.RAY


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.2, 1.0])
@pytest.mark.parametrize("seconds", [1, 3_600, 86_400, 30 * 86_400, am.SECONDS_PER_YEAR])
def test_compounded_below_exp_by_the_fourth_order_term(rate: float, seconds: int) -> None:
    # 1 + x + x^2/2 + x^3/6 <= e^x, and e^x - poly lies in [x^4/24, x^4/24 * e^x].
    rate_ray = round(rate * 10**6) * 10**21
    x = rate * seconds / am.SECONDS_PER_YEAR
    factor = am.calculate_compounded_interest(rate_ray, seconds) / am.RAY
    gap = math.exp(x) - factor
    assert gap >= x**4 / 24 * (1 - 1e-6) - 1e-15
    assert gap <= x**4 / 24 * math.exp(x) + 1e-15


def test_binomial_version_close_to_taylor_over_a_day() -> None:
    # v3.0-v3.3 binomial and v3.4+ Taylor agree to ~1e-12 over short periods.
    rate_ray = 8 * 10**25  # 8%
    old = am.calculate_compounded_interest_binomial(rate_ray, 86_400)
    new = am.calculate_compounded_interest(rate_ray, 86_400)
    assert abs(old - new) / am.RAY < 1e-12
    assert am.calculate_compounded_interest_binomial(rate_ray, 0) == am.RAY
