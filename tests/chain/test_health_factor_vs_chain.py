"""delever's exact account data vs ``Pool.getUserAccountData`` of Aave's own v3.0 bytecode.

For every generated account (>= 500: several collaterals, ETH e-mode or not, near and far
from liquidation), at one block: read the aToken and variable-debt-token ``balanceOf``, the
user's e-mode and the AaveOracle prices; give them to
``delever.protocol.account.account_data(..., exact=True, rule_set="3.0")``; compare every field
of ``getUserAccountData`` to the wei. Done three times: as generated; after a year of
interest (indexes move, so balances are ``rayMul`` results, not what was supplied); and after
ETH falls 9% (some accounts under HF 1).

AccountData reports USD floats (``base / 1e8``); the base amounts here are < 2**53, so
``round(usd * 1e8)`` recovers the integer exactly (checked below), and the health factor is
compared as the integer ``health_factor_wad``.

The rules compared (``@aave/core-v3@1.19.3`` ``contracts/protocol/libraries/logic/
GenericLogic.sol``): collateral ``balance * price / unit`` floored (line 266), debt likewise
floored (line 240), averages floored (lines 164-169), ``HF = percentMul(total, avgLT)
.wadDiv(debt)`` (line 172), available borrows ``percentMul(total, avgLtv) - debt`` (lines
200-206). No difference found: delever's ``rule_set="3.0"`` matches on every field of every
account (with ``rule_set="3.6"`` most accounts differ by the debt's ceiling, as expected).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from delever.protocol.account import Account, AccountData, Prices, account_data
from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES

from .localnet import Market

UINT256_MAX = 2**256 - 1


def _delever_fields(data: AccountData) -> tuple[int, ...]:
    def base(usd: float) -> int:
        value = round(usd * 10**8)
        assert value < 2**53, "base amount too large to recover exactly from the float"
        return value

    assert data.health_factor_wad is not None
    return (base(data.total_collateral_usd), base(data.total_debt_usd),
            base(data.available_borrows_usd), round(data.avg_liquidation_threshold * 10_000),
            round(data.avg_ltv * 10_000), data.health_factor_wad)


def _compare_all(market: Market) -> tuple[int, int, int, list[str]]:
    """(accounts compared, with debt, with HF < 1, mismatches) at the current block."""
    block = int(market.w3.eth.block_number)
    prices = Prices(usd={s: market.price_base(s, block) / 10**8 for s in market.tokens})
    snaps = market.read_accounts([a.address for a in market.accounts], block)
    mismatches: list[str] = []
    for acc, snap in zip(market.accounts, snaps, strict=True):
        assert snap.emode_category == acc.emode_category
        coll, debt = dict(snap.collateral_units), dict(snap.debt_units)
        account = Account(
            collateral={s: u / RESERVES[s].unit for s, u in coll.items()},
            debt={s: u / RESERVES[s].unit for s, u in debt.items()},
            emode=snap.emode_category == ETH_CORRELATED_EMODE.category_id,
            collateral_units=coll, debt_units=debt,
        )
        ours = _delever_fields(account_data(account, prices, exact=True, rule_set="3.0"))
        if ours != tuple(snap.account_data):
            diff = {f: (c, o) for f, c, o in zip(snap.account_data._fields, snap.account_data,
                                                 ours, strict=True) if c != o}
            mismatches.append(f"{acc.address} emode={snap.emode_category} coll={coll} "
                              f"debt={debt}: chain vs delever {diff}")
    with_debt = sum(bool(s.debt_units) for s in snaps)
    under_one = sum(s.account_data.health_factor < 10**18 for s in snaps)
    return len(snaps), with_debt, under_one, mismatches


@pytest.fixture()
def reverting(aave_market: Market) -> Iterator[Market]:
    """The session market, reverted to its generated state after the test."""
    snap = aave_market.snapshot()
    yield aave_market
    aave_market.revert(snap)


def test_generated_book_is_varied(aave_market: Market) -> None:
    accounts = aave_market.accounts
    assert len(accounts) >= 500
    assert sum(a.emode_category == 1 for a in accounts) >= 100
    assert sum(a.has_debt for a in accounts) >= 300
    assert sum(len(a.supplied_units) >= 2 for a in accounts) >= 200
    assert sum(len(a.borrowed_units) >= 2 for a in accounts) >= 100


def test_account_data_matches_chain_as_generated(aave_market: Market) -> None:
    n, with_debt, _, mismatches = _compare_all(aave_market)
    assert n >= 500 and with_debt >= 300
    assert mismatches == [], f"{len(mismatches)} of {n} differ:\n" + "\n".join(mismatches[:10])


def test_account_data_matches_chain_after_interest_and_eth_drop(reverting: Market) -> None:
    market = reverting
    market.time_travel(365 * 24 * 3600)
    # 9% ETH drop (8-decimal answers): pushes the accounts borrowed near their LTV under 1
    for s in ("WETH", "wstETH"):
        market.set_price(s, Decimal(market.price_base(s) * 91 // 100) / 10**8)
    market.time_travel(1)
    n, _, under_one, mismatches = _compare_all(market)
    assert under_one >= 20, "the price drop should put some accounts under HF 1"
    assert mismatches == [], f"{len(mismatches)} of {n} differ:\n" + "\n".join(mismatches[:10])


def test_delever_rpc_client_reads_the_local_chain(aave_market: Market) -> None:
    # The chain id is anvil's 31337, never mainnet's 1: delever's RpcClient must be told so.
    from eth_abi.abi import decode

    from delever.sources import SourceError
    from delever.sources.chain.rpc import RpcClient

    from .localnet import CHAIN_ID

    client = RpcClient(aave_market.rpc_url, expected_chain_id=CHAIN_ID)
    assert client.chain_id() == 31337
    block = client.block_number()
    user = next(a.address for a in aave_market.accounts if a.has_debt)
    data = aave_market.calldata(aave_market.pool, "getUserAccountData", user)
    raw = client.eth_call(aave_market.pool.address, bytes.fromhex(data[2:]), block)
    assert tuple(decode(["uint256"] * 6, raw)) == aave_market.user_account_data(user, block)
    with pytest.raises(SourceError, match="chain id 31337, expected 1"):
        RpcClient(aave_market.rpc_url, expected_chain_id=1).chain_id()
