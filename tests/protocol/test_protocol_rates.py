"""Interest-rate strategy v2 and accrual: hand-worked values, inverse, float vs ray."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.errors import InvalidArgument
from delever.protocol import (
    RESERVES,
    InterestRateCurve,
    ReserveState,
    borrow_rate,
    borrow_rate_array,
    calculate_interest_rates_ray,
    compounded_interest_factor,
    linear_interest_factor,
    supply_rate,
    supply_rate_array,
    utilization_from_borrow_rate,
    utilization_from_borrow_rate_array,
)
from delever.protocol import math as am

# WETH on Ethereum Core, 2026-02-01: Uopt 92%, base 0, slope1 2.35%, slope2 6.5% (estimate).
WETH = RESERVES["WETH"].rate_curve_on(date(2026, 2, 1))
BASE = InterestRateCurve(0.8, 0.01, 0.04, 0.6, date(2026, 1, 1), None, "test curve", True)


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [
        (0.0, 0.0),  # base
        (0.46, 0.0235 * 0.46 / 0.92),  # halfway to the kink: 1.175%
        (0.92, 0.0235),  # at the kink: base + slope1
        (0.96, 0.0235 + 0.065 * 0.04 / 0.08),  # halfway above: 2.35% + 3.25% = 5.6%
        (1.0, 0.0235 + 0.065),  # base + slope1 + slope2 = 8.85%
    ],
    ids=["U=0", "U=0.46", "U=Uopt", "U=0.96", "U=1"],
)
def test_weth_curve_values(utilization: float, expected: float) -> None:
    assert borrow_rate(utilization, WETH) == pytest.approx(expected, rel=1e-14, abs=1e-18)


def test_curve_with_a_base_rate() -> None:
    # base 1%, slope1 4% to 80%, slope2 60%: U = 0.4 -> 1% + 4% * 0.5 = 3%;
    # U = 0.9 -> 1% + 4% + 60% * 0.1 / 0.2 = 35%.
    assert borrow_rate(0.0, BASE) == pytest.approx(0.01)
    assert borrow_rate(0.4, BASE) == pytest.approx(0.03)
    assert borrow_rate(0.9, BASE) == pytest.approx(0.35)
    assert BASE.max_rate == pytest.approx(0.65)


def test_supply_rate_hand_worked() -> None:
    # U = 0.8, RF 15%: borrow = 2.35% * 0.8 / 0.92 = 2.043478%;
    # supply = 2.043478% * 0.8 * 0.85 = 1.389565%.
    borrow = 0.0235 * 0.8 / 0.92
    assert supply_rate(0.8, WETH, 0.15) == pytest.approx(borrow * 0.8 * 0.85, rel=1e-14)
    assert supply_rate(0.0, WETH, 0.15) == 0.0
    # A deficit lowers the supply usage ratio only.
    assert supply_rate(0.8, WETH, 0.15, supply_utilization=0.7) == pytest.approx(
        borrow * 0.7 * 0.85, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(u=st.floats(0.0, 1.0))
def test_inverse_round_trip(u: float) -> None:
    for curve in (WETH, BASE):
        assert utilization_from_borrow_rate(borrow_rate(u, curve), curve) == pytest.approx(
            u, abs=1e-12)


def test_vectorised_versions_match_scalar() -> None:
    u = np.linspace(0.0, 1.0, 1_001)
    rates = borrow_rate_array(u, WETH)
    assert rates == pytest.approx([borrow_rate(x, WETH) for x in u], rel=1e-14, abs=1e-18)
    assert supply_rate_array(u, WETH, 0.15) == pytest.approx(
        [supply_rate(x, WETH, 0.15) for x in u], rel=1e-14, abs=1e-18)
    assert utilization_from_borrow_rate_array(rates, WETH) == pytest.approx(u, abs=1e-12)
    out_of_range = utilization_from_borrow_rate_array([-0.01, 0.5], WETH)
    assert np.isnan(out_of_range).all()


def test_rate_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"utilization=1\.5"):
        borrow_rate(1.5, WETH)
    with pytest.raises(InvalidArgument, match="outside the curve's range"):
        utilization_from_borrow_rate(0.5, WETH)
    with pytest.raises(InvalidArgument, match="utilization values"):
        borrow_rate_array([0.5, float("nan")], WETH)


def test_exact_rates_hand_worked() -> None:
    # 80 debt / 100 total: borrowUsage = rayDiv(80, 100) = 0.8e27.
    # rate = rayDiv(rayMul(2.35e25, 0.8e27), 0.92e27) = rayDiv(1.88e25, 0.92e27)
    #      = (1.88e25 * 1e27 + 0.46e27) // 0.92e27 = 20434782608695652173913043 (half up);
    # liquidity = percentMul(rayMul(rate, 0.8e27), 8500).
    liquidity, rate = calculate_interest_rates_ray(80, 20, WETH, 1_500)
    expected_rate = (188 * 10**23 * am.RAY + 46 * 10**25) // (92 * 10**25)
    assert rate == expected_rate == 20_434_782_608_695_652_173_913_043
    assert liquidity == am.percent_mul(am.ray_mul(expected_rate, 8 * 10**26), 8_500)
    assert rate / am.RAY == pytest.approx(borrow_rate(0.8, WETH), rel=1e-15)
    assert liquidity / am.RAY == pytest.approx(supply_rate(0.8, WETH, 0.15), rel=1e-15)
    # No debt: (0, base). Above the kink: 96 / 100.
    assert calculate_interest_rates_ray(0, 100, WETH, 1_500) == (0, 0)
    _, above = calculate_interest_rates_ray(96, 4, WETH, 1_500)
    assert above / am.RAY == pytest.approx(borrow_rate(0.96, WETH), rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(debt=st.integers(1, 10**30), liquidity=st.integers(0, 10**30))
def test_exact_rates_track_float(debt: int, liquidity: int) -> None:
    u = float(Fraction(debt, debt + liquidity))
    liquidity_ray, rate_ray = calculate_interest_rates_ray(debt, liquidity, WETH, 1_500)
    assert rate_ray / am.RAY == pytest.approx(borrow_rate(u, WETH), rel=1e-12, abs=1e-26)
    assert liquidity_ray / am.RAY == pytest.approx(supply_rate(u, WETH, 0.15), rel=1e-12,
                                                   abs=1e-26)


def test_accrual_factors() -> None:
    # Linear: 5% for half a year = 1.025. Compounded: 1 + x + x^2/2 + x^3/6 at x = 0.025.
    half_year = am.SECONDS_PER_YEAR / 2
    assert linear_interest_factor(0.05, half_year) == pytest.approx(1.025, rel=1e-15)
    x = 0.025
    assert compounded_interest_factor(0.05, half_year) == pytest.approx(
        1 + x + x * x / 2 + x**3 / 6, rel=1e-15)
    # Against exp: short by x^4/24 to within the next order.
    gap = math.exp(x) - float(compounded_interest_factor(0.05, half_year))
    assert gap == pytest.approx(x**4 / 24, rel=0.03)
    # Float factors match the ray versions.
    rate_ray = 5 * 10**25
    assert compounded_interest_factor(0.05, 86_400) == pytest.approx(
        am.calculate_compounded_interest(rate_ray, 86_400) / am.RAY, rel=1e-15)
    assert linear_interest_factor(0.05, 86_400) == pytest.approx(
        am.calculate_linear_interest(rate_ray, 86_400) / am.RAY, rel=1e-15)
    assert isinstance(compounded_interest_factor(np.array([0.01, 0.02]), 10.0), np.ndarray)


def test_reserve_state() -> None:
    state = ReserveState(total_supplied=100.0, total_borrowed=80.0)
    assert state.utilization == 0.8
    assert state.borrow_rate(WETH) == pytest.approx(0.0235 * 0.8 / 0.92)
    year = state.accrue(am.SECONDS_PER_YEAR, WETH)
    x = state.borrow_rate(WETH)
    assert year.total_borrowed == pytest.approx(80 * (1 + x + x * x / 2 + x**3 / 6), rel=1e-14)
    # interest is added to both sides
    assert year.total_supplied - 100.0 == pytest.approx(year.total_borrowed - 80.0, rel=1e-14)
    with pytest.raises(InvalidArgument, match="must not exceed"):
        ReserveState(total_supplied=1.0, total_borrowed=2.0)


def test_full_utilization_round_trips_on_every_curve() -> None:
    # borrow_rate(1) and max_rate sum the same terms in another order; the inverse must not
    # refuse the curve's own top rate (seen on the 2026-03-14 WETH curve).
    from delever.protocol import RESERVES
    from delever.protocol.rates import (
        borrow_rate,
        utilization_from_borrow_rate,
        utilization_from_borrow_rate_array,
    )

    for reserve in RESERVES.values():
        for curve in reserve.rate_curves:
            top = borrow_rate(1.0, curve)
            assert utilization_from_borrow_rate(top, curve) == pytest.approx(1.0, abs=1e-12)
            assert utilization_from_borrow_rate_array([top], curve)[0] == pytest.approx(1.0)


def test_v30_liquidity_rate_goes_through_the_overall_borrow_rate() -> None:
    """80 units of debt, 20 available: the same variable rate as v3.2+; the liquidity rate
    multiplies _getOverallBorrowRate = rayDiv(rayMul(wadToRay(80), rate), wadToRay(80)), which
    v3.0 computes even without stable debt (aave-v3-core 1.19 DefaultReserveInterestRateStrategy
    .sol, line 236). Worked out: wadToRay(80) = 80e9; rayMul(80e9, 20434782608695652173913043)
    = 1634782608.70 rounded half up = 1634782609; rayDiv(1634782609, 80e9) =
    20434782612500000000000000: 3.8e15 ray-wei above the variable rate."""
    v30, rate_30 = calculate_interest_rates_ray(80, 20, WETH, 1_500, rule_set="3.0")
    v36, rate_36 = calculate_interest_rates_ray(80, 20, WETH, 1_500)
    assert rate_30 == rate_36 == 20_434_782_608_695_652_173_913_043
    overall = (1_634_782_609 * am.RAY + 40 * 10**9) // (80 * 10**9)
    assert overall == 20_434_782_612_500_000_000_000_000
    assert v30 == am.percent_mul(am.ray_mul(overall, 8 * 10**26), 8_500)
    assert v30 != v36
