"""An in-memory Aave v3 market behind the ChainReader protocol, for the borrower-book tests.

Made by hand for these tests (no network, no recorded data): it answers the calls
delever.sources.borrowers makes by decoding their calldata with eth-abi and encoding the
return values of the Solidity signatures cited in that module (aave-dao/aave-v3-origin
IPool.sol, IPoolDataProvider.sol, AaveOracle.sol; mds1/multicall Multicall3.sol). It counts
requests as a JSON-RPC client does: one per eth_getLogs, one per Multicall3 batch of ``chunk``
calls, one for resolve_block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.address import to_checksum_address

from delever.sources import SourceError
from delever.sources.borrowers import (
    ACCOUNT_DATA,
    ASSETS_PRICES,
    BLOCK_TIMESTAMP,
    BORROW_TOPIC,
    EMODE_CONFIG,
    MARKETS,
    MULTICALL3,
    RESERVE_CONFIG,
    USER_EMODE,
    USER_RESERVE,
    selector,
)

MARKET = MARKETS["ethereum-core"]
WETH = MARKET.eth_assets["WETH"]
WSTETH = MARKET.eth_assets["wstETH"]
WEETH = MARKET.eth_assets["weETH"]
E18 = 10**18
E8 = 10**8


def address(i: int) -> str:
    """A made-up account address, checksummed."""
    return to_checksum_address(f"0x{0xA0000000 + i:040x}")


@dataclass
class FakeAccount:
    """One account: totals in base units (USD 1e8), LT in bps, HF in wad, ETH-asset legs."""

    collateral_base: int
    debt_base: int
    lt_bps: int
    hf_wad: int
    emode: int = 0
    # asset -> (aToken balance, stable debt, variable debt, used as collateral), in wei
    legs: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)


@dataclass
class FakeChain:
    """The ChainReader of the tests."""

    accounts: dict[str, FakeAccount]
    logs: list[tuple[int, str]] = field(default_factory=list)  # (block, onBehalfOf)
    head: int = 20_000_000
    timestamp: int = 1_770_000_000
    prices: dict[str, int] = field(default_factory=lambda: {
        WETH: 2000 * E8, WSTETH: 2400 * E8, WEETH: 2100 * E8})
    bonus_bps: dict[str, int] = field(default_factory=lambda: {
        WETH: 10500, WSTETH: 10600, WEETH: 10700})
    emode_configs: dict[int, tuple[int, int, int]] = field(default_factory=lambda: {
        1: (9300, 9550, 10100)})
    max_range: int | None = None  # refuse eth_getLogs over more blocks than this
    fail_logs_at: int | None = None  # the n-th get_logs request (1-based) fails
    calls_made: int = 0
    log_requests: list[tuple[int, int]] = field(default_factory=list)
    eth_calls: int = 0

    def resolve_block(self, block: int | None) -> int:
        self.calls_made += 1
        if block is not None and block > self.head:
            raise SourceError(f"block {block} is after the chain head {self.head}.")
        return self.head if block is None else block

    def get_logs(self, address: str, topics: Sequence[str | None], from_block: int,
                 to_block: int) -> list[dict[str, Any]]:
        self.calls_made += 1
        assert address == MARKET.pool and list(topics) == [BORROW_TOPIC]
        if self.fail_logs_at is not None and self.calls_made >= self.fail_logs_at:
            self.fail_logs_at = None
            raise SourceError("rpc: connection reset by peer")
        if self.max_range is not None and to_block - from_block + 1 > self.max_range:
            raise SourceError(f"rpc: block range too large ({to_block - from_block + 1})")
        self.log_requests.append((from_block, to_block))
        out = []
        for k, (block, user) in enumerate(self.logs):
            if from_block <= block <= to_block:
                word = bytes(12) + bytes.fromhex(user[2:])
                topic: Any = "0x" + word.hex() if k % 2 else word  # hex text or bytes
                out.append({"topics": [BORROW_TOPIC, "0x" + bytes(32).hex(), topic,
                                       "0x" + bytes(32).hex()],
                            "data": "0x", "blockNumber": block})
        return out

    def call_many(self, calls: Sequence[tuple[str, bytes]], block: int, *,
                  chunk: int = 500) -> list[bytes]:
        self.calls_made += math.ceil(len(calls) / chunk)
        self.eth_calls += len(calls)
        assert block <= self.head
        return [self._call(target, data) for target, data in calls]

    def _call(self, target: str, data: bytes) -> bytes:
        sel, args = data[:4], data[4:]
        if target == MULTICALL3 and sel == selector(BLOCK_TIMESTAMP[0]):
            return encode(["uint256"], [self.timestamp])
        if target == MARKET.oracle and sel == selector(ASSETS_PRICES[0]):
            (assets,) = decode(["address[]"], args)
            return encode(["uint256[]"], [[self.prices[to_checksum_address(a)] for a in assets]])
        if target == MARKET.data_provider and sel == selector(RESERVE_CONFIG[0]):
            (asset,) = decode(["address"], args)
            bonus = self.bonus_bps[to_checksum_address(asset)]
            return encode(RESERVE_CONFIG[1], [18, 8000, 8300, bonus, 1500,
                                              True, True, False, True, False])
        if target == MARKET.pool and sel == selector(ACCOUNT_DATA[0]):
            (user,) = decode(["address"], args)
            acc = self.accounts.get(to_checksum_address(user))
            words = [0, 0, 0, 0, 0, 2**256 - 1] if acc is None else [
                acc.collateral_base, acc.debt_base, 0, acc.lt_bps, 0, acc.hf_wad]
            return encode(ACCOUNT_DATA[1], words)
        if target == MARKET.pool and sel == selector(USER_EMODE[0]):
            (user,) = decode(["address"], args)
            return encode(["uint256"], [self.accounts[to_checksum_address(user)].emode])
        if target == MARKET.pool and sel == selector(EMODE_CONFIG[0]):
            (category,) = decode(["uint8"], args)
            return encode(EMODE_CONFIG[1], [self.emode_configs[category]])
        if target == MARKET.data_provider and sel == selector(USER_RESERVE[0]):
            asset, user = decode(["address", "address"], args)
            legs = self.accounts[to_checksum_address(user)].legs
            a_bal, stable, variable, used = legs.get(to_checksum_address(asset),
                                                     (0, 0, 0, False))
            return encode(USER_RESERVE[1], [a_bal, stable, variable, 0, 0, 0, 0, 0, used])
        raise AssertionError(f"unexpected call {target} {sel.hex()}")


def known_accounts() -> dict[str, FakeAccount]:
    """Six accounts with hand-computed book rows (see test_borrowers.py for each)."""
    return {
        # A: 10 WETH ($20,000) against $10,000 of USDC; LT 0.83, HF 1.66.
        address(1): FakeAccount(20_000 * E8, 10_000 * E8, 8300, 166 * E18 // 100,
                                legs={WETH: (10 * E18, 0, 0, True)}),
        # B: e-mode 1, 5 wstETH ($12,000) against 3 WETH ($6,000) + $2,000 USDC; L 0.955.
        address(2): FakeAccount(12_000 * E8, 8_000 * E8, 9550, 1_432_500 * E18 // 10**6,
                                emode=1, legs={WSTETH: (5 * E18, 0, 0, True),
                                               WETH: (0, 0, 3 * E18, False)}),
        # C: 2 WETH ($4,000) + $6,000 WBTC against $5,000 USDT; L 0.80, HF 1.6.
        address(3): FakeAccount(10_000 * E8, 5_000 * E8, 8000, 16 * E18 // 10,
                                legs={WETH: (2 * E18, 0, 0, True),
                                      WEETH: (E18, 0, 0, False)}),  # weETH not collateral
        # D: supplies only: dropped (no debt).
        address(4): FakeAccount(5_000 * E8, 0, 8300, 2**256 - 1,
                                legs={WETH: (5 * E18 // 2, 0, 0, True)}),
        # E: 1 weETH ($2,100) against 0.5 WETH ($1,000) only: dropped (ETH debt only).
        address(5): FakeAccount(2_100 * E8, 1_000 * E8, 8000, 168 * E18 // 100,
                                legs={WEETH: (E18, 0, 0, True), WETH: (0, 0, E18 // 2, False)}),
        # F: $10,000 WBTC against $5,000 USDC: dropped (no ETH collateral).
        address(6): FakeAccount(10_000 * E8, 5_000 * E8, 7800, 156 * E18 // 100),
    }
