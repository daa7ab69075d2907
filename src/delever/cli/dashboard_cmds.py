"""``delever dashboard``: the interactive risk desk (a local Dash app) for one scenario or a
live account.

The page and its callbacks are :mod:`delever.dashboard`; this module checks the options,
builds the scenario (``--address`` reads the account as ``delever run --address`` does:
its snapshot, written as a scenario file) and serves the app on ``--host``:``--port``
(127.0.0.1 by default: the page is for this machine only).
"""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from delever.cli._common import LiveAddressOpt, LiveBlockOpt, LiveRpcOpt, console, user_errors
from delever.cli._dask import SchedulerOpt
from delever.dashboard.model import ScenarioInput, load_input
from delever.errors import InvalidArgument
from delever.scenario import DEFAULT_SCENARIO

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_PORT = 65_535


def _check_host_port(host: str, port: int) -> None:
    if port < 1 or port > MAX_PORT:
        raise InvalidArgument(f"--port={port} must be a whole number in [1, {MAX_PORT:,}].")
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidArgument(f"--host={host!r} must be an IP address, e.g. 127.0.0.1 (the "
                              "default, this machine only).") from None


def _live_source(scenario: str, address: list[str], rpc: str | None, block: int | None
                 ) -> ScenarioInput:
    """``--address``: the account's snapshot (as ``delever run --address``), as TOML text."""
    from delever.cli.live_cmds import take_snapshot

    if scenario != DEFAULT_SCENARIO:
        raise InvalidArgument(f"give a scenario ({scenario!r}) or --address, not both.")
    if not address:
        raise InvalidArgument("--rpc and --block go with --address; give the account.")
    with tempfile.TemporaryDirectory(prefix="delever-snapshot-") as folder:
        path = Path(folder) / "snapshot.toml"
        take_snapshot(address, rpc, block, "ethereum-core", output=path, quiet=True)
        text = path.read_text("utf-8")
    return ScenarioInput(name="snapshot", toml=text, origin=f"snapshot of {', '.join(address)}")


def build_source(scenario: str, address: list[str], rpc: str | None, block: int | None
                 ) -> ScenarioInput:
    """The page's scenario: a built-in name or file, or a live account's snapshot."""
    if address or rpc is not None or block is not None:
        source = _live_source(scenario, address, rpc, block)
    else:
        source = ScenarioInput(name=scenario)
    load_input(source)  # a bad scenario: one line, exit 2, before the server starts
    return source


def dashboard_cmd(
    scenario: Annotated[str, typer.Argument(
        help="A built-in scenario name or a scenario TOML file.")] = DEFAULT_SCENARIO,
    address: LiveAddressOpt = [],  # noqa: B006 (typer reads the default; never mutated)
    rpc: LiveRpcOpt = None,
    block: LiveBlockOpt = None,
    host: Annotated[str, typer.Option(
        "--host", help="Address to serve on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8050,
    scheduler: SchedulerOpt = None,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache-dir", help="Folder of the background jobs' result cache (default: a new "
        "temporary folder).", show_default=False)] = None,
) -> None:
    """Serve the interactive risk desk (a local web app) for a scenario or a live account.

    The plan and the advice run on --scheduler (a Dask cluster) where given, else in each
    background job's own process."""
    with user_errors():
        from delever.dashboard import require_dash

        require_dash()
        _check_host_port(host, port)
        source = build_source(scenario, address, rpc, block)
        from delever.dashboard.app import create_app, serve

        app = create_app(source, cache_dir=cache_dir, scheduler=scheduler)
        if host not in LOCAL_HOSTS:
            console.print(f"note: serving on {host}: other machines can reach the page.",
                          markup=False, highlight=False)
        console.print(f"delever dashboard on http://{host}:{port}/ (Ctrl+C stops it)",
                      markup=False, highlight=False)
        serve(app, host, port)


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to the app."""
    app.command("dashboard")(dashboard_cmd)


__all__ = ["build_source", "dashboard_cmd", "register"]
