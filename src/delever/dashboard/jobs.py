"""The long work behind the heavy panels: each job is a plain function of the scenario and a
few numbers that reports progress and returns the panel's components and its JSON payload.

They run in Dash background callbacks (a subprocess each, :mod:`delever.dashboard.app`); the
library calls are those of ``delever simulate``, ``plan``, ``advise``, ``replay`` and
``cascade``, and the figures are the HTML report's (:mod:`delever.report.run_report`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from dash import html

from delever._json import to_jsonable
from delever.book.actors import ImpactParams
from delever.book.cascade import cascade
from delever.cli._dask import dask_client
from delever.dashboard.components import graph, section_block, table
from delever.dashboard.figures import frontier_figure, gains_figure
from delever.dashboard.model import ScenarioInput, borrower_book, load_input
from delever.errors import InvalidArgument
from delever.report.format import format_usd
from delever.report.run_report import (
    advice_section,
    cascade_section,
    plan_section,
    replay_section,
    simulation_sections,
)
from delever.scenario.advice import PlanProgress, advise, plan
from delever.scenario.replay import amplification_report, counterfactual_strategies, replay_inputs
from delever.scenario.runner import (
    ADVICE_ALPHA,
    ADVICE_HORIZON_DAYS,
    ADVICE_MAX_COST_FRAC,
    PLAN_HORIZON_DAYS,
)
from delever.sim.api import simulate_streamed
from delever.sim.plan import DEFAULT_MAXFEV, DEFAULT_PIECES, FAMILIES, PlanObjective
from delever.sim.replay import run_replay
from delever.strategy import DEFAULT_STRATEGIES

Progress = Callable[[float, float, str], None]  # done, total, what is being done
JobOutput = tuple[list[Any], dict[str, Any]]  # the panel's children, the JSON payload
MAX_JOB_PATHS = 200_000  # a page's job; the CLI takes more


def check_job_options(paths: Any, seed: Any) -> tuple[int, int]:
    """Paths in [2, 200,000] and a seed >= 0, as whole numbers (one-line errors)."""
    if not isinstance(paths, int | float) or not float(paths).is_integer() or not (
            2 <= paths <= MAX_JOB_PATHS):
        raise InvalidArgument(f"paths={paths!r} must be a whole number in [2, "
                              f"{MAX_JOB_PATHS:,}].")
    if not isinstance(seed, int | float) or not float(seed).is_integer() or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a whole number >= 0.")
    return int(paths), int(seed)


def strategies_job(source: ScenarioInput, paths: int, seed: int, steps: int,
                   progress: Progress) -> JobOutput:
    """The built-in strategies over GBM paths (``delever simulate``): P(liquidation) and
    P&L per strategy, and the report's figures."""
    scenario = load_input(source)
    names = list(DEFAULT_STRATEGIES)
    result = simulate_streamed(scenario, names, n_paths=paths, n_steps=steps, step_hours=1.0,
                               seed=seed, progress=lambda d, t: progress(d, t, "simulating"))
    summary = result.to_dict()
    rows = [(name, f"{s['p_liquidation']:.1%}", format_usd(s["total_pnl_usd"]),
             format_usd(s["total_pnl_usd_p05"]), format_usd(s["liquidity_discount_usd"]))
            for name, s in summary.items()]
    band = scenario.position_report().liquidation_band_usd
    sections = simulation_sections(result.sample, band, paths, seed)
    children: list[Any] = [
        html.P(f"Monte Carlo estimates over {paths:,} GBM paths of {steps} hourly steps "
               f"(seed {seed}).", className="note"),
        table(rows, ("strategy", "P(liquidation) (estimate)", "mean total P&L (estimate)",
                     "P&L 5th percentile", "liquidity discount"),
              table_id="strategies-table", cell_ids="strategies"),
        *[section_block(s) for s in sections],
    ]
    payload = {"n_paths": paths, "n_steps": steps, "step_hours": 1.0, "seed": seed,
               "strategies": summary}
    return children, to_jsonable(payload)


def plan_job(source: ScenarioInput, paths: int, seed: int, objective: tuple[float, float],
             history: list[dict[str, Any]], progress: Progress, scheduler: str | None = None
             ) -> JobOutput:
    """The liquidation-aware plan (``delever plan``) at (alpha, lambda), the frontier of
    expected loss against P(liquidation), and the paired gains over the baselines.

    ``scheduler``: a Dask scheduler's address to evaluate on (the same numbers as here)."""
    alpha, risk_aversion = objective
    goal = PlanObjective(risk_aversion=risk_aversion, alpha=alpha)
    scenario = load_input(source)
    count = [0]

    def stage(text: str) -> None:
        progress(count[0], DEFAULT_MAXFEV, text)

    def evaluated(n: int) -> None:
        count[0] += n
        progress(min(count[0], DEFAULT_MAXFEV), DEFAULT_MAXFEV, "searching")

    with dask_client(None if scheduler else 0, scheduler) as client:
        result = plan(scenario, goal, n_paths=paths, horizon_hours=PLAN_HORIZON_DAYS * 24.0,
                      seed=seed, book=True, families=list(FAMILIES), pieces=DEFAULT_PIECES,
                      maxfev=DEFAULT_MAXFEV, client=client,
                      progress=PlanProgress(stage, evaluated))
    points: list[dict[str, float | str]] = [
        {"label": m.label, "p_liquidation": m.p_liquidation.value,
         "mean_loss_usd": m.mean_loss_usd.value} for m in result.table()]
    plan_point = {**points[0], "alpha": alpha, "risk_aversion": risk_aversion}
    history = [h for h in history if (h["alpha"], h["risk_aversion"]) != (alpha, risk_aversion)]
    history.append(plan_point)
    gains = result.plan_gain_usd
    section = plan_section(result)
    children: list[Any] = [
        html.P(f"Monte Carlo estimates over {paths:,} paths (seed {seed}); alpha "
               f"{alpha:.1%}, lambda {risk_aversion:g}.", className="note"),
        graph(frontier_figure(points, history), "plan-frontier"),
        section_block(section),
        graph(gains_figure(list(gains), [g.value for g in gains.values()],
                           [(g.low, g.high) for g in gains.values()])),
    ]
    return children, {"plan": to_jsonable(result.to_dict()), "frontier": history}


def advice_job(source: ScenarioInput, paths: int, seed: int, progress: Progress,
               scheduler: str | None = None) -> JobOutput:
    """The risk advice (``delever advise``): margin buffer, safe size, staged batches, hold
    against selling into rebounds, the leverage x entry heatmap (on ``scheduler``, a Dask
    scheduler's address, where given)."""
    scenario = load_input(source)

    def advance(stage: str, done: int, total: int) -> None:
        progress(done, max(total, 1), stage.replace("_", " "))

    with dask_client(None if scheduler else 0, scheduler) as client:
        result = advise(scenario, n_paths=paths, seed=seed, alpha=ADVICE_ALPHA,
                        max_cost_frac=ADVICE_MAX_COST_FRAC, horizon_days=ADVICE_HORIZON_DAYS,
                        buffer_sell_eth_per_day=0.0, client=client, progress=advance)
    children: list[Any] = [html.P(f"Monte Carlo estimates over {paths:,} paths per evaluation "
                                  f"(seed {seed}).", className="note"),
                           section_block(advice_section(result))]
    return children, to_jsonable(result.to_dict())


def replay_job(source: ScenarioInput, progress: Progress) -> JobOutput:
    """The February 2026 replay of the reported sales and its counterfactuals
    (``delever replay``); a scenario without sales says why there is none."""
    scenario = load_input(source)
    progress(0, 1, "replaying")
    try:
        inputs = replay_inputs(scenario)
    except InvalidArgument as exc:
        return [html.P(f"no replay: {exc}", className="note")], {"skipped": str(exc)}
    result = run_replay(inputs, counterfactual_strategies(inputs.n_steps))
    progress(1, 1, "done")
    return [section_block(replay_section(result))], to_jsonable(result.to_dict())


def cascade_job(source: ScenarioInput, shock_pct: float, progress: Progress) -> JobOutput:
    """The cascade of the other borrowers after one shock (``delever cascade SCENARIO
    --shock-pct``, the exact engine) and the amplification of the reported sale."""
    if not (isinstance(shock_pct, int | float) and math.isfinite(shock_pct)
            and 0.01 <= shock_pct < 100.0):
        raise InvalidArgument(f"shock_pct={shock_pct!r} must be in [0.01, 100).")
    scenario = load_input(source)
    book = borrower_book(scenario)
    if book is None:
        return [html.P("no [book] in this scenario: no other borrowers to cascade.",
                       className="note")], {"cascade": None}
    progress(0, 2, "cascade")
    params = scenario.market_parameters()
    result = cascade(book, price_usd=scenario.mark_price_usd, shock_frac=shock_pct / 100.0,
                     engine="exact",
                     impact=ImpactParams(params.impact_y, params.sigma_daily, params.adv_eth),
                     rules=scenario.protocol.kernel_rules())
    rows = [("start, after the shock, end", f"{format_usd(result.start_price_usd)}, "
             f"{format_usd(result.shock_price_usd)}, {format_usd(result.final_price_usd)}"),
            ("collateral liquidated (estimate)", f"{result.collateral_liquidated_eth:,.0f} ETH"),
            ("accounts liquidated", f"{result.accounts_liquidated:,}"),
            ("bad debt", format_usd(result.bad_debt_usd)),
            ("amplification (estimate)", f"x{result.amplification:.3f}")]
    children: list[Any] = [html.H3(f"Cascade after a {shock_pct:g}% shock from the mark"),
                           table(rows, table_id="cascade-table", cell_ids="cascade")]
    payload: dict[str, Any] = {"cascade": to_jsonable(result.to_dict()), "shock_pct": shock_pct}
    progress(1, 2, "amplification of the reported sale")
    try:
        report = amplification_report(scenario)
        children.append(section_block(cascade_section(report)))
        payload["amplification"] = to_jsonable(report.to_dict())
    except InvalidArgument as exc:  # no sales or no price data for their days
        children.append(html.P(f"no amplification of a reported sale: {exc}", className="note"))
    progress(2, 2, "done")
    return children, payload


__all__ = [
    "advice_job",
    "cascade_job",
    "check_job_options",
    "plan_job",
    "replay_job",
    "strategies_job",
]
