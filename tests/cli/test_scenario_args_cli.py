"""`stress`, `cascade` and `rates` take a [SCENARIO] like `run`: its values are the defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

BUILTIN = Path(__file__).resolve().parents[2] / "src" / "delever" / "scenario" / "builtin"


def _json(argv: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _scenario_with_mark(tmp_path: Path, mark_usd: float) -> Path:
    text = (BUILTIN / "trend-2026.toml").read_text()
    text = text.replace("price_usd = { value = 1904.0404040404,",
                        f"price_usd = {{ value = {mark_usd},", 1)
    assert str(mark_usd) in text
    path = tmp_path / "my.toml"
    path.write_text(text)
    return path


def test_stress_takes_a_builtin_scenario() -> None:
    payload = _json(["stress", "trend-2026", "--paths", "20", "--steps", "5"])
    assert payload["price_usd"] == pytest.approx(754e6 / 396_000)
    assert payload["defaults"] == "scenario trend-2026"
    # the scenario's three accounts: 396,000 ETH against $526M at WETH's LT 0.83
    assert payload["large_account"]["collateral_eth"] == pytest.approx(396_000)
    assert payload["large_account"]["debt_usd"] == pytest.approx(526e6)


def test_stress_takes_a_toml_path_and_options_override(tmp_path: Path) -> None:
    path = _scenario_with_mark(tmp_path, 2500.0)
    payload = _json(["stress", str(path), "--paths", "20", "--steps", "5"])
    assert payload["price_usd"] == pytest.approx(2500.0)
    override = _json(["stress", str(path), "--paths", "20", "--steps", "5",
                      "--price-usd", "2100"])
    assert override["price_usd"] == pytest.approx(2100.0)


def test_cascade_takes_a_scenario(tmp_path: Path) -> None:
    payload = _json(["cascade", "trend-2026", "--shock-pct", "15"])
    assert payload["start_price_usd"] == pytest.approx(754e6 / 396_000)
    path = _scenario_with_mark(tmp_path, 2500.0)
    assert _json(["cascade", str(path), "--shock-pct", "15"])["start_price_usd"] == 2500.0


def test_cascade_without_price_or_scenario_is_one_line() -> None:
    result = CliRunner().invoke(app, ["cascade", "--shock-pct", "15"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--price-usd" in lines[0]


def test_rates_takes_a_scenario() -> None:
    payload = _json(["rates", "trend-2026"])
    assert payload["withdrawn_eth"] == pytest.approx(255_500)  # the scenario's sales
    assert _json(["rates", "trend-2026", "--withdrawn-eth", "1000"])["withdrawn_eth"] == 1000


@pytest.mark.parametrize("command", ["stress", "cascade", "rates"])
def test_unknown_scenario_is_one_line_with_close_matches(command: str) -> None:
    result = CliRunner().invoke(app, [command, "trend-2O26", "--shock-pct", "10"]
                                if command == "cascade" else [command, "trend-2O26"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'trend-2026'" in lines[0]


def test_help_shows_rounded_defaults() -> None:
    result = CliRunner().invoke(app, ["stress", "--help"])
    assert result.exit_code == 0
    assert "1904.0404" not in result.stdout and "1,904.04" in result.stdout
