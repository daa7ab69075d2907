"""A scenario holding the chain's exact balances and oracle prices (what ``delever snapshot``
writes): the position report gives Aave's integer health factor."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_text import one_account_scenario

from delever.errors import InvalidArgument
from delever.scenario import load_scenario

COLLATERAL_WEI = 86291375899727204793904
DEBT_UNITS = 133762829599804
# GenericLogic v3.6 by hand (tests/protocol/test_account_units.py): WETH $2,345.6789, LT 83%,
# USDC $0.99987
HF_WAD = 1256131371719081668


def _write(tmp_path: Path, units: str, prices: str = "[prices]\nUSDC = 0.99987\n") -> Path:
    text = one_account_scenario(
        mark_usd=2345.6789, bought_eth=86291.375899727204793904,
        collateral=f"{{ WETH = {COLLATERAL_WEI / 1e18!r} }}",
        debt=f"{{ USDC = {DEBT_UNITS / 1e6!r} }}\n{units}", extra=prices)
    path = tmp_path / "snap.toml"
    path.write_text(text)
    return path


UNITS = (f'collateral_units = {{ WETH = "{COLLATERAL_WEI}" }}\n'
         f'debt_units = {{ USDC = "{DEBT_UNITS}" }}\n')


def test_position_report_gives_the_integer_health_factor(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, UNITS))
    assert scenario.prices.usd["USDC"] == 0.99987
    (account,) = scenario.position_report().accounts
    assert account.health_factor_wad == HF_WAD
    assert account.to_dict()["health_factor_wad"] == str(HF_WAD)
    assert account.health_factor == pytest.approx(HF_WAD / 1e18, rel=1e-12)


def test_without_units_no_integer_health_factor(tmp_path: Path) -> None:
    (account,) = load_scenario(_write(tmp_path, "")).position_report().accounts
    assert account.health_factor_wad is None
    assert "health_factor_wad" not in account.to_dict()


def test_bad_units_and_prices_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="collateral_units"):
        load_scenario(_write(tmp_path, 'collateral_units = { WETH = "12x" }\n'))
    with pytest.raises(InvalidArgument, match=r"collateral_units.WETH=.* but collateral.WETH"):
        load_scenario(_write(tmp_path, 'collateral_units = { WETH = "1" }\n'))
    with pytest.raises(InvalidArgument, match="prices.WETH"):
        load_scenario(_write(tmp_path, UNITS, "[prices]\nWETH = 2000.0\n"))
