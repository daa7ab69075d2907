"""Morpho Blue: an isolated market (one collateral, one loan token) as a lending protocol.

:class:`MorphoBlue` is the float implementation of
:class:`delever.protocol.base.LendingProtocol` the engines use: a single ETH-collateral,
stablecoin-debt position valued in USD. Behind it, the contracts' integer arithmetic:
:mod:`.math` (MathLib, SharesMathLib), :mod:`.market` (``Morpho.liquidate``,
``_accrueInterest``, ``_isHealthy``) and :mod:`.irm` (AdaptiveCurveIRM), from
morpho-org/morpho-blue (commit 3085651) and morpho-org/morpho-blue-irm (commit a1a87fd).

Morpho's rules, as the float model keeps them:

- healthy while ``collateral * price * LLTV >= debt``; so the health factor is
  ``collateral * price * LLTV / debt`` and the LLTV is also the borrow limit;
- a liquidation has no close factor and no dust rule: the liquidator repays any amount of the
  debt and receives ``repaid * LIF / price`` of collateral, with
  ``LIF = min(1.15, 1 / (1 - 0.3 (1 - LLTV)))`` (``Morpho.liquidate``), and no protocol fee;
- when a liquidation takes the last collateral the debt left is bad debt, written off against
  the market's suppliers (total supply and total borrow both fall by it);
- the borrow rate follows the AdaptiveCurveIRM: ``rate_at_target`` at 90% utilization,
  a quarter of it at 0%, four times it at 100%, the rate at target itself drifting by
  ``exp(50/year * err * t)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from math import inf

from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.kernels.records import LiquidationRules
from delever.protocol.base import LiquidationOutcome, RiskParams
from delever.protocol.morpho import irm
from delever.protocol.morpho.market import MarketParams, liquidation_incentive_factor
from delever.protocol.morpho.math import WAD

NAME = "morpho-blue"
# A default for callers with no market in mind: 86% is the LLTV of Morpho's large ETH /
# stablecoin markets on Ethereum (e.g. WETH/USDC); give the market's own LLTV where known.
# (Morpho.createMarket accepts only LLTVs governance enabled with `enableLltv`.)
DEFAULT_LLTV = 0.86

STATUS_LIQUIDATED = "liquidated"
STATUS_HEALTHY = "HEALTHY_POSITION"  # ErrorsLib.HEALTHY_POSITION, "position is healthy"
STATUS_INCONSISTENT = "INCONSISTENT_INPUT"  # ErrorsLib.INCONSISTENT_INPUT


def lltv_to_wad(lltv: float) -> int:
    """The LLTV as the contract stores it (WAD), from the decimal the float was written as."""
    return int(Decimal(repr(lltv)) * WAD)


def liquidation_incentive_factor_float(lltv: float) -> float:
    """``min(1.15, 1 / (1 - 0.3 (1 - LLTV)))`` computed exactly as the contract, as a float."""
    return liquidation_incentive_factor(lltv_to_wad(lltv)) / WAD


def taylor_compounded_float(rate_per_s: float, elapsed_s: float) -> float:
    """MathLib.wTaylorCompounded in floats: ``x + x^2/2 + x^3/6`` with ``x = rate * t``."""
    x = rate_per_s * elapsed_s
    return x + x * x / 2.0 + x * x * x / 6.0


@dataclass(frozen=True)
class MorphoBlue:
    """A Morpho Blue market: LLTV and the AdaptiveCurveIRM's current rate at target.

    Parameters
    ----------
    lltv : float
        Liquidation loan-to-value, a fraction in (0, 1) (e.g. 0.86, 0.915).
    rate_at_target_per_year : float
        The IRM's rate at target utilization, per year (the contract stores it per second:
        divide by ``irm.SECONDS_PER_YEAR``); default the IRM's initial 4%.
    """

    lltv: float
    rate_at_target_per_year: float = irm.INITIAL_RATE_AT_TARGET_PER_YEAR

    def __post_init__(self) -> None:
        if not (0.0 < self.lltv < 1.0):
            raise InvalidArgument(f"lltv={self.lltv!r} must be in (0, 1); "
                                  "give a fraction, e.g. 0.86.")
        r = self.rate_at_target_per_year
        if not (irm.MIN_RATE_AT_TARGET_PER_YEAR <= r <= irm.MAX_RATE_AT_TARGET_PER_YEAR):
            raise InvalidArgument(
                f"rate_at_target_per_year={r!r} must be in [0.001, 2.0] (the IRM's bounds); "
                "give a yearly fraction, e.g. 0.04.")

    @property
    def name(self) -> str:
        """``morpho-blue``."""
        return NAME

    @property
    def lltv_wad(self) -> int:
        """The LLTV as the contract stores it (WAD)."""
        return lltv_to_wad(self.lltv)

    @property
    def liquidation_incentive_factor(self) -> float:
        """LIF = ``min(1.15, 1 / (1 - 0.3 (1 - LLTV)))``, rounded as the contract (1.0438... at
        86%)."""
        return liquidation_incentive_factor_float(self.lltv)

    def risk(self) -> RiskParams:
        """``RiskParams(LLTV, LIF - 1, 0, LLTV)``: the LLTV is threshold and borrow limit."""
        return RiskParams(liquidation_threshold=self.lltv,
                          liquidation_bonus=self.liquidation_incentive_factor - 1.0,
                          protocol_fee=0.0, ltv=self.lltv)

    def market_params(self, collateral_decimals: int = 18, loan_decimals: int = 18) -> MarketParams:
        """The exact market's parameters (e.g. WETH 18 / USDC 6) for :mod:`.market`."""
        return MarketParams(self.lltv_wad, collateral_decimals, loan_decimals)

    def kernel_rules(self) -> LiquidationRules:
        """No close factor, no dust rules, bad debt written off when the collateral is gone."""
        return LiquidationRules(close_factor=1.0, full_close_hf=inf, min_base_usd=0.0,
                                min_leftover_usd=0.0, write_off_bad_debt=True)

    def health_factor(self, collateral_eth: float, debt_usd: float, price_usd: float,
                      risk: RiskParams) -> float:
        """``collateral * price * LLTV / debt`` (``inf`` with no debt); liquidatable below 1."""
        if debt_usd <= 0.0:
            return inf
        return collateral_eth * price_usd * risk.liquidation_threshold / debt_usd

    def liquidation_price_usd(self, collateral_eth: float, debt_usd: float,
                              risk: RiskParams) -> float:
        """``debt / (collateral * LLTV)``: 0 with no debt, ``inf`` with debt and no collateral."""
        if debt_usd <= 0.0:
            return 0.0
        if collateral_eth <= 0.0:
            return inf
        return debt_usd / (collateral_eth * risk.liquidation_threshold)

    def max_withdraw_eth(self, collateral_eth: float, debt_usd: float, price_usd: float,
                         risk: RiskParams) -> float:
        """``collateral - debt / (price * LLTV)``, at least 0 (``withdrawCollateral`` requires
        the position healthy afterwards)."""
        if debt_usd <= 0.0:
            return max(collateral_eth, 0.0)
        return max(collateral_eth - debt_usd / (price_usd * risk.liquidation_threshold), 0.0)

    def borrow_rate(self, utilization: float) -> float:
        """The AdaptiveCurveIRM's rate per year at ``utilization`` (clipped to [0, 1]) and the
        current rate at target: ``r_T / 4`` at 0, ``r_T`` at 90%, ``4 r_T`` at 100%."""
        u = min(max(utilization, 0.0), 1.0)
        return irm.curve_float(self.rate_at_target_per_year, u)

    def accrue_debt_usd(self, debt_usd: float, utilization: float, elapsed_s: float) -> float:
        """Debt after one ``_accrueInterest`` over ``elapsed_s`` at a constant ``utilization``.

        As the contract: the rate is the IRM's average over the period (the rate at target
        drifting from ``rate_at_target_per_year``, trapezoid rule) and compounds by
        ``wTaylorCompounded`` (``1 + x + x^2/2 + x^3/6``). The drift is not kept: this object
        is frozen, so each call starts from the same rate at target.
        """
        if elapsed_s <= 0.0:
            return debt_usd
        u = min(max(utilization, 0.0), 1.0)
        avg_per_year, _ = irm.avg_borrow_rate_float(self.rate_at_target_per_year, u, elapsed_s)
        return debt_usd * (1.0 + taylor_compounded_float(avg_per_year / irm.SECONDS_PER_YEAR,
                                                         elapsed_s))

    def liquidate(self, collateral_eth: float, debt_usd: float, price_usd: float,
                  risk: RiskParams, *, debt_to_cover_usd: float | None = None,
                  seize_eth: float | None = None) -> LiquidationOutcome:
        """One ``Morpho.liquidate`` call in floats.

        Give ``seize_eth`` (collateral to take; ``seizedAssets``) or ``debt_to_cover_usd``
        (debt to repay; ``repaidShares``) or neither (the whole position: all the debt, or all
        the collateral if it is worth less than ``debt * LIF``). Repaid ``= seized * price /
        LIF``. An amount beyond what the position holds is cut to it (the contract would revert;
        a liquidator sizes the call to fit). Collateral reaching zero realises the debt left as
        bad debt (``bad_debt_usd``, written off: ``debt_left_usd = 0``).
        """
        c = check_non_negative("collateral_eth", collateral_eth)
        d = check_non_negative("debt_usd", debt_usd)
        p = check_positive("price_usd", price_usd)
        lif = 1.0 + risk.liquidation_bonus
        hf = self.health_factor(c, d, p, risk)
        if not hf < 1.0:
            return _reverted(c, d, hf, STATUS_HEALTHY)
        if seize_eth is not None and debt_to_cover_usd is not None:
            return _reverted(c, d, hf, STATUS_INCONSISTENT)
        if seize_eth is not None:
            if not seize_eth > 0.0:
                return _reverted(c, d, hf, STATUS_INCONSISTENT)
            seized = min(seize_eth, c)
            repaid = seized * p / lif
            if repaid > d:  # more collateral than the whole debt buys: repay all of it
                repaid, seized = d, d * lif / p
        else:
            if debt_to_cover_usd is not None and not debt_to_cover_usd > 0.0:
                return _reverted(c, d, hf, STATUS_INCONSISTENT)
            repaid = d if debt_to_cover_usd is None else min(debt_to_cover_usd, d)
            seized = repaid / p * lif
            if seized > c:  # the collateral runs out first: it all goes, repaying less
                seized, repaid = c, c * p / lif
        return _outcome(c, d, p, risk, hf, seized, repaid)


def _reverted(c: float, d: float, hf: float, status: str) -> LiquidationOutcome:
    return LiquidationOutcome(0.0, 0.0, 0.0, 0.0, 0.0, c, d, hf, hf, False, status)


def _outcome(c: float, d: float, p: float, risk: RiskParams, hf: float, seized: float,
             repaid: float) -> LiquidationOutcome:
    if seized >= c:  # Morpho.liquidate: `if (position.collateral == 0)` -> bad debt realised
        bad = max(d - repaid, 0.0)
        return LiquidationOutcome(repaid, c, c, 0.0, bad, 0.0, 0.0, hf, inf, True,
                                  STATUS_LIQUIDATED)
    left = d - repaid
    hf_after = (c - seized) * p * risk.liquidation_threshold / left if left > 0.0 else inf
    return LiquidationOutcome(repaid, seized, seized, 0.0, 0.0, c - seized, left, hf,
                              hf_after, True, STATUS_LIQUIDATED)


__all__ = [
    "DEFAULT_LLTV",
    "NAME",
    "STATUS_HEALTHY",
    "STATUS_INCONSISTENT",
    "STATUS_LIQUIDATED",
    "MorphoBlue",
    "liquidation_incentive_factor_float",
    "lltv_to_wad",
    "taylor_compounded_float",
]
