"""RpcClient against the local fake node: blocks, batching, retries and one-line failures."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from delever.sources import SourceError
from delever.sources.chain import MULTICALL3, RpcClient, rpc
from delever.sources.chain import abi as live_abi
from sources.fakechain import DATA_PROVIDER, ORACLE, POOL, TOKENS, FakeChain

KEY = "SECRETKEY0123456789abcdef"


@pytest.fixture
def chain() -> Iterator[FakeChain]:
    with FakeChain() as fc:
        yield fc


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's back-off pauses, recorded instead of slept."""
    pauses: list[float] = []
    monkeypatch.setattr(rpc, "time", SimpleNamespace(sleep=pauses.append))
    return pauses


def keyed(url: str) -> str:
    return f"{url}/v2/{KEY}"


def test_finalized_block_and_fallback_to_latest(chain: FakeChain) -> None:
    client = RpcClient(chain.url)
    assert client.resolve_block(None) == chain.block - chain.finalized_lag
    chain.has_finalized = False  # a fresh local chain: no "finalized" tag
    assert client.resolve_block(None) == chain.block
    assert client.resolve_block(123) == 123
    with pytest.raises(SourceError, match=r"--block 24000001 is beyond the chain head 24000000"):
        client.resolve_block(chain.block + 1)


def test_chain_id_checked_once_before_the_first_read(chain: FakeChain) -> None:
    client = RpcClient(chain.url)
    client.resolve_block(None)
    client.resolve_block(None)
    assert chain.methods["eth_chainId"] == 1
    assert client.chain_id() == 1


def test_wrong_chain_id_is_one_line(chain: FakeChain) -> None:
    chain.chain_id = 8453
    client = RpcClient(keyed(chain.url))
    with pytest.raises(SourceError) as info:
        client.resolve_block(None)
    message = str(info.value)
    assert "chain id 8453, expected 1" in message
    assert KEY not in message and "/v2/***" in message and "\n" not in message


def test_call_many_is_one_request_per_chunk(chain: FakeChain) -> None:
    client = RpcClient(chain.url, expected_chain_id=None)
    block = chain.block
    calls = [(DATA_PROVIDER, live_abi.GET_RESERVE_CAPS.encode(u)) for u, _, _ in TOKENS.values()]
    out = client.call_many(calls * 10, block, chunk=25)  # 60 calls
    # eth_getCode(Multicall3) once, then ceil(60 / 25) = 3 aggregate3 requests
    assert client.calls_made == 1 + 3
    assert chain.methods["eth_call"] == 3
    borrow_cap, supply_cap = live_abi.GET_RESERVE_CAPS.decode(out[0])
    assert (borrow_cap, supply_cap) == (2_900_000, 3_200_000)  # the fixture's WETH caps


def test_call_many_without_multicall_calls_one_by_one(chain: FakeChain) -> None:
    chain.multicall = False
    client = RpcClient(chain.url, expected_chain_id=None)
    calls = [(DATA_PROVIDER, live_abi.GET_LIQUIDATION_PROTOCOL_FEE.encode(u))
             for u, _, _ in TOKENS.values()]
    out = client.call_many(calls, chain.block)
    assert client.calls_made == 1 + len(calls)
    assert [live_abi.GET_LIQUIDATION_PROTOCOL_FEE.decode(x)[0] for x in out] == [1000] * 6


@pytest.mark.parametrize("multicall", [True, False], ids=["multicall", "one-by-one"])
def test_revert_names_contract_and_function(chain: FakeChain, multicall: bool) -> None:
    chain.multicall = multicall
    chain.revert.add((ORACLE, "getAssetsPrices"))
    client = RpcClient(chain.url)
    fn = live_abi.GET_ASSETS_PRICES
    with pytest.raises(SourceError) as info:
        client.call_many([(ORACLE, fn.encode([TOKENS["WETH"][0]]))], chain.block,
                         labels=[fn.label])
    assert str(info.value) == (
        f"AaveOracle.getAssetsPrices at {ORACLE} reverted at block {chain.block}.")


def test_allow_failure_gives_empty_bytes(chain: FakeChain) -> None:
    chain.revert.add((POOL, "getEModeCategoryLabel"))
    client = RpcClient(chain.url)
    fn = live_abi.GET_EMODE_LABEL
    out = client.call_many([(POOL, fn.encode(1))], chain.block, allow_failure=True)
    assert out == [b""]


@pytest.mark.parametrize(("mode", "times"), [("http_429_times", 3), ("rpc_limit_times", 2)])
def test_rate_limit_retried_with_backoff(chain: FakeChain, sleeps: list[float], mode: str,
                                         times: int) -> None:
    setattr(chain, mode, times)
    client = RpcClient(chain.url, retries=4, backoff_s=0.5)
    assert client.chain_id() == 1
    assert client.calls_made == times + 1
    assert sleeps == [0.5, 1.0, 2.0][:times]


def test_rate_limit_exhausted_is_one_line(chain: FakeChain, sleeps: list[float]) -> None:
    chain.http_429_times = 10
    client = RpcClient(keyed(chain.url), retries=4)
    with pytest.raises(SourceError) as info:
        client.chain_id()
    assert str(info.value) == (
        f"RPC {chain.url}/v2/***: eth_chainId failed 4 times, last rate limited (HTTP 429); "
        "wait and retry, or use another RPC.")
    assert client.calls_made == 4


def test_slow_reply_times_out_then_retries(chain: FakeChain) -> None:
    chain.slow_s, chain.slow_times = 1.0, 1
    client = RpcClient(chain.url, timeout_s=0.2, retries=2, backoff_s=0.01)
    assert client.chain_id() == 1  # the second try is answered at once
    chain.slow_times = 5
    client = RpcClient(keyed(chain.url), timeout_s=0.2, retries=2, backoff_s=0.01)
    with pytest.raises(SourceError, match=r"eth_chainId failed 2 times, last no reply within "
                       r"0\.2 s") as info:
        client.chain_id()
    assert KEY not in str(info.value)


def test_malformed_reply_is_one_line(chain: FakeChain) -> None:
    chain.malformed_times = 1
    client = RpcClient(keyed(chain.url))
    with pytest.raises(SourceError) as info:
        client.chain_id()
    assert str(info.value) == (
        f"RPC {chain.url}/v2/*** sent a malformed reply to eth_chainId (not JSON).")


def test_unreachable_rpc_is_one_line() -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = RpcClient(f"http://127.0.0.1:{port}/v3/{KEY}")
    with pytest.raises(SourceError) as info:
        client.chain_id()
    assert str(info.value) == (
        f"RPC http://127.0.0.1:{port}/v3/*** is unreachable (eth_chainId); check the URL and "
        "the network.")


def test_get_code_and_logs(chain: FakeChain) -> None:
    client = RpcClient(chain.url)
    assert client.get_code(MULTICALL3, chain.block) != b""
    assert client.get_code("0x" + "12" * 20, chain.block) == b""
    chain.logs = [{"address": POOL, "topics": ["0x" + "ab" * 32], "data": "0x",
                   "blockNumber": "0x10"}]
    assert client.get_logs(POOL, ["0x" + "ab" * 32, None], 1, 100) == chain.logs


def test_not_an_http_url() -> None:
    with pytest.raises(SourceError, match=r"must be an http:// or https:// URL"):
        RpcClient("ws://127.0.0.1:1")
