"""The report says what it shows: axes fit the data, equity names its basis, the reported
figures sit beside the model's, the report says where it came from, and the press
boilerplate appears only for scenarios with estimated inputs."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from typer.testing import CliRunner

from delever.cli._provenance import report_provenance
from delever.cli.main import app
from delever.report import (
    ReportProvenance,
    bar_figure,
    distribution_by_label_figure,
    lines_by_label_figure,
    price_fan_figure,
    render_report,
    report_footer,
)
from delever.report.advice_figures import (
    ecdf_by_label_figure,
    final_pnl_figure,
    leverage_heatmap_figure,
    recovery_time_figure,
)
from delever.report.figures import AXIS_PERCENTILES, axis_range
from delever.report.run_report import position_section, simulation_sections
from delever.scenario import Scenario, load_scenario
from delever.sim.api import simulate

# The default scenario's published figures (press, estimates) and its equity, by hand:
# at cost 396,000 x 3,180 - 526M = 733.3M; at the mark 754M - 526M = 228.0M.
REPORTED_USD = {"realized_pnl_usd": -258e6, "unrealized_pnl_usd": -505e6,
                "total_pnl_usd": -763e6, "debt_usd": 526e6}


def _with_outliers(seed: int, n: int = 2000) -> np.ndarray:
    """A body of P&L near -$700M with three paths 50x out (a bootstrap path's 30x rally)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(-700e6, 150e6, n)
    values[:3] = [40_000e6, 35_000e6, -30_000e6]
    return values


def _check_within_percentiles(axis_range_: object, values: np.ndarray,
                        include: tuple[float, ...] = ()) -> None:
    low, high = np.percentile(values[np.isfinite(values)], AXIS_PERCENTILES)
    low, high = min([low, *include]), max([high, *include])  # a reference line stays in view
    pad = 0.06 * (high - low)  # the helper pads 5% of the span on each side
    assert axis_range_ is not None, "the axis is left to autorange (the outliers stretch it)"
    shown_low, shown_high = axis_range_  # type: ignore[misc]
    assert low - pad <= shown_low <= low
    assert high <= shown_high <= high + pad


def _final_pnl() -> tuple[go.Figure, str, np.ndarray]:
    data = {"hold (bootstrap)": _with_outliers(1), "hold (model)": _with_outliers(2)}
    pooled = np.concatenate(list(data.values())) / 1e6
    return final_pnl_figure(data), "x", pooled


def _recovery() -> tuple[go.Figure, str, np.ndarray]:
    days = np.abs(_with_outliers(3)) / 1e6
    days[5:50] = np.inf  # never recovered: in the share, not on the axis
    return recovery_time_figure({"hold": days}), "x", days


def _boxes() -> tuple[go.Figure, str, np.ndarray]:
    values = _with_outliers(4) / 1e6
    return distribution_by_label_figure({"hold": values}, title="P&L", y_title="USD M"), "y", values


def _lines() -> tuple[go.Figure, str, np.ndarray]:
    values = np.linspace(1.1, 1.6, 2000)
    values[:3] = [400.0, 300.0, 250.0]  # HF spikes when a path repays nearly all its debt
    fig = lines_by_label_figure(np.arange(2000.0), {"hold": values}, title="HF", y_title="HF",
                                reference_y=1.0, reference_label="liquidation")
    return fig, "y", values


def _fan() -> tuple[go.Figure, str, np.ndarray]:
    rng = np.random.default_rng(5)
    paths = 2000.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 2000)), axis=1))
    paths[:, 0] = 2000.0
    paths[:, 1:4] *= 40.0  # three steps where the whole fan jumps 40x
    fig = price_fan_figure(np.arange(2000.0), paths)
    q05, q95 = np.quantile(paths, (0.05, 0.95), axis=0)
    return fig, "y", np.concatenate([q05, q95])


@pytest.mark.parametrize("build", [_final_pnl, _recovery, _boxes, _lines, _fan],
                         ids=["final-pnl-ecdf", "recovery-ecdf", "pnl-boxes", "hf-lines",
                              "price-fan"])
def test_axes_show_the_middle_99_percent_not_the_outliers(build: object) -> None:
    fig, axis, values = build()  # type: ignore[operator]
    shown = fig.layout.xaxis.range if axis == "x" else fig.layout.yaxis.range
    # the HF chart's liquidation line at 1.0 stays on the axis
    _check_within_percentiles(shown, values, (1.0,) if build is _lines else ())


def test_final_pnl_axis_no_longer_runs_to_the_extreme_path() -> None:
    # the issue: the axis ran to $40,000M for a position that lost $763M
    fig, _, values = _final_pnl()
    assert fig.layout.xaxis.range[1] < 1_000.0  # USD millions
    assert values.max() == pytest.approx(40_000.0)


def test_axis_range_keeps_the_reference_and_skips_non_finite() -> None:
    low, high = axis_range([1.5, 2.0, np.inf, np.nan], include=(1.0,))
    assert low < 1.0 < 2.0 < high
    assert axis_range([np.nan, np.inf]) is None


def test_bars_carry_their_values_and_start_at_zero() -> None:
    fig = bar_figure(["hold", "twap"], [0.625, 0.0], title="P", y_title="P(liquidation)",
                     value_format=".1%")
    assert fig.data[0].texttemplate == "%{y:.1%}"
    assert fig.layout.yaxis.range[0] == 0.0
    assert fig.layout.yaxis.range[1] > 0.625


def test_heatmap_names_the_basis_of_its_equity() -> None:
    fig = leverage_heatmap_figure([2.0, 3.0], [1500.0, 2000.0], [[0.1, 0.2], [0.3, 0.4]],
                                  mark_price_usd=1904.04, equity_at_cost_usd=733.3e6,
                                  title="P(liquidation) in 30 days holding")
    title = fig.layout.title.text
    assert "equity put in at entry $733.3M (the position's equity at cost)" in title
    assert "mark $1,904.04" in title


@pytest.fixture(scope="module")
def trend() -> Scenario:
    return load_scenario("trend-2026")


def test_position_table_has_the_reported_column_and_both_equities(trend: Scenario) -> None:
    section = position_section(trend.position_report(), REPORTED_USD)
    assert tuple(section.columns) == ("", "model", "reported")
    rows = {row[0]: row[1:] for row in section.table}
    assert rows["realized P&L"] == ("-$258.6M", "-$258.0M")
    assert rows["unrealized P&L (at the mark)"] == ("-$505.3M", "-$505.0M")
    assert rows["total P&L"] == ("-$763.8M", "-$763.0M")
    assert rows["equity at cost (ETH held x average cost - debt)"][0] == "$733.3M"
    assert rows["equity at the mark (collateral at the mark - debt)"][0] == "$228.0M"
    # every equity figure says on what basis
    for label in rows:
        if "equity" in label:
            assert "at cost" in label or "at the mark" in label
    text = render_report("r", [section])
    assert "<th>reported</th>" in text
    for figure in ("-$258.0M", "-$505.0M", "-$763.0M"):
        assert figure in text


def test_position_text_mentions_estimates_only_when_there_are_some(trend: Scenario) -> None:
    report = trend.position_report()
    assert "estimate" in position_section(report, has_estimates=True).text
    neutral = position_section(report, has_estimates=False)
    assert "estimate" not in neutral.text and "press" not in neutral.text
    assert neutral.columns == () and all(len(row) == 2 for row in neutral.table)


def test_footer_has_the_press_boilerplate_only_with_estimated_inputs() -> None:
    assert "press" not in report_footer([])
    assert "estimate" not in report_footer([])
    with_estimates = report_footer(["mark.price_usd", "book.followers_kappa"])
    assert "press" in with_estimates and "mark.price_usd, book.followers_kappa" in with_estimates


def test_report_shows_its_provenance() -> None:
    provenance = ReportProvenance(
        version="9.8.7", generated_utc=datetime(2026, 2, 6, 12, 30, tzinfo=UTC),
        scenario_name="mine", scenario_sha256="ab" * 32,
        command_line="delever run 'my scenario.toml' --paths 200")
    text = render_report("r", [], provenance=provenance)
    for shown in ("9.8.7", "2026-02-06 12:30:00 UTC", "mine", "ab" * 32,
                  "delever run &#x27;my scenario.toml&#x27; --paths 200"):
        assert shown in text
    assert "class='provenance'" not in render_report("r", [])


def test_provenance_hashes_the_scenario_file_and_quotes_the_command(tmp_path: Path) -> None:
    shipped = resources.files("delever.scenario.builtin").joinpath("trend-2026.toml")
    builtin = report_provenance("trend-2026", "trend-2026", ["delever", "run"])
    assert builtin.scenario_sha256 == hashlib.sha256(shipped.read_bytes()).hexdigest()
    mine = tmp_path / "my scenario.toml"
    mine.write_bytes(b"name = 'x'\n")
    own = report_provenance(str(mine), "x", ["delever", "run", str(mine), "--paths", "2"])
    assert own.scenario_sha256 == hashlib.sha256(b"name = 'x'\n").hexdigest()
    assert own.command_line == f"delever run '{mine}' --paths 2"
    assert own.generated_utc.tzinfo is not None and own.version


def test_strategy_charts_say_what_they_plot(trend: Scenario) -> None:
    result = simulate(trend, ["hold", "sell-all"], n_paths=8, n_steps=6, step_hours=1.0,
                      seed=0)
    hf, _sold, pnl, p_liq = simulation_sections(result, (1509.0, 1708.0), 8, 0)[1].figures
    assert "median over paths" in hf.layout.title.text
    assert "lowest" not in hf.layout.title.text.split("<br>")[0]  # it is not a running minimum
    assert p_liq.data[0].texttemplate == "%{y:.1%}"
    assert p_liq.layout.yaxis.tickformat == ".1%"
    assert pnl.layout.yaxis.range is not None
    finite = np.concatenate([r.total_pnl_usd for r in result.results]) / 1e6
    assert pnl.layout.yaxis.range[0] >= finite.min() - 0.1 * np.ptp(finite) - 1e-9


def test_ecdf_keeps_the_share_axis_whole() -> None:
    fig = ecdf_by_label_figure({"a": np.array([1.0, 2.0, np.inf])}, title="t", x_title="x")
    assert list(fig.layout.yaxis.range) == [0, 1]


def test_a_scenario_without_estimates_gets_no_press_boilerplate(tmp_path: Path) -> None:
    shipped = resources.files("delever.scenario.builtin").joinpath("trend-2026.toml")
    text = shipped.read_text("utf-8").replace(", estimate = true", "")
    text = re.sub(r'^name = "trend-2026"$', 'name = "mine"', text, count=1, flags=re.M)
    mine = tmp_path / "mine.toml"
    mine.write_text(text, "utf-8")
    assert load_scenario(mine).estimates() == []
    out = tmp_path / "plan.html"
    result = CliRunner().invoke(app, [
        "plan", str(mine), "--paths", "50", "--horizon-days", "1", "--maxfev", "1",
        "--family", "almgren-chriss", "--workers", "0", "--json", "--report", str(out)])
    assert result.exit_code == 0, result.stderr
    html = re.sub(r"<script.*?</script>", "", out.read_text(), flags=re.S)  # plotly.js aside
    assert "press" not in html
    assert "Every input comes from the scenario file" in html
    assert hashlib.sha256(mine.read_bytes()).hexdigest() in html
