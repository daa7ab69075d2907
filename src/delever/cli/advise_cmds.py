"""``delever advise``: the risk lessons of a leveraged unwind, as numbers.

Runs :func:`delever.sim.advise.advise` on a scenario: the largest position that can be
unwound within a cost cap and a liquidation probability (concentration vs liquidity), the HF
that survives a 3- and 7-day 99th-percentile move, the staged sales that reach it, hold vs
sell-into-rebounds after the unwind, and the leverage x entry-price heatmap. The market is
:func:`delever.scenario.market.scenario_market` (the square-root law plus the scenario's book
of other borrowers and its followers).

JSON (``--json``), top-level keys: ``scenario``, ``market``, ``n_paths``, ``seed``,
``alpha``, ``max_cost_frac``, ``horizon_days``, ``workers``, ``scheduler``,
``max_position``, ``margin_buffer``, ``staged_deleveraging``, ``after_unwind``,
``leverage_heatmap`` (each section the ``to_dict()`` of its result class in
:mod:`delever.sim.advise`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from delever.cli._common import (
    check_report_path,
    console,
    emit_json,
    user_errors,
)
from delever.cli._dask import SchedulerOpt, WorkersOpt, dask_client, resolve_workers
from delever.cli._finite import check_finite_payload
from delever.cli._loop_tables import LoopView, print_loop_advice, print_loop_frame
from delever.cli._provenance import report_provenance
from delever.cli._tables import print_table
from delever.errors import InvalidArgument
from delever.report import report_footer, write_report
from delever.report.run_report import advice_section
from delever.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from delever.scenario.advice import advise
from delever.sim.advise import STAGES, Advice

if TYPE_CHECKING:
    from distributed import Client

MARKET_LABEL = "scenario_market (square-root impact + the scenario's book and followers)"


def _check(flag: str, ok: bool, rule: str) -> None:
    if not ok:
        raise InvalidArgument(f"{flag} {rule}")


def advise_cmd(
    scenario: Annotated[
        str, typer.Argument(help="A built-in scenario name or a scenario TOML file.")
    ] = DEFAULT_SCENARIO,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths per evaluation "
                                                       "(1000; the heatmap uses at most 500).")
                     ] = 1_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (0).")] = 0,
    alpha: Annotated[float, typer.Option("--alpha", help="Cap on P(liquidation) while "
                                                         "unwinding, in (0, 1) (0.05).")] = 0.05,
    max_cost: Annotated[float, typer.Option("--max-cost", help="Cap on the mean impact cost "
                                                               "over the marked value, in "
                                                               "(0, 1) (0.02).")] = 0.02,
    horizon_days: Annotated[float, typer.Option("--horizon-days",
                                                help="Unwind horizon for the largest "
                                                     "position, days (5).")] = 5.0,
    sell_eth_per_day: Annotated[float, typer.Option(
        "--sell-eth-per-day", help="The owner's sales during the margin buffer's windows "
                                   "(0: hold); their impact and repayments count.")] = 0.0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write an HTML report (buffer, recovery, P&L, heatmaps).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Write one JSON object.")] = False,
) -> None:
    """Risk advice: max position, margin buffer, staged sales, after the unwind, heatmap."""
    with user_errors():
        _check(f"--paths={paths}", 1 <= paths <= 1_000_000, "must be a whole number in "
                                                            "[1, 1,000,000].")
        _check(f"--seed={seed}", seed >= 0, "must not be negative.")
        _check(f"--alpha={alpha}", 0.0 < alpha < 1.0, "must be in (0, 1), e.g. 0.05.")
        _check(f"--max-cost={max_cost}", 0.0 < max_cost < 1.0,
               "must be in (0, 1), a fraction of the marked value, e.g. 0.02.")
        _check(f"--horizon-days={horizon_days}",
               math.isfinite(horizon_days) and 0.0 < horizon_days <= 365.0,
               "must be in (0, 365].")
        _check(f"--sell-eth-per-day={sell_eth_per_day}",
               math.isfinite(sell_eth_per_day) and sell_eth_per_day >= 0.0,
               "must be a finite amount of ETH >= 0.")
        n_workers = resolve_workers(workers, scheduler)
        check_report_path(report)
        loaded = load_scenario(scenario)
        with dask_client(workers, scheduler) as client:
            result = advise_with_progress(loaded, paths=paths, seed=seed, alpha=alpha,
                                          max_cost_frac=max_cost, horizon_days=horizon_days,
                                          sell_eth_per_day=sell_eth_per_day, client=client,
                                          show=not json_output)
        check_finite_payload(result.to_dict(), "advise")
        view = LoopView(loaded)
        written = None if report is None else write_report(
            report, f"delever advise: {loaded.spec.title or loaded.name}",
            [advice_section(result, view.units)], footer=report_footer(loaded.estimates()),
            provenance=report_provenance(scenario, loaded.name))
        payload: dict[str, Any] = {
            "scenario": loaded.name, "market": MARKET_LABEL, "alpha": alpha,
            "max_cost_frac": max_cost, "horizon_days": horizon_days, "workers": n_workers,
            "scheduler": scheduler, **view.payload(result.to_dict()),
            "report_path": None if written is None else str(written),
        }
        if json_output:
            emit_json(payload)
            return
        if view.frame is not None:
            print_loop_frame(view.frame)
            print_loop_advice(loaded.name, view.frame["asset"], result)
        else:
            print_advice(loaded.name, result)
        if written is not None:
            console.print(f"Report written to {written}", markup=False, highlight=False)


def advise_with_progress(
    loaded: Scenario, *, paths: int, seed: int, alpha: float = 0.05,
    max_cost_frac: float = 0.02, horizon_days: float = 5.0,
    sell_eth_per_day: float = 0.0, client: Client | None, show: bool,
) -> Advice:
    """:func:`delever.sim.advise.advise` on a scenario (its market with the book and
    followers), with a progress bar per stage."""
    progress = Progress(TextColumn("{task.description:<22}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=console, disable=not show, transient=True)
    with progress:
        bars = {name: progress.add_task(name, total=None) for name in STAGES}

        def advance(stage: str, done: int, total: int) -> None:
            progress.update(bars[stage], completed=done, total=total)

        return advise(loaded, n_paths=paths, seed=seed, alpha=alpha,
                      max_cost_frac=max_cost_frac, horizon_days=horizon_days,
                      buffer_sell_eth_per_day=sell_eth_per_day, client=client,
                      progress=advance)


def _m(usd: float) -> str:
    return f"{usd / 1e6:+,.1f}M"


def _opt(value: float | None, spec: str, suffix: str = "") -> str:
    return "never" if value is None else f"{value:{spec}}{suffix}"


def print_advice(name: str, advice: Advice) -> None:
    """The terminal summary: one table per question."""
    mp = advice.max_position
    t = Table(title=f"{name}: largest position unwound in {mp.horizon_days:g} days "
                    f"(cost <= {mp.max_cost_frac:.1%}, P(liq) <= {mp.alpha:.0%}; now "
                    f"{mp.current_eth:,.0f} ETH)", title_justify="left")
    for col in ("strategy", "limit", "ETH", "scale", "cost", "P(liq)", "now: cost",
                "now: sold"):
        t.add_column(col, justify="left" if col in ("strategy", "limit") else "right")
    for lim in mp.limits:
        cur = lim.at_current
        t.add_row(lim.strategy, lim.limiting, f"{lim.at_limit.eth:,.0f}",
                  f"{lim.at_limit.scale:.3f}", f"{lim.at_limit.cost_frac.value:.2%}",
                  f"{lim.at_limit.p_liquidation.value:.1%}",
                  "-" if cur is None else f"{cur.cost_frac.value:.2%}",
                  "-" if cur is None else f"{cur.share_unwound:.0%}")
    print_table(t)

    mb = advice.margin_buffer
    t = Table(title=f"HF that survives the {1 - mb.quantile:.0%} move (own sales "
                    f"{mb.sell_eth_per_day:,.0f} ETH/day, cascade included)",
              title_justify="left")
    for col in ("paths", "window", "ratio (95% CI)", "HF need", "HF now", "add ETH",
                "or repay"):
        t.add_column(col, justify="left" if col == "paths" else "right")
    for row in mb.rows:
        total = row.accounts[-1]
        t.add_row(row.source, f"{row.window_days:g} d",
                  f"{row.ratio.value:.3f} ({row.ratio.low:.2f}-{row.ratio.high:.2f})",
                  f"{row.required_hf.value:.3f}", f"{total.current_hf:.3f}",
                  f"{total.add_collateral_eth:,.0f}", f"{total.repay_debt_usd / 1e6:,.1f}M")
    print_table(t)

    plan = advice.staged
    t = Table(title=f"Staged deleveraging to HF {plan.target_hf:.3f}: "
                    f"{plan.needed_eth:,.0f} ETH in {len(plan.batches)} batches "
                    f"(each <= {plan.max_batch_discount:.1%} discount, "
                    f"{plan.interval_hours:g} h apart)", title_justify="left")
    for col in ("hour", "ETH", "fill USD", "discount", "HF after (min acct)"):
        t.add_column(col, justify="right")
    for b in plan.batches:
        t.add_row(f"{b.time_hours:g}", f"{b.eth:,.0f}", f"{b.fill_price_usd:,.2f}",
                  f"{b.discount_frac:.2%}", f"{b.hf_after:.3f} ({min(b.hf_after_by_account):.3f})")
    print_table(t)

    au = advice.after_unwind
    t = Table(title=f"After the unwind: {au.horizon_days:g} days, cost basis "
                    f"${au.cost_basis_usd_per_eth:,.0f}", title_justify="left")
    for col in ("paths", "strategy", "recovered", "median d", "P(liq)", "P&L p05",
                "P&L p50", "P&L mean"):
        t.add_column(col, justify="left" if col in ("paths", "strategy") else "right")
    for r in au.rows:
        t.add_row(r.source, r.strategy, f"{r.share_recovered:.0%}",
                  _opt(r.recovery.quantiles[2], ",.0f"), f"{r.p_liquidation:.0%}",
                  _m(r.final_pnl.quantiles[0] or math.nan),
                  _m(r.final_pnl.quantiles[2] or math.nan), _m(r.final_pnl.mean or math.nan))
    print_table(t, key_columns=2)  # a row is a (paths, strategy) pair

    hm = advice.heatmap
    t = Table(title=f"P(liquidation) in {hm.horizon_days:g} days holding, by leverage x "
                    f"entry price (equity at cost ${hm.equity_usd / 1e6:,.0f}M, mark "
                    f"${hm.mark_price_usd:,.0f})", title_justify="left")
    t.add_column("L", justify="left")
    for p in hm.entry_prices_usd:
        t.add_column(f"{p / 1e3:.2f}k", justify="right")
    for i, lev in enumerate(hm.leverages):
        t.add_row(f"{lev:g}x", *[f"{v:.2f}" for v in hm.p_liquidation[i]])
    print_table(t)


def register(app: typer.Typer) -> None:
    """Add ``advise`` to the app."""
    app.command("advise")(advise_cmd)


__all__ = ["advise_cmd", "advise_with_progress", "print_advice", "register"]
