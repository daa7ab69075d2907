"""``delever position --address`` replayed offline from a JSON-RPC cassette of a real chain.

The cassette (``fixtures/cassettes/position_emode_v30.json``; its ``_about`` says how it was
recorded: tests/chain/test_live_adapters.py against Aave v3.0.1's own bytecode on anvil) holds
every request the command sent and the node's answer. A local HTTP server answers each request
from it (matched on method and params, ids rewritten), so the command runs without anvil and
must give the health factor the pool computed (``expected``, read at recording time with
web3 and Aave's artifact ABI, not by delever).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from local_json_server import LocalJsonServer

CASSETTE = Path(__file__).parent / "fixtures" / "cassettes" / "position_emode_v30.json"


def _key(request: Any) -> str:
    if isinstance(request, list):
        return json.dumps([[r["method"], r.get("params", [])] for r in request])
    return json.dumps([request["method"], request.get("params", [])])


def _with_ids(request: Any, response: Any) -> Any:
    if isinstance(request, list):  # the recorded batch, in the recorded order, new ids
        return [{**answer, "id": asked["id"]} for asked, answer in zip(
            request, sorted(response, key=lambda a: a["id"]), strict=True)]
    return {**response, "id": request["id"]}


class Replay(LocalJsonServer):
    """127.0.0.1 server answering from a cassette; counts what it could not answer."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.answers: dict[str, deque[Any]] = defaultdict(deque)
        for e in exchanges:
            self.answers[_key(e["request"])].append(e["response"])
        self.unmatched: list[str] = []
        super().__init__(self._answer)

    def _answer(self, body: bytes) -> bytes:
        request = json.loads(body)
        queue = self.answers.get(_key(request))
        if queue:
            return json.dumps(_with_ids(request, queue.popleft())).encode()
        self.unmatched.append(_key(request)[:120])
        return json.dumps({"jsonrpc": "2.0", "id": None, "error": {
            "code": -32601, "message": "not in the cassette"}}).encode()

    def left(self) -> int:
        return sum(len(q) for q in self.answers.values())


@pytest.fixture
def cassette() -> Iterator[tuple[dict[str, Any], Replay]]:
    doc = json.loads(CASSETTE.read_text())
    replay = Replay(doc["exchanges"])
    try:
        yield doc, replay
    finally:
        replay.server.shutdown()
        replay.server.server_close()


def test_position_replayed_from_the_cassette(cassette: tuple[dict[str, Any], Replay]) -> None:
    doc, replay = cassette
    assert "seed" in doc["_about"] and "anvil" in doc["_about"]
    argv = [replay.url if a == "<rpc>" else a for a in doc["argv"]]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    want = doc["expected"]
    assert (out["address"], out["block"]) == (want["address"], want["block"])
    assert out["health_factor_wad"] == want["health_factor_wad"]
    assert out["delever_health_factor_wad"] == want["health_factor_wad"]  # rule set 3.0
    assert out["rule_set"] == "3.0" and out["emode_category_id"] == want["emode_category_id"]
    assert out["collateral_usd"] == want["total_collateral_base"] / 1e8
    assert out["debt_usd"] == want["total_debt_base"] / 1e8
    assert replay.unmatched == [] and replay.left() == 0  # the same requests, all of them
    assert out["rpc_calls"] == len(doc["exchanges"])


def test_batches_fall_back_to_single_calls_where_the_node_has_none(node: Any) -> None:
    # The fake node answers one JSON object per POST, not a batch array (its handler fails on
    # a list): the client must notice once and ask one call per request from then on.
    from delever.sources.chain import RpcClient
    from delever.sources.chain import abi as live_abi
    from sources.fakechain import DATA_PROVIDER, TOKENS

    node.multicall = False
    client = RpcClient(node.url, expected_chain_id=None, batch_size=100)
    fn = live_abi.GET_LIQUIDATION_PROTOCOL_FEE
    calls = [(DATA_PROVIDER, fn.encode(u)) for u, _, _ in TOKENS.values()]
    out = client.call_many(calls, node.block)
    assert [fn.decode(x)[0] for x in out] == [1000] * 6  # the fixture's fees
    assert client.batch_size == 0
    assert client.calls_made == 1 + 1 + len(calls)  # getCode, the refused batch, each call
