"""The page: the fast panels (built when the page or the scenario changes) and the heavy
panels' controls (their bodies are filled by the background jobs)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from dash import dcc, html

from delever.dashboard.components import (
    graph,
    job_controls,
    number_input,
    panel,
    section_block,
    table,
)
from delever.dashboard.figures import exit_liquidity_figure, hf_against_price_figure, ladder_figure
from delever.dashboard.model import (
    ScenarioInput,
    borrower_book,
    exit_liquidity_curves,
    liquidation_ladder,
    liquidations_at_risk_eth,
    load_input,
    shocked_price_usd,
    slider_range_usd,
    whatif_report,
)
from delever.report.format import format_usd
from delever.report.run_report import market_section, position_section
from delever.scenario import Scenario

DEFAULT_PATHS = 200  # small: the page's first jobs finish in seconds on two cores
DEFAULT_STEPS = 720  # the strategy comparison of `delever run`: 30 days of hourly steps
DEFAULT_SHOCK_PCT = 15.0
HF_CURVE_POINTS = 60
JOBS = ("strategies", "plan", "advice", "replay", "cascade")


def position_body(scenario: Scenario) -> list[Any]:
    """The position at the mark beside the reported figures (the report's section)."""
    reported = {key: item.value for key, item in scenario.spec.reported.items()}
    estimated = bool(scenario.estimates())
    section = position_section(scenario.position_report(), reported, has_estimates=estimated)
    if estimated and section.columns:  # say it in the heads too, beside every figure
        section = dataclasses.replace(
            section, columns=("", "model (estimated inputs)", "reported (estimates)"))
    children: list[Any] = [section_block(section)]
    if reported:
        children.append(html.P("The reported column holds the scenario's published figures; "
                               "each is an estimate where the file marks it so.",
                               className="note"))
    return children


def whatif_rows(scenario: Scenario, price_usd: float) -> list[tuple[str, ...]]:
    """One row per account at ``price_usd``: HF (4 decimals, as ``delever position``'s
    table rounds to 6), liquidation price, distance; then the P&L at that price."""
    report = whatif_report(scenario, price_usd)
    rows: list[tuple[str, ...]] = []
    for account in report.accounts:
        hf = account.health_factor
        distance = account.distance_to_liquidation_pct
        rows.append((account.name, f"{hf:.4f}" if math.isfinite(hf) else "no debt",
                     format_usd(account.liquidation_price_usd)
                     if math.isfinite(account.liquidation_price_usd) else "none",
                     f"{distance:.1f}%" if math.isfinite(distance) else "none"))
    pnl = report.pnl
    rows.append(("P&L at this price (realized / unrealized / total)",
                 format_usd(pnl.realized_usd), format_usd(pnl.unrealized_usd),
                 format_usd(pnl.total_usd)))
    return rows


def whatif_table(scenario: Scenario, price_usd: float) -> html.Table:
    """The what-if table (cell ids ``whatif-{row}-{column}``: HF in column 1)."""
    return table(whatif_rows(scenario, price_usd),
                 ("account", "health factor", "liquidation price", "fall to liquidation"),
                 table_id="whatif-table", cell_ids="whatif")


def hf_figure(scenario: Scenario, price_usd: float) -> Any:
    """HF against price for every account (the library's analysis on a price grid)."""
    low, high = slider_range_usd(scenario)
    grid = np.linspace(low, high, HF_CURVE_POINTS)
    reports = [whatif_report(scenario, float(p)) for p in grid]
    curves = {a.name: np.array([r.accounts[i].health_factor for r in reports])
              for i, a in enumerate(reports[0].accounts)}
    return hf_against_price_figure(grid, curves, price_usd=price_usd,
                                   mark_price_usd=scenario.mark_price_usd)


def slider(scenario: Scenario) -> dcc.Slider:
    """The price slider, whole dollars from 30% to 150% of the mark."""
    low, high = slider_range_usd(scenario)
    mark = scenario.mark_price_usd
    marks = {int(low): f"${low:,.0f}", round(mark): "mark", int(high): f"${high:,.0f}"}
    return dcc.Slider(id="whatif-price", min=low, max=high, step=1.0, value=round(mark),
                      marks=marks, updatemode="drag", tooltip={"placement": "bottom"})


def at_risk_text(scenario: Scenario, price_usd: float) -> str:
    """Liquidations at risk at ``price_usd``: other borrowers' collateral with HF < 1."""
    book = borrower_book(scenario)
    if book is None:
        return "no [book] in this scenario."
    eth = liquidations_at_risk_eth(book, price_usd)
    return (f"Liquidations at risk at {format_usd(price_usd)}: {eth:,.0f} ETH of other "
            f"borrowers' collateral below HF 1 ({eth * price_usd / 1e6:,.0f}M USD; estimate, "
            "synthetic book).")


def exit_body(scenario: Scenario) -> list[Any]:
    """Discount against sale size per model, and the reported sale's discount."""
    qty, curves = exit_liquidity_curves(scenario)
    held = scenario.pnl().position_eth
    children: list[Any] = [graph(exit_liquidity_figure(qty, curves, held_eth=held))]
    sale = scenario.sale_discount_report()
    if sale is not None:
        children.append(section_block(market_section(sale)))
    children.append(html.P("No venue order books are given (no live data): the curves are "
                           "the impact models' estimates.", className="note"))
    return children


def ladder_body(scenario: Scenario) -> list[Any]:
    """The ladder of the other borrowers."""
    book = borrower_book(scenario)
    if book is None:
        return [html.P("no [book] in this scenario: no other borrowers.", className="note")]
    mark = scenario.mark_price_usd
    prices, collateral = liquidation_ladder(book, 0.3 * mark, 1.05 * mark)
    band = scenario.position_report().liquidation_band_usd
    return [graph(ladder_figure(prices, collateral, mark_price_usd=mark, band_usd=band),
                  "ladder-graph")]


def fast_panels(source: ScenarioInput) -> dict[str, Any]:
    """Everything the first paint shows, for ``source``."""
    scenario = load_input(source)
    mark = float(round(scenario.mark_price_usd))
    return {"title": scenario.spec.title or scenario.name, "name": scenario.name,
            "position": position_body(scenario), "whatif": whatif_table(scenario, mark),
            "whatif_figure": hf_figure(scenario, mark), "slider": slider(scenario),
            "at_risk": at_risk_text(scenario, shocked_price_usd(mark, 0.0)),
            "exit": exit_body(scenario), "ladder": ladder_body(scenario)}


def whatif_children(fast: dict[str, Any]) -> list[Any]:
    """The what-if panel's body: the table (replaced on each move) and the HF figure (whose
    line moves)."""
    return [html.Div(fast["whatif"], id="whatif-table-box"),
            graph(fast["whatif_figure"], "whatif-graph")]


def _fast_section(fast: dict[str, Any]) -> list[Any]:
    whatif_controls = [
        html.Div(fast["slider"], id="whatif-slider-box", className="slider-box"),
        number_input("whatif-shock", "shock (% fall from the slider's price)", 0.0, min=0,
                     max=99.99, step="any"),
        html.Span("", id="whatif-error", className="error"),
    ]
    whatif = whatif_children(fast)
    ladder_controls = job_controls("cascade", [number_input(
        "cascade-shock", "cascade shock (% fall from the mark)", DEFAULT_SHOCK_PCT, min=0.01,
        max=99.99, step="any")])
    return [
        panel("position", "Position at the mark (model beside the reported figures)",
              fast["position"]),
        panel("whatif", "What-if: move the price, add a shock", whatif,
              controls=whatif_controls),
        panel("exit", "Exit liquidity: discount against sale size (model estimates)",
              fast["exit"]),
        panel("ladder", "The other borrowers: ladder, liquidations at risk, cascade",
              [html.P(fast["at_risk"], id="ladder-at-risk"),
               html.Div(fast["ladder"], id="ladder-figure-box"),
               html.Div(id="cascade-body")],
              controls=ladder_controls),
    ]


def _heavy_section() -> list[Any]:
    settings = html.Div([
        html.Strong("Monte Carlo settings for the panels below: "),
        number_input("mc-paths", "paths", DEFAULT_PATHS, min=2, max=200_000, step=1),
        number_input("mc-seed", "seed", 0, min=0, step=1),
    ], className="controls settings")
    return [
        settings,
        panel("strategies", "Strategies over Monte Carlo paths (estimates)",
              html.P("starting…", className="note"),
              controls=job_controls("strategies", [number_input(
                  "strategies-steps", "hourly steps", DEFAULT_STEPS, min=1, max=8760,
                  step=1)])),
        panel("plan", "The plan: frontier, schedule, paired gains (estimates)",
              html.P("starting…", className="note"),
              controls=job_controls("plan", [
                  number_input("plan-alpha", "alpha, cap on P(liquidation)", 0.05, min=0.001,
                               max=1, step="any"),
                  number_input("plan-lambda", "lambda, weight of the CVaR", 0.1, min=0,
                               step="any")])),
        panel("advice", "Advice: buffer, safe size, staged batches, heatmap (estimates)",
              html.P("starting…", className="note"), controls=job_controls("advice")),
        panel("replay", "The February 2026 replay and its counterfactuals",
              html.P("starting…", className="note"), controls=job_controls("replay")),
    ]


FORM_FIELDS = (("form-mark", "mark price (USD per ETH)"),
               ("form-sigma", "daily volatility (fraction)"), ("form-adv", "daily volume (ETH)"),
               ("form-y", "impact Y"), ("form-book", "other borrowers' collateral (ETH)"))


def form_values(scenario: Scenario) -> tuple[float | None, ...]:
    """The form's inputs for ``scenario``, in :data:`FORM_FIELDS` order."""
    market = scenario.market_parameters()
    book = scenario.spec.book
    book_eth = None if book is None or book.total_collateral_eth is None else (
        book.total_collateral_eth.value)
    return (scenario.mark_price_usd, market.sigma_daily, market.adv_eth, market.impact_y,
            book_eth)


def header_note(scenario: Scenario) -> str:
    """The line under the title: the scenario and how many inputs are estimates."""
    return (f"Scenario {scenario.name}. Aave v3 rules on the scenario's inputs; "
            f"{len(scenario.estimates())} inputs are estimates and every figure built on "
            "them, or on Monte Carlo paths, is marked as an estimate.")


def _scenario_section(source: ScenarioInput, scenario: Scenario) -> Any:
    form = html.Div([
        *[number_input(field_id, label, value) for (field_id, label), value
          in zip(FORM_FIELDS, form_values(scenario), strict=True)],
        html.Button("Apply", id="form-apply", n_clicks=0),
    ], className="controls")
    downloads = html.Div([
        html.Button("Download scenario (TOML)", id="download-toml-button", n_clicks=0),
        html.Button("Download results (JSON)", id="download-json-button", n_clicks=0),
        html.Button("Download HTML report", id="download-html-button", n_clicks=0),
        dcc.Download(id="download"),
        html.Span("", id="download-state", className="state"),
    ], className="controls")
    upload = dcc.Upload(html.Div(["Drop a scenario TOML here or ", html.A("choose a file")]),
                        id="scenario-upload", className="upload", multiple=False)
    return panel("scenario", "Scenario: load a file, edit the main inputs, download",
                 [upload, html.Div("", id="scenario-error", className="error"), form,
                  downloads, html.P(f"showing: {source.origin or source.name}",
                                    id="scenario-origin", className="note")])


def page(source: ScenarioInput) -> html.Div:
    """The whole page for ``source``."""
    fast = fast_panels(source)
    scenario = load_input(source)
    stores = [dcc.Store(id="scenario-store", data=source.to_store()),
              dcc.Store(id="plan-history", data=[]),
              *[dcc.Store(id=f"results-{job}") for job in JOBS]]
    header = html.Header([
        html.H1(["delever dashboard: ", html.Span(fast["title"], id="scenario-title")]),
        html.P(header_note(scenario), className="note", id="scenario-note"),
    ])
    return html.Div([*stores, header, *_fast_section(fast), *_heavy_section(),
                     _scenario_section(source, scenario),
                     html.Div("", id="page-ready")], className="page")
