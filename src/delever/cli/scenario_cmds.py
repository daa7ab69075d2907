"""delever CLI commands on scenarios: ``run``, ``scenarios`` and ``validate``.

``run`` is built from sections, so later engines (market, simulation, cascade, advice) add a
section without reshaping the command: each section adds its keys to the JSON object and
prints its own tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from delever.cli._common import (
    check_report_path,
    console,
    emit_json,
    user_errors,
)
from delever.cli._provenance import report_provenance
from delever.cli._tables import print_table
from delever.cli.advise_cmds import advise_with_progress, print_advice
from delever.cli.plan_cmds import plan_with_progress, print_plan
from delever.cli.replay_cmds import counterfactual_strategies, print_replay
from delever.cli.simulate_cmds import print_simulation_table, simulate_with_progress
from delever.errors import InvalidArgument
from delever.report import report_footer, write_report
from delever.report.format import format_usd
from delever.report.run_report import run_report_sections
from delever.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    builtin_scenarios,
    load_scenario,
    read_scenario_spec,
)
from delever.scenario.replay import amplification_report, replay_inputs
from delever.sim.limits import check_paths_memory, strategy_arrays
from delever.sim.plan import DEFAULT_MAXFEV, DEFAULT_PIECES, FAMILIES, PlanObjective
from delever.sim.recommend import recommend
from delever.sim.replay import run_replay
from delever.sim.unwind import UnwindPosition
from delever.strategy import DEFAULT_STRATEGIES

JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]


@dataclass
class RunContext:
    """What the sections of `delever run` share: inputs, the JSON payload and results."""

    scenario: Scenario
    payload: dict[str, Any]
    show: bool  # print tables (False with --json)
    n_paths: int
    seed: int
    artifacts: dict[str, Any] = field(default_factory=dict)  # results for the report


# A section of `delever run` adds its keys to the payload and prints its tables.
RunSection = Callable[[RunContext], None]


def _distance(pct: float, driver: str) -> str:
    """``12.3%`` for an ETH/USD fall; the driver named when it is another rate."""
    if not math.isfinite(pct):
        return "never"
    return f"{pct:.1f}%" if driver == "ETH/USD" else f"{pct:.2f}% {driver}"


def _position_section(ctx: RunContext) -> None:
    scenario, payload, show = ctx.scenario, ctx.payload, ctx.show
    report = scenario.position_report()
    ctx.artifacts["position"] = report
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
    print_table(summary)

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
                _distance(account.distance_to_liquidation_pct, account.distance_driver),
            )
        print_table(table)
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


def _market_section(ctx: RunContext) -> None:
    scenario, payload, show = ctx.scenario, ctx.payload, ctx.show
    report = scenario.sale_discount_report()
    ctx.artifacts["sale"] = report
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
    print_table(table)
    console.print(
        "[dim]The square-root law puts the sale's own discount at a few percent; the rest of "
        "the fall over the sale days is the market's own move.[/dim]"
    )


SIMULATION_STEPS = 720  # run's strategy comparison: 30 days of hourly steps


def _engines_apply(ctx: RunContext) -> bool:
    """Whether the unwind engines can run the scenario's position.

    False with no debt, and for accounts they do not take yet (e-mode loops, other assets):
    those are reported at the mark (above) and the skip is said once, not refused.
    """
    debtors = [(a.name, a.account) for a in ctx.scenario.accounts if a.account.has_debt]
    if not debtors:
        return False
    if "engines_skipped" not in ctx.payload:
        try:
            UnwindPosition.from_accounts(debtors, 1.0, reserves=ctx.scenario.reserves)
            ctx.payload["engines_skipped"] = None
        except InvalidArgument as exc:
            ctx.payload["engines_skipped"] = str(exc)
            if ctx.show:
                console.print(f"Simulation, plan and advice skipped: {exc}", markup=False,
                              highlight=False)
    return ctx.payload["engines_skipped"] is None


def _simulation_section(ctx: RunContext) -> None:
    if not _engines_apply(ctx):
        ctx.payload["simulation"] = None
        return
    names = list(DEFAULT_STRATEGIES)
    steps, step_hours = SIMULATION_STEPS, 1.0
    result = simulate_with_progress(
        ctx.scenario, names, ctx.n_paths, steps, step_hours, ctx.seed, show=ctx.show
    )
    ctx.artifacts["simulation"] = result.sample  # the figures' paths (the first 1,000)
    ctx.payload["simulation"] = {
        "n_paths": ctx.n_paths,
        "n_steps": steps,
        "step_hours": step_hours,
        "seed": ctx.seed,
        "strategies": result.to_dict(),
    }
    if ctx.show:
        print_simulation_table(ctx.scenario.name, ctx.n_paths, steps, step_hours, result)


def _replay_section(ctx: RunContext) -> None:
    try:
        inputs = replay_inputs(ctx.scenario)
    except InvalidArgument as exc:  # no sales, or no price data for their days
        ctx.payload["replay"] = {"skipped": str(exc)}
        return
    result = run_replay(inputs, counterfactual_strategies(inputs.n_steps))
    ctx.artifacts["replay"] = result
    ctx.payload["replay"] = result.to_dict()
    if ctx.show:
        print_replay(result)


def _cascade_section(ctx: RunContext) -> None:
    if ctx.scenario.spec.book is None or "replay" not in ctx.artifacts:
        ctx.payload["cascade"] = None
        return
    report = amplification_report(ctx.scenario, ctx.artifacts["replay"])
    ctx.artifacts["cascade"] = report
    ctx.payload["cascade"] = report.to_dict()
    if not ctx.show:
        return
    table = Table(
        title="The reported sale amplified by other borrowers and followers",
        title_justify="left",
    )
    for column in ("sellers", "end price", "low", "liquidations sold", "accounts liquidated"):
        table.add_column(column, justify="left" if column == "sellers" else "right")
    for case in report.cases:
        table.add_row(
            case.label,
            format_usd(case.final_price_usd),
            format_usd(case.min_price_usd),
            f"{case.liquidator_sold_eth:,.0f} ETH",
            f"{case.accounts_liquidated:,}",
        )
    print_table(table)
    console.print(
        f"Amplification of the sale's price drop: x{report.amplification_book:.2f} with the "
        f"book's liquidations, x{report.amplification_book_and_followers:.2f} with followers "
        f"(kappa {report.followers_kappa:g}); book and followers are estimates.",
        markup=False,
        highlight=False,
    )


def _plan_section(ctx: RunContext) -> None:
    # In this process (no Dask cluster): on one machine the numba thread pool is the fastest
    # way (benchmarks/bench_plan.py); `delever plan` offers the cluster.
    if not _engines_apply(ctx):
        ctx.payload["plan"] = None
        return
    result = plan_with_progress(
        ctx.scenario, PlanObjective(), paths=ctx.n_paths, horizon_days=7.0, seed=ctx.seed,
        families=list(FAMILIES), pieces=DEFAULT_PIECES, maxfev=DEFAULT_MAXFEV, book=True,
        workers=0, scheduler=None, show=ctx.show)
    ctx.artifacts["plan"] = result
    ctx.payload["plan"] = result.to_dict()
    if ctx.show:
        print_plan(ctx.scenario.name, result)


def _advice_section(ctx: RunContext) -> None:
    # In this process, as the plan; `delever advise` offers the cluster and more options.
    if not _engines_apply(ctx):
        ctx.payload["advice"] = None
        return
    plan = ctx.artifacts.get("plan")
    # the margin buffer counts the plan's own sales (their impact and repayments)
    daily = float(plan.daily_sold_eth().mean()) if plan is not None else 0.0
    result = advise_with_progress(ctx.scenario, paths=ctx.n_paths, seed=ctx.seed,
                                  sell_eth_per_day=daily, client=None, show=ctx.show)
    ctx.artifacts["advice"] = result
    ctx.payload["advice"] = result.to_dict()
    if ctx.show:
        print_advice(ctx.scenario.name, result)


def _recommendation_section(ctx: RunContext) -> None:
    plan, advice = ctx.artifacts.get("plan"), ctx.artifacts.get("advice")
    if plan is None or advice is None:
        ctx.payload["recommendation"] = None
        return
    items = recommend(plan, advice)
    ctx.artifacts["recommendation"] = items
    ctx.payload["recommendation"] = [r.to_dict() for r in items]
    if ctx.show:
        console.print(Panel("\n\n".join(f"[bold]{r.topic.capitalize()}[/bold]: "
                                         f"{escape(r.text)}" for r in items),
                            title="Recommendation (model estimates on the scenario's inputs)",
                            title_align="left"))


RUN_SECTIONS: list[RunSection] = [
    _position_section,
    _market_section,
    _simulation_section,
    _replay_section,
    _cascade_section,
    _plan_section,
    _advice_section,
    _recommendation_section,
]


def _write_report(ctx: RunContext, path: Path, source: str) -> Path:
    position = ctx.artifacts["position"]
    estimated = ctx.scenario.estimates()
    sections = run_report_sections(
        position,
        sale=ctx.artifacts.get("sale"),
        simulation=ctx.artifacts.get("simulation"),
        n_paths=ctx.n_paths,
        seed=ctx.seed,
        replay=ctx.artifacts.get("replay"),
        cascade=ctx.artifacts.get("cascade"),
        plan=ctx.artifacts.get("plan"),
        advice=ctx.artifacts.get("advice"),
        recommendation=ctx.artifacts.get("recommendation"),
        reported={key: item.value for key, item in ctx.scenario.spec.reported.items()},
        has_estimates=bool(estimated),
    )
    return write_report(
        path,
        f"delever: {ctx.scenario.spec.title or ctx.scenario.name}",
        sections,
        footer=report_footer(estimated),
        provenance=report_provenance(source, ctx.scenario.name),
    )


def run(
    scenario: Annotated[
        str,
        typer.Argument(help="A built-in scenario name or a scenario TOML file."),
    ] = DEFAULT_SCENARIO,
    paths: Annotated[
        int, typer.Option("--paths", help="Monte Carlo paths for the strategies (1000).")
    ] = 1_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0).")] = 0,
    report: Annotated[
        Path, typer.Option("--report", help="Where to write the HTML report.")
    ] = Path("delever-report.html"),
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write the HTML report.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Run a scenario end to end (default: the February 2026 unwind) and write the report."""
    with user_errors():
        if not 2 <= paths <= 1_000_000:  # the plan's 95% intervals need two paths
            raise InvalidArgument(f"--paths={paths} must be a whole number in [2, 1,000,000] "
                                  "(the plan's 95% intervals need two paths).")
        check_paths_memory(paths, SIMULATION_STEPS, strategy_arrays(len(DEFAULT_STRATEGIES)),
                           steps_label=f"{SIMULATION_STEPS} hourly steps")
        if seed < 0:
            raise InvalidArgument(f"--seed={seed} must not be negative.")
        if not no_report:
            check_report_path(report)
        loaded = load_scenario(scenario)
        payload: dict[str, Any] = {"scenario": loaded.name, "title": loaded.spec.title}
        show = not json_output
        if show:
            console.print(Panel.fit(f"[bold]{loaded.spec.title}[/bold]\nscenario: {loaded.name}"))
        ctx = RunContext(loaded, payload, show, paths, seed)
        for section in RUN_SECTIONS:
            section(ctx)
        payload["report_path"] = None
        if not no_report:
            written = _write_report(ctx, report, scenario)
            payload["report_path"] = str(written)
            if show:
                console.print(f"Report written to {written}", markup=False, highlight=False)
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
        print_table(table)


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
