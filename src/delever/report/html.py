"""A self-contained HTML report: plotly.js inlined once, so it opens offline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from delever._io import atomic_write_text


@dataclass(frozen=True)
class ReportSection:
    """A heading, a paragraph of text, optional key figures (a table) and figures.

    ``table`` rows are a label then one or more values; ``columns`` (optional) heads them
    (e.g. ``("", "model", "reported")``). ``prose=True`` left-aligns the values (sentences,
    not figures).
    """

    title: str
    text: str = ""
    table: Sequence[tuple[str, ...]] = ()
    figures: Sequence[go.Figure] = field(default_factory=tuple)
    columns: Sequence[str] = ()
    prose: bool = False


@dataclass(frozen=True)
class ReportProvenance:
    """Where a report came from, printed under its title so a reader can reproduce it.

    The CLI fills it (the report code reads no ``sys.argv`` nor clock): ``version`` of
    delever, ``generated_utc`` (timezone-aware), the scenario's name and the SHA-256 of its
    file's bytes (of the shipped TOML for a built-in one), and the command line as typed
    (shell-quoted).
    """

    version: str
    generated_utc: datetime
    scenario_name: str
    scenario_sha256: str
    command_line: str

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the report's provenance block."""
        return [
            ("delever version", self.version),
            ("generated (UTC)", self.generated_utc.strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("scenario", self.scenario_name),
            ("scenario file SHA-256", self.scenario_sha256),
            ("command line", self.command_line),
        ]


_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td { padding: 2px 14px 2px 0; } td.v { text-align: right; font-variant-numeric: tabular-nums; }
td.t { text-align: left; }
th { text-align: right; padding: 2px 14px 2px 0; font-weight: 600; }
.note { color: #666; font-size: 0.9em; }
.provenance td { padding: 0 14px 0 0; color: #555; font-size: 0.85em; }
.provenance td.mono { font-family: ui-monospace, Menlo, Consolas, monospace;
                      word-break: break-all; }
"""


def _table(section: ReportSection) -> str:
    cell = "t" if section.prose else "v"
    head = ""
    if section.columns:
        head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in section.columns) + "</tr>"
    rows = "".join(
        f"<tr><td>{html.escape(row[0])}</td>"
        + "".join(f"<td class='{cell}'>{html.escape(v)}</td>" for v in row[1:])
        + "</tr>"
        for row in section.table
    )
    return f"<table>{head}{rows}</table>"


def _provenance(provenance: ReportProvenance) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td class='mono'>{html.escape(v)}</td></tr>"
        for k, v in provenance.rows()
    )
    return f"<table class='provenance'>{rows}</table>"


def render_report(
    title: str,
    sections: Sequence[ReportSection],
    *,
    footer: str = "",
    provenance: ReportProvenance | None = None,
) -> str:
    """The whole report as one HTML string (plotly.js embedded in the first figure)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if provenance is not None:
        parts.append(_provenance(provenance))
    first_figure = True
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        if section.table:
            parts.append(_table(section))
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
    path: Path,
    title: str,
    sections: Sequence[ReportSection],
    *,
    footer: str = "",
    provenance: ReportProvenance | None = None,
) -> Path:
    """Render and write the report atomically (temp file, then rename)."""
    return atomic_write_text(
        Path(path), render_report(title, sections, footer=footer, provenance=provenance)
    )


def report_footer(estimated_inputs: Sequence[str]) -> str:
    """The report's closing note: the estimated inputs by name when the scenario has any
    (press figures, stated rules), a neutral line when it has none."""
    if not estimated_inputs:
        return ("Generated by delever. Every input comes from the scenario file; the results "
                "are the model's outputs on those inputs.")
    return (f"Generated by delever. {len(estimated_inputs)} input figure(s) are marked as "
            "estimates in the scenario file (press reports or stated rules; see the file for "
            "each source): " + ", ".join(estimated_inputs) + ".")


__all__ = ["ReportProvenance", "ReportSection", "render_report", "report_footer",
           "write_report"]
