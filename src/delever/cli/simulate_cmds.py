"""``delever simulate``: unwind strategies on a scenario over Monte Carlo price paths.

Paths: GBM with the scenario's calibrated daily sigma, from the mark, ``--steps`` steps of
``--step-hours`` (default 720 hourly steps, 30 days). JSON (``--json``): ``scenario``,
``n_paths``, ``n_steps``, ``step_hours``, ``seed``, ``strategies`` (name -> the summary of
:meth:`delever.sim.unwind.UnwindResult.summary_dict`: ``p_liquidation``,
``realized_pnl_usd``, ``unrealized_pnl_usd``, ``total_pnl_usd``, ``total_pnl_usd_p05``,
``liquidity_discount_usd``, ``eth_left``, ``sold_eth``, ``seized_eth``, ``bad_debt_usd``,
``interest_usd``, ``share_recovered``, ``median_recovery_hours``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from delever.cli._common import console, emit_json, user_errors
from delever.cli._loop_tables import LoopView, print_loop_frame, print_loop_simulation
from delever.cli._tables import print_table
from delever.errors import InvalidArgument
from delever.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from delever.sim.api import StreamedSimulation, simulate_streamed
from delever.sim.limits import check_paths_memory, strategy_arrays
from delever.sim.unwind import SimulationResult
from delever.strategy import DEFAULT_STRATEGIES, strategy_by_name


def _strategy_names(values: list[str] | None) -> list[str]:
    if not values:
        return list(DEFAULT_STRATEGIES)
    names = [part.strip() for v in values for part in v.split(",") if part.strip()]
    if not names:
        raise InvalidArgument("--strategy is empty; give a name, e.g. --strategy twap.")
    for name in names:
        strategy_by_name(name)  # unknown -> one line with close matches
    if len(set(names)) != len(names):
        raise InvalidArgument(f"--strategy lists a name twice: {', '.join(names)}.")
    return names


def _check_count(flag: str, value: int, maximum: int) -> int:
    if value < 1 or value > maximum:
        raise InvalidArgument(f"{flag}={value} must be a whole number in [1, {maximum:,}].")
    return value


def simulate_cmd(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario TOML file.")
    ] = DEFAULT_SCENARIO,
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", "-s",
                     help="Strategy name (repeat, or a comma list); default: all built-ins: "
                          + ", ".join(DEFAULT_STRATEGIES) + "."),
    ] = None,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths (1000).")] = 1_000,
    steps: Annotated[int, typer.Option("--steps", help="Steps per path (720).")] = 720,
    step_hours: Annotated[float, typer.Option("--step-hours", help="Hours per step (1).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0).")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """Simulate unwind strategies over GBM paths: P&L, P(liquidation), discount, recovery."""
    with user_errors():
        names = _strategy_names(strategy)
        _check_count("--paths", paths, 10_000_000)
        _check_count("--steps", steps, 100_000)
        check_paths_memory(paths, steps, strategy_arrays(len(names)))
        if not (0.0 < step_hours <= 24.0 * 30):
            raise InvalidArgument(f"--step-hours={step_hours} must be in (0, 720].")
        if seed < 0:
            raise InvalidArgument(f"--seed={seed} must not be negative.")
        loaded = load_scenario(scenario)
        result = simulate_with_progress(loaded, names, paths, steps, step_hours, seed,
                                        show=not json_output)
        view = LoopView(loaded)
        payload: dict[str, Any] = {
            "scenario": loaded.name, "n_paths": paths, "n_steps": steps,
            "step_hours": step_hours, "seed": seed,
            **view.payload({"strategies": result.to_dict()}),
        }
        if json_output:
            emit_json(payload)
            return
        if view.frame is not None:
            print_loop_frame(view.frame)
            print_loop_simulation(loaded.name, view.frame["asset"], paths, steps, step_hours,
                                  result)
        else:
            print_simulation_table(loaded.name, paths, steps, step_hours, result)


def simulate_with_progress(
    loaded: Scenario, names: list[str], paths: int, steps: int, step_hours: float, seed: int,
    *, show: bool,
) -> StreamedSimulation:
    """:func:`delever.sim.api.simulate_streamed` (memory bounded by a chunk of paths) with a
    rich progress bar over chunks of paths."""
    progress = Progress(TextColumn("simulating"), BarColumn(),
                        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                        console=console, disable=not show, transient=True)
    with progress:
        task = progress.add_task("paths", total=paths * len(names))

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return simulate_streamed(loaded.for_engines(), names, n_paths=paths, n_steps=steps,
                                 step_hours=step_hours, seed=seed, progress=advance)


def print_simulation_table(
    name: str, paths: int, steps: int, step_hours: float,
    result: SimulationResult | StreamedSimulation,
) -> None:
    """The per-strategy table of a simulation."""
    table = Table(title=f"{name}: {paths:,} GBM paths x {steps} steps of "
                        f"{step_hours:g} h (means over paths)", title_justify="left")
    for col in ("strategy", "realized P&L", "unrealized P&L", "P(liq)",
                "liq. discount", "ETH left", "recovered", "median recovery"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for strategy_name, s in result.to_dict().items():
        rec = s["median_recovery_hours"]
        table.add_row(
            strategy_name, f"{s['realized_pnl_usd'] / 1e6:+,.1f}M",
            f"{s['unrealized_pnl_usd'] / 1e6:+,.1f}M",
            f"{s['p_liquidation']:.1%}", f"{s['liquidity_discount_usd'] / 1e6:,.2f}M",
            f"{s['eth_left']:,.0f}", f"{s['share_recovered']:.1%}",
            "-" if rec != rec else f"{rec:,.0f} h",
        )
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the app."""
    app.command("simulate")(simulate_cmd)


__all__ = ["register", "simulate_cmd"]
