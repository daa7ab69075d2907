"""delever's exact ``liquidation_call`` vs ``Pool.liquidationCall`` of Aave's own v3.0 bytecode.

Source compared: ``@aave/core-v3@1.19.3`` ``contracts/protocol/libraries/logic/
LiquidationLogic.sol`` (v3.0.1) and the token math it calls. Line numbers below are that file's.

The scenario, inside one ``snapshot``/``revert`` (the session market stays as generated):

1. The deployer borrows 80% of the WETH and wstETH liquidity, then a year of interest
   (``time_travel``), so the liquidity and variable-borrow indexes are clearly above 1 ray
   and the scaled-balance rounding of the tokens is exercised.
2. Fresh accounts (seeded addresses, not the session's) are built at the current prices with
   one debt and one or two collaterals, in ETH e-mode or not, sized so that after the price
   move of step 3 each sits at a chosen HF: in (0.95, 1) (50% close factor, line 375) or
   <= 0.95 (100%). "cap" variants hold little of the liquidated collateral so that it runs out
   before the debt covered (line 500: the debt covered is cut back, lines 502-503).
3. WETH falls to 75% and wstETH to 55% of their prices (test prices, not market data).
4. Every account, its e-mode, balances and HF are read at one block B (timestamp T); delever's
   ``liquidation_call(..., exact=True, rule_set="3.0")`` is given those exact balances and
   prices. The liquidations are then mined in blocks pinned to the same timestamp T
   (``evm_setNextBlockTimestamp``), so the chain sees exactly the indexes and balances read at B
   (``updateState`` over 0 seconds multiplies the indexes by exactly 1 ray). Each block holds
   at most one liquidation per collateral asset, so the treasury's aToken balance change of
   that block is one liquidation's protocol fee. Each liquidation has its own liquidator.

Compared for every case:

- the debt the liquidator paid (its debt-token wallet change: an ERC20 transfer of exactly
  ``actualDebtToLiquidate``, line 221) == ``debt_repaid_units``, to the wei;
- with ``receiveAToken=false``: the underlying the liquidator got (``AToken.burn`` sends
  exactly ``actualCollateralToLiquidate``, line 266) == ``collateral_to_liquidator_units``;
- the scaled-balance results: the borrower's variable debt after, its aToken balance after,
  the liquidator's aTokens (``receiveAToken=true``) and the treasury's aToken change. The
  tokens keep *scaled* balances: a burn or transfer of ``amount`` moves ``amount.rayDiv(index)``
  scaled units (ScaledBalanceTokenBase.sol lines 72, 100, 142) and ``balanceOf`` is
  ``scaled.rayMul(index)`` (AToken.sol 131, VariableDebtToken.sol 87); both round half up, so
  the balance changes can differ from the nominal amount by 1 wei (|error| <= 1/2 scaled unit
  * index/ray + 1/2 + 1/2 < 2 for index < 2 ray, so at most 1 wei). delever does not model
  scaled balances (it subtracts the nominal amounts). The test computes what the tokens must
  show from delever's nominal amounts with that Solidity math (scaled balances and indexes read
  at B) and requires the chain to equal it exactly, and the chain to be within 1 wei of
  delever's plain subtraction. Lines 203-212 also cap the fee at the borrower's remaining
  scaled balance ("due to 1 wei imprecision"); the model applies that cap too.
- the HF after (``getUserAccountData`` at the liquidation's block) == delever's
  ``account_data(exact=True, rule_set="3.0")`` of the chain's balances after, to the wei;
  and == ``health_factor_after_wad`` of the liquidation wherever the balances after match.
- the close factor delever reports (0.5 iff the HF read at B is > 0.95e18).

Result (240 cases: 5 pairs x 48; 120 at the 50% close factor, 120 at 100%; 80 each of
debtToCover below the maximum, above it and ``type(uint256).max``; 120 each of receiveAToken
true / false; about 150 hit the collateral cap; every one pays a protocol fee): no delever
bug. delever's nominal amounts (``actualDebtToLiquidate``, ``actualCollateralToLiquidate``,
the fee) equal the chain's in every case, and every balance equals the scaled-balance model
of them exactly. The only differences from delever's plain subtraction are the 1-wei
scaled-balance effects above (in roughly 140 of 240 cases, in the treasury's fee, the
borrower's collateral or debt after; rarely in the liquidator's aTokens, which start at 0:
with liquidity indexes about 1.014 / 1.008 ray a round trip rayDiv-rayMul seldom moves a
wei), and, where
such a wei moves a balance, the HF after (about 40 cases, by far less than 1e-6 relative).
When all the collateral is seized the chain can leave 1 wei of aToken (scaled rounding) with
the asset no longer used as collateral (lines 171-177: ``actualCollateralToLiquidate + fee ==
userCollateralBalance``), where delever shows 0; it does not count in the HF either way. The
fee cap of lines 203-212 is modelled but was not hit. The exact counts vary a little from run
to run (the indexes depend on the wall-clock timestamps of the session's blocks); the test
prints them.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from delever.protocol.account import (
    Account,
    LiquidationResult,
    Prices,
    account_data,
    liquidation_call,
    to_units,
)
from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES

from .localnet import Market

RAY = 10**27
UINT256_MAX = 2**256 - 1
HF_50_PCT = 95 * 10**16  # LiquidationLogic.sol line 68: CLOSE_FACTOR_HF_THRESHOLD = 0.95e18
CASE_SEED = 31_000_001
# the prices at liquidation time, as a share of the build-time prices (test moves, not data)
PRICE_MOVE = {"WETH": (75, 100), "wstETH": (55, 100)}
# (collateral, debt, e-mode, the other collateral, share of the liquidated collateral in the
# account's collateral value for variant "base" and variant "cap")
PAIRS: tuple[tuple[str, str, bool, str, tuple[float, float]], ...] = (
    ("WETH", "USDC", False, "wstETH", (1.0, 0.3)),
    ("WETH", "USDT", False, "wstETH", (1.0, 0.3)),
    ("wstETH", "USDC", False, "WETH", (1.0, 0.3)),
    # WETH/WETH: the same price on both sides; the wstETH collateral's fall makes the HF < 1
    ("WETH", "WETH", True, "wstETH", (0.3, 0.1)),
    ("wstETH", "WETH", True, "WETH", (1.0, 0.5)),
)
REPEATS = 2  # seeded variants of each (pair, region, cover, receiveAToken, share) cell


def ray_mul(a: int, b: int) -> int:
    """WadRayMath.rayMul: half up."""
    return (a * b + RAY // 2) // RAY


def ray_div(a: int, b: int) -> int:
    """WadRayMath.rayDiv: half up."""
    return (a * RAY + b // 2) // b


@dataclass(frozen=True)
class Case:
    """One planned liquidation."""

    user: str
    liquidator: str
    collateral: str
    debt: str
    emode: bool
    region: str  # "half" (HF in (0.95, 1)) or "full" (HF <= 0.95)
    cover_kind: str  # "below" the maximum, "above" it, or "uint_max"
    receive_a_token: bool
    supplied_units: Mapping[str, int]
    borrowed_units: int


def _address(tag: str, i: int) -> str:
    return to_checksum_address(keccak(f"delever-liq:{CASE_SEED}:{tag}:{i}".encode())[12:])


def _lt_ltv_bps(symbol: str, emode: bool) -> tuple[int, int]:
    e = ETH_CORRELATED_EMODE
    if emode and symbol in e.collateral_symbols:
        return e.liquidation_threshold_bps, e.ltv_bps
    r = RESERVES[symbol]
    return r.liquidation_threshold_bps, r.ltv_bps


def _plan_case(rng: random.Random, i: int, cell: tuple[Any, ...], p0: Mapping[str, int],
               p1: Mapping[str, int]) -> Case:
    (coll, debt, emode, other, share), region, cover_kind, receive = cell
    total_usd = 10 ** rng.uniform(3.5, 6.0)
    usd = {coll: total_usd * share}
    if share < 1.0:
        usd[other] = total_usd * (1.0 - share)
    units: dict[str, int] = {}
    for s, v in usd.items():
        unit = RESERVES[s].unit
        units[s] = int(v * 10**8 * unit // p0[s]) + rng.randrange(unit // 1000)
    weighted_p1 = sum(u * p1[s] * _lt_ltv_bps(s, emode)[0] / RESERVES[s].unit / 10_000
                      for s, u in units.items())
    capacity_p0 = sum(u * p0[s] * _lt_ltv_bps(s, emode)[1] / RESERVES[s].unit / 10_000
                      for s, u in units.items())
    # the lowest HF at the new prices that was borrowable (LTV) at the old ones, 0.5% margin
    h_min = weighted_p1 / (capacity_p0 * 0.995 / p0[debt] * p1[debt])
    lo, hi = (0.96, 0.995) if region == "half" else (0.5, 0.94)
    lo = max(lo, h_min + 0.005)
    assert lo < hi, f"case {i} {cell}: no feasible HF (h_min {h_min:.3f})"
    h = rng.uniform(lo, hi)
    debt_units = int(weighted_p1 / h / p1[debt] * RESERVES[debt].unit)
    return Case(_address("user", i), _address("liquidator", i), coll, debt, emode, region,
                cover_kind, receive, units, debt_units)


def _plan_cases(p0: Mapping[str, int], p1: Mapping[str, int]) -> list[Case]:
    rng = random.Random(CASE_SEED)
    cells = [((*pair[:4], share), region, cover, receive)
             for pair in PAIRS for share in pair[4] for region in ("half", "full")
             for cover in ("below", "above", "uint_max") for receive in (False, True)
             for _ in range(REPEATS)]
    return [_plan_case(rng, i, cell, p0, p1) for i, cell in enumerate(cells)]


def _build(market: Market, cases: Sequence[Case]) -> None:
    """Supply (on behalf, from the deployer's stock), fund the liquidators, e-mode, approve,
    borrow: three blocks."""
    pool, me, addr = market.pool, market.deployer, market.pool.address
    tok = market.tokens
    market.send_many(
        [(me, addr, market.calldata(pool, "supply", tok[s].underlying, u, c.user, 0))
         for c in cases for s, u in c.supplied_units.items()]
        + [(me, tok[c.debt].underlying, market.calldata(
            market.erc20(c.debt), "mint", c.liquidator, 3 * c.borrowed_units)) for c in cases])
    market.send_many(
        [(c.user, addr, market.calldata(pool, "setUserEMode", 1)) for c in cases if c.emode]
        + [(c.liquidator, tok[c.debt].underlying, market.calldata(
            market.erc20(c.debt), "approve", addr, UINT256_MAX)) for c in cases])
    market.send_many([(c.user, addr, market.calldata(
        pool, "borrow", tok[c.debt].underlying, c.borrowed_units, 2, 0, c.user))
        for c in cases])


class _Reader:
    """Batched ``eth_call``s of uint256 getters at chosen blocks."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.calls: list[tuple[str, list[Any]]] = []
        self.words: list[int] = []

    def add(self, contract: Any, fn: str, args: Sequence[Any], block: int, words: int = 1) -> int:
        self.calls.append(("eth_call", [{"to": contract.address, "data": self.market.calldata(
            contract, fn, *args)}, hex(block)]))
        self.words.append(words)
        return len(self.calls) - 1

    def run(self) -> list[tuple[int, ...]]:
        raw = self.market.rpc_batch(self.calls)
        return [tuple(int(x) for x in abi_decode(["uint256"] * w, bytes.fromhex(r[2:])))
                for r, w in zip(raw, self.words, strict=True)]


@dataclass(frozen=True)
class Before:
    """What block B says about one case."""

    coll_units: Mapping[str, int]
    debt_units: Mapping[str, int]
    emode: int
    hf_wad: int
    user_a_scaled: int  # the user's scaled aToken balance of the liquidated collateral
    user_d_scaled: int
    income_index: int  # getReserveNormalizedIncome(collateral) at T
    debt_index: int  # getReserveNormalizedVariableDebt(debt) at T


def _read_before(market: Market, cases: Sequence[Case], block: int) -> list[Before]:
    snaps = market.read_accounts([c.user for c in cases], block)
    r = _Reader(market)
    idx = []
    for c in cases:
        t_c, t_d = market.tokens[c.collateral], market.tokens[c.debt]
        idx.append((
            r.add(market.contract("AToken", t_c.a_token), "scaledBalanceOf", [c.user], block),
            r.add(market.contract("VariableDebtToken", t_d.variable_debt_token),
                  "scaledBalanceOf", [c.user], block),
            r.add(market.pool, "getReserveNormalizedIncome", [t_c.underlying], block),
            r.add(market.pool, "getReserveNormalizedVariableDebt", [t_d.underlying], block)))
    got = r.run()
    return [Before(s.collateral_units, s.debt_units, s.emode_category,
                   s.account_data.health_factor, *(got[j][0] for j in ids))
            for s, ids in zip(snaps, idx, strict=True)]


def _cover(rng: random.Random, c: Case, b: Before) -> tuple[float, int]:
    """(delever's debt_to_cover, the chain's debtToCover): the same integer."""
    if c.cover_kind == "uint_max":
        return math.inf, UINT256_MAX
    debt = b.debt_units[c.debt]
    max_units = debt // 2 if b.hf_wad > HF_50_PCT else debt  # only to aim below / above
    share = rng.uniform(0.2, 0.9) if c.cover_kind == "below" else rng.uniform(1.05, 2.0)
    dec = RESERVES[c.debt].decimals
    tokens = round(max_units * share / 10**dec, min(dec, 6))  # round-trips through to_units
    return tokens, to_units(tokens, dec)


def _delever(c: Case, b: Before, prices: Prices, cover: float) -> LiquidationResult:
    account = _account(b.coll_units, b.debt_units, b.emode)
    return liquidation_call(account, prices, collateral_symbol=c.collateral,
                            debt_symbol=c.debt, debt_to_cover=cover, exact=True,
                            rule_set="3.0", emode_category=ETH_CORRELATED_EMODE)


def _account(coll: Mapping[str, int], debt: Mapping[str, int], emode: int) -> Account:
    coll = {s: u for s, u in coll.items() if u}
    debt = {s: u for s, u in debt.items() if u}
    return Account(collateral={s: u / RESERVES[s].unit for s, u in coll.items()},
                   debt={s: u / RESERVES[s].unit for s, u in debt.items()},
                   emode=emode == ETH_CORRELATED_EMODE.category_id,
                   collateral_units=coll, debt_units=debt)


def _blocks(cases: Sequence[Case]) -> list[list[int]]:
    """Case indexes per block: at most one liquidation per collateral asset in a block."""
    by_coll: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        by_coll.setdefault(c.collateral, []).append(i)
    n = max(len(v) for v in by_coll.values())
    return [[v[k] for v in by_coll.values() if k < len(v)] for k in range(n)]


def _liquidate(market: Market, cases: Sequence[Case], covers: Sequence[int],
               timestamp: int) -> dict[int, int]:
    """Mine the liquidations, every block at ``timestamp``; case index -> its block."""
    pool, tok = market.pool, market.tokens
    block_of: dict[int, int] = {}
    for group in _blocks(cases):
        market.rpc_batch([("evm_setNextBlockTimestamp", [timestamp])])
        market.send_many([(cases[i].liquidator, pool.address, market.calldata(
            pool, "liquidationCall", tok[cases[i].collateral].underlying,
            tok[cases[i].debt].underlying, cases[i].user, covers[i],
            cases[i].receive_a_token)) for i in group])
        block = int(market.w3.eth.block_number)
        for i in group:
            block_of[i] = block
    return block_of


@dataclass(frozen=True)
class After:
    """What the chain says after one case's block (and the treasury just before it)."""

    liq_debt_paid: int  # the liquidator's debt-token wallet decrease (net of any collateral
    # received in the same token)
    liq_underlying: int
    liq_a_tokens: int
    treasury_change: int
    treasury_scaled_before: int
    user_coll_after: int
    user_debt_after: int
    hf_after: int
    timestamp_ok: bool


def _read_after(market: Market, cases: Sequence[Case], block_of: Mapping[int, int],
                timestamp: int) -> tuple[list[After], dict[str, dict[str, int]]]:
    r = _Reader(market)
    ids = []
    for i, c in enumerate(cases):
        k, t_c = block_of[i], market.tokens[c.collateral]
        a_tok = market.contract("AToken", t_c.a_token)
        ids.append((
            r.add(market.erc20(c.debt), "balanceOf", [c.liquidator], k),
            r.add(market.erc20(c.collateral), "balanceOf", [c.liquidator], k),
            r.add(a_tok, "balanceOf", [c.liquidator], k),
            r.add(a_tok, "balanceOf", [market.deployer], k),  # the treasury (initReserves)
            r.add(a_tok, "balanceOf", [market.deployer], k - 1),
            r.add(a_tok, "scaledBalanceOf", [market.deployer], k - 1),
            r.add(market.pool, "getUserAccountData", [c.user], k, 6)))
    got = r.run()
    snaps: dict[int, Any] = {}
    stamps: dict[int, int] = {}
    for k in sorted(set(block_of.values())):
        group = [i for i in block_of if block_of[i] == k]
        for i, snap in zip(group, market.read_accounts([cases[i].user for i in group], k),
                           strict=True):
            snaps[i] = snap
        stamps[k] = int(market.w3.eth.get_block(k)["timestamp"])
    out = []
    for i, c in enumerate(cases):
        g = [got[j] for j in ids[i]]
        s = snaps[i]
        ts = stamps[block_of[i]]
        out.append(After(3 * c.borrowed_units - g[0][0], g[1][0], g[2][0], g[3][0] - g[4][0],
                         g[5][0], s.collateral_units.get(c.collateral, 0),
                         s.debt_units.get(c.debt, 0), g[6][5], ts == timestamp))
    balances = {c.user: {**{f"c:{k}": v for k, v in snaps[i].collateral_units.items()},
                         **{f"d:{k}": v for k, v in snaps[i].debt_units.items()}}
                for i, c in enumerate(cases)}
    return out, balances


def _scaled_model(b: Before, res: LiquidationResult,
                  treasury_scaled: int) -> tuple[int, int, int, int]:
    """What the tokens must show for delever's nominal amounts (LiquidationLogic.sol lines
    203-212, 266, 294; ScaledBalanceTokenBase.sol 72, 100, 142): (liquidator's aTokens when
    received, treasury's aToken change, user's collateral after, user's debt after)."""
    assert res.collateral_to_liquidator_units is not None
    assert res.protocol_fee_units is not None and res.debt_repaid_units is not None
    ci, di = b.income_index, b.debt_index
    to_liq_scaled = ray_div(res.collateral_to_liquidator_units, ci)
    user_scaled = b.user_a_scaled - to_liq_scaled
    fee = res.protocol_fee_units
    if fee and ray_div(fee, ci) > user_scaled:  # lines 208-211
        fee = ray_mul(user_scaled, ci)
    fee_scaled = ray_div(fee, ci) if fee else 0
    treasury = ray_mul(treasury_scaled + fee_scaled, ci) - ray_mul(treasury_scaled, ci)
    coll_after = ray_mul(user_scaled - fee_scaled, ci)
    debt_after = ray_mul(b.user_d_scaled - ray_div(res.debt_repaid_units, di), di)
    return ray_mul(to_liq_scaled, ci), treasury, coll_after, debt_after


@pytest.fixture()
def reverting(aave_market: Market) -> Iterator[Market]:
    snap = aave_market.snapshot()
    yield aave_market
    aave_market.revert(snap)


def _raise_utilisation(market: Market) -> None:
    """The deployer borrows 80% of the WETH and wstETH liquidity (against its $10bn supplies
    of each reserve), so a year of interest takes the collateral reserves' liquidity indexes
    clearly above 1 ray (the scaled-balance rounding then shows in every token)."""
    pool, me = market.pool, market.deployer
    txs = []
    for s in ("WETH", "wstETH"):
        t = market.tokens[s]
        cash = int(market.erc20(s).functions.balanceOf(t.a_token).call())
        txs.append((me, pool.address, market.calldata(pool, "borrow", t.underlying,
                                                      cash * 8 // 10, 2, 0, me)))
    market.send_many(txs)


def _setup(market: Market) -> tuple[list[Case], int, int, Prices]:
    """Build the accounts, move the prices; (cases, block B, its timestamp, prices at B)."""
    _raise_utilisation(market)
    market.time_travel(365 * 24 * 3600)
    p0 = {s: market.price_base(s) for s in market.tokens}
    p1 = {s: p0[s] * PRICE_MOVE[s][0] // PRICE_MOVE[s][1] if s in PRICE_MOVE else p0[s]
          for s in p0}
    cases = _plan_cases(p0, p1)
    _build(market, cases)
    for s in PRICE_MOVE:
        market.set_price(s, Decimal(p1[s]) / 10**8)
    block = int(market.w3.eth.block_number)
    timestamp = int(market.w3.eth.get_block(block)["timestamp"])
    prices = Prices(usd={s: market.price_base(s, block) / 10**8 for s in market.tokens})
    assert {s: market.price_base(s, block) for s in p1} == p1
    return cases, block, timestamp, prices


def test_liquidation_call_matches_chain(reverting: Market) -> None:
    market = reverting
    t0 = time.monotonic()
    cases, block, timestamp, prices = _setup(market)
    before = _read_before(market, cases, block)
    rng = random.Random(CASE_SEED + 1)
    covers = [_cover(rng, c, b) for c, b in zip(cases, before, strict=True)]
    results = [_delever(c, b, prices, cv[0]) for c, b, cv in zip(cases, before, covers,
                                                                    strict=True)]
    block_of = _liquidate(market, cases, [cv[1] for cv in covers], timestamp)
    after, balances_after = _read_after(market, cases, block_of, timestamp)
    report = _compare(cases, before, results, after, balances_after, prices)  # asserts
    assert len(cases) >= 200 and len(after) == len(cases)
    indexes = sorted({(c.collateral, b.income_index) for c, b in zip(cases, before,
                                                                     strict=True)})
    print(f"\n{len(cases)} liquidations, {len(set(block_of.values()))} blocks, "
          f"{time.monotonic() - t0:.1f} s; liquidity indexes {indexes}; {report}")


def _compare(cases: Sequence[Case], before: Sequence[Before],
             results: Sequence[LiquidationResult], after: Sequence[After],
             balances_after: Mapping[str, Mapping[str, int]], prices: Prices) -> str:
    counts: dict[str, int] = {}
    exact_mismatch: list[str] = []

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    for c, b, res, a in zip(cases, before, results, after, strict=True):
        tag = f"{c.user} {c.collateral}/{c.debt} {c.region} {c.cover_kind} rcv={c.receive_a_token}"
        assert a.timestamp_ok, tag
        assert b.emode == (1 if c.emode else 0), tag
        assert (b.hf_wad > HF_50_PCT) == (c.region == "half") and b.hf_wad < 10**18, tag
        assert res.health_factor_before_wad == b.hf_wad, tag
        assert res.close_factor == (0.5 if c.region == "half" else 1.0), tag
        assert res.collateral_to_liquidator_units is not None
        assert res.protocol_fee_units is not None and res.debt_repaid_units is not None
        received = 0 if c.receive_a_token else res.collateral_to_liquidator_units
        if c.debt == c.collateral:
            # one wallet token pays the debt and receives the collateral: compare the net
            assert -a.liq_debt_paid == received - res.debt_repaid_units, f"{tag}: net wallet"
        else:
            assert a.liq_debt_paid == res.debt_repaid_units, f"{tag}: debt repaid"
            assert a.liq_underlying == received, f"{tag}: collateral"
        liq_a, treasury, coll_after, debt_after = _scaled_model(b, res, a.treasury_scaled_before)
        got = (a.liq_a_tokens, a.treasury_change, a.user_coll_after, a.user_debt_after)
        want = (liq_a if c.receive_a_token else 0, treasury, coll_after, debt_after)
        if got != want:
            exact_mismatch.append(f"{tag}: chain {got} vs scaled model of delever {want}")
        plain = ((res.collateral_to_liquidator_units if c.receive_a_token else 0),
                 res.protocol_fee_units,
                 b.coll_units[c.collateral] - res.collateral_to_liquidator_units
                 - res.protocol_fee_units,
                 b.debt_units[c.debt] - res.debt_repaid_units)
        diffs = [g - p for g, p in zip(got, plain, strict=True)]
        assert all(abs(d) <= 1 for d in diffs), f"{tag}: chain {got} vs delever {plain}"
        if any(diffs):
            count("one_wei_scaled")
        for name, d in zip(("liquidator_atokens", "treasury", "user_collateral", "user_debt"),
                           diffs, strict=True):
            if d:
                count(f"one_wei:{name}:{d:+d}")
        if res.protocol_fee_units and treasury < res.protocol_fee_units - 1:
            count("fee_capped_lines_208_211")
        # HF after: the chain == delever's account_data of the chain's balances after
        bal = balances_after[c.user]
        acc_after = _account({k[2:]: v for k, v in bal.items() if k[0] == "c"},
                             {k[2:]: v for k, v in bal.items() if k[0] == "d"}, b.emode)
        hf = account_data(acc_after, prices, exact=True, rule_set="3.0").health_factor_wad
        assert hf == a.hf_after or (hf is None and a.hf_after == UINT256_MAX), tag
        if a.hf_after != res.health_factor_after_wad:
            count("hf_after_differs")
            assert any(diffs), f"{tag}: HF after differs with equal balances"
            assert res.health_factor_after_wad is not None
            # a 1-wei balance moves the HF by far less than a millionth
            assert abs(a.hf_after - res.health_factor_after_wad) * 10**6 < a.hf_after, tag
        _categorise(count, c, b, res, a)
    assert exact_mismatch == [], "\n".join(exact_mismatch[:10])
    _check_coverage(counts, len(cases))
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def _categorise(count: Any, c: Case, b: Before, res: LiquidationResult, a: After) -> None:
    count(f"pair:{c.collateral}/{c.debt}{'-emode' if c.emode else ''}")
    count(f"close_factor:{res.close_factor}")
    count(f"cover:{c.cover_kind}")
    count(f"receiveAToken:{c.receive_a_token}")
    assert res.protocol_fee_units is not None
    if res.protocol_fee_units > 0:
        count("fee_paid")
    assert res.collateral_to_liquidator_units is not None
    if res.collateral_to_liquidator_units + res.protocol_fee_units == b.coll_units[c.collateral]:
        count("collateral_cap")
        count(f"collateral_cap:close_factor:{res.close_factor}:{c.cover_kind}")
        if a.user_coll_after:
            count("collateral_cap_dust_left_on_chain")


def _check_coverage(counts: Mapping[str, int], n: int) -> None:
    assert n >= 200
    for key in ("close_factor:0.5", "close_factor:1.0", "cover:below", "cover:above",
                "cover:uint_max", "receiveAToken:True", "receiveAToken:False"):
        assert counts.get(key, 0) >= 40, (key, counts)
    for pair in ("WETH/USDC", "WETH/USDT", "wstETH/USDC", "WETH/WETH-emode",
                 "wstETH/WETH-emode"):
        assert counts.get(f"pair:{pair}", 0) >= 40, (pair, counts)
    assert counts.get("collateral_cap", 0) >= 20, counts
    assert counts.get("fee_paid", 0) >= n - 5, counts
    # the scaled-balance model must be exercised, not only agree trivially (about 140 / 240)
    assert counts.get("one_wei_scaled", 0) >= 50, counts
