"""A self-contained HTML report: plotly.js inlined once, so it opens offline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from delever._io import atomic_write_text


@dataclass(frozen=True)
class ReportSection:
    """A heading, a paragraph of text, optional key figures (a table) and figures."""

    title: str
    text: str = ""
    table: Sequence[tuple[str, str]] = ()
    figures: Sequence[go.Figure] = field(default_factory=tuple)


_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td { padding: 2px 14px 2px 0; } td.v { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #666; font-size: 0.9em; }
"""


def render_report(title: str, sections: Sequence[ReportSection], *, footer: str = "") -> str:
    """The whole report as one HTML string (plotly.js embedded in the first figure)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    first_figure = True
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        if section.table:
            rows = "".join(
                f"<tr><td>{html.escape(k)}</td><td class='v'>{html.escape(v)}</td></tr>"
                for k, v in section.table
            )
            parts.append(f"<table>{rows}</table>")
        for figure in section.figures:
            parts.append(
                pio.to_html(
                    figure,
                    full_html=False,
                    include_plotlyjs=first_figure,
                    config={"displaylogo": False},
                )
            )
            first_figure = False
    if footer:
        parts.append(f"<p class='note'>{html.escape(footer)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    path: Path, title: str, sections: Sequence[ReportSection], *, footer: str = ""
) -> Path:
    """Render and write the report atomically (temp file, then rename)."""
    return atomic_write_text(Path(path), render_report(title, sections, footer=footer))


__all__ = ["ReportSection", "render_report", "write_report"]
