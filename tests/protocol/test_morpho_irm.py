"""AdaptiveCurveIRM: the curve, the rate at target's drift, ExpLib.wExp; values from
morpho-org/morpho-blue-irm test/AdaptiveCurveIrmTest.sol and test/ExpLibTest.sol."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delever.protocol.morpho import irm
from delever.protocol.morpho.math import WAD

YEAR = irm.SECONDS_PER_YEAR
DAY = 86_400
R0 = irm.INITIAL_RATE_AT_TARGET  # 0.04e18 / 31_536_000 = 1_268_391_679 per second


def test_constants_as_in_constants_lib() -> None:
    # ConstantsLib.sol: per-second values are integer divisions by `365 days`
    assert R0 == 1_268_391_679  # 4e16 / 31_536_000 = 1_268_391_679.35
    assert irm.ADJUSTMENT_SPEED == 1_585_489_599_188  # 50e18 / 31_536_000
    assert irm.MIN_RATE_AT_TARGET == 31_709_791  # 1e15 / 31_536_000
    assert irm.MAX_RATE_AT_TARGET == 63_419_583_967  # 2e18 / 31_536_000
    assert irm.TARGET_UTILIZATION == 9 * 10**17
    assert irm.CURVE_STEEPNESS == 4 * WAD


def test_signed_math_rounds_toward_zero() -> None:
    # wMulToZero(-1, 1) = -1 / 1e18 -> 0 in Solidity (Python's // would give -1)
    assert irm.w_mul_to_zero(-1, 1) == 0
    assert irm.w_div_to_zero(-1, 3 * WAD) == 0  # -1e18 / 3e18 -> 0
    assert irm.w_div_to_zero(-2 * WAD, 3 * WAD) == -666_666_666_666_666_666


def test_w_exp_hand_worked() -> None:
    # x = 0: q = 0, r = 0 -> 1e18
    assert irm.w_exp(0) == WAD
    # x = ln 2: q = (ln2 + ln2/2) / ln2 = 1.49999.. -> 1, r = 0 -> 1e18 << 1 = 2e18
    assert irm.w_exp(irm.LN_2_INT) == 2 * WAD
    # x = -ln 2: q = (-ln2 - ln2/2) / ln2 = -1.4999.. -> -1 (to zero), r = 0 -> 1e18 >> 1
    assert irm.w_exp(-irm.LN_2_INT) == WAD // 2
    # x = 1: q = 1 (1.94 truncated), r = 1 - ln2 = 0.306852819440054691; e^r ~ 1 + r + r^2/2
    # = 1.353932..., times 2 = 2.707864291678420188 (e = 2.71828..: -0.38%, 2nd-order Taylor)
    assert irm.w_exp(WAD) == 2_707_864_291_678_420_188
    # ExpLibTest.testWExpTooSmall / TooLarge
    assert irm.w_exp(irm.LN_WEI_INT - 1) == 0
    assert irm.w_exp(irm.WEXP_UPPER_BOUND) == irm.WEXP_UPPER_VALUE


@given(st.integers(-20_720_000_000_000_000_000, irm.WEXP_UPPER_BOUND))
def test_w_exp_within_one_percent(x: int) -> None:
    # ExpLibTest.testWExp: within 1% of exp on [ln(1e-9), WEXP_UPPER_BOUND]
    assert irm.w_exp(x) == pytest.approx(math.exp(x / WAD) * WAD, rel=0.01)


def test_first_borrow_rate_utilization_zero() -> None:
    # AdaptiveCurveIrmTest.testFirstBorrowRateUtilizationZero: err = -1,
    # curve = ((1 - 1/4) * -1 + 1) * r = r / 4 ; 1_268_391_679 / 4 = 317_097_919.75 -> 317_097_919
    avg, end = irm.borrow_rate(0, 0, 0, 0)
    assert (avg, end) == (317_097_919, R0)


def test_first_borrow_rate_utilization_one() -> None:
    # testFirstBorrowRateUtilizationOne: err = +1, curve = ((4 - 1) * 1 + 1) * r = 4 r exactly
    avg, end = irm.borrow_rate(WAD, WAD, 0, 0)
    assert (avg, end) == (4 * R0, R0)


def test_rate_at_target_utilization_is_rate_at_target_forever() -> None:
    # testRateAfterUtilizationTargetNoPing: err = 0 -> speed 0 -> no drift for any elapsed time
    for elapsed in (0, DAY, 10 * YEAR):
        avg, end = irm.borrow_rate(9 * WAD // 10, WAD, R0, elapsed)
        assert (avg, end) == (R0, R0)


def test_curve_points_float() -> None:
    # r_T / 4 at 0, r_T at 90%, 4 r_T at 100%; halfway below target (45%): err = -0.5,
    # (0.75 * -0.5 + 1) r = 0.625 r ; halfway above (95%): err = 0.5, (3 * 0.5 + 1) r = 2.5 r
    assert irm.curve_float(0.04, 0.0) == pytest.approx(0.01)
    assert irm.curve_float(0.04, 0.9) == pytest.approx(0.04)
    assert irm.curve_float(0.04, 1.0) == pytest.approx(0.16)
    assert irm.curve_float(0.04, 0.45) == pytest.approx(0.025)
    assert irm.curve_float(0.04, 0.95) == pytest.approx(0.10)


def test_rate_at_target_after_45_days_above_target() -> None:
    # testRateAfter45DaysUtilizationAboveTargetNoPing: 95% utilization (err = 50%) for 45 days:
    # 4% * exp(50 * 45/365 * 0.5) = 4% * exp(3.0822) = 87.22% a year (within 0.5%)
    avg, end = irm.borrow_rate(95 * 10**16, WAD, R0, 45 * DAY)
    closed = 0.04 * math.exp(50 * 45 / 365 * 0.5)
    assert closed == pytest.approx(0.8722, rel=1e-4)
    assert end * YEAR / WAD == pytest.approx(closed, rel=0.005)
    assert irm.rate_at_target_after(0.04, 0.95, 45 * DAY) == pytest.approx(closed, rel=1e-12)
    # trapezoid: avg rate at target = (start + end + 2 mid) / 4, then curve at err = 0.5 (x2.5)
    mid = irm.new_rate_at_target(R0, irm.w_mul_to_zero(irm.ADJUSTMENT_SPEED, WAD // 2)
                                 * 45 * DAY // 2)
    assert avg == irm.curve((R0 + end + 2 * mid) // 4, WAD // 2)


def test_rate_after_5_days_at_full_utilization() -> None:
    # testRateAfterUtilizationOne: 5 days at 100% from 4%: the average of exp(50/365 x) over
    # [0, 5] days is ~1.4361, so the rate is ~4 * 4% * 1.4361 = 22.976% a year (within 10%);
    # the end rate at target is 4% * exp(50/365 * 5) = 4% * 1.9836 = 7.934%
    avg, end = irm.borrow_rate(WAD, WAD, R0, 5 * DAY)
    assert avg * YEAR / WAD == pytest.approx(0.22976, rel=0.1)
    assert end * YEAR / WAD == pytest.approx(0.04 * 1.9836, rel=0.005)
    avg_f, end_f = irm.avg_borrow_rate_float(0.04, 1.0, 5 * DAY)
    # the same trapezoid in floats: 4 * 4% * (1 + 1.9836 + 2 * 1.40838) / 4 = 23.20%
    assert avg_f == pytest.approx(0.2320, rel=1e-3)
    assert avg * YEAR / WAD == pytest.approx(avg_f, rel=0.005)  # wExp's 2nd-order error
    assert end * YEAR / WAD == pytest.approx(end_f, rel=0.005)


def test_rate_after_5_days_at_zero_utilization() -> None:
    # testRateAfterUtilizationZero: exp(-50/365 * 5) = 0.5041, the average 0.7240 ->
    # 4% / 4 * 0.724 = 0.724% a year (within 10%)
    avg, end = irm.borrow_rate(0, WAD, R0, 5 * DAY)
    assert avg * YEAR / WAD == pytest.approx(0.00724, rel=0.1)
    assert end * YEAR / WAD == pytest.approx(0.04 * 0.5041, rel=0.005)


@pytest.mark.parametrize("utilization", [0.0, 0.3, 0.8, 0.92, 0.97, 1.0])
@pytest.mark.parametrize("days", [1, 7, 30])
def test_drift_matches_closed_form(utilization: float, days: int) -> None:
    # r_T(t) = r_T(0) * exp(speed * err * t), err = (u - 0.9) / 0.9 below, / 0.1 above
    u_wad = round(utilization * WAD)
    _, end = irm.borrow_rate(u_wad, WAD, R0, days * DAY)
    err = (utilization - 0.9) / (0.9 if utilization <= 0.9 else 0.1)
    closed = 0.04 * math.exp(50.0 / YEAR * err * days * DAY)
    closed = min(max(closed, 0.001), 2.0)
    assert end * YEAR / WAD == pytest.approx(closed, rel=0.006)


def test_rate_at_target_bounds() -> None:
    # a year at 100% would be 4% * e^50: bounded at MAX (200%); a year at 0%: MIN (0.1%)
    assert irm.borrow_rate(WAD, WAD, R0, YEAR)[1] == irm.MAX_RATE_AT_TARGET
    assert irm.borrow_rate(0, WAD, R0, YEAR)[1] == irm.MIN_RATE_AT_TARGET
    assert irm.rate_at_target_after(0.04, 1.0, YEAR) == 2.0
    assert irm.rate_at_target_after(0.04, 0.0, YEAR) == 0.001
