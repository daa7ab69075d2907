"""delever CLI commands: ``book fetch`` (the borrower book from the chain) and ``book show``.

``delever book fetch --rpc URL -o book.parquet`` scans the Aave v3 Pool's ``Borrow`` events
(or takes ``--addresses FILE``), reads every borrower's account at one block and writes a
Parquet book that ``delever cascade --book book.parquet`` and a scenario's
``[book] file = "book.parquet"`` use. An interrupted scan resumes from
``book.parquet.partial.json`` when rerun with the same arguments.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from delever.book.loaders import read_book_parquet, read_book_parquet_metadata
from delever.cli._common import (
    check_output_path,
    console,
    emit_json,
    err_console,
    user_errors,
)
from delever.cli._usage import OneLineErrorGroup
from delever.errors import InvalidArgument
from delever.sources import SourceError, redact_url, require

if TYPE_CHECKING:  # the module needs eth-abi (delever[live]): imported when a fetch runs
    from delever.sources.borrowers import AaveMarket, ChainBook, ChainReader, FetchRequest

RPC_ENV = "DELEVER_RPC_URL"

book_app = typer.Typer(
    name="book",
    cls=OneLineErrorGroup,
    help="The borrower book: fetch it from the chain (Parquet), show a book file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def make_client(url: str, *, any_chain: bool = False) -> ChainReader:
    """The JSON-RPC client for ``url`` (``delever.sources.chain.rpc.RpcClient``): Ethereum's,
    or (``any_chain``, for a market given by its provider address) the node's chain."""
    # Imported by name: the client is another module's work, and this keeps the command's
    # tests (which pass a fake) and the type check independent of it.
    try:
        rpc = importlib.import_module("delever.sources.chain.rpc")
    except ImportError:
        raise SourceError("book fetch needs delever.sources.chain.rpc (the JSON-RPC client), "
                          "which this installation lacks; install delever[live] from a "
                          "release that has it.") from None
    # batch_size: JSON-RPC batches where the chain has no Multicall3 (a local chain)
    client: ChainReader = rpc.RpcClient(url, expected_chain_id=None if any_chain else 1,
                                        batch_size=100)
    return client


def _market(name: str) -> AaveMarket | None:
    """The registry's market called ``name``; None for a PoolAddressesProvider address."""
    from delever.sources.borrowers import MARKETS

    if _is_address(name):
        return None
    if name not in MARKETS:
        close = difflib.get_close_matches(name, list(MARKETS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidArgument(f"market={name!r} is not known; give one of "
                              f"{', '.join(MARKETS)}{hint}")
    return MARKETS[name]


def _is_address(text: str) -> bool:
    return len(text) == 42 and text[:2] in ("0x", "0X") and all(
        c in "0123456789abcdefABCDEF" for c in text[2:])


def _node_chain_id(chain: ChainReader) -> int:
    # the chain id the RpcClient's node reports (a ChainReader need not have one: 0 then)
    ask = getattr(chain, "chain_id", None)
    return int(ask()) if callable(ask) else 0


def _check_block(option: str, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise InvalidArgument(f"{option}={value} must be a block number >= 0.")
    return value


def _check_output(output: Path, force: bool) -> None:
    check_output_path("--output", output)
    if output.exists() and not force:
        raise InvalidArgument(f"--output={str(output)!r} exists; give --force to replace it or "
                              "another name.")
    if output.suffix.lower() != ".parquet":
        raise InvalidArgument(f"--output={str(output)!r} must end in .parquet (a Parquet book).")


RpcOpt = Annotated[
    str | None,
    typer.Option("--rpc", help=f"JSON-RPC URL of an archive node (default: ${RPC_ENV}); its "
                 "API key is never printed or written.", show_default=False),
]


def fetch_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="The book file (.parquet).")],
    rpc: RpcOpt = None,
    market: Annotated[str, typer.Option("--market", help="Aave v3 market, or the address of a "
                      "PoolAddressesProvider (any chain).")] = "ethereum-core",
    block: Annotated[int | None, typer.Option("--block", help="Block to read at (default: "
                     "the latest).", show_default=False)] = None,
    from_block: Annotated[int | None, typer.Option("--from-block", help="First block of the "
                          "Borrow-event scan (default: the Pool's creation block).",
                          show_default=False)] = None,
    addresses: Annotated[Path | None, typer.Option("--addresses", help="Text file of "
                         "addresses, one a line, instead of the event scan.",
                         show_default=False)] = None,
    chunk_blocks: Annotated[int, typer.Option("--chunk-blocks", help="Blocks per eth_getLogs "
                            "request (halved while the node refuses).")] = 10_000,
    batch: Annotated[int, typer.Option("--batch", help="eth_calls per Multicall3 batch.")] = 500,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """The borrower book of an Aave v3 market at one block, as a Parquet file."""
    with user_errors():
        require("eth_abi", "delever book fetch")
        from delever.sources.borrowers import FetchRequest, read_address_file

        the_market = _market(market)
        _check_output(output, force)
        url = rpc or os.environ.get(RPC_ENV)
        if not url:
            raise InvalidArgument(f"--rpc is missing; give the JSON-RPC URL or set {RPC_ENV}.")
        if chunk_blocks < 1 or batch < 1:
            name, value = ("--chunk-blocks", chunk_blocks) if chunk_blocks < 1 else \
                ("--batch", batch)
            raise InvalidArgument(f"{name}={value} must be at least 1.")
        chain = make_client(url) if the_market is not None else make_client(url, any_chain=True)
        if the_market is None:  # a market given by its PoolAddressesProvider, on any chain
            from delever.sources.borrowers import market_at_provider

            the_market = market_at_provider(chain, market, _check_block("--block", block),
                                            _node_chain_id(chain))
        request = FetchRequest(
            the_market, output, _check_block("--block", block),
            _check_block("--from-block", from_block),
            tuple(read_address_file(addresses)) if addresses is not None else None,
            chunk_blocks, batch, redact_url(url))
        book, meta = fetch_with_progress(chain, request, quiet=json_output)
        if json_output:
            emit_json({"output": str(output), **meta})
            return
        console.print(f"{output}: {len(book.rows):,} accounts of {book.candidates:,} borrowers "
                      f"at block {book.block} (dropped: {_dropped(meta)}); "
                      f"{meta['rpc_requests']:,} RPC requests.", markup=False, highlight=False)


def fetch_with_progress(chain: ChainReader, request: FetchRequest, *, quiet: bool
                        ) -> tuple[ChainBook, dict[str, Any]]:
    """:func:`~delever.sources.borrowers.fetch_book` with a progress bar on stderr over the
    blocks scanned (none when ``quiet``)."""
    from delever.sources.borrowers import fetch_book

    bar = Progress(TextColumn("Borrow events"), BarColumn(),
                   TextColumn("{task.completed:,}/{task.total:,} blocks"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                   transient=True, disable=quiet)
    with bar:
        task = bar.add_task("scan", total=1)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return fetch_book(chain, request, progress=advance)


def _dropped(meta: dict[str, Any]) -> str:
    dropped = meta.get("dropped")
    if not isinstance(dropped, dict):
        return "unknown"
    return ", ".join(f"{n:,} {why}" for why, n in dropped.items() if n) or "none"


def show_cmd(
    file: Annotated[Path, typer.Argument(help="A book .parquet file.")],
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """A short summary of a book file: its source, block, accounts and totals."""
    with user_errors():
        meta = read_book_parquet_metadata(file)
        book = read_book_parquet(file)
        hf = book.health_factor() if book.reference_price_usd is not None else None
        summary: dict[str, Any] = {
            "file": str(file), "accounts": len(book), "collateral_eth":
            book.total_collateral_eth, "debt_usd": book.total_debt_usd,
            "eth_price_usd": book.reference_price_usd,
            "accounts_below_hf_1_1": None if hf is None else int(np.sum(hf < 1.1)),
            "metadata": meta,
        }
        if json_output:
            emit_json(summary)
            return
        lines = [f"{file}: {len(book):,} accounts, {book.total_collateral_eth:,.2f} ETH "
                 f"collateral, ${book.total_debt_usd:,.0f} debt"]
        if meta:
            when = meta.get("block_time") or "time unknown"
            lines.append(f"{meta.get('market')} (chain {meta.get('chain_id')}), block "
                         f"{meta.get('block')} ({when}), ETH ${meta.get('eth_price_usd', 0):,.2f}")
            lines.append(f"source: {meta.get('source')}")
            lines.append(f"dropped: {_dropped(meta)}")
        if hf is not None:
            finite = hf[np.isfinite(hf)]
            median = float(np.median(finite)) if finite.size else math.nan
            lines.append(f"health factor (book): median {median:.3f}, "
                         f"{summary['accounts_below_hf_1_1']:,} below 1.1")
        console.print("\n".join(lines), markup=False, highlight=False)


book_app.command("fetch")(fetch_cmd)
book_app.command("show")(show_cmd)


def register(app: typer.Typer) -> None:
    """Add the ``book`` group to ``app``."""
    app.add_typer(book_app, name="book")


__all__ = ["RPC_ENV", "book_app", "make_client", "register"]
