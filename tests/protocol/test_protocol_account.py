"""Accounts and liquidationCall: hand-worked examples from LiquidationLogic.sol (v3.6).

Unless stated otherwise: WETH collateral (LT 0.83, bonus 5%, protocol fee 10%) against USDC
debt priced at $1, ETH at $2,000. Each example runs in float and in exact mode.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.errors import InvalidArgument, ProtocolRevert
from delever.protocol import (
    Account,
    LiquidationResult,
    Prices,
    account_data,
    distance_to_liquidation_pct,
    liquidation_call,
    liquidation_price_usd,
)

ETH = 2_000.0
PRICES = Prices.from_eth(ETH)
MODES = pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])


def _liq(account: Account, cover: float = math.inf, *, exact: bool, coll: str = "WETH",
         debt: str = "USDC", prices: Prices = PRICES) -> LiquidationResult:
    return liquidation_call(account, prices, collateral_symbol=coll, debt_symbol=debt,
                            debt_to_cover=cover, exact=exact)


# --- account data ---------------------------------------------------------------------------
@MODES
def test_account_data_hand_worked(exact: bool) -> None:
    # 100 WETH at $2,000 = $200,000 collateral; 150,000 USDC debt.
    # HF = 200,000 * 0.83 / 150,000 = 1.106666...; borrowable = 200,000 * 0.805 - 150,000
    # = 11,000.
    data = account_data(Account({"WETH": 100.0}, {"USDC": 150_000.0}), PRICES, exact=exact)
    assert data.total_collateral_usd == pytest.approx(200_000.0, rel=1e-15)
    assert data.total_debt_usd == pytest.approx(150_000.0, rel=1e-15)
    assert data.health_factor == pytest.approx(166_000 / 150_000, rel=1e-15)
    assert data.avg_ltv == pytest.approx(0.805)
    assert data.avg_liquidation_threshold == pytest.approx(0.83)
    assert data.available_borrows_usd == pytest.approx(11_000.0, rel=1e-12)
    if exact:
        # sum(base * LT) = 2e13 * 8300 = 1.66e17; debt base 1.5e13;
        # wadDiv = (1.66e17 * 1e18 + 0.75e13) // 1.5e13 = 11066666666666666666667; // 1e4:
        assert data.health_factor_wad == 1_106_666_666_666_666_666


@MODES
def test_account_data_weighted_averages(exact: bool) -> None:
    # 50 WETH ($100,000, LT .83, LTV .805) + 20,000 USDC ($20,000, LT .78, LTV .75):
    # avg LT = (83,000 + 15,600) / 120,000 = 0.821666 (exact mode floors to 0.8216 in bps).
    data = account_data(Account({"WETH": 50.0, "USDC": 20_000.0}, {"USDT": 10_000.0}),
                        PRICES, exact=exact)
    assert data.avg_liquidation_threshold == pytest.approx(98_600 / 120_000, abs=1e-4)
    assert data.avg_ltv == pytest.approx((80_500 + 15_000) / 120_000, abs=1e-4)
    assert data.health_factor == pytest.approx(98_600 / 10_000, rel=1e-12)


@MODES
def test_no_debt_has_infinite_hf(exact: bool) -> None:
    data = account_data(Account({"WETH": 1.0}, {}), PRICES, exact=exact)
    assert data.health_factor == math.inf
    assert math.isnan(liquidation_price_usd(Account({"WETH": 1.0}, {}), PRICES))


@MODES
def test_debt_without_collateral_is_a_state(exact: bool) -> None:
    data = account_data(Account({"WETH": 0.0}, {"USDC": 100.0}), PRICES, exact=exact)
    assert data.health_factor == 0.0
    assert data.total_collateral_usd == 0.0


def test_emode_uses_the_category_parameters() -> None:
    # wstETH at 2,000 * 1.225 = $2,450; 100 wstETH = $245,000; e-mode LT 0.95.
    # 120 WETH debt = $240,000 -> HF = 245,000 * 0.95 / 240,000 = 0.969791...
    account = Account({"wstETH": 100.0}, {"WETH": 120.0}, emode=True)
    data = account_data(account, PRICES)
    assert data.health_factor == pytest.approx(245_000 * 0.95 / 240_000, rel=1e-12)
    plain = Account({"wstETH": 100.0}, {"WETH": 120.0})
    assert account_data(plain, PRICES).health_factor == pytest.approx(
        245_000 * 0.81 / 240_000, rel=1e-12)


# --- liquidation price ----------------------------------------------------------------------
def test_liquidation_price_single_asset_closed_form() -> None:
    # p = D / (C * LT) = 150,000 / (100 * 0.83) = 1,807.2289...
    account = Account({"WETH": 100.0}, {"USDC": 150_000.0})
    assert liquidation_price_usd(account, PRICES) == pytest.approx(150_000 / 83, rel=1e-14)
    # distance = 1 - 1807.23 / 2000 = 9.6386%
    assert distance_to_liquidation_pct(account, PRICES) == pytest.approx(
        100 * (1 - 150_000 / 83 / ETH), rel=1e-12)


def test_liquidation_price_several_eth_assets() -> None:
    # 50 WETH + 40 wstETH (1.225 ETH each) vs 150,000 USDC:
    # p = 150,000 / (50 * 0.83 + 40 * 1.225 * 0.81) = 150,000 / 81.19 = 1,847.518...
    account = Account({"WETH": 50.0, "wstETH": 40.0}, {"USDC": 150_000.0})
    price = liquidation_price_usd(account, PRICES)
    assert price == pytest.approx(150_000 / (50 * 0.83 + 40 * 1.225 * 0.81), rel=1e-12)
    moved = Prices.from_eth(price)
    assert account_data(account, moved).health_factor == pytest.approx(1.0, rel=1e-12)


def test_liquidation_price_with_stable_collateral() -> None:
    # 100 WETH + 20,000 USDC (LT .78) vs 150,000 USDT: p = (150,000 - 15,600) / 83 = 1,619.28
    account = Account({"WETH": 100.0, "USDC": 20_000.0}, {"USDT": 150_000.0})
    assert liquidation_price_usd(account, PRICES) == pytest.approx(134_400 / 83, rel=1e-12)


def test_liquidation_price_eth_debt_against_stable_collateral_is_above() -> None:
    # 100,000 USDC (LT .78) vs 30 WETH: HF = 78,000 / (30 p) = 1 at p = 2,600; ETH must rise 30%.
    account = Account({"USDC": 100_000.0}, {"WETH": 30.0})
    assert liquidation_price_usd(account, PRICES) == pytest.approx(2_600.0, rel=1e-12)
    assert distance_to_liquidation_pct(account, PRICES) == pytest.approx(-30.0, rel=1e-12)


def test_liquidation_price_emode_eth_debt_cancels() -> None:
    # wstETH collateral vs WETH debt: HF does not depend on the ETH price -> nan.
    account = Account({"wstETH": 100.0}, {"WETH": 120.0}, emode=True)
    assert math.isnan(liquidation_price_usd(account, PRICES))
    assert math.isnan(distance_to_liquidation_pct(account, PRICES))


# --- liquidationCall: hand-worked examples --------------------------------------------------
@MODES
def test_fifty_percent_close_factor(exact: bool) -> None:
    # HF = 166,000 / 170,000 = 0.97647 > 0.95; pair collateral $200,000 and debt $170,000 are
    # both >= $2,000 -> at most 50% of the total debt: 85,000 USDC.
    # Collateral = 85,000 / 2,000 * 1.05 = 44.625 WETH; bonus part = 44.625 - 42.5 = 2.125;
    # protocol fee = 10% * 2.125 = 0.2125; liquidator gets 44.4125.
    # Left: 55.375 WETH, 85,000 USDC; HF' = 55.375 * 2,000 * 0.83 / 85,000 = 1.0814411...
    r = _liq(Account({"WETH": 100.0}, {"USDC": 170_000.0}), exact=exact)
    assert r.close_factor == 0.5
    assert r.debt_repaid == pytest.approx(85_000.0, rel=1e-15)
    assert r.collateral_seized == pytest.approx(44.625, rel=1e-15)
    assert r.protocol_fee == pytest.approx(0.2125, rel=1e-12)
    assert r.collateral_to_liquidator == pytest.approx(44.4125, rel=1e-15)
    assert r.collateral_left == pytest.approx(55.375, rel=1e-15)
    assert r.debt_left == pytest.approx(85_000.0, rel=1e-15)
    assert r.bad_debt_usd == 0.0
    assert r.health_factor_after == pytest.approx(91_922.5 / 85_000, rel=1e-15)
    if exact:
        assert r.debt_repaid_units == 85_000 * 10**6
        assert r.collateral_to_liquidator_units == 44_412_500_000_000_000_000
        assert r.protocol_fee_units == 212_500_000_000_000_000
        assert r.health_factor_before_wad == 976_470_588_235_294_117


def test_fifty_percent_is_of_the_total_debt() -> None:
    # Debts 100,000 USDC + 70,000 USDT (total $170,000, HF 0.976): 50% of the total is $85,000.
    # USDC debt $100,000 > $85,000 -> capped at 85,000; USDT debt $70,000 <= $85,000 -> all of it.
    account = Account({"WETH": 100.0}, {"USDC": 100_000.0, "USDT": 70_000.0})
    usdc = liquidation_call(account, PRICES, collateral_symbol="WETH", debt_symbol="USDC",
                            debt_to_cover=math.inf)
    usdt = liquidation_call(account, PRICES, collateral_symbol="WETH", debt_symbol="USDT",
                            debt_to_cover=math.inf)
    assert usdc.debt_repaid == pytest.approx(85_000.0)
    assert usdt.debt_repaid == pytest.approx(70_000.0)
    assert usdt.close_factor == 0.5


@MODES
def test_full_close_below_hf_095(exact: bool) -> None:
    # HF = 166,000 / 180,000 = 0.9222 <= 0.95 -> the whole 180,000 may be covered.
    # Collateral = 180,000 / 2,000 * 1.05 = 94.5 WETH <= 100; fee = 10% * (94.5 - 90) = 0.45.
    # Debt cleared, 5.5 WETH left, HF' = inf.
    r = _liq(Account({"WETH": 100.0}, {"USDC": 180_000.0}), exact=exact)
    assert r.close_factor == 1.0
    assert r.debt_repaid == pytest.approx(180_000.0, rel=1e-15)
    assert r.collateral_seized == pytest.approx(94.5, rel=1e-15)
    assert r.protocol_fee == pytest.approx(0.45, rel=1e-12)
    assert r.collateral_left == pytest.approx(5.5, rel=1e-12)
    assert r.debt_left == 0.0
    assert r.health_factor_after == math.inf


@MODES
def test_full_close_when_pair_collateral_below_2000(exact: bool) -> None:
    # 1 WETH at $1,900 = $1,900 < $2,000 vs 1,600 USDC: HF = 1,577 / 1,600 = 0.9856 > 0.95,
    # yet 100% may be covered. Collateral = 1,600 / 1,900 * 1.05 = 0.884210526 WETH.
    prices = Prices.from_eth(1_900.0)
    r = _liq(Account({"WETH": 1.0}, {"USDC": 1_600.0}), exact=exact, prices=prices)
    assert r.health_factor_before > 0.95
    assert r.close_factor == 1.0
    assert r.debt_repaid == pytest.approx(1_600.0)
    assert r.collateral_seized == pytest.approx(1_600 / 1_900 * 1.05, rel=1e-12)


@MODES
@pytest.mark.parametrize(("debt_usd", "close_factor", "repaid"),
                         [(2_000.0, 0.5, 1_000.0), (1_999.99, 1.0, 1_999.99)],
                         ids=["debt-exactly-2000", "debt-just-below-2000"])
def test_pair_debt_threshold_edge(exact: bool, debt_usd: float, close_factor: float,
                                  repaid: float) -> None:
    # 1.2 WETH = $2,400: HF = 1,992 / 2,000 = 0.996. The 50% cap needs debt >= $2,000 (>=, so
    # exactly $2,000 still gets it): repaid 1,000, leaving $1,000 debt (>= MIN_LEFTOVER_BASE,
    # allowed) and 2,400 - 1,050 = $1,350 collateral.
    r = _liq(Account({"WETH": 1.2}, {"USDC": debt_usd}), exact=exact)
    assert r.close_factor == close_factor
    assert r.debt_repaid == pytest.approx(repaid, rel=1e-12)


def test_hf_exactly_095_is_full_close_in_exact_mode() -> None:
    # 950,000 USDT collateral (LT 0.78 -> 741,000) vs 780,000 USDC: HF = 0.95 exactly
    # (0.95e18 in wad). The 50% cap needs HF > 0.95, so the whole debt may be covered.
    account = Account({"USDT": 950_000.0}, {"USDC": 780_000.0})
    r = liquidation_call(account, PRICES, collateral_symbol="USDT", debt_symbol="USDC",
                         debt_to_cover=math.inf, exact=True)
    assert r.health_factor_before_wad == 950_000_000_000_000_000
    assert r.close_factor == 1.0  # HF > 0.95 is needed for the 50% cap


@MODES
def test_dust_rule_reverts_on_the_debt_side(exact: bool) -> None:
    # HF 0.922 -> 100%; covering 179,500 of 180,000 leaves $500 of debt (< $1,000) while
    # collateral remains -> MustNotLeaveDust.
    with pytest.raises(ProtocolRevert, match="MustNotLeaveDust") as info:
        _liq(Account({"WETH": 100.0}, {"USDC": 180_000.0}), 179_500.0, exact=exact)
    assert info.value.rule == "MustNotLeaveDust"


@MODES
def test_dust_rule_reverts_on_the_collateral_side(exact: bool) -> None:
    # 10 WETH ($20,000) vs 19,500 USDC: HF 0.851 -> 100%. Covering 18,400 takes
    # 18,400 / 2,000 * 1.05 = 9.66 WETH, leaving 0.34 WETH = $680 (< $1,000) though $1,100 of
    # debt remains -> MustNotLeaveDust.
    with pytest.raises(ProtocolRevert, match="MustNotLeaveDust"):
        _liq(Account({"WETH": 10.0}, {"USDC": 19_500.0}), 18_400.0, exact=exact)
    # Covering 18,000 leaves 0.55 WETH ($1,100) and $1,500 debt: allowed.
    r = _liq(Account({"WETH": 10.0}, {"USDC": 19_500.0}), 18_000.0, exact=exact)
    assert r.collateral_left == pytest.approx(0.55, rel=1e-12)


@MODES
def test_collateral_cap_and_bad_debt_write_off(exact: bool) -> None:
    # 10 WETH ($20,000) vs 19,500 USDC: covering all needs 19,500 / 2,000 * 1.05 = 10.2375
    # WETH > 10 -> take all 10 WETH; debt covered falls to 10 * 2,000 / 1.05 = 19,047.619...
    # No collateral is left, so the remaining 452.38 USDC is written off (deficit).
    # Fee = 10% * (10 - 10 / 1.05) = 0.047619 WETH.
    r = _liq(Account({"WETH": 10.0}, {"USDC": 19_500.0}), exact=exact)
    covered = 20_000 / 1.05
    assert r.collateral_seized == 10.0
    assert r.debt_repaid == pytest.approx(covered, rel=1e-9)
    assert r.protocol_fee == pytest.approx(0.1 * (10 - 10 / 1.05), rel=1e-12)
    assert r.bad_debt_usd == pytest.approx(19_500 - covered, rel=1e-8)
    assert r.debt_left == 0.0
    assert r.collateral_left == 0.0
    assert r.health_factor_after == math.inf
    assert not r.account_after.has_debt


@MODES
def test_bad_debt_write_off_covers_every_debt_asset(exact: bool) -> None:
    # 10 WETH vs 20,000 USDC + 3,000 USDT: liquidating USDC takes all 10 WETH for 19,047.62
    # USDC; with no collateral left, 952.38 USDC and all 3,000 USDT are written off
    # (_burnDebtTokens then _burnBadDebt): bad debt $3,952.38.
    r = _liq(Account({"WETH": 10.0}, {"USDC": 20_000.0, "USDT": 3_000.0}), exact=exact)
    assert r.bad_debt["USDT"] == pytest.approx(3_000.0)
    assert r.bad_debt["USDC"] == pytest.approx(20_000 - 20_000 / 1.05, rel=1e-8)
    assert r.bad_debt_usd == pytest.approx(23_000 - 20_000 / 1.05, rel=1e-9)
    assert dict(r.account_after.debt) == {"USDC": 0.0, "USDT": 0.0}


def test_no_bad_debt_while_other_collateral_remains() -> None:
    # Same, plus 5,000 USDC of collateral: WETH runs out but collateral remains -> no write-off.
    account = Account({"WETH": 10.0, "USDC": 5_000.0}, {"USDT": 23_000.0})
    r = liquidation_call(account, PRICES, collateral_symbol="WETH", debt_symbol="USDT",
                         debt_to_cover=math.inf)
    assert r.collateral_seized == 10.0
    assert r.bad_debt_usd == 0.0
    assert r.debt_left == pytest.approx(23_000 - 20_000 / 1.05)


@MODES
def test_protocol_fee_is_a_share_of_the_bonus_only(exact: bool) -> None:
    # Example of test_fifty_percent_close_factor: 10% of the 2.125 WETH bonus = 0.2125, not
    # 10% of the 44.625 WETH seized (4.4625).
    r = _liq(Account({"WETH": 100.0}, {"USDC": 170_000.0}), exact=exact)
    bonus_part = r.collateral_seized - r.collateral_seized / 1.05
    assert r.protocol_fee == pytest.approx(0.1 * bonus_part, rel=1e-12)
    assert r.collateral_to_liquidator + r.protocol_fee == pytest.approx(
        r.collateral_seized, rel=1e-15)


def test_emode_liquidation_uses_the_category_bonus() -> None:
    # e-mode: wstETH $2,450, bonus 1%. 100 wstETH vs 120 WETH: HF 0.9698 > 0.95 -> 60 WETH.
    # Collateral = 60 * 2,000 / 2,450 * 1.01 = 49.46939 wstETH.
    account = Account({"wstETH": 100.0}, {"WETH": 120.0}, emode=True)
    r = liquidation_call(account, PRICES, collateral_symbol="wstETH", debt_symbol="WETH",
                         debt_to_cover=math.inf)
    assert r.debt_repaid == pytest.approx(60.0)
    assert r.collateral_seized == pytest.approx(60 * 2_000 / 2_450 * 1.01, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    collateral_eth=st.floats(10.0, 1e5),
    hf=st.floats(0.951, 0.999),
    price=st.floats(500.0, 5_000.0),
)
def test_hf_after_a_fifty_percent_close_is_the_closed_form(
    collateral_eth: float, hf: float, price: float
) -> None:
    # Repaying D/2 seizes D/2 * (1 + b) / p (fee included), so
    # HF' = (C p - D/2 (1 + b)) LT / (D/2) = 2 HF - (1 + b) LT.
    debt = collateral_eth * price * 0.83 / hf
    prices = Prices.from_eth(price)
    account = Account({"WETH": collateral_eth}, {"USDC": debt})
    r = liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                         debt_to_cover=math.inf)
    assert r.close_factor == 0.5
    closed_form = 2 * r.health_factor_before - 1.05 * 0.83
    assert r.health_factor_after == pytest.approx(closed_form, rel=1e-11)
    assert r.health_factor_after > 1.0  # (1 + b) LT = 0.8715 < 1, so the close heals


# --- bad input ------------------------------------------------------------------------------
def _emode_stable() -> object:
    return Account({"WETH": 1.0}, {"USDC": 10.0}, emode=True)


BAD_INPUT = [
    ("negative-collateral", lambda: Account({"WETH": -1.0}, {}), "must not be negative"),
    ("nan-debt", lambda: Account({"WETH": 1.0}, {"USDC": float("nan")}), "finite"),
    ("inf-collateral", lambda: Account({"WETH": math.inf}, {}), "finite"),
    ("string-amount", lambda: Account({"WETH": "lots"}, {}), "number of tokens"),  # type: ignore[dict-item]
    ("unknown-asset", lambda: Account({"WETHH": 1.0}, {}), "Did you mean 'WETH'"),
    ("duplicate-asset", lambda: Account({"WETH": 1.0, "weth": 2.0}, {}), "twice"),
    ("emode-stable-debt", _emode_stable, "e-mode"),
    ("zero-price", lambda: Prices({"WETH": 0.0}), "greater than 0"),
    ("negative-price", lambda: Prices({"WETH": -5.0}), "greater than 0"),
    ("nan-price", lambda: Prices({"WETH": float("nan")}), "greater than 0"),
    ("zero-eth-price", lambda: Prices.from_eth(0.0), "eth_usd=0.0"),
    ("missing-price", lambda: account_data(Account({"WETH": 1.0}, {"USDC": 1.0}),
                                           Prices({"WETH": 2_000.0})), "no price for USDC"),
    ("no-collateral-liq-price", lambda: liquidation_price_usd(
        Account({"WETH": 0.0}, {"USDC": 100.0}), PRICES), "no collateral"),
    ("negative-cover", lambda: _liq(Account({"WETH": 1.0}, {"USDC": 1_800.0}), -1.0,
                                    exact=False), "debt_to_cover=-1.0"),
    ("nan-cover", lambda: _liq(Account({"WETH": 1.0}, {"USDC": 1_800.0}), float("nan"),
                               exact=False), "debt_to_cover=nan"),
    ("unknown-pair", lambda: _liq(Account({"WETH": 1.0}, {"USDC": 1_800.0}), coll="ETH",
                                  exact=False), "collateral_symbol='ETH'"),
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in BAD_INPUT],
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_raises_one_line_invalid_argument(call: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)


REVERTS = [
    ("healthy", Account({"WETH": 100.0}, {"USDC": 1_000.0}), "WETH", "USDC",
     "HealthFactorNotBelowThreshold"),
    ("no-debt", Account({"WETH": 100.0}, {}), "WETH", "USDC", "HealthFactorNotBelowThreshold"),
    ("wrong-collateral", Account({"WETH": 1.0}, {"USDC": 1_800.0}), "wstETH", "USDC",
     "CollateralCannotBeLiquidated"),
    ("wrong-debt", Account({"WETH": 1.0}, {"USDC": 1_800.0}), "WETH", "USDT",
     "SpecifiedCurrencyNotBorrowedByUser"),
]


@MODES
@pytest.mark.parametrize(("account", "coll", "debt", "rule"), [c[1:] for c in REVERTS],
                         ids=[c[0] for c in REVERTS])
def test_protocol_reverts(account: Account, coll: str, debt: str, rule: str,
                          exact: bool) -> None:
    with pytest.raises(ProtocolRevert, match=rule) as info:
        _liq(account, coll=coll, debt=debt, exact=exact)
    assert info.value.rule == rule


def test_accounts_and_prices_are_hashable_values() -> None:
    a = Account({"WETH": 1.0}, {"USDC": 2.0})
    b = Account({"weth": 1.0}, {"usdc": 2.0})  # symbols are matched case-insensitively
    assert a == b
    assert len({a, b}) == 1
    assert hash(Prices.from_eth(2_000.0)) == hash(Prices.from_eth(2_000.0))
