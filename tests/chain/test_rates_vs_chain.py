"""Rates and accrual of Aave's own v3.0 bytecode vs delever's exact integer math.

Sources compared (``@aave/core-v3@1.19.3``, under ``tests/chain/node/node_modules/@aave/
core-v3/contracts``):

- ``protocol/pool/DefaultReserveInterestRateStrategy.sol`` ``calculateInterestRates``:
  ``availableLiquidity = balanceOf(aToken) + liquidityAdded - liquidityTaken``,
  ``borrowUsageRatio = totalDebt.rayDiv(availableLiquidity + totalDebt)``; above the optimal
  ratio ``base + slope1 + slope2.rayMul((U - Uopt).rayDiv(1 - Uopt))``, else
  ``base + slope1.rayMul(U).rayDiv(Uopt)``; ``currentLiquidityRate = _getOverallBorrowRate(
  stableDebt, variableDebt, variableRate, avgStableRate).rayMul(supplyUsageRatio)
  .percentMul(1e4 - reserveFactor)`` with ``_getOverallBorrowRate = (variableDebt.wadToRay()
  .rayMul(variableRate) + stableDebt.wadToRay().rayMul(avgStableRate)).rayDiv(totalDebt
  .wadToRay())``. Stable borrowing is never enabled here, so ``totalStableDebt`` is 0 (read
  and checked) and the stable terms vanish; ``unbacked`` is 0 (read and checked).
- ``protocol/libraries/math/MathUtils.sol``: ``calculateLinearInterest`` (lines 23-34,
  ``RAY + rate * dt / SECONDS_PER_YEAR``) and ``calculateCompoundedInterest`` (lines 50-85, the
  v3.0 binomial expansion ``1 + n r + n(n-1)/2 r^2 + n(n-1)(n-2)/6 r^3``).
- ``protocol/libraries/logic/ReserveLogic.sol``: ``_updateIndexes`` (lines 285-318: liquidity
  index ``calculateLinearInterest(rate, last).rayMul(index)`` when the liquidity rate is not 0,
  variable borrow index ``calculateCompoundedInterest(rate, last).rayMul(index)`` when there is
  scaled variable debt), ``getNormalizedIncome`` / ``getNormalizedDebt`` (lines 47-86, the same
  factors in a view). ``VariableDebtToken.balanceOf = scaledBalance.rayMul(normalizedDebt)``.

delever's exact integer versions: ``protocol.math.calculate_linear_interest`` and
``calculate_compounded_interest_binomial`` (the v3.0 MathUtils) match to the wei.
``protocol.rates.calculate_interest_rates_ray`` is v3.6's ``DefaultReserveInterestRateStrategyV2``:
its variable borrow rate matches v3.0 to the wei, but its liquidity rate multiplies the variable
rate itself, where v3.0 multiplies the ``_getOverallBorrowRate`` round trip
``rayDiv(rayMul(wadToRay(D), rate), wadToRay(D))``, which differs from ``rate`` by up to
``0.5e18 / D`` ray-wei (D the variable debt in token units: visible on the 6-decimal
stablecoins). delever has no v3.0-exact liquidity rate: the test bounds the difference by that
formula, and shows the round trip (done here with delever's own ``ray_mul``/``ray_div``) closes
it to the wei. The float functions (``borrow_rate``, ``supply_rate``,
``AaveV3(rule_set="3.0").accrue_debt_usd``) are compared within a stated relative bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_utils.address import to_checksum_address

from delever.protocol import math as am
from delever.protocol.aave import AaveV3
from delever.protocol.rates import borrow_rate, calculate_interest_rates_ray, supply_rate
from delever.protocol.reserves import RESERVES

from .localnet import CURVE_DAY, SYMBOLS, Market

# ReserveData (v3.0 DataTypes.sol) field positions in getReserveData's tuple
LIQUIDITY_INDEX, LIQUIDITY_RATE, BORROW_INDEX, BORROW_RATE = 1, 2, 3, 4
LAST_UPDATE, STABLE_DEBT_TOKEN, UNBACKED = 6, 9, 13
HORIZONS_S = (1, 3600, 86_400, 30 * 86_400, 365 * 86_400, 3 * 365 * 86_400)
FLOAT_RATE_TOL = 1e-12  # absolute, per year: float curve vs ray rate (ray ints are exact)
FLOAT_DEBT_RTOL = 1e-9  # relative: float binomial accrual vs the chain's integer balance


@dataclass(frozen=True)
class ReserveRead:
    """One reserve at one block (token units, ray)."""

    block: int
    timestamp: int
    liquidity_index: int
    liquidity_rate: int
    borrow_index: int
    borrow_rate: int
    last_update: int
    available_liquidity: int  # underlying.balanceOf(aToken)
    variable_debt: int  # variableDebtToken.totalSupply()
    stable_debt: int  # stableDebtToken.totalSupply()
    unbacked: int


def read_reserve(market: Market, symbol: str, block: int) -> ReserveRead:
    t = market.tokens[symbol]
    data = market.pool.functions.getReserveData(t.underlying).call(block_identifier=block)
    stable = market.contract("StableDebtToken", data[STABLE_DEBT_TOKEN])
    vdebt = market.contract("VariableDebtToken", t.variable_debt_token)
    return ReserveRead(
        block=block,
        timestamp=int(market.w3.eth.get_block(block)["timestamp"]),
        liquidity_index=int(data[LIQUIDITY_INDEX]), liquidity_rate=int(data[LIQUIDITY_RATE]),
        borrow_index=int(data[BORROW_INDEX]), borrow_rate=int(data[BORROW_RATE]),
        last_update=int(data[LAST_UPDATE]),
        available_liquidity=int(market.erc20(symbol).functions.balanceOf(t.a_token)
                                .call(block_identifier=block)),
        variable_debt=int(vdebt.functions.totalSupply().call(block_identifier=block)),
        stable_debt=int(stable.functions.totalSupply().call(block_identifier=block)),
        unbacked=int(data[UNBACKED]),
    )


def reserve_factor_bps(symbol: str) -> int:
    return round(RESERVES[symbol].reserve_factor * 10_000)


def v30_liquidity_rate(r: ReserveRead, variable_rate: int, symbol: str) -> int:
    """v3.0's liquidity rate with its ``_getOverallBorrowRate`` round trip (stable debt 0),
    built from delever's ray primitives (not a delever function: v3.0's form is missing)."""
    debt = r.variable_debt
    if debt == 0:
        return 0
    overall = am.ray_div(am.ray_mul(am.wad_to_ray(debt), variable_rate), am.wad_to_ray(debt))
    usage = am.ray_div(debt, r.available_liquidity + debt + r.unbacked)
    return am.percent_mul(am.ray_mul(overall, usage),
                          am.PERCENTAGE_FACTOR - reserve_factor_bps(symbol))


@dataclass(frozen=True)
class RateCase:
    symbol: str
    utilization: float
    chain_variable: int
    chain_liquidity: int
    delever_variable: int
    delever_liquidity: int  # calculate_interest_rates_ray (v3.6 form)
    v30_liquidity: int  # v3.0 round trip from delever's primitives
    bound_wei: int  # |liquidity diff| allowed by the round trip


def rate_case(market: Market, symbol: str, block: int) -> RateCase:
    r = read_reserve(market, symbol, block)
    assert r.last_update == r.timestamp, "rates are read in the block that set them"
    assert r.stable_debt == 0 and r.unbacked == 0
    curve = RESERVES[symbol].rate_curve_on(CURVE_DAY)
    liquidity, variable = calculate_interest_rates_ray(
        r.variable_debt, r.available_liquidity, curve, reserve_factor_bps(symbol))
    debt = r.variable_debt
    # rayMul rounds the weighted rate by <= 0.5 ray-wei of wadToRay(D) * rate / 1e27, which the
    # rayDiv by wadToRay(D) turns into <= 0.5e18 / D ray-wei of rate; rayMul by U <= 1 and
    # percentMul by < 1 keep it, plus one wei for each of their roundings.
    bound = math.ceil(0.5e18 / debt) + 2 if debt else 0
    return RateCase(symbol, debt / (debt + r.available_liquidity) if debt else 0.0,
                    r.borrow_rate, r.liquidity_rate, variable, liquidity,
                    v30_liquidity_rate(r, variable, symbol), bound)


def targets(optimal: float) -> list[float]:
    """Utilizations to borrow up to: below, at (to one token unit), and above the kink."""
    return sorted({0.05, 0.2, 0.4, 0.6, optimal - 0.02, optimal - 1e-4, optimal,
                   optimal + 1e-4, optimal + 0.02, (optimal + 1.0) / 2, 0.97, 0.99, 0.999})


REPAY_TARGETS = (0.95, 0.5, 0.1)


@pytest.fixture()
def reverting(aave_market: Market) -> Iterator[Market]:
    snap = aave_market.snapshot()
    yield aave_market
    aave_market.revert(snap)


def _drive_reserve(market: Market, symbol: str) -> list[RateCase]:
    """The deployer (the market's liquidity provider, collateral in all four reserves) borrows
    ``symbol`` up the curve, then repays down; one rate case per transaction."""
    me, asset = market.deployer, market.tokens[symbol].underlying
    cases = [rate_case(market, symbol, int(market.w3.eth.block_number))]
    optimal = RESERVES[symbol].rate_curve_on(CURVE_DAY).optimal_usage_ratio
    plan = [(u, "borrow") for u in targets(optimal)] + [(u, "repay") for u in REPAY_TARGETS]
    for target, action in plan:
        r = read_reserve(market, symbol, int(market.w3.eth.block_number))
        total = r.available_liquidity + r.variable_debt
        amount = round(target * total) - r.variable_debt
        if action == "borrow" and amount > 0:
            market.borrow(me, symbol, amount)
        elif action == "repay" and amount < 0:
            market.send(me, market.pool.functions.repay(asset, -amount, 2, me))
        else:
            continue
        cases.append(rate_case(market, symbol, int(market.w3.eth.block_number)))
    return cases


def test_rates_match_chain_across_the_curve(reverting: Market) -> None:
    market = reverting
    cases: list[RateCase] = []
    for symbol in SYMBOLS:
        snap = market.snapshot()
        cases += _drive_reserve(market, symbol)
        market.revert(snap)
    assert len(cases) >= 50
    for s in SYMBOLS:
        optimal = RESERVES[s].rate_curve_on(CURVE_DAY).optimal_usage_ratio
        mine = [c.utilization for c in cases if c.symbol == s]
        assert any(u < optimal - 0.01 for u in mine) and any(u > optimal + 0.01 for u in mine)
        assert min(abs(u - optimal) for u in mine) < 1e-6, f"{s}: no case at the kink"
        assert max(mine) > 0.99
    variable_diff = [c for c in cases if c.chain_variable != c.delever_variable]
    assert variable_diff == [], variable_diff[:5]
    v30_diff = [c for c in cases if c.chain_liquidity != c.v30_liquidity]
    assert v30_diff == [], v30_diff[:5]
    over = [c for c in cases if abs(c.chain_liquidity - c.delever_liquidity) > c.bound_wei]
    assert over == [], over[:5]
    for c in cases:
        curve = RESERVES[c.symbol].rate_curve_on(CURVE_DAY)
        assert abs(borrow_rate(c.utilization, curve) - c.chain_variable / 1e27) < FLOAT_RATE_TOL
        float_supply = supply_rate(c.utilization, curve, RESERVES[c.symbol].reserve_factor)
        assert abs(float_supply - c.chain_liquidity / 1e27) < FLOAT_RATE_TOL
    diffs = [c.chain_liquidity - c.delever_liquidity for c in cases]
    print(f"\nrate cases: {len(cases)}; liquidity-rate diffs chain - delever (v3.6 form): "
          f"{sum(d != 0 for d in diffs)} non-zero, max |d| {max(map(abs, diffs))} ray-wei")
