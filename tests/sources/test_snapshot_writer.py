"""The snapshot writer: a chain state becomes a scenario that validates, runs, and whose exact
health factor is the chain's to the wei."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.scenario import load_scenario
from delever.sources import SourceError
from delever.sources.snapshot import ChainSnapshot, ReserveRisk, SnapshotAccount, snapshot_toml

COLLATERAL_WEI = 86291375899727204793904
DEBT_UNITS = 133762829599804
HF_WAD = 1256131371719081668  # GenericLogic v3.6 by hand (tests/protocol/test_account_units.py)
ADDRESS = "0x1111111111111111111111111111111111111111"


def _snapshot(**changes: object) -> ChainSnapshot:
    base = {
        "chain_id": 1, "block": 21_000_000,
        "block_time": datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        "market": "ethereum-core", "pool": "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2",
        "prices_usd": {"WETH": 2345.6789, "USDC": 0.99987},
        "reserves": {"WETH": ReserveRisk(0.805, 0.83, 0.05, 0.1)},
        "accounts": (SnapshotAccount(ADDRESS, {"WETH": COLLATERAL_WEI}, {"USDC": DEBT_UNITS},
                                     False, HF_WAD),),
    }
    return ChainSnapshot(**{**base, **changes})  # type: ignore[arg-type]


def test_snapshot_scenario_gives_the_chains_health_factor(tmp_path: Path) -> None:
    path = tmp_path / "snap.toml"
    path.write_text(snapshot_toml(_snapshot()))
    doc = tomllib.loads(path.read_text())
    assert doc["accounts"][0]["collateral_units"] == {"WETH": str(COLLATERAL_WEI)}
    assert "Ethereum block 21,000,000" in doc["mark"]["price_usd"]["source"]
    (account,) = load_scenario(path).position_report().accounts
    assert account.health_factor_wad == HF_WAD
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def test_snapshot_reserve_parameters_reach_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "snap.toml"
    path.write_text(snapshot_toml(_snapshot(
        reserves={"WETH": ReserveRisk(0.80, 0.82, 0.06, 0.1)})))
    scenario = load_scenario(path)
    assert scenario.reserves["WETH"].liquidation_threshold == 0.82
    (account,) = scenario.position_report().accounts
    assert account.health_factor_wad != HF_WAD  # LT 82% instead of 83%: another HF


def test_snapshot_refuses_what_it_cannot_write() -> None:
    with pytest.raises(SourceError, match="no account"):
        snapshot_toml(_snapshot(accounts=()))
    with pytest.raises(SourceError, match="no WETH price"):
        snapshot_toml(_snapshot(prices_usd={"USDC": 1.0}))
