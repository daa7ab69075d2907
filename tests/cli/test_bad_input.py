"""Bad input through the CLI: exit code 2, one clear line on stderr, no traceback, no file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli.main import app

GOOD_SCENARIO = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "delever"
    / "scenario"
    / "builtin"
    / "trend-2026.toml"
).read_text()

MINIMAL = """
name = "mini"
[mark]
price_usd = 2000
[position]
[[position.trades]]
time = 2026-01-01T00:00:00Z
side = "buy"
quantity_eth = 100
price_usd = 3000
[[accounts]]
name = "a"
collateral = { WETH = 100 }
debt = { USDC = 100000 }
"""

POS = ["position", "--collateral-eth", "100", "--debt-usd", "100000", "--price-usd", "2000"]
LIQ = [
    "liquidate",
    "--collateral-eth",
    "100",
    "--debt-usd",
    "170000",
    "--price-usd",
    "2000",
    "--debt-to-cover-usd",
    "50000",
]


def _swap(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


# (id, argv or scenario text, expected fragment of the message)
CLI_CASES = [
    ("negative-collateral", _swap(POS, "--collateral-eth", "-5"), "collateral"),
    ("nan-collateral", _swap(POS, "--collateral-eth", "nan"), "collateral"),
    ("inf-debt", _swap(POS, "--debt-usd", "inf"), "debt"),
    ("negative-debt", _swap(POS, "--debt-usd", "-1"), "debt"),
    ("zero-price", _swap(POS, "--price-usd", "0"), "price"),
    ("negative-price", _swap(POS, "--price-usd", "-2000"), "price"),
    ("lt-above-1", [*POS, "--lt", "1.2"], "liquidation_threshold"),
    ("lt-below-ltv", [*POS, "--lt", "0.7", "--ltv", "0.8"], "ltv"),
    ("negative-bonus", [*POS, "--bonus", "-0.1"], "bonus"),
    ("debt-without-collateral", _swap(POS, "--collateral-eth", "0"), "collateral"),
    ("liquidate-healthy", _swap(LIQ, "--debt-usd", "1000"), "HealthFactorNotBelowThreshold"),
    ("liquidate-negative-cover", _swap(LIQ, "--debt-to-cover-usd", "-5"), "debt_to_cover"),
    ("liquidate-nan-cover", _swap(LIQ, "--debt-to-cover-usd", "nan"), "debt_to_cover"),
    (
        "liquidate-dust-leftover",  # HF 0.863 < 0.95: 100% allowed, but $500 would be left
        ["liquidate", "--collateral-eth", "5.2", "--debt-usd", "10000", "--price-usd", "2000",
         "--debt-to-cover-usd", "9500"],
        "MustNotLeaveDust",
    ),
    ("liquidate-fee-above-1", [*LIQ, "--protocol-fee", "1.5"], "protocol_fee"),
    ("unknown-scenario", ["run", "trend-2062"], "trend-2026"),
    ("missing-file", ["run", "no/such/file.toml"], "no such file"),
]

SCENARIO_CASES = [
    ("malformed-toml", "name = 'x\n[mark", "malformed TOML"),
    ("missing-mark", MINIMAL.replace("[mark]\nprice_usd = 2000\n", ""), "mark"),
    ("zero-mark", MINIMAL.replace("price_usd = 2000", "price_usd = 0"), "mark.price_usd"),
    ("nan-mark", MINIMAL.replace("price_usd = 2000", "price_usd = nan"), "finite"),
    ("string-amount", MINIMAL.replace("WETH = 100", "WETH = 'lots'"), "collateral.WETH"),
    ("negative-collateral", MINIMAL.replace("WETH = 100", "WETH = -100"), "negative"),
    ("debt-no-collateral", MINIMAL.replace("WETH = 100", "WETH = 0"), "no collateral"),
    ("unknown-asset", MINIMAL.replace("USDC = 100000", "USDX = 100000"), "USDC"),
    ("unknown-field", MINIMAL.replace('name = "a"', 'name = "a"\ncolour = "red"'), "colour"),
    (
        "lt-above-1",
        MINIMAL + "[reserve_overrides.WETH]\nliquidation_threshold = 1.2\n",
        "liquidation_threshold",
    ),
    (
        "lt-below-ltv",
        MINIMAL + "[reserve_overrides.WETH]\nltv = 0.9\nliquidation_threshold = 0.8\n",
        "ltv",
    ),
    ("emode-stable-debt", MINIMAL.replace('name = "a"', 'name = "a"\nemode = true'), "e-mode"),
    (
        "trades-out-of-order",
        MINIMAL
        + """
[[position.trades]]
time = 2025-01-01T00:00:00Z
side = "sell"
quantity_eth = 1
price_usd = 3000
""".replace("[[accounts]]", ""),
        "time order",
    ),
    (
        "oversell",
        MINIMAL.replace(
            "[[accounts]]",
            """[[position.trades]]
time = 2026-01-02T00:00:00Z
side = "sell"
quantity_eth = 500
price_usd = 3000
[[accounts]]""",
        ),
        "position.trades",
    ),
    (
        "no-history",
        MINIMAL.split("[[position.trades]]")[0] + "[[accounts]]" + MINIMAL.split("[[accounts]]")[1],
        "trades",
    ),
    ("duplicate-accounts", MINIMAL + '[[accounts]]\nname = "a"\n', "unique"),
    ("bad-side", MINIMAL.replace('side = "buy"', 'side = "hold"'), "side"),
    ("bad-name", MINIMAL.replace('name = "mini"', 'name = "two words"'), "name"),
]


def _check_one_line_exit_2(result_exit: int, stderr: str, stdout: str, fragment: str) -> None:
    assert result_exit == 2, (result_exit, stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in stderr + stdout
    assert stdout.strip() == ""


@pytest.mark.parametrize(
    ("argv", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_bad_flags_exit_2_with_one_line(
    argv: list[str], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*argv, "--json"] if argv[0] != "run" else argv)
    _check_one_line_exit_2(result.exit_code, result.stderr, result.stdout, fragment)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even half a file


@pytest.mark.parametrize(
    ("text", "fragment"), [c[1:] for c in SCENARIO_CASES], ids=[c[0] for c in SCENARIO_CASES]
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_files_exit_2_with_one_line(
    command: str, text: str, fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = CliRunner().invoke(app, [command, str(path), "--json"])
    _check_one_line_exit_2(result.exit_code, result.stderr, result.stdout, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_minimal_scenario_is_valid(tmp_path: Path) -> None:
    # The bad cases above are each one change away from this valid file.
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL)
    result = CliRunner().invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert '"valid": true' in result.stdout


def test_shipped_scenario_file_is_valid_as_a_file(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text(GOOD_SCENARIO)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.stderr


def test_console_script_bad_input_has_no_traceback() -> None:
    """The real entry point (a new process), not only the in-process runner."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "delever.cli.main", *_swap(POS, "--price-usd", "0")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    _check_one_line_exit_2(proc.returncode, proc.stderr, proc.stdout, "price")


def test_inf_cover_means_the_maximum() -> None:
    args = ["liquidate", "--collateral-eth", "5.2", "--debt-usd", "10000", "--price-usd", "2000",
            "--debt-to-cover-usd", "inf", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["close_factor"] == 1.0  # HF 5.2 x 2000 x 0.83 / 10000 = 0.863 < 0.95
    # All $10,400 of collateral covers only 10,400 / 1.05 of debt (the cap); the rest of the
    # debt is written off as bad debt because no collateral is left.
    assert payload["debt_repaid_usd"] == pytest.approx(10_400 / 1.05)
    assert payload["collateral_left_eth"] == pytest.approx(0.0)
    assert payload["bad_debt_usd"] == pytest.approx(10_000 - 10_400 / 1.05)
    assert payload["debt_left_usd"] == pytest.approx(0.0)


def test_count_of_bad_input_kinds() -> None:
    # The foundation issue asks for at least 20 kinds of bad input tried through the CLI.
    assert len(CLI_CASES) + len(SCENARIO_CASES) >= 20
