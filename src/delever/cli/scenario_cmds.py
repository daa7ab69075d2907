"""delever CLI commands on scenarios: ``run``, ``scenarios`` and ``validate``.

``run`` is built from sections, so later engines (market, simulation, cascade, advice) add a
section without reshaping the command: each section adds its keys to the JSON object and
prints its own tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from delever.cli._common import console, emit_json, user_errors
from delever.report.format import format_usd
from delever.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    builtin_scenarios,
    load_scenario,
    read_scenario_spec,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]

# A section of `delever run`: (scenario, json payload to extend, print?) -> None
RunSection = Callable[[Scenario, dict[str, Any], bool], None]


def _position_section(scenario: Scenario, payload: dict[str, Any], show: bool) -> None:
    report = scenario.position_report()
    payload.update(report.to_dict())
    reported = {key: item.value for key, item in scenario.spec.reported.items()}
    payload["reported"] = {
        key: {"value": item.value, "source": item.source, "estimate": item.estimate}
        for key, item in scenario.spec.reported.items()
    }
    payload["estimated_inputs"] = scenario.estimates()
    if not show:
        return

    pnl = report.pnl
    summary = Table(title="Position and P&L", title_justify="left")
    summary.add_column("")
    summary.add_column("model", justify="right")
    summary.add_column("reported", justify="right")
    rows = [
        ("mark price", format_usd(pnl.mark_price_usd), ""),
        ("ETH held", f"{pnl.position_eth:,.0f}", ""),
        ("average cost / ETH", format_usd(pnl.average_cost_usd), ""),
        (
            "realized P&L",
            format_usd(pnl.realized_usd),
            format_usd(reported.get("realized_pnl_usd", math.nan)),
        ),
        (
            "unrealized P&L",
            format_usd(pnl.unrealized_usd),
            format_usd(reported.get("unrealized_pnl_usd", math.nan)),
        ),
        (
            "total P&L",
            format_usd(pnl.total_usd),
            format_usd(reported.get("total_pnl_usd", math.nan)),
        ),
        ("debt", format_usd(report.total_debt_usd), format_usd(reported.get("debt_usd", math.nan))),
    ]
    for label, model, published in rows:
        summary.add_row(label, model, "" if published == "n/a" else published)
    console.print(summary)

    if report.accounts:
        table = Table(title="Aave v3 accounts at the mark", title_justify="left")
        for column in ("account", "collateral ETH", "debt", "HF", "liq. price", "distance"):
            table.add_column(column, justify="left" if column == "account" else "right")
        for account in report.accounts:
            table.add_row(
                account.name,
                f"{account.collateral_eth:,.0f}",
                format_usd(account.debt_usd),
                f"{account.health_factor:.4f}",
                format_usd(account.liquidation_price_usd),
                f"{account.distance_to_liquidation_pct:.1f}%",
            )
        console.print(table)
    band = report.liquidation_band_usd
    if band is not None:
        console.print(
            f"Liquidation band: {format_usd(band[0])} - {format_usd(band[1])}; "
            "the first account is hit "
            f"after a {report.first_liquidation_distance_pct:.1f}% fall from the mark."
        )
    if payload["estimated_inputs"]:
        console.print(
            f"[dim]{len(payload['estimated_inputs'])} input figures are estimates "
            "(press reports or stated rules); `--json` lists them.[/dim]"
        )


def _market_section(scenario: Scenario, payload: dict[str, Any], show: bool) -> None:
    report = scenario.sale_discount_report()
    if report is None:
        payload["market"] = None
        return
    params = scenario.market_parameters()
    mark = scenario.mark_price_usd
    market = report.to_dict()
    market["parameters_source"] = params.source
    reference = report.market_avg_price_usd if math.isfinite(report.market_avg_price_usd) else mark
    market["liquidity_discount_usd"] = report.discount_usd(reference)
    payload["market"] = market
    if not show:
        return
    low, high = report.discount_pct_range
    table = Table(title="The reported sale in a market of limited depth", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("ETH sold (slices)", f"{report.qty_eth:,.0f} ({report.n_slices})")
    table.add_row(
        "square-root law",
        f"Y={report.impact_y:g}, sigma={report.sigma_daily:.4f}/day, ADV={report.adv_eth:,.0f} ETH",
    )
    table.add_row("peak impact", f"{report.peak_impact_pct:.2f}%")
    table.add_row(
        "liquidity discount vs start mid",
        f"{report.discount_pct:.2f}% (Y range: {low:.2f}-{high:.2f}%)",
    )
    reference = report.market_avg_price_usd if math.isfinite(report.market_avg_price_usd) else mark
    table.add_row("  in USD", format_usd(report.discount_usd(reference)))
    if math.isfinite(report.market_avg_price_usd):
        table.add_row("market price on the sale days", format_usd(report.market_avg_price_usd))
        table.add_row("modelled average sale price", format_usd(report.modelled_avg_price_usd))
    table.add_row("reported average sale price", format_usd(report.reported_avg_price_usd))
    console.print(table)
    console.print(
        "[dim]The square-root law puts the sale's own discount at a few percent; the rest of "
        "the fall over the sale days is the market's own move.[/dim]"
    )


RUN_SECTIONS: list[RunSection] = [_position_section, _market_section]


def run(
    scenario: Annotated[
        str,
        typer.Argument(help="A built-in scenario name or a scenario TOML file."),
    ] = DEFAULT_SCENARIO,
    json_output: JsonOpt = False,
) -> None:
    """Run a scenario end to end (default: the February 2026 unwind)."""
    with user_errors():
        loaded = load_scenario(scenario)
        payload: dict[str, Any] = {"scenario": loaded.name, "title": loaded.spec.title}
        show = not json_output
        if show:
            console.print(Panel.fit(f"[bold]{loaded.spec.title}[/bold]\nscenario: {loaded.name}"))
        for section in RUN_SECTIONS:
            section(loaded, payload, show)
        if json_output:
            emit_json(payload)


def scenarios(json_output: JsonOpt = False) -> None:
    """List the built-in scenarios."""
    with user_errors():
        items: list[dict[str, Any]] = []
        for name in builtin_scenarios():
            spec = read_scenario_spec(name)
            items.append({"name": name, "title": spec.title, "default": name == DEFAULT_SCENARIO})
        if json_output:
            emit_json({"scenarios": items})
            return
        table = Table(title="Built-in scenarios", title_justify="left")
        table.add_column("name")
        table.add_column("title")
        for item in items:
            table.add_row(item["name"] + (" (default)" if item["default"] else ""), item["title"])
        console.print(table)


def validate(
    file: Annotated[str, typer.Argument(help="A scenario TOML file (or a built-in name).")],
    json_output: JsonOpt = False,
) -> None:
    """Check a scenario file against the schema and the protocol's rules."""
    with user_errors():
        loaded = load_scenario(file)
        result = {
            "valid": True,
            "scenario": loaded.name,
            "accounts": len(loaded.accounts),
            "trades": len(loaded.spec.position.trades),
            "estimated_inputs": len(loaded.estimates()),
        }
        if json_output:
            emit_json(result)
        else:
            console.print(
                f"ok: {file} is a valid scenario ({loaded.name}: {result['accounts']} accounts, "
                f"{result['trades']} trades, {result['estimated_inputs']} estimated inputs)"
            )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("run")(run)
    app.command("scenarios")(scenarios)
    app.command("validate")(validate)
