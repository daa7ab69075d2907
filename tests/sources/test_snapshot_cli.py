"""``delever snapshot`` end to end against the fake node: the scenario it writes validates,
holds the chain's health factors to the wei, and ``delever run`` runs on it offline."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.scenario import load_scenario
from sources.fakechain import (
    EMODE_USER,
    LINK_USER,
    LOOP_USER,
    MIXED_USER,
    WETH_USER,
    FakeChain,
    account_data,
)

KEY = "SECRETKEY0123456789abcdef"


pytestmark = pytest.mark.usefixtures("fast_retries")


@pytest.fixture
def chain(node: FakeChain) -> FakeChain:
    return node



def _snapshot(chain: FakeChain, out: Path, *users: str, extra: tuple[str, ...] = ()
              ) -> SimpleNamespace:
    args = ["snapshot", "--rpc", f"{chain.url}/v2/{KEY}", "-o", str(out), "--json", *extra]
    for user in users:
        args += ["--address", user]
    result = CliRunner().invoke(app, args)
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


@pytest.mark.parametrize("user", [WETH_USER, MIXED_USER, EMODE_USER])
def test_snapshot_health_factor_is_the_chains(chain: FakeChain, tmp_path: Path,
                                              user: str) -> None:
    out = tmp_path / "position.toml"
    done = _snapshot(chain, out, user)
    assert done.code == 0, done.err
    chain_hf = account_data(chain.reserves, chain.users[user])[5]
    payload = json.loads(done.out)
    assert payload["block"] == chain.block - chain.finalized_lag
    assert payload["accounts"][0]["health_factor_wad"] == str(chain_hf)
    (account,) = load_scenario(out).position_report().accounts
    assert account.health_factor_wad == chain_hf
    text = out.read_text()
    assert KEY not in text and KEY not in done.out and KEY not in done.err
    assert "Ethereum block 23,999,936" in text
    validated = CliRunner().invoke(app, ["validate", str(out)])
    assert validated.exit_code == 0, validated.stderr


def test_snapshot_emode_category_is_written(chain: FakeChain, tmp_path: Path) -> None:
    out = tmp_path / "loop.toml"
    assert _snapshot(chain, out, EMODE_USER).code == 0
    doc = tomllib.loads(out.read_text())
    assert doc["accounts"][0]["emode"] is True
    assert doc["emode"]["category_id"] == 1
    assert doc["emode"]["liquidation_threshold"]["value"] == 0.95


def test_run_runs_on_the_snapshot_offline(chain: FakeChain, tmp_path: Path) -> None:
    out = tmp_path / "position.toml"
    assert _snapshot(chain, out, WETH_USER).code == 0
    chain.__exit__()  # the node is gone: run reads only the file
    ran = CliRunner().invoke(app, ["run", str(out), "--paths", "20", "--no-report", "--json"])
    assert ran.exit_code == 0, ran.stderr
    result = json.loads(ran.stdout)
    (account,) = result["accounts"]
    chain_hf = account_data(chain.reserves, chain.users[WETH_USER])[5]
    assert account["health_factor_wad"] == str(chain_hf)
    assert result["simulation"] is not None and result["plan"] is not None
    assert result["engines_skipped"] in (None, [], {})


def test_a_loop_snapshot_runs_through_the_engines_offline(chain: FakeChain,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "loop.toml"
    assert _snapshot(chain, out, LOOP_USER).code == 0
    doc = tomllib.loads(out.read_text())
    # the oracle's 8-decimal USD prices: the scenario's prices are price / 1e8
    wsteth, weth = chain.reserves["wstETH"].price / 1e8, chain.reserves["WETH"].price / 1e8
    assert doc["loop"]["asset"] == "wstETH"
    assert doc["loop"]["exchange_rate"]["value"] == wsteth / weth
    assert doc["market"]["adv_eth"]["estimate"] is True
    chain.__exit__()  # the node is gone: run reads only the file
    ran = CliRunner().invoke(app, ["run", str(out), "--paths", "20", "--no-report", "--json"])
    assert ran.exit_code == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["engines_skipped"] is None and result["engine_frame"]["asset"] == "wstETH"
    assert result["accounts"][0]["health_factor_wad"] == str(
        account_data(chain.reserves, chain.users[LOOP_USER])[5])
    assert result["simulation"]["strategies"]["hold"]["units_left"] == pytest.approx(
        doc["accounts"][0]["collateral"]["wstETH"]["value"], rel=1e-12)


def test_unmodelled_reserve_is_left_out_with_a_note(chain: FakeChain, tmp_path: Path) -> None:
    out = tmp_path / "link.toml"
    done = _snapshot(chain, out, LINK_USER)
    assert done.code == 0, done.err
    assert json.loads(done.out)["accounts"][0]["left_out"] == ["LINK"]
    assert "also holds LINK" in tomllib.loads(out.read_text())["description"]


@pytest.mark.parametrize(("extra", "message"), [
    (("--address", "0x123"), "--address '0x123' must be 0x"),
    (("--address", WETH_USER, "--block", "-5"), "--block -5"),
    (("--address", WETH_USER, "--exchanges", "binance,,okx"), "--exchanges"),
    (("--address", WETH_USER, "--cost-basis-usd", "-1"), "--cost-basis-usd"),
    ((), "--address is missing"),
])
def test_bad_options_one_line_before_any_request(chain: FakeChain, tmp_path: Path,
                                                 extra: tuple[str, ...], message: str) -> None:
    done = _snapshot(chain, tmp_path / "x.toml", extra=extra)
    assert done.code == 2
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert sum(chain.methods.values()) == 0


def test_output_must_be_toml(chain: FakeChain, tmp_path: Path) -> None:
    done = _snapshot(chain, tmp_path / "x.json", WETH_USER)
    assert done.code == 2 and "must end in .toml" in done.err


def test_run_address_shortcut(chain: FakeChain) -> None:
    ran = CliRunner().invoke(app, ["run", "--address", WETH_USER, "--rpc", chain.url,
                                   "--paths", "20", "--no-report", "--json"])
    assert ran.exit_code == 0, ran.stderr
    (account,) = json.loads(ran.stdout)["accounts"]
    assert account["health_factor_wad"] == str(
        account_data(chain.reserves, chain.users[WETH_USER])[5])


def test_run_address_refuses_a_scenario_too(chain: FakeChain) -> None:
    ran = CliRunner().invoke(app, ["run", "trend-2025-cycle", "--address", WETH_USER,
                                   "--rpc", chain.url, "--no-report"])
    assert ran.exit_code == 2 and "or --address, not both" in ran.stderr
    ran = CliRunner().invoke(app, ["run", "--block", "5", "--no-report"])
    assert ran.exit_code == 2 and "go with --address" in ran.stderr
