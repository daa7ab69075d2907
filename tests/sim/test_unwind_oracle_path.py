"""An exogenous oracle (an exchange-rate oracle: what Aave's CAPO adapters read) in the unwind
engine: the health factor follows the oracle path, never the market the sales move."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from delever.errors import InvalidArgument
from delever.market import SquareRootImpact
from delever.protocol import (
    Account,
    InterestRateCurve,
    Prices,
    ReserveState,
    liquidation_call,
)
from delever.sim.unwind import (
    BookSales,
    LendingParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    check_conservation,
    simulate_unwind,
)
from delever.strategy import TWAP, Hold

ZERO_CURVE = InterestRateCurve(0.9, 0.0, 0.0, 0.0, date(2020, 1, 1), None, "test", True)


def _pos(names: tuple[str, ...], *cols: list[float], cost: float) -> UnwindPosition:
    c, d, lt, b, f = (np.array(col, dtype=np.float64) for col in cols)
    return UnwindPosition(names, c, d, lt, b, f, cost)


def _market(y: float = 1.0) -> UnwindMarket:
    return UnwindMarket(SquareRootImpact(0.039, 501_029.0, y, 2 / 3), 0.0)


def _zero_lending() -> LendingParams:
    return LendingParams(ReserveState(5e9, 3.3e9), ZERO_CURVE)


def test_a_market_crash_does_not_move_an_exogenous_oracle() -> None:
    pos = _pos(("A",), [100.0], [150_000.0], [0.83], [0.05], [0.10], cost=3_000.0)
    market_path = np.array([[2_000.0, 1_000.0, 500.0, 400.0]])  # far below 1,807 (HF 1)
    oracle_path = np.full_like(market_path, 2_000.0)
    res = simulate_unwind(pos, Hold(), market_path, market=_market(y=0.0),
                          lending=_zero_lending(), oracle_paths=oracle_path)
    assert not res.liquidated[0]
    assert res.oracle_usd.tolist() == oracle_path.tolist()
    hf = 100.0 * 2_000.0 * 0.83 / 150_000.0
    assert res.health_factor[0] == pytest.approx([hf] * 4, rel=1e-15)
    # the same paths with the oracle following the mid: liquidated at step 1
    mid_oracle = simulate_unwind(pos, Hold(), market_path, market=_market(y=0.0),
                                 lending=_zero_lending())
    assert mid_oracle.first_liquidation_step[0] == 1


@pytest.mark.parametrize("oracle_price", [1_500.0, 1_350.0, 1_180.0])
def test_an_oracle_drop_liquidates_at_the_oracle_price(oracle_price: float) -> None:
    coll, debt = 100.0, 150_000.0
    pos = _pos(("A",), [coll], [debt], [0.83], [0.05], [0.10], cost=3_000.0)
    market_path = np.array([[2_000.0, 2_000.0, 2_000.0]])  # the market never moves
    oracle_path = np.array([[2_000.0, 2_000.0, oracle_price]])
    res = simulate_unwind(pos, Hold(), market_path, market=_market(y=0.0),
                          lending=_zero_lending(), oracle_paths=oracle_path,
                          config=SimConfig(max_liquidation_rounds=1))
    ref = liquidation_call(Account({"WETH": coll}, {"USDT": debt}), Prices.from_eth(oracle_price),
                           collateral_symbol="WETH", debt_symbol="USDT", debt_to_cover=math.inf)
    assert res.first_liquidation_step[0] == 2
    assert res.seized_eth[0, 2] == pytest.approx(ref.collateral_seized, rel=1e-14)
    assert res.debt_usd[0, 2] == pytest.approx(ref.debt_left, rel=1e-14, abs=1e-9)
    check_conservation(res)


def test_the_book_is_triggered_by_the_oracle_not_the_mid() -> None:
    pos = _pos(("A",), [1.0], [100.0], [0.83], [0.05], [0.10], cost=3_000.0)
    book = BookSales(np.array([1_900.0, 1_500.0]), np.array([1_900.0 * 50.0, 1_500.0 * 50.0]))
    market = UnwindMarket(SquareRootImpact(0.039, 501_029.0, 1.0, 2 / 3), 0.0, book=book)
    falling_mid = np.array([[2_000.0, 1_400.0, 1_400.0]])
    flat_oracle = np.full_like(falling_mid, 2_000.0)
    res = simulate_unwind(pos, Hold(), falling_mid, market=market, lending=_zero_lending(),
                          oracle_paths=flat_oracle)
    assert res.book_sold_eth[0] == 0.0  # the mid crossed both rungs, the oracle none
    oracle_drop = np.array([[2_000.0, 1_800.0, 1_800.0]])
    res = simulate_unwind(pos, Hold(), np.full_like(falling_mid, 2_000.0), market=market,
                          lending=_zero_lending(), oracle_paths=oracle_drop)
    # the first rung (1,900) only, sold at the mid, 1,900 * 50 / 2,000 ETH
    assert res.book_sold_eth[0] == pytest.approx(1_900.0 * 50.0 / 2_000.0, rel=1e-12)


def test_sales_move_the_mid_but_not_the_oracle() -> None:
    pos = _pos(("A",), [10_000.0], [10_000_000.0], [0.83], [0.05], [0.10], cost=3_000.0)
    paths = np.full((2, 5), 2_000.0)
    res = simulate_unwind(pos, TWAP(), paths, market=_market(y=1.0), lending=_zero_lending(),
                          oracle_paths=np.full((2, 5), 2_000.0))
    assert res.sold_total_eth.min() > 0
    assert res.mid_usd[:, -1].max() < 2_000.0
    assert np.all(res.oracle_usd == 2_000.0)


def test_oracle_paths_must_match_the_paths() -> None:
    pos = _pos(("A",), [100.0], [150_000.0], [0.83], [0.05], [0.10], cost=3_000.0)
    paths = np.full((2, 3), 2_000.0)
    with pytest.raises(InvalidArgument, match="oracle_paths has shape"):
        simulate_unwind(pos, Hold(), paths, market=_market(), lending=_zero_lending(),
                        oracle_paths=np.full((2, 4), 2_000.0))
    with pytest.raises(InvalidArgument, match="finite prices greater than 0"):
        simulate_unwind(pos, Hold(), paths, market=_market(), lending=_zero_lending(),
                        oracle_paths=np.zeros((2, 3)))
