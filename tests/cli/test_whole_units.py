"""Amounts below one smallest unit of a token are no amount at all: refused at the edges."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.protocol import Account, check_whole_units
from scenario_text import one_account_scenario

POS = ["position", "--price-usd", "2000"]


@pytest.mark.parametrize(
    ("collateral", "debt", "flag"),
    [("5e-324", "1000", "--collateral-eth"), ("1e-19", "1000", "--collateral-eth"),
     ("100", "1e-9", "--debt-usd")],
    ids=["denormal-collateral", "sub-wei-collateral", "sub-unit-usdc-debt"],
)
def test_position_refuses_sub_unit_amounts(collateral: str, debt: str, flag: str) -> None:
    result = CliRunner().invoke(app, [*POS, "--collateral-eth", collateral, "--debt-usd", debt])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag}=")


def test_one_wei_and_zero_are_amounts() -> None:
    account = Account(collateral={"WETH": 1e-18}, debt={"USDC": 0.0})
    assert check_whole_units(account) is account
    with pytest.raises(InvalidArgument, match=r"account\.collateral\.WETH=1e-19"):
        check_whole_units(Account(collateral={"WETH": 1e-19}, debt={}))


def test_a_scenario_account_below_one_wei_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: accounts[0].collateral.WETH=5e-324")


TINY = one_account_scenario(name="tiny", bought_eth=1.0, collateral="{ WETH = 5e-324 }",
                            debt="{ USDC = 0 }")
