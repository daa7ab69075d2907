"""Aave v3 behind the :class:`~delever.protocol.base.LendingProtocol` interface: rule sets 3.0,
3.3 and 3.6 for the single-collateral, stablecoin-debt position the engines simulate.

The rules themselves (and their Solidity sources: aave-v3-core ``LiquidationLogic.sol`` for
3.0, aave-v3-origin ``LiquidationLogic.sol`` / ``GenericLogic.sol`` for 3.3 and 3.6) are in
:mod:`delever.protocol.rule_sets`. In short:

- 3.3 and 3.6: ``LiquidationRules(0.5, 0.95, 2000, 1000, True)``: 50% close factor while HF >
  0.95 and both sides are worth >= $2,000 (``MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD``), else
  100%; a partial call must leave >= $1,000 of debt and collateral (``MIN_LEFTOVER_BASE``,
  ``MustNotLeaveDust``); collateral exhausted -> the rest of the debt is written off as
  deficit (``_burnBadDebt``).
- 3.0: ``LiquidationRules(0.5, 0.95, 0, 0, False)``: 50% of the debt reserve's balance while
  HF > 0.95, else 100%; no dollar rules; no deficit accounting (the debt stays owed).
- 3.3 vs 3.6: for one collateral and one debt the rules are the same; 3.6 rounds differently
  (debt valued with ``mulDivCeil``, ``percentDivCeil`` for the debt a capped seizure repays,
  another HF formula: aave-v3-origin v3.6.0 ``LiquidationLogic.sol`` lines 245/307/589,
  ``GenericLogic.sol`` lines 164/229, first in v3.5.0). Those are wei-level differences,
  modelled in ``liquidation_call(..., exact=True, rule_set=...)``; in float64, here and in
  the kernels, 3.3 and 3.6 are one record. Interest accrual differs too: 3.0/3.3 compound
  with the binomial expansion, 3.6 with the Taylor polynomial (``MathUtils.sol``, v3.4+).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from delever.errors import InvalidArgument
from delever.kernels.aave import STATUS_TEXT
from delever.kernels.liquidation import STATUS_LIQUIDATED, liquidate_one_py
from delever.kernels.records import LiquidationRules
from delever.protocol import math as am
from delever.protocol.base import LiquidationOutcome, RiskParams
from delever.protocol.rates import borrow_rate, compounded_interest_factor
from delever.protocol.reserves import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    InterestRateCurve,
    get_reserve,
    resolve_symbol,
)
from delever.protocol.rule_sets import (
    DEFAULT_RULE_SET,
    AaveRuleSet,
    RuleSetName,
    get_rule_set,
)


@dataclass(frozen=True)
class AaveV3:
    """Aave v3 (Ethereum Core reserves) by one rule set: ``"3.0"``, ``"3.3"`` or ``"3.6"``.

    Parameters
    ----------
    rule_set
        The version whose liquidation rules apply (default 3.6, live in February 2026).
    debt_symbol
        The stablecoin reserve borrowed, whose rate curve :meth:`borrow_rate` uses.
    """

    rule_set: RuleSetName = DEFAULT_RULE_SET
    debt_symbol: str = "USDC"

    def __post_init__(self) -> None:
        get_rule_set(self.rule_set)  # unknown -> InvalidArgument with close matches
        object.__setattr__(self, "debt_symbol",
                           resolve_symbol(self.debt_symbol, RESERVES, field="debt_symbol"))

    @property
    def name(self) -> str:
        """``aave-v3.0``, ``aave-v3.3`` or ``aave-v3.6``."""
        return f"aave-v{self.rule_set}"

    @property
    def rules(self) -> AaveRuleSet:
        """The rule set's constants and rounding (:mod:`delever.protocol.rule_sets`)."""
        return get_rule_set(self.rule_set)

    def risk_params(self, collateral_symbol: str = "WETH", *, emode: bool = False) -> RiskParams:
        """The collateral reserve's LT, bonus, fee and LTV (e-mode category 1 when ``emode``)."""
        reserve = get_reserve(collateral_symbol)
        if emode and reserve.symbol in ETH_CORRELATED_EMODE.collateral_symbols:
            return RiskParams(ETH_CORRELATED_EMODE.liquidation_threshold,
                              ETH_CORRELATED_EMODE.liquidation_bonus,
                              reserve.liquidation_protocol_fee, ETH_CORRELATED_EMODE.ltv)
        return RiskParams(reserve.liquidation_threshold, reserve.liquidation_bonus,
                          reserve.liquidation_protocol_fee, reserve.ltv)

    def health_factor(self, collateral_eth: float, debt_usd: float, price_usd: float,
                      risk: RiskParams) -> float:
        """``collateral * price * LT / debt`` (``GenericLogic.calculateUserAccountData``)."""
        if not debt_usd > 0.0:
            return math.inf
        return collateral_eth * price_usd * risk.liquidation_threshold / debt_usd

    def liquidation_price_usd(self, collateral_eth: float, debt_usd: float,
                              risk: RiskParams) -> float:
        """``debt / (collateral * LT)``; ``nan`` with no debt, ``inf`` with no collateral."""
        if not debt_usd > 0.0:
            return math.nan
        weight = collateral_eth * risk.liquidation_threshold
        return debt_usd / weight if weight > 0.0 else math.inf

    def liquidate(self, collateral_eth: float, debt_usd: float, price_usd: float,
                  risk: RiskParams, *, debt_to_cover_usd: float | None = None,
                  seize_eth: float | None = None) -> LiquidationOutcome:
        """One ``liquidationCall`` by this rule set (float64, :func:`liquidate_one_py`).

        Aave's call names the debt to cover; ``seize_eth`` (Morpho's way) is turned into the
        debt that seizes it, ``seize * price / (1 + bonus)``. Neither given: the maximum.
        A reverted call (healthy, dust, no collateral) comes back with ``liquidated=False``
        and the error's name in ``status``.
        """
        if debt_to_cover_usd is not None and seize_eth is not None:
            raise InvalidArgument("give debt_to_cover_usd or seize_eth, not both.")
        cover = math.inf if debt_to_cover_usd is None else float(debt_to_cover_usd)
        if seize_eth is not None:
            cover = float(seize_eth) * price_usd / (1.0 + risk.liquidation_bonus)
        if math.isnan(cover) or cover < 0.0:
            raise InvalidArgument(f"debt to cover {cover!r} must not be negative or NaN.")
        status, repaid, seized, to_liquidator, fee, left_on_empty, _, hf_after = (
            liquidate_one_py(self.kernel_rules(), collateral_eth, debt_usd, price_usd,
                             risk.liquidation_threshold, risk.liquidation_bonus,
                             risk.protocol_fee, cover))
        # 3.3+: written off (deficit); 3.0: it stays owed on an account with no collateral.
        bad = left_on_empty if self.rules.write_off_bad_debt else 0.0
        return LiquidationOutcome(
            debt_repaid_usd=repaid,
            collateral_seized_eth=seized,
            collateral_to_liquidator_eth=to_liquidator,
            protocol_fee_eth=fee,
            bad_debt_usd=bad,
            collateral_left_eth=collateral_eth - seized,
            debt_left_usd=debt_usd - repaid - bad,
            health_factor_before=self.health_factor(collateral_eth, debt_usd, price_usd, risk),
            health_factor_after=hf_after,
            liquidated=status == STATUS_LIQUIDATED,
            status=STATUS_TEXT[status],
        )

    def kernel_rules(self) -> LiquidationRules:
        """3.3 / 3.6: ``(0.5, 0.95, 2000, 1000, True)``; 3.0: ``(0.5, 0.95, 0, 0, False)``."""
        return self.rules.kernel_rules()

    def market_risk(self) -> RiskParams | None:
        """None: Aave's LT, bonus and fee come per reserve (``delever.protocol.RESERVES``)."""
        return None

    def max_withdraw_eth(self, collateral_eth: float, debt_usd: float, price_usd: float,
                         risk: RiskParams) -> float:
        """The most collateral a withdrawal may take: HF must stay >= 1 afterwards.

        ``SupplyLogic.executeWithdraw`` -> ``ValidationLogic.validateHFAndLtvzero`` ->
        ``validateHealthFactor`` (HF >= ``HEALTH_FACTOR_LIQUIDATION_THRESHOLD``): a withdrawal
        is limited by the liquidation threshold, not the LTV (which limits new borrows).
        """
        if not debt_usd > 0.0:
            return collateral_eth
        need = debt_usd / (price_usd * risk.liquidation_threshold)
        return max(collateral_eth - need, 0.0)

    def rate_curve(self) -> InterestRateCurve:
        """The debt reserve's rate curve in force on the reserve snapshot's date."""
        reserve = RESERVES[self.debt_symbol]
        return reserve.rate_curve_on(reserve.as_of)

    def borrow_rate(self, utilization: float) -> float:
        """The debt reserve's variable borrow rate at ``utilization`` (per year)."""
        return borrow_rate(utilization, self.rate_curve())

    def accrue_debt_usd(self, debt_usd: float, utilization: float, elapsed_s: float) -> float:
        """Debt grown by ``MathUtils.calculateCompoundedInterest`` at the rate for
        ``utilization``: the Taylor polynomial in 3.6 (v3.4+), the binomial expansion in
        3.0 / 3.3 (``calculate_compounded_interest_binomial``)."""
        rate = self.borrow_rate(utilization)
        if self.rule_set == "3.6":
            return debt_usd * float(compounded_interest_factor(rate, elapsed_s))
        r = rate / am.SECONDS_PER_YEAR  # per second
        n = float(elapsed_s)
        factor = (1.0 + r * n + n * max(n - 1.0, 0.0) / 2.0 * r * r
                  + n * max(n - 1.0, 0.0) * max(n - 2.0, 0.0) / 6.0 * r ** 3)
        return debt_usd * factor


__all__ = ["AaveV3"]
