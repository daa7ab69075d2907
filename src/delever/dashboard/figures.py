"""The dashboard's own figures, where the report has none (same conventions and layout as
:mod:`delever.report.figures`: plain arrays in, units in every axis title, a plotly Figure
out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from delever._typing import FloatArray
from delever.report.figures import _PALETTE, _layout, axis_range

WHATIF_SHAPE = 2  # the what-if line: shape and annotation index in hf_against_price_figure


def hf_against_price_figure(
    prices_usd: FloatArray,
    hf_by_account: Mapping[str, FloatArray],
    *,
    price_usd: float,
    mark_price_usd: float,
) -> go.Figure:
    """Each account's health factor against the ETH price, the chosen price and the mark."""
    fig = go.Figure()
    for index, (label, values) in enumerate(hf_by_account.items()):
        fig.add_trace(go.Scatter(x=prices_usd, y=np.minimum(values, 5.0), name=label,
                                 mode="lines", line={"color": _PALETTE[index % len(_PALETTE)]}))
    fig.add_hline(y=1.0, line_dash="dash", line_color="#d62728", annotation_text="HF = 1",
                  annotation_position="bottom right")
    fig.add_vline(x=mark_price_usd, line_dash="dot", line_color="grey",
                  annotation_text="mark", annotation_position="top left")
    # below the chart's top edge, clear of the mark's label when the two lines meet
    fig.add_vline(x=price_usd, line_color="#1f77b4", annotation_text="what-if",
                  annotation_position="bottom right")
    fig.update_yaxes(range=[0.0, 3.0])
    fig = _layout(fig, "Health factor against the ETH price (Aave v3 rules; capped at 5)",
                  "ETH price (USD per ETH)", "health factor")
    fig.update_layout(height=360)
    return fig


def exit_liquidity_figure(qty_eth: FloatArray, discount_pct: Mapping[str, FloatArray],
                          *, held_eth: float) -> go.Figure:
    """Liquidity discount (percent of the mark) against the size of one sale, per model."""
    fig = go.Figure()
    for index, (label, values) in enumerate(discount_pct.items()):
        fig.add_trace(go.Scatter(x=qty_eth, y=values, name=label, mode="lines",
                                 line={"color": _PALETTE[index % len(_PALETTE)]}))
    if held_eth > 0:
        fig.add_vline(x=held_eth, line_dash="dot", line_color="grey")
        # on a log axis an annotation's x is log10 of the value (a shape's is the value)
        fig.add_annotation(x=float(np.log10(held_eth)), y=1.0, yref="paper",
                           text="ETH held", showarrow=False, xanchor="right", yanchor="top")
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=axis_range(*discount_pct.values(), include=(0.0,),
                                      percentiles=(0.0, 100.0)))
    return _layout(fig, "Liquidity discount of one sale against its size (model estimates)"
                        "<br><sup>average fill below the mark, selling from a fresh market "
                        "over one day</sup>",
                   "sale size (ETH, log scale)", "discount (% of the mark)")


def ladder_figure(prices_usd: FloatArray, collateral_eth: FloatArray, *,
                  mark_price_usd: float, band_usd: tuple[float, float] | None) -> go.Figure:
    """Other borrowers' collateral with HF below 1 against the ETH price (the ladder)."""
    fig = go.Figure(go.Scatter(x=prices_usd, y=np.asarray(collateral_eth) / 1e3,
                               mode="lines", line={"shape": "hv", "color": _PALETTE[0]},
                               name="collateral liquidatable", fill="tozeroy"))
    if band_usd is not None:
        fig.add_vrect(x0=band_usd[0], x1=band_usd[1], fillcolor="rgba(214,39,40,0.15)",
                      line_width=0, annotation_text="own band", annotation_position="top left")
    fig.add_vline(x=mark_price_usd, line_dash="dot", line_color="grey",
                  annotation_text="mark", annotation_position="top right")
    fig.update_xaxes(autorange="reversed")  # the price falls to the right
    return _layout(fig, "Liquidation ladder of the other borrowers (synthetic book, estimate)"
                        "<br><sup>collateral of the borrowers whose HF is below 1 once the "
                        "price has fallen to x</sup>",
                   "ETH price (USD per ETH, falling to the right)",
                   "collateral liquidatable (thousand ETH)")


def frontier_figure(points: Sequence[Mapping[str, float | str]],
                    history: Sequence[Mapping[str, float | str]]) -> go.Figure:
    """Expected loss against P(liquidation): this run's schedules (plan and baselines) and the
    plans found for earlier (alpha, lambda) settings, joined into the frontier."""
    fig = go.Figure()
    for index, point in enumerate(points):  # one legend entry each: labels would overlap
        fig.add_trace(go.Scatter(
            x=[float(point["p_liquidation"])], y=[float(point["mean_loss_usd"]) / 1e6],
            mode="markers", name=str(point["label"]),
            marker={"size": 14 if index == 0 else 10, "color": _PALETTE[index % len(_PALETTE)],
                    "symbol": "star" if index == 0 else "circle"}))
    if history:
        ordered = sorted(history, key=lambda h: float(h["p_liquidation"]))
        fig.add_trace(go.Scatter(
            x=[float(h["p_liquidation"]) for h in ordered],
            y=[float(h["mean_loss_usd"]) / 1e6 for h in ordered],
            text=[f"alpha {float(h['alpha']):.0%}, lambda {float(h['risk_aversion']):g}"
                  for h in ordered],
            mode="lines+markers", name="plans for the (alpha, lambda) tried",
            line={"dash": "dash", "color": _PALETTE[2]}))
    fig.update_xaxes(tickformat=".0%")
    fig = _layout(fig, "Expected loss against P(liquidation): the frontier (Monte Carlo "
                       "estimates)<br><sup>change alpha and lambda and run again to add "
                       "points</sup>", "P(liquidation) within the horizon",
                  "expected loss (USD millions)")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return fig


def gains_figure(labels: Sequence[str], gain_usd: Sequence[float],
                 interval_usd: Sequence[tuple[float, float]]) -> go.Figure:
    """The plan's gain over each baseline (objective, USD) with its paired 95% interval."""
    values = np.asarray(gain_usd, dtype=np.float64) / 1e6
    ci = np.asarray(interval_usd, dtype=np.float64).reshape(-1, 2) / 1e6
    fig = go.Figure(go.Bar(
        x=list(labels), y=values, marker_color=_PALETTE[2],
        error_y={"type": "data", "symmetric": False, "array": ci[:, 1] - values,
                 "arrayminus": values - ci[:, 0]}))
    fig.add_hline(y=0.0, line_color="black")
    fig = _layout(fig, "The plan's gain over each baseline (estimate with its paired 95% "
                       "interval)<br><sup>baseline's objective minus the plan's, on the same "
                       "paths</sup>", "baseline schedule", "gain (USD millions)")
    return fig


__all__ = [
    "WHATIF_SHAPE",
    "exit_liquidity_figure",
    "frontier_figure",
    "gains_figure",
    "hf_against_price_figure",
    "ladder_figure",
]
