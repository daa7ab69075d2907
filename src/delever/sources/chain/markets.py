"""Aave v3 markets the chain reader knows, and the contracts found through their provider.

Addresses are from bgd-labs/aave-address-book (MIT) @ f61c97628307d387ca93a78578970fe6db885029
(files last changed in 4af322da7fc5f3df289fb84b6c82b2ffcf25861b): ``src/AaveV3Ethereum.sol``
(the Core market) and ``src/AaveV3EthereumLido.sol`` (the market Aave's app calls "Prime";
``scripts/configs/pools/ethereum.ts`` names it ``EthereumLido``). Only the
PoolAddressesProvider is trusted as fixed: :func:`resolve_market` asks it for the Pool, the
oracle and the data provider at the block read, so a moved contract is found; the address-book
values of those are kept as the record's defaults and for the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from delever.errors import unknown_name
from delever.sources import SourceError
from delever.sources.chain import abi
from delever.sources.chain.rpc import MULTICALL3, RpcClient, is_address

_BOOK = "bgd-labs/aave-address-book@f61c9762"


@dataclass(frozen=True)
class AaveMarket:
    """One Aave v3 market (pool instance) on one chain.

    Attributes
    ----------
    name
        delever's name for it (``ethereum-core``).
    chain_id
        EVM chain id (1: Ethereum).
    pool_addresses_provider, pool, oracle, protocol_data_provider, ui_pool_data_provider
        Contract addresses (checksummed). After :func:`resolve_market`, ``pool``, ``oracle``
        and ``protocol_data_provider`` are the ones the provider returned at a block.
    multicall
        Multicall3 address.
    source
        Where the addresses come from (and, once resolved, the block).
    """

    name: str
    chain_id: int
    pool_addresses_provider: str
    pool: str
    oracle: str
    protocol_data_provider: str
    ui_pool_data_provider: str
    multicall: str
    source: str


MARKETS: Mapping[str, AaveMarket] = MappingProxyType({
    "ethereum-core": AaveMarket(
        name="ethereum-core",
        chain_id=1,
        # AaveV3Ethereum.POOL_ADDRESSES_PROVIDER, .POOL, .ORACLE, .AAVE_PROTOCOL_DATA_PROVIDER,
        # .UI_POOL_DATA_PROVIDER
        pool_addresses_provider="0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e",
        pool="0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2",
        oracle="0x54586bE62E3c3580375aE3723C145253060Ca0C2",
        protocol_data_provider="0x0a16f2FCC0D44FaE41cc54e079281D84A363bECD",
        ui_pool_data_provider="0x56b7A1012765C285afAC8b8F25C69Bf10ccfE978",
        multicall=MULTICALL3,
        source=f"{_BOOK} src/AaveV3Ethereum.sol",
    ),
    "ethereum-prime": AaveMarket(
        name="ethereum-prime",
        chain_id=1,
        # AaveV3EthereumLido.POOL_ADDRESSES_PROVIDER, .POOL, .ORACLE,
        # .AAVE_PROTOCOL_DATA_PROVIDER, .UI_POOL_DATA_PROVIDER
        pool_addresses_provider="0xcfBf336fe147D643B9Cb705648500e101504B16d",
        pool="0x4e033931ad43597d96D6bcc25c280717730B58B1",
        oracle="0xE3C061981870C0C7b1f3C4F4bB36B95f1F260BE6",
        protocol_data_provider="0xB85B2bFEbeC4F5f401dbf92ac147A3076391fCD5",
        ui_pool_data_provider="0x56b7A1012765C285afAC8b8F25C69Bf10ccfE978",
        multicall=MULTICALL3,
        source=f"{_BOOK} src/AaveV3EthereumLido.sol",
    ),
})
DEFAULT_MARKET = "ethereum-core"


ANY_CHAIN = 0  # chain_id of a market given by its provider: the node's chain, whatever it is


def get_market(name: str) -> AaveMarket:
    """The market called ``name``, or the one whose PoolAddressesProvider is at ``name``
    (``0x`` + 40 hex: a market not in the registry, e.g. a local or test chain; its chain is
    the node's and its other contracts are asked of the provider); an unknown name gets close
    matches."""
    if name in MARKETS:
        return MARKETS[name]
    if is_address(name):
        provider = checksum(name)
        return AaveMarket(name=f"provider-{provider[:10]}", chain_id=ANY_CHAIN,
                          pool_addresses_provider=provider, pool="", oracle="",
                          protocol_data_provider="", ui_pool_data_provider="",
                          multicall=MULTICALL3, source=f"PoolAddressesProvider {provider}")
    raise SourceError(str(unknown_name("--market", name, MARKETS)))


def expected_chain_id(market: AaveMarket) -> int | None:
    """The chain id an RPC for ``market`` must report (None: any, for a provider address)."""
    return None if market.chain_id == ANY_CHAIN else market.chain_id


def checksum(address: str) -> str:
    """EIP-55 checksummed ``address``."""
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


def require_code(client: RpcClient, address: str, what: str, block: int) -> None:
    """One line when ``address`` has no code at ``block`` (wrong chain, market or block)."""
    if not client.get_code(address, block):
        raise SourceError(
            f"{what} {address} is not a contract at block {block} (no code); check the "
            "market, the chain and the block."
        )


def resolve_market(client: RpcClient, market: AaveMarket, block: int) -> AaveMarket:
    """``market`` with the Pool, oracle and data provider its provider names at ``block``."""
    provider = market.pool_addresses_provider
    require_code(client, provider, f"{market.name} PoolAddressesProvider", block)
    fns = (abi.GET_POOL, abi.GET_PRICE_ORACLE, abi.GET_POOL_DATA_PROVIDER)
    raw = client.call_many([(provider, fn.encode()) for fn in fns], block,
                           labels=[fn.label for fn in fns])
    found: list[str] = []
    for fn, data in zip(fns, raw, strict=True):
        try:
            (address,) = fn.decode(data)
        except Exception:
            raise SourceError(
                f"{fn.label} at {provider} returned {len(data)} bytes at block {block}, not an "
                "address; is it a PoolAddressesProvider?"
            ) from None
        found.append(checksum(address))
    pool, oracle, data_provider = found
    for address, what in ((pool, "Pool"), (oracle, "AaveOracle"),
                          (data_provider, "PoolDataProvider")):
        require_code(client, address, f"{market.name} {what}", block)
    return dataclasses.replace(
        market, pool=pool, oracle=oracle, protocol_data_provider=data_provider,
        source=f"{market.source}; pool, oracle, data provider from "
        f"PoolAddressesProvider at block {block}",
    )


__all__ = ["ANY_CHAIN", "DEFAULT_MARKET", "MARKETS", "AaveMarket", "checksum",
           "expected_chain_id", "get_market", "require_code", "resolve_market"]
