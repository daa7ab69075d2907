"""delever's live adapters end to end against Aave's own v3.0.1 bytecode on anvil.

The session market (``conftest.aave_market``: chain id 31337, no Multicall3, 520 seeded
accounts) is read through the command line exactly as a user would, with the market given by
its PoolAddressesProvider address (``--market 0x…``, the node's chain):

- ``delever position --address A --json``: ``health_factor_wad`` and the totals equal
  ``Pool.getUserAccountData`` read by the localnet helper (web3 with Aave's artifact ABI, not
  delever's), for e-mode, multi-collateral, single-collateral and debt-free accounts; delever's
  own model of the account (rule set "3.0", detected from the pool) gives the same wad.
- ``delever snapshot``: the scenario validates, says ``protocol = "aave-v3.0"`` and its
  position report's health factor is the chain's to the wei.
- ``delever book fetch``: scans the Pool's Borrow events from block 0; every generated account
  with debt is a candidate; the accounts kept equal a count made here from the helper's own
  balance reads with the book's documented rule (borrowers.DERIVATION); a few rows' values are
  the chain's ``getUserAccountData``.

Each CLI run goes through a recording proxy (:class:`Recorder`); with
``DELEVER_RECORD_CASSETTES=1`` the position run's exchanges are written to
``tests/sources/fixtures/cassettes/`` for the offline replay test.
"""

from __future__ import annotations

import json
import math
import os
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES
from delever.scenario import load_scenario
from local_json_server import LocalJsonServer

from .conftest import N_ACCOUNTS, SEED
from .localnet import AAVE_VERSION, CHAIN_ID, GeneratedAccount, Market

UINT256_MAX = 2**256 - 1
CASSETTES = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "cassettes"
ETH_ASSETS = ("WETH", "wstETH")  # the book's ETH assets present in this market


class Recorder(LocalJsonServer):
    """A JSON-RPC proxy on 127.0.0.1 that forwards each POST body to ``upstream`` and keeps
    (request, response) pairs, as parsed JSON, in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[dict[str, Any]] = []
        super().__init__(self._forward)

    def _forward(self, body: bytes) -> bytes:
        req = urllib.request.Request(self.upstream, data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as reply:
            payload: bytes = reply.read()
        self.exchanges.append({"request": json.loads(body), "response": json.loads(payload)})
        return payload


@pytest.fixture
def recorder(aave_market: Market) -> Iterator[Recorder]:
    rec = Recorder(aave_market.rpc_url)
    try:
        yield rec
    finally:
        rec.close()


def _head(market: Market) -> int:
    # --block is given: anvil's "finalized" block (the commands' default) lags the head by
    # 64 blocks (anvil's finality rule), before this young market was configured
    return int(market.w3.eth.block_number)


def cli(*argv: str) -> SimpleNamespace:
    result = CliRunner().invoke(app, list(argv))
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def _pick(market: Market) -> dict[str, GeneratedAccount]:
    """Accounts of each kind the position test covers (the seed makes every kind exist)."""
    accounts = market.accounts
    debtors = [a for a in accounts if a.has_debt]
    return {
        "emode": next(a for a in debtors if a.emode_category and len(a.supplied_units) >= 2),
        "emode_single": next(a for a in debtors
                             if a.emode_category and len(a.supplied_units) == 1),
        "multi_collateral": next(a for a in debtors
                                 if not a.emode_category and len(a.supplied_units) == 3),
        "two_debts": next(a for a in debtors
                          if not a.emode_category and len(a.borrowed_units) == 2),
        "no_debt": next(a for a in accounts if not a.has_debt),
    }


def _write_cassette(name: str, rec: Recorder, argv: list[str], expected: dict[str, Any]
                    ) -> None:
    if os.environ.get("DELEVER_RECORD_CASSETTES") != "1":
        return
    CASSETTES.mkdir(parents=True, exist_ok=True)
    shown = ["<rpc>" if a == rec.url else a for a in argv]
    doc = {
        "_about": (
            "JSON-RPC exchanges recorded by tests/chain/test_live_adapters.py (a proxy between "
            "delever's RpcClient and anvil; DELEVER_RECORD_CASSETTES=1) while running "
            f"`delever {' '.join(shown)}` (the --rpc URL was the proxy's, any 127.0.0.1 port) "
            f"against a local Aave v{AAVE_VERSION} market (npm @aave/core-v3@1.19.3 bytecode, "
            f"tests/chain/localnet.py) on anvil 1.7.1, chain id {CHAIN_ID}, accounts generated "
            f"with seed {SEED} ({N_ACCOUNTS} accounts). 'expected' is what the localnet helper "
            "read with web3 and Aave's artifact ABI (Pool.getUserAccountData) at the same "
            "block. Replayed offline by tests/sources/test_cassette_replay.py."),
        "argv": shown,
        "expected": expected,
        "exchanges": rec.exchanges,
    }
    # one exchange a line: readable diffs without the bulk of indenting every batch
    head = json.dumps({k: v for k, v in doc.items() if k != "exchanges"}, indent=1)[:-2]
    lines = ",\n  ".join(json.dumps(e, separators=(",", ":")) for e in rec.exchanges)
    (CASSETTES / f"{name}.json").write_text(f'{head},\n "exchanges": [\n  {lines}\n ]\n}}\n')


def test_position_health_factor_is_the_pools(aave_market: Market, recorder: Recorder) -> None:
    provider = aave_market.provider.address
    for kind, acc in _pick(aave_market).items():
        recorder.exchanges.clear()
        argv = ["position", "--address", acc.address, "--rpc", recorder.url,
                "--market", provider, "--block", str(_head(aave_market)), "--json"]
        done = cli(*argv)
        assert done.code == 0, (kind, done.err)
        out = json.loads(done.out)
        pool = aave_market.user_account_data(acc.address, out["block"])
        assert out["health_factor_wad"] == str(pool.health_factor), kind
        assert out["collateral_usd"] == pool.total_collateral_base / 1e8
        assert out["debt_usd"] == pool.total_debt_base / 1e8
        assert out["available_borrow_usd"] == pool.available_borrows_base / 1e8
        assert (out["liquidation_threshold"], out["ltv"]) == (
            pool.current_liquidation_threshold / 1e4, pool.ltv / 1e4)
        assert out["emode_category_id"] == acc.emode_category
        assert out["rule_set"] == "3.0" and out["model_note"] == ""
        # delever's own exact model of the account read: the same wad under rule set 3.0
        assert out["delever_health_factor_wad"] == str(pool.health_factor), kind
        held = {r["symbol"]: r for r in out["reserves"]}
        assert set(held) == set(acc.supplied_units) | set(acc.borrowed_units)
        # JSON-RPC batches (no Multicall3 here): a few dozen requests, not one per eth_call
        assert out["rpc_calls"] == len(recorder.exchanges) <= 40, out["rpc_calls"]
        if kind == "emode":
            _write_cassette("position_emode_v30", recorder, argv, {
                "address": acc.address, "block": out["block"],
                "health_factor_wad": str(pool.health_factor),
                "total_collateral_base": pool.total_collateral_base,
                "total_debt_base": pool.total_debt_base, "emode_category_id": 1})


def test_snapshot_validates_and_keeps_the_pools_health_factor(
        aave_market: Market, recorder: Recorder, tmp_path: Path) -> None:
    picked = _pick(aave_market)
    for kind in ("emode", "multi_collateral"):
        acc = picked[kind]
        out = tmp_path / f"{kind}.toml"
        done = cli("snapshot", "--rpc", recorder.url, "--market", aave_market.provider.address,
                   "--address", acc.address, "--block", str(_head(aave_market)), "-o", str(out),
                   "--json")
        assert done.code == 0, (kind, done.err)
        payload = json.loads(done.out)
        pool = aave_market.user_account_data(acc.address, payload["block"])
        assert payload["chain_id"] == CHAIN_ID
        assert payload["accounts"][0]["health_factor_wad"] == str(pool.health_factor)
        doc = tomllib.loads(out.read_text())
        assert doc["protocol"] == "aave-v3.0"
        assert doc["accounts"][0].get("emode", False) is bool(acc.emode_category)
        validated = cli("validate", str(out))
        assert validated.code == 0, validated.err
        (account,) = load_scenario(out).position_report().accounts
        assert account.health_factor_wad == pool.health_factor, kind


def _book_outcome(acc: GeneratedAccount, coll: dict[str, int], debt: dict[str, int],
                  lt_bps: int, debt_base: int, prices: dict[str, int]) -> str:
    """The book's rule (borrowers.DERIVATION), from the helper's balanceOf reads."""
    def usd(symbol: str, units: int) -> float:
        return units * prices[symbol] / (RESERVES[symbol].unit * 10**8)

    eth_debt = sum(usd(s, u) for s, u in debt.items() if s in ETH_ASSETS)
    total_debt = debt_base / 1e8
    if total_debt - eth_debt <= max(0.01, 1e-9 * total_debt):
        return "eth_debt_only"
    eth_coll = {s: usd(s, u) for s, u in coll.items() if s in ETH_ASSETS}
    lt = lt_bps / 1e4
    if lt <= 0 or math.fsum(eth_coll.values()) * lt <= eth_debt:
        return "no_net_eth_collateral"
    bonus = RESERVES[max(eth_coll, key=lambda s: eth_coll[s])].liquidation_bonus
    if acc.emode_category:
        bonus = ETH_CORRELATED_EMODE.liquidation_bonus
    return "invalid_parameters" if lt * (1 + bonus) > 1 else "kept"


def test_book_fetch_reads_every_borrower(aave_market: Market, recorder: Recorder,
                                         tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "book.parquet"
    started = time.monotonic()
    done = cli("book", "fetch", "--rpc", recorder.url, "--market",
               aave_market.provider.address, "--from-block", "0", "--block",
               str(_head(aave_market)), "-o", str(out), "--json")
    elapsed = time.monotonic() - started
    assert done.code == 0, done.err
    meta = json.loads(done.out)
    block = int(meta["block"])
    assert meta["chain_id"] == CHAIN_ID and meta["pool"] == aave_market.pool.address
    debtors = [a for a in aave_market.accounts if a.has_debt]
    assert meta["candidates"] == len(debtors)  # one Borrow-event address per account with debt
    snaps = aave_market.read_accounts([a.address for a in debtors], block)
    prices = {s: aave_market.price_base(s, block) for s in aave_market.tokens}
    outcomes: dict[str, int] = {}
    for acc, snap in zip(debtors, snaps, strict=True):
        why = _book_outcome(acc, dict(snap.collateral_units), dict(snap.debt_units),
                            snap.account_data.current_liquidation_threshold,
                            snap.account_data.total_debt_base, prices)
        outcomes[why] = outcomes.get(why, 0) + 1
    assert meta["accounts"] == outcomes.pop("kept") > 0
    assert {k: v for k, v in meta["dropped"].items() if v} == outcomes
    rows = {r["account"]: r for r in pq.read_table(out).to_pylist()}
    assert len(rows) == meta["accounts"]
    by_address = {s.address: s for s in snaps}
    for address in sorted(rows)[:8]:
        row, pool = rows[address], by_address[address].account_data
        assert row["health_factor"] == pool.health_factor / 1e18
        assert row["total_debt_usd"] == pool.total_debt_base / 1e8
        assert row["liquidation_threshold"] == pool.current_liquidation_threshold / 1e4
        assert row["emode_category"] == by_address[address].emode_category
    # JSON-RPC batches keep the ~2,000 eth_calls of 440 borrowers to a few dozen requests
    assert meta["rpc_requests"] == len(recorder.exchanges) <= 60, meta["rpc_requests"]
    assert elapsed < 60
