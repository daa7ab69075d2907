"""Morpho.sol in integers: health at the 1e36 oracle scale, liquidate (both input modes, bad
debt), accrueInterest. Hand-worked, each step's arithmetic in a comment."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from delever.protocol.morpho import irm
from delever.protocol.morpho import market as mk
from delever.protocol.morpho.math import (
    MAX_LIQUIDATION_INCENTIVE_FACTOR,
    ORACLE_PRICE_SCALE,
    VIRTUAL_SHARES,
    WAD,
    to_assets_down,
    to_assets_up,
)

LLTV_86 = 860_000_000_000_000_000
LIF_86 = 1_043_841_336_116_910_229  # see test_incentive_factor_86
WETH_USDC = mk.MarketParams(LLTV_86, collateral_decimals=18, loan_decimals=6)
# A market whose borrow share price is not round: 810_000.000123 USDC behind 8e17 shares,
# i.e. (810_000_000_123 + 1) / (8e17 + 1e6) = 1.0125e-6 USDC units a share, roughly.
MARKET = mk.MarketState(total_supply_assets=1_000_000 * 10**6, total_supply_shares=10**18,
                        total_borrow_assets=810_000_000_123, total_borrow_shares=8 * 10**17,
                        last_update=1, fee=0)
# 6 WETH against 1e16 borrow shares: toAssetsUp(1e16) = ceil(1e16 * 810_000_000_124 /
# 800_000_000_001_000_000) = ceil(10_125_000_001.5...) = 10_125_000_002 (10_125 USDC)
POSITION = mk.Position(supply_shares=0, borrow_shares=10**16, collateral=6 * 10**18)
PRICE_1950 = 1950 * 10**24  # 1950 USDC per WETH: 1950 * 10**(36 + 6 - 18)


def test_incentive_factor_86() -> None:
    # WAD - lltv = 0.14e18; 0.3e18 wMulDown 0.14e18 = 0.042e18; 1e36 / 0.958e18 =
    # 1.043841336116910229645.. e18 -> rounded down
    assert mk.liquidation_incentive_factor(LLTV_86) == LIF_86
    assert math.floor(Fraction(1) / Fraction(958, 1000) * WAD) == LIF_86


def test_incentive_factor_915() -> None:
    # 1 - 0.3 * 0.085 = 0.9745 ; 1 / 0.9745 = 1.026167265264238070...
    assert mk.liquidation_incentive_factor(915 * 10**15) == 1_026_167_265_264_238_070


def test_incentive_factor_capped_at_115() -> None:
    # LLTV 38.5%: 1 / (1 - 0.3 * 0.615) = 1 / 0.8155 = 1.2262 > 1.15 -> the cap
    assert mk.liquidation_incentive_factor(385 * 10**15) == MAX_LIQUIDATION_INCENTIVE_FACTOR
    # the cap binds below 1 - (1 - 1/1.15) / 0.3 = 56.52%; at 62.5%: 1 / 0.8875 = 1.12676..
    assert mk.liquidation_incentive_factor(625 * 10**15) == 1_126_760_563_380_281_690


def test_oracle_price_scale() -> None:
    # IOracle.price(): 1 WETH (1e18 wei) = 1950 USDC (1950e6 units) -> 1950e6 / 1e18 * 1e36
    assert WETH_USDC.oracle_price(1950) == PRICE_1950
    assert mk.MarketParams(LLTV_86).oracle_price(1950) == 1950 * ORACLE_PRICE_SCALE


def test_health_at_the_oracle_scale_boundary() -> None:
    # 1 WETH at 2000 USDC: maxBorrow = 1e18 * 2e27 / 1e36 = 2e9 units, wMulDown 0.86 = 1.72e9
    price = 2000 * 10**24
    market, supplier = mk.supply(mk.MarketState(), mk.Position(), 10_000 * 10**6)
    assert supplier.supply_shares == 10_000 * 10**6 * VIRTUAL_SHARES
    borrower = mk.supply_collateral(mk.Position(), 10**18)
    market, borrower = mk.borrow(WETH_USDC, market, borrower, 1_720 * 10**6, price)
    # first borrow: 1.72e9 * (0 + 1e6) / (0 + 1) = 1.72e15 shares, worth exactly 1.72e9 back
    assert borrower.borrow_shares == 1_720 * 10**12
    assert mk.borrowed_assets(market, borrower) == 1_720 * 10**6
    assert mk.max_borrow(WETH_USDC, borrower, price) == 1_720 * 10**6
    assert mk.is_healthy(WETH_USDC, market, borrower, price)  # maxBorrow >= borrowed
    # one unit more is refused
    with pytest.raises(mk.MorphoRevert, match="insufficient collateral"):
        mk.borrow(WETH_USDC, market, borrower, 1, price)
    # one oracle unit lower: floor(1e18 * (2e27 - 1) / 1e36) = 1_999_999_999, * 0.86 =
    # 1_719_999_999.14 -> 1_719_999_999 < 1_720_000_000: liquidatable
    assert not mk.is_healthy(WETH_USDC, market, borrower, price - 1)


def test_liquidate_rejects_healthy_and_inconsistent_input() -> None:
    price = 2500 * 10**24  # maxBorrow 6 * 2500 * 0.86 = 12_900 USDC >= 10_125: healthy
    with pytest.raises(mk.MorphoRevert, match="position is healthy"):
        mk.liquidate(WETH_USDC, MARKET, POSITION, price, seized_assets=10**18)
    with pytest.raises(mk.MorphoRevert, match="inconsistent input"):
        mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950, seized_assets=1, repaid_shares=1)
    with pytest.raises(mk.MorphoRevert, match="inconsistent input"):
        mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950)


def test_partial_liquidation_by_seized_assets() -> None:
    # 1950 USDC a WETH: maxBorrow = 6 * 1950 * 0.86 = 10_062 USDC < 10_125.000002: liquidatable
    assert mk.max_borrow(WETH_USDC, POSITION, PRICE_1950) == 10_062 * 10**6
    res = mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950, seized_assets=10**18)
    # seizedAssetsQuoted = ceil(1e18 * 1950e24 / 1e36) = 1_950_000_000
    # / LIF, up: ceil(1.95e9 * 1e18 / 1_043_841_336_116_910_229) = ceil(1_868_100_000.0000002)
    #   = 1_868_100_001 (LIF is 1/0.958 rounded down, so the quotient is just above 1.95e9*0.958)
    # toSharesUp: ceil(1_868_100_001 * (8e17 + 1e6) / (810_000_000_123 + 1))
    #   = ceil(1_845_037_037_744_547.5..) = 1_845_037_037_744_548
    # repaidAssets = toAssetsUp(shares) = ceil(1_868_100_001.0000005) = 1_868_100_002
    assert res.seized_assets == 10**18
    assert res.repaid_shares == 1_845_037_037_744_548
    assert res.repaid_assets == 1_868_100_002
    assert (res.bad_debt_assets, res.bad_debt_shares) == (0, 0)
    assert res.position == mk.Position(0, 10**16 - 1_845_037_037_744_548, 5 * 10**18)
    assert res.market.total_borrow_shares == 8 * 10**17 - 1_845_037_037_744_548
    assert res.market.total_borrow_assets == 810_000_000_123 - 1_868_100_002
    assert res.market.total_supply_assets == MARKET.total_supply_assets  # no loss to suppliers


def test_partial_liquidation_by_repaid_shares() -> None:
    res = mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950, repaid_shares=5 * 10**15)
    # toAssetsDown(5e15) = floor(5e15 * 810_000_000_124 / 800_000_000_001_000_000)
    #   = floor(5_062_500_000.77) = 5_062_500_000
    # wMulDown LIF = floor(5_062_500_000 * 1.043841336116910229) = floor(5_284_446_764.09)
    #   = 5_284_446_764 ; mulDivDown(1e36, 1950e24) = floor(5_284_446_764e12 / 1950)
    #   = 2_709_972_699_487_179_487 wei
    # repaidAssets = toAssetsUp(5e15) = 5_062_500_001 (the liquidator pays the rounding)
    assert res.seized_assets == 2_709_972_699_487_179_487
    assert res.repaid_assets == 5_062_500_001
    assert res.position.borrow_shares == 5 * 10**15
    assert res.position.collateral == 6 * 10**18 - 2_709_972_699_487_179_487
    assert res.market.total_borrow_assets == 810_000_000_123 - 5_062_500_001
    assert res.bad_debt_assets == 0


def test_full_liquidation_leaves_collateral_and_no_bad_debt() -> None:
    res = mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950, repaid_shares=10**16)
    # toAssetsDown(1e16) = 10_125_000_001 ; * LIF = floor(10_568_893_529.1) = 10_568_893_529
    # / 1950 USDC -> 5_419_945_399_487_179_487 wei seized of 6e18 ;
    # repaid toAssetsUp = 10_125_000_002
    assert res.seized_assets == 5_419_945_399_487_179_487
    assert res.repaid_assets == 10_125_000_002
    assert res.position == mk.Position(0, 0, 6 * 10**18 - 5_419_945_399_487_179_487)
    assert res.bad_debt_assets == 0
    # more shares than the position owes underflows (the contract reverts)
    with pytest.raises(OverflowError):
        mk.liquidate(WETH_USDC, MARKET, POSITION, PRICE_1950, repaid_shares=10**16 + 1)


def test_bad_debt_is_socialised_to_suppliers() -> None:
    price = 1500 * 10**24  # collateral 6 * 1500 = 9_000 USDC buys 9_000 * 0.958 = 8_622 of debt
    supply_shares = MARKET.total_supply_shares  # one supplier holds every share
    value_before = to_assets_down(supply_shares, MARKET.total_supply_assets, supply_shares)
    res = mk.liquidate(WETH_USDC, MARKET, POSITION, price, seized_assets=6 * 10**18)
    # quoted 9_000e6 ; / LIF up = 8_622_000_001 ; toSharesUp = 8_515_555_555_250_239 shares,
    # toAssetsUp = 8_622_000_002 repaid
    assert (res.repaid_shares, res.repaid_assets) == (8_515_555_555_250_239, 8_622_000_002)
    # left: tba = 810_000_000_123 - 8_622_000_002 = 801_378_000_121,
    #       tbs = 8e17 - 8_515_555_555_250_239 = 791_484_444_444_749_761,
    #       position shares 1e16 - 8_515_555_555_250_239 = 1_484_444_444_749_761 = bad debt shares
    # bad debt = min(tba, ceil(1_484_444_444_749_761 * 801_378_000_122 / 791_484_444_445_749_761))
    #          = ceil(1_503_000_000.6) = 1_503_000_001 (10_125.000002 - 8_622.000002 + rounding)
    assert res.bad_debt_shares == 1_484_444_444_749_761
    assert res.bad_debt_assets == 1_503_000_001
    assert res.position == mk.Position(0, 0, 0)
    assert res.market.total_borrow_assets == 801_378_000_121 - 1_503_000_001
    assert res.market.total_borrow_shares == 790_000_000_000_000_000
    assert res.market.total_supply_assets == 1_000_000 * 10**6 - 1_503_000_001
    assert res.market.total_supply_shares == supply_shares  # the shares stay, each worth less
    value_after = to_assets_down(supply_shares, res.market.total_supply_assets, supply_shares)
    assert value_before - value_after == 1_503_000_001


def test_bad_debt_as_morpho_forge_test() -> None:
    # LiquidateIntegrationTest.testLiquidateBadDebtRealized on a first-borrow market (share
    # price exactly 1e-6): expectedRepaid = collateral.mulDivUp(price, 1e36).wDivUp(LIF),
    # expectedBadDebt = (shares - repaidShares).toAssetsUp(...), badDebtShares = badDebt * 1e6
    params = mk.MarketParams(LLTV_86)
    market, _ = mk.supply(mk.MarketState(), mk.Position(), 10_000 * WAD)
    borrower = mk.supply_collateral(mk.Position(), 3 * WAD)
    market, borrower = mk.borrow(params, market, borrower, 5_000 * WAD, 2_000 * ORACLE_PRICE_SCALE)
    price = 1_500 * ORACLE_PRICE_SCALE  # 3 * 1500 * 0.86 = 3_870 < 5_000
    res = mk.liquidate(params, market, borrower, price, seized_assets=3 * WAD)
    expected_repaid = -(-(4_500 * WAD) * WAD // LIF_86)  # ceil(4500e18 * 1e18 / LIF)
    assert res.repaid_assets == expected_repaid
    assert res.repaid_shares == expected_repaid * VIRTUAL_SHARES
    expected_bad = 5_000 * WAD - expected_repaid
    assert res.bad_debt_assets == expected_bad
    assert res.bad_debt_shares == expected_bad * VIRTUAL_SHARES
    assert res.market.total_supply_assets == 10_000 * WAD - expected_bad
    assert (res.market.total_borrow_assets, res.market.total_borrow_shares) == (0, 0)


def test_accrue_interest_at_target_with_fee() -> None:
    # 900 of 1000 borrowed (90%: the rate is the rate at target, 4%/yr = 1_268_391_679 /s),
    # one year: wTaylorCompounded = 40_810_666_655_159_581 (see test_morpho_math)
    # interest = floor(900e18 * 0.040810666655159581) = 36_729_599_989_643_622_900
    # fee 10%: 3_672_959_998_964_362_290 ; feeShares = toSharesDown(fee, supply - fee, shares)
    #   = floor(3_672_959_998_964_362_290 * (1000e24 + 1e6) / (1_033_056_639_990_679_260_610 + 1))
    market = mk.MarketState(1000 * WAD, 1000 * WAD * VIRTUAL_SHARES, 900 * WAD,
                            900 * WAD * VIRTUAL_SHARES, last_update=0, fee=10**17)
    res = mk.accrue_interest(market, irm.INITIAL_RATE_AT_TARGET, irm.SECONDS_PER_YEAR)
    assert res.borrow_rate == 1_268_391_679
    assert res.rate_at_target == irm.INITIAL_RATE_AT_TARGET  # err = 0: no drift
    assert res.interest == 36_729_599_989_643_622_900
    fee = 3_672_959_998_964_362_290
    supply_after = 1000 * WAD + res.interest
    assert res.fee_shares == fee * (1000 * WAD * VIRTUAL_SHARES + VIRTUAL_SHARES) // (
        supply_after - fee + 1)
    assert res.market.total_borrow_assets == 900 * WAD + res.interest
    assert res.market.total_supply_assets == supply_after
    assert res.market.total_supply_shares == 1000 * WAD * VIRTUAL_SHARES + res.fee_shares
    assert res.market.last_update == irm.SECONDS_PER_YEAR
    # the fee recipient's shares are worth the fee (to a unit or so): minted at the pre-fee price
    fee_value = to_assets_down(res.fee_shares, res.market.total_supply_assets,
                               res.market.total_supply_shares)
    assert abs(fee_value - fee) <= 2


def test_accrue_interest_no_time_no_change_and_irm_drift() -> None:
    market = replace(MARKET, last_update=100)
    same = mk.accrue_interest(market, irm.INITIAL_RATE_AT_TARGET, 100)
    assert same.market == market and same.interest == 0
    # 81% utilization for a day: err = (0.81 - 0.9) / 0.9 = -0.1 -> the rate at target falls
    later = mk.accrue_interest(market, irm.INITIAL_RATE_AT_TARGET, 100 + 86_400)
    assert later.rate_at_target < irm.INITIAL_RATE_AT_TARGET
    assert later.market.total_borrow_assets - market.total_borrow_assets == later.interest > 0


def test_shares_conversions_consistent_with_healthy_rounding() -> None:
    # borrowed assets round up (toAssetsUp), against the borrower
    assert mk.borrowed_assets(MARKET, POSITION) == to_assets_up(
        10**16, MARKET.total_borrow_assets, MARKET.total_borrow_shares) == 10_125_000_002


@settings(max_examples=300)
@given(total_borrow_assets=st.integers(10**6, 10**30),
       share_price_ppm=st.integers(1, 10**7),  # shares per asset unit, relative to 1e6
       position_part=st.floats(1e-6, 1.0),
       collateral=st.integers(1, 10**28),
       price=st.integers(10**20, 10**40),
       by_shares=st.booleans(),
       amount_part=st.floats(1e-6, 1.0))
def test_liquidate_conserves_and_rounds_for_the_protocol(
        total_borrow_assets: int, share_price_ppm: int, position_part: float, collateral: int,
        price: int, by_shares: bool, amount_part: float) -> None:
    total_borrow_shares = total_borrow_assets * share_price_ppm
    shares = max(1, int(total_borrow_shares * position_part))
    market = mk.MarketState(total_supply_assets=2 * total_borrow_assets, total_supply_shares=10**30,
                            total_borrow_assets=total_borrow_assets,
                            total_borrow_shares=total_borrow_shares)
    pos = mk.Position(0, shares, collateral)
    params = mk.MarketParams(LLTV_86)
    assume(not mk.is_healthy(params, market, pos, price))
    try:
        if by_shares:
            res = mk.liquidate(params, market, pos, price,
                               repaid_shares=max(1, int(shares * amount_part)))
        else:
            res = mk.liquidate(params, market, pos, price,
                               seized_assets=max(1, int(collateral * amount_part)))
    except OverflowError:  # asked for more than the position holds: the contract reverts
        assume(False)
        return
    m = res.market
    # the liquidator never gets more than LIF times what it repays (rounding favours Morpho)
    assert res.seized_assets * price * WAD <= res.repaid_assets * LIF_86 * ORACLE_PRICE_SCALE
    # conservation of collateral, shares and assets (bad debt leaves supply and borrow alike)
    assert pos.collateral - res.position.collateral == res.seized_assets
    assert total_borrow_shares - m.total_borrow_shares == res.repaid_shares + res.bad_debt_shares
    assert total_borrow_assets - m.total_borrow_assets == (
        min(res.repaid_assets, total_borrow_assets) + res.bad_debt_assets)
    assert market.total_supply_assets - m.total_supply_assets == res.bad_debt_assets
    if res.position.collateral == 0:
        assert res.position.borrow_shares == 0
    else:
        assert res.bad_debt_assets == res.bad_debt_shares == 0
