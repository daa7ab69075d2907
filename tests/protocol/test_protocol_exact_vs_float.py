"""The float64 implementation against the contract's integer arithmetic (``exact=True``).

Over 1,000 generated accounts (one to three collateral assets, one or two debts, e-mode
sometimes), health factors agree within 1e-9 relative and every liquidation amount within
1e-9 relative or a few of the smallest token units (1e-6 USDC moves everything derived from
it). Accounts that sit within 1e-7 of a threshold (HF 1 or 0.95, $2,000, $1,000 left, the
collateral cap) are skipped here: there a rounding can send the two implementations down
different branches. Those edges are tested one by one in test_protocol_account.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from delever.errors import ProtocolRevert
from delever.protocol import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    Account,
    LiquidationResult,
    Prices,
    account_data,
    liquidation_call,
)

EDGE = 1e-7
REL = 1e-9
UNITS = 3  # smallest units of slack for amounts derived through integer divisions


@dataclass(frozen=True)
class Case:
    account: Account
    prices: Prices
    collateral: str
    debt: str
    cover: float


@st.composite
def cases(draw: st.DrawFn) -> Case:
    emode = draw(st.integers(0, 4)) == 0
    eth = draw(st.integers(50_000, 500_000)) / 100  # $500.00 .. $5,000.00
    prices = Prices.from_eth(eth)
    eth_assets = ["WETH", "wstETH", "weETH"]
    pool = eth_assets if emode else [*eth_assets, "USDC"]
    coll_syms = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    collateral = {s: draw(st.integers(10 * 10**4, 10**10)) / 10**4 for s in coll_syms}
    if emode:
        debt_syms = ["WETH"]
    else:
        stables = [s for s in ("USDC", "USDT") if s not in coll_syms]
        debt_syms = draw(st.lists(st.sampled_from(stables), min_size=1, max_size=2,
                                  unique=True))
    account = Account(collateral, {s: 1.0 for s in debt_syms}, emode=emode)
    lt_value = account_data(account, prices).health_factor  # = sum(c p LT) with $1 of debt...
    lt_value *= account_data(account, prices).total_debt_usd
    hf = draw(st.floats(0.3, 1.3))
    weights = [draw(st.floats(0.2, 1.0)) for _ in debt_syms]
    total_usd = lt_value / hf
    debt = {
        s: round(total_usd * w / sum(weights) / prices.usd[s], 6)
        for s, w in zip(debt_syms, weights, strict=True)
    }
    account = Account(collateral, debt, emode=emode)
    coll = draw(st.sampled_from(coll_syms))
    owed = draw(st.sampled_from(debt_syms))
    fraction = draw(st.one_of(st.just(math.inf), st.floats(0.05, 1.3)))
    cover = math.inf if math.isinf(fraction) else round(fraction * debt[owed], 6)
    return Case(account, prices, coll, owed, cover)


def _edge_distance(case: Case) -> float:
    """Smallest relative distance of the float path to a branch threshold."""
    acc, prices = case.account, case.prices
    data = account_data(acc, prices)
    hf = data.health_factor
    gaps = [abs(hf - 1.0), abs(hf - 0.95)]
    if hf >= 1.0:
        return min(gaps)
    coll_bal, debt_bal = acc.collateral[case.collateral], acc.debt[case.debt]
    pc, pd = prices.usd[case.collateral], prices.usd[case.debt]
    in_emode = acc.emode and case.collateral in ETH_CORRELATED_EMODE.collateral_symbols
    bonus = (ETH_CORRELATED_EMODE if in_emode else RESERVES[case.collateral]).liquidation_bonus
    coll_usd, debt_usd = coll_bal * pc, debt_bal * pd
    gaps += [abs(coll_usd / 2_000 - 1), abs(debt_usd / 2_000 - 1)]
    half = data.total_debt_usd * 0.5
    max_debt = debt_bal
    if coll_usd >= 2_000 and debt_usd >= 2_000 and hf > 0.95:
        gaps.append(abs(debt_usd / half - 1))
        if debt_usd > half:
            max_debt = half / pd
    if math.isfinite(case.cover):
        gaps.append(abs(case.cover / max_debt - 1))
    actual = min(case.cover, max_debt)
    max_coll = actual * pd / pc * (1 + bonus)
    gaps.append(abs(max_coll / coll_bal - 1))
    if max_coll > coll_bal:
        seized, actual = coll_bal, coll_bal * pc / pd / (1 + bonus)
    else:
        seized = max_coll
    if actual != debt_bal:
        gaps.append(abs(actual / debt_bal - 1))
    if actual < debt_bal and seized < coll_bal:
        gaps += [abs((debt_bal - actual) * pd / 1_000 - 1),
                 abs((coll_bal - seized) * pc / 1_000 - 1)]
    return min(gaps)


def _run(case: Case, exact: bool) -> LiquidationResult | str:
    try:
        return liquidation_call(case.account, case.prices, collateral_symbol=case.collateral,
                                debt_symbol=case.debt, debt_to_cover=case.cover, exact=exact)
    except ProtocolRevert as revert:
        return revert.rule


def _slack_usd(case: Case) -> float:
    """USD value of a few smallest units of the two tokens and of the 8-decimal base."""
    units = [10.0 ** -RESERVES[s].decimals * case.prices.usd[s]
             for s in (case.collateral, case.debt)]
    return UNITS * max([*units, 1e-8])


def _close(exact: float, approx: float, abs_tol: float = 0.0) -> bool:
    if exact == approx:  # inf == inf
        return True
    return math.isclose(exact, approx, rel_tol=REL, abs_tol=abs_tol)


@settings(max_examples=1_000, deadline=None)
@given(case=cases())
def test_exact_and_float_agree(case: Case) -> None:
    f_data = account_data(case.account, case.prices)
    e_data = account_data(case.account, case.prices, exact=True)
    assert _close(e_data.health_factor, f_data.health_factor)
    assert _close(e_data.total_collateral_usd, f_data.total_collateral_usd)
    assert _close(e_data.total_debt_usd, f_data.total_debt_usd)
    assert e_data.health_factor_wad is not None

    assume(_edge_distance(case) > EDGE)
    f_res, e_res = _run(case, exact=False), _run(case, exact=True)
    if isinstance(f_res, str) or isinstance(e_res, str):
        assert f_res == e_res
        return
    usd = _slack_usd(case)
    pc, pd = case.prices.usd[case.collateral], case.prices.usd[case.debt]
    coll_tol, debt_tol = usd / pc, usd / pd
    assert e_res.close_factor == f_res.close_factor
    assert _close(e_res.debt_repaid, f_res.debt_repaid, debt_tol)
    assert _close(e_res.debt_repaid_usd, f_res.debt_repaid_usd, usd)
    assert _close(e_res.collateral_seized, f_res.collateral_seized, coll_tol)
    assert _close(e_res.collateral_to_liquidator, f_res.collateral_to_liquidator, coll_tol)
    assert _close(e_res.protocol_fee, f_res.protocol_fee, coll_tol)
    assert _close(e_res.collateral_left, f_res.collateral_left, coll_tol)
    assert _close(e_res.debt_left, f_res.debt_left, debt_tol)
    assert _close(e_res.bad_debt_usd, f_res.bad_debt_usd, usd)
    assert set(e_res.bad_debt) == set(f_res.bad_debt)
    assert _close(e_res.health_factor_before, f_res.health_factor_before)
    after = account_data(f_res.account_after, case.prices)
    hf_tol = REL + usd / max(after.total_debt_usd, 1e-300) + usd / max(
        after.total_collateral_usd, 1e-300)
    assert e_res.health_factor_after == f_res.health_factor_after or math.isclose(
        e_res.health_factor_after, f_res.health_factor_after, rel_tol=hf_tol)


# --- the edges, one by one ------------------------------------------------------------------
def test_rounding_can_flip_hf_near_one() -> None:
    # Debt chosen so the float HF is 1 - 1e-15: exact mode (wadDiv, then // 1e4) may read
    # exactly 1e18 and refuse the liquidation, or agree; both must report HF within 1e-12.
    prices = Prices.from_eth(2_000.0)
    account = Account({"WETH": 100.0}, {"USDC": 166_000.0 * (1 + 1e-15)})
    f = account_data(account, prices)
    e = account_data(account, prices, exact=True)
    assert f.health_factor == pytest.approx(e.health_factor, rel=1e-12)
    # 166,000 USDC has 6 decimals: the exact HF is exactly 1e18 -> not liquidatable.
    assert e.health_factor_wad == 10**18
    with pytest.raises(ProtocolRevert, match="HealthFactorNotBelowThreshold"):
        liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                         debt_to_cover=math.inf, exact=True)


def test_leftover_exactly_1000_is_allowed_in_both() -> None:
    # 10 WETH ($20,000) vs 19,500 USDC (HF 0.851, 100%): covering 18,500 leaves exactly
    # $1,000 of debt and 10 - 9.7125 = 0.2875 WETH = $575 -> reverts on the collateral side;
    # covering 18,000 leaves $1,500 debt and 0.55 WETH = $1,100 -> allowed. With 19,000
    # USDC of debt, covering 18,000 leaves exactly $1,000 of debt: allowed (>=).
    prices = Prices.from_eth(2_000.0)
    for exact in (False, True):
        r = liquidation_call(Account({"WETH": 10.0}, {"USDC": 19_000.0}), prices,
                             collateral_symbol="WETH", debt_symbol="USDC",
                             debt_to_cover=18_000.0, exact=exact)
        assert r.debt_left == pytest.approx(1_000.0, rel=1e-12)


def test_collateral_exactly_used_up_by_the_cover_is_a_knife_edge() -> None:
    # 10 WETH at $2,100 = $21,000 vs 20,500 USDC; covering 20,000 USDC needs
    # 20,000 / 2,100 * 1.05 = 10 WETH exactly. Float: all 10 WETH go, no collateral is left
    # and the other 500 USDC are written off. Exact: the base collateral floors to
    # 9,523,809,523,809,523,809 wei; percentMul(., 10500) = (.. * 10500 + 5000) // 10000
    # = 9,999,999,999,999,999,999 wei: one wei stays, so the partial liquidation would leave
    # $500 of debt and ~$0 of collateral -> MustNotLeaveDust.
    prices = Prices.from_eth(2_100.0)
    account = Account({"WETH": 10.0}, {"USDC": 20_500.0})
    f = liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                         debt_to_cover=20_000.0)
    assert f.collateral_seized == 10.0
    assert f.bad_debt_usd == pytest.approx(500.0, rel=1e-12)
    with pytest.raises(ProtocolRevert, match="MustNotLeaveDust"):
        liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                         debt_to_cover=20_000.0, exact=True)
    # Covering "as much as allowed" hits the collateral cap instead: both take all 10 WETH.
    for exact in (False, True):
        r = liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                             debt_to_cover=math.inf, exact=exact)
        assert r.collateral_seized == 10.0
        assert r.bad_debt_usd == pytest.approx(20_500 - 21_000 / 1.05, rel=1e-9)
