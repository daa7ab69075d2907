"""Read a live state into a :class:`~delever.sources.snapshot.ChainSnapshot`: the accounts
and reserves at a block (:mod:`delever.sources.chain`), the market calibrated from exchanges
(:mod:`delever.sources.exchanges`) or from the shipped data, the borrower book from the
chain (:mod:`delever.sources.borrowers`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from delever.market.calibration import DEFAULT_CUTOFF, SourcedValue, calibrate
from delever.sources import SourceError
from delever.sources.chain.aave import (
    LiveAccount,
    LiveReserve,
    read_account,
    read_reserves,
    rule_set_of,
)
from delever.sources.chain.markets import get_market, resolve_market
from delever.sources.chain.rpc import RpcClient
from delever.sources.snapshot import (
    ChainSnapshot,
    EModeRisk,
    ReserveRisk,
    SnapshotAccount,
)

CALIBRATION_WINDOW_DAYS = 365


@dataclass(frozen=True)
class SnapshotRequest:
    """What ``delever snapshot`` was asked for."""

    addresses: tuple[str, ...]
    market: str = "ethereum-core"
    block: int | None = None  # None: the latest finalized block
    exchanges: tuple[str, ...] = ()  # venues to calibrate the market on (ccxt ids)
    book_file: str | None = None  # a book file written beside the scenario
    cost_basis_usd_per_eth: float | None = None


def _risk(reserve: LiveReserve) -> ReserveRisk:
    return ReserveRisk(reserve.ltv_bps / 1e4, reserve.liquidation_threshold_bps / 1e4,
                       max(reserve.liquidation_bonus_bps - 10_000, 0) / 1e4,
                       reserve.liquidation_protocol_fee_bps / 1e4)


def _snapshot_account(live: LiveAccount) -> tuple[SnapshotAccount, tuple[str, ...]]:
    model = live.to_delever()  # one line for what delever cannot model
    account = model.account
    return SnapshotAccount(
        address=live.address, collateral_units=dict(account.collateral_units or {}),
        debt_units=dict(account.debt_units or {}), emode=account.emode,
        health_factor_wad=live.health_factor, left_out=model.unmodelled), model.unmodelled


def _emode(accounts: Sequence[LiveAccount]) -> EModeRisk | None:
    categories = {a.emode.category_id: a.emode for a in accounts if a.emode is not None}
    if not categories:
        return None
    if len(categories) > 1:
        raise SourceError(f"the accounts are in e-mode categories {sorted(categories)}; a "
                          "scenario holds one: snapshot them separately.")
    (cat,) = categories.values()
    return EModeRisk(cat.category_id, cat.label, cat.ltv_bps / 1e4,
                     cat.liquidation_threshold_bps / 1e4,
                     max(cat.liquidation_bonus_bps - 10_000, 0) / 1e4)


def market_section(venues: Sequence[str], day: date) -> str:
    """The scenario's ``[market]``: σ from the first venue's daily bars before ``day``, ADV
    summed over the venues; with no venue, the shipped data's calibration."""
    if not venues:
        cal = calibrate(DEFAULT_CUTOFF, CALIBRATION_WINDOW_DAYS)
        return ("# No --exchanges: the shipped Binance data's calibration (an estimate; its "
                f"cut-off {cal.cutoff} may be long before the snapshot).\n"
                + cal.to_toml_section())
    from delever.sources import archive, exchanges  # ccxt only when venues are given

    cals = []
    since = day - timedelta(days=CALIBRATION_WINDOW_DAYS + 1)
    for venue in venues:
        frame = exchanges.fetch_ohlcv(venue, "ETH/USDT", "1d", since.isoformat(),
                                      day.isoformat())
        cals.append((venue, calibrate(day, CALIBRATION_WINDOW_DAYS,
                                      data=archive.klines_market_data(frame))))
    first = cals[0][1]
    total = sum(c.adv_eth.value for _, c in cals)
    parts = ", ".join(f"{v} {c.adv_eth.value:,.0f} ETH" for v, c in cals)
    adv = SourcedValue(total, f"sum over venues of the mean daily volume before {day} "
                              f"({parts}; ETH/USDT daily bars via ccxt)", estimate=True)
    return dataclasses.replace(first, adv_eth=adv).to_toml_section()


def read_snapshot(client: RpcClient, request: SnapshotRequest) -> ChainSnapshot:
    """The accounts, reserves, prices and market of ``request`` at its block."""
    block = client.resolve_block(request.block)
    market = resolve_market(client, get_market(request.market), block)
    reserves = read_reserves(client, market, block)
    live = [read_account(client, market, address, block, reserves=reserves)
            for address in request.addresses]
    accounts, notes = [], []
    for item in live:
        account, left_out = _snapshot_account(item)
        accounts.append(account)
        if left_out:
            notes.append(f"{item.address} also holds {', '.join(left_out)}, which delever "
                         "does not model: left out of this scenario.")
    held = {s for a in accounts for s in (*a.collateral_units, *a.debt_units)} | {"WETH"}
    by_symbol = {name: r for r in reserves for name in held
                 if r.symbol.lower() == name.lower()}  # the chain's symbols, delever's names
    if "WETH" not in by_symbol:
        raise SourceError(f"the {market.name} market has no WETH reserve at block {block}.")
    block_time = client.block_time(block)
    # the market is calibrated on days before the block's (today's where the node gives no
    # block time)
    day = block_time.date() if block_time else date.today()
    return ChainSnapshot(
        chain_id=client.chain_id(), block=block, block_time=block_time, market=market.name,
        pool=market.pool, prices_usd={s: r.price_usd for s, r in by_symbol.items()},
        reserves={s: _risk(r) for s, r in by_symbol.items()}, accounts=tuple(accounts),
        market_toml=market_section(request.exchanges, day), book_file=request.book_file,
        cost_basis_usd_per_eth=request.cost_basis_usd_per_eth, notes=tuple(notes),
        emode=_emode(live), protocol=f"aave-v{rule_set_of(reserves)}")


def book_path_for(scenario_path: Path) -> Path:
    """Where ``--book-from-chain`` writes the book: beside the scenario."""
    return scenario_path.with_name(scenario_path.stem + ".book.parquet")


__all__ = ["SnapshotRequest", "book_path_for", "market_section", "read_snapshot"]
