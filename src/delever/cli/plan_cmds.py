"""``delever plan``: the liquidation-aware optimal unwind of a scenario's position.

Minimises E[loss] + lambda * CVaR_beta(loss) subject to P(liquidation) <= alpha over the
Almgren–Chriss, HF-ladder and piecewise-constant families (:mod:`delever.sim.plan`), on
common random numbers through the unwind engine with the scenario's book and followers.
JSON keys: see :meth:`delever.sim.plan.PlanResult.to_dict` and the README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from delever.cli._common import (
    check_report_path,
    console,
    emit_json,
    user_errors,
)
from delever.cli._dask import SchedulerOpt, WorkersOpt, dask_client, resolve_workers
from delever.cli._finite import check_finite_payload
from delever.cli._loop_tables import LoopView, print_loop_frame, print_loop_plan
from delever.cli._provenance import report_provenance
from delever.cli._tables import print_table
from delever.cli.paths_cmds import check_jump_options
from delever.errors import InvalidArgument
from delever.market.paths import (
    DEFAULT_JUMP_INTENSITY_PER_DAY,
    DEFAULT_JUMP_MEAN,
    DEFAULT_JUMP_STD,
)
from delever.report import report_footer, write_report
from delever.report.run_report import plan_section
from delever.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from delever.scenario.advice import PlanProgress, plan
from delever.sim.limits import check_paths_memory, strategy_arrays
from delever.sim.plan import (
    DEFAULT_ALPHA,
    DEFAULT_CVAR_LEVEL,
    DEFAULT_MAXFEV,
    DEFAULT_PIECES,
    DEFAULT_RISK_AVERSION,
    FAMILIES,
    Jumps,
    PlanObjective,
    PlanResult,
)

MAX_RISK_AVERSION = 1_000.0


def _families(values: list[str] | None) -> list[str]:
    if not values:
        return list(FAMILIES)
    names = [part.strip() for v in values for part in v.split(",") if part.strip()]
    for name in names:
        if name not in FAMILIES:
            from delever.errors import unknown_name

            raise unknown_name("--family", name, FAMILIES)
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class PlanRequest:
    """What ``delever plan`` (and ``delever run``'s plan) asks of :func:`delever.plan`."""

    paths: int
    horizon_days: float
    seed: int
    families: list[str] = field(default_factory=lambda: list(FAMILIES))
    pieces: int = DEFAULT_PIECES
    maxfev: int = DEFAULT_MAXFEV
    book: bool = True
    jumps: Jumps | None = None


def plan_with_progress(
    loaded: Scenario, objective: PlanObjective, request: PlanRequest, *, workers: int | None,
    scheduler: str | None, show: bool,
) -> PlanResult:
    """:func:`plan_for_scenario` with a spinner naming the stage and counting candidates."""
    progress = Progress(SpinnerColumn(), TextColumn("planning: {task.description}"),
                        TextColumn("{task.completed:.0f} candidates"), TimeElapsedColumn(),
                        console=console, disable=not show, transient=True)
    with progress, dask_client(workers, scheduler) as client:
        task = progress.add_task("starting", total=None)

        def stage(text: str) -> None:
            progress.update(task, description=text)

        def counted(n: int) -> None:
            progress.advance(task, n)

        r = request
        return plan(loaded, objective, n_paths=r.paths, horizon_hours=r.horizon_days * 24.0,
                    seed=r.seed, book=r.book, families=r.families, pieces=r.pieces,
                    maxfev=r.maxfev, jumps=r.jumps, client=client,
                    progress=PlanProgress(stage, counted))


def print_plan(name: str, result: PlanResult) -> None:
    """The plan, the comparison table and the binding constraint."""
    console.print(f"{name}: {result.summary().splitlines()[0]}", markup=False,
                  highlight=False)
    table = Table(title=f"objective = mean loss + {result.objective.risk_aversion:g} x "
                        f"CVaR{result.objective.cvar_level:.0%} of the loss, USD over "
                        f"{result.n_steps * result.step_hours / 24:g} days; 95% intervals",
                  title_justify="left")
    for col in ("schedule", "objective", "mean loss", "CVaR", "P(liq)", "sold",
                "plan better by (paired)"):
        table.add_column(col, justify="left" if col == "schedule" else "right")
    for m in result.table():
        o, e, c, p = m.objective_usd, m.mean_loss_usd, m.cvar_loss_usd, m.p_liquidation
        g = result.plan_gain_usd.get(m.label)
        gain = "-" if g is None else (f"{g.value / 1e6:,.1f}M "
                                      f"({g.low / 1e6:,.1f}-{g.high / 1e6:,.1f})")
        table.add_row(m.label, f"{o.value / 1e6:,.1f}M ({o.low / 1e6:,.1f}-{o.high / 1e6:,.1f})",
                      f"{e.value / 1e6:,.1f}M", f"{c.value / 1e6:,.1f}M",
                      f"{p.value:.2%} ({p.low:.2%}-{p.high:.2%})", f"{m.mean_sold_frac:.0%}",
                      gain)
    print_table(table)
    fresh = result.fresh_p_liquidation
    console.print(f"P(liquidation) of the plan on fresh paths: {fresh.value:.2%} "
                  f"({fresh.low:.2%}-{fresh.high:.2%})")
    console.print(result.binding_text(), markup=False, highlight=False)
    if result.near_optimal is not None:
        console.print(result.near_optimal.text(), markup=False, highlight=False)
    daily = result.daily_sold_eth()
    console.print("Batches (mean ETH sold per day): "
                  + ", ".join(f"day {i + 1}: {x:,.0f}" for i, x in enumerate(daily) if x > 0.5))


PathsOpt = Annotated[int, typer.Option("--paths", help="Monte Carlo paths (10000).")]
HorizonDaysOpt = Annotated[float, typer.Option(
    "--horizon-days", help="Horizon in days of hourly steps (7).")]
AlphaOpt = Annotated[float, typer.Option(
    "--alpha", help="Cap on P(liquidation) within the horizon (0.05).")]
RiskAversionOpt = Annotated[float, typer.Option(
    "--risk-aversion", help="lambda: weight of the CVaR (0.1).")]
CvarLevelOpt = Annotated[float, typer.Option("--cvar-level", help="beta of the CVaR (0.95).")]
FamilyOpt = Annotated[list[str] | None, typer.Option(
    "--family", help="Families to search (repeat or comma list; default all: "
                     + ", ".join(FAMILIES) + ").")]
PiecesOpt = Annotated[int, typer.Option("--pieces", help="Pieces of the piecewise family (4).")]
MaxfevOpt = Annotated[int, typer.Option(
    "--maxfev", help="Nelder-Mead evaluations per family after the grid (24).")]
NoBookOpt = Annotated[bool, typer.Option(
    "--no-book", help="Leave out the other borrowers' cascade and the followers.")]
JumpsOpt = Annotated[bool, typer.Option(
    "--jumps", help="Merton jumps on the paths, total variance unchanged (gaps that test "
                    "a reactive plan).")]
JumpIntensityOpt = Annotated[float, typer.Option(
    "--jump-intensity", help="With --jumps: jumps per day (0.02, illustrative).")]
JumpMeanOpt = Annotated[float, typer.Option(
    "--jump-mean", help="With --jumps: mean log jump (-0.05, illustrative).")]
JumpStdOpt = Annotated[float, typer.Option(
    "--jump-std", help="With --jumps: std of the log jump (0.05, illustrative).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (0).")]
ReportOpt = Annotated[Path | None, typer.Option(
    "--report", help="Also write an HTML report (the comparison chart and the sales).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object.")]


def plan_cmd(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario TOML file.")
    ] = DEFAULT_SCENARIO,
    paths: PathsOpt = 10_000,
    horizon_days: HorizonDaysOpt = 7.0,
    alpha: AlphaOpt = DEFAULT_ALPHA,
    risk_aversion: RiskAversionOpt = DEFAULT_RISK_AVERSION,
    cvar_level: CvarLevelOpt = DEFAULT_CVAR_LEVEL,
    family: FamilyOpt = None,
    pieces: PiecesOpt = DEFAULT_PIECES,
    maxfev: MaxfevOpt = DEFAULT_MAXFEV,
    no_book: NoBookOpt = False,
    jumps: JumpsOpt = False,
    jump_intensity: JumpIntensityOpt = DEFAULT_JUMP_INTENSITY_PER_DAY,
    jump_mean: JumpMeanOpt = DEFAULT_JUMP_MEAN,
    jump_std: JumpStdOpt = DEFAULT_JUMP_STD,
    seed: SeedOpt = 0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    report: ReportOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The optimal unwind: min mean loss + lambda CVaR s.t. P(liquidation) <= alpha."""
    with user_errors():
        _check_plan_options(paths, horizon_days, seed, risk_aversion, pieces, maxfev)
        n_workers = resolve_workers(workers, scheduler)
        check_report_path(report)
        objective = PlanObjective(risk_aversion=risk_aversion, cvar_level=cvar_level,
                                  alpha=alpha)
        names = _families(family)
        if jumps:
            check_jump_options(jump_intensity, jump_mean, jump_std)
        merton = Jumps(jump_intensity, jump_mean, jump_std) if jumps else None
        loaded = load_scenario(scenario)
        if merton is not None:
            merton.diffusion_variance_daily(loaded.market_parameters().sigma_daily)
        request = PlanRequest(paths, horizon_days, seed, names, pieces, maxfev,
                              book=not no_book, jumps=merton)
        result = plan_with_progress(loaded, objective, request, workers=workers,
                                    scheduler=scheduler, show=not json_output)
        check_finite_payload(result.to_dict(), "plan")
        view = LoopView(loaded)
        written = None if report is None else write_report(
            report, f"delever plan: {loaded.spec.title or loaded.name}",
            [plan_section(result, view.units)],
            footer=report_footer(loaded.estimates()),
            provenance=report_provenance(scenario, loaded.name))
        if json_output:
            payload: dict[str, Any] = {"scenario": loaded.name, "seed": seed,
                                       "book": not no_book, "workers": n_workers,
                                       "scheduler": scheduler,
                                       **view.payload(result.to_dict()),
                                       "report_path": None if written is None else str(written)}
            emit_json(payload)
            return
        if view.frame is not None:
            print_loop_frame(view.frame)
            print_loop_plan(loaded.name, result)
        else:
            print_plan(loaded.name, result)
        if written is not None:
            console.print(f"Report written to {written}", markup=False, highlight=False)


def _check_plan_options(paths: int, horizon_days: float, seed: int, risk_aversion: float,
                        pieces: int, maxfev: int) -> None:
    """The range checks of ``delever plan``, before any work."""
    if not (2 <= paths <= 10_000_000):  # a 95% interval needs two paths
        raise InvalidArgument(f"--paths={paths} must be a whole number in [2, 10,000,000] "
                              "(the plan's 95% intervals need two paths).")
    if not (1.0 / 24.0 <= horizon_days <= 365.0):
        raise InvalidArgument(f"--horizon-days={horizon_days} must be in [1/24, 365].")
    if abs(horizon_days * 24.0 - round(horizon_days * 24.0)) > 1e-9:
        raise InvalidArgument(f"--horizon-days={horizon_days} must be a whole number of "
                              "hours (e.g. 7 or 2.5).")
    check_paths_memory(paths, round(horizon_days * 24.0), strategy_arrays(1),
                       steps_label=f"--horizon-days={horizon_days:g} (hourly steps)")
    if seed < 0:
        raise InvalidArgument(f"--seed={seed} must not be negative.")
    if not (math.isfinite(risk_aversion) and 0.0 <= risk_aversion <= MAX_RISK_AVERSION):
        raise InvalidArgument(
            f"--risk-aversion={risk_aversion:g} must be in [0, {MAX_RISK_AVERSION:g}]: the "
            "weight of the CVaR against the mean loss (beyond 1000 the mean no longer "
            "counts, and the objective overflows); e.g. 0.1.")
    if pieces < 1 or pieces > 64:
        raise InvalidArgument(f"--pieces={pieces} must be in [1, 64].")
    if maxfev < 0:
        raise InvalidArgument(f"--maxfev={maxfev} must be >= 0.")


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the app."""
    app.command("plan")(plan_cmd)


__all__ = ["PlanRequest", "plan_cmd", "plan_with_progress", "print_plan", "register"]
