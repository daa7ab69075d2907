"""The Morpho Blue reader and ``position --protocol morpho-blue --address`` on the fake node.

Expected values come from the fixture (``fake_morpho``): its inputs and its own integer
``_isHealthy`` / ``_accrueInterest`` written from the Solidity, never from delever's output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.protocol.morpho.market import MarketState, accrue_interest
from delever.sources import SourceError
from delever.sources.chain import RpcClient
from delever.sources.chain.morpho import (
    MORPHO_BLUE,
    LiveMorphoPosition,
    market_id_of,
    read_morpho_position,
)
from sources import fake_morpho as fm
from sources.fake_morpho import FakeMorphoChain

pytestmark = pytest.mark.usefixtures("fast_retries")
CUSTOM_ID = fm.market_id(fm.USDC, fm.WSTETH, fm.CUSTOM_ORACLE, fm.CUSTOM_IRM, fm.CUSTOM_LLTV)


@pytest.fixture
def chain() -> Iterator[FakeMorphoChain]:
    fc = FakeMorphoChain()
    with fc:
        yield fc


def read(chain: FakeMorphoChain, user: str, market_id: str = fm.WSTETH_USDC_ID
         ) -> LiveMorphoPosition:
    return read_morpho_position(RpcClient(chain.url), market_id, user, chain.block)


def expected(chain: FakeMorphoChain, user: str, market_id: str = fm.WSTETH_USDC_ID,
             total_borrow: int | None = None) -> tuple[int, int, int, int, bool]:
    """(collateral, borrow shares, borrowed, max borrow, healthy) by the fixture's own math."""
    market = chain.markets[market_id]
    _, shares, collateral = market.positions[user.lower()]
    tba = market.state[2] if total_borrow is None else total_borrow
    tbs = market.state[3]
    lltv = market.params[4]
    return (collateral, shares, fm.to_assets_up(shares, tba, tbs),
            fm.max_borrow(collateral, fm.ORACLE_PRICE, lltv),
            fm.is_healthy(collateral, shares, tba, tbs, fm.ORACLE_PRICE, lltv))


def test_real_market_id_and_address() -> None:
    # the reader's hash of the sdks' usdc_wstEth parameters is the market's known id
    assert market_id_of(fm.USDC, fm.WSTETH, fm.WSTETH_USDC_ORACLE, fm.ADAPTIVE_IRM,
                        fm.WSTETH_USDC_LLTV) == fm.WSTETH_USDC_ID
    assert MORPHO_BLUE == fm.MORPHO


@pytest.mark.parametrize("user,healthy", [(fm.HEALTHY, True), (fm.NEAR, True),
                                          (fm.UNHEALTHY, False)])
def test_health_as_morpho_computes_it(chain: FakeMorphoChain, user: str,
                                      healthy: bool) -> None:
    pos = read(chain, user)
    collateral, shares, borrowed, limit, fixture_healthy = expected(chain, user)
    assert fixture_healthy is healthy  # the fixture's accounts are what they say
    assert pos.position.collateral == collateral and pos.position.borrow_shares == shares
    assert pos.borrow_assets == borrowed  # toAssetsUp: rounded up
    assert pos.max_borrow_assets == limit  # mulDivDown then wMulDown
    assert pos.healthy is healthy
    assert pos.health_factor == limit / borrowed
    assert (pos.health_factor >= 1.0) is healthy
    assert pos.oracle_price == fm.ORACLE_PRICE and pos.lltv_wad == fm.WSTETH_USDC_LLTV
    assert (pos.loan_decimals, pos.collateral_decimals) == (6, 18)
    assert pos.accrued and pos.accrual_note == ""  # lastUpdate is the block's time
    assert pos.rate_at_target == fm.RATE_AT_TARGET
    assert pos.borrow_rate_view == fm.ADAPTIVE_RATE_VIEW


def test_near_and_unhealthy_one_share_apart(chain: FakeMorphoChain) -> None:
    near, bad = read(chain, fm.NEAR), read(chain, fm.UNHEALTHY)
    assert bad.position.borrow_shares == near.position.borrow_shares + 1
    assert near.healthy and not bad.healthy


@pytest.mark.parametrize("user", [fm.HEALTHY, fm.NEAR, fm.UNHEALTHY])
def test_liquidation_price_is_the_health_boundary(chain: FakeMorphoChain, user: str) -> None:
    pos = read(chain, user)
    market = chain.markets[fm.WSTETH_USDC_ID]
    _, shares, collateral = market.positions[user.lower()]
    tba, tbs = market.state[2], market.state[3]
    p = pos.liquidation_oracle_price
    assert p is not None
    # healthy at p, liquidatable one unit below, by the fixture's _isHealthy
    assert fm.is_healthy(collateral, shares, tba, tbs, p, fm.WSTETH_USDC_LLTV)
    assert not fm.is_healthy(collateral, shares, tba, tbs, p - 1, fm.WSTETH_USDC_LLTV)
    assert pos.liquidation_price == p / 10**(36 + 6 - 18)
    assert pos.loan_symbol_usd == "USDC"


def test_float_model(chain: FakeMorphoChain) -> None:
    model = read(chain, fm.NEAR).to_protocol()
    assert model.lltv == 0.86 and model.lltv_wad == fm.WSTETH_USDC_LLTV
    # rateAtTarget per second (WAD) times 365 days
    assert model.rate_at_target_per_year == fm.RATE_AT_TARGET * 31_536_000 / 1e18


def test_lender_only_has_no_debt(chain: FakeMorphoChain) -> None:
    pos = read(chain, fm.LENDER)
    assert pos.position.supply_shares == 5_000_000_000 * 10**6
    assert pos.healthy and pos.health_factor == float("inf")
    assert pos.liquidation_oracle_price is None and pos.borrow_assets == 0


def test_interest_accrued_with_a_custom_irm(chain: FakeMorphoChain) -> None:
    market = chain.markets[CUSTOM_ID]
    tba = fm.accrued_total_borrow(market.state[2], fm.CUSTOM_RATE, fm.CUSTOM_ELAPSED_S)
    pos = read(chain, fm.NEAR, CUSTOM_ID)
    assert pos.accrued and "borrowRateView" in pos.accrual_note
    assert pos.market.total_borrow_assets == tba > market.state[2]
    assert pos.market.last_update == chain.block_timestamp
    interest = tba - market.state[2]
    assert pos.market.total_supply_assets == market.state[0] + interest
    shares = fm.fee_shares(interest, fm.CUSTOM_FEE, market.state[0], market.state[1])
    assert shares > 0 and pos.market.total_supply_shares == market.state[1] + shares
    _, _, borrowed, limit, healthy = expected(chain, fm.NEAR, CUSTOM_ID, total_borrow=tba)
    assert pos.borrow_assets == borrowed and pos.max_borrow_assets == limit
    # NEAR was at its limit at lastUpdate: three days of interest make it liquidatable
    assert healthy is False and pos.healthy is False
    assert expected(chain, fm.NEAR, CUSTOM_ID)[4] is True


def test_without_borrow_rate_view_figures_at_last_update(chain: FakeMorphoChain) -> None:
    chain.irm_view = False
    pos = read(chain, fm.NEAR, CUSTOM_ID)
    market = chain.markets[CUSTOM_ID]
    assert not pos.accrued and "lastUpdate" in pos.accrual_note
    assert pos.market.total_borrow_assets == market.state[2]
    assert pos.healthy is True


def test_adaptive_irm_accrual_uses_delever_irm(chain: FakeMorphoChain) -> None:
    # wiring: the stored totals and rateAtTarget go through delever's accrue_interest
    # (itself tested against the IRM elsewhere); the fixture has no IRM of its own.
    state = chain.markets[fm.WSTETH_USDC_ID].state
    state[4] -= 7200
    pos = read(chain, fm.HEALTHY)
    want = accrue_interest(MarketState(*state), fm.RATE_AT_TARGET, chain.block_timestamp)
    assert pos.accrued and "AdaptiveCurveIRM" in pos.accrual_note
    assert pos.market == want.market and pos.market.total_borrow_assets > state[2]
    assert pos.market_at_last_update == MarketState(*state)


@pytest.mark.parametrize("market_id,user,fragment", [
    (fm.UNKNOWN_ID, fm.NEAR, "is not a Morpho Blue market"),
    (fm.BAD_ID, fm.NEAR, "refusing them"),
    (fm.WSTETH_USDC_ID, fm.NOBODY, "has no position"),
    ("0x1234", fm.NEAR, "64 hex digits"),
], ids=["unknown", "id-mismatch", "no-position", "short-id"])
def test_reader_errors(chain: FakeMorphoChain, market_id: str, user: str,
                       fragment: str) -> None:
    with pytest.raises(SourceError, match=fragment) as info:
        read(chain, user, market_id)
    assert "\n" not in str(info.value)


def test_without_multicall_the_same(chain: FakeMorphoChain) -> None:
    with_multicall = read(chain, fm.UNHEALTHY)
    chain.multicall = False
    assert read(chain, fm.UNHEALTHY) == with_multicall


def test_batched(chain: FakeMorphoChain) -> None:
    client = RpcClient(chain.url)
    read_morpho_position(client, fm.WSTETH_USDC_ID, fm.NEAR, chain.block)
    # chainId, code check, 2 aggregate3 batches (+ Multicall3 code), block time
    assert chain.methods["eth_call"] == 2
    assert client.calls_made == 6


# --- the CLI ------------------------------------------------------------------------------
def invoke(*argv: str) -> SimpleNamespace:
    result = CliRunner().invoke(app, ["position", *argv])
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def test_cli_json(chain: FakeMorphoChain) -> None:
    r = invoke("--protocol", "morpho-blue", "--address", fm.NEAR, "--market-id",
               fm.WSTETH_USDC_ID, "--rpc", chain.url, "--block", "23999000", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    collateral, shares, borrowed, limit, healthy = expected(chain, fm.NEAR)
    assert out["block"] == 23_999_000 and out["market_id"] == fm.WSTETH_USDC_ID
    assert out["collateral"] == str(collateral) and out["borrow_shares"] == str(shares)
    assert out["borrow_assets"] == str(borrowed) and out["healthy"] is healthy is True
    assert out["health_factor"] == limit / borrowed
    assert out["oracle_price"] == str(fm.ORACLE_PRICE) and out["lltv"] == 0.86
    assert out["liquidation_price_usd"] == out["liquidation_price"]
    assert out["liquidation_price_usd"] == pytest.approx(
        borrowed / 1e6 / (collateral / 1e18 * 0.86), rel=1e-9)
    # NEAR sits at its limit: the liquidation price is the oracle price, to rounding
    assert out["liquidation_price_usd"] == pytest.approx(2817.65123456, rel=1e-9)
    assert out["rpc_calls"] == 7  # the finalized-block check is the extra one


def test_cli_unhealthy_table(chain: FakeMorphoChain) -> None:
    r = invoke("--protocol", "morpho-blue", "--address", fm.UNHEALTHY, "--market-id",
               fm.WSTETH_USDC_ID, "--rpc", chain.url)
    assert r.code == 0, r.err
    assert "Morpho Blue" in r.out and "healthy" in r.out and "False" in r.out
    _, _, borrowed, limit, _ = expected(chain, fm.UNHEALTHY)
    assert repr(limit / borrowed) in r.out and limit / borrowed < 1.0  # not rounded to 1


def test_lender_json(chain: FakeMorphoChain) -> None:
    r = invoke("--protocol", "morpho-blue", "--address", fm.LENDER, "--market-id",
               fm.WSTETH_USDC_ID, "--rpc", chain.url, "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["healthy"] is True and out["borrow_assets"] == "0"
    assert out["liquidation_price_usd"] is None and out["supply_shares"] == str(5 * 10**15)


@pytest.mark.parametrize("argv,fragment", [
    (["--market-id", "0xzz"], "64 hex digits"),
    ([], "--market-id is required"),
    (["--market-id", fm.UNKNOWN_ID], "is not a Morpho Blue market"),
    (["--market-id", fm.BAD_ID], "refusing them"),
    (["--market-id", fm.WSTETH_USDC_ID, "--lltv", "0.86"], "--lltv does not apply"),
    (["--market-id", fm.WSTETH_USDC_ID, "--market", "ethereum-prime"],
     "--market does not apply"),
    (["--market-id", fm.WSTETH_USDC_ID, "--block", "99999999"], "beyond the chain head"),
], ids=["bad-id", "no-id", "unknown", "mismatch", "lltv", "aave-market", "future-block"])
def test_cli_errors_one_line_exit_2(chain: FakeMorphoChain, argv: list[str],
                                    fragment: str) -> None:
    r = invoke("--protocol", "morpho-blue", "--address", fm.NEAR, "--rpc", chain.url, *argv)
    assert r.code == 2, r.out + r.err
    assert fragment in r.err and r.err.count("error:") == 1


def test_cli_no_position_and_no_request_for_bad_id(chain: FakeMorphoChain) -> None:
    r = invoke("--protocol", "morpho-blue", "--address", fm.NOBODY, "--market-id",
               fm.WSTETH_USDC_ID, "--rpc", chain.url)
    assert r.code == 2 and "has no position" in r.err
    before = sum(chain.methods.values())
    r = invoke("--protocol", "morpho-blue", "--address", fm.NEAR, "--market-id", "0x12",
               "--rpc", chain.url)
    assert r.code == 2 and sum(chain.methods.values()) == before


def test_market_id_needs_morpho(chain: FakeMorphoChain) -> None:
    r = invoke("--address", fm.NEAR, "--market-id", fm.WSTETH_USDC_ID, "--rpc", chain.url)
    assert r.code == 2 and "--market-id" in r.err and "morpho-blue" in r.err
