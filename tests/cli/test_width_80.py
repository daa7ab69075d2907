"""Every command's terminal output at 80 columns: no line longer, no cut cell ("…"), no
cropped table (a line that opens with a box character closes with one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli import _common
from delever.cli.main import app


def _is_box(char: str) -> bool:
    return "\u2500" <= char <= "\u257f"  # the box-drawing block

COMMANDS = [
    pytest.param(["run", "--paths", "20", "--no-report"], id="run"),
    pytest.param(["simulate", "--paths", "10", "--steps", "24"], id="simulate"),
    pytest.param(["replay"], id="replay"),
    pytest.param(["cascade", "--price-usd", "2000", "--shock-pct", "20"], id="cascade"),
    pytest.param(["stress", "--paths", "10", "--steps", "5"], id="stress"),
    pytest.param(["plan", "--paths", "100", "--workers", "0", "--horizon-days", "1"], id="plan"),
    pytest.param(["advise", "--paths", "50", "--workers", "0"], id="advise"),
    *[
        pytest.param(["impact", "--qty-eth", "255500", "--model", model], id=f"impact-{model}")
        for model in ("sqrt", "ac", "ow", "propagator", "book", "univ3", "router")
    ],
    pytest.param(["position", "--collateral-eth", "396000", "--debt-usd", "526000000",
                  "--price-usd", "1904.04"], id="position"),
    pytest.param(["liquidate", "--collateral-eth", "100", "--debt-usd", "170000",
                  "--price-usd", "2000", "--debt-to-cover-usd", "50000"], id="liquidate"),
    pytest.param(["rates"], id="rates"),
    pytest.param(["scenarios"], id="scenarios"),
    pytest.param(["validate", "trend-2026"], id="validate"),
]


@pytest.fixture
def width_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.console, "_width", 80)


@pytest.mark.parametrize("argv", COMMANDS)
@pytest.mark.usefixtures("width_80")
def test_output_fits_80_columns(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "80"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "…" not in result.stdout, result.stdout
    for line in result.stdout.splitlines():
        assert len(line) <= 80, line
        text = line.rstrip()
        if text and _is_box(text[0]):
            assert _is_box(text[-1]), f"cropped table line: {line!r}"


@pytest.mark.usefixtures("width_80")
def test_paths_summary_fits_80_columns(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["paths", "--paths", "3", "--steps", "5", "--output",
                                      str(out)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "…" not in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
