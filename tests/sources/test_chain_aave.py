"""The Aave v3 reader against the fake node: reserves, accounts, and delever's model of them.

Expected values are the fixture's inputs (the CSV rows of 2026-02-01 for the risk parameters,
the illustrative prices and totals) and its own integer ``getUserAccountData``
(``fakechain.account_data``, written from GenericLogic), never delever's output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from delever.protocol.account import to_units
from delever.sources import SourceError
from delever.sources.chain import (
    MARKETS,
    LiveReserve,
    RpcClient,
    get_market,
    read_account,
    read_emode_categories,
    read_reserves,
)
from sources.fakechain import (
    DATA_PROVIDER,
    EMODE_USER,
    EMPTY_USER,
    LINK_USER,
    MIXED_USER,
    MOVED_POOL,
    NO_DEBT_USER,
    ORACLE,
    POOL,
    PROVIDER,
    RATE_DATA_BPS,
    STRATEGY,
    UINT256_MAX,
    FakeChain,
    account_data,
)

CORE = get_market("ethereum-core")


@pytest.fixture
def chain() -> Iterator[FakeChain]:
    with FakeChain() as fc:
        yield fc


def _reserves(chain: FakeChain) -> tuple[RpcClient, dict[str, LiveReserve]]:
    client = RpcClient(chain.url)
    live = read_reserves(client, CORE, chain.block)
    return client, {r.symbol: r for r in live}


def test_markets_from_the_address_book() -> None:
    assert set(MARKETS) >= {"ethereum-core", "ethereum-prime"}
    assert CORE.pool_addresses_provider == PROVIDER
    prime = MARKETS["ethereum-prime"]
    assert prime.pool_addresses_provider == "0xcfBf336fe147D643B9Cb705648500e101504B16d"
    assert prime.chain_id == 1 and "AaveV3EthereumLido.sol" in prime.source
    with pytest.raises(SourceError, match=r"--market='ethereum-cor' is not known.*"
                       r"Did you mean 'ethereum-core'"):
        get_market("ethereum-cor")


def test_reserves_carry_the_csv_values(chain: FakeChain) -> None:
    _, live = _reserves(chain)
    assert set(live) == {"WETH", "wstETH", "USDC", "LINK", "USDT", "weETH"}
    weth = live["WETH"]
    # CSV row 2026-02-01T00:24Z WETH: ltv 0.805, LT 0.83, bonus 0.05, RF 0.15, borrow rate
    # 0.022206, supply rate 0.01641, liquidity index 1.058577, variable borrow index 1.089986
    assert (weth.ltv_bps, weth.liquidation_threshold_bps, weth.liquidation_bonus_bps,
            weth.reserve_factor_bps) == (8050, 8300, 10500, 1500)
    assert weth.liquidity_index_ray == 1_058_577 * 10**21
    assert weth.variable_borrow_index_ray == 1_089_986 * 10**21
    assert weth.variable_borrow_rate_ray == 22_206 * 10**21
    assert weth.liquidity_rate_ray == 16_410 * 10**21
    assert weth.decimals == 18 and live["USDC"].decimals == 6
    assert (live["USDT"].ltv_bps, live["USDT"].liquidation_threshold_bps) == (7500, 7800)
    assert (weth.supply_cap_tokens, weth.borrow_cap_tokens) == (3_200_000, 2_900_000)
    assert weth.liquidation_protocol_fee_bps == 1000
    assert weth.price_base == 230_012_345_678 and weth.price_usd == 2300.12345678
    assert weth.total_atoken_units == 2_500_000 * 10**18
    # utilization = supply rate / (borrow rate * (1 - RF)) = 0.01641 / (0.022206 * 0.85)
    assert weth.utilization == pytest.approx(0.01641 / (0.022206 * 0.85), rel=1e-12)
    assert weth.rate_strategy is not None
    assert weth.rate_strategy.address == STRATEGY
    strategy = weth.rate_strategy
    assert (strategy.optimal_usage_ratio_bps, strategy.base_variable_borrow_rate_bps,
            strategy.variable_rate_slope1_bps, strategy.variable_rate_slope2_bps) == RATE_DATA_BPS
    assert weth.emode_category_ids == (1,) and live["USDC"].emode_category_ids == (7,)
    assert live["LINK"].emode_category_ids == ()
    assert weth.a_token == "0x4d5F47FA6A74757f35C14fD3a6Ef8E3C9BC514E8"


def test_emode_categories(chain: FakeChain) -> None:
    client = RpcClient(chain.url)
    cats = {c.category_id: c for c in read_emode_categories(client, CORE, chain.block)}
    assert set(cats) == {1, 7}
    eth = cats[1]
    assert (eth.label, eth.ltv_bps, eth.liquidation_threshold_bps,
            eth.liquidation_bonus_bps) == ("ETH correlated", 9300, 9500, 10100)
    # reserve ids WETH 0, wstETH 1, weETH 20 -> bits 0, 1, 20
    assert eth.collateral_bitmap == (1 << 0) | (1 << 1) | (1 << 20)


def test_reserves_are_batched(chain: FakeChain) -> None:
    client, _ = _reserves(chain)
    # eth_chainId 1, eth_getCode 5 (provider, Multicall3, pool, oracle, data provider),
    # 8 aggregate3 (provider; list+tokens; per-reserve+prices; virtual balances;
    # strategy addresses; strategy data; e-mode configs; e-mode labels/bitmaps)
    assert client.calls_made == 14
    assert chain.methods["eth_call"] == 8


def test_emode_account_with_two_collaterals(chain: FakeChain) -> None:
    client, live = _reserves(chain)
    before = client.calls_made
    acc = read_account(client, CORE, EMODE_USER, chain.block, reserves=tuple(live.values()))
    # resolve (getCode x4, getPool/getPriceOracle/getPoolDataProvider in one aggregate3) and
    # one aggregate3 for the account, one for the e-mode categories
    assert client.calls_made - before == 4 + 1 + 1 + 2
    expected = account_data(chain.reserves, chain.users[EMODE_USER])
    assert (acc.total_collateral_base, acc.total_debt_base, acc.available_borrows_base,
            acc.current_liquidation_threshold, acc.ltv, acc.health_factor) == expected
    assert acc.emode_category_id == 1 and acc.emode is not None
    assert acc.current_liquidation_threshold == 9500  # both collaterals take the e-mode LT
    units = {p.symbol: (p.collateral_units, p.variable_debt_units) for p in acc.positions}
    assert units == {"WETH": (12_345_678_901_234_500_000_000, 15_234_567_890_123_400_000_000),
                     "wstETH": (4_321_098_765_432_190_000_000, 0)}
    model = acc.to_delever()
    assert model.account.emode and model.unmodelled == () and model.amounts_exact
    assert model.emode_category is not None
    assert model.emode_category.collateral_symbols == ("WETH", "wstETH", "weETH")
    assert model.health_factor_wad() == acc.health_factor == expected[5]


@pytest.mark.parametrize("user", [MIXED_USER, NO_DEBT_USER, EMPTY_USER])
def test_delever_health_factor_equals_the_chain(chain: FakeChain, user: str) -> None:
    client, live = _reserves(chain)
    acc = read_account(client, CORE, user, chain.block, reserves=tuple(live.values()))
    expected = account_data(chain.reserves, chain.users[user])
    assert acc.health_factor == expected[5]
    assert acc.to_delever().health_factor_wad() == expected[5]


def test_mixed_account_amounts_beyond_a_float(chain: FakeChain) -> None:
    client, _ = _reserves(chain)
    acc = read_account(client, CORE, MIXED_USER, chain.block)
    weth = next(p for p in acc.positions if p.symbol == "WETH")
    assert weth.collateral_units == 850_123_456_789_012_345_000
    model = acc.to_delever()
    # 18 significant digits: a float cannot hold them, so the account carries the chain's
    # integers, and the exact health factor is the chain's to the wei
    assert to_units(model.account.collateral["WETH"], 18) != weth.collateral_units
    assert model.account.collateral_units is not None
    assert model.account.collateral_units["WETH"] == weth.collateral_units
    assert model.amounts_exact
    assert model.health_factor_wad() == acc.health_factor
    debts = {p.symbol for p in acc.positions if p.variable_debt_units}
    assert debts == {"USDC", "USDT"} and not model.account.emode


def test_account_without_debt(chain: FakeChain) -> None:
    client, _ = _reserves(chain)
    acc = read_account(client, CORE, NO_DEBT_USER, chain.block)
    assert acc.health_factor == UINT256_MAX and acc.total_debt_base == 0
    by = {p.symbol: p for p in acc.positions}
    assert by["USDC"].collateral_units == 1_234_567_891_234 and by["USDC"].used_as_collateral
    assert not by["WETH"].used_as_collateral  # supplied, not enabled: no collateral value
    # 1,234,567.891234 USDC * $0.9999 = 123,444,443,288.6 base units -> floored
    assert acc.total_collateral_base == 1_234_567_891_234 * 99_990_000 // 10**6
    assert "WETH" not in acc.to_delever().account.collateral


def test_empty_address(chain: FakeChain) -> None:
    client, _ = _reserves(chain)
    acc = read_account(client, CORE, EMPTY_USER, chain.block)
    assert acc.positions == ()
    assert (acc.total_collateral_base, acc.total_debt_base, acc.health_factor) == (
        0, 0, UINT256_MAX)
    assert acc.to_delever().account.collateral == {}


def test_unmodelled_reserve_is_named(chain: FakeChain) -> None:
    client, _ = _reserves(chain)
    acc = read_account(client, CORE, LINK_USER, chain.block)
    model = acc.to_delever()
    assert model.unmodelled == ("LINK",)
    assert model.note.startswith("delever cannot model LINK (known reserves: WETH, wstETH")
    assert acc.health_factor == account_data(chain.reserves, chain.users[LINK_USER])[5]
    assert model.health_factor_wad() < acc.health_factor  # LINK collateral left out


def test_moved_pool_is_found_through_the_provider(chain: FakeChain) -> None:
    chain.pool = MOVED_POOL
    client = RpcClient(chain.url)
    acc = read_account(client, CORE, EMODE_USER, chain.block)
    assert acc.health_factor == account_data(chain.reserves, chain.users[EMODE_USER])[5]


def test_address_without_code_is_one_line(chain: FakeChain) -> None:
    chain.no_code.add(ORACLE)
    client = RpcClient(chain.url)
    with pytest.raises(SourceError) as info:
        read_reserves(client, CORE, chain.block)
    assert str(info.value) == (
        f"ethereum-core AaveOracle {ORACLE} is not a contract at block {chain.block} (no code); "
        "check the market, the chain and the block.")


def test_wrong_provider_address(chain: FakeChain) -> None:
    wrong = dataclasses.replace(CORE, pool_addresses_provider=DATA_PROVIDER)
    client = RpcClient(chain.url)
    with pytest.raises(SourceError, match=r"PoolAddressesProvider.getPool at 0x0a16.* reverted"):
        read_reserves(client, wrong, chain.block)


def test_reverting_getter_is_one_line(chain: FakeChain) -> None:
    chain.revert.add((DATA_PROVIDER, "getReserveCaps"))
    client = RpcClient(chain.url)
    with pytest.raises(SourceError) as info:
        read_reserves(client, CORE, chain.block)
    assert str(info.value) == (
        f"PoolDataProvider.getReserveCaps at {DATA_PROVIDER} reverted at block {chain.block}.")


def test_bad_address_before_any_request(chain: FakeChain) -> None:
    client = RpcClient(chain.url)
    with pytest.raises(SourceError, match=r"--address '0x123' must be 0x followed by 40 hex"):
        read_account(client, CORE, "0x123", chain.block)
    assert client.calls_made == 0


def test_pool_constant_matches_the_market() -> None:
    assert CORE.pool == POOL and CORE.oracle == ORACLE


def test_emode_getters_missing_is_refused(chain: FakeChain) -> None:
    # A pool before v3.2 has no getEModeCategoryCollateralConfig: the categories read as none,
    # and an e-mode account is not silently modelled without its e-mode.
    chain.revert.add((POOL, "getEModeCategoryCollateralConfig"))
    client, live = _reserves(chain)
    assert all(r.emode_category_ids == () for r in live.values())
    acc = read_account(client, CORE, EMODE_USER, chain.block, reserves=tuple(live.values()))
    assert acc.emode_category_id == 1 and acc.emode is None
    with pytest.raises(SourceError, match=r"is in e-mode 1, whose parameters the pool did not "
                       r"answer"):
        acc.to_delever()
