"""``delever position --address``: one account read from the chain, as the command prints it.

Kept here (the network edge), so the CLI only formats; ``delever snapshot`` can reuse it.
"""

from __future__ import annotations

import math
from typing import Any

from delever.protocol.account import account_data, liquidation_price_usd
from delever.sources import SourceError
from delever.sources.chain.aave import UINT256_MAX, LiveAccount, read_account
from delever.sources.chain.markets import expected_chain_id, get_market
from delever.sources.chain.rpc import RpcClient, is_address

WAD = 10**18
RPC_BATCH = 100  # eth_calls per JSON-RPC batch where Multicall3 is absent (RpcClient)


def check_inputs(address: str, rpc: str | None, market: str, block: int | None = None) -> str:
    """The one-line checks made before any network call; returns the RPC URL."""
    if not is_address(address):
        raise SourceError(f"--address {address!r} must be 0x followed by 40 hex digits.")
    if block is not None and block < 0:
        raise SourceError(f"--block {block!r} must be a block number >= 0.")
    get_market(market)
    if not rpc:
        raise SourceError("--address needs an RPC: give --rpc URL or set DELEVER_RPC_URL.")
    return rpc


def _health_factor(wad: int) -> float:
    return math.inf if wad == UINT256_MAX else wad / WAD


def _model_figures(account: LiveAccount) -> dict[str, Any]:
    """delever's exact HF and liquidation price of the account, or why it has none."""
    none: dict[str, Any] = {"delever_health_factor_wad": None,
                            "liquidation_price_usd": math.nan,
                            "distance_to_liquidation_pct": math.nan}
    try:
        model = account.to_delever()
    except SourceError as exc:  # e.g. a stablecoin e-mode, which delever's Account refuses
        return {**none, "model_note": str(exc)}
    kwargs: dict[str, Any] = {}
    if model.emode_category is not None:
        kwargs["emode_category"] = model.emode_category
    data = account_data(model.account, model.prices, reserves=model.reserves, exact=True,
                        rule_set=account.rule_set, **kwargs)
    eth_usd = model.prices.usd.get("WETH")
    liq_price = math.nan
    if model.account.has_debt and eth_usd is not None:
        liq_price = liquidation_price_usd(model.account, model.prices, reserves=model.reserves,
                                          **kwargs)
    distance = (100.0 * (1.0 - liq_price / eth_usd)
                if eth_usd and math.isfinite(liq_price) else math.inf)
    return {"delever_health_factor_wad": str(data.health_factor_wad),
            "liquidation_price_usd": liq_price, "distance_to_liquidation_pct": distance,
            "model_note": model.note}


def position_result(account: LiveAccount, calls_made: int) -> dict[str, Any]:
    """The JSON object of ``position --address``.

    The totals and ``health_factor_wad`` are the chain's (``getUserAccountData``);
    ``liquidation_price_usd`` (the WETH price at HF 1, ETH-correlated prices moving with it)
    and ``delever_health_factor_wad`` come from delever's model of the account
    (:meth:`LiveAccount.to_delever`), ``model_note`` says what that model leaves out.
    """
    model = _model_figures(account)
    return {
        "address": account.address,
        "market": account.market,
        "block": account.block,
        "health_factor": _health_factor(account.health_factor),
        "health_factor_wad": str(account.health_factor),
        "liquidation_price_usd": model["liquidation_price_usd"],
        "available_borrow_usd": account.available_borrows_base / 1e8,
        "distance_to_liquidation_pct": model["distance_to_liquidation_pct"],
        "collateral_usd": account.total_collateral_base / 1e8,
        "debt_usd": account.total_debt_base / 1e8,
        "liquidation_threshold": account.current_liquidation_threshold / 10_000,
        "ltv": account.ltv / 10_000,
        "exact": True,
        "emode_category_id": account.emode_category_id,
        "rule_set": account.rule_set,
        "delever_health_factor_wad": model["delever_health_factor_wad"],
        "model_note": model["model_note"],
        "rpc_calls": calls_made,
        "reserves": [
            {"symbol": p.symbol, "address": p.address,
             "collateral_units": str(p.collateral_units),
             "collateral_tokens": p.collateral_tokens,
             "debt_units": str(p.variable_debt_units), "debt_tokens": p.debt_tokens,
             "used_as_collateral": p.used_as_collateral,
             "price_usd": p.price_base / 1e8, "price_base": str(p.price_base)}
            for p in account.positions
        ],
    }


def live_position(address: str, rpc: str | None, block: int | None,
                  market: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read ``address`` in ``market`` at ``block`` (None: latest finalized) through ``rpc``.

    ``market``: a registry name or a PoolAddressesProvider address (the node's chain).
    """
    url = check_inputs(address, rpc, market, block)
    spec = get_market(market)
    client = RpcClient(url, expected_chain_id=expected_chain_id(spec), batch_size=RPC_BATCH)
    pinned = client.resolve_block(block)
    account = read_account(client, spec, address, pinned)
    result = position_result(account, client.calls_made)
    return result, list(result["reserves"])


__all__ = ["check_inputs", "live_position", "position_result"]
