"""The dashboard's computations without a browser: the what-if is `delever position`'s
analysis, the upload error is `delever validate`'s line, the curves match closed forms."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.dashboard.model import (
    ScenarioInput,
    borrower_book,
    check_upload,
    edited_input,
    exit_liquidity_curves,
    liquidation_ladder,
    liquidations_at_risk_eth,
    load_input,
    scenario_error_line,
    shocked_price_usd,
    whatif_report,
)
from delever.errors import InvalidArgument
from delever.scenario.loader import builtin_scenario_text

runner = CliRunner()


@pytest.mark.parametrize("price_usd", [571.0, 1500.0, 1650.0, 1904.0, 2500.0])
def test_whatif_hf_is_delever_position_at_that_price(price_usd: float) -> None:
    # `delever position --collateral-eth C --debt-usd D --price-usd P --json` per account
    # (WETH against a $1 stablecoin, as the default scenario's accounts are)
    scenario = load_input(ScenarioInput())
    report = whatif_report(scenario, price_usd)
    for named, row in zip(scenario.accounts, report.accounts, strict=True):
        collateral = named.account.collateral["WETH"]
        debt = sum(named.account.debt.values())
        result = runner.invoke(app, ["position", "--collateral-eth", repr(collateral),
                                     "--debt-usd", repr(debt), "--price-usd", repr(price_usd),
                                     "--json"])
        assert result.exit_code == 0, result.output
        cli = json.loads(result.stdout)
        assert row.health_factor == pytest.approx(cli["health_factor"], rel=1e-12)
        assert row.liquidation_price_usd == pytest.approx(cli["liquidation_price_usd"],
                                                          rel=1e-12)


def test_whatif_at_the_mark_is_the_position_report() -> None:
    scenario = load_input(ScenarioInput())
    at_mark = whatif_report(scenario, scenario.mark_price_usd)
    report = scenario.position_report()
    assert [a.health_factor for a in at_mark.accounts] == [
        a.health_factor for a in report.accounts]
    assert at_mark.pnl.total_usd == report.pnl.total_usd


def test_hf_scales_with_the_price_for_eth_collateral_and_stable_debt() -> None:
    # HF = C p LT / D: linear in the ETH price (closed form)
    scenario = load_input(ScenarioInput())
    base = whatif_report(scenario, 2000.0).accounts[0].health_factor
    assert whatif_report(scenario, 1000.0).accounts[0].health_factor == pytest.approx(
        base / 2, rel=1e-12)


def test_shock_moves_the_price_down_by_its_percent() -> None:
    assert shocked_price_usd(2000.0, 15.0) == pytest.approx(1700.0)
    assert shocked_price_usd(2000.0, None) == 2000.0
    with pytest.raises(InvalidArgument, match="shock_pct"):
        shocked_price_usd(2000.0, 100.0)


def _bad_scenario(tmp_path: Path) -> Path:
    text = builtin_scenario_text("trend-2026").replace(
        'price_usd = { value = 1904.0404040404,', 'price_usd = { value = -5,', 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    return path


def test_upload_error_is_the_line_validate_prints(
        tmp_path: Path, validate_line: Callable[[Path], str]) -> None:
    path = _bad_scenario(tmp_path)
    with pytest.raises(InvalidArgument) as caught:
        check_upload(path.read_text("utf-8"), path.name)
    line = scenario_error_line(caught.value)
    assert "\n" not in line
    assert "mark.price_usd" in line
    assert f"error: {line}" == validate_line(path)


def test_malformed_toml_is_one_line(tmp_path: Path,
                                    validate_line: Callable[[Path], str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed", "utf-8")
    with pytest.raises(InvalidArgument) as caught:
        check_upload(path.read_text("utf-8"), path.name)
    assert f"error: {scenario_error_line(caught.value)}" == validate_line(path)


def test_edited_inputs_reach_the_scenario() -> None:
    edited = edited_input(ScenarioInput(), {"mark_price_usd": 1800.0, "sigma_daily": None,
                                            "adv_eth": None, "impact_y": 1.2,
                                            "book_collateral_eth": None})
    scenario = load_input(edited)
    assert scenario.mark_price_usd == 1800.0
    assert scenario.market_parameters().impact_y == 1.2
    assert "mark.price_usd" in scenario.estimates()
    with pytest.raises(InvalidArgument, match=r"mark\.price_usd"):
        edited_input(ScenarioInput(), {"mark_price_usd": -1.0})


def test_exit_curve_is_the_square_root_law() -> None:
    # one sale at a constant rate: average fill m (1 - 2/3 Y sigma sqrt(Q / V))
    scenario = load_input(ScenarioInput())
    params = scenario.market_parameters()
    qty, curves = exit_liquidity_curves(scenario)
    expected = 100.0 * 2.0 / 3.0 * params.impact_y * params.sigma_daily * np.sqrt(
        qty / params.adv_eth)
    np.testing.assert_allclose(curves[f"square-root law, Y={params.impact_y:g}"], expected,
                               rtol=1e-9)
    assert len(curves) == 4  # Y low, central, high and Almgren-Chriss


def test_ladder_counts_each_borrower_below_hf_one() -> None:
    scenario = load_input(ScenarioInput())
    book = borrower_book(scenario)
    assert book is not None
    prices, collateral = liquidation_ladder(book, 800.0, 2000.0, n_points=7)
    hf_below = [float(book.collateral_eth[book.health_factor(float(p)) < 1.0 - 1e-12].sum())
                for p in prices]
    liq = book.liquidation_price_usd()
    # the ladder counts borrowers at liquidation price >= p (HF <= 1): equal away from ties
    for p, got, below in zip(prices, collateral, hf_below, strict=True):
        ties = float(book.collateral_eth[np.isclose(liq, p, rtol=1e-12)].sum())
        assert below <= got <= below + ties + 1e-6
        assert got == pytest.approx(liquidations_at_risk_eth(book, float(p)))
    assert np.all(np.diff(collateral) >= 0)  # more is liquidatable as the price falls
    assert math.isclose(collateral[0], hf_below[0], abs_tol=1e-6)


def test_dashboard_without_dash_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_dash(name: str, *args: object, **kwargs: object) -> object:
        if name == "dash" or name.startswith("dash."):
            raise ImportError("No module named 'dash'", name="dash")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_dash)
    result = runner.invoke(app, ["dashboard"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "pip install 'delever[dashboard]'" in lines[0]


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "0"], "--port=0"),
    (["--host", "not a host"], "--host='not a host'"),
    (["nope"], "scenario='nope'"),
    (["trend-2025-cycle", "--address", "0x" + "1" * 40], "not both"),
])
def test_dashboard_bad_options_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["dashboard", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_address_reads_the_account_as_run_address_does() -> None:
    # the fake Aave node of tests/sources (127.0.0.1): the page's scenario is the account's
    # snapshot, whose health factor is the chain's to the wei
    from delever.cli.dashboard_cmds import build_source
    from sources.fakechain import WETH_USER, FakeChain, account_data

    with FakeChain() as chain:
        source = build_source("trend-2026", [WETH_USER], chain.url, None)
        expected_wad = account_data(chain.reserves, chain.users[WETH_USER])[5]
    assert source.toml is not None and source.origin == f"snapshot of {WETH_USER}"
    (account,) = load_input(source).position_report().accounts
    assert account.health_factor_wad == expected_wad
    assert whatif_report(load_input(source), 1000.0).accounts[0].health_factor < (
        account.health_factor)


def test_plan_on_a_dask_scheduler_gives_the_same_plan() -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is missing")
    from delever.dashboard.jobs import plan_job

    def quiet(done: float, total: float, what: str) -> None:
        return None

    here = plan_job(ScenarioInput(), 20, 3, (0.05, 0.1), [], quiet)[1]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        there = plan_job(ScenarioInput(), 20, 3, (0.05, 0.1), [], quiet,
                         cluster.scheduler_address)[1]
    assert json.dumps(here, sort_keys=True) == json.dumps(there, sort_keys=True)
    assert here["frontier"][0]["alpha"] == 0.05
