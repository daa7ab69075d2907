"""MorphoBlue, the float LendingProtocol: closed forms, agreement with the exact contract
arithmetic (:mod:`delever.protocol.morpho.market`) and with the shared liquidation kernel."""

from __future__ import annotations

import math

import pytest

from delever.errors import InvalidArgument
from delever.kernels.liquidation import STATUS_HEALTHY, STATUS_LIQUIDATED, liquidate_one_py
from delever.kernels.records import LiquidationRules
from delever.protocol.base import LendingProtocol, LiquidationOutcome
from delever.protocol.morpho import MorphoBlue, irm
from delever.protocol.morpho import market as mk
from delever.protocol.morpho.math import ORACLE_PRICE_SCALE, WAD

M86 = MorphoBlue(lltv=0.86)
RISK86 = M86.risk()


def test_is_a_lending_protocol() -> None:
    assert isinstance(M86, LendingProtocol)
    assert M86.name == "morpho-blue"
    assert M86.kernel_rules() == LiquidationRules(
        close_factor=1.0, full_close_hf=math.inf, min_base_usd=0.0, min_leftover_usd=0.0,
        write_off_bad_debt=True)


def test_incentive_factor_and_risk() -> None:
    # 1 / (1 - 0.3 * 0.14) = 1 / 0.958 = 1.0438413361169102..; 1 / 0.9745 = 1.0261672652642380..
    assert M86.liquidation_incentive_factor == pytest.approx(1 / 0.958, rel=1e-15)
    assert MorphoBlue(0.915).liquidation_incentive_factor == pytest.approx(1 / 0.9745, rel=1e-15)
    assert MorphoBlue(0.385).liquidation_incentive_factor == 1.15  # capped
    assert M86.lltv_wad == 860_000_000_000_000_000
    assert RISK86.liquidation_threshold == RISK86.ltv == 0.86
    assert RISK86.liquidation_bonus == pytest.approx(1 / 0.958 - 1, rel=1e-12)
    assert RISK86.protocol_fee == 0.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lltv": 1.0}, "lltv=1.0 must be in"),
    ({"lltv": 0.0}, "lltv=0.0 must be in"),
    ({"lltv": 0.86, "rate_at_target_per_year": 3.0}, "rate_at_target_per_year=3.0"),
], ids=["lltv-one", "lltv-zero", "rate-above-max"])
def test_bad_parameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        MorphoBlue(**kwargs)


def test_health_liquidation_price_and_withdraw_closed_forms() -> None:
    # 10 ETH at 2000, 15_000 debt, LLTV 86%: HF = 10 * 2000 * 0.86 / 15_000 = 1.14667
    assert M86.health_factor(10, 15_000, 2000, RISK86) == pytest.approx(17_200 / 15_000)
    assert M86.health_factor(10, 0, 2000, RISK86) == math.inf
    # liquidation price 15_000 / (10 * 0.86) = 1744.186..
    liq = M86.liquidation_price_usd(10, 15_000, RISK86)
    assert liq == pytest.approx(15_000 / 8.6)
    assert M86.health_factor(10, 15_000, liq, RISK86) == pytest.approx(1.0)
    # withdraw until HF = 1: 10 - 15_000 / (2000 * 0.86) = 1.27907 ETH
    w = M86.max_withdraw_eth(10, 15_000, 2000, RISK86)
    assert w == pytest.approx(10 - 15_000 / 1720)
    assert M86.health_factor(10 - w, 15_000, 2000, RISK86) == pytest.approx(1.0)
    assert M86.max_withdraw_eth(10, 20_000, 2000, RISK86) == 0.0  # already unhealthy


def test_liquidate_healthy_and_inconsistent() -> None:
    out = M86.liquidate(10, 15_000, 2000, RISK86)
    assert not out.liquidated and out.status == "HEALTHY_POSITION"
    assert (out.collateral_left_eth, out.debt_left_usd) == (10, 15_000)
    both = M86.liquidate(10, 18_000, 2000, RISK86, seize_eth=1, debt_to_cover_usd=1)
    assert not both.liquidated and both.status == "INCONSISTENT_INPUT"


def test_liquidate_partial_by_seize_and_by_debt() -> None:
    # 10 ETH at 2000, 18_000 debt: HF = 17_200 / 18_000 = 0.9556
    # seize 2 ETH: repaid = 2 * 2000 / LIF = 4000 * 0.958 = 3832
    out = M86.liquidate(10, 18_000, 2000, RISK86, seize_eth=2)
    assert out.debt_repaid_usd == pytest.approx(3832.0, rel=1e-15)
    assert out.collateral_seized_eth == out.collateral_to_liquidator_eth == 2
    assert out.collateral_left_eth == 8 and out.debt_left_usd == pytest.approx(14_168.0)
    # HF after = 8 * 2000 * 0.86 / 14_168 = 0.97120
    assert out.health_factor_after == pytest.approx(13_760 / 14_168)
    # repay 3832 of debt: seized = 3832 * LIF / 2000 = 2 ETH, the same call the other way round
    back = M86.liquidate(10, 18_000, 2000, RISK86, debt_to_cover_usd=3832)
    assert back.collateral_seized_eth == pytest.approx(2.0, rel=1e-15)


def test_liquidate_whole_position_without_bad_debt() -> None:
    # all 18_000 repaid: seized = 18_000 / 2000 * LIF = 9 / 0.958 = 9.39457 ETH, 0.60543 left
    out = M86.liquidate(10, 18_000, 2000, RISK86)
    assert out.debt_repaid_usd == 18_000 and out.debt_left_usd == 0
    assert out.collateral_seized_eth == pytest.approx(9 / 0.958)
    assert out.bad_debt_usd == 0 and out.health_factor_after == math.inf


def test_liquidate_whole_position_with_bad_debt() -> None:
    # price 1500: 10 ETH buys 15_000 * 0.958 = 14_370 of the 18_000 debt; 3_630 is bad debt
    out = M86.liquidate(10, 18_000, 1500, RISK86)
    assert out.collateral_seized_eth == 10 and out.collateral_left_eth == 0
    assert out.debt_repaid_usd == pytest.approx(14_370.0)
    assert out.bad_debt_usd == pytest.approx(3_630.0)
    assert out.debt_left_usd == 0  # written off, to the suppliers
    # seizing more than the collateral is cut to the collateral (the contract would revert)
    capped = M86.liquidate(10, 18_000, 1500, RISK86, seize_eth=50)
    assert capped == out


def _kernel(c: float, d: float, p: float, cover: float) -> tuple[int, float, float, float, float]:
    status, repaid, seized, _, _, bad, _, hf_after = liquidate_one_py(
        M86.kernel_rules(), c, d, p, RISK86.liquidation_threshold, RISK86.liquidation_bonus,
        RISK86.protocol_fee, cover)
    return status, repaid, seized, bad, hf_after


@pytest.mark.parametrize(("c", "d", "p", "cover"), [
    (10, 18_000, 2000, 3832), (10, 18_000, 2000, math.inf), (10, 18_000, 1500, math.inf),
    (10, 18_000, 1500, 5_000), (10, 18_000, 1500, 16_000), (10, 15_000, 2000, math.inf),
    (3.7, 6_000, 1800.5, 2_222.2), (0.01, 18.0, 2000, math.inf),
])
def test_agrees_with_the_shared_kernel(c: float, d: float, p: float, cover: float) -> None:
    out = M86.liquidate(c, d, p, RISK86,
                        debt_to_cover_usd=None if math.isinf(cover) else cover)
    status, repaid, seized, bad, hf_after = _kernel(c, d, p, cover)
    if status == STATUS_HEALTHY:
        assert not out.liquidated
        return
    assert status == STATUS_LIQUIDATED and out.liquidated
    assert out.debt_repaid_usd == pytest.approx(repaid, rel=1e-15)
    assert out.collateral_seized_eth == pytest.approx(seized, rel=1e-15)
    assert out.bad_debt_usd == pytest.approx(bad, rel=1e-15, abs=1e-12)
    assert out.health_factor_after == pytest.approx(hf_after, rel=1e-12)


# --- float vs the exact contract arithmetic -------------------------------------------------
def _exact_position(collateral_wei: int, debt_wei: int) -> tuple[mk.MarketState, mk.Position]:
    """A market a year old (share price above 1e-6) holding the borrower's position."""
    params = M86.market_params()
    open_price = 10**6 * ORACLE_PRICE_SCALE  # any price high enough to borrow
    market, _ = mk.supply(mk.MarketState(), mk.Position(), 10 * debt_wei + 10**24)
    market, _ = mk.borrow(params, market, mk.supply_collateral(mk.Position(), 10**30),
                          5 * debt_wei + 10**23, open_price)
    borrower = mk.supply_collateral(mk.Position(), collateral_wei)
    market, borrower = mk.borrow(params, market, borrower, debt_wei, open_price)
    aged = mk.accrue_interest(market, irm.INITIAL_RATE_AT_TARGET, irm.SECONDS_PER_YEAR)
    return aged.market, borrower


SIZES = [(1.5, 2_000.0, 1_150.25), (37.0, 60_000.0, 1_700.0), (2_500.0, 4.1e6, 1_800.75),
         (120_000.0, 2.0e8, 1_900.0)]


@pytest.mark.parametrize(("collateral_eth", "debt_eth_units", "price_usd"), SIZES)
def test_float_agrees_with_exact_by_seized_assets(collateral_eth: float, debt_eth_units: float,
                                                  price_usd: float) -> None:
    params = M86.market_params()
    market, pos = _exact_position(int(collateral_eth * WAD), int(debt_eth_units * WAD))
    debt_usd = mk.borrowed_assets(market, pos) / WAD
    price = params.oracle_price(price_usd)
    seize_wei = pos.collateral // 3
    exact = mk.liquidate(params, market, pos, price, seized_assets=seize_wei)
    out = M86.liquidate(collateral_eth, debt_usd, price_usd, RISK86, seize_eth=seize_wei / WAD)
    assert out.debt_repaid_usd == pytest.approx(exact.repaid_assets / WAD, rel=1e-12)
    assert out.debt_left_usd == pytest.approx(mk.borrowed_assets(exact.market, exact.position)
                                              / WAD, rel=1e-12)


@pytest.mark.parametrize(("collateral_eth", "debt_eth_units", "price_usd"), SIZES)
def test_float_agrees_with_exact_by_repaid_shares(collateral_eth: float, debt_eth_units: float,
                                                  price_usd: float) -> None:
    params = M86.market_params()
    market, pos = _exact_position(int(collateral_eth * WAD), int(debt_eth_units * WAD))
    debt_usd = mk.borrowed_assets(market, pos) / WAD
    price = params.oracle_price(price_usd)
    shares = pos.borrow_shares // 4
    exact = mk.liquidate(params, market, pos, price, repaid_shares=shares)
    out = M86.liquidate(collateral_eth, debt_usd, price_usd, RISK86,
                        debt_to_cover_usd=exact.repaid_assets / WAD)
    assert out.collateral_seized_eth == pytest.approx(exact.seized_assets / WAD, rel=1e-12)
    assert out.collateral_left_eth == pytest.approx(exact.position.collateral / WAD, rel=1e-12)


@pytest.mark.parametrize(("collateral_eth", "debt_eth_units", "price_usd"), SIZES)
def test_float_agrees_with_exact_whole_position(collateral_eth: float, debt_eth_units: float,
                                                price_usd: float) -> None:
    # the whole position: all the collateral when it buys less than the debt (bad debt), else
    # all the borrow shares
    params = M86.market_params()
    market, pos = _exact_position(int(collateral_eth * WAD), int(debt_eth_units * WAD))
    debt_usd = mk.borrowed_assets(market, pos) / WAD
    price = params.oracle_price(price_usd)
    out = M86.liquidate(collateral_eth, debt_usd, price_usd, RISK86)
    if out.collateral_left_eth == 0:
        exact = mk.liquidate(params, market, pos, price, seized_assets=pos.collateral)
        assert out.bad_debt_usd == pytest.approx(exact.bad_debt_assets / WAD, rel=1e-12)
        supply_drop = market.total_supply_assets - exact.market.total_supply_assets
        assert supply_drop == exact.bad_debt_assets > 0
    else:
        exact = mk.liquidate(params, market, pos, price, repaid_shares=pos.borrow_shares)
        assert exact.bad_debt_assets == 0 and out.bad_debt_usd == 0
    assert out.debt_repaid_usd == pytest.approx(exact.repaid_assets / WAD, rel=1e-12)
    assert out.collateral_seized_eth == pytest.approx(exact.seized_assets / WAD, rel=1e-12)


def test_usdc_market_agrees_to_a_unit() -> None:
    # 6-decimal debt: the exact call rounds to 1e-6 USD; the float agrees within a unit or two
    params = M86.market_params(collateral_decimals=18, loan_decimals=6)
    market, _ = mk.supply(mk.MarketState(), mk.Position(), 10**7 * 10**6)
    pos = mk.supply_collateral(mk.Position(), 10 * WAD)
    market, pos = mk.borrow(params, market, pos, 17_000 * 10**6, params.oracle_price(2000))
    price_usd = 1_960.4
    out = M86.liquidate(10, 17_000, price_usd, RISK86, seize_eth=2.5)
    exact = mk.liquidate(params, market, pos, params.oracle_price(price_usd),
                         seized_assets=25 * 10**17)
    assert abs(out.debt_repaid_usd * 10**6 - exact.repaid_assets) <= 2


# --- rates ----------------------------------------------------------------------------------
def test_borrow_rate_curve() -> None:
    # 4% at target: 1% at 0, 4% at 90%, 16% at 100%; utilization clipped to [0, 1]
    assert M86.borrow_rate(0.0) == pytest.approx(0.01)
    assert M86.borrow_rate(0.9) == pytest.approx(0.04)
    assert M86.borrow_rate(1.0) == pytest.approx(0.16)
    assert M86.borrow_rate(1.5) == M86.borrow_rate(1.0)
    assert MorphoBlue(0.86, rate_at_target_per_year=0.10).borrow_rate(0.9) == pytest.approx(0.10)


def test_accrue_debt_at_target_is_taylor_compounding() -> None:
    # at 90% the rate stays 4%: one year compounds by 1 + x + x^2/2 + x^3/6, x = 0.04
    x = 0.04
    assert M86.accrue_debt_usd(1000.0, 0.9, irm.SECONDS_PER_YEAR) == pytest.approx(
        1000 * (1 + x + x * x / 2 + x**3 / 6), rel=1e-12)
    assert M86.accrue_debt_usd(1000.0, 0.5, 0.0) == 1000.0


@pytest.mark.parametrize(("utilization", "elapsed_s"), [(0.9, 86_400), (0.95, 86_400),
                                                        (0.5, 7 * 86_400), (1.0, 3_600)])
def test_accrue_debt_agrees_with_exact_accrual(utilization: float, elapsed_s: int) -> None:
    supply = 10**9 * WAD
    borrow = round(utilization * supply)
    market = mk.MarketState(supply, supply * 10**6, borrow, borrow * 10**6, last_update=0)
    exact = mk.accrue_interest(market, irm.INITIAL_RATE_AT_TARGET, elapsed_s)
    interest_exact = exact.interest / borrow
    interest_float = M86.accrue_debt_usd(1.0, utilization, elapsed_s) - 1.0
    # At target no drift: only the truncated per-second constant differs (2.8e-10 of the rate).
    # Off target the drift goes through wExp, whose 2nd-order Taylor is within 0.5% of exp.
    rel = 1e-8 if utilization == 0.9 else 5e-3
    assert interest_float == pytest.approx(interest_exact, rel=rel)


def test_outcome_type() -> None:
    assert isinstance(M86.liquidate(10, 18_000, 2000, RISK86), LiquidationOutcome)
