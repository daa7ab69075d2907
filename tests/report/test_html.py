"""The HTML report is self-contained, holds every section and is written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from delever.report import (
    ReportSection,
    bar_figure,
    distribution_by_label_figure,
    lines_by_label_figure,
    price_fan_figure,
    render_report,
    write_report,
)


def _sections() -> list[ReportSection]:
    rng = np.random.default_rng(1)
    paths = 2000 * np.exp(np.cumsum(rng.normal(0, 0.01, (50, 30)), axis=1))
    times = np.arange(30) / 24
    return [
        ReportSection(
            "Prices",
            "A fan.",
            [("paths", "50")],
            [price_fan_figure(times, paths, band_usd=(1500.0, 1700.0))],
        ),
        ReportSection(
            "HF",
            figures=[
                lines_by_label_figure(
                    times,
                    {"hold": np.linspace(1.2, 1.1, 30)},
                    title="HF",
                    y_title="HF",
                    reference_y=1.0,
                    reference_label="liquidation",
                )
            ],
        ),
        ReportSection(
            "P&L",
            figures=[
                distribution_by_label_figure({"hold": paths[:, -1]}, title="P&L", y_title="USD"),
                bar_figure(["hold"], [0.1], title="P(liq)", y_title="probability"),
            ],
        ),
    ]


def test_report_is_self_contained_and_has_every_section() -> None:
    text = render_report("delever <test>", _sections(), footer="footer & notes")
    assert text.startswith("<!DOCTYPE html>")
    assert "delever &lt;test&gt;" in text  # titles are escaped
    for heading in ("Prices", "HF", "P&amp;L"):
        assert f"<h2>{heading}</h2>" in text
    # plotly.js inlined exactly once (no network needed to open the file)
    assert text.count("plotly.js v") == 1
    assert '<script src="http' not in text
    assert text.count('class="plotly-graph-div"') == 4, text.count("plotly-graph-div")


def test_fan_quantiles_match_numpy() -> None:
    rng = np.random.default_rng(2)
    paths = rng.normal(100, 5, (1000, 4))
    fig = price_fan_figure(np.arange(4.0), paths)
    median = next(trace for trace in fig.data if trace.name == "median")
    assert np.allclose(median.y, np.median(paths, axis=0))


def test_write_report_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("earlier report")

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("delever.report.html.render_report", broken)
    with pytest.raises(RuntimeError):
        write_report(target, "x", _sections())
    assert target.read_text() == "earlier report"  # the earlier output survives
    monkeypatch.undo()
    write_report(target, "x", _sections())
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
