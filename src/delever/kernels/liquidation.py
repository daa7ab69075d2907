"""One liquidation call on one single-collateral / stablecoin-debt account, by a rules record.

:func:`liquidate_one_py` is the scalar primitive every engine calls (the array kernel of
:mod:`delever.kernels.aave`, the unwind loop, the exact cascade engine): the protocol's rules
arrive as a :class:`~delever.kernels.records.LiquidationRules` record built by
:mod:`delever.protocol`, so Aave v3.0, v3.3+/3.6 and Morpho Blue share one code path.

Steps (Aave ``LiquidationLogic.executeLiquidationCall``; Morpho ``Morpho.liquidate``): HF < 1
or ``STATUS_HEALTHY``; no collateral -> ``STATUS_NO_COLLATERAL``; the close factor
(``rules.close_factor`` while HF > ``rules.full_close_hf`` and both sides are worth at least
``rules.min_base_usd``, else all of the debt); collateral ``= repaid / price * (1 + bonus)``
capped at the balance (repaid reduced to match); protocol fee ``= fee share * bonus part``;
``STATUS_DUST`` if a partial call leaves less than ``rules.min_leftover_usd`` of debt or of
collateral; all collateral gone -> the debt left is bad debt (written off when
``rules.write_off_bad_debt``, else it stays owed on an empty account).
"""

from __future__ import annotations

import math

from delever.kernels._numba import njit
from delever.kernels.records import LiquidationRules

# Outcome codes (mapped to the protocols' error names by delever.kernels.aave.STATUS_TEXT).
STATUS_LIQUIDATED = 0
STATUS_HEALTHY = 1  # HF >= 1: HealthFactorNotBelowThreshold
STATUS_DUST = 2  # would leave < min_leftover_usd of debt or collateral: MustNotLeaveDust
STATUS_NO_COLLATERAL = 3  # nothing to seize: CollateralCannotBeLiquidated

LiquidationOne = tuple[int, float, float, float, float, float, float, float]


def liquidate_one_py(
    rules: LiquidationRules,
    collateral_eth: float,
    debt_usd: float,
    price_usd: float,
    liquidation_threshold: float,
    liquidation_bonus: float,
    protocol_fee: float,
    debt_to_cover_usd: float,
) -> LiquidationOne:
    """One call. Returns ``(status, repaid_usd, seized_eth, to_liquidator_eth, fee_eth,
    bad_debt_usd, close_factor, hf_after)``; a reverted call gives zeros, close factor 0 and
    the unchanged HF. ``bad_debt_usd`` is the debt left on an account whose collateral is all
    taken, whether or not the rules write it off."""
    c = collateral_eth
    d = debt_usd
    p = price_usd
    lt = liquidation_threshold
    bonus_factor = 1.0 + liquidation_bonus
    hf = c * p * lt / d if d > 0.0 else math.inf
    if not hf < 1.0:
        return STATUS_HEALTHY, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hf
    if c <= 0.0 or lt <= 0.0:
        return STATUS_NO_COLLATERAL, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hf
    max_debt = d
    close_factor = 1.0
    if (rules.close_factor < 1.0 and hf > rules.full_close_hf
            and c * p >= rules.min_base_usd and d >= rules.min_base_usd):
        close_factor = rules.close_factor
        max_debt = d * rules.close_factor  # the pair's debt is all the debt
    cover = debt_to_cover_usd
    actual = cover if cover < max_debt else max_debt
    max_collateral = actual / p * bonus_factor
    if max_collateral > c:
        seized = c
        actual = c * p / bonus_factor
    else:
        seized = max_collateral
    fee = (seized - seized / bonus_factor) * protocol_fee if protocol_fee > 0.0 else 0.0
    if actual < d and seized < c and (
        d - actual < rules.min_leftover_usd or (c - seized) * p < rules.min_leftover_usd
    ):
        return STATUS_DUST, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hf
    if seized == c:
        bad = d - actual
        hf_after = math.inf if rules.write_off_bad_debt or bad <= 0.0 else 0.0
        return STATUS_LIQUIDATED, actual, seized, seized - fee, fee, bad, close_factor, hf_after
    left = d - actual
    hf_after = (c - seized) * p * lt / left if left > 0.0 else math.inf
    return STATUS_LIQUIDATED, actual, seized, seized - fee, fee, 0.0, close_factor, hf_after


# Serial and inlined: it runs inside the engines' path-parallel loops.
liquidate_one = njit(inline="always", error_model="numpy")(liquidate_one_py)

__all__ = [
    "STATUS_DUST",
    "STATUS_HEALTHY",
    "STATUS_LIQUIDATED",
    "STATUS_NO_COLLATERAL",
    "LiquidationOne",
    "liquidate_one",
    "liquidate_one_py",
]
