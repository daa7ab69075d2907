"""A scenario holding the chain's exact balances and oracle prices (what ``delever snapshot``
writes): the position report gives Aave's integer health factor."""

from __future__ import annotations

from pathlib import Path

import pytest

from delever.errors import InvalidArgument
from delever.scenario import load_scenario
from scenario_text import one_account_scenario

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
    with pytest.raises(InvalidArgument, match=r"prices\.WETH"):
        load_scenario(_write(tmp_path, UNITS, "[prices]\nWETH = 2000.0\n"))


def test_emode_section_sets_the_category(tmp_path: Path) -> None:
    """A wstETH / WETH loop in e-mode: the [emode] LT (here 94%, not the shipped 95%) is the
    one the exact health factor uses."""
    coll_units, debt_units = 64_127_900_000_000_000_000, 68_556_600_000_000_000_000
    emode = ('[emode]\ncategory_id = 1\nliquidation_threshold = { value = 0.94, source = '
             '"test" }\nltv = 0.93\nliquidation_bonus = 0.01\n')
    text = one_account_scenario(
        mark_usd=2500.0, bought_eth=78.56, emode=True,
        collateral=f'{{ wstETH = {coll_units / 1e18!r} }}\n'
                   f'collateral_units = {{ wstETH = "{coll_units}" }}',
        debt=f'{{ WETH = {debt_units / 1e18!r} }}\ndebt_units = {{ WETH = "{debt_units}" }}',
        extra="[prices]\nwstETH = 3062.5\n" + emode)
    path = tmp_path / "loop.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    assert scenario.emode_category.liquidation_threshold == 0.94
    (account,) = scenario.position_report().accounts
    # GenericLogic v3.6 by hand: base values floored / ceiled at 8-decimal prices
    coll_base = coll_units * 306_250_000_000 // 10**18
    debt_base = -(-debt_units * 250_000_000_000 // 10**18)
    assert account.health_factor_wad == (coll_base * 9400 * 10**18 + debt_base // 2
                                         ) // debt_base // 10_000
