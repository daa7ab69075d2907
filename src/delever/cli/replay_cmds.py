"""delever CLI command ``replay``: a scenario's reported sales on the real price path."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from rich.table import Table

from delever.cli._common import console, emit_json, user_errors
from delever.cli._tables import print_table
from delever.report.format import format_usd
from delever.scenario import DEFAULT_SCENARIO, load_scenario
from delever.scenario.replay import counterfactual_strategies, replay_inputs
from delever.sim.replay import ReplayResult, run_replay


def replay_scenario(scenario: str = DEFAULT_SCENARIO) -> ReplayResult:
    """Load ``scenario`` and replay its reported sales with the counterfactuals."""
    inputs = replay_inputs(load_scenario(scenario))
    return run_replay(inputs, counterfactual_strategies(inputs.n_steps))


def _whole_usd(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"${value:,.0f}"


def print_replay(result: ReplayResult) -> None:
    """The replay tables and notes."""
    data = result.to_dict()
    dec = data["decomposition"]
    head = Table(title="Replay of the reported sales on the Binance path", title_justify="left")
    head.add_column("")
    head.add_column("value", justify="right")
    head.add_row("window", f"{data['start'][:10]}, {data['n_steps']} hourly steps")
    head.add_row("ETH sold (reported)", f"{data['reported_sold_eth']:,.0f}")
    head.add_row("reported average price", format_usd(data["reported_avg_price_usd"]))
    head.add_row(
        "modelled average price",
        f"{format_usd(data['modelled_avg_price_usd'])} ({data['modelled_vs_reported_pct']:+.1f}%)",
    )
    head.add_row(
        "start -> lowest traded price",
        f"{format_usd(dec['start_price_usd'])} -> "
        f"{format_usd(dec['low_price_usd'])} ({dec['drawdown_pct']:.1f}%)",
    )
    head.add_row(
        "  of which the fund's own impact",
        f"{dec['own_impact_log_pct']:.1f} log-pts"
        f" ({100 * dec['own_impact_share']:.0f}% of {dec['drawdown_log_pct']:.1f})",
    )
    head.add_row(
        "  the rest (market, other sellers, liquidations)", f"{dec['rest_log_pct']:.1f} log-pts"
    )
    head.add_row("low without the fund's selling", format_usd(dec["no_fund_low_usd"]))
    end = data["end_state"]
    head.add_row("reported schedule ends at",
                 f"{end['eth_left']:,.0f} ETH, {format_usd(end['debt_usd'])} debt"
                 + (" (liquidated)" if end["liquidated"] else " (not liquidated)"))
    band = sorted(end["liquidation_prices_usd"].values())
    head.add_row("  its liquidation band", f"{format_usd(band[0])} - {format_usd(band[-1])}")
    print_table(head)
    table = Table(
        title="Counterfactuals on the same days (own impact included)", title_justify="left"
    )
    for column in (
        "strategy",
        "sold ETH",
        "avg price",
        "liq.",
        "ETH left",
        "min HF",
        "P&L",
        "held back",
    ):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, row in data["counterfactuals"].items():
        table.add_row(
            name,
            f"{row['sold_eth']:,.0f}",
            _whole_usd(row["avg_sale_price_usd"]),
            "yes" if row["liquidated"] else "no",
            f"{row['eth_left']:,.0f}",
            f"{row['min_health_factor']:.3f}",
            format_usd(row["total_pnl_usd"]),
            f"{row['held_back_eth']:,.0f}",
        )
    print_table(table)
    console.print("liq.: liquidated; min HF: lowest health factor at the oracle (a liquidation's "
                  "trigger included); held back: the most ETH wanted and not sold at one step; "
                  "P&L at the end, against cost.", style="dim", markup=False, highlight=False)
    for note in data["notes"]:
        console.print(f"- {note}", style="dim", markup=False, highlight=False)


def replay(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a TOML file.")
    ] = DEFAULT_SCENARIO,
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """Replay the reported sales on the real path; own impact, drawdown and counterfactuals."""
    with user_errors():
        result = replay_scenario(scenario)
        payload: dict[str, Any] = {"scenario": scenario, **result.to_dict()}
        if json_output:
            emit_json(payload)
        else:
            print_replay(result)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("replay")(replay)
