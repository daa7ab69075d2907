"""Plotly figures of the optimal unwind (``delever plan``), built from plain arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from delever._typing import FloatArray
from delever.report.figures import _PALETTE, axis_range, bar_range


def plan_comparison_figure(
    labels: Sequence[str],
    objective_usd: Sequence[float],
    objective_ci_usd: Sequence[tuple[float, float]],
    p_liquidation: Sequence[float],
    p_liquidation_ci: Sequence[tuple[float, float]],
    *,
    alpha: float,
    title: str = "The plan against the usual schedules",
    value_unit: str = "USD",
) -> go.Figure:
    """Objective (E[loss] + lambda CVaR, USD) and P(liquidation), each with its 95% interval.

    The cap ``alpha`` is drawn on the P(liquidation) panel.
    """
    fig = make_subplots(rows=1, cols=2,
                        subplot_titles=(f"objective ({value_unit}, lower is better)",
                                        "P(liquidation) within the horizon"))
    obj = np.asarray(objective_usd, dtype=np.float64)
    ci = np.asarray(objective_ci_usd, dtype=np.float64).reshape(-1, 2)
    p = np.asarray(p_liquidation, dtype=np.float64)
    pci = np.asarray(p_liquidation_ci, dtype=np.float64).reshape(-1, 2)
    colours = [_PALETTE[1] if i == 0 else _PALETTE[0] for i in range(len(labels))]
    fig.add_trace(go.Bar(x=list(labels), y=obj, marker_color=colours, showlegend=False,
                         error_y={"type": "data", "symmetric": False, "array": ci[:, 1] - obj,
                                  "arrayminus": obj - ci[:, 0]}), row=1, col=1)
    fig.add_trace(go.Bar(x=list(labels), y=p, marker_color=colours, showlegend=False,
                         error_y={"type": "data", "symmetric": False, "array": pci[:, 1] - p,
                                  "arrayminus": p - pci[:, 0]}), row=1, col=2)
    fig.add_hline(y=alpha, line_dash="dash", line_color="black", row=1, col=2,
                  annotation_text=f"cap alpha = {alpha:.1%}")
    fig.update_yaxes(tickformat=".1%", row=1, col=2)
    # each P(liquidation) under its bar: a label on the bar would cross its error bar
    fig.update_xaxes(tickvals=list(labels),
                     ticktext=[f"{label}<br>{v:.1%}" for label, v in zip(labels, p, strict=True)],
                     row=1, col=2)
    fig.update_yaxes(range=bar_range(obj, ci), tickprefix="$" if value_unit == "USD" else "",
                     row=1, col=1)
    fig.update_yaxes(range=bar_range(p, pci, include=(alpha,)), row=1, col=2)
    fig.update_layout(title=title, template="plotly_white", height=420,
                      margin={"l": 60, "r": 20, "t": 70, "b": 80})
    return fig


def plan_schedule_figure(
    time_days: Sequence[float] | FloatArray,
    cumulative_sold_eth: Mapping[str, FloatArray],
    *,
    initial_eth: float,
    title: str = "ETH sold over the horizon (mean over paths)",
    asset: str = "ETH",
) -> go.Figure:
    """Cumulative ETH sold by the plan and the baselines, with the position's ETH as a line."""
    fig = go.Figure()
    times = np.asarray(time_days, dtype=np.float64)
    for i, (label, values) in enumerate(cumulative_sold_eth.items()):
        fig.add_trace(go.Scatter(x=times, y=np.asarray(values), name=label, mode="lines",
                                 line={"color": _PALETTE[i % len(_PALETTE)],
                                       "width": 3 if i == 0 else 1.5}))
    fig.add_hline(y=initial_eth, line_dash="dot", line_color="grey",
                  annotation_text="the whole position")
    fig.update_yaxes(range=axis_range(*cumulative_sold_eth.values(), include=(0.0, initial_eth)))
    fig.update_layout(title=title, xaxis_title="days", yaxis_title=f"{asset} sold (cumulative)",
                      template="plotly_white", height=420,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50},
                      legend={"orientation": "h", "y": -0.2})
    return fig


__all__ = ["plan_comparison_figure", "plan_schedule_figure"]
