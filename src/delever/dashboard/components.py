"""Dash components from the report's pieces: a :class:`ReportSection` (title, text, table,
figures) as a block of the page, tables of figures, and the page's collapsible panel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from delever.report.html import ReportSection

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def graph(figure: go.Figure, graph_id: str | None = None) -> dcc.Graph:
    """A figure on the page (plotly.js from Dash's own bundle; no CDN)."""
    kwargs: dict[str, Any] = {"figure": figure, "config": GRAPH_CONFIG, "className": "graph"}
    if graph_id is not None:
        kwargs["id"] = graph_id
    return dcc.Graph(**kwargs)


def table(rows: Sequence[Sequence[str]], columns: Sequence[str] = (),
          table_id: str | None = None, cell_ids: str | None = None) -> html.Table:
    """A table of text; ``cell_ids`` (a prefix) gives each value cell the id
    ``{prefix}-{row}-{column}`` so tests and scripts can read single figures."""
    head = [html.Thead(html.Tr([html.Th(c) for c in columns]))] if columns else []
    body = []
    for r, row in enumerate(rows):
        cells = [html.Td(row[0])]
        for c, value in enumerate(row[1:], start=1):
            kwargs: dict[str, Any] = {"className": "v"}
            if cell_ids is not None:
                kwargs["id"] = f"{cell_ids}-{r}-{c}"
            cells.append(html.Td(value, **kwargs))
        body.append(html.Tr(cells))
    kwargs_t: dict[str, Any] = {"className": "figures"}
    if table_id is not None:
        kwargs_t["id"] = table_id
    return html.Table([*head, html.Tbody(body)], **kwargs_t)


def section_block(section: ReportSection) -> html.Div:
    """A report section on the page: its heading, text, table and figures."""
    children: list[Any] = [html.H3(section.title)]
    if section.text:
        children.append(html.P(section.text, className="note"))
    if section.table:
        children.append(table(section.table, section.columns))
    children.extend(graph(figure) for figure in section.figures)
    return html.Div(children, className="section-block")


def panel(panel_id: str, title: str, body: Any, *, controls: Any = None) -> html.Details:
    """A collapsible panel (open at first): a summary line, optional controls, the body."""
    children: list[Any] = [html.Summary(title)]
    if controls is not None:
        children.append(html.Div(controls, className="controls"))
    children.append(html.Div(body, id=f"{panel_id}-body", className="panel-body"))
    return html.Details(children, id=f"panel-{panel_id}", open=True, className="panel")


def job_controls(job: str, extra: Sequence[Any] = ()) -> list[Any]:
    """Run and cancel buttons, a progress bar and a state line for a background job."""
    return [
        *extra,
        html.Button("Run", id=f"{job}-run", n_clicks=0, className="run"),
        html.Button("Cancel", id=f"{job}-cancel", n_clicks=0, disabled=True,
                    className="cancel"),
        html.Progress(id=f"{job}-progress", value="0", max="1", className="progress"),
        html.Span("", id=f"{job}-running", className="state"),
        html.Span("", id=f"{job}-state", className="state"),
    ]


def number_input(input_id: str, label: str, value: float | None, **kwargs: Any) -> html.Label:
    """A labelled number box."""
    return html.Label([label, dcc.Input(id=input_id, type="number", value=value,
                                        debounce=True, **kwargs)], className="field")


__all__ = ["graph", "job_controls", "number_input", "panel", "section_block", "table"]
