"""delever CLI command ``loop``: build a looped staking position (wstETH / weETH against WETH
in e-mode) and give its size, health factor, distance to liquidation and carry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import tomli_w
import typer

from delever._io import atomic_write_text
from delever.cli._common import check_output_path, console, emit_json, user_errors
from delever.errors import InvalidArgument, unknown_name
from delever.protocol.loop import LoopPosition, borrow_rate_at_utilization, build_loop
from delever.protocol.reserves import EMODE_CATEGORIES, ETH_CORRELATED_EMODE, EModeCategory
from delever.scenario.loop import loop_market_table

Opt = typer.Option


def loop_scenario_toml(loop: LoopPosition, name: str,
                       weth_utilization: float | None = None,
                       emode: EModeCategory = ETH_CORRELATED_EMODE) -> str:
    """The loop as a scenario file: one e-mode account, the asset's price at the rate."""
    given = "delever loop input"
    doc: dict[str, Any] = {
        "schema_version": 1, "name": name,
        "title": f"{loop.loops} loops of {loop.capital_eth:g} ETH at LTV {loop.ltv:g} in "
                 f"{loop.asset} (e-mode)",
        "description": loop.summary(),
        "mark": {"price_usd": {"value": loop.price_usd, "source": given}},
        "position": {"summary": {
            "cost_basis_usd_per_eth": {"value": loop.price_usd, "source":
                                       "the capital valued at the mark (an estimate)",
                                       "estimate": True},
            "sold_eth": {"value": 0.0, "source": "nothing sold"},
            "avg_sale_price_usd": {"value": loop.price_usd, "source": "no sales: the mark"},
            "held_eth": {"value": loop.collateral_eth, "source":
                         f"{loop.asset} collateral at {loop.rate} ETH per unit"}}},
        "prices": {loop.asset: {"value": loop.price_usd * loop.rate,
                                "source": f"ETH/USD x {loop.rate} ETH per {loop.asset}"}},
        "accounts": [{"name": "loop", "emode": True,
                      "collateral": {loop.asset: {"value": loop.collateral_units,
                                                  "source": "(capital + debt) / rate"}},
                      "debt": {"WETH": {"value": loop.debt_weth,
                                        "source": "capital x (L + L^2 + ... + L^N)"}}}],
        # the engines' ETH frame (delever.scenario.loop): the rate, the yield as given or
        # estimated, slashing and the depeg at delever's defaults
        "loop": {"asset": loop.asset,
                 "exchange_rate": {"value": loop.rate, "source": given},
                 "staking_yield": {"value": loop.staking_yield,
                                   "source": loop.yield_sources[0],
                                   "estimate": loop.yield_sources[0] != "given"}},
        # the wstETH/ETH market's depth: estimates, as in the built-in wsteth-loop
        "market": loop_market_table(),
    }
    if weth_utilization is not None:
        doc["loop"]["weth_utilization"] = {"value": weth_utilization, "source": given}
    if emode != ETH_CORRELATED_EMODE:
        cited = {"source": emode.source, "estimate": emode.estimate}
        doc["emode"] = {"category_id": emode.category_id, "label": emode.label,
                        "ltv": {"value": emode.ltv, **cited},
                        "liquidation_threshold": {"value": emode.liquidation_threshold, **cited},
                        "liquidation_bonus": {"value": emode.liquidation_bonus, **cited}}
    return f"# Written by `delever loop`.\n{tomli_w.dumps(doc)}"


def loop(
    capital_eth: Annotated[float, Opt("--capital-eth", help="Own capital in ETH.")],
    ltv: Annotated[float, Opt("--ltv", help="Loan-to-value of each turn (<= the e-mode's).")],
    loops: Annotated[int, Opt("--loops", help="Turns of borrow, swap and supply.")],
    price_usd: Annotated[float, Opt("--price-usd", help="ETH/USD.")],
    rate: Annotated[float, Opt("--rate", help="ETH per unit of the asset (e.g. 1.225 ETH "
                               "per wstETH).")],
    asset: Annotated[str, Opt("--asset", help="The ETH derivative supplied.")] = "wstETH",
    staking_yield: Annotated[float | None, Opt(
        "--staking-yield", help="The asset's staking yield a year (default 2.7%, an estimate).",
        show_default=False)] = None,
    borrow_rate: Annotated[float | None, Opt(
        "--borrow-rate", help="WETH borrow rate a year (default: recorded on 2026-02-01).",
        show_default=False)] = None,
    emode_category: Annotated[str, Opt(
        "--emode-category", help="Ethereum Core e-mode category: eth-correlated (id 1, LT 95%) "
        "or wsteth-eth (id 8, LT 95.5%, wstETH only; an estimate).")] = "eth-correlated",
    weth_utilization: Annotated[float | None, Opt(
        "--weth-utilization", help="WETH's utilization (fraction): the borrow rate from its "
        "rate curve (the rates channel); instead of --borrow-rate.",
        show_default=False)] = None,
    toml_output: Annotated[Path | None, Opt(
        "--toml", help="Also write the loop as a scenario file.", show_default=False)] = None,
    json_output: Annotated[bool, Opt("--json", help="Write one JSON object.")] = False,
) -> None:
    """A looped staking position: size, health factor, distance to liquidation, carry."""
    with user_errors():
        check_output_path("--toml", toml_output)
        source = None
        if weth_utilization is not None:
            if borrow_rate is not None:
                raise InvalidArgument("give --borrow-rate or --weth-utilization, not both.")
            borrow_rate, source = borrow_rate_at_utilization(weth_utilization)
        if emode_category not in EMODE_CATEGORIES:
            raise unknown_name("--emode-category", emode_category, EMODE_CATEGORIES)
        emode = EMODE_CATEGORIES[emode_category]
        position = build_loop(capital_eth, ltv, loops, price_usd, rate, asset=asset,
                              staking_yield=staking_yield, borrow_rate=borrow_rate,
                              borrow_rate_source=source, emode=emode)
        payload = position.to_dict()
        if toml_output is not None:
            name = toml_output.stem if toml_output.stem.replace("-", "").isalnum() else "loop"
            payload["toml"] = str(atomic_write_text(
                toml_output, loop_scenario_toml(position, name, weth_utilization, emode),
                option="--toml"))
        if json_output:
            emit_json(payload)
            return
        console.print(position.summary(), markup=False, highlight=False)
        if toml_output is not None:
            console.print(f"wrote {payload['toml']}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("loop")(loop)


__all__ = ["loop", "loop_scenario_toml", "register"]
