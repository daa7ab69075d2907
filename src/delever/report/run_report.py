"""The report of ``delever run``: position, market, simulation and replay, as HTML sections."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from delever.report.advice_figures import (
    buffer_figure,
    final_pnl_figure,
    leverage_heatmap_figure,
    recovery_time_figure,
)
from delever.report.figures import (
    bar_figure,
    distribution_by_label_figure,
    lines_by_label_figure,
    price_fan_figure,
)
from delever.report.format import ETH_USD, ReportUnits, format_usd
from delever.report.html import ReportSection
from delever.report.plan_figures import plan_comparison_figure, plan_schedule_figure
from delever.sim.advise import Advice
from delever.sim.amplification import AmplificationReport
from delever.sim.plan import PlanResult
from delever.sim.position import PositionReport
from delever.sim.recommend import Recommendation
from delever.sim.replay import ReplayResult
from delever.sim.sale import SaleDiscountReport
from delever.sim.unwind import SimulationResult


def equity_at_cost_usd(report: PositionReport) -> float:
    """ETH held x average cost - debt: the equity the position was built with."""
    return report.pnl.position_eth * report.pnl.average_cost_usd - report.total_debt_usd


def equity_at_mark_usd(report: PositionReport) -> float:
    """Collateral (ETH-equivalent) at the mark - debt: what the position is worth now."""
    return report.total_collateral_eth * report.mark_price_usd - report.total_debt_usd


def position_section(
    report: PositionReport,
    reported: Mapping[str, float] | None = None,
    *,
    has_estimates: bool = True,
) -> ReportSection:
    """P&L (the model beside the reported figures, as the terminal), the band and accounts.

    ``reported``: the scenario's ``[reported]`` values by key (``realized_pnl_usd``,
    ``unrealized_pnl_usd``, ``total_pnl_usd``, ``debt_usd``); None or empty: one column.
    """
    pnl = report.pnl
    band = report.liquidation_band_usd
    published = dict(reported or {})

    def row(label: str, model: str, key: str = "") -> tuple[str, ...]:
        if not published:
            return (label, model)
        value = published.get(key, math.nan) if key else math.nan
        return (label, model, format_usd(value) if math.isfinite(value) else "")

    rows: list[tuple[str, ...]] = [
        row("mark price", format_usd(pnl.mark_price_usd)),
        row("ETH held", f"{pnl.position_eth:,.0f}"),
        row("average cost per ETH", format_usd(pnl.average_cost_usd)),
        row("realized P&L", format_usd(pnl.realized_usd), "realized_pnl_usd"),
        row("unrealized P&L (at the mark)", format_usd(pnl.unrealized_usd),
            "unrealized_pnl_usd"),
        row("total P&L", format_usd(pnl.total_usd), "total_pnl_usd"),
        row("debt", format_usd(report.total_debt_usd), "debt_usd"),
    ]
    if report.total_debt_usd > 0 or report.accounts:
        rows.append(row("equity at cost (ETH held x average cost - debt)",
                        format_usd(equity_at_cost_usd(report))))
        rows.append(row("equity at the mark (collateral at the mark - debt)",
                        format_usd(equity_at_mark_usd(report))))
    if band is not None:
        rows.append(row("liquidation band", f"{format_usd(band[0])} - {format_usd(band[1])}"))
        rows.append(
            row("fall to the first liquidation", f"{report.first_liquidation_distance_pct:.1f}%")
        )
    for account in report.accounts:
        rows.append(
            row(
                f"account {account.name}",
                f"{account.collateral_eth:,.0f} ETH, debt {format_usd(account.debt_usd)}, "
                f"HF {account.health_factor:.3f}, "
                + (f"liquidation at {format_usd(account.liquidation_price_usd)}"
                   if account.distance_driver in ("ETH/USD", "none") else
                   f"liquidated after a {account.distance_to_liquidation_pct:.2f}% "
                   f"{account.distance_driver} fall"),
            )
        )
    text = "Aave v3 rules at the scenario's mark price."
    if published:
        text += " The reported column holds the scenario's published figures."
    if has_estimates:
        text += " Some inputs are estimates (the note at the end lists them)."
    return ReportSection(
        "Position at the mark",
        text,
        rows,
        columns=("", "model", "reported") if published else (),
    )


def market_section(sale: SaleDiscountReport) -> ReportSection:
    """The square-root-law discount of the reported sale."""
    low, high = sale.discount_pct_range
    rows = [
        ("ETH sold", f"{sale.qty_eth:,.0f} in {sale.n_slices} slices"),
        (
            "square-root law",
            f"Y={sale.impact_y:g}, sigma={sale.sigma_daily:.4f}/day, ADV={sale.adv_eth:,.0f} ETH",
        ),
        ("liquidity discount", f"{sale.discount_pct:.2f}% (Y range {low:.2f}-{high:.2f}%)"),
        ("market price on the sale days", format_usd(sale.market_avg_price_usd)),
        ("modelled average sale price", format_usd(sale.modelled_avg_price_usd)),
        ("reported average sale price", format_usd(sale.reported_avg_price_usd)),
    ]
    return ReportSection("The sale in a market of limited depth", "", rows)


def simulation_sections(
    result: SimulationResult, band_usd: tuple[float, float] | None, n_paths: int, seed: int,
    units: ReportUnits = ETH_USD,
) -> list[ReportSection]:
    """Price fan, HF, ETH sold, P&L distribution and P(liquidation) per strategy (a loop's in
    its asset and ETH: ``units``)."""
    first = result.results[0]
    shown = first.n_paths  # a streamed run keeps its first paths whole for the figures
    shown_label = (f"{n_paths:,} paths" if shown >= n_paths
                   else f"the first {shown:,} of {n_paths:,} paths")
    times = np.arange(first.n_steps + 1, dtype=np.float64) * first.step_hours / 24.0
    reference = result["hold"] if "hold" in result.strategies else first
    fan = price_fan_figure(
        times,
        reference.mid_usd,
        band_usd=band_usd if units.is_usd else None,
        title=f"{units.asset} mid under '{reference.strategy}' ({shown_label})",
        y_title=units.price_axis,
    )
    hf = lines_by_label_figure(
        times,
        {r.strategy: np.median(np.minimum(r.health_factor, 5.0), axis=0) for r in result.results},
        title="Health factor at each hour: median over paths, per strategy"
        "<br><sup>the lowest HF over the accounts with debt, at the oracle price; capped at 5 "
        "(no debt left reads 5)</sup>",
        y_title="health factor (capped at 5)",
        reference_y=1.0,
        reference_label="liquidation",
    )
    sold = lines_by_label_figure(
        times,
        {r.strategy: np.mean(np.cumsum(r.sold_eth, axis=1), axis=0) for r in result.results},
        title=f"{units.asset} sold by the owner so far: mean over paths, per strategy",
        y_title=f"{units.asset} sold (cumulative)",
    )
    pnl = distribution_by_label_figure(
        {r.strategy: r.total_pnl_usd / units.scale for r in result.results},
        title="Total P&L against the cost basis at the end of each path (realized + unrealized "
        "- interest)<br><sup>one box per strategy over paths; dashed line = mean; axis shows the "
        "0.5-99.5 percentiles</sup>",
        y_title=f"P&L ({units.money_axis})",
    )
    p_liq = bar_figure(
        list(result.strategies),
        [float(r.liquidated.mean()) for r in result.results],
        title=f"P(liquidation) within {times[-1]:g} days: share of paths with any account "
        "liquidated",
        y_title="P(liquidation)",
        value_format=".1%",
    )
    paths_text = (
        f"{n_paths:,} GBM paths (seed {seed}) from the mark with the calibrated daily "
        "volatility; the owner's own square-root impact, the Chainlink-style oracle, "
        "interest and Aave liquidations in every step." if units.is_usd else
        f"{n_paths:,} paths (seed {seed}) of the {units.asset} exchange rate (staking yield, "
        "slashing jumps; what Aave's CAPO oracle reads) times the stETH/ETH market factor "
        "(the discount's OU fit, estimates; what a sale gets), counted in ETH; the owner's own "
        "square-root impact, WETH's interest and Aave e-mode liquidations in every step.")
    text = (
        paths_text
        + ("" if shown >= n_paths else
           f" The figures draw {shown_label} (every per-step array kept); the tables' figures "
           "are over every path.")
    )
    return [
        ReportSection("Monte Carlo: price and liquidation band", text, figures=[fan]),
        ReportSection("Strategies", "", figures=[hf, sold, pnl, p_liq]),
    ]


def replay_section(replay: ReplayResult) -> ReportSection:
    """Realized path, the path without the fund's selling, and the counterfactuals."""
    times = np.arange(replay.inputs.n_steps + 1, dtype=np.float64) * replay.inputs.step_hours / 24.0
    series = {
        "realized (Binance)": replay.inputs.realized_usd,
        "without the fund's selling (model)": replay.no_fund_usd,
    }
    for result in replay.counterfactuals.results:
        series[f"mid under {result.strategy}"] = result.mid_usd[0]
    figure = lines_by_label_figure(
        times, series, title="Replay of the reported sales", y_title="USD per ETH"
    )
    data = replay.to_dict()
    dec = data["decomposition"]
    rows: list[tuple[str, str]] = [
        ("reported average sale price", format_usd(data["reported_avg_price_usd"])),
        (
            "modelled average sale price",
            f"{format_usd(data['modelled_avg_price_usd'])} "
            f"({data['modelled_vs_reported_pct']:+.1f}%)",
        ),
        ("drawdown, start to low", f"{dec['drawdown_pct']:.1f}%"),
        (
            "fund's own impact",
            f"{dec['own_impact_log_pct']:.1f} of {dec['drawdown_log_pct']:.1f} log-points",
        ),
    ]
    for name, row in data["counterfactuals"].items():
        rows.append(
            (
                name,
                f"sold {row['sold_eth']:,.0f} ETH at {format_usd(row['avg_sale_price_usd'])}"
                f"; liquidated: {'yes' if row['liquidated'] else 'no'}; P&L "
                f"{format_usd(row['total_pnl_usd'])}",
            )
        )
    start = replay.inputs.start.strftime("%Y-%m-%d")
    return ReportSection(
        f"Replay of the reported sales from {start}, and counterfactuals",
        "; ".join(replay.inputs.notes),
        rows,
        [figure],
    )


def cascade_section(report: AmplificationReport, *, has_estimates: bool = True) -> ReportSection:
    """The sale alone, with the book's liquidations, and with followers."""
    rows: list[tuple[str, str]] = [
        (
            case.label,
            f"end {format_usd(case.final_price_usd)}, low "
            f"{format_usd(case.min_price_usd)}, liquidators sold {case.liquidator_sold_eth:,.0f} "
            f"ETH, {case.accounts_liquidated:,} accounts liquidated",
        )
        for case in report.cases
    ]
    rows.append(("amplification (book)", f"x{report.amplification_book:.2f}"))
    rows.append(
        ("amplification (book and followers)", f"x{report.amplification_book_and_followers:.2f}")
    )
    figure = bar_figure(
        [case.label for case in report.cases],
        [report.exogenous_final_usd - case.final_price_usd for case in report.cases],
        title="Price drop at the end of the sale window against the path without the sale",
        y_title="drop (USD per ETH)",
        value_format="$,.0f",
    )
    text = ("Same path without the fund's selling, same square-root market; the book is "
            "synthetic (fitted to a real Aave cohort)")
    text += " and its size and the followers are estimates." if has_estimates else "."
    return ReportSection(
        "Cascade: other borrowers and followers",
        text,
        rows,
        [figure],
    )


def plan_section(plan: PlanResult, units: ReportUnits = ETH_USD) -> ReportSection:
    """The optimal unwind: the plan against the usual schedules, and its sales over time."""
    rows_m = plan.table()
    comparison = plan_comparison_figure(
        [m.label for m in rows_m],
        [m.objective_usd.value for m in rows_m],
        [(m.objective_usd.low, m.objective_usd.high) for m in rows_m],
        [m.p_liquidation.value for m in rows_m],
        [(m.p_liquidation.low, m.p_liquidation.high) for m in rows_m],
        alpha=plan.objective.alpha,
        value_unit=units.numeraire,
    )
    times = np.arange(plan.n_steps + 1, dtype=np.float64) * plan.step_hours / 24.0
    cumulative = {"plan": np.cumsum(plan.plan_mean_sold_eth)}
    cumulative.update({name: np.cumsum(sold)
                       for name, sold in plan.baseline_mean_sold_eth.items()})
    schedule = plan_schedule_figure(times, cumulative, initial_eth=plan.initial_eth,
                                    title=f"{units.asset} sold over the horizon (mean over "
                                    "paths)", asset=units.asset)
    m = plan.plan_metrics
    obj = plan.objective
    rows = [
        ("plan", plan.plan.describe()),
        ("objective", f"E[loss] + {obj.risk_aversion:g} x CVaR{obj.cvar_level:.0%}, "
                      f"P(liquidation) <= {obj.alpha:.1%} over "
                      f"{plan.n_steps * plan.step_hours / 24:g} days"),
        ("expected loss", units.money(m.mean_loss_usd.value)),
        ("CVaR of the loss", units.money(m.cvar_loss_usd.value)),
        ("P(liquidation)", f"{m.p_liquidation.value:.2%} in sample, "
                           f"{plan.fresh_p_liquidation.value:.2%} on fresh paths"),
        (f"batches (mean {units.asset} per day)", ", ".join(
            f"{x:,.0f}" if units.is_usd else f"{x:,.4g}" for x in plan.daily_sold_eth())),
    ]
    text = (f"{plan.n_paths:,} {plan.paths_label()} paths, {plan.evaluations} candidate "
            "schedules on the same "
            "paths through the unwind engine with the scenario's book and followers. "
            + plan.binding_text())
    return ReportSection("The optimal unwind (delever plan)", text, rows,
                         [comparison, schedule])


def advice_section(advice: Advice, units: ReportUnits = ETH_USD) -> ReportSection:
    """Margin buffer, size limit, staged sales, after the unwind, leverage x entry heatmaps."""
    mb = advice.margin_buffer
    sources = list(dict.fromkeys(r.source for r in mb.rows))
    windows = sorted({r.window_days for r in mb.rows})

    def by_source(pick: str) -> dict[str, np.ndarray]:
        out = {}
        for src in sources:
            rows = {r.window_days: r.required_hf for r in mb.rows if r.source == src}
            out[src] = np.array([getattr(rows[w], pick) if w in rows else np.nan
                                 for w in windows])
        return out

    buffer = buffer_figure(windows, by_source("value"), low_by_source=by_source("low"),
                           high_by_source=by_source("high"),
                           current_hf=mb.rows[0].accounts[-1].current_hf)
    au = advice.after_unwind
    labels = {f"{r.strategy} ({r.source})": r for r in au.rows}
    recovery = recovery_time_figure({k: r.recovery_days for k, r in labels.items()})
    final = final_pnl_figure({k: r.final_pnl_usd for k, r in labels.items()}, units)
    hm = advice.heatmap
    heat_p = leverage_heatmap_figure(hm.leverages, hm.entry_prices_usd, hm.p_liquidation,
                                     mark_price_usd=hm.mark_price_usd,
                                     equity_at_cost_usd=hm.equity_usd, units=units,
                                     title=f"P(liquidation) in {hm.horizon_days:g} days holding, "
                                           "by leverage and entry price")
    heat_loss = leverage_heatmap_figure(
        hm.leverages, hm.entry_prices_usd, hm.expected_loss_usd / hm.equity_usd,
        mark_price_usd=hm.mark_price_usd, value_label="E[loss] /<br>equity at entry",
        equity_at_cost_usd=hm.equity_usd, units=units,
        title=f"Expected loss over {hm.horizon_days:g} days as a share of the equity put in "
              "at entry (negative: a gain)")
    mp = advice.max_position
    staged = advice.staged
    rows = [(f"largest position ({lim.strategy}, {mp.horizon_days:g} days)",
             f"{units.qty(lim.at_limit.eth)} ({lim.limiting} binds)") for lim in mp.limits]
    rows += [("current position", units.qty(mp.current_eth)),
             ("HF to keep (99% move, cascade included)", f"{mb.recommended_hf:.3f}"),
             ("staged sales to reach it", f"{units.qty(staged.needed_eth)} in "
                                          f"{len(staged.batches)} batch(es)")]
    rows += [(f"batch at hour {b.time_hours:g}", f"{units.qty(b.eth)} at "
                                                  f"{units.money(b.fill_price_usd)}, HF after "
                                                  f"{b.hf_after:.3f}")
             for b in staged.batches[:10]]
    after_paths = ("block-bootstrap paths of the shipped Binance daily returns and on GBM "
                   "paths" if units.is_usd else f"the {units.asset} exchange-rate paths")
    text = (f"{advice.n_paths:,} paths per evaluation, the market with the scenario's book and "
            f"followers. Margin buffer: {mb.own_impact.rstrip('.')}. After the unwind: "
            f"{au.horizon_days:g} days of daily steps on {after_paths}.")
    return ReportSection("Risk advice (delever advise)", text, rows,
                         [buffer, recovery, final, heat_p, heat_loss])


def recommendation_section(items: Sequence[Recommendation]) -> ReportSection:
    """The recommendations as a table (topic, sentence)."""
    return ReportSection("Recommendation",
                         "Model estimates on the scenario's inputs; see each section above.",
                         [(r.topic, r.text) for r in items], prose=True)


@dataclass(frozen=True)
class RunFacts:
    """What the report says of a run besides its results: the paths and seed of the
    simulation, the scenario's published figures by key (shown beside the model's), whether
    any input is an estimate (the text says so only then), and what the engine sections count
    in (a loop's asset and ETH)."""

    n_paths: int = 0
    seed: int = 0
    reported: Mapping[str, float] | None = None
    has_estimates: bool = True
    units: ReportUnits = ETH_USD


def run_report_sections(
    position: PositionReport,
    *,
    sale: SaleDiscountReport | None = None,
    simulation: SimulationResult | None = None,
    replay: ReplayResult | None = None,
    cascade: AmplificationReport | None = None,
    plan: PlanResult | None = None,
    advice: Advice | None = None,
    recommendation: Sequence[Recommendation] | None = None,
    facts: RunFacts = RunFacts(),
) -> Sequence[ReportSection]:
    """Every section ``delever run`` has results for, in reading order (``facts``: the run's
    paths, seed, published figures, estimates and units)."""
    sections = [position_section(position, facts.reported, has_estimates=facts.has_estimates)]
    if sale is not None:
        sections.append(market_section(sale))
    if simulation is not None:
        sections.extend(simulation_sections(simulation, position.liquidation_band_usd,
                                            facts.n_paths, facts.seed, facts.units))
    if replay is not None:
        sections.append(replay_section(replay))
    if cascade is not None:
        sections.append(cascade_section(cascade, has_estimates=facts.has_estimates))
    if recommendation:
        sections.insert(1, recommendation_section(recommendation))
    if plan is not None:
        sections.append(plan_section(plan, facts.units))
    if advice is not None:
        sections.append(advice_section(advice, facts.units))
    return sections


__all__ = [
    "RunFacts",
    "advice_section",
    "cascade_section",
    "equity_at_cost_usd",
    "equity_at_mark_usd",
    "market_section",
    "plan_section",
    "position_section",
    "recommendation_section",
    "replay_section",
    "run_report_sections",
    "simulation_sections",
]
