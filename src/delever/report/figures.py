"""Plotly figures for the HTML report, built from plain arrays (no engine objects).

Each function takes numbers with units in their names and returns a ``plotly`` Figure, so
the report layer stays independent of the engines' result classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from delever._typing import FloatArray

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        height=420,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def price_fan_figure(
    time_days: Sequence[float] | FloatArray,
    price_paths_usd: FloatArray,
    *,
    band_usd: tuple[float, float] | None = None,
    title: str = "ETH price paths",
) -> go.Figure:
    """Quantile fan (5-95%, 25-75%, median) of price paths, with the liquidation band."""
    times = np.asarray(time_days, dtype=np.float64)
    paths = np.asarray(price_paths_usd, dtype=np.float64)
    q05, q25, q50, q75, q95 = np.quantile(paths, FAN_QUANTILES, axis=0)
    fig = go.Figure()
    for low, high, label, alpha in ((q05, q95, "5-95%", 0.15), (q25, q75, "25-75%", 0.3)):
        fig.add_trace(
            go.Scatter(x=times, y=high, line={"width": 0}, showlegend=False, hoverinfo="skip")
        )
        fig.add_trace(
            go.Scatter(
                x=times,
                y=low,
                fill="tonexty",
                line={"width": 0},
                fillcolor=f"rgba(31,119,180,{alpha})",
                name=label,
            )
        )
    fig.add_trace(go.Scatter(x=times, y=q50, name="median", line={"color": _PALETTE[0]}))
    if band_usd is not None:
        fig.add_hrect(
            y0=band_usd[0],
            y1=band_usd[1],
            fillcolor="rgba(214,39,40,0.12)",
            line_width=0,
            annotation_text="liquidation band",
            annotation_position="top left",
        )
    return _layout(fig, title, "days", "USD per ETH")


def lines_by_label_figure(
    time_days: Sequence[float] | FloatArray,
    series: Mapping[str, FloatArray],
    *,
    title: str,
    y_title: str,
    reference_y: float | None = None,
    reference_label: str = "",
) -> go.Figure:
    """One line per label (e.g. the median HF or ETH sold per strategy over time)."""
    times = np.asarray(time_days, dtype=np.float64)
    fig = go.Figure()
    for index, (label, values) in enumerate(series.items()):
        fig.add_trace(
            go.Scatter(
                x=times,
                y=np.asarray(values, dtype=np.float64),
                name=label,
                line={"color": _PALETTE[index % len(_PALETTE)]},
            )
        )
    if reference_y is not None:
        fig.add_hline(
            y=reference_y, line_dash="dash", line_color="#d62728", annotation_text=reference_label
        )
    return _layout(fig, title, "days", y_title)


def distribution_by_label_figure(
    values_by_label: Mapping[str, FloatArray], *, title: str, y_title: str
) -> go.Figure:
    """Box plots of a per-path outcome (e.g. total P&L) for each label."""
    fig = go.Figure()
    for index, (label, values) in enumerate(values_by_label.items()):
        fig.add_trace(
            go.Box(
                y=np.asarray(values, dtype=np.float64),
                name=label,
                marker_color=_PALETTE[index % len(_PALETTE)],
                boxmean=True,
            )
        )
    return _layout(fig, title, "", y_title)


def bar_figure(
    labels: Sequence[str], values: Sequence[float], *, title: str, y_title: str
) -> go.Figure:
    """A bar per label (e.g. P(liquidation) per strategy)."""
    fig = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=_PALETTE[0]))
    return _layout(fig, title, "", y_title)


__all__ = [
    "FAN_QUANTILES",
    "bar_figure",
    "distribution_by_label_figure",
    "lines_by_label_figure",
    "price_fan_figure",
]
