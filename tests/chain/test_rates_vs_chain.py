"""Rates and accrual of Aave's own v3.0 bytecode vs delever's exact integer math.

Sources compared (``@aave/core-v3@1.19.3``, under ``tests/chain/node/node_modules/@aave/
core-v3/contracts``):

- ``protocol/pool/DefaultReserveInterestRateStrategy.sol`` ``calculateInterestRates`` (from
  line 158; ``_getOverallBorrowRate`` from line 236):
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
- ``protocol/libraries/logic/ReserveLogic.sol``: ``_updateIndexes`` (lines 285-317: liquidity
  index ``calculateLinearInterest(rate, last).rayMul(index)`` when the liquidity rate is not 0,
  variable borrow index ``calculateCompoundedInterest(rate, last).rayMul(index)`` when there is
  scaled variable debt), ``getNormalizedIncome`` / ``getNormalizedDebt`` (lines 47-86, the same
  factors in a view). ``VariableDebtToken.balanceOf`` (``protocol/tokenization/
  VariableDebtToken.sol`` lines 80-88) is
  ``scaledBalance.rayMul(getReserveNormalizedVariableDebt)``.

delever's exact integer versions: ``protocol.math.calculate_linear_interest`` and
``calculate_compounded_interest_binomial`` (the v3.0 MathUtils) match to the wei, and so does
``protocol.rates.calculate_interest_rates_ray(..., rule_set="3.0")``, both rates (68 cases: each
reserve from the generated state up through the kink to 99.9% by borrows, then down by repays).
Its v3.2+ form (the default) multiplies the variable rate itself where v3.0 multiplies the
``_getOverallBorrowRate`` round trip ``rayDiv(rayMul(wadToRay(D), rate), wadToRay(D))``, which
differs from ``rate`` by up to ``0.5e18 / D`` ray-wei (D the variable debt in token units:
visible on the 6-decimal stablecoins): the test checks that the v3.0 form is needed (some cases
differ under the v3.2+ form) and that the difference stays within that bound. The float
functions (``borrow_rate``, ``supply_rate``, ``AaveV3(rule_set="3.0").accrue_debt_usd``) are
compared within stated bounds.

Accrual (48 cases: 6 horizons from 1 s to 3 years x 4 reserves x 2 states, the generated one
and one with WETH and wstETH above their kinks): ``getReserveNormalizedIncome`` /
``getReserveNormalizedVariableDebt`` after ``time_travel`` (an ``eth_call`` at that block runs
with its timestamp), the stored indices after a touch (a 1-token supply to every reserve), four
generated borrowers' ``variableDebtToken.balanceOf`` (and the deployer's once it borrows) and
the deployer's aToken balance, all to the wei. The engines' float ``kernels.unwind.compounded_py``
is v3.6's Taylor polynomial only (no v3.0 binomial), so it is not compared here.
Every case starts from a snapshot and is reverted; the session market stays as generated.
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
FLOAT_DEBT_RTOL = 1e-12  # relative, float64 evaluation of the binomial (plus float_debt_bound)


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


@dataclass(frozen=True)
class RateCase:
    symbol: str
    utilization: float
    chain_variable: int
    chain_liquidity: int
    delever_variable: int
    delever_liquidity: int  # calculate_interest_rates_ray, v3.2+ form (the default)
    v30_liquidity: int  # calculate_interest_rates_ray(..., rule_set="3.0")
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
    v30_liquidity, v30_variable = calculate_interest_rates_ray(
        r.variable_debt, r.available_liquidity, curve, reserve_factor_bps(symbol),
        rule_set="3.0")
    assert v30_variable == variable
    return RateCase(symbol, debt / (debt + r.available_liquidity) if debt else 0.0,
                    r.borrow_rate, r.liquidity_rate, variable, liquidity, v30_liquidity, bound)


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
    # the v3.0 form is not a no-op here: the v3.2+ form misses some cases by a few ray-wei
    assert any(c.chain_liquidity != c.delever_liquidity for c in cases)
    for c in cases:
        curve = RESERVES[c.symbol].rate_curve_on(CURVE_DAY)
        assert abs(borrow_rate(c.utilization, curve) - c.chain_variable / 1e27) < FLOAT_RATE_TOL
        float_supply = supply_rate(c.utilization, curve, RESERVES[c.symbol].reserve_factor)
        assert abs(float_supply - c.chain_liquidity / 1e27) < FLOAT_RATE_TOL
    diffs = [c.chain_liquidity - c.delever_liquidity for c in cases]
    print(f"\nrate cases: {len(cases)}; liquidity-rate diffs chain - delever (v3.6 form): "
          f"{sum(d != 0 for d in diffs)} non-zero, max |d| {max(map(abs, diffs))} ray-wei")


# --- accrual --------------------------------------------------------------------------------
# A state with every reserve's rate well off zero, two of them above their kink (the deployer
# borrows against its collateral in all four reserves: ~$2.6e10 of its ~$3e10 capacity).
PUSHED_UTILIZATION = {"WETH": 0.95, "wstETH": 0.85, "USDC": 0.5, "USDT": 0.3}


@dataclass(frozen=True)
class AccrualCase:
    symbol: str
    horizon_s: int
    elapsed_view_s: int
    elapsed_touch_s: int
    borrowers: int
    float_error_rel: float  # worst |accrue_debt_usd - chain| / chain over the borrowers
    mismatches: tuple[str, ...]


def _push(market: Market) -> None:
    for s, target in PUSHED_UTILIZATION.items():
        r = read_reserve(market, s, int(market.w3.eth.block_number))
        market.borrow(market.deployer, s,
                      round(target * (r.available_liquidity + r.variable_debt)) - r.variable_debt)


def _borrowers(market: Market, symbol: str) -> list[str]:
    users = [a.address for a in market.accounts if symbol in a.borrowed_units][:4]
    return [*users, market.deployer]


def _expected(before: ReserveRead, elapsed_s: int) -> tuple[int, int]:
    """(liquidity index, variable borrow index) after ``elapsed_s``: ReserveLogic's rules."""
    income = before.liquidity_index
    if before.liquidity_rate != 0:
        income = am.ray_mul(am.calculate_linear_interest(before.liquidity_rate, elapsed_s),
                            income)
    debt = before.borrow_index
    if before.variable_debt != 0:
        debt = am.ray_mul(am.calculate_compounded_interest_binomial(before.borrow_rate,
                                                                    elapsed_s), debt)
    return income, debt


def float_debt_bound(debt_units: int, elapsed_s: int) -> float:
    """How far AaveV3("3.0").accrue_debt_usd (exact binomial in float) may sit from the chain.

    MathUtils.calculateCompoundedInterest truncates ``rate*n/SPY``, ``basePowerTwo`` and
    ``basePowerThree`` to integers (each by < 1, ``basePowerThree`` by < 2 as it inherits
    ``basePowerTwo``'s), so the factor falls short by at most ``(n + n^2/2 + 2 n^3/6)`` ray-wei;
    ``basePowerThree`` is only ~4 for 5%/yr, so over years this is ~1e-4 of the debt, a
    property of v3.0's integer math, not of delever. Plus float64 rounding and two units (the
    rayMul rounding of the balance before and after).
    """
    n = float(elapsed_s)
    return debt_units * (FLOAT_DEBT_RTOL + (n + n * n / 2 + n**3 / 3) / 1e27) + 2.0


def _check_view(market: Market, symbol: str, before: ReserveRead, block: int,
                users: list[str]) -> tuple[int, list[str], float]:
    """Normalized income/debt, debt balances and the deployer's aToken balance at ``block``."""
    t, pool = market.tokens[symbol], market.pool.functions
    at = market.contract("AToken", t.a_token).functions
    vd = market.contract("VariableDebtToken", t.variable_debt_token).functions
    ts = int(market.w3.eth.get_block(block)["timestamp"])
    elapsed = ts - before.last_update
    income, debt_index = _expected(before, elapsed)
    bad: list[str] = []
    worst_rel = 0.0
    chain_income = int(pool.getReserveNormalizedIncome(t.underlying).call(block_identifier=block))
    chain_debt = int(pool.getReserveNormalizedVariableDebt(t.underlying)
                     .call(block_identifier=block))
    if (chain_income, chain_debt) != (income, debt_index):
        bad.append(f"{symbol} dt={elapsed}: normalized (income, debt) chain "
                   f"{(chain_income, chain_debt)} vs delever {(income, debt_index)}")
    utilization = before.variable_debt / (before.variable_debt + before.available_liquidity)
    model = AaveV3(rule_set="3.0", debt_symbol=symbol)
    for u in users:
        scaled = int(vd.scaledBalanceOf(u).call(block_identifier=before.block))
        was = int(vd.balanceOf(u).call(block_identifier=before.block))
        now = int(vd.balanceOf(u).call(block_identifier=block))
        if now != am.ray_mul(scaled, debt_index):
            bad.append(f"{symbol} dt={elapsed} {u}: debt {now} vs {am.ray_mul(scaled, debt_index)}")
        if now == 0:
            continue  # the deployer has no debt in the generated state
        # ``was`` already holds the interest up to before.block: grow it from there
        since = ts - before.timestamp
        grown = model.accrue_debt_usd(float(was), utilization, float(since))
        worst_rel = max(worst_rel, abs(grown - now) / now)
        if abs(grown - now) > float_debt_bound(now, elapsed):
            bad.append(f"{symbol} dt={elapsed} {u}: float accrue_debt_usd {grown} vs {now}")
    me = to_checksum_address(market.deployer)
    supplied = int(at.balanceOf(me).call(block_identifier=block))
    scaled_supply = int(at.scaledBalanceOf(me).call(block_identifier=before.block))
    if supplied != am.ray_mul(scaled_supply, income):
        bad.append(f"{symbol} dt={elapsed}: aToken {supplied} vs "
                   f"{am.ray_mul(scaled_supply, income)}")
    return elapsed, bad, worst_rel


def _accrue_once(market: Market, horizon_s: int) -> list[AccrualCase]:
    """From the current state: travel ``horizon_s``, check the views, touch every reserve
    (a 1-token supply, one block) and check the stored indices."""
    b0 = int(market.w3.eth.block_number)
    before = {s: read_reserve(market, s, b0) for s in SYMBOLS}
    users = {s: _borrowers(market, s) for s in SYMBOLS}
    b1 = market.time_travel(horizon_s)
    views = {s: _check_view(market, s, before[s], b1, users[s]) for s in SYMBOLS}
    pool = market.pool
    market.send_many([(market.deployer, pool.address, market.calldata(
        pool, "supply", market.tokens[s].underlying, RESERVES[s].unit, market.deployer, 0))
        for s in SYMBOLS])
    b2 = int(market.w3.eth.block_number)
    cases: list[AccrualCase] = []
    for s in SYMBOLS:
        after = read_reserve(market, s, b2)
        elapsed = after.timestamp - before[s].last_update
        want = _expected(before[s], elapsed)
        bad = list(views[s][1])
        if (after.liquidity_index, after.borrow_index) != want:
            bad.append(f"{s} dt={elapsed}: stored (liquidity, borrow) index chain "
                       f"{(after.liquidity_index, after.borrow_index)} vs delever {want}")
        cases.append(AccrualCase(s, horizon_s, views[s][0], elapsed, len(users[s]), views[s][2],
                                 tuple(bad)))
    return cases


@pytest.mark.parametrize("pushed", [False, True], ids=["as-generated", "pushed"])
def test_accrual_matches_chain(reverting: Market, pushed: bool) -> None:
    market = reverting
    if pushed:
        _push(market)
    cases: list[AccrualCase] = []
    for horizon in HORIZONS_S:
        snap = market.snapshot()
        cases += _accrue_once(market, horizon)
        market.revert(snap)
    assert len(cases) == len(HORIZONS_S) * len(SYMBOLS)
    assert all(c.borrowers >= 2 for c in cases)
    # elapsed counts from the reserve's last update, a few blocks (seconds) before the travel
    assert all(c.horizon_s <= c.elapsed_view_s <= c.elapsed_touch_s <= c.horizon_s + 600
               for c in cases)
    mismatches = [m for c in cases for m in c.mismatches]
    assert mismatches == [], f"{len(mismatches)} differ:\n" + "\n".join(mismatches[:10])
    worst = max(c.float_error_rel for c in cases)
    print(f"\nworst float accrue_debt_usd relative error {worst:.3g}")
    print(f"\naccrual cases ({'pushed' if pushed else 'as generated'}): {len(cases)}, "
          f"elapsed view/touch s: {sorted({(c.elapsed_view_s, c.elapsed_touch_s) for c in cases})}")
