"""delever CLI command ``snapshot``: a live position written as a scenario file.

``delever snapshot --rpc URL --address 0x… -o position.toml`` reads the account(s), the
reserves and the oracle at one block (default: the latest finalized), calibrates the market on
``--exchanges`` (or takes the shipped calibration), optionally fetches the borrower book
(``--book-from-chain``), and writes a scenario every command runs on, offline, with every
value sourced by its block. Only this command, ``position --address``, ``run --address``,
``book fetch`` and the ``--exchange(s)`` options touch the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from delever._io import atomic_write_text
from delever.cli._common import check_output_path, console, emit_json, user_errors
from delever.errors import InvalidArgument
from delever.sources import SourceError, require

RPC_ENV = "DELEVER_RPC_URL"

AddressOpt = Annotated[
    list[str],
    typer.Option("--address", help="Account address (0x + 40 hex digits); repeat for several "
                 "accounts of one position.", show_default=False),
]
RpcOpt = Annotated[
    str | None,
    typer.Option("--rpc", help=f"JSON-RPC URL (default: ${RPC_ENV}); its API key is never "
                 "printed or written.", show_default=False),
]
BlockOpt = Annotated[
    int | None,
    typer.Option("--block", help="Block to read at (default: the latest finalized).",
                 show_default=False),
]
MarketOpt = Annotated[str, typer.Option("--market", help="Aave v3 market, or the address of "
                                        "a PoolAddressesProvider (any chain).")]


def _exchanges(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    venues = tuple(v.strip() for v in text.split(","))
    if not all(venues):
        raise InvalidArgument(f"--exchanges={text!r}: give venue ids separated by commas, "
                              "e.g. binance,okx.")
    return venues


def take_snapshot(addresses: list[str], rpc: str | None, block: int | None, market: str,
                  *, output: Path, exchanges: tuple[str, ...] = (), book: bool = False,
                  cost_basis_usd: float | None = None, quiet: bool = False
                  ) -> dict[str, Any]:
    """Read the live state and write the scenario ``output`` (and its book file); returns
    what the command reports."""
    require("web3", "reading the chain")
    from delever.sources.chain.position import check_inputs
    from delever.sources.chain.rpc import RpcClient
    from delever.sources.live import SnapshotRequest, book_path_for, read_snapshot
    from delever.sources.snapshot import snapshot_toml

    if not addresses:
        raise InvalidArgument("--address is missing; give the account to snapshot.")
    given = rpc or os.environ.get(RPC_ENV)
    url = ""
    for address in addresses:
        url = check_inputs(address, given, market, block)
    if cost_basis_usd is not None and not cost_basis_usd > 0:
        raise InvalidArgument(f"--cost-basis-usd={cost_basis_usd!r} must be greater than 0.")
    from delever.sources.chain.markets import expected_chain_id, get_market
    from delever.sources.chain.position import RPC_BATCH

    client = RpcClient(url, expected_chain_id=expected_chain_id(get_market(market)),
                       batch_size=RPC_BATCH)
    at = client.resolve_block(block)
    book_file = _fetch_book(client, market, at, book_path_for(output), quiet) if book else None
    snap = read_snapshot(client, SnapshotRequest(
        tuple(addresses), market, at, exchanges, book_file, cost_basis_usd))
    written = atomic_write_text(output, snapshot_toml(snap))
    return {"output": str(written), "block": snap.block, "market": snap.market,
            "chain_id": snap.chain_id, "book_file": book_file, "rpc_calls": client.calls_made,
            "accounts": [{"address": a.address, "health_factor_wad": str(a.health_factor_wad),
                          "left_out": list(a.left_out)} for a in snap.accounts]}


def _fetch_book(client: Any, market: str, block: int, path: Path, quiet: bool) -> str:
    from delever.cli.book_cmds import fetch_with_progress
    from delever.sources.borrowers import MARKETS, FetchRequest

    if market not in MARKETS:
        raise SourceError(f"--book-from-chain reads the {', '.join(MARKETS)} market only.")
    check_output_path("--book-from-chain", path)
    fetch_with_progress(client, FetchRequest(MARKETS[market], path, block,
                                             source=client.url_shown), quiet=quiet)
    return path.name


def snapshot(
    output: Annotated[Path, typer.Option("--output", "-o", help="The scenario file to write "
                      "(.toml).")],
    address: AddressOpt = [],  # noqa: B006 (typer reads the default; never mutated)
    rpc: RpcOpt = None,
    block: BlockOpt = None,
    market: MarketOpt = "ethereum-core",
    exchanges: Annotated[str | None, typer.Option(
        "--exchanges", help="Venues (ccxt ids, e.g. binance,okx) to calibrate the market on; "
        "default: the shipped calibration.", show_default=False)] = None,
    book_from_chain: Annotated[bool, typer.Option(
        "--book-from-chain", help="Also fetch the market's borrower book (Borrow events) "
        "into OUTPUT.book.parquet, for the cascade.")] = False,
    cost_basis_usd: Annotated[float | None, typer.Option(
        "--cost-basis-usd", help="The position's cost per ETH (default: the mark, an "
        "estimate).", show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """Write a live Aave v3 position (accounts, reserves, oracle, market) as a scenario."""
    with user_errors():
        check_output_path("--output", output)
        if output.suffix.lower() != ".toml":
            raise InvalidArgument(f"--output={str(output)!r} must end in .toml (a scenario).")
        result = take_snapshot(address, rpc, block, market, output=output,
                               exchanges=_exchanges(exchanges), book=book_from_chain,
                               cost_basis_usd=cost_basis_usd, quiet=json_output)
        if json_output:
            emit_json(result)
            return
        hfs = ", ".join(f"{a['address'][:10]}… HF {int(a['health_factor_wad']) / 1e18:.4f}"
                        for a in result["accounts"])
        console.print(f"wrote {result['output']}: block {result['block']:,} of "
                      f"{result['market']} ({hfs}); {result['rpc_calls']} RPC requests. "
                      f"Every command runs on it: delever run {result['output']}",
                      markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("snapshot")(snapshot)


__all__ = ["register", "snapshot", "take_snapshot"]
