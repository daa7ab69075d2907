"""Aave v3 state over JSON-RPC at a pinned block (needs the ``delever[live]`` extra).

- :mod:`.rpc`: :class:`RpcClient`, retries, Multicall3 batching, one-line errors.
- :mod:`.markets`: the Aave markets (address book) and their contracts at a block.
- :mod:`.aave`: reserves and accounts (:func:`read_reserves`, :func:`read_account`).
- :mod:`.abi`: the contract functions called, with their Solidity sources.
"""

from __future__ import annotations

from delever.sources.chain.aave import (
    DeleverModel,
    LiveAccount,
    LiveEModeCategory,
    LivePosition,
    LiveReserve,
    RateStrategy,
    read_account,
    read_emode_categories,
    read_reserves,
)
from delever.sources.chain.markets import (
    DEFAULT_MARKET,
    MARKETS,
    AaveMarket,
    get_market,
    resolve_market,
)
from delever.sources.chain.rpc import MULTICALL3, RpcClient, is_address

__all__ = [
    "DEFAULT_MARKET",
    "MARKETS",
    "MULTICALL3",
    "AaveMarket",
    "DeleverModel",
    "LiveAccount",
    "LiveEModeCategory",
    "LivePosition",
    "LiveReserve",
    "RateStrategy",
    "RpcClient",
    "get_market",
    "is_address",
    "read_account",
    "read_emode_categories",
    "read_reserves",
    "resolve_market",
]
