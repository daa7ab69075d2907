"""delever CLI commands on scenarios: ``run``, ``scenarios`` and ``validate``.

``run`` formats :func:`delever.run` (:mod:`delever.scenario.runner`, which computes the
sections and the JSON object): it prints each section's tables as the section completes,
shows the engines' progress bars and numba's compiles (stderr), and writes the HTML report.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from delever.cli._common import (
    LiveAddressOpt,
    LiveBlockOpt,
    LiveRpcOpt,
    check_report_path,
    console,
    emit_json,
    user_errors,
)
from delever.cli._compile import compile_notice
from delever.cli._loop_tables import (
    print_loop_advice,
    print_loop_frame,
    print_loop_plan,
    print_loop_simulation,
)
from delever.cli._provenance import report_provenance
from delever.cli._tables import print_table
from delever.cli.advise_cmds import advise_with_progress, print_advice
from delever.cli.plan_cmds import PlanRequest, plan_with_progress, print_plan
from delever.cli.replay_cmds import print_replay
from delever.cli.simulate_cmds import print_simulation_table, simulate_with_progress
from delever.errors import InvalidArgument
from delever.report import report_footer, write_report
from delever.report.format import format_usd, report_units
from delever.report.run_report import RunFacts, run_report_sections
from delever.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    builtin_scenarios,
    load_scenario,
    read_scenario_spec,
)
from delever.scenario.runner import (
    PLAN_HORIZON_DAYS,
    SIMULATION_STEP_HOURS,
    SIMULATION_STEPS,
    RunEngines,
    RunResult,
    check_run_options,
)
from delever.scenario.runner import run as run_scenario
from delever.sim.advise import Advice
from delever.sim.api import StreamedSimulation
from delever.sim.plan import PlanObjective, PlanResult
from delever.sim.position import PositionReport

JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]


def _distance(pct: float, driver: str) -> str:
    """``12.3%`` for an ETH/USD fall; the driver named when it is another rate."""
    if not math.isfinite(pct):
        return "never"
    return f"{pct:.1f}%" if driver == "ETH/USD" else f"{pct:.2f}% {driver}"


def _print_start(result: RunResult) -> None:
    spec = result.scenario.spec
    console.print(Panel.fit(f"[bold]{spec.title}[/bold]\nscenario: {result.scenario.name}"))


def _print_position(result: RunResult) -> None:
    scenario, payload, report = result.scenario, result.payload, result.position
    reported = {key: item.value for key, item in scenario.spec.reported.items()}
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
    _print_accounts(report)
    if payload["estimated_inputs"]:
        console.print(
            f"[dim]{len(payload['estimated_inputs'])} input figures are estimates "
            "(press reports or stated rules); `--json` lists them.[/dim]"
        )


def _print_accounts(report: PositionReport) -> None:
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


def _print_market(result: RunResult) -> None:
    report = result.sale
    if report is None:
        return
    mark = result.scenario.mark_price_usd
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


def _print_simulation(result: RunResult) -> None:
    skipped = result.payload.get("engines_skipped")
    if skipped:  # said once, where the first engine would have run
        console.print(f"Simulation, plan and advice skipped: {skipped}", markup=False,
                      highlight=False)
    frame = result.payload.get("engine_frame")
    if result.simulation is not None and frame:
        print_loop_frame(frame)
        print_loop_simulation(result.scenario.name, frame["asset"], result.n_paths,
                              SIMULATION_STEPS, SIMULATION_STEP_HOURS, result.simulation)
    elif result.simulation is not None:
        print_simulation_table(result.scenario.name, result.n_paths, SIMULATION_STEPS,
                               SIMULATION_STEP_HOURS, result.simulation)


def _print_replay(result: RunResult) -> None:
    if result.replay is not None:
        print_replay(result.replay)


def _print_cascade(result: RunResult) -> None:
    report = result.cascade
    if report is None:
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


def _print_plan(result: RunResult) -> None:
    if result.plan is not None and result.payload.get("engine_frame"):
        print_loop_plan(result.scenario.name, result.plan)
    elif result.plan is not None:
        print_plan(result.scenario.name, result.plan)


def _print_advice(result: RunResult) -> None:
    frame = result.payload.get("engine_frame")
    if result.advice is not None and frame:
        print_loop_advice(result.scenario.name, frame["asset"], result.advice)
    elif result.advice is not None:
        print_advice(result.scenario.name, result.advice)


def _print_recommendation(result: RunResult) -> None:
    items = result.recommendation
    if items is None:
        return
    console.print(Panel("\n\n".join(f"[bold]{r.topic.capitalize()}[/bold]: "
                                     f"{escape(r.text)}" for r in items),
                        title="Recommendation (model estimates on the scenario's inputs)",
                        title_align="left"))


# Each section of `delever run` prints its tables once its keys are in (delever.run's
# on_section); progress bars are shown by the engines below.
SECTION_PRINTERS: dict[str, Callable[[RunResult], None]] = {
    "start": _print_start,
    "position": _print_position,
    "market": _print_market,
    "simulation": _print_simulation,
    "replay": _print_replay,
    "cascade": _print_cascade,
    "plan": _print_plan,
    "advice": _print_advice,
    "recommendation": _print_recommendation,
}


def _print_section(name: str, result: RunResult) -> None:
    SECTION_PRINTERS[name](result)


def progress_engines(show: bool) -> RunEngines:
    """The run's long stages with the progress bars of `simulate`, `plan` and `advise`."""

    def simulate_shown(scenario: Scenario, names: list[str], n_paths: int, n_steps: int,
                       step_hours: float, seed: int) -> StreamedSimulation:
        return simulate_with_progress(scenario, names, n_paths, n_steps, step_hours, seed,
                                      show=show)

    def plan_shown(scenario: Scenario, n_paths: int, seed: int) -> PlanResult:
        return plan_with_progress(scenario, PlanObjective(),
                                  PlanRequest(n_paths, PLAN_HORIZON_DAYS, seed),
                                  workers=0, scheduler=None, show=show)

    def advise_shown(scenario: Scenario, n_paths: int, seed: int,
                     sell_eth_per_day: float) -> Advice:
        return advise_with_progress(scenario, paths=n_paths, seed=seed,
                                    sell_eth_per_day=sell_eth_per_day, client=None, show=show)

    return RunEngines(simulate_shown, plan_shown, advise_shown)


def _write_report(result: RunResult, path: Path, source: str) -> Path:
    scenario = result.scenario
    estimated = scenario.estimates()
    sections = run_report_sections(
        result.position,
        sale=result.sale,
        simulation=result.simulation_sample,
        replay=result.replay,
        cascade=result.cascade,
        plan=result.plan,
        advice=result.advice,
        recommendation=result.recommendation,
        facts=RunFacts(result.n_paths, result.seed,
                       {key: item.value for key, item in scenario.spec.reported.items()},
                       bool(estimated), report_units(result.payload.get("engine_frame"))),
    )
    return write_report(
        path,
        f"delever: {scenario.spec.title or scenario.name}",
        sections,
        footer=report_footer(estimated),
        provenance=report_provenance(source, scenario.name),
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
    address: LiveAddressOpt = [],  # noqa: B006 (typer reads the default; never mutated)
    rpc: LiveRpcOpt = None,
    block: LiveBlockOpt = None,
) -> None:
    """Run a scenario end to end (default: the February 2026 unwind) and write the report."""
    with user_errors():
        check_run_options(paths, seed, flag_prefix="--")
        if not no_report:
            check_report_path(report)
        if address or rpc is not None or block is not None:
            with tempfile.TemporaryDirectory(prefix="delever-snapshot-") as folder:
                scenario = _live_scenario(scenario, address, rpc, block, Path(folder))
                _run(scenario, paths, seed, None if no_report else report, json_output)
            return
        _run(scenario, paths, seed, None if no_report else report, json_output)


def _live_scenario(scenario: str, address: list[str], rpc: str | None, block: int | None,
                   folder: Path) -> str:
    """``run --address``: the account's snapshot (delever snapshot), as a scenario file."""
    from delever.cli.live_cmds import take_snapshot

    if scenario != DEFAULT_SCENARIO:
        raise InvalidArgument(f"give a scenario ({scenario!r}) or --address, not both.")
    if not address:
        raise InvalidArgument("--rpc and --block go with --address; give the account.")
    path = folder / "snapshot.toml"
    take_snapshot(address, rpc, block, "ethereum-core", output=path, quiet=True)
    return str(path)


def _run(scenario: str, paths: int, seed: int, report: Path | None, json_output: bool) -> None:
    with user_errors():
        show = not json_output
        with compile_notice():
            result = run_scenario(scenario, paths=paths, seed=seed,
                                  engines=progress_engines(show),
                                  on_section=_print_section if show else None)
        if report is not None:
            written = _write_report(result, report, scenario)
            result = result.with_report_path(str(written))
            if show:
                console.print(f"Report written to {written}", markup=False, highlight=False)
        if json_output:
            emit_json(result.to_dict())


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
