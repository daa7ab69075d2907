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


AXIS_PERCENTILES = (0.5, 99.5)  # an axis shows the middle 99% of the plotted values
AXIS_PAD_FRAC = 0.05  # and this share of that span on each side


def axis_range(
    *values: Sequence[float] | FloatArray,
    include: Sequence[float] = (),
    percentiles: tuple[float, float] = AXIS_PERCENTILES,
    pad_frac: float = AXIS_PAD_FRAC,
) -> list[float] | None:
    """An axis range for the plotted values: their ``percentiles`` (default 0.5-99.5), padded.

    A few extreme paths would otherwise stretch the axis so far that every curve sits squashed
    at one edge (a final P&L axis to $40,000M for a $763M loss). ``include`` holds values the
    range must show whatever the data (a reference line, zero under bars). NaN and inf are
    left out; None (plotly's autorange) when nothing finite is left.
    """
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    pooled = np.concatenate(arrays) if arrays else np.empty(0)
    pooled = pooled[np.isfinite(pooled)]
    extra = np.asarray([x for x in include if np.isfinite(x)], dtype=np.float64)
    if pooled.size == 0 and extra.size == 0:
        return None
    low = high = float("nan")
    if pooled.size:
        low, high = (float(x) for x in np.percentile(pooled, percentiles))
    if extra.size:
        low = float(np.nanmin([low, extra.min()]))
        high = float(np.nanmax([high, extra.max()]))
    span = high - low
    pad = pad_frac * span if span > 0 else max(abs(high), 1.0) * pad_frac
    return [low - pad, high + pad]


def bar_range(
    *values: Sequence[float] | FloatArray,
    include: Sequence[float] = (),
    pad_frac: float = AXIS_PAD_FRAC,
) -> list[float] | None:
    """:func:`axis_range` for bars (and their error bars): every value whole (a handful of
    bars has no outliers to cut), zero shown, and the axis foot at zero when none is negative.
    """
    y_range = axis_range(*values, include=(0.0, *include), percentiles=(0.0, 100.0),
                         pad_frac=pad_frac)
    if y_range is not None and y_range[0] < 0.0:
        arrays = [np.asarray(v, dtype=np.float64).ravel() for v in values]
        finite = np.concatenate([*arrays, np.zeros(1)])
        if np.nanmin(np.where(np.isfinite(finite), finite, 0.0)) >= 0.0:
            y_range[0] = 0.0
    return y_range


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        height=420,
        # a subtitle (a second line) needs room above the plot
        margin={"l": 60, "r": 20, "t": 80 if "<br>" in title else 60, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def price_fan_figure(
    time_days: Sequence[float] | FloatArray,
    price_paths_usd: FloatArray,
    *,
    band_usd: tuple[float, float] | None = None,
    title: str = "ETH price paths",
    y_title: str = "USD per ETH",
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
    fig.update_yaxes(range=axis_range(q05, q95, include=band_usd or ()))
    return _layout(fig, title, "days", y_title)


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
            y=reference_y, line_dash="dash", line_color="#d62728", annotation_text=reference_label,
            annotation_position="bottom right",  # under the line, clear of the curves above
        )
    include = () if reference_y is None else (reference_y,)
    fig.update_yaxes(range=axis_range(*series.values(), include=include))
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
                showlegend=False,  # each box is named under it
            )
        )
    # the few paths beyond the 0.5-99.5 percentiles stay in the hover, off the axis
    fig.update_yaxes(range=axis_range(*values_by_label.values()))
    return _layout(fig, title, "", y_title)


def bar_figure(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    y_title: str,
    value_format: str = ",.0f",
) -> go.Figure:
    """A bar per label (e.g. P(liquidation) per strategy), its value written above it.

    ``value_format`` is a d3 format for the labels and the axis ticks (".1%" for a
    probability, ",.0f" for dollars).
    """
    fig = go.Figure(
        go.Bar(
            x=list(labels),
            y=list(values),
            marker_color=_PALETTE[0],
            texttemplate=f"%{{y:{value_format}}}",
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}}: %{{y:{value_format}}}<extra></extra>",
        )
    )
    fig.update_yaxes(range=bar_range(values, pad_frac=0.12), tickformat=value_format)
    return _layout(fig, title, "", y_title)


__all__ = [
    "AXIS_PERCENTILES",
    "FAN_QUANTILES",
    "axis_range",
    "bar_figure",
    "bar_range",
    "distribution_by_label_figure",
    "lines_by_label_figure",
    "price_fan_figure",
]
