"""Aave v3 Ethereum Core reserve parameters: risk parameters, rate curves and the ETH e-mode.

Every number carries its source. Risk parameters (LTV, liquidation threshold, bonus, reserve
factor, decimals) are the on-chain values in the daily snapshot of 2026-02-01 (00:24 UTC) of
th3nolo/aave-v3-data (MIT), copied in ``/work/shared/data/raw/th3nolo_aave-v3-data/
aave_v3_ethereum_reserves_daily.csv`` (source commit ec87519d). That file's
``liquidation_protocol_fee`` column is mis-decoded upstream, so the protocol fee comes from Aave's
published listing parameters instead and is labelled an estimate for these reserves.

Interest-rate curves are ``DefaultReserveInterestRateStrategyV2`` parameters. Where a governance
post gives them, the post is cited; where they are inferred, the inference uses the same daily
file: below the kink the borrow rate is ``slope1 * U / Uopt`` (base 0) and the supply rate is
``borrow_rate * U * (1 - reserve_factor)``, so ``U = supply / (borrow * (1 - RF))`` and
``borrow / U = slope1 / Uopt`` can be read off each day; a change of that ratio dates a change
of slope1. ``valid_from`` is the first daily snapshot (about 00:20 UTC) showing a curve, so the
change itself happened during the previous UTC day or just before the snapshot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from delever.errors import InvalidArgument, unknown_name

CSV_FILE = "th3nolo/aave-v3-data daily snapshots (aave_v3_ethereum_reserves_daily.csv)"
SNAPSHOT = "snapshot 2026-02-01T00:24Z, source commit ec87519d"
CSV_SOURCE = f"{CSV_FILE}, {SNAPSHOT}"


def _fraction(field: str, value: float, *, upper: float = 1.0, hint: str = "") -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > upper:
        tail = hint or "give a fraction, e.g. 0.83."
        raise InvalidArgument(f"{field}={value!r} must be in [0, {upper:g}]; {tail}")
    return number


@dataclass(frozen=True)
class InterestRateCurve:
    """One ``DefaultReserveInterestRateStrategyV2`` parameter set and the days it applied.

    Parameters
    ----------
    optimal_usage_ratio
        Kink of the curve, a fraction (0.92 = 92%); the contract allows [0.01, 0.99].
    base_rate
        Annual borrow rate at zero utilization (fraction per year).
    slope1
        Rate added from 0 to the kink (fraction per year).
    slope2
        Rate added from the kink to 100% utilization; the contract requires slope2 >= slope1.
    valid_from, valid_to
        First and last day (inclusive, UTC) the curve applied; ``valid_to=None`` is open-ended.
    source
        Where the numbers come from.
    estimate
        True when any of the numbers is an estimate or an inference.

    Notes
    -----
    ``DefaultReserveInterestRateStrategyV2._setInterestRateParams`` stores these in basis
    points and requires ``1% <= optimal <= 99%``, ``slope1 <= slope2`` and
    ``base + slope1 + slope2 <= 1000%``; the same rules are checked here.
    """

    optimal_usage_ratio: float
    base_rate: float
    slope1: float
    slope2: float
    valid_from: date
    valid_to: date | None
    source: str
    estimate: bool

    def __post_init__(self) -> None:
        optimal = float(self.optimal_usage_ratio)
        if not (math.isfinite(optimal) and 0.01 <= optimal <= 0.99):
            raise InvalidArgument(
                f"optimal_usage_ratio={self.optimal_usage_ratio!r} must be in [0.01, 0.99] "
                "(Aave's MIN/MAX_OPTIMAL_POINT); give a fraction, e.g. 0.92."
            )
        for name in ("base_rate", "slope1", "slope2"):
            _fraction(name, getattr(self, name), upper=10.0, hint="give an annual fraction, "
                      "e.g. 0.0235 for 2.35%.")
        if self.slope1 > self.slope2:
            raise InvalidArgument(
                f"slope1={self.slope1!r} must not exceed slope2={self.slope2!r} "
                "(Aave's Slope2MustBeGteSlope1)."
            )
        if self.base_rate + self.slope1 + self.slope2 > 10.0:
            raise InvalidArgument(
                f"base_rate + slope1 + slope2 = {self.base_rate + self.slope1 + self.slope2!r} "
                "must not exceed 10 (1000%, Aave's MAX_BORROW_RATE)."
            )
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise InvalidArgument(
                f"valid_to={self.valid_to} must not be before valid_from={self.valid_from}."
            )
        for name in ("optimal_usage_ratio", "base_rate", "slope1", "slope2"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def max_rate(self) -> float:
        """Borrow rate at 100% utilization: ``base + slope1 + slope2``."""
        return self.base_rate + self.slope1 + self.slope2

    def applies_on(self, day: date) -> bool:
        """Whether ``day`` falls inside ``[valid_from, valid_to]``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def ray_params(self) -> tuple[int, int, int, int]:
        """``(optimal, base, slope1, slope2)`` as the contract holds them: bps * 1e23 (ray).

        ``DefaultReserveInterestRateStrategyV2._rayifyRateData`` / ``_bpsToRay``.
        """
        ray_per_bps = 10**23
        return (
            round(self.optimal_usage_ratio * 10_000) * ray_per_bps,
            round(self.base_rate * 10_000) * ray_per_bps,
            round(self.slope1 * 10_000) * ray_per_bps,
            round(self.slope2 * 10_000) * ray_per_bps,
        )


@dataclass(frozen=True)
class ReserveParams:
    """Risk parameters of one Aave v3 reserve.

    Parameters
    ----------
    symbol
        Token symbol as Aave lists it (``"WETH"``, ``"wstETH"``...).
    decimals
        Token decimals (18 for WETH, 6 for USDC).
    ltv
        Loan-to-value, a fraction.
    liquidation_threshold
        Liquidation threshold (LT), a fraction with ``ltv <= LT <= 1``.
    liquidation_bonus
        Bonus above 1 paid to liquidators, a fraction (0.05 for Aave's 10500 bps).
    liquidation_protocol_fee
        Share of the bonus that goes to the Aave treasury, a fraction.
    reserve_factor
        Share of borrow interest kept by the treasury, a fraction.
    eth_correlated
        True for ETH and ETH derivatives (their price moves with ETH's).
    rate_curves
        Interest-rate curves in date order, non-overlapping.
    source
        Where the risk parameters come from.
    as_of
        Date the risk parameters were read.
    estimated_fields
        Names of the fields whose values are estimates.

    Notes
    -----
    ``(1 + bonus) * LT < 1`` is what makes a 50% close raise the health factor; Aave's
    configurator enforces ``LT * (1 + bonus) <= 1`` but it is not required here, so that
    stress scenarios can explore beyond it.
    """

    symbol: str
    decimals: int
    ltv: float
    liquidation_threshold: float
    liquidation_bonus: float
    liquidation_protocol_fee: float
    reserve_factor: float
    eth_correlated: bool
    rate_curves: tuple[InterestRateCurve, ...]
    source: str
    as_of: date
    estimated_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.decimals, int) or isinstance(self.decimals, bool) or not (
            0 <= self.decimals <= 36
        ):
            raise InvalidArgument(
                f"decimals={self.decimals!r} must be an integer in [0, 36], e.g. 18 for WETH."
            )
        ltv = _fraction("ltv", self.ltv)
        lt = _fraction("liquidation_threshold", self.liquidation_threshold,
                       hint="give a fraction, e.g. 0.83.")
        if ltv > lt:
            raise InvalidArgument(
                f"ltv={self.ltv!r} must not exceed "
                f"liquidation_threshold={self.liquidation_threshold!r}; lower ltv or raise the "
                "threshold."
            )
        bonus = float(self.liquidation_bonus)
        if not math.isfinite(bonus) or bonus < 0:
            raise InvalidArgument(
                f"liquidation_bonus={self.liquidation_bonus!r} must not be negative; give the "
                "bonus above 1 as a fraction, e.g. 0.05."
            )
        if bonus >= 1:
            raise InvalidArgument(
                f"liquidation_bonus={self.liquidation_bonus!r} must be below 1; give the bonus "
                "above 1 as a fraction, e.g. 0.05 (not 1.05)."
            )
        fee = _fraction("liquidation_protocol_fee", self.liquidation_protocol_fee)
        factor = _fraction("reserve_factor", self.reserve_factor)
        curves = tuple(self.rate_curves)
        for earlier, later in itertools.pairwise(curves):
            if earlier.valid_to is None or later.valid_from <= earlier.valid_to:
                raise InvalidArgument(
                    f"rate_curves of {self.symbol}: curve from {later.valid_from} overlaps the "
                    f"one from {earlier.valid_from}; give them in date order without overlap."
                )
        object.__setattr__(self, "ltv", ltv)
        object.__setattr__(self, "liquidation_threshold", lt)
        object.__setattr__(self, "liquidation_bonus", bonus)
        object.__setattr__(self, "liquidation_protocol_fee", fee)
        object.__setattr__(self, "reserve_factor", factor)
        object.__setattr__(self, "rate_curves", curves)

    def rate_curve_on(self, day: date) -> InterestRateCurve:
        """The interest-rate curve in force on ``day``.

        Raises
        ------
        InvalidArgument
            When no known curve covers ``day``.
        """
        for curve in self.rate_curves:
            if curve.applies_on(day):
                return curve
        if not self.rate_curves:
            raise InvalidArgument(f"{self.symbol} has no interest-rate curve.")
        first = self.rate_curves[0].valid_from
        last = self.rate_curves[-1].valid_to
        span = f"{first} to {last if last is not None else 'open'}"
        raise InvalidArgument(
            f"day={day} has no known {self.symbol} rate curve; known curves cover {span}."
        )

    @property
    def unit(self) -> int:
        """``10**decimals``: one whole token in its smallest units."""
        return int(10**self.decimals)

    # Contract representations (basis points; ``liquidationBonus`` includes the 100%).
    @property
    def ltv_bps(self) -> int:
        """LTV in basis points, as ``ReserveConfiguration.getLtv`` returns it."""
        return round(self.ltv * 10_000)

    @property
    def liquidation_threshold_bps(self) -> int:
        """LT in basis points, as ``ReserveConfiguration.getLiquidationThreshold``."""
        return round(self.liquidation_threshold * 10_000)

    @property
    def liquidation_bonus_bps(self) -> int:
        """``10000 + bonus`` in basis points (10500 for 5%), as ``getLiquidationBonus``."""
        return 10_000 + round(self.liquidation_bonus * 10_000)

    @property
    def liquidation_protocol_fee_bps(self) -> int:
        """Protocol fee in basis points, as ``getLiquidationProtocolFee``."""
        return round(self.liquidation_protocol_fee * 10_000)


@dataclass(frozen=True)
class EModeCategory:
    """An Aave v3 efficiency-mode category.

    Parameters
    ----------
    category_id
        Aave's category id.
    label
        Aave's label.
    ltv, liquidation_threshold
        Fractions applied to the category's collateral assets in place of theirs.
    liquidation_bonus
        Bonus above 1 (fraction) for the category's collateral assets.
    collateral_symbols
        Assets whose LTV / LT / bonus the category replaces (``collateralBitmap``).
    borrowable_symbols
        The only assets an e-mode user may borrow (``borrowableBitmap``).
    source
        Where the numbers come from.
    estimate
        True when a value may not be the one live on the date of interest.
    """

    category_id: int
    label: str
    ltv: float
    liquidation_threshold: float
    liquidation_bonus: float
    collateral_symbols: tuple[str, ...]
    borrowable_symbols: tuple[str, ...]
    source: str
    estimate: bool = False

    def __post_init__(self) -> None:
        ltv = _fraction("ltv", self.ltv)
        lt = _fraction("liquidation_threshold", self.liquidation_threshold)
        if ltv > lt:
            raise InvalidArgument(
                f"ltv={self.ltv!r} must not exceed "
                f"liquidation_threshold={self.liquidation_threshold!r}."
            )
        bonus = _fraction("liquidation_bonus", self.liquidation_bonus,
                          hint="give the bonus above 1 as a fraction, e.g. 0.01.")

        object.__setattr__(self, "ltv", ltv)
        object.__setattr__(self, "liquidation_threshold", lt)
        object.__setattr__(self, "liquidation_bonus", bonus)
        object.__setattr__(self, "collateral_symbols", tuple(self.collateral_symbols))
        object.__setattr__(self, "borrowable_symbols", tuple(self.borrowable_symbols))

    @property
    def ltv_bps(self) -> int:
        """LTV in basis points."""
        return round(self.ltv * 10_000)

    @property
    def liquidation_threshold_bps(self) -> int:
        """LT in basis points."""
        return round(self.liquidation_threshold * 10_000)

    @property
    def liquidation_bonus_bps(self) -> int:
        """``10000 + bonus`` in basis points (10100 for 1%)."""
        return 10_000 + round(self.liquidation_bonus * 10_000)


# --- Interest-rate curves -------------------------------------------------------------------
_INFERRED = f"inferred from {CSV_FILE} (borrow rate / utilization, see module docstring)"
_CHAOS_WETH_070226 = (
    "Chaos Labs, 'Chaos Labs Risk Stewards - Adjust WETH Interest Rate Curve on Aave V3 - "
    "07.02.26', governance.aave.com/t/24018 (UOptimal 92%->94%, Slope1 2.35%->2.45%, temporary)"
)
_TOKENLOGIC_WETH_180426 = (
    "TokenLogic, '[Risk Stewards] Reduce wETH Slope1', governance.aave.com/t/24478, 2026-04-18 "
    "(current state: base 0, Slope1 2.35%, Slope2 6.00%, Uoptimal 92%)"
)
_SLOPE2_ORACLE = (
    "slope2 is moved by a Chaos Labs risk oracle; the value is an estimate"
)

WETH_RATE_CURVES: tuple[InterestRateCurve, ...] = (
    InterestRateCurve(
        0.92, 0.0, 0.027, 0.065, date(2025, 8, 12), date(2025, 9, 16),
        f"slope1/Uopt = 0.02935 {_INFERRED}; Uopt 92% per TokenLogic 2025-07-19 "
        f"(governance.aave.com/t/22625), slope1 2.7% per governance.aave.com/t/23129; "
        f"{_SLOPE2_ORACLE}",
        estimate=True,
    ),
    InterestRateCurve(
        0.92, 0.0, 0.026, 0.065, date(2025, 9, 17), date(2025, 11, 29),
        f"slope1/Uopt = 0.02826 {_INFERRED}; Uopt 92% per TokenLogic 2025-07-19 "
        f"(governance.aave.com/t/22625); slope1 2.7%->2.6% per governance.aave.com/t/23129; "
        f"{_SLOPE2_ORACLE}",
        estimate=True,
    ),
    InterestRateCurve(
        0.92, 0.0, 0.025, 0.065, date(2025, 11, 30), date(2026, 1, 17),
        f"slope1/Uopt = 0.02717 {_INFERRED}; target 2.5% per Chaos Labs 25-11-25 "
        f"(governance.aave.com/t/23465); {_SLOPE2_ORACLE}",
        estimate=True,
    ),
    InterestRateCurve(
        0.92, 0.0, 0.0235, 0.065, date(2026, 1, 18), date(2026, 2, 7),
        f"slope1 2.35% at Uopt 92% per {_CHAOS_WETH_070226}; slope1/Uopt = 0.02554 "
        f"{_INFERRED}; slope2 6.5% inferred from the 2026-02-07 snapshot (U 95.8%, "
        f"rate 5.43%); {_SLOPE2_ORACLE}",
        estimate=True,
    ),
    InterestRateCurve(
        0.94, 0.0, 0.0245, 0.065, date(2026, 2, 8), date(2026, 3, 13),
        f"{_CHAOS_WETH_070226}; dates from the daily snapshots; slope2 kept at 6.5% "
        f"({_SLOPE2_ORACLE}: snapshots above the kink imply 6.7%-9.8%)",
        estimate=True,
    ),
    InterestRateCurve(
        0.92, 0.0, 0.0235, 0.06, date(2026, 3, 14), date(2026, 4, 18),
        f"reverted to Uopt 92% / slope1 2.35% (slope1/Uopt = 0.02554 {_INFERRED}); "
        f"slope2 6.0% per {_TOKENLOGIC_WETH_180426}",
        estimate=False,
    ),
)

_STABLE_SLOPE2 = (
    "slope2 10% inferred from snapshots above the kink (USDC 2025-11-08: 10.0%, "
    "2026-01-30: 10.0%; USDT 2025-11-06: 10.0%), an estimate"
)
_CHAOS_STABLES_251025 = (
    "Chaos Labs, 'Stablecoins Interest Rate Adjustment on Aave V3 - 25.10.25', "
    "governance.aave.com/t/23302 (target borrow rate 6.5% -> 6.0%)"
)


_CHAOS_STABLES_081425 = (
    "Chaos Labs, 'Stablecoin Interest Rate Adjustment on Aave V3 - 08.14.25', "
    "governance.aave.com/t/22930 (slope1 +100 bps)"
)


def _stable_curves(symbol: str) -> tuple[InterestRateCurve, ...]:
    if symbol == "USDC":
        early: tuple[InterestRateCurve, ...] = (
            InterestRateCurve(
                0.92, 0.0, 0.055, 0.10, date(2025, 7, 22), date(2025, 8, 14),
                f"USDC: slope1/Uopt = 0.05978 {_INFERRED}; Uopt 92% assumed; slope2 an "
                "estimate",
                estimate=True,
            ),
            InterestRateCurve(
                0.92, 0.0, 0.065, 0.10, date(2025, 8, 15), date(2025, 10, 24),
                f"USDC: {_CHAOS_STABLES_081425}; slope1/Uopt = 0.07065 {_INFERRED}; "
                "Uopt 92% assumed; slope2 an estimate",
                estimate=True,
            ),
        )
    else:
        early = (
            InterestRateCurve(
                0.92, 0.0, 0.055, 0.14, date(2025, 7, 22), date(2025, 8, 14),
                f"USDT: slope1/Uopt = 0.05978 {_INFERRED}; Uopt 92% assumed; slope2 an "
                "estimate",
                estimate=True,
            ),
            InterestRateCurve(
                0.94, 0.0, 0.065, 0.14, date(2025, 8, 15), date(2025, 8, 28),
                f"USDT: {_CHAOS_STABLES_081425}; slope1/Uopt = 0.06915 {_INFERRED}, "
                "read as 6.5% at a temporary Uopt of 94% (an estimate); slope2 an estimate",
                estimate=True,
            ),
            InterestRateCurve(
                0.92, 0.0, 0.065, 0.14, date(2025, 8, 29), date(2025, 10, 24),
                f"USDT: slope1/Uopt = 0.07065 {_INFERRED}; Uopt 92% assumed; slope2 14% "
                "inferred from the 2025-09-03 and 2025-09-17 snapshots above the kink",
                estimate=True,
            ),
        )
    return (
        *early,
        InterestRateCurve(
            0.92, 0.0, 0.06, 0.10, date(2025, 10, 25), date(2025, 11, 26),
            f"{symbol}: {_CHAOS_STABLES_251025}; slope1/Uopt = 0.06522 {_INFERRED}; "
            f"Uopt 92% assumed; {_STABLE_SLOPE2}",
            estimate=True,
        ),
        InterestRateCurve(
            0.92, 0.0, 0.055, 0.10, date(2025, 11, 27), date(2026, 1, 5),
            f"{symbol}: slope1/Uopt = 0.05978 {_INFERRED}; Uopt 92% assumed; {_STABLE_SLOPE2}",
            estimate=True,
        ),
        InterestRateCurve(
            0.92, 0.0, 0.05, 0.10, date(2026, 1, 6), date(2026, 3, 7),
            f"{symbol}: slope1 5.0% from 2026-01-06, slope1/Uopt = 0.05435 {_INFERRED}; "
            f"Uopt 92% assumed; {_STABLE_SLOPE2}",
            estimate=True,
        ),
        InterestRateCurve(
            0.92, 0.0, 0.04, 0.10, date(2026, 3, 8), date(2026, 4, 18),
            f"{symbol}: slope1/Uopt = 0.04348 {_INFERRED}; Uopt 92% assumed; "
            f"{_STABLE_SLOPE2}",
            estimate=True,
        ),
    )


WSTETH_RATE_CURVES: tuple[InterestRateCurve, ...] = (
    InterestRateCurve(
        0.80, 0.0, 0.01, 0.80, date(2025, 7, 22), date(2026, 4, 18),
        f"only slope1/Uopt = 0.0125 (base 0) is {_INFERRED}; the split Uopt 80% / slope1 1% "
        "and slope2 80% are estimates",
        estimate=True,
    ),
)

WEETH_RATE_CURVES: tuple[InterestRateCurve, ...] = (
    InterestRateCurve(
        0.30, 0.01, 0.07, 3.00, date(2025, 7, 22), date(2026, 4, 18),
        f"base 1.0% {_INFERRED} (rate ~1.005% at utilization ~0.02%); Uopt 30%, slope1 7%, "
        "slope2 300% are estimates (weETH is borrowed very little)",
        estimate=True,
    ),
)

# Aave's standard liquidation protocol fee on Ethereum Core listings is 10% of the bonus
# (e.g. bgd-labs/aave-proposals-v3 listing diffs: 'liquidationProtocolFee | 10 % [1000]').
_FEE_SOURCE = (
    "liquidation_protocol_fee 10%: Aave's standard value in Ethereum listing payloads "
    "(bgd-labs/aave-proposals-v3 diffs, e.g. the wstETH listing: '10 % [1000]'), an estimate "
    "for this reserve in Feb 2026 (the CSV column is mis-decoded)"
)


def _reserve(
    symbol: str,
    decimals: int,
    ltv: float,
    lt: float,
    bonus: float,
    reserve_factor: float,
    eth_correlated: bool,
    curves: tuple[InterestRateCurve, ...],
) -> ReserveParams:
    return ReserveParams(
        symbol=symbol,
        decimals=decimals,
        ltv=ltv,
        liquidation_threshold=lt,
        liquidation_bonus=bonus,
        liquidation_protocol_fee=0.10,
        reserve_factor=reserve_factor,
        eth_correlated=eth_correlated,
        rate_curves=curves,
        source=f"ltv, liquidation_threshold, liquidation_bonus, reserve_factor, decimals: "
        f"{CSV_SOURCE}; {_FEE_SOURCE}",
        as_of=date(2026, 2, 1),
        estimated_fields=("liquidation_protocol_fee",),
    )


# Values read from the 2026-02-01 snapshot rows of the CSV (one-off script; the test
# tests/protocol/test_reserves.py re-reads the file and checks them).
RESERVES: Mapping[str, ReserveParams] = MappingProxyType(
    {
        "WETH": _reserve("WETH", 18, 0.805, 0.83, 0.05, 0.15, True, WETH_RATE_CURVES),
        "wstETH": _reserve("wstETH", 18, 0.785, 0.81, 0.06, 0.35, True, WSTETH_RATE_CURVES),
        "weETH": _reserve("weETH", 18, 0.775, 0.80, 0.07, 0.45, True, WEETH_RATE_CURVES),
        "USDC": _reserve("USDC", 6, 0.75, 0.78, 0.045, 0.10, False, _stable_curves("USDC")),
        "USDT": _reserve("USDT", 6, 0.75, 0.78, 0.045, 0.10, False, _stable_curves("USDT")),
    }
)

ETH_CORRELATED_EMODE = EModeCategory(
    category_id=1,
    label="ETH correlated",
    ltv=0.93,
    liquidation_threshold=0.95,
    liquidation_bonus=0.01,
    collateral_symbols=("WETH", "wstETH", "weETH"),
    borrowable_symbols=("WETH", "wstETH", "weETH"),
    source=(
        "Aave v3 Ethereum Core e-mode id 1 'ETH correlated': LTV 93%, LT 95%, bonus 1%, "
        "collateral and borrowable WETH, wstETH, cbETH, rETH, weETH, osETH, ETHx "
        "(bgd-labs/aave-proposals-v3 payload diffs, 'EMode: ETH correlated(id: 1)'; LTV/LT set "
        "by ARFC governance.aave.com/t/13570); LT 95% vs WETH confirmed for wstETH/weETH by "
        "TokenLogic 2026-04-18 (governance.aave.com/t/24478). Only the three reserves modelled "
        "here are listed. Estimate: the category's Feb 2026 membership was not re-checked."
    ),
    estimate=True,
)


WSTETH_ETH_EMODE = EModeCategory(
    category_id=8,
    label="wstETH/ETH",
    ltv=0.935,
    liquidation_threshold=0.955,
    liquidation_bonus=0.01,
    collateral_symbols=("wstETH",),
    borrowable_symbols=("WETH",),
    source=(
        "Aave v3 Ethereum Core e-mode id 8 'wstETH/ETH' (a v3.2 liquid e-mode: wstETH "
        "collateral, WETH borrowable): LTV 93.5%, LT 95.5%, bonus 1%, as created by the "
        "2025-03-18 payload (AaveChan/aave-proposals-v3 diffs/AaveV3Ethereum_WstETHAndWeETHEModes"
        "AndLTLTVAdjustmentsOnEthereumArbitrumBase_20250318_before_..._after.md; ARFC "
        "governance.aave.com/t/21370 and Risk Stewards governance.aave.com/t/21333). Estimate: "
        "later changes before February 2026 were not checked (the LRT and wstETH Unification "
        "ARFC, governance.aave.com/t/21739, raised Prime's, not Core's, to LT 96.5%)."
    ),
    estimate=True,
)

EMODE_CATEGORIES: Mapping[str, EModeCategory] = MappingProxyType({
    "eth-correlated": ETH_CORRELATED_EMODE,
    "wsteth-eth": WSTETH_ETH_EMODE,
})
"""Ethereum Core's e-mode categories a loop can use, by name (see each one's source)."""


def get_reserve(
    symbol: str, reserves: Mapping[str, ReserveParams] = RESERVES
) -> ReserveParams:
    """The reserve called ``symbol`` (case-insensitive); unknown names get close matches."""
    if symbol in reserves:
        return reserves[symbol]
    by_lower = {name.lower(): name for name in reserves}
    if isinstance(symbol, str) and symbol.lower() in by_lower:
        return reserves[by_lower[symbol.lower()]]
    raise unknown_name("symbol", str(symbol), reserves)


def resolve_symbol(
    symbol: str, reserves: Mapping[str, ReserveParams] = RESERVES, *, field: str = "symbol"
) -> str:
    """The registry spelling of ``symbol`` (case-insensitive), or InvalidArgument."""
    if symbol in reserves:
        return symbol
    by_lower = {name.lower(): name for name in reserves}
    if isinstance(symbol, str) and symbol.lower() in by_lower:
        return by_lower[symbol.lower()]
    raise unknown_name(field, str(symbol), reserves)


__all__ = [
    "CSV_SOURCE",
    "EMODE_CATEGORIES",
    "ETH_CORRELATED_EMODE",
    "RESERVES",
    "WEETH_RATE_CURVES",
    "WETH_RATE_CURVES",
    "WSTETH_ETH_EMODE",
    "WSTETH_RATE_CURVES",
    "EModeCategory",
    "InterestRateCurve",
    "ReserveParams",
    "get_reserve",
    "resolve_symbol",
]
