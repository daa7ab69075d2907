"""Exact on-chain balances on an account: the exact health factor uses them to the wei."""

from __future__ import annotations

import pytest

from delever.errors import InvalidArgument
from delever.protocol.account import Account, Prices, account_data

# A WETH / USDC account whose balances a float cannot hold exactly (found by a seeded search:
# the float amounts, rounded back to units, give another health factor in the last digits).
COLLATERAL_WEI = 86291375899727204793904
DEBT_UNITS = 133762829599804
PRICES = Prices({"WETH": 2345.6789, "USDC": 0.99987})


def _hf_wad_by_hand(collateral_wei: int, debt_units: int) -> int:
    """GenericLogic.calculateUserAccountData, aave-v3-origin v3.6, written out for one
    collateral and one debt: collateral floored, debt mulDivCeil, HF = wadDiv(sum base*LT,
    debt) / 1e4 (wadDiv rounds half up)."""
    weth_base, usdc_base, lt_bps = 234_567_890_000, 99_987_000, 8300  # 8-decimal prices
    collateral_base = collateral_wei * weth_base // 10**18
    debt_base = -(-debt_units * usdc_base // 10**6)  # ceiling
    return (collateral_base * lt_bps * 10**18 + debt_base // 2) // debt_base // 10_000


def _account(**units: dict[str, int]) -> Account:
    return Account({"WETH": COLLATERAL_WEI / 1e18}, {"USDC": DEBT_UNITS / 1e6}, **units)


def test_exact_units_give_the_contracts_health_factor() -> None:
    exact = _account(collateral_units={"WETH": COLLATERAL_WEI}, debt_units={"USDC": DEBT_UNITS})
    hf_wad = account_data(exact, PRICES, exact=True).health_factor_wad
    assert hf_wad == _hf_wad_by_hand(COLLATERAL_WEI, DEBT_UNITS)
    # the float amounts alone round to other units, and another HF in the last digits
    rounded = account_data(_account(), PRICES, exact=True).health_factor_wad
    assert rounded != hf_wad
    assert rounded == pytest.approx(hf_wad, rel=1e-15)


def test_units_must_match_their_amount() -> None:
    with pytest.raises(InvalidArgument, match=r"collateral_units.WETH=.* but collateral.WETH"):
        _account(collateral_units={"WETH": COLLATERAL_WEI * 2})
    with pytest.raises(InvalidArgument, match=r"debt_units.USDT has no debt.USDT amount"):
        _account(debt_units={"USDT": DEBT_UNITS})
    with pytest.raises(InvalidArgument, match=r"whole number of units"):
        _account(debt_units={"USDC": -1})
    with pytest.raises(InvalidArgument, match=r"whole number of units"):
        _account(debt_units={"USDC": 1.5})  # type: ignore[dict-item]
