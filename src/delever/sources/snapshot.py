"""A live state written as a scenario file: every value with the block or time it was read at.

:func:`snapshot_toml` is pure (no network): it takes what the chain reader and the exchanges
returned (:class:`ChainSnapshot`) and writes the TOML that ``delever validate`` checks and
every command runs on, so a live run can be replayed offline (DESIGN.md, sources). The
accounts carry the chain's integer balances (``collateral_units`` / ``debt_units``) and the
scenario the oracle's prices (``[prices]``), so the exact health factor of the scenario is
the chain's ``getUserAccountData`` to the wei.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import tomli_w

from delever.protocol.reserves import RESERVES
from delever.scenario.loop import loop_asset_of, loop_market_table
from delever.sources import SourceError


@dataclass(frozen=True)
class ReserveRisk:
    """A reserve's risk parameters as read on chain (fractions, bonus above 1)."""

    ltv: float
    liquidation_threshold: float
    liquidation_bonus: float
    liquidation_protocol_fee: float


@dataclass(frozen=True)
class SnapshotAccount:
    """One account at the block: integer balances of the reserves delever models."""

    address: str
    collateral_units: Mapping[str, int]
    debt_units: Mapping[str, int]
    emode: bool
    health_factor_wad: int  # getUserAccountData's, for the record and the check
    left_out: tuple[str, ...] = ()  # reserves it holds that delever does not model


@dataclass(frozen=True)
class EModeRisk:
    """The e-mode category the snapshot's e-mode accounts are in, as read on chain."""

    category_id: int
    label: str
    ltv: float
    liquidation_threshold: float
    liquidation_bonus: float


@dataclass(frozen=True)
class ChainSnapshot:
    """What a snapshot read: where and when, the oracle prices, the reserves, the accounts."""

    chain_id: int
    block: int
    block_time: datetime | None
    market: str  # e.g. "ethereum-core"
    pool: str  # the Pool's address
    prices_usd: Mapping[str, float]  # AaveOracle prices by symbol (WETH included)
    reserves: Mapping[str, ReserveRisk]
    accounts: tuple[SnapshotAccount, ...]
    market_toml: str = ""  # a `[market]` section (`MarketCalibration.to_toml_section`)
    book_file: str | None = None  # a book file (`delever book fetch`) beside the scenario
    cost_basis_usd_per_eth: float | None = None  # given by the user; else the mark
    notes: tuple[str, ...] = field(default_factory=tuple)
    emode: EModeRisk | None = None
    protocol: str = "aave-v3.6"  # the scenario's rules: "aave-v3.0" for a v3.0 pool

    @property
    def where(self) -> str:
        """``"Ethereum block 21,000,000 (chain 1, ethereum-core)"``."""
        chain = "Ethereum" if self.chain_id == 1 else f"chain {self.chain_id}"
        return f"{chain} block {self.block:,} ({self.market}, Pool {self.pool})"


def _sourced(value: float, source: str, *, estimate: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"value": float(value), "source": source}
    if estimate:
        out["estimate"] = True
    return out


def _tokens(symbol: str, units: int) -> float:
    return float(units) / 10.0 ** RESERVES[symbol].decimals


def _account_table(snap: ChainSnapshot, account: SnapshotAccount) -> dict[str, Any]:
    read = f"{snap.where}: aToken / variable debt balance of {account.address}"
    table: dict[str, Any] = {
        "name": account.address,
        "collateral": {s: _sourced(_tokens(s, u), read)
                       for s, u in account.collateral_units.items()},
        "debt": {s: _sourced(_tokens(s, u), read) for s, u in account.debt_units.items()},
        "collateral_units": {s: str(u) for s, u in account.collateral_units.items()},
        "debt_units": {s: str(u) for s, u in account.debt_units.items()},
    }
    if account.emode:
        table["emode"] = True
    return table


def _held_eth(snap: ChainSnapshot) -> float:
    """ETH-equivalent collateral of the accounts at the oracle's prices."""
    weth = snap.prices_usd["WETH"]
    return math.fsum(
        _tokens(s, u) * snap.prices_usd[s] / weth
        for account in snap.accounts for s, u in account.collateral_units.items()
        if RESERVES[s].eth_correlated)


def _document(snap: ChainSnapshot) -> dict[str, Any]:
    mark = snap.prices_usd["WETH"]
    oracle = f"AaveOracle price at {snap.where}"
    cost = snap.cost_basis_usd_per_eth
    cost_item = (_sourced(cost, "given with --cost-basis-usd") if cost is not None else
                 _sourced(mark, "unknown: the mark at the snapshot (give --cost-basis-usd for "
                          "the real cost basis)", estimate=True))
    name = f"snapshot-{snap.accounts[0].address[2:10].lower()}-{snap.block}"
    time = snap.block_time.astimezone(UTC) if snap.block_time is not None else None
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "title": f"Live state of {', '.join(a.address for a in snap.accounts)} at {snap.where}",
        "description": "\n".join((f"Written by `delever snapshot` from {snap.where}.",
                                  *snap.notes)),
        "protocol": snap.protocol,
        "mark": {"price_usd": _sourced(mark, oracle), **({"time": time} if time else {})},
        "position": {"summary": {
            "cost_basis_usd_per_eth": cost_item,
            "sold_eth": _sourced(0.0, "a snapshot records no sales"),
            "avg_sale_price_usd": _sourced(mark, "no sales: the mark"),
            "held_eth": _sourced(_held_eth(snap), f"ETH-equivalent collateral at {snap.where}"),
        }},
        "prices": {s: _sourced(p, oracle) for s, p in sorted(snap.prices_usd.items())
                   if s != "WETH"},
        "reserve_overrides": {
            s: {"ltv": _sourced(r.ltv, f"{snap.where}: reserve configuration"),
                "liquidation_threshold": _sourced(r.liquidation_threshold,
                                                  f"{snap.where}: reserve configuration"),
                "liquidation_bonus": _sourced(r.liquidation_bonus,
                                              f"{snap.where}: reserve configuration"),
                "liquidation_protocol_fee": _sourced(r.liquidation_protocol_fee,
                                                     f"{snap.where}: reserve configuration")}
            for s, r in sorted(snap.reserves.items())},
        "accounts": [_account_table(snap, a) for a in snap.accounts],
        "reported": {f"health_factor_{a.address.lower()}": _sourced(
            a.health_factor_wad / 1e18, f"getUserAccountData at {snap.where} (wad "
            f"{a.health_factor_wad})") for a in snap.accounts
            if a.health_factor_wad < 2**255},
    }
    if snap.emode is not None:
        e, read = snap.emode, f"{snap.where}: e-mode category {snap.emode.category_id}"
        doc["emode"] = {"category_id": e.category_id, "label": e.label,
                        "ltv": _sourced(e.ltv, read),
                        "liquidation_threshold": _sourced(e.liquidation_threshold, read),
                        "liquidation_bonus": _sourced(e.liquidation_bonus, read)}
    if snap.book_file is not None:
        doc["book"] = {"file": snap.book_file}
    asset = _loop_asset(snap)
    if asset is not None:  # a loop: the engines run it in ETH (delever.scenario.loop)
        doc["loop"] = {"asset": asset, "exchange_rate": _sourced(
            snap.prices_usd[asset] / mark, f"{asset} / WETH AaveOracle prices at {snap.where} "
            "(the CAPO-capped exchange rate, to the oracle's 8 decimals)")}
        doc["market"] = loop_market_table()
    return doc


def _loop_asset(snap: ChainSnapshot) -> str | None:
    """The asset where every account with debt is a loop of it against WETH in e-mode."""
    return loop_asset_of([({s: float(u) for s, u in a.collateral_units.items()},
                           {s: float(u) for s, u in a.debt_units.items()}, a.emode)
                          for a in snap.accounts])


def snapshot_toml(snap: ChainSnapshot) -> str:
    """The scenario file (TOML text) of ``snap``."""
    if not snap.accounts:
        raise SourceError("snapshot: no account to write; give --address.")
    if "WETH" not in snap.prices_usd:
        raise SourceError(f"snapshot: the oracle gave no WETH price at {snap.where}.")
    unknown = sorted({s for a in snap.accounts
                      for s in (*a.collateral_units, *a.debt_units)} - set(RESERVES))
    if unknown:
        raise SourceError(f"snapshot: delever does not model the reserves {', '.join(unknown)}.")
    header = (f"# Written by `delever snapshot` from {snap.where}"
              f"{', ' + snap.block_time.isoformat() if snap.block_time else ''}.\n"
              "# Balances and prices are the chain's at that block; the market section below "
              "is an estimate.\n")
    doc = _document(snap)
    text = header + tomli_w.dumps(doc)
    if snap.market_toml and "loop" not in doc:  # a loop's [market] is its asset's, above
        text += "\n" + snap.market_toml
    return text


__all__ = ["ChainSnapshot", "EModeRisk", "ReserveRisk", "SnapshotAccount", "snapshot_toml"]
