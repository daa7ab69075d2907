"""Plotly figures for ``delever advise``, built from plain arrays (no engine objects).

Same conventions as :mod:`delever.report.figures`: numbers with units in their names in,
a ``plotly`` Figure out. Feed them from the ``to_dict()`` of :class:`delever.sim.advise.Advice`
or the result objects' arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from delever._typing import FloatArray
from delever.report.figures import _PALETTE, _layout, axis_range
from delever.report.format import ETH_USD, ReportUnits


def leverage_heatmap_figure(
    leverages: Sequence[float] | FloatArray,
    entry_prices_usd: Sequence[float] | FloatArray,
    values: Sequence[Sequence[float]] | FloatArray,
    *,
    title: str = "P(liquidation) by leverage and entry price",
    value_label: str = "P(liquidation)",
    mark_price_usd: float | None = None,
    as_percent: bool = True,
    equity_at_cost_usd: float | None = None,
    units: ReportUnits = ETH_USD,
) -> go.Figure:
    """Heatmap over leverage (rows, y) x entry price (columns, x), e.g. P(liquidation) or the
    expected loss as a fraction of equity; a dashed line at the mark.

    ``equity_at_cost_usd``: the equity each cell puts in at entry (the position's equity at
    cost: ETH x average cost - debt), named with its basis under the title, since the
    equity at the mark is a different (smaller, after a fall) figure.
    """
    z = np.asarray(values, dtype=np.float64)
    x = np.asarray(entry_prices_usd, dtype=np.float64)
    y = np.asarray(leverages, dtype=np.float64)
    text = [[f"{v:.0%}" if as_percent else f"{v:,.3g}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        x=x, y=[f"{v:g}x" for v in y], z=z, text=text, texttemplate="%{text}",
        colorscale="Reds",
        colorbar={"title": value_label, "tickformat": ".0%" if as_percent else ""},
        hovertemplate=f"entry %{{x:,.4g}} {units.numeraire}, %{{y}}: %{{text}}<extra></extra>"))
    if mark_price_usd is not None:
        fig.add_vline(x=mark_price_usd, line_dash="dash", line_color="#1f77b4",
                      annotation_text="mark", annotation_position="top")
    notes = []
    if equity_at_cost_usd is not None:
        notes.append(f"equity put in at entry {units.money(equity_at_cost_usd)} "
                     "(the position's equity at cost)")
    if mark_price_usd is not None:
        notes.append(f"mark {units.money(mark_price_usd)}")
    if notes:
        title = f"{title}<br><sup>{'; '.join(notes)}</sup>"
    fig = _layout(fig, title, f"entry price ({units.price_axis})", "leverage")
    fig.update_layout(margin={"t": 80})
    return fig


def _ecdf(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sorted finite values and the share of all values at or below each (inf never
    reached, so the curve may end below 1)."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.sort(v[np.isfinite(v)])
    share = np.arange(1, finite.size + 1, dtype=np.float64) / max(v.size, 1)
    return finite, share


def ecdf_by_label_figure(
    values_by_label: Mapping[str, FloatArray],
    *,
    title: str,
    x_title: str,
    y_title: str = "share of paths",
) -> go.Figure:
    """One empirical CDF per label (e.g. "bootstrap / hold"); infinite values ("never")
    count in the denominator only, so a curve ends at the share that got there."""
    fig = go.Figure()
    for index, (label, values) in enumerate(values_by_label.items()):
        x, share = _ecdf(np.asarray(values, dtype=np.float64))
        fig.add_trace(go.Scatter(x=x, y=share, name=label, mode="lines",
                                 line={"shape": "hv", "color": _PALETTE[index % len(_PALETTE)]}))
    fig.update_yaxes(range=[0, 1])
    # a few extreme paths (a bootstrap path that gains 30x) must not squash every curve
    fig.update_xaxes(range=axis_range(*values_by_label.values()))
    return _layout(fig, title, x_title, y_title)


def recovery_time_figure(recovery_days_by_label: Mapping[str, FloatArray]) -> go.Figure:
    """ECDF of the days to recover the cost basis (inf = never), per source x strategy."""
    return ecdf_by_label_figure(recovery_days_by_label,
                                title="Time until the price is back at the cost basis after the "
                                      "unwind<br><sup>share of paths recovered within x days; "
                                      "paths never recovered count in the total</sup>",
                                x_title="days after the unwind",
                                y_title="share of paths recovered")


def final_pnl_figure(final_pnl_usd_by_label: Mapping[str, FloatArray],
                     units: ReportUnits = ETH_USD) -> go.Figure:
    """ECDF of the final P&L (USD millions, or a loop's ETH), per source x strategy."""
    scaled = {k: np.asarray(v, dtype=np.float64) / units.scale
              for k, v in final_pnl_usd_by_label.items()}
    return ecdf_by_label_figure(scaled, title="Final P&L at the end of the horizon: share of "
                                              "paths at or below each P&L<br><sup>axis shows "
                                              "the 0.5-99.5 percentiles of all paths</sup>",
                                x_title=f"P&L against the cost basis ({units.money_axis})",
                                y_title="share of paths")


def buffer_figure(
    window_days: Sequence[float] | FloatArray,
    required_hf_by_source: Mapping[str, FloatArray],
    *,
    low_by_source: Mapping[str, FloatArray] | None = None,
    high_by_source: Mapping[str, FloatArray] | None = None,
    current_hf: float | None = None,
    title: str = "Health factor needed to survive the 99th-percentile move",
) -> go.Figure:
    """Required HF against the window k, one line per path source, with its 95% interval as
    error bars and the current HF as a dashed line."""
    x = np.asarray(window_days, dtype=np.float64)
    fig = go.Figure()
    for index, (label, values) in enumerate(required_hf_by_source.items()):
        y = np.asarray(values, dtype=np.float64)
        error = None
        if low_by_source is not None and high_by_source is not None:
            low = np.asarray(low_by_source[label], dtype=np.float64)
            high = np.asarray(high_by_source[label], dtype=np.float64)
            error = {"type": "data", "symmetric": False, "array": high - y,
                     "arrayminus": y - low}
        fig.add_trace(go.Scatter(x=x, y=y, name=label, mode="lines+markers", error_y=error,
                                 line={"color": _PALETTE[index % len(_PALETTE)]}))
    if current_hf is not None:
        fig.add_hline(y=current_hf, line_dash="dash", line_color="#d62728",
                      annotation_text="current HF")
    # every interval whole: a few points, no outliers to cut
    shown = [*required_hf_by_source.values(), *(low_by_source or {}).values(),
             *(high_by_source or {}).values()]
    fig.update_yaxes(range=axis_range(*shown, include=() if current_hf is None else (current_hf,),
                                      percentiles=(0.0, 100.0)))
    return _layout(fig, title, "window (days)", "health factor")


__all__ = [
    "buffer_figure",
    "ecdf_by_label_figure",
    "final_pnl_figure",
    "leverage_heatmap_figure",
    "recovery_time_figure",
]
