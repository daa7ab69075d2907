"""report.advice_figures: the figures carry the arrays they are given."""

from __future__ import annotations

import numpy as np

from delever.report.advice_figures import (
    buffer_figure,
    final_pnl_figure,
    leverage_heatmap_figure,
    recovery_time_figure,
)


def test_heatmap_figure_holds_the_grid() -> None:
    z = np.array([[0.0, 0.5], [0.2, 1.0]])
    fig = leverage_heatmap_figure([2.0, 3.0], [1_800.0, 2_400.0], z, mark_price_usd=1_904.0)
    assert np.array_equal(np.asarray(fig.data[0].z), z)
    assert list(fig.data[0].y) == ["2x", "3x"]
    assert fig.data[0].text[1][1] == "100%"


def test_ecdf_counts_never_in_the_denominator() -> None:
    fig = recovery_time_figure({"model / hold": np.array([10.0, np.inf, 30.0, np.inf])})
    assert list(fig.data[0].x) == [10.0, 30.0]
    assert list(fig.data[0].y) == [0.25, 0.5]  # half the paths never recover
    pnl = final_pnl_figure({"a": np.array([-2e6, 1e6])})
    assert list(pnl.data[0].x) == [-2.0, 1.0]


def test_buffer_figure_error_bars() -> None:
    fig = buffer_figure([3.0, 7.0], {"model": np.array([1.2, 1.3])},
                        low_by_source={"model": np.array([1.15, 1.25])},
                        high_by_source={"model": np.array([1.3, 1.4])}, current_hf=1.19)
    assert np.allclose(fig.data[0].error_y.array, [0.1, 0.1])
    assert np.allclose(fig.data[0].error_y.arrayminus, [0.05, 0.05])
