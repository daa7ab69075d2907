"""Aave v3 rule sets 3.0 / 3.3 / 3.6: hand-worked liquidations where they differ, the exact and
float paths per rule set, the AaveV3 protocol object and the registry.

WETH on Aave v3 Core: LT 0.83, bonus 5%, protocol fee 10% of the bonus; USDC at $1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.errors import InvalidArgument, ProtocolRevert
from delever.kernels import aave as k
from delever.kernels.records import LiquidationRules
from delever.protocol import (
    PROTOCOL_NAMES,
    RESERVES,
    AaveV3,
    Account,
    LendingProtocol,
    LiquidationResult,
    Prices,
    account_data,
    get_protocol,
    liquidation_call,
)
from delever.protocol import math as am

LT, BONUS, FEE = 0.83, 0.05, 0.10
RULE_SETS = ("3.0", "3.3", "3.6")
V33_PLUS = ("3.3", "3.6")


def _liquidate(c: float, d: float, p: float, cover: float, rule_set: str,
               exact: bool = False) -> LiquidationResult:
    return liquidation_call(Account({"WETH": c}, {"USDC": d}), Prices.from_eth(p),
                            collateral_symbol="WETH", debt_symbol="USDC", debt_to_cover=cover,
                            exact=exact, rule_set=rule_set)


def test_reserve_values_are_the_ones_worked_by_hand() -> None:
    weth = RESERVES["WETH"]
    assert (weth.liquidation_threshold, weth.liquidation_bonus,
            weth.liquidation_protocol_fee) == (LT, BONUS, FEE)


# --- (a) a small position (< $2,000 of collateral) at HF 0.97 -----------------------------
# 0.5 ETH at $2,000 ($1,000 of collateral) against $855: HF = 1,000 * 0.83 / 855 = 0.97076.
SMALL = (0.5, 855.0, 2_000.0)


@pytest.mark.parametrize("rule_set", V33_PLUS)
def test_small_position_closes_fully_from_v33(rule_set: str) -> None:
    r = _liquidate(*SMALL, math.inf, rule_set)
    assert r.health_factor_before == pytest.approx(830.0 / 855.0)
    assert r.close_factor == 1.0  # collateral $1,000 < MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
    assert r.debt_repaid == pytest.approx(855.0)
    assert r.collateral_seized == pytest.approx(855.0 / 2_000.0 * 1.05)  # 0.448875 ETH
    assert r.debt_left == 0.0
    assert r.health_factor_after == math.inf


def test_small_position_closes_half_in_v30() -> None:
    r = _liquidate(*SMALL, math.inf, "3.0")
    assert r.close_factor == 0.5  # HF 0.97 > 0.95, no dollar threshold in 3.0
    assert r.debt_repaid == pytest.approx(427.5)
    assert r.collateral_seized == pytest.approx(427.5 / 2_000.0 * 1.05)  # 0.2244375 ETH
    assert r.protocol_fee == pytest.approx(0.2244375 * (1 - 1 / 1.05) * 0.10)
    assert r.collateral_left == pytest.approx(0.2755625)
    assert r.debt_left == pytest.approx(427.5)
    assert r.health_factor_after == pytest.approx(0.2755625 * 2_000.0 * 0.83 / 427.5)


# --- (b) a partial call that would leave < $1,000 of debt ---------------------------------
# 10 ETH at $2,000 against $17,600: HF = 16,600 / 17,600 = 0.943 <= 0.95, so 100% may be
# covered; covering $17,000 would leave $600 of debt.
DUSTY = (10.0, 17_600.0, 2_000.0)


@pytest.mark.parametrize("rule_set", V33_PLUS)
@pytest.mark.parametrize("exact", [False, True])
def test_dust_reverts_from_v33(rule_set: str, exact: bool) -> None:
    with pytest.raises(ProtocolRevert) as info:
        _liquidate(*DUSTY, 17_000.0, rule_set, exact)
    assert info.value.rule == "MustNotLeaveDust"
    full = _liquidate(*DUSTY, math.inf, rule_set, exact)  # covering it all is allowed
    assert full.debt_repaid == pytest.approx(17_600.0)
    assert full.collateral_seized == pytest.approx(17_600.0 / 2_000.0 * 1.05)  # 9.24 ETH


@pytest.mark.parametrize("exact", [False, True])
def test_v30_leaves_dust(exact: bool) -> None:
    r = _liquidate(*DUSTY, 17_000.0, "3.0", exact)
    assert r.close_factor == 1.0
    assert r.debt_repaid == pytest.approx(17_000.0)
    assert r.collateral_seized == pytest.approx(8.925)  # 17,000 / 2,000 * 1.05
    assert r.debt_left == pytest.approx(600.0)
    assert r.collateral_left == pytest.approx(1.075)  # $2,150 of collateral
    assert r.health_factor_after == pytest.approx(1.075 * 2_000.0 * 0.83 / 600.0, rel=1e-9)


# --- (c) collateral exhausted ---------------------------------------------------------------
# 1 ETH at $2,000 against $2,000: HF 0.83. All the collateral buys 2,000 / 1.05 = $1,904.76
# of debt; $95.24 is left on an account with no collateral.
EMPTY = (1.0, 2_000.0, 2_000.0)
LEFT = 2_000.0 - 2_000.0 / 1.05


@pytest.mark.parametrize("rule_set", V33_PLUS)
@pytest.mark.parametrize("exact", [False, True])
def test_bad_debt_written_off_from_v33(rule_set: str, exact: bool) -> None:
    r = _liquidate(*EMPTY, math.inf, rule_set, exact)
    assert r.collateral_seized == 1.0
    assert r.debt_repaid == pytest.approx(2_000.0 / 1.05, rel=1e-9)
    assert r.bad_debt_usd == pytest.approx(LEFT, rel=1e-6)
    assert r.debt_left == 0.0
    assert r.health_factor_after == math.inf


@pytest.mark.parametrize("exact", [False, True])
def test_bad_debt_stays_owed_in_v30(exact: bool) -> None:
    r = _liquidate(*EMPTY, math.inf, "3.0", exact)
    assert r.collateral_seized == 1.0
    assert r.debt_repaid == pytest.approx(2_000.0 / 1.05, rel=1e-9)
    assert r.bad_debt_usd == 0.0
    assert r.debt_left == pytest.approx(LEFT, rel=1e-6)
    assert r.account_after.debt["USDC"] == pytest.approx(LEFT, rel=1e-6)
    assert r.health_factor_after == 0.0


# --- exact vs float, per rule set -----------------------------------------------------------
CASES = [
    (*SMALL, math.inf), (*DUSTY, math.inf), (*EMPTY, math.inf),
    (100.0, 170_000.0, 2_000.0, math.inf),  # 50% in every version
    (100.0, 170_000.0, 2_000.0, 30_000.0),
    (37.123456, 60_123.45, 1_987.65, math.inf),
    (3.3, 5_000.0, 1_800.0, 2_100.0),
]


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("case", CASES)
def test_exact_and_float_agree(rule_set: str, case: tuple[float, float, float, float]) -> None:
    c, d, p, cover = case
    try:
        f = _liquidate(c, d, p, cover, rule_set)
    except ProtocolRevert as revert:
        with pytest.raises(ProtocolRevert, match=revert.rule):
            _liquidate(c, d, p, cover, rule_set, exact=True)
        return
    e = _liquidate(c, d, p, cover, rule_set, exact=True)
    assert e.close_factor == f.close_factor
    for name in ("debt_repaid", "collateral_seized", "collateral_to_liquidator", "debt_left",
                 "bad_debt_usd", "collateral_left"):
        assert getattr(e, name) == pytest.approx(getattr(f, name), rel=1e-9, abs=1e-5), name
    assert e.health_factor_after == pytest.approx(f.health_factor_after, rel=1e-9)


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("case", CASES)
def test_protocol_object_and_array_kernel_match_the_float_path(
    rule_set: str, case: tuple[float, float, float, float]
) -> None:
    c, d, p, cover = case
    protocol = AaveV3(rule_set)  # type: ignore[arg-type]
    risk = protocol.risk_params("WETH")
    out = protocol.liquidate(c, d, p, risk, debt_to_cover_usd=cover)
    arrays = k.liquidation_call(protocol.kernel_rules(), [c], [d], p, LT, BONUS, FEE, cover)
    try:
        f = _liquidate(c, d, p, cover, rule_set)
    except ProtocolRevert as revert:
        assert not out.liquidated and out.status == revert.rule
        assert k.STATUS_TEXT[int(arrays.status[0])] == revert.rule
        return
    assert out.liquidated and arrays.status[0] == k.STATUS_LIQUIDATED
    assert out.debt_repaid_usd == pytest.approx(f.debt_repaid_usd, rel=1e-12)
    assert out.collateral_seized_eth == pytest.approx(f.collateral_seized, rel=1e-12)
    assert out.protocol_fee_eth == pytest.approx(f.protocol_fee, rel=1e-9)
    assert out.bad_debt_usd == pytest.approx(f.bad_debt_usd, rel=1e-9, abs=1e-9)
    assert out.debt_left_usd == pytest.approx(f.debt_left, rel=1e-9, abs=1e-9)
    assert out.health_factor_after == pytest.approx(f.health_factor_after, rel=1e-12)
    assert arrays.debt_repaid_usd[0] == out.debt_repaid_usd
    assert arrays.close_factor[0] == f.close_factor


def test_v33_and_v36_exact_health_factors_round_as_their_contracts() -> None:
    # 1.234567 ETH at $1,999.99 against 1,234.567891 USDC: prices in 8 decimals, amounts in
    # units. 3.3 (GenericLogic v3.3.0): wadDiv(percentMul(collateral, avgLT), debt), debt
    # floored; 3.6: wadDiv(collateral * LT, debt) / 1e4, debt ceiled (exact here: 6 decimals).
    account = Account({"WETH": 1.234567}, {"USDC": 1_234.567891})
    prices = Prices.from_eth(1_999.99)
    coll_base = 1_234_567 * 10**12 * 199_999_000_000 // 10**18
    debt_base = 1_234_567_891 * 100_000_000 // 10**6
    v33 = am.wad_div(am.percent_mul(coll_base, 8_300), debt_base)
    v36 = am.wad_div(coll_base * 8_300, debt_base) // 10_000
    got = {rs: account_data(account, prices, exact=True, rule_set=rs).health_factor_wad
           for rs in RULE_SETS}
    assert got == {"3.0": v33, "3.3": v33, "3.6": v36}


def test_rule_set_errors_name_the_field() -> None:
    with pytest.raises(InvalidArgument, match=r"rule_set='3\.5' is not known.*3\.6"):
        _liquidate(*SMALL, math.inf, "3.5")


# --- the protocol object and the registry ---------------------------------------------------
@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_aave_v3_is_a_lending_protocol(rule_set: str) -> None:
    protocol = get_protocol(f"aave-v{rule_set}")
    assert isinstance(protocol, LendingProtocol)
    assert isinstance(protocol, AaveV3) and protocol.rule_set == rule_set
    assert protocol.name == f"aave-v{rule_set}"


def test_kernel_rules_per_rule_set() -> None:
    assert get_protocol("aave-v3.6").kernel_rules() == LiquidationRules(
        0.5, 0.95, 2_000.0, 1_000.0, True)
    assert get_protocol("aave-v3.3").kernel_rules() == LiquidationRules(
        0.5, 0.95, 2_000.0, 1_000.0, True)
    assert get_protocol("aave-v3.0").kernel_rules() == LiquidationRules(
        0.5, 0.95, 0.0, 0.0, False)
    assert get_protocol().name == "aave-v3.6"


def test_registry_names_and_unknown_names() -> None:
    assert PROTOCOL_NAMES == ("aave-v3.0", "aave-v3.3", "aave-v3.6", "morpho-blue")
    assert get_protocol("morpho-blue").name == "morpho-blue"
    with pytest.raises(InvalidArgument, match=r"protocol='aave-v3\.5' is not known.*Did you"):
        get_protocol("aave-v3.5")
    with pytest.raises(InvalidArgument, match="rule_set"):
        AaveV3("3.1")  # type: ignore[arg-type]


def test_aave_v3_closed_forms() -> None:
    protocol = AaveV3()
    risk = protocol.risk_params()
    assert protocol.health_factor(100.0, 100_000.0, 2_000.0, risk) == pytest.approx(1.66)
    assert protocol.health_factor(100.0, 0.0, 2_000.0, risk) == math.inf
    assert protocol.liquidation_price_usd(100.0, 100_000.0, risk) == pytest.approx(
        100_000.0 / 83.0)
    # a withdrawal may take collateral down to HF 1: 100 - 100,000 / (2,000 * 0.83)
    assert protocol.max_withdraw_eth(100.0, 100_000.0, 2_000.0, risk) == pytest.approx(
        100.0 - 100_000.0 / 1_660.0)
    healthy = protocol.liquidate(100.0, 100_000.0, 2_000.0, risk)
    assert not healthy.liquidated and healthy.status == "HealthFactorNotBelowThreshold"
    # seize_eth is turned into the debt that seizes it: 1.05 ETH <- $2,000 at $2,000
    by_seize = protocol.liquidate(100.0, 170_000.0, 2_000.0, risk, seize_eth=1.05)
    assert by_seize.debt_repaid_usd == pytest.approx(2_000.0)
    assert by_seize.collateral_seized_eth == pytest.approx(1.05)


def test_aave_v3_accrual_follows_the_versions_compounding() -> None:
    # 3.6 (MathUtils v3.4+): 1 + x + x^2/2 + x^3/6; 3.0/3.3: the binomial expansion in the
    # per-second rate, which differs from it by O(x^2 / n).
    year = float(am.SECONDS_PER_YEAR)
    v36, v30 = AaveV3("3.6"), AaveV3("3.0")
    rate = v36.borrow_rate(0.9)
    x = rate
    assert v36.accrue_debt_usd(1e6, 0.9, year) == pytest.approx(
        1e6 * (1 + x + x * x / 2 + x ** 3 / 6), rel=1e-12)
    r, n = rate / year, year
    assert v30.accrue_debt_usd(1e6, 0.9, year) == pytest.approx(
        1e6 * (1 + r * n + n * (n - 1) / 2 * r * r + n * (n - 1) * (n - 2) / 6 * r ** 3),
        rel=1e-12)
    assert v30.borrow_rate(0.9) == rate


def test_array_kernel_takes_the_rule_set() -> None:
    # The small position of (a) on one array call per rule set: 3.0 closes half, 3.3+ all.
    c, d, p = np.array([SMALL[0]]), np.array([SMALL[1]]), SMALL[2]
    v30 = k.liquidation_call(AaveV3("3.0").kernel_rules(), c, d, p, LT, BONUS, FEE)
    v36 = k.liquidation_call(AaveV3("3.6").kernel_rules(), c, d, p, LT, BONUS, FEE)
    assert (v30.close_factor[0], v36.close_factor[0]) == (0.5, 1.0)
    assert v30.debt_repaid_usd[0] == pytest.approx(427.5)
    assert v36.debt_repaid_usd[0] == pytest.approx(855.0)


def test_v33_and_v36_round_the_debt_a_capped_seizure_repays() -> None:
    # 1.003 ETH at $2,000 against $2,006 (HF 0.83): all the collateral goes. The debt it buys,
    # 2,006,000,000 USDC units / 1.05, is 1,910,476,190.48: v3.3 rounds it half up
    # (percentDiv, LiquidationLogic.sol v3.3.0 line 658), v3.6 up (percentDivCeil, line 589).
    needed_units = 2_006_000_000
    v33 = _liquidate(1.003, 2_006.0, 2_000.0, math.inf, "3.3", exact=True)
    v36 = _liquidate(1.003, 2_006.0, 2_000.0, math.inf, "3.6", exact=True)
    assert v33.debt_repaid_units == am.percent_div(needed_units, 10_500) == 1_910_476_190
    assert v36.debt_repaid_units == am.percent_div_ceil(needed_units, 10_500) == 1_910_476_191
    assert v33.collateral_seized == v36.collateral_seized == 1.003


def test_v30_halves_the_reserve_debt_v33_half_the_total_in_base_currency() -> None:
    # 10 ETH at $2,000 against 17,000.000001 USDC (HF 0.976): both close 50%, computed apart.
    # 3.0 (aave-v3-core LiquidationLogic.sol line 379): percentMul(17,000,000,001 units, 50%)
    # rounds half up to 8,500,000,001. 3.3+: percentMul($17,000.000001 in 8 decimals, 50%) =
    # 850,000,000,050, back to units * 1e6 / 1e8 (floor) = 8,500,000,000.
    units = {rs: _liquidate(10.0, 17_000.000001, 2_000.0, math.inf, rs, exact=True)
             .debt_repaid_units for rs in RULE_SETS}
    assert units == {"3.0": 8_500_000_001, "3.3": 8_500_000_000, "3.6": 8_500_000_000}
