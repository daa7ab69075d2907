"""Aave v3 interest rates: the two-slope curve, supply rate and index accrual (float and ray).

Float functions take fractions (0.92 = 92%, 0.05 = 5%/yr); ``*_ray`` functions take and return
the contract's ray integers (1e27 = 100%). Sources: ``DefaultReserveInterestRateStrategyV2.
calculateInterestRates`` and ``ReserveLogic._updateIndexes`` (aave-v3-origin v3.6.0) and
``MathUtils.calculateLinearInterest`` / ``calculateCompoundedInterest``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from delever._typing import ArrayLike, FloatArray
from delever.errors import InvalidArgument
from delever.protocol import math as am
from delever.protocol.reserves import InterestRateCurve

SECONDS_PER_YEAR = am.SECONDS_PER_YEAR


def _utilization(field: str, value: float) -> float:
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise InvalidArgument(f"{field}={value!r} must be in [0, 1]; give a fraction, e.g. 0.9.")
    return number


def borrow_rate(utilization: float, curve: InterestRateCurve) -> float:
    """Variable borrow rate (fraction per year) at ``utilization``.

    Parameters
    ----------
    utilization
        Borrow usage ratio ``debt / (available liquidity + debt)``, in [0, 1].
    curve
        The rate curve.

    Returns
    -------
    float
        ``base + slope1 * U / Uopt`` for ``U <= Uopt``; ``base + slope1 + slope2 * (U - Uopt) /
        (1 - Uopt)`` above (``calculateInterestRates``).
    """
    u = _utilization("utilization", utilization)
    uopt = curve.optimal_usage_ratio
    if u > uopt:
        return curve.base_rate + curve.slope1 + curve.slope2 * (u - uopt) / (1.0 - uopt)
    return curve.base_rate + curve.slope1 * u / uopt


def borrow_rate_array(utilization: ArrayLike, curve: InterestRateCurve) -> FloatArray:
    """:func:`borrow_rate` over an array of utilizations (values must lie in [0, 1])."""
    u = np.asarray(utilization, dtype=np.float64)
    if u.size and not (np.all(np.isfinite(u)) and u.min() >= 0.0 and u.max() <= 1.0):
        raise InvalidArgument("utilization values must be finite and in [0, 1].")
    uopt = curve.optimal_usage_ratio
    below = curve.base_rate + curve.slope1 * u / uopt
    above = curve.base_rate + curve.slope1 + curve.slope2 * (u - uopt) / (1.0 - uopt)
    out: FloatArray = np.where(u > uopt, above, below)
    return out


def supply_rate(
    utilization: float,
    curve: InterestRateCurve,
    reserve_factor: float,
    *,
    supply_utilization: float | None = None,
) -> float:
    """Supply (liquidity) rate, fraction per year.

    Parameters
    ----------
    utilization
        Borrow usage ratio, in [0, 1].
    curve
        The rate curve.
    reserve_factor
        Treasury share of interest, a fraction.
    supply_utilization
        ``debt / (liquidity + debt + deficit)``; defaults to ``utilization`` (no deficit).

    Returns
    -------
    float
        ``borrow_rate * supply_utilization * (1 - reserve_factor)`` (``calculateInterestRates``:
        ``rayMul(borrowRate, supplyUsageRatio).percentMul(1e4 - reserveFactor)``).
    """
    u = _utilization("utilization", utilization)
    us = u if supply_utilization is None else _utilization("supply_utilization",
                                                           supply_utilization)
    rf = float(reserve_factor)
    if not (math.isfinite(rf) and 0.0 <= rf <= 1.0):
        raise InvalidArgument(f"reserve_factor={reserve_factor!r} must be in [0, 1].")
    if u == 0.0:
        return 0.0  # no debt: the contract returns a zero liquidity rate
    return borrow_rate(u, curve) * us * (1.0 - rf)


def supply_rate_array(
    utilization: ArrayLike, curve: InterestRateCurve, reserve_factor: float
) -> FloatArray:
    """:func:`supply_rate` over an array of utilizations (no deficit)."""
    u = np.asarray(utilization, dtype=np.float64)
    out: FloatArray = borrow_rate_array(u, curve) * u * (1.0 - float(reserve_factor))
    return out


def utilization_from_borrow_rate(rate: float, curve: InterestRateCurve) -> float:
    """Utilization at which the curve gives ``rate`` (the inverse of :func:`borrow_rate`).

    Returns the smallest such utilization when the curve is flat. Raises InvalidArgument for a
    rate outside ``[base, base + slope1 + slope2]``.
    """
    r = float(rate)
    # borrow_rate and max_rate add the same terms in another order: allow a rounding step.
    slack = 4.0 * math.ulp(curve.max_rate)
    if not math.isfinite(r) or r < curve.base_rate or r > curve.max_rate + slack:
        raise InvalidArgument(
            f"rate={rate!r} is outside the curve's range [{curve.base_rate:g}, "
            f"{curve.max_rate:g}]."
        )
    uopt = curve.optimal_usage_ratio
    kink = curve.base_rate + curve.slope1
    if r <= kink:
        if curve.slope1 == 0.0:
            return 0.0
        return (r - curve.base_rate) / curve.slope1 * uopt
    return min(1.0, uopt + (r - kink) / curve.slope2 * (1.0 - uopt))


def utilization_from_borrow_rate_array(rate: ArrayLike, curve: InterestRateCurve) -> FloatArray:
    """:func:`utilization_from_borrow_rate` over an array (rates outside the range give nan)."""
    r = np.asarray(rate, dtype=np.float64)
    uopt = curve.optimal_usage_ratio
    kink = curve.base_rate + curve.slope1
    with np.errstate(divide="ignore", invalid="ignore"):
        below = ((r - curve.base_rate) / curve.slope1 * uopt if curve.slope1 > 0
                 else np.zeros_like(r))
        above = uopt + (r - kink) / curve.slope2 * (1.0 - uopt) if curve.slope2 > 0 else (
            np.full_like(r, uopt))
    out: FloatArray = np.where(r <= kink, below, above)
    slack = 4.0 * math.ulp(curve.max_rate)
    out = np.minimum(out, 1.0)
    out = np.where(
        (r < curve.base_rate) | (r > curve.max_rate + slack) | ~np.isfinite(r), np.nan, out
    )
    return out


# --- exact (ray) ----------------------------------------------------------------------------
def calculate_interest_rates_ray(
    total_debt: int,
    available_liquidity: int,
    curve: InterestRateCurve,
    reserve_factor_bps: int,
    *,
    unbacked: int = 0,
    rule_set: str = "3.6",
) -> tuple[int, int]:
    """``DefaultReserveInterestRateStrategyV2.calculateInterestRates`` in integers (v3.0:
    ``DefaultReserveInterestRateStrategy.calculateInterestRates``, ``rule_set="3.0"``).

    Parameters
    ----------
    total_debt
        Total variable debt, token units.
    available_liquidity
        Virtual underlying balance after the action (token units).
    curve
        The rate curve (held in basis points by the contract).
    reserve_factor_bps
        Reserve factor in basis points.
    unbacked
        The reserve's deficit (v3.6 passes ``reserve.deficit`` as ``unbacked``).
    rule_set
        ``"3.0"``: the liquidity rate multiplies v3.0's ``_getOverallBorrowRate`` (aave-v3-core
        1.19 DefaultReserveInterestRateStrategy.sol, line 236), the debt-weighted mean of the
        variable and stable rates, ``(D.wadToRay().rayMul(rate)).rayDiv(D.wadToRay())`` with
        no stable debt (delever models none): it differs from ``rate`` by up to ``0.5e18 / D``
        ray-wei. From v3.2 on (``"3.3"``, ``"3.6"``) the variable rate itself.

    Returns
    -------
    tuple[int, int]
        ``(liquidity_rate_ray, variable_borrow_rate_ray)``.
    """
    optimal, base, slope1, slope2 = curve.ray_params()
    if total_debt == 0:
        return 0, base
    liquidity_plus_debt = available_liquidity + total_debt
    borrow_usage = am.ray_div(total_debt, liquidity_plus_debt)
    supply_usage = am.ray_div(total_debt, liquidity_plus_debt + unbacked)
    rate = base
    if borrow_usage > optimal:
        excess = am.ray_div(borrow_usage - optimal, am.RAY - optimal)
        rate += slope1 + am.ray_mul(slope2, excess)
    else:
        rate += am.ray_div(am.ray_mul(slope1, borrow_usage), optimal)
    overall = rate
    if rule_set == "3.0":  # the round trip through the debt-weighted overall rate
        debt_ray = am.wad_to_ray(total_debt)
        overall = am.ray_div(am.ray_mul(debt_ray, rate), debt_ray)
    liquidity_rate = am.percent_mul(am.ray_mul(overall, supply_usage),
                                    am.PERCENTAGE_FACTOR - reserve_factor_bps)
    return liquidity_rate, rate


def linear_interest_factor(rate: ArrayLike, elapsed_s: ArrayLike) -> FloatArray | float:
    """Supply-side growth factor ``1 + rate * t / year`` (float; arrays broadcast).

    ``MathUtils.calculateLinearInterest``; the liquidity index grows by this factor.
    """
    r = np.asarray(rate, dtype=np.float64)
    t = np.asarray(elapsed_s, dtype=np.float64)
    out = 1.0 + r * t / SECONDS_PER_YEAR
    return float(out) if out.ndim == 0 else out


def compounded_interest_factor(rate: ArrayLike, elapsed_s: ArrayLike) -> FloatArray | float:
    """Borrow-side growth factor ``1 + x + x^2/2 + x^3/6``, ``x = rate * t / year`` (float).

    ``MathUtils.calculateCompoundedInterest`` (v3.4+): the variable borrow index grows by this
    factor; it falls short of ``exp(x)`` by about ``x^4 / 24``.
    """
    r = np.asarray(rate, dtype=np.float64)
    t = np.asarray(elapsed_s, dtype=np.float64)
    x = r * t / SECONDS_PER_YEAR
    out = 1.0 + x + x * x / 2.0 + x * x * x / 6.0
    return float(out) if out.ndim == 0 else out


def rate_to_ray(rate: float) -> int:
    """Annual rate fraction -> ray integer (via its decimal repr, rounded to the nearest)."""
    return int(Decimal(repr(float(rate))).scaleb(27).to_integral_value(ROUND_HALF_EVEN))


@dataclass(frozen=True)
class ReserveState:
    """Aggregate state of one reserve, in tokens.

    Parameters
    ----------
    total_supplied
        aToken supply (available liquidity + debt), tokens.
    total_borrowed
        Variable debt, tokens.
    deficit
        Bad debt recorded on the reserve (v3.3+), tokens.
    """

    total_supplied: float
    total_borrowed: float
    deficit: float = 0.0

    def __post_init__(self) -> None:
        for name in ("total_supplied", "total_borrowed", "deficit"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise InvalidArgument(f"{name}={getattr(self, name)!r} must not be negative.")
            object.__setattr__(self, name, value)
        if self.total_borrowed > self.total_supplied:
            raise InvalidArgument(
                f"total_borrowed={self.total_borrowed!r} must not exceed "
                f"total_supplied={self.total_supplied!r}."
            )

    @property
    def utilization(self) -> float:
        """Borrow usage ratio ``borrowed / supplied`` (0 when nothing is supplied)."""
        return self.total_borrowed / self.total_supplied if self.total_supplied > 0 else 0.0

    @property
    def supply_utilization(self) -> float:
        """``borrowed / (supplied + deficit)``, the ratio the supply rate uses."""
        denominator = self.total_supplied + self.deficit
        return self.total_borrowed / denominator if denominator > 0 else 0.0

    def borrow_rate(self, curve: InterestRateCurve) -> float:
        """Variable borrow rate at this utilization."""
        return borrow_rate(self.utilization, curve) if self.total_borrowed > 0 else (
            curve.base_rate)

    def supply_rate(self, curve: InterestRateCurve, reserve_factor: float) -> float:
        """Supply rate at this utilization."""
        return supply_rate(self.utilization, curve, reserve_factor,
                           supply_utilization=self.supply_utilization)

    def accrue(self, elapsed_s: float, curve: InterestRateCurve) -> ReserveState:
        """The state after ``elapsed_s`` seconds at the current borrow rate.

        Debt grows by the compounded factor; the interest is added to the supply (suppliers'
        share and the treasury's reserve-factor share are both aToken supply).
        """
        factor = compounded_interest_factor(self.borrow_rate(curve), elapsed_s)
        interest = self.total_borrowed * (float(factor) - 1.0)
        return ReserveState(self.total_supplied + interest, self.total_borrowed + interest,
                            self.deficit)


__all__ = [
    "SECONDS_PER_YEAR",
    "ReserveState",
    "borrow_rate",
    "borrow_rate_array",
    "calculate_interest_rates_ray",
    "compounded_interest_factor",
    "linear_interest_factor",
    "rate_to_ray",
    "supply_rate",
    "supply_rate_array",
    "utilization_from_borrow_rate",
    "utilization_from_borrow_rate_array",
]
