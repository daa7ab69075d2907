"""A scenario end to end: ``delever.run()``, the library behind ``delever run``.

The run is a list of sections; each adds its keys to one JSON-able payload and keeps its
result object: the position and P&L at the mark, the reported sale in a market of limited
depth, the unwind strategies over Monte Carlo paths, the replay of the reported sales, the
cascade of other borrowers, the plan, the advice and the recommendation. The command
prints each section as it completes (``on_section``) and writes the HTML report; the
payload is exactly the object ``delever run --json`` prints.

The long stages (simulation, plan, advice) run through :class:`RunEngines`, so a caller can
wrap them (the command shows progress bars) without changing what they compute.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from delever._json import to_jsonable
from delever._results import ResultContract
from delever.errors import InvalidArgument
from delever.scenario.advice import advise, plan
from delever.scenario.build import Scenario, load_scenario
from delever.scenario.loader import DEFAULT_SCENARIO
from delever.scenario.replay import (
    amplification_report,
    counterfactual_strategies,
    replay_inputs,
)
from delever.sim.advise import Advice
from delever.sim.amplification import AmplificationReport
from delever.sim.api import StreamedSimulation, position_of, simulate_streamed
from delever.sim.limits import check_paths_memory, strategy_arrays
from delever.sim.plan import DEFAULT_MAXFEV, DEFAULT_PIECES, FAMILIES, PlanObjective, PlanResult
from delever.sim.position import PositionReport
from delever.sim.recommend import Recommendation, recommend
from delever.sim.replay import ReplayResult, run_replay
from delever.sim.sale import SaleDiscountReport
from delever.sim.unwind import SimulationResult, UnwindPosition
from delever.strategy import DEFAULT_STRATEGIES

SIMULATION_STEPS = 720  # the strategy comparison: 30 days of hourly steps
SIMULATION_STEP_HOURS = 1.0
PLAN_HORIZON_DAYS = 7.0
# advice: the defaults of `delever advise` (delever.sim.advise.advise)
ADVICE_ALPHA = 0.05
ADVICE_MAX_COST_FRAC = 0.02
ADVICE_HORIZON_DAYS = 5.0
MAX_PATHS = 1_000_000


def _simulate(scenario: Scenario, names: list[str], n_paths: int, n_steps: int,
              step_hours: float, seed: int) -> StreamedSimulation:
    # streamed: memory bounded by a chunk of paths, whatever --paths is
    return simulate_streamed(scenario, names, n_paths=n_paths, n_steps=n_steps,
                             step_hours=step_hours, seed=seed)


def _plan(scenario: Scenario, n_paths: int, seed: int) -> PlanResult:
    # in this process (no Dask cluster): on one machine the numba thread pool is the fastest
    # way (benchmarks/bench_plan.py); `delever plan` offers the cluster
    return plan(scenario, PlanObjective(), n_paths=n_paths,
                horizon_hours=PLAN_HORIZON_DAYS * 24.0, seed=seed, book=True,
                families=list(FAMILIES), pieces=DEFAULT_PIECES, maxfev=DEFAULT_MAXFEV)


def _advise(scenario: Scenario, n_paths: int, seed: int, sell_eth_per_day: float) -> Advice:
    return advise(scenario, n_paths=n_paths, seed=seed, alpha=ADVICE_ALPHA,
                  max_cost_frac=ADVICE_MAX_COST_FRAC, horizon_days=ADVICE_HORIZON_DAYS,
                  buffer_sell_eth_per_day=sell_eth_per_day, client=None)


class RunEngines(NamedTuple):
    """The long stages of a run; a caller may wrap them (progress bars) but must compute the
    same thing: ``simulate(scenario, strategy_names, n_paths, n_steps, step_hours, seed)``,
    ``plan(scenario, n_paths, seed)`` (:data:`PLAN_HORIZON_DAYS` of hourly steps, every
    family, the book), ``advise(scenario, n_paths, seed, sell_eth_per_day)`` (the
    ``ADVICE_*`` settings)."""

    simulate: Callable[[Scenario, list[str], int, int, float, int],
                       StreamedSimulation] = _simulate
    plan: Callable[[Scenario, int, int], PlanResult] = _plan
    advise: Callable[[Scenario, int, int, float], Advice] = _advise


@dataclass(frozen=True, eq=False)
class RunResult(ResultContract):
    """A scenario run end to end: the JSON payload and each section's result object.

    ``payload`` is filled section by section while the run goes (``on_section`` sees it
    grow); ``artifacts`` holds the result objects by section name.
    """

    scenario: Scenario
    n_paths: int
    seed: int
    payload: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    report_path: str | None = None

    # the sections' results (None where a section did not run)
    @property
    def position(self) -> PositionReport:
        report: PositionReport = self.artifacts["position"]
        return report

    @property
    def sale(self) -> SaleDiscountReport | None:
        return self.artifacts.get("sale")

    @property
    def simulation(self) -> StreamedSimulation | None:
        return self.artifacts.get("simulation")

    @property
    def simulation_sample(self) -> SimulationResult | None:
        """The first paths of the simulation with every per-step array (the figures')."""
        streamed = self.simulation
        return None if streamed is None else streamed.sample

    @property
    def replay(self) -> ReplayResult | None:
        return self.artifacts.get("replay")

    @property
    def cascade(self) -> AmplificationReport | None:
        return self.artifacts.get("cascade")

    @property
    def plan(self) -> PlanResult | None:
        return self.artifacts.get("plan")

    @property
    def advice(self) -> Advice | None:
        return self.artifacts.get("advice")

    @property
    def recommendation(self) -> list[Recommendation] | None:
        return self.artifacts.get("recommendation")

    def with_report_path(self, path: str | None) -> RunResult:
        """This result with the HTML report written at ``path``."""
        return dataclasses.replace(self, report_path=path)

    def to_dict(self) -> dict[str, Any]:
        """The object ``delever run --json`` prints: plain JSON values, NaN as None."""
        out: dict[str, Any] = to_jsonable({**self.payload, "report_path": self.report_path})
        return out

    def to_frame(self) -> pd.DataFrame:
        """Every figure of :meth:`to_dict`, one row each: index the dotted path (lists by
        position, e.g. ``accounts.0.health_factor``), column ``value``."""
        flat: dict[str, Any] = {}
        _flatten(self.to_dict(), "", flat)
        return pd.DataFrame({"value": pd.Series(flat, dtype=object)}).rename_axis("key")

    def summary(self) -> str:
        """A few lines: P&L, debt and band; the discount; the strategies; the plan and the
        recommendation."""
        return "\n".join(_summary_lines(self))

    def __str__(self) -> str:
        return self.summary()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    items: list[tuple[str, Any]] | None = None
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    if items is None or not items:
        out[prefix] = value if items is None else ([] if isinstance(value, list) else {})
        return
    for key, item in items:
        _flatten(item, f"{prefix}.{key}" if prefix else key, out)


def _usd_m(value: float) -> str:
    return f"{value / 1e6:+,.1f}M USD"


def _summary_lines(result: RunResult) -> list[str]:
    pnl = result.position.pnl
    lines = [f"{result.scenario.spec.title or result.scenario.name} "
             f"(scenario {result.scenario.name}, {result.n_paths:,} paths, seed {result.seed})",
             f"P&L at the mark {pnl.mark_price_usd:,.2f} USD: realized "
             f"{_usd_m(pnl.realized_usd)}, unrealized {_usd_m(pnl.unrealized_usd)}, total "
             f"{_usd_m(pnl.total_usd)}; debt {result.position.total_debt_usd / 1e6:,.1f}M USD"]
    band = result.position.liquidation_band_usd
    if band is not None:
        lines.append(f"liquidation band {band[0]:,.0f}-{band[1]:,.0f} USD, "
                     f"{result.position.first_liquidation_distance_pct:.1f}% below the mark")
    if result.sale is not None:
        lines.append(f"liquidity discount of the reported sale: {result.sale.discount_pct:.2f}%")
    if result.simulation is not None:
        lines.append("strategies (mean total P&L, P(liquidation)): " + "; ".join(
            f"{name} {_usd_m(s['total_pnl_usd'])}, {s['p_liquidation']:.1%}"
            for name, s in result.simulation.to_dict().items()))
    if result.plan is not None:
        lines.append("plan: " + result.plan.summary().splitlines()[0])
    for item in result.recommendation or []:
        lines.append(f"{item.topic}: {item.text}")
    if result.payload.get("engines_skipped"):
        lines.append(f"simulation, plan and advice skipped: {result.payload['engines_skipped']}")
    return lines


@dataclass
class _Run:
    """One run in progress: the result it fills and the engines it calls."""

    result: RunResult
    engines: RunEngines

    @property
    def scenario(self) -> Scenario:
        return self.result.scenario

    @property
    def payload(self) -> dict[str, Any]:
        return self.result.payload

    @property
    def engine_scenario(self) -> Scenario:
        """The scenario as the engines take it (a loop in its ETH frame), built once."""
        if "engine_scenario" not in self.result.artifacts:
            self.result.artifacts["engine_scenario"] = self.scenario.for_engines()
        engine: Scenario = self.result.artifacts["engine_scenario"]
        return engine

    @property
    def artifacts(self) -> dict[str, Any]:
        return self.result.artifacts


def _position_section(run: _Run) -> None:
    scenario, payload = run.scenario, run.payload
    report = scenario.position_report()
    run.artifacts["position"] = report
    payload.update(report.to_dict())
    payload["reported"] = {
        key: {"value": item.value, "source": item.source, "estimate": item.estimate}
        for key, item in scenario.spec.reported.items()
    }
    payload["estimated_inputs"] = scenario.estimates()


def _market_section(run: _Run) -> None:
    scenario = run.scenario
    report = scenario.sale_discount_report()
    run.artifacts["sale"] = report
    if report is None:
        run.payload["market"] = None
        return
    market = report.to_dict()
    market["parameters_source"] = scenario.market_parameters().source
    reference = (report.market_avg_price_usd if math.isfinite(report.market_avg_price_usd)
                 else scenario.mark_price_usd)
    market["liquidity_discount_usd"] = report.discount_usd(reference)
    run.payload["market"] = market


def _engines_apply(run: _Run) -> bool:
    """Whether the unwind engines can run the scenario's position.

    False with no debt, and for accounts they do not take (other assets, e-mode outside a
    ``[loop]`` scenario): those are reported at the mark and the skip is said once
    (``engines_skipped``), not refused. A loop runs in the engines' ETH frame
    (``engine_frame`` in the payload says how its keys count).
    """
    debtors = [(a.name, a.account) for a in run.scenario.accounts if a.account.has_debt]
    if not debtors:
        return False
    if "engines_skipped" not in run.payload:
        try:
            if run.scenario.is_loop:
                position_of(run.engine_scenario)
                run.payload["engine_frame"] = frame_payload(run.engine_scenario)
            else:
                UnwindPosition.from_accounts(debtors, 1.0, reserves=run.scenario.reserves)
            run.payload["engines_skipped"] = None
        except InvalidArgument as exc:
            run.payload["engines_skipped"] = str(exc)
    return run.payload["engines_skipped"] is None


def frame_payload(scenario: Scenario) -> dict[str, Any] | None:
    """How a loop's engine sections count (None for ETH against stablecoins)."""
    frame = scenario.engine_frame()
    if frame is None:
        return None
    model = frame.path_model
    return {"asset": frame.asset, "numeraire": frame.numeraire,
            "keys": (f"in the simulation, plan, advice and recommendation sections, '_units' "
                     f"keys count {frame.asset} and '_eth' keys count ETH (the engines' ETH "
                     f"and USD); prices are ETH per {frame.asset}"),
            "start_price_eth_per_unit": scenario.mark_price_usd,
            "cost_basis_eth_per_unit": scenario.pnl().average_cost_usd,
            "paths": model.describe(),
            "liquidation_threshold": frame.risk.liquidation_threshold,
            "liquidation_bonus": frame.risk.liquidation_bonus,
            "protocol_fee": frame.risk.protocol_fee}


def relabel_keys(value: Any) -> Any:
    """A loop's engine payload with its keys in the loop's units: ``eth`` (the engines'
    collateral) becomes ``units`` (``unit`` after ``per``), then ``usd`` becomes ``eth``."""
    if isinstance(value, dict):
        return {_relabel(str(k)): relabel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [relabel_keys(v) for v in value]
    return value


def _relabel(key: str) -> str:
    parts = key.split("_")
    out = []
    for i, part in enumerate(parts):
        if part == "eth":
            out.append("unit" if i > 0 and parts[i - 1] == "per" else "units")
        elif part == "usd":
            out.append("eth")
        else:
            out.append(part)
    return "_".join(out)


def _engine_payload(run: _Run, value: Any) -> Any:
    return relabel_keys(value) if run.scenario.is_loop else value


def _simulation_section(run: _Run) -> None:
    if not _engines_apply(run):
        run.payload["simulation"] = None
        return
    names = list(DEFAULT_STRATEGIES)
    n_paths, seed = run.result.n_paths, run.result.seed
    result = run.engines.simulate(run.engine_scenario, names, n_paths, SIMULATION_STEPS,
                                  SIMULATION_STEP_HOURS, seed)
    run.artifacts["simulation"] = result
    run.payload["simulation"] = {
        "n_paths": n_paths,
        "n_steps": SIMULATION_STEPS,
        "step_hours": SIMULATION_STEP_HOURS,
        "seed": seed,
        "strategies": _engine_payload(run, result.to_dict()),
    }


def _replay_section(run: _Run) -> None:
    try:
        inputs = replay_inputs(run.scenario)
    except InvalidArgument as exc:  # no sales, or no price data for their days
        run.payload["replay"] = {"skipped": str(exc)}
        return
    result = run_replay(inputs, counterfactual_strategies(inputs.n_steps))
    run.artifacts["replay"] = result
    run.payload["replay"] = result.to_dict()


def _cascade_section(run: _Run) -> None:
    if run.scenario.spec.book is None or "replay" not in run.artifacts:
        run.payload["cascade"] = None
        return
    report = amplification_report(run.scenario, run.artifacts["replay"])
    run.artifacts["cascade"] = report
    run.payload["cascade"] = report.to_dict()


def _plan_section(run: _Run) -> None:
    if not _engines_apply(run):
        run.payload["plan"] = None
        return
    result = run.engines.plan(run.engine_scenario, run.result.n_paths, run.result.seed)
    run.artifacts["plan"] = result
    run.payload["plan"] = _engine_payload(run, result.to_dict())


def _advice_section(run: _Run) -> None:
    if not _engines_apply(run):
        run.payload["advice"] = None
        return
    plan_result = run.artifacts.get("plan")
    # the margin buffer counts the plan's own sales (their impact and repayments)
    daily = float(plan_result.daily_sold_eth().mean()) if plan_result is not None else 0.0
    result = run.engines.advise(run.engine_scenario, run.result.n_paths, run.result.seed,
                                daily)
    run.artifacts["advice"] = result
    run.payload["advice"] = _engine_payload(run, result.to_dict())


def _recommendation_section(run: _Run) -> None:
    plan_result, advice = run.artifacts.get("plan"), run.artifacts.get("advice")
    if plan_result is None or advice is None:
        run.payload["recommendation"] = None
        return
    frame = run.engine_scenario.engine_frame()
    items = recommend(plan_result, advice,
                      units=None if frame is None else (frame.asset, frame.numeraire))
    run.artifacts["recommendation"] = items
    run.payload["recommendation"] = _engine_payload(run, [r.to_dict() for r in items])


RUN_SECTIONS: tuple[tuple[str, Callable[[_Run], None]], ...] = (
    ("position", _position_section),
    ("market", _market_section),
    ("simulation", _simulation_section),
    ("replay", _replay_section),
    ("cascade", _cascade_section),
    ("plan", _plan_section),
    ("advice", _advice_section),
    ("recommendation", _recommendation_section),
)


def check_run_options(paths: int, seed: int, *, flag_prefix: str = "") -> None:
    """Refuse paths outside [2, 1,000,000] (or beyond memory) and a negative seed.

    ``flag_prefix``: how messages name the options (``"--"`` in the command)."""
    if not 2 <= paths <= MAX_PATHS:  # the plan's 95% intervals need two paths
        raise InvalidArgument(f"{flag_prefix}paths={paths} must be a whole number in "
                              f"[2, {MAX_PATHS:,}] (the plan's 95% intervals need two paths).")
    check_paths_memory(paths, SIMULATION_STEPS, strategy_arrays(len(DEFAULT_STRATEGIES)),
                       steps_label=f"{SIMULATION_STEPS} hourly steps")
    if seed < 0:
        raise InvalidArgument(f"{flag_prefix}seed={seed} must not be negative.")


def run(
    scenario: Scenario | str | None = None,
    *,
    seed: int = 0,
    paths: int = 1_000,
    engines: RunEngines | None = None,
    on_section: Callable[[str, RunResult], None] | None = None,
) -> RunResult:
    """Run a scenario end to end (default: the built-in February 2026 unwind).

    Parameters
    ----------
    scenario : Scenario, a built-in name or a scenario TOML file; None: the default.
    seed : the random seed (same seed, same numbers).
    paths : Monte Carlo paths of the strategies, the plan and the advice (1000).
    engines : the long stages, for a caller that wraps them (default: plain calls).
    on_section : called with ``"start"`` before the first section, then with each section's
        name once it has filled its keys (the command prints its tables there).

    Returns
    -------
    RunResult : ``to_dict()`` is what ``delever run --json`` prints (``report_path`` None:
    no report is written here).

    Raises
    ------
    InvalidArgument : paths outside [2, 1,000,000], a negative seed, a bad scenario.
    """
    check_run_options(paths, seed)
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(
        DEFAULT_SCENARIO if scenario is None else scenario)
    result = RunResult(loaded, paths, seed,
                       payload={"scenario": loaded.name, "title": loaded.spec.title})
    state = _Run(result, engines or RunEngines())
    if on_section is not None:
        on_section("start", result)
    for name, section in RUN_SECTIONS:
        section(state)
        if on_section is not None:
            on_section(name, result)
    return result


__all__ = [
    "PLAN_HORIZON_DAYS",
    "RUN_SECTIONS",
    "SIMULATION_STEPS",
    "RunEngines",
    "RunResult",
    "check_run_options",
    "run",
]
