"""The borrower book of an Aave v3 market read from the chain at one block.

Three steps, each through a :class:`ChainReader` (the JSON-RPC client,
``delever.sources.chain.rpc.RpcClient``, or a fake in tests):

1. **Who borrowed**: the Pool's ``Borrow`` events, scanned in block ranges of ``chunk_blocks``
   (halved while the node refuses a range as too large, grown back after), or a list of
   addresses. Only ``Borrow`` is scanned, not ``Supply``: every Aave v3 debt starts with a
   ``Borrow`` event (``Pool.borrow`` and a flash loan left open as debt both go through
   ``BorrowLogic.executeBorrow``, which emits it; debt tokens cannot be transferred), and an
   account that only supplied has no debt and would be dropped anyway.
2. **Their totals**: ``Pool.getUserAccountData`` for every address (Multicall3 batches); the
   accounts without debt are dropped here.
3. **Their ETH legs**: for each account with debt, ``Pool.getUserEMode`` and
   ``AaveProtocolDataProvider.getUserReserveData(asset, user)`` for each ETH-correlated asset
   of the book (WETH, wstETH, weETH); once per book the oracle's prices, each asset's
   reserve configuration, the block's timestamp and each e-mode category's bonus. The data
   provider was chosen over ``UiPoolDataProvider.getUserReservesData``: it returns balances
   with the interest index applied and the user's collateral flag, its return layout is the
   same in every v3 release (the UI provider's changed in 3.2), and it costs three small calls
   per account instead of one call returning all ~60 reserves.

The scan is resumable: ``<output>.partial.json`` records the block ranges done and the
addresses found; a rerun with the same market and blocks continues after the last range.

RPC requests for a book of N candidate addresses, D of them with debt (see
:func:`rpc_request_count`), with c calls per Multicall3 batch, K ETH assets, E e-mode
categories in use and a scan of S blocks in ranges of B::

    ceil(S / B)              eth_getLogs (more when the node refuses a range and it halves)
    + ceil((N + K + 2) / c)  getUserAccountData + prices, timestamp, K reserve configurations
    + ceil(D * (K + 1) / c)  getUserEMode + K getUserReserveData per account with debt
    + ceil(E / c)            e-mode category configurations
    + 1                      the block number (resolve_block)
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from eth_abi.abi import decode, encode
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from delever._io import atomic_write_text
from delever.book.loaders import write_book_parquet
from delever.sources import SourceError
from delever.sources.chain.markets import MARKETS as CHAIN_MARKETS
from delever.sources.chain.rpc import MULTICALL3

# --- the market ---------------------------------------------------------------------------

# Multicall3 (the chain reader's): it also serves getCurrentBlockTimestamp()
# (mds1/multicall src/Multicall3.sol).


@dataclass(frozen=True)
class AaveMarket:
    """Addresses of one Aave v3 market and the ETH-correlated assets of its book."""

    name: str
    chain_id: int
    pool: str
    data_provider: str
    oracle: str
    pool_from_block: int  # the Pool proxy's creation block: the scan's default start
    eth_assets: Mapping[str, str]  # book asset symbol -> underlying token address
    weth: str = "WETH"  # the asset whose oracle price is "the ETH price"


# The Pool, data provider and oracle: the chain reader's market registry
# (delever.sources.chain.markets, from bgd-labs/aave-address-book). The underlying tokens:
# bgd-labs/aave-address-book @ f61c97628307d387ca93a78578970fe6db885029,
# src/AaveV3Ethereum.sol WETH_UNDERLYING, wstETH_UNDERLYING, weETH_UNDERLYING. Block 16291127:
# the Aave v3 Ethereum Pool's deployment block as public indexers use it (e.g. cryo scripts
# scanning "--blocks 16291127:latest"), not checked against Etherscan here; a too-early
# --from-block only costs empty ranges, a too-late one misses borrowers, so give
# --from-block where in doubt.
_CORE = CHAIN_MARKETS["ethereum-core"]
MARKETS: dict[str, AaveMarket] = {
    "ethereum-core": AaveMarket(
        name=_CORE.name,
        chain_id=_CORE.chain_id,
        pool=_CORE.pool,
        data_provider=_CORE.protocol_data_provider,
        oracle=_CORE.oracle,
        pool_from_block=16_291_127,
        eth_assets={
            "WETH": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            "wstETH": "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0",
            "weETH": "0xCd5fE23C85820F7B72D0926FC9b05b43E359b7ee",
        },
    ),
}

# --- ABI -------------------------------------------------------------------------------------

# aave-dao/aave-v3-origin @ fd1fbd9150426ca8ace9cee45b4acf912ae84f5b,
# src/contracts/interfaces/IPool.sol: event Borrow(address indexed reserve, address user,
# address indexed onBehalfOf, uint256 amount, DataTypes.InterestRateMode interestRateMode,
# uint256 borrowRate, uint16 indexed referralCode); the enum is a uint8 in the ABI. topics[2] is
# onBehalfOf, the account that holds the debt.
BORROW_EVENT = "Borrow(address,address,address,uint256,uint8,uint256,uint16)"
BORROW_TOPIC = "0x" + keccak(text=BORROW_EVENT).hex()
# = 0xb3d084820fb1a9decffb176436bd02558d15fac9b0ddfed8c465bc7359d7dce0 (tests check it)

# Same commit: IPool.sol getUserAccountData(address) -> (totalCollateralBase, totalDebtBase,
# availableBorrowsBase, currentLiquidationThreshold, ltv, healthFactor), all uint256;
# getUserEMode(address) -> uint256; getEModeCategoryCollateralConfig(uint8) ->
# DataTypes.CollateralConfig(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus).
ACCOUNT_DATA = ("getUserAccountData(address)", ["uint256"] * 6)
USER_EMODE = ("getUserEMode(address)", ["uint256"])
EMODE_CONFIG = ("getEModeCategoryCollateralConfig(uint8)", ["(uint16,uint16,uint16)"])
# Same commit: src/contracts/interfaces/IPoolDataProvider.sol getUserReserveData(asset, user)
# -> (currentATokenBalance, currentStableDebt, currentVariableDebt, principalStableDebt,
# scaledVariableDebt, stableBorrowRate, liquidityRate, uint40 stableRateLastUpdated,
# bool usageAsCollateralEnabled); getReserveConfigurationData(asset) -> (decimals, ltv,
# liquidationThreshold, liquidationBonus, reserveFactor, 5 bools).
USER_RESERVE = ("getUserReserveData(address,address)", ["uint256"] * 7 + ["uint40", "bool"])
RESERVE_CONFIG = ("getReserveConfigurationData(address)", ["uint256"] * 5 + ["bool"] * 5)
# Same commit: src/contracts/misc/AaveOracle.sol getAssetsPrices(address[]) -> uint256[], in
# the base currency (USD, BASE_CURRENCY_UNIT 1e8 on Ethereum).
ASSETS_PRICES = ("getAssetsPrices(address[])", ["uint256[]"])
# A v3.0/v3.1 pool has no getEModeCategoryCollateralConfig (it reverts there); its getter is
# aave/aave-v3-core @ v1.19.3 contracts/interfaces/IPool.sol line 658 getEModeCategoryData(uint8)
# -> DataTypes.EModeCategory(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus,
# address priceSource, string label) (DataTypes.sol lines 72-80).
EMODE_DATA_V30 = ("getEModeCategoryData(uint8)", ["(uint16,uint16,uint16,address,string)"])
# For a market given by its PoolAddressesProvider (aave-v3-origin IPoolAddressesProvider.sol,
# the same in aave-v3-core 1.19.3): getPool(), getPriceOracle(), getPoolDataProvider() ->
# address; IPoolDataProvider.getAllReservesTokens() -> (string symbol, address)[].
PROVIDER_GETTERS = (("getPool()", ["address"]), ("getPriceOracle()", ["address"]),
                    ("getPoolDataProvider()", ["address"]))
ALL_RESERVES_TOKENS = ("getAllReservesTokens()", ["(string,address)[]"])
# mds1/multicall src/Multicall3.sol: getCurrentBlockTimestamp() -> uint256.
BLOCK_TIMESTAMP = ("getCurrentBlockTimestamp()", ["uint256"])

BASE_UNIT = 1e8  # Aave v3 base currency: USD with 8 decimals (AaveOracle BASE_CURRENCY_UNIT)
BPS = 1e4  # liquidation threshold and bonus in basis points (PercentageMath)
WAD = 1e18  # health factor


def selector(signature: str) -> bytes:
    """The 4-byte function selector of ``signature``."""
    return keccak(text=signature)[:4]


def calldata(function: tuple[str, list[str]], args_types: Sequence[str],
             args: Sequence[Any]) -> bytes:
    """Selector of ``function`` followed by its ABI-encoded arguments."""
    return selector(function[0]) + encode(list(args_types), list(args))


def _decode(function: tuple[str, list[str]], data: bytes, what: str) -> tuple[Any, ...]:
    try:
        return tuple(decode(function[1], data))
    except Exception as exc:  # eth_abi raises several types for short or bad data
        raise SourceError(f"{function[0]} for {what}: cannot decode the return data "
                          f"({len(data)} bytes: {type(exc).__name__}); is this an Aave v3 "
                          "market at this block?") from None


# --- the reader the client provides ----------------------------------------------------------


class ChainReader(Protocol):
    """What the book needs from a JSON-RPC client (``delever.sources.chain.rpc.RpcClient``)."""

    calls_made: int  # RPC requests sent so far

    def resolve_block(self, block: int | None) -> int:
        """``block``, checked against the chain head, or the latest block for None."""
        ...

    def call_many(self, calls: Sequence[tuple[str, bytes]], block: int, *,
                  chunk: int = 500) -> list[bytes]:
        """Return data of each ``(target, calldata)`` eth_call at ``block``, Multicall3-batched."""
        ...

    def get_logs(self, address: str, topics: Sequence[str | None], from_block: int,
                 to_block: int) -> list[dict[str, Any]]:
        """Logs of ``address`` matching ``topics`` in ``[from_block, to_block]``."""
        ...


# --- scanning Borrow events -------------------------------------------------------------------

STATE_VERSION = 1
# Words in a node's refusal of a too-large eth_getLogs range (geth "block range too large",
# Infura "query returned more than 10000 results", Alchemy "Log response size exceeded",
# QuickNode "limited to a 10,000 range"): halve the range on these, fail on anything else.
_TOO_LARGE = re.compile(r"range|limit|too many|too large|exceed|more than|response size", re.I)
SAVE_EVERY_S = 1.0  # state written at most this often while scanning (and on any failure)

ScanProgress = Callable[[int, int], None]  # (blocks done, blocks in all)


@dataclass
class ScanState:
    """The sidecar file's content: what was scanned and found (mutable while scanning)."""

    market: str
    pool: str
    from_block: int
    to_block: int
    ranges: list[tuple[int, int]] = field(default_factory=list)  # completed, contiguous
    addresses: dict[str, None] = field(default_factory=dict)  # insertion-ordered set

    @property
    def next_block(self) -> int:
        """First block not scanned yet."""
        return self.ranges[-1][1] + 1 if self.ranges else self.from_block

    def to_json(self) -> str:
        """The state as the sidecar's JSON text."""
        return json.dumps({
            "_about": "delever book fetch: Borrow-event scan in progress; a rerun with the same "
                      "market and blocks continues after the last range. Delete to start over.",
            "version": STATE_VERSION, "market": self.market, "pool": self.pool,
            "from_block": self.from_block, "to_block": self.to_block,
            "ranges": [list(r) for r in self.ranges], "addresses": list(self.addresses),
        }, indent=1)

    @classmethod
    def read(cls, path: Path) -> ScanState:
        """Read a sidecar file; a malformed one is one error line."""
        try:
            data = json.loads(path.read_text("utf-8"))
            state = cls(str(data["market"]), str(data["pool"]), int(data["from_block"]),
                        int(data["to_block"]),
                        [(int(a), int(b)) for a, b in data["ranges"]],
                        dict.fromkeys(str(a) for a in data["addresses"]))
            if data["version"] != STATE_VERSION:
                raise ValueError("version")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"{path}: not a readable scan state ({type(exc).__name__}); "
                              "delete it to start the scan over.") from None
        return state


def partial_path(output: Path) -> Path:
    """The sidecar state file of ``output``: ``book.parquet`` -> ``book.parquet.partial.json``."""
    return output.with_name(output.name + ".partial.json")


def load_or_start_state(path: Path, market: AaveMarket, from_block: int,
                        to_block: int | None) -> ScanState | None:
    """The state of an earlier run with the same arguments, or None where there is none.

    ``to_block`` None (no ``--block``) resumes at the block the earlier run pinned. A state
    for other arguments is refused (one line), never silently overwritten.
    """
    if not path.exists():
        return None
    state = ScanState.read(path)
    same = (state.market == market.name and state.pool == market.pool
            and state.from_block == from_block and to_block in (None, state.to_block))
    if not same:
        raise SourceError(
            f"{path} holds a scan of {state.market} blocks {state.from_block}..{state.to_block}"
            f", not of {market.name} blocks {from_block}..{to_block or 'latest'}; give the same "
            "arguments to resume, or delete the file to start over.")
    return state


def _address_from_topic(topic: Any) -> str:
    raw = bytes.fromhex(topic[2:] if topic.startswith("0x") else topic) \
        if isinstance(topic, str) else bytes(topic)
    if len(raw) != 32:
        raise SourceError(f"Borrow log topic of {len(raw)} bytes, expected 32.")
    return to_checksum_address(raw[-20:])


def _borrowers_in_logs(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    found = []
    for log in logs:
        topics = log.get("topics") or []
        if len(topics) < 3:
            raise SourceError(f"a Borrow log with {len(topics)} topics (expected 4) in block "
                              f"{log.get('blockNumber')!r}; is the address the Aave v3 Pool?")
        found.append(_address_from_topic(topics[2]))
    return found


def _logs_or_shrink(chain: ChainReader, pool: str, start: int, end: int) -> \
        tuple[list[dict[str, Any]], int]:
    """Logs of ``[start, end']`` with ``end'`` halved toward ``start`` while the node refuses."""
    while True:
        try:
            return chain.get_logs(pool, [BORROW_TOPIC], start, end), end
        except SourceError as exc:
            if end == start or not _TOO_LARGE.search(str(exc)):
                raise
            end = start + (end - start + 1) // 2 - 1


def scan_borrowers(chain: ChainReader, state: ScanState, *, chunk_blocks: int,
                   save: Callable[[ScanState], None],
                   progress: ScanProgress | None = None) -> list[str]:
    """Scan ``Borrow`` events from ``state.next_block`` to ``state.to_block``; return borrowers.

    ``save`` is called with the state at most every :data:`SAVE_EVERY_S` seconds, at the end,
    and before any failure propagates, so a rerun resumes after the last completed range.
    """
    now = time.monotonic
    if chunk_blocks < 1:
        raise SourceError(f"chunk_blocks={chunk_blocks} must be at least 1, e.g. 10000.")
    total = state.to_block - state.from_block + 1
    size, last_save = chunk_blocks, now()
    try:
        while state.next_block <= state.to_block:
            start = state.next_block
            logs, end = _logs_or_shrink(chain, state.pool, start,
                                        min(start + size - 1, state.to_block))
            size = end - start + 1 if end - start + 1 < size else min(size * 2, chunk_blocks)
            state.addresses.update(dict.fromkeys(_borrowers_in_logs(logs)))
            state.ranges.append((start, end))
            if len(state.ranges) > 1:  # keep the file small: merge contiguous ranges
                state.ranges[-2:] = [(state.ranges[-2][0], end)]
            if progress is not None:
                progress(end - state.from_block + 1, total)
            if now() - last_save >= SAVE_EVERY_S:
                save(state)
                last_save = now()
    except BaseException:
        save(state)
        raise
    save(state)
    return list(state.addresses)


def read_address_file(path: Path) -> list[str]:
    """Addresses from a text file, one per line (``#`` comments and blank lines skipped)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise SourceError(f"--addresses={str(path)!r}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"--addresses={str(path)!r}: cannot be read "
                          f"({type(exc).__name__}); give a UTF-8 text file.") from None
    found: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip().strip(",")
        if not text:
            continue
        if not is_address(text):
            raise SourceError(f"{path}: line {number}: {text[:50]!r} is not an address; give "
                              "one 0x-prefixed 20-byte address per line.")
        found[to_checksum_address(text)] = None
    if not found:
        raise SourceError(f"{path}: no addresses; give one 0x-prefixed address per line.")
    return list(found)


def save_state_to(path: Path) -> Callable[[ScanState], None]:
    """A ``save`` for :func:`scan_borrowers` writing the sidecar atomically at ``path``."""
    def save(state: ScanState) -> None:
        atomic_write_text(path, state.to_json(), option="state file")
    return save


# --- account data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    """One account of the book, as the Parquet file holds it (amounts in USD or ETH)."""

    account: str
    collateral_eth: float
    debt_usd: float
    liquidation_threshold: float
    liquidation_bonus: float
    emode: bool
    asset: str
    health_factor: float  # on chain, at the block
    eth_collateral_usd: float
    eth_debt_usd: float
    other_collateral_usd: float
    total_debt_usd: float
    emode_category: int


@dataclass(frozen=True)
class ChainBook:
    """The accounts kept and what was dropped, with the block's facts."""

    rows: tuple[BookRow, ...]
    block: int
    block_time: datetime | None
    eth_price_usd: float
    dropped: Mapping[str, int]
    candidates: int


@dataclass(frozen=True)
class _Reserve:
    address: str
    price_usd: float
    price_base: int  # the oracle's integer price (USD, 8 decimals)
    decimals: int
    liquidation_bonus: float  # above 1, e.g. 0.05


def _book_calls(market: AaveMarket) -> list[tuple[str, bytes]]:
    assets = list(market.eth_assets.values())
    return [(MULTICALL3, selector(BLOCK_TIMESTAMP[0])),
            (market.oracle, calldata(ASSETS_PRICES, ["address[]"], [assets]))] + \
           [(market.data_provider, calldata(RESERVE_CONFIG, ["address"], [a])) for a in assets]


def _reserves(market: AaveMarket, results: Sequence[bytes]) -> \
        tuple[dict[str, _Reserve], datetime | None]:
    block_time = None
    if results[0]:  # Multicall3 without getCurrentBlockTimestamp: time unknown, not fatal
        (stamp,) = _decode(BLOCK_TIMESTAMP, results[0], "the block")
        block_time = datetime.fromtimestamp(int(stamp), tz=UTC)
    (prices,) = _decode(ASSETS_PRICES, results[1], "the ETH assets")
    if len(prices) != len(market.eth_assets):
        raise SourceError(f"getAssetsPrices returned {len(prices)} prices for "
                          f"{len(market.eth_assets)} assets.")
    reserves = {}
    for k, (symbol, address) in enumerate(market.eth_assets.items()):
        config = _decode(RESERVE_CONFIG, results[2 + k], symbol)
        price_usd = prices[k] / BASE_UNIT
        if price_usd <= 0:
            raise SourceError(f"the oracle prices {symbol} at {prices[k]}; no price at this "
                              "block (before the asset was listed?).")
        reserves[symbol] = _Reserve(address, price_usd, int(prices[k]), int(config[0]),
                                    config[3] / BPS - 1.0)
    return reserves, block_time


@dataclass(frozen=True)
class _Account:
    collateral_usd: float
    debt_usd: float
    liquidation_threshold: float
    health_factor: float


def _accounts(addresses: Sequence[str], results: Sequence[bytes]) -> dict[str, _Account]:
    out = {}
    for address, data in zip(addresses, results, strict=True):
        words = _decode(ACCOUNT_DATA, data, address)
        out[address] = _Account(words[0] / BASE_UNIT, words[1] / BASE_UNIT, words[3] / BPS,
                                words[5] / WAD)
    return out


@dataclass(frozen=True)
class _EthLegs:
    emode_category: int
    collateral_usd: dict[str, float]  # per asset, only where used as collateral
    debt_usd: float


def _legs_calls(market: AaveMarket, debtors: Sequence[str]) -> list[tuple[str, bytes]]:
    calls = []
    for user in debtors:
        calls.append((market.pool, calldata(USER_EMODE, ["address"], [user])))
        calls.extend((market.data_provider,
                      calldata(USER_RESERVE, ["address", "address"], [asset, user]))
                     for asset in market.eth_assets.values())
    return calls


def _legs(debtors: Sequence[str], results: Sequence[bytes],
          reserves: Mapping[str, _Reserve]) -> dict[str, _EthLegs]:
    per_user = 1 + len(reserves)
    out = {}
    for i, user in enumerate(debtors):
        block = results[i * per_user:(i + 1) * per_user]
        (category,) = _decode(USER_EMODE, block[0], user)
        collateral: dict[str, float] = {}
        debt_usd = 0.0
        for (symbol, reserve), data in zip(reserves.items(), block[1:], strict=True):
            words = _decode(USER_RESERVE, data, f"{user} {symbol}")
            # integer / integer: one correctly rounded division (wei x base price -> USD)
            unit = 10**reserve.decimals * int(BASE_UNIT)
            if words[8] and words[0] > 0:
                collateral[symbol] = words[0] * reserve.price_base / unit
            debt_usd += (words[1] + words[2]) * reserve.price_base / unit
        out[user] = _EthLegs(int(category), collateral, debt_usd)
    return out


# What collateral_eth and debt_usd mean in the file (written into its metadata).
DERIVATION = (
    "From getUserAccountData (totals, weighted LT, health factor) and the data provider's "
    "getUserReserveData for WETH, wstETH and weETH at the Aave oracle's prices. "
    "C = those assets' collateral (where enabled as collateral) in ETH at the WETH price; "
    "E = the account's debt in those assets, in ETH; L = the account's weighted liquidation "
    "threshold. collateral_eth = C - E/L and debt_usd = all other debt (USD), so that, with "
    "no other collateral, the book's liquidation price equals the account's when every "
    "ETH-correlated asset moves with ETH (and its health factor too where E = 0). "
    "APPROXIMATED: collateral outside those three assets (other_collateral_usd: WBTC, "
    "stablecoins, rETH, cbETH, ...) is left out, so the book's health factor is lower than "
    "the chain's for such accounts; all non-ETH debt is treated as stablecoin debt; "
    "wstETH/weETH are assumed to keep their oracle ratio to ETH. liquidation_bonus: the "
    "e-mode category's where the account is in e-mode, else the reserve's of the account's "
    "largest ETH collateral. Dropped: accounts without debt, accounts whose debt is all in "
    "ETH-correlated assets (an ETH move alone does not liquidate them), accounts with no net "
    "ETH collateral (C*L <= E), and accounts whose L*(1+bonus) > 1 (the book's rule)."
)


def _row(user: str, account: _Account, legs: _EthLegs, reserves: Mapping[str, _Reserve],
         emode_bonus: Mapping[int, float], eth_price_usd: float) -> tuple[BookRow | None, str]:
    lt = account.liquidation_threshold
    eth_collateral_usd = math.fsum(legs.collateral_usd.values())
    other_debt_usd = account.debt_usd - legs.debt_usd
    if other_debt_usd <= max(0.01, 1e-9 * account.debt_usd):
        return None, "eth_debt_only"
    if lt <= 0 or eth_collateral_usd * lt <= legs.debt_usd:
        return None, "no_net_eth_collateral"
    asset = max(legs.collateral_usd, key=lambda s: legs.collateral_usd[s])
    bonus = reserves[asset].liquidation_bonus
    if legs.emode_category and emode_bonus.get(legs.emode_category, 0.0) > 0:
        bonus = emode_bonus[legs.emode_category]
    if lt * (1.0 + bonus) > 1.0 or bonus < 0:
        return None, "invalid_parameters"
    row = BookRow(
        account=user,
        collateral_eth=(eth_collateral_usd - legs.debt_usd / lt) / eth_price_usd,
        debt_usd=other_debt_usd, liquidation_threshold=lt, liquidation_bonus=bonus,
        emode=legs.emode_category != 0, asset=asset, health_factor=account.health_factor,
        eth_collateral_usd=eth_collateral_usd, eth_debt_usd=legs.debt_usd,
        other_collateral_usd=max(account.collateral_usd - eth_collateral_usd, 0.0),
        total_debt_usd=account.debt_usd, emode_category=legs.emode_category)
    return row, "kept"


def read_book(chain: ChainReader, market: AaveMarket, addresses: Sequence[str], block: int,
              *, batch: int = 500) -> ChainBook:
    """The book of ``addresses`` at ``block`` (see the module notes for what is read)."""
    head = _book_calls(market)
    first = chain.call_many(
        head + [(market.pool, calldata(ACCOUNT_DATA, ["address"], [u])) for u in addresses],
        block, chunk=batch)
    reserves, block_time = _reserves(market, first[:len(head)])
    accounts = _accounts(addresses, first[len(head):])
    debtors = [u for u in addresses if accounts[u].debt_usd > 0]
    dropped = {"no_debt": len(addresses) - len(debtors)}
    legs = _legs(debtors, chain.call_many(_legs_calls(market, debtors), block, chunk=batch)
                 if debtors else [], reserves)
    categories = sorted({leg.emode_category for leg in legs.values() if leg.emode_category})
    emode_bonus: dict[int, float] = {}
    if categories:
        emode_bonus = _emode_bonuses(chain, market, categories, block, batch)
    eth_price_usd = reserves[market.weth].price_usd
    rows = []
    for user in debtors:
        row, outcome = _row(user, accounts[user], legs[user], reserves, emode_bonus,
                            eth_price_usd)
        if row is None:
            dropped[outcome] = dropped.get(outcome, 0) + 1
        else:
            rows.append(row)
    return ChainBook(tuple(rows), block, block_time, eth_price_usd, dropped, len(addresses))


def _emode_bonuses(chain: ChainReader, market: AaveMarket, categories: Sequence[int],
                   block: int, batch: int) -> dict[int, float]:
    """Each category's liquidation bonus (above 1): the v3.2+ getter, else v3.0's."""
    getter = EMODE_CONFIG
    try:
        results = chain.call_many(
            [(market.pool, calldata(EMODE_CONFIG, ["uint8"], [c])) for c in categories],
            block, chunk=batch)
    except SourceError as exc:
        if " reverted at block " not in str(exc):
            raise
        getter = EMODE_DATA_V30
        results = chain.call_many(
            [(market.pool, calldata(EMODE_DATA_V30, ["uint8"], [c])) for c in categories],
            block, chunk=batch)
    out = {}
    for category, data in zip(categories, results, strict=True):
        ((_ltv, _lt, bonus_bps, *_),) = _decode(getter, data, f"e-mode {category}")
        out[category] = bonus_bps / BPS - 1.0 if bonus_bps else 0.0
    return out


def market_at_provider(chain: ChainReader, provider: str, block: int | None,
                       chain_id: int) -> AaveMarket:
    """The book market of the pool whose PoolAddressesProvider is ``provider`` (a market not
    in :data:`MARKETS`, e.g. on a test chain): its Pool, oracle and data provider, and the
    ETH assets of :data:`MARKETS` found by symbol in its reserves. The scan starts at block 0
    unless --from-block is given."""
    at = chain.resolve_block(block)
    raw = chain.call_many([(provider, selector(fn[0])) for fn in PROVIDER_GETTERS], at)
    pool, oracle, data_provider = (
        to_checksum_address(_decode(fn, data, f"PoolAddressesProvider {provider}")[0])
        for fn, data in zip(PROVIDER_GETTERS, raw, strict=True))
    (tokens,) = _decode(ALL_RESERVES_TOKENS, chain.call_many(
        [(data_provider, selector(ALL_RESERVES_TOKENS[0]))], at)[0], "the reserves")
    by_symbol = {str(sym).lower(): to_checksum_address(addr) for sym, addr in tokens}
    eth_assets = {s: by_symbol[s.lower()] for s in MARKETS["ethereum-core"].eth_assets
                  if s.lower() in by_symbol}
    if "WETH" not in eth_assets:
        raise SourceError(f"the pool of PoolAddressesProvider {provider} has no WETH reserve "
                          f"at block {at}; the book needs one.")
    return AaveMarket(name=f"provider-{to_checksum_address(provider)[:10]}", chain_id=chain_id,
                      pool=pool, data_provider=data_provider, oracle=oracle, pool_from_block=0,
                      eth_assets=eth_assets)


@dataclass(frozen=True)
class FetchRequest:
    """What ``delever book fetch`` was asked for."""

    market: AaveMarket
    output: Path
    block: int | None = None  # None: the latest (or the block an interrupted scan pinned)
    from_block: int | None = None  # None: the Pool's creation block
    addresses: tuple[str, ...] | None = None  # given: no scan
    chunk_blocks: int = 10_000
    batch: int = 500
    source: str = "json-rpc"  # the RPC endpoint, redacted, for the metadata


def fetch_book(chain: ChainReader, request: FetchRequest, *,
               progress: ScanProgress | None = None) -> tuple[ChainBook, dict[str, Any]]:
    """Scan (or take) the borrowers, read their accounts, write the Parquet book atomically.

    Returns the book and the metadata written. The sidecar ``<output>.partial.json`` is kept
    on failure (a rerun resumes) and removed once the book is written.
    """
    market, state_path = request.market, partial_path(request.output)
    from_block = market.pool_from_block if request.from_block is None else request.from_block
    state = None
    if request.addresses is None:
        state = load_or_start_state(state_path, market, from_block, request.block)
    block = chain.resolve_block(request.block if state is None else state.to_block)
    if request.addresses is not None:
        addresses, scanned = list(request.addresses), None
    else:
        if from_block > block:
            raise SourceError(f"--from-block={from_block} is after the block {block}; give "
                              "an earlier start.")
        state = state or ScanState(market.name, market.pool, from_block, block)
        addresses = scan_borrowers(chain, state, chunk_blocks=request.chunk_blocks,
                                   save=save_state_to(state_path), progress=progress)
        scanned = (from_block, block)
    book = read_book(chain, market, addresses, block, batch=request.batch)
    if not book.rows:  # the scan's state stays: a rerun does not scan again
        dropped = ", ".join(f"{n} {why}" for why, n in book.dropped.items() if n) or "none"
        raise SourceError(f"none of the {book.candidates} addresses holds a book position at "
                          f"block {block} (dropped: {dropped}); nothing written.")
    metadata = book_metadata(book, request, scanned, chain.calls_made)
    write_book_parquet(request.output, [vars(row) for row in book.rows], metadata)
    state_path.unlink(missing_ok=True)
    return book, metadata


def book_metadata(book: ChainBook, request: FetchRequest, scanned: tuple[int, int] | None,
                  rpc_requests: int) -> dict[str, Any]:
    """The Parquet file's metadata: where, when and how the book was read."""
    market = request.market
    how = (f"Borrow events of the Pool, blocks {scanned[0]}..{scanned[1]}" if scanned
           else f"{book.candidates} addresses given (--addresses)")
    return {
        "format": "delever-book/1",
        "market": market.name,
        "chain_id": market.chain_id,
        "pool": market.pool,
        "block": book.block,
        "block_time": None if book.block_time is None else book.block_time.isoformat(),
        "eth_price_usd": book.eth_price_usd,
        "eth_price_source": f"Aave oracle {market.oracle} price of WETH at block {book.block}",
        "source": f"Aave v3 {market.name} (chain {market.chain_id}) at block {book.block} via "
                  f"{request.source}; borrowers: {how}",
        "collateral_eth_derivation": DERIVATION,
        "candidates": book.candidates,
        "accounts": len(book.rows),
        "dropped": dict(book.dropped),
        "rpc_requests": rpc_requests,
        "created_by": "delever book fetch",
    }


def rpc_request_count(n_candidates: int, n_debtors: int, *, n_assets: int = 3,
                      n_categories: int = 1, batch: int = 500, scan_blocks: int = 0,
                      chunk_blocks: int = 10_000) -> int:
    """RPC requests of a book fetch (the module notes' formula), with no refused range."""
    def batches(n: int) -> int:
        return -(-n // batch)

    return (1 + -(-scan_blocks // chunk_blocks) + batches(n_candidates + n_assets + 2)
            + batches(n_debtors * (n_assets + 1)) + batches(n_categories if n_debtors else 0))


__all__ = [
    "BORROW_EVENT",
    "BORROW_TOPIC",
    "DERIVATION",
    "MARKETS",
    "MULTICALL3",
    "AaveMarket",
    "BookRow",
    "ChainBook",
    "ChainReader",
    "FetchRequest",
    "ScanState",
    "book_metadata",
    "calldata",
    "fetch_book",
    "load_or_start_state",
    "market_at_provider",
    "partial_path",
    "read_address_file",
    "read_book",
    "rpc_request_count",
    "save_state_to",
    "scan_borrowers",
    "selector",
]
