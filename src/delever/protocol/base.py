"""The one interface every layer above ``protocol`` uses to ask a lending protocol.

A *position* here is what the engines simulate: one collateral priced in USD (ETH or an ETH
derivative, ``collateral_eth``) against stablecoin debt (``debt_usd``) in one market or
reserve pair, with that market's risk parameters (:class:`RiskParams`). Implementations:
Aave v3 (rule sets 3.0 / 3.3 / 3.6, :mod:`delever.protocol.aave`) and Morpho Blue
(:mod:`delever.protocol.morpho`). Protocol-specific detail (Aave's multi-reserve accounts and
integer math, Morpho's shares) stays behind the implementation; the engines see only this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from delever._results import ResultContract
from delever.kernels.records import LiquidationRules


@dataclass(frozen=True)
class RiskParams:
    """One market's (or reserve pair's) risk parameters, as fractions.

    Aave: ``liquidation_threshold`` (LT), ``liquidation_bonus`` (bonus above 1),
    ``protocol_fee`` (share of the bonus), ``ltv``. Morpho Blue: ``liquidation_threshold`` is
    the LLTV (also the borrow limit, so ``ltv == LLTV``), ``liquidation_bonus`` is
    ``LIF - 1`` and ``protocol_fee`` is 0.
    """

    liquidation_threshold: float
    liquidation_bonus: float
    protocol_fee: float
    ltv: float


@dataclass(frozen=True)
class LiquidationOutcome(ResultContract):
    """What one liquidation call did to a position (USD for debt, ETH for collateral)."""

    debt_repaid_usd: float
    collateral_seized_eth: float  # to the liquidator and the protocol fee
    collateral_to_liquidator_eth: float
    protocol_fee_eth: float
    bad_debt_usd: float  # written off (Aave deficit, Morpho bad debt realised)
    collateral_left_eth: float
    debt_left_usd: float
    health_factor_before: float
    health_factor_after: float
    liquidated: bool  # False: the call reverted (healthy, dust, nothing to seize)
    status: str  # "liquidated" or the protocol's error name


@runtime_checkable
class LendingProtocol(Protocol):
    """A lending protocol's rules for a single-collateral, stablecoin-debt position."""

    @property
    def name(self) -> str:
        """The identifier used in scenario files and on the command line (``aave-v3.6``)."""
        ...

    def health_factor(self, collateral_eth: float, debt_usd: float, price_usd: float,
                      risk: RiskParams) -> float:
        """Health factor at ``price_usd`` (``inf`` with no debt); liquidatable below 1."""
        ...

    def liquidation_price_usd(self, collateral_eth: float, debt_usd: float,
                              risk: RiskParams) -> float:
        """The collateral price at which the health factor reaches 1."""
        ...

    def liquidate(self, collateral_eth: float, debt_usd: float, price_usd: float,
                  risk: RiskParams, *, debt_to_cover_usd: float | None = None,
                  seize_eth: float | None = None) -> LiquidationOutcome:
        """One liquidation call by the protocol's rules (``None``: as much as allowed)."""
        ...

    def kernel_rules(self) -> LiquidationRules:
        """The liquidation rules as the array kernels take them."""
        ...

    def market_risk(self) -> RiskParams | None:
        """The risk parameters where the protocol fixes them per market (Morpho Blue: LLTV
        and LIF); None where they come per reserve (Aave: from the reserve parameters)."""
        ...

    def max_withdraw_eth(self, collateral_eth: float, debt_usd: float, price_usd: float,
                         risk: RiskParams) -> float:
        """The most collateral a withdrawal may take and leave the position borrowable."""
        ...

    def borrow_rate(self, utilization: float) -> float:
        """The debt market's borrow rate (per year) at ``utilization``."""
        ...

    def accrue_debt_usd(self, debt_usd: float, utilization: float, elapsed_s: float) -> float:
        """Debt after ``elapsed_s`` seconds of interest at the rate for ``utilization``."""
        ...


__all__ = ["LendingProtocol", "LiquidationOutcome", "RiskParams"]
