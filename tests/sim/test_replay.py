"""The replay: backing out the fund's impact and replaying its schedule give the path back."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.market import SquareRootImpact
from delever.protocol import RESERVES, Account, ReserveState
from delever.sim.replay import ReplayInputs, own_impact_fraction, run_replay
from delever.sim.unwind import LendingParams, OracleParams, UnwindMarket, UnwindPosition
from delever.strategy import Hold, SellAll

SIGMA, ADV, Y = 0.04, 500_000.0, 1.0


def _inputs(half_life_hours: float, debt_usd: float = 20e6) -> ReplayInputs:
    n = 48
    realized = np.linspace(2000.0, 1800.0, n + 1)
    schedule = np.full(n, 1_000.0)
    position = UnwindPosition.from_accounts(
        [("a", Account(collateral={"WETH": 100_000.0}, debt={"USDT": debt_usd}))], 3000.0
    )
    day = datetime(2026, 2, 1, tzinfo=UTC).date()
    lending = LendingParams(
        debt_reserve=ReserveState(6.0e9, 4.0e9),
        debt_curve=RESERVES["USDT"].rate_curve_on(day),
    )
    market = UnwindMarket(SquareRootImpact(SIGMA, ADV, Y, 2.0 / 3.0), half_life_hours)
    return ReplayInputs(
        start=datetime(2026, 2, 1, tzinfo=UTC),
        step_hours=1.0,
        realized_usd=realized,
        schedule_eth=schedule,
        reported_avg_price_usd=1900.0,
        realized_low_usd=1790.0,
        position=position,
        market=market,
        lending=lending,
        oracle=OracleParams(),
    )


@pytest.mark.parametrize("half_life_hours", [0.0, 6.0])
def test_replaying_the_schedule_on_the_no_fund_path_gives_the_realized_path(
    half_life_hours: float,
) -> None:
    inputs = _inputs(half_life_hours)
    result = run_replay(inputs, [Hold(), SellAll()])
    assert not result.reported.liquidated[0]
    # The engine adds back exactly the impact the replay took out.
    assert np.allclose(result.reported.mid_usd[0], inputs.realized_usd, rtol=1e-12)
    assert result.replay_error_pct < 1e-9
    assert np.all(result.no_fund_usd >= inputs.realized_usd)
    assert result.reported.sold_total_eth[0] == pytest.approx(48_000.0)


def test_own_impact_without_relaxation_is_the_metaorder_law() -> None:
    schedule = np.full(10, 5_000.0)
    market = UnwindMarket(SquareRootImpact(SIGMA, ADV, Y, 2.0 / 3.0), 0.0)
    own = own_impact_fraction(schedule, market, 1.0)
    # With no transient memory only the permanent part is left: perm Y sigma sqrt(Q / V).
    expected = (2 / 3) * Y * SIGMA * np.sqrt(np.cumsum(schedule) / ADV)
    assert own[0] == 0.0
    assert np.allclose(own[1:], expected, rtol=1e-12)


def test_decomposition_adds_up() -> None:
    result = run_replay(_inputs(6.0), [Hold()])
    dec = result.decomposition()
    assert dec["own_impact_log_pct"] + dec["rest_log_pct"] == pytest.approx(dec["drawdown_log_pct"])
    assert dec["drawdown_log_pct"] == pytest.approx(100 * math.log(2000.0 / 1790.0))
    assert 0 < dec["own_impact_share"] < 1


def test_replay_cli_reports_model_vs_reported_and_counterfactuals() -> None:
    result = CliRunner().invoke(app, ["replay", "trend-2026", "--json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["reported_avg_price_usd"] == pytest.approx(2168.0)
    assert data["reported_sold_eth"] == pytest.approx(255_500.0)
    # The model is fitted before 2026-01-01; it lands within a few percent of $2,168.
    assert abs(data["modelled_vs_reported_pct"]) < 5
    assert set(data["counterfactuals"]) >= {
        "reported",
        "hold",
        "sell-all",
        "almgren-chriss",
        "hf-ladder",
    }
    # The realized Feb 5-6 low (Binance daily low, 2026-02-06) is the window's low.
    assert data["realized_low_usd"] == pytest.approx(1747.80)
    dec = data["decomposition"]
    assert 0 < dec["own_impact_share"] < 0.2  # the square-root law: a few percent
    again = CliRunner().invoke(app, ["replay", "trend-2026", "--json"]).stdout
    assert again == result.stdout


def test_replay_of_a_scenario_without_sales_is_refused() -> None:
    result = CliRunner().invoke(app, ["replay", "no-such-scenario"])
    assert result.exit_code == 2
