"""User-facing report: plotly figures and a self-contained HTML file."""

from delever.report.figures import (
    bar_figure,
    distribution_by_label_figure,
    lines_by_label_figure,
    price_fan_figure,
)
from delever.report.html import (
    ReportProvenance,
    ReportSection,
    render_report,
    report_footer,
    write_report,
)

__all__ = [
    "ReportProvenance",
    "ReportSection",
    "bar_figure",
    "distribution_by_label_figure",
    "lines_by_label_figure",
    "price_fan_figure",
    "render_report",
    "report_footer",
    "write_report",
]
