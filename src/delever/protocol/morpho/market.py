"""One Morpho Blue market in exact integer arithmetic: health, liquidation, interest accrual.

Mirrors morpho-org/morpho-blue ``src/Morpho.sol`` (commit 3085651): ``_isHealthy``,
``liquidate``, ``_accrueInterest``, and the share bookkeeping of ``supply``/``borrow``/
``supplyCollateral``. Amounts are token units (wei of the collateral, the loan token's smallest
unit); ``price`` is the oracle's: the value of one collateral unit in loan units, times
``ORACLE_PRICE_SCALE`` (1e36). State is immutable: each call returns the new market and position.

Reverts become exceptions: :class:`MorphoRevert` with the contract's ``ErrorsLib`` message for
a ``require``, ``OverflowError`` for a checked-arithmetic underflow or a failed ``uint128`` cast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from delever.errors import InvalidArgument
from delever.protocol.morpho import irm
from delever.protocol.morpho.math import (
    LIQUIDATION_CURSOR,
    MAX_LIQUIDATION_INCENTIVE_FACTOR,
    ORACLE_PRICE_SCALE,
    WAD,
    exactly_one_zero,
    mul_div_down,
    mul_div_up,
    sub,
    to_assets_down,
    to_assets_up,
    to_shares_down,
    to_shares_up,
    to_uint128,
    w_div_down,
    w_div_up,
    w_mul_down,
    w_taylor_compounded,
    zero_floor_sub,
)

# ErrorsLib.sol messages.
INCONSISTENT_INPUT = "inconsistent input"
HEALTHY_POSITION = "position is healthy"
INSUFFICIENT_COLLATERAL = "insufficient collateral"
INSUFFICIENT_LIQUIDITY = "insufficient liquidity"


class MorphoRevert(InvalidArgument):
    """A ``require`` in Morpho.sol failed; ``rule`` is the ErrorsLib message."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"Morpho Blue would revert: {rule!r}.")
        self.rule = rule


@dataclass(frozen=True)
class MarketParams:
    """The parts of Morpho's ``MarketParams`` the math needs: LLTV (WAD) and token decimals."""

    lltv_wad: int
    collateral_decimals: int = 18
    loan_decimals: int = 18

    def oracle_price(self, price_usd: float | Fraction) -> int:
        """The oracle price for a collateral priced ``price_usd`` loan tokens (a USD stablecoin).

        ``IOracle.price()``: one collateral unit in loan units, scaled by 1e36, so
        ``price_usd * 10**(36 + loan_decimals - collateral_decimals)``, rounded down.
        """
        scale = Fraction(10) ** (36 + self.loan_decimals - self.collateral_decimals)
        return int(Fraction(price_usd) * scale)


@dataclass(frozen=True)
class MarketState:
    """Morpho's ``Market`` struct (``IMorpho.sol``): totals, last update, fee (WAD)."""

    total_supply_assets: int = 0
    total_supply_shares: int = 0
    total_borrow_assets: int = 0
    total_borrow_shares: int = 0
    last_update: int = 0
    fee: int = 0


@dataclass(frozen=True)
class Position:
    """Morpho's ``Position`` struct: supply shares, borrow shares, collateral (units)."""

    supply_shares: int = 0
    borrow_shares: int = 0
    collateral: int = 0


@dataclass(frozen=True)
class LiquidationResult:
    """What ``Morpho.liquidate`` did: the new state and its ``Liquidate`` event's numbers."""

    market: MarketState
    position: Position
    seized_assets: int
    repaid_assets: int
    repaid_shares: int
    bad_debt_assets: int
    bad_debt_shares: int


@dataclass(frozen=True)
class AccrualResult:
    """What ``_accrueInterest`` did: the new market, the IRM's new rate at target, the numbers."""

    market: MarketState
    rate_at_target: int
    borrow_rate: int  # per second, WAD (the IRM's average over the elapsed time)
    interest: int
    fee_shares: int  # credited to the fee recipient's supply shares


def liquidation_incentive_factor(lltv_wad: int) -> int:
    """Morpho.liquidate: ``min(MAX_LIF, WAD.wDivDown(WAD - CURSOR.wMulDown(WAD - lltv)))``."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR,
               w_div_down(WAD, WAD - w_mul_down(LIQUIDATION_CURSOR, WAD - lltv_wad)))


def borrowed_assets(market: MarketState, position: Position) -> int:
    """The position's debt as ``_isHealthy`` counts it: ``toAssetsUp(borrowShares)``."""
    return to_assets_up(position.borrow_shares, market.total_borrow_assets,
                        market.total_borrow_shares)


def max_borrow(params: MarketParams, position: Position, price: int) -> int:
    """``collateral.mulDivDown(price, ORACLE_PRICE_SCALE).wMulDown(lltv)`` (loan units)."""
    return w_mul_down(mul_div_down(position.collateral, price, ORACLE_PRICE_SCALE),
                      params.lltv_wad)


def is_healthy(params: MarketParams, market: MarketState, position: Position,
               price: int) -> bool:
    """Morpho._isHealthy: ``maxBorrow >= borrowed`` (rounded in the protocol's favour)."""
    if position.borrow_shares == 0:
        return True
    return max_borrow(params, position, price) >= borrowed_assets(market, position)


def liquidate(params: MarketParams, market: MarketState, position: Position, price: int, *,
              seized_assets: int = 0, repaid_shares: int = 0) -> LiquidationResult:
    """Morpho.liquidate after interest accrual: give exactly one of ``seized_assets`` (collateral
    units) or ``repaid_shares``.

    Seized mode: ``repaidShares = seized.mulDivUp(price, 1e36).wDivUp(LIF).toSharesUp``.
    Shares mode: ``seized = repaidShares.toAssetsDown.wMulDown(LIF).mulDivDown(1e36, price)``.
    Then ``repaidAssets = repaidShares.toAssetsUp``. When the collateral reaches zero the
    remaining borrow shares are bad debt: their assets (``toAssetsUp``, at most the total
    borrow) leave both total borrow and total supply, so suppliers bear them.
    Call :func:`accrue_interest` first, as the contract does.
    """
    if not exactly_one_zero(seized_assets, repaid_shares):
        raise MorphoRevert(INCONSISTENT_INPUT)
    if is_healthy(params, market, position, price):  # no debt is healthy too
        raise MorphoRevert(HEALTHY_POSITION)
    lif = liquidation_incentive_factor(params.lltv_wad)
    tba, tbs = market.total_borrow_assets, market.total_borrow_shares
    if seized_assets > 0:
        seized_quoted = mul_div_up(seized_assets, price, ORACLE_PRICE_SCALE)
        repaid_shares = to_shares_up(w_div_up(seized_quoted, lif), tba, tbs)
    else:
        seized_assets = mul_div_down(w_mul_down(to_assets_down(repaid_shares, tba, tbs), lif),
                                     ORACLE_PRICE_SCALE, price)
    repaid_assets = to_assets_up(repaid_shares, tba, tbs)

    borrow_shares = sub(position.borrow_shares, to_uint128(repaid_shares))
    tbs = sub(tbs, to_uint128(repaid_shares))
    tba = to_uint128(zero_floor_sub(tba, repaid_assets))
    collateral = sub(position.collateral, to_uint128(seized_assets))
    tsa = market.total_supply_assets

    bad_debt_shares = 0
    bad_debt_assets = 0
    if collateral == 0:
        bad_debt_shares = borrow_shares
        bad_debt_assets = min(tba, to_assets_up(bad_debt_shares, tba, tbs))
        tba = sub(tba, bad_debt_assets)
        tsa = sub(tsa, bad_debt_assets)
        tbs = sub(tbs, bad_debt_shares)
        borrow_shares = 0

    new_market = replace(market, total_borrow_assets=tba, total_borrow_shares=tbs,
                         total_supply_assets=tsa)
    new_position = replace(position, borrow_shares=borrow_shares, collateral=collateral)
    return LiquidationResult(new_market, new_position, seized_assets, repaid_assets,
                             repaid_shares, bad_debt_assets, bad_debt_shares)


def accrue_interest(market: MarketState, rate_at_target: int, timestamp: int) -> AccrualResult:
    """Morpho._accrueInterest with the AdaptiveCurveIRM, at block time ``timestamp``.

    ``interest = totalBorrow.wMulDown(rate.wTaylorCompounded(elapsed))`` goes to both totals;
    the fee (``interest.wMulDown(fee)``) is minted as supply shares priced on the supply before
    the fee: ``feeAmount.toSharesDown(totalSupply - feeAmount, totalSupplyShares)``.
    """
    elapsed = sub(timestamp, market.last_update)
    if elapsed == 0:
        return AccrualResult(market, rate_at_target, 0, 0, 0)
    rate, end_rate_at_target = irm.borrow_rate(market.total_borrow_assets,
                                               market.total_supply_assets, rate_at_target,
                                               elapsed)
    interest = w_mul_down(market.total_borrow_assets, w_taylor_compounded(rate, elapsed))
    tba = market.total_borrow_assets + to_uint128(interest)
    tsa = market.total_supply_assets + to_uint128(interest)
    tss = market.total_supply_shares
    fee_shares = 0
    if market.fee != 0:
        fee_amount = w_mul_down(interest, market.fee)
        fee_shares = to_shares_down(fee_amount, tsa - fee_amount, tss)
        tss += to_uint128(fee_shares)
    new_market = replace(market, total_borrow_assets=to_uint128(tba),
                         total_supply_assets=to_uint128(tsa), total_supply_shares=to_uint128(tss),
                         last_update=timestamp)
    return AccrualResult(new_market, end_rate_at_target, rate, interest, fee_shares)


# --- the bookkeeping of the other entry points (for building states) -----------------------
def supply(market: MarketState, position: Position, assets: int) -> tuple[MarketState, Position]:
    """Morpho.supply by assets: ``shares = assets.toSharesDown(totalSupply, totalSupplyShares)``."""
    shares = to_shares_down(assets, market.total_supply_assets, market.total_supply_shares)
    return (replace(market, total_supply_assets=market.total_supply_assets + assets,
                    total_supply_shares=market.total_supply_shares + shares),
            replace(position, supply_shares=position.supply_shares + shares))


def supply_collateral(position: Position, assets: int) -> Position:
    """Morpho.supplyCollateral: the collateral balance grows by ``assets``."""
    return replace(position, collateral=position.collateral + assets)


def borrow(params: MarketParams, market: MarketState, position: Position, assets: int,
           price: int) -> tuple[MarketState, Position]:
    """Morpho.borrow by assets: ``shares = assets.toSharesUp(totalBorrow, totalBorrowShares)``;
    reverts if the position ends unhealthy or the market lacks liquidity."""
    shares = to_shares_up(assets, market.total_borrow_assets, market.total_borrow_shares)
    new_market = replace(market, total_borrow_assets=market.total_borrow_assets + assets,
                         total_borrow_shares=market.total_borrow_shares + shares)
    new_position = replace(position, borrow_shares=position.borrow_shares + shares)
    if not is_healthy(params, new_market, new_position, price):
        raise MorphoRevert(INSUFFICIENT_COLLATERAL)
    if new_market.total_borrow_assets > new_market.total_supply_assets:
        raise MorphoRevert(INSUFFICIENT_LIQUIDITY)
    return new_market, new_position


__all__ = [
    "HEALTHY_POSITION",
    "INCONSISTENT_INPUT",
    "INSUFFICIENT_COLLATERAL",
    "INSUFFICIENT_LIQUIDITY",
    "AccrualResult",
    "LiquidationResult",
    "MarketParams",
    "MarketState",
    "MorphoRevert",
    "Position",
    "accrue_interest",
    "borrow",
    "borrowed_assets",
    "is_healthy",
    "liquidate",
    "max_borrow",
    "supply",
    "supply_collateral",
]
