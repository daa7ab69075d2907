"""kernels/aave.py against closed forms and against the float path of protocol.account."""

from __future__ import annotations

import math

import numpy as np
import pytest

from delever.errors import InvalidArgument, ProtocolRevert
from delever.kernels import aave as k
from delever.protocol import RESERVES, Account, Prices, get_protocol, liquidation_call

WETH = RESERVES["WETH"]
LT, BONUS, FEE = WETH.liquidation_threshold, WETH.liquidation_bonus, WETH.liquidation_protocol_fee
RULES_V36 = get_protocol("aave-v3.6").kernel_rules()
RULE_TO_STATUS = {
    "HealthFactorNotBelowThreshold": k.STATUS_HEALTHY,
    "MustNotLeaveDust": k.STATUS_DUST,
    "CollateralCannotBeLiquidated": k.STATUS_NO_COLLATERAL,
}


def _book(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    collateral = 10 ** rng.uniform(-1.0, 5.0, n)  # 0.1 .. 100,000 ETH
    price = rng.uniform(800.0, 4_000.0, n)
    hf = rng.uniform(0.3, 1.3, n)
    debt = collateral * price * LT / hf
    cover = np.where(rng.random(n) < 0.5, np.inf, debt * rng.uniform(0.05, 1.2, n))
    return collateral, debt, price, cover


def test_health_factor_closed_form_and_broadcast() -> None:
    c, d, p, _ = _book(10_000, seed=1)
    d[:10] = 0.0
    hf = k.health_factor(c, d, p, LT)
    with np.errstate(divide="ignore"):
        expected = c * p * LT / d
    np.testing.assert_array_equal(hf, expected)
    assert np.all(np.isinf(hf[:10]))
    # one price for every account
    np.testing.assert_allclose(k.health_factor(c, d, 2_000.0, LT)[10:],
                               c[10:] * 2_000.0 * LT / d[10:], rtol=1e-15)


def test_liquidation_price_closed_form() -> None:
    c, d, _, _ = _book(10_000, seed=2)
    price = k.liquidation_price(c, d, LT)
    np.testing.assert_allclose(price, d / (c * LT), rtol=1e-15)
    np.testing.assert_allclose(k.health_factor(c, d, price, LT), 1.0, rtol=1e-14)
    edge = k.liquidation_price([0.0, 1.0], [100.0, 0.0], LT)
    assert edge[0] == math.inf  # debt, no collateral: liquidatable at any price
    assert math.isnan(edge[1])  # no debt: never


def test_python_and_compiled_kernels_agree() -> None:
    c, d, p, v = _book(500, seed=3)
    outs_py = [np.empty(500) for _ in range(7)] + [np.empty(500, dtype=np.int64)]
    k.liquidation_call_rules_py(RULES_V36, k.AccountArrays(c, d, p, LT, BONUS, FEE, v),
                                *outs_py)
    compiled = k.liquidation_call(RULES_V36, c, d, p, LT, BONUS, FEE, v)
    for got, want in zip(compiled, outs_py, strict=True):
        np.testing.assert_array_equal(got, want)
    hf_py = np.empty(500)
    k.health_factor_py(c, d, p, LT, hf_py)
    np.testing.assert_array_equal(k.health_factor(c, d, p, LT), hf_py)


def test_liquidation_kernel_matches_the_account_float_path() -> None:
    c, d, p, v = _book(2_000, seed=4)
    out = k.liquidation_call(RULES_V36, c, d, p, LT, BONUS, FEE, v)
    statuses = set()
    for i in range(c.shape[0]):
        account = Account({"WETH": float(c[i])}, {"USDC": float(d[i])})
        prices = Prices.from_eth(float(p[i]))
        try:
            r = liquidation_call(account, prices, collateral_symbol="WETH", debt_symbol="USDC",
                                 debt_to_cover=float(v[i]))
        except ProtocolRevert as revert:
            assert out.status[i] == RULE_TO_STATUS[revert.rule], i
            assert out.debt_repaid_usd[i] == 0.0
            statuses.add(int(out.status[i]))
            continue
        statuses.add(int(out.status[i]))
        assert out.status[i] == k.STATUS_LIQUIDATED, i
        assert out.close_factor[i] == r.close_factor
        assert out.debt_repaid_usd[i] == pytest.approx(r.debt_repaid_usd, rel=1e-14)
        assert out.collateral_seized_eth[i] == pytest.approx(r.collateral_seized, rel=1e-14)
        assert out.collateral_to_liquidator_eth[i] == pytest.approx(
            r.collateral_to_liquidator, rel=1e-14)
        assert out.protocol_fee_eth[i] == pytest.approx(r.protocol_fee, rel=1e-12)
        assert out.bad_debt_usd[i] == pytest.approx(r.bad_debt_usd, rel=1e-9, abs=1e-9)
        assert out.health_factor_after[i] == pytest.approx(r.health_factor_after, rel=1e-12)
    # the sample reaches every outcome
    assert statuses == {k.STATUS_LIQUIDATED, k.STATUS_HEALTHY, k.STATUS_DUST}


def test_kernel_hand_worked_fifty_percent_close() -> None:
    # As tests/protocol/test_protocol_account.py: 100 ETH at $2,000 vs $170,000.
    out = k.liquidation_call(RULES_V36, [100.0], [170_000.0], [2_000.0], LT, BONUS, FEE)
    assert out.close_factor[0] == 0.5
    assert out.debt_repaid_usd[0] == pytest.approx(85_000.0)
    assert out.collateral_seized_eth[0] == pytest.approx(44.625)
    assert out.protocol_fee_eth[0] == pytest.approx(0.2125)
    assert out.health_factor_after[0] == pytest.approx(2 * 166_000 / 170_000 - 1.05 * 0.83)
    no_collateral = k.liquidation_call(RULES_V36, [0.0], [100.0], [2_000.0], LT, BONUS, FEE)
    assert no_collateral.status[0] == k.STATUS_NO_COLLATERAL
    assert k.STATUS_TEXT[k.STATUS_DUST] == "MustNotLeaveDust"


def test_kernel_input_errors() -> None:
    with pytest.raises(InvalidArgument, match="lengths must be 1 or 3"):
        k.health_factor([1.0, 2.0, 3.0], [1.0, 2.0], 2_000.0, LT)
    with pytest.raises(InvalidArgument, match="debt_to_cover_usd"):
        k.liquidation_call(RULES_V36, [1.0], [1.0], [1.0], LT, BONUS, FEE, -1.0)
    with pytest.raises(InvalidArgument, match="must not be empty"):
        k.liquidation_price([], [], LT)


