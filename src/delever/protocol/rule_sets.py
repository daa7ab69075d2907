"""Aave v3 liquidation rule sets 3.0, 3.3 and 3.6: what differs, as the contracts have it.

Sources (read for this module):

- 3.0: aave/aave-v3-core tag v1.19.4 (the last v3.0.x core release),
  ``contracts/protocol/libraries/logic/LiquidationLogic.sol``:
  ``DEFAULT_LIQUIDATION_CLOSE_FACTOR = 0.5e4`` (line 54),
  ``MAX_LIQUIDATION_CLOSE_FACTOR = 1e4`` (line 61), ``CLOSE_FACTOR_HF_THRESHOLD = 0.95e18``
  (line 68); ``_calculateDebt`` (lines 373-383): ``closeFactor = HF > 0.95e18 ? 50% : 100%``
  and ``maxLiquidatableDebt = userTotalDebt.percentMul(closeFactor)`` -- 50% of the debt
  *reserve's* balance, no dollar thresholds, no dust rule; ``_burnDebtTokens`` burns only the
  debt repaid, so debt left on an account with no collateral stays owed (no deficit).
  ``_calculateAvailableCollateralToLiquidate`` (lines 494-516): ``debtAmountNeeded =
  (...).percentDiv(bonus)`` (half up). ``GenericLogic.sol``: debt in base currency floored
  (``_getUserDebtInBaseCurrency``), ``HF = percentMul(totalCollateral, avgLT).wadDiv(debt)``
  with ``avgLT`` floored to basis points; ``calculateAvailableBorrows`` uses ``percentMul``.
- 3.3: aave-dao/aave-v3-origin tag v3.3.0, ``src/contracts/protocol/libraries/logic/
  LiquidationLogic.sol``: ``MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000e8`` (line 74),
  ``MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD / 2`` (line 82); the 50% cap
  only when the pair's collateral and debt are both worth >= $2,000 and HF > 0.95, and then
  50% of the account's *total* debt in base currency (lines 279-302); ``MUST_NOT_LEAVE_DUST``
  (lines 320-339); ``hasNoCollateralLeft`` -> ``_burnBadDebt`` writes every debt off as
  reserve deficit (lines 356-412). Debt valued floor (line 270, and GenericLogic as 3.0);
  ``debtAmountNeeded`` by ``percentDiv`` (line 658, half up).
- 3.6: aave-dao/aave-v3-origin tag v3.6.0, the same file: identical constants and identical
  rules (close factor, $2,000 / $1,000, deficit). What changed between 3.3 and 3.6 for a
  single-collateral / single-debt liquidation is rounding only (the v3.5 rounding change:
  tag v3.5.0 is the first with mulDivCeil in GenericLogic.sol, kept in 3.6): debt valued
  with ``MathUtils.mulDivCeil`` (LiquidationLogic.sol lines 245 and 307, GenericLogic.sol
  line 229) instead of floor; ``debtAmountNeeded`` by
  ``percentDivCeil`` (LiquidationLogic.sol line 589) instead of ``percentDiv``; the health
  factor as ``wadDiv(sum(value_i * LT_i), debt) / 1e4`` (GenericLogic.sol line 164) instead
  of ``wadDiv(percentMul(total, avgLT), debt)``; available borrows by ``percentMulFloor``.
  These are implemented in the exact path (``exact=True``); in float64 3.3 and 3.6 are the
  same rules (one :class:`~delever.kernels.records.LiquidationRules` record).
  The rest of ``git diff v3.3.0 v3.6.0 -- .../LiquidationLogic.sol`` does not change the
  amounts of an ETH-collateral / stablecoin-debt call: custom errors instead of string codes,
  scaled-balance burns through ``TokenMath`` (1-wei effects, not modelled: balances are taken
  as current), the isolation-mode debt update, and a branch for collateral asset == debt
  asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from delever.errors import unknown_name
from delever.kernels.records import LiquidationRules
from delever.protocol import math as am

RuleSetName = Literal["3.0", "3.3", "3.6"]
RULE_SET_NAMES: tuple[str, ...] = get_args(RuleSetName)
DEFAULT_RULE_SET: RuleSetName = "3.6"


@dataclass(frozen=True)
class AaveRuleSet:
    """One Aave v3 version's liquidation rules and rounding (see the module docstring)."""

    version: RuleSetName
    close_factor_bps: int  # DEFAULT_LIQUIDATION_CLOSE_FACTOR, 0.5e4 in every version
    close_factor_hf_threshold_wad: int  # CLOSE_FACTOR_HF_THRESHOLD, 0.95e18 in every version
    min_base_max_close_factor_base: int  # MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD; 0: no such rule
    min_leftover_base: int  # MIN_LEFTOVER_BASE; 0: no dust rule
    write_off_bad_debt: bool  # deficit accounting (3.3+)
    close_factor_of_total_debt: bool  # 3.3+: 50% of all debt in base; 3.0: of the reserve's
    # The v3.5 rounding change (3.6): debt valued with mulDivCeil (3.0/3.3: floor),
    # debtAmountNeeded by percentDivCeil (percentDiv), HF = wadDiv(sum(v*LT), debt) / 1e4
    # (wadDiv(percentMul(total, avgLT), debt)), available borrows by percentMulFloor
    # (percentMul).
    rounding_v35: bool

    @property
    def close_factor(self) -> float:
        return self.close_factor_bps / am.PERCENTAGE_FACTOR

    @property
    def full_close_hf(self) -> float:
        return self.close_factor_hf_threshold_wad / am.WAD

    @property
    def min_base_usd(self) -> float:
        return self.min_base_max_close_factor_base / am.BASE_CURRENCY_UNIT

    @property
    def min_leftover_usd(self) -> float:
        return self.min_leftover_base / am.BASE_CURRENCY_UNIT

    def kernel_rules(self) -> LiquidationRules:
        """The float64 rules the kernels take (3.3 and 3.6 give the same record)."""
        return LiquidationRules(
            close_factor=self.close_factor,
            full_close_hf=self.full_close_hf,
            min_base_usd=self.min_base_usd,
            min_leftover_usd=self.min_leftover_usd,
            write_off_bad_debt=self.write_off_bad_debt,
        )


def _v33_plus(version: RuleSetName, rounding_v36: bool) -> AaveRuleSet:
    # 3.3 and 3.6 share every rule; 3.6 rounds debt up (the v3.5 rounding change).
    return AaveRuleSet(
        version=version,
        close_factor_bps=am.DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS,
        close_factor_hf_threshold_wad=am.CLOSE_FACTOR_HF_THRESHOLD,
        min_base_max_close_factor_base=am.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD,
        min_leftover_base=am.MIN_LEFTOVER_BASE,
        write_off_bad_debt=True,
        close_factor_of_total_debt=True,
        rounding_v35=rounding_v36,
    )


RULE_SETS: dict[str, AaveRuleSet] = {
    "3.0": AaveRuleSet(
        version="3.0",
        close_factor_bps=am.DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS,
        close_factor_hf_threshold_wad=am.CLOSE_FACTOR_HF_THRESHOLD,
        min_base_max_close_factor_base=0,
        min_leftover_base=0,
        write_off_bad_debt=False,
        close_factor_of_total_debt=False,
        rounding_v35=False,
    ),
    "3.3": _v33_plus("3.3", rounding_v36=False),
    "3.6": _v33_plus("3.6", rounding_v36=True),
}


def get_rule_set(rule_set: str) -> AaveRuleSet:
    """The rule set called ``rule_set`` ("3.0", "3.3", "3.6"); unknown -> close matches."""
    try:
        return RULE_SETS[rule_set]
    except (KeyError, TypeError):
        raise unknown_name("rule_set", str(rule_set), RULE_SETS) from None


__all__ = [
    "DEFAULT_RULE_SET",
    "RULE_SETS",
    "RULE_SET_NAMES",
    "AaveRuleSet",
    "RuleSetName",
    "get_rule_set",
]
