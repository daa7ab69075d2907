"""The other borrowers' book and the followers inside the unwind engine.

References: the pre-existing engine (empty book, kappa 0: same bytes), hand-worked rungs, the
cascade engine of :mod:`delever.book.cascade` on a slow fall (same square-root law), the
followers' rule summed by hand, and monotonicity in the book.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.book import BorrowerBook, build_ladder, run_cascade, synthetic_book
from delever.book.actors import ImpactParams
from delever.errors import InvalidArgument
from delever.kernels import cascade as KC  # noqa: N812
from delever.kernels import unwind as K  # noqa: N812
from delever.kernels.records import LiquidationRules, square_root_law
from delever.market import SquareRootImpact, gbm_paths
from delever.protocol import RESERVES, ReserveState
from delever.sim.distributed import concat_results
from delever.sim.unwind import (
    _PATH_ARRAYS,
    _STEP_ARRAYS,
    BookSales,
    LendingParams,
    OracleParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    UnwindResult,
    check_conservation,
    simulate_strategies,
    simulate_unwind,
)
from delever.strategy import TWAP, HFLadder, Hold, SellIntoRebounds, Strategy

USDT_CURVE = RESERVES["USDT"].rate_curve_on(date(2026, 2, 6))
Y, SIGMA, ADV = 1.0, 0.04, 500_000.0
P0 = 2_000.0


def _position(scale: float = 1.0) -> UnwindPosition:
    coll = np.array([40_000.0, 234_277.0, 121_723.0]) * scale
    debt = np.array([50_098_800.0, 303_341_860.0, 172_559_340.0]) * scale
    return UnwindPosition(("A", "B", "C"), coll, debt, np.full(3, 0.83), np.full(3, 0.05),
                          np.full(3, 0.10), 3_180.0)


def _tiny_holder() -> UnwindPosition:
    """1 ETH, no debt: never sells, never liquidated, moves nothing."""
    return UnwindPosition(("x",), np.array([1.0]), np.array([0.0]), np.array([0.83]),
                          np.array([0.05]), np.array([0.10]), P0)


def _lending() -> LendingParams:
    return LendingParams(ReserveState(5e9, 3.3e9), USDT_CURVE)


def _market(book: BookSales | None = None, *, perm: float = 2 / 3, half_life: float = 4.0,
            kappa: float = 0.0, lag: int = 1) -> UnwindMarket:
    return UnwindMarket(SquareRootImpact(SIGMA, ADV, Y, perm), half_life, book=book,
                        followers_kappa=kappa, followers_lag_steps=lag)


def _all_arrays(res: UnwindResult) -> dict[str, np.ndarray]:
    return {name: getattr(res, name) for name in (*_STEP_ARRAYS, *_PATH_ARRAYS, "state")}


STRATEGIES: list[Strategy] = [Hold(), TWAP(n_batches=12), HFLadder(1.3, 1.5),
                              SellIntoRebounds(0.01, 0.1)]


# --- nothing added, nothing changes ------------------------------------------------------------


def test_empty_book_and_no_followers_give_the_same_bytes() -> None:
    paths = gbm_paths(1_904.04, 40, 48, sigma_per_step=0.03, seed=11)
    kw = {"lending": _lending(), "oracle": OracleParams(3_600.0, 0.005)}
    base = simulate_strategies(_position(), STRATEGIES, paths, market=_market(), **kw)
    empty = simulate_strategies(_position(), STRATEGIES, paths,
                                market=_market(BookSales.empty(), kappa=0.0, lag=3), **kw)
    assert any(r.liquidated.any() for r in base.results)  # the liquidation path is exercised
    for a, b in zip(base.results, empty.results, strict=True):
        for name, arr in _all_arrays(a).items():
            assert arr.tobytes() == getattr(b, name).tobytes(), name
        assert not a.book_sold_eth.any() and not a.follower_sold_eth.any()


def test_a_book_below_every_path_changes_nothing() -> None:
    paths = gbm_paths(1_904.04, 30, 48, sigma_per_step=0.03, seed=12)
    floor = float(paths.min()) * 0.5  # below every mid the owner's own sales can reach here
    book = BookSales(np.linspace(floor, 1.0, 50), np.full(50, 1e9))
    base = simulate_strategies(_position(), STRATEGIES, paths, market=_market(),
                               lending=_lending())
    with_book = simulate_strategies(_position(), STRATEGIES, paths, market=_market(book),
                                    lending=_lending())
    for a, b in zip(base.results, with_book.results, strict=True):
        assert float(a.mid_usd.min()) > floor
        for name in (*_STEP_ARRAYS, *_PATH_ARRAYS):
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


# --- hand-worked rungs -------------------------------------------------------------------------


def test_one_rung_one_step_by_hand() -> None:
    # Exogenous 2000 -> 1850 crosses a rung at 1900 worth $19M: its liquidator gets the ETH
    # at the mid reached, q = 19e6 / 1850, and sells it (permanent impact only).
    book = BookSales(np.array([1_900.0]), np.array([19e6]))
    exo = np.array([[P0, 1_850.0, 1_850.0]])
    res = simulate_unwind(_tiny_holder(), Hold(), exo, market=_market(book, perm=1.0,
                          half_life=0.0), lending=_lending())
    q = 19e6 / 1_850.0
    mid = 1_850.0 * (1.0 - Y * SIGMA * math.sqrt(q / ADV))
    assert res.book_sold_eth[0] == pytest.approx(q, rel=1e-12)
    assert res.mid_usd[0, 1] == pytest.approx(mid, rel=1e-12)
    assert res.mid_usd[0, 2] == pytest.approx(mid, rel=1e-12)  # triggered once, permanent
    assert int(res.state[0, K.S_BOOK_NEXT]) == 1


def test_a_rung_reached_by_the_book_s_own_sale_sells_at_the_new_mid() -> None:
    # Rung 1 (1900, $19M) sells at 1850 and pushes the mid to m1 < 1845, which reaches rung 2
    # (1845, $5M): it sells 5e6 / m1 in the same step. Rung 3 (1000) stays untouched.
    book = BookSales(np.array([1_900.0, 1_845.0, 1_000.0]), np.array([19e6, 5e6, 1e9]))
    exo = np.array([[P0, 1_850.0]])
    res = simulate_unwind(_tiny_holder(), Hold(), exo, market=_market(book, perm=1.0,
                          half_life=0.0), lending=_lending())
    q1 = 19e6 / 1_850.0
    m1 = 1_850.0 * (1.0 - Y * SIGMA * math.sqrt(q1 / ADV))
    assert m1 < 1_845.0
    q2 = 5e6 / m1
    m2 = 1_850.0 * (1.0 - Y * SIGMA * math.sqrt((q1 + q2) / ADV))
    assert res.book_sold_eth[0] == pytest.approx(q1 + q2, rel=1e-12)
    assert res.mid_usd[0, 1] == pytest.approx(m2, rel=1e-12)
    assert int(res.state[0, K.S_BOOK_NEXT]) == 2


def _owner_near_liquidation(liq_price: float) -> UnwindPosition:
    # one account, HF = 1 at liq_price: debt = coll * liq_price * LT
    coll = 10_000.0
    return UnwindPosition(("o",), np.array([coll]), np.array([coll * liq_price * 0.83]),
                          np.array([0.83]), np.array([0.05]), np.array([0.10]), P0)


def test_the_book_s_sale_liquidates_the_owner_in_the_same_step() -> None:
    # Exogenous 1850 keeps the owner (HF 1 at 1840) safe; the book's rung at 1900 sells
    # enough to take the mid below 1840, so the owner is liquidated in the same step.
    owner = _owner_near_liquidation(1_840.0)
    exo = np.array([[P0, 1_850.0]])
    book = BookSales(np.array([1_900.0]), np.array([19e6]))
    kw = {"lending": _lending(), "config": SimConfig(step_hours=1e-6)}  # no interest to speak of
    without = simulate_unwind(owner, Hold(), exo, market=_market(perm=1.0, half_life=0.0), **kw)
    with_book = simulate_unwind(owner, Hold(), exo, market=_market(book, perm=1.0,
                                half_life=0.0), **kw)
    assert not without.liquidated[0]
    assert with_book.liquidated[0] and with_book.first_liquidation_step[0] == 1
    assert with_book.seized_eth[0, 1] > 0
    # the owner's liquidator sold into the same market after the book
    q_all = with_book.book_sold_eth[0] + with_book.state[0, K.S_LIQ_SOLD]
    assert with_book.mid_usd[0, 1] == pytest.approx(
        1_850.0 * (1 - Y * SIGMA * math.sqrt(q_all / ADV)), rel=1e-12)
    check_conservation(with_book)


def test_the_owner_s_liquidation_reaches_the_book_in_the_same_step() -> None:
    # Exogenous 1830 liquidates the owner (HF 1 at 1840); its liquidator's sale pushes the
    # mid below 1829, where a rung waits: sold at the mid after the owner's liquidation.
    owner = _owner_near_liquidation(1_840.0)
    exo = np.array([[P0, 1_830.0]])
    book = BookSales(np.array([1_829.0]), np.array([3e6]))
    res = simulate_unwind(owner, Hold(), exo, market=_market(book, perm=1.0, half_life=0.0),
                          lending=_lending(), config=SimConfig(step_hours=1e-6))
    liq_sold = res.state[0, K.S_LIQ_SOLD]
    assert liq_sold > 0
    m_owner = 1_830.0 * (1 - Y * SIGMA * math.sqrt(liq_sold / ADV))
    assert m_owner < 1_829.0
    assert res.book_sold_eth[0] == pytest.approx(3e6 / m_owner, rel=1e-12)
    assert res.mid_usd[0, 1] == pytest.approx(
        1_830.0 * (1 - Y * SIGMA * math.sqrt((liq_sold + res.book_sold_eth[0]) / ADV)),
        rel=1e-12)


# --- against the cascade engine ----------------------------------------------------------------


def _hand_book() -> BorrowerBook:
    coll = np.array([5_000.0, 8_000.0, 20_000.0, 3_000.0, 40_000.0, 12_000.0])
    liq_price = np.array([1_950.0, 1_800.0, 1_700.0, 1_650.0, 1_500.0, 1_300.0])
    n = coll.size
    return BorrowerBook(np.arange(n), coll, coll * liq_price * 0.83, np.full(n, 0.83),
                        np.full(n, 0.05), np.zeros(n, dtype=bool), reference_price_usd=P0)


@pytest.mark.parametrize("which", ["hand", "synthetic"])
def test_book_matches_the_cascade_engine_on_a_slow_fall(which: str) -> None:
    # Same square-root law on both sides: p = E (1 - Y sigma sqrt(Q / V)), Q all ETH sold so
    # far (permanent_frac = 1, no transient part); the owner holds 1 ETH and no debt. On a
    # slow fall each rung executes close to its trigger, where the ladder's fixed USD value
    # and the cascade engine's Aave calls on the borrowers' actual states agree. The ladder's
    # later rungs are computed as if earlier ones executed at their triggers, the cascade
    # engine re-triggers from the actual state, so a rung can fall one step apart.
    book = _hand_book() if which == "hand" else synthetic_book(300, 200_000.0, P0, seed=1)
    exo = (P0 * np.exp(np.linspace(0.0, math.log(0.55), 401)))[None, :]
    ref = run_cascade(book, exo, engine="ladder", impact=ImpactParams(Y, SIGMA, ADV),
                      record_prices=True)
    sales = BookSales.from_ladder(build_ladder(book))
    res = simulate_unwind(_tiny_holder(), Hold(), exo, market=_market(sales, perm=1.0,
                          half_life=0.0), lending=_lending())
    assert ref.prices_usd is not None
    ref_sold = float(ref.values[0, KC.OUT_LIQUIDATOR_SOLD_ETH])
    assert ref_sold > 1_000.0  # the book does cascade on this path
    # stated tolerances (measured on 400 steps: max 1.2e-3 at one step where a rung falls
    # one step apart, 99th percentile 1.5e-4, final price 3e-6, ETH sold 4e-4 and 9e-4)
    gap = np.abs(res.mid_usd[0] / ref.prices_usd[0] - 1.0)
    assert gap.max() < 2e-3
    assert np.quantile(gap, 0.99) < 5e-4
    assert gap[-1] < 5e-5
    assert res.book_sold_eth[0] == pytest.approx(ref_sold, rel=2e-3)


# --- followers ---------------------------------------------------------------------------------


def test_followers_sell_kappa_times_the_owner_s_sales_and_seizures_one_step_later() -> None:
    paths = gbm_paths(1_904.04, 20, 36, sigma_per_step=0.03, seed=5)
    kw = {"lending": _lending()}
    twap = TWAP(n_batches=24)
    base = simulate_unwind(_position(), twap, paths, market=_market(), **kw)
    fol = simulate_unwind(_position(), twap, paths, market=_market(kappa=0.5, lag=1), **kw)
    copied = 0.5 * (fol.sold_eth[:, 1:-1] + fol.seized_eth[:, 1:-1]).sum(axis=1)
    np.testing.assert_allclose(fol.follower_sold_eth, copied, rtol=1e-12)
    assert np.all(fol.follower_sold_eth > 0)
    assert np.all(fol.mid_usd[:, -1] < base.mid_usd[:, -1])
    assert not base.follower_sold_eth.any()
    check_conservation(fol)


def test_followers_wait_their_lag() -> None:
    # 1,000 ETH and no debt, all sold at step 1; followers sell 2 x 1,000 ETH at step 4
    owner = UnwindPosition(("x",), np.array([1_000.0]), np.array([0.0]), np.array([0.83]),
                           np.array([0.05]), np.array([0.10]), P0)
    exo = np.full((1, 8), P0)
    res = simulate_unwind(owner, TWAP(n_batches=1), exo,
                          market=_market(perm=1.0, half_life=0.0, kappa=2.0, lag=3),
                          lending=_lending())
    assert res.sold_eth[0, 1] == 1_000.0
    assert res.follower_sold_eth[0] == pytest.approx(2_000.0, rel=1e-12)
    assert res.mid_usd[0, 1] == res.mid_usd[0, 3]
    assert res.mid_usd[0, 4] == pytest.approx(
        P0 * (1 - Y * SIGMA * math.sqrt(3_000.0 / ADV)), rel=1e-12)
    assert res.mid_usd[0, 7] == res.mid_usd[0, 4]


# --- monotone in the book ----------------------------------------------------------------------


@settings(deadline=None, max_examples=12)
@given(seed=st.integers(0, 2**16), size_eth=st.floats(5e4, 1e6),
       vol=st.floats(0.01, 0.05))
def test_adding_a_book_never_helps_a_holder(seed: int, size_eth: float, vol: float) -> None:
    # Until the holder's first liquidation (in either run) only the book sells, so the mid is
    # never higher with it, and the holder is liquidated no later. After that the final mid
    # is NOT monotone: a holder liquidated earlier in 50% calls can lose less collateral than
    # one closed 100% in a later gap (Aave's close factor), e.g. seed=652, size_eth=6.7e5,
    # vol=0.021, perm=1 gives a final mid 3.4 USD higher with the book.
    paths = gbm_paths(1_904.04, 16, 48, sigma_per_step=vol, seed=seed)
    book = BookSales.from_ladder(build_ladder(
        synthetic_book(200, size_eth, 1_904.04, seed=seed)))
    kw = {"lending": _lending()}
    base = simulate_unwind(_position(), Hold(), paths, market=_market(), **kw)
    more = simulate_unwind(_position(), Hold(), paths, market=_market(book), **kw)
    assert np.all(more.liquidated >= base.liquidated)
    assert more.liquidated.mean() >= base.liquidated.mean()
    late = paths.shape[1]
    first_base = np.where(base.liquidated, base.first_liquidation_step, late)
    first_more = np.where(more.liquidated, more.first_liquidation_step, late)
    assert np.all(first_more <= first_base)
    steps = np.arange(paths.shape[1])[None, :]
    before = steps < first_more[:, None]
    assert np.all((more.mid_usd <= base.mid_usd * (1 + 1e-12)) | ~before)
    never = ~more.liquidated
    assert np.all(more.mid_usd[never, -1] <= base.mid_usd[never, -1] * (1 + 1e-12))
    check_conservation(more)


# --- plumbing ----------------------------------------------------------------------------------


def test_plain_python_kernel_matches_the_compiled_one_with_book_and_followers() -> None:
    paths = gbm_paths(1_904.04, 3, 12, sigma_per_step=0.04, seed=4)
    book = BookSales.from_ladder(build_ladder(synthetic_book(100, 3e5, 1_904.04, seed=2)))
    market = _market(book, kappa=0.7, lag=2, half_life=2.0)
    res = simulate_unwind(_position(), HFLadder(1.3, 1.5), paths, market=market,
                          lending=_lending(), oracle=OracleParams(3_600.0, 0.005))
    pos = _position()
    n_paths, n_cols = paths.shape
    curve = np.array([USDT_CURVE.optimal_usage_ratio, USDT_CURVE.base_rate, USDT_CURVE.slope1,
                      USDT_CURVE.slope2])
    spec = K.UnwindSpec(
        accounts=K.UnwindAccounts(pos.collateral_eth, pos.debt_usd, pos.liquidation_threshold,
                                  pos.liquidation_bonus, pos.protocol_fee),
        market=K.MarketSpec(var0_per_day=SIGMA**2, step_s=3_600.0, heartbeat_s=3_600.0,
                            deviation=0.005, follow_kappa=0.7, follow_lag=2, liq_sell_frac=1.0,
                            max_rounds=4),
        law=square_root_law(Y * SIGMA, ADV, 2 / 3, -math.log(market.decay_per_step(1.0)) / 3_600),
        rules=LiquidationRules(0.5, 0.95, 2_000.0, 1_000.0, True),
        rule=K.UnwindRule(K.RULE_HF_LADDER, np.array([1.3, 1.5, 0, 0.0]), np.zeros(n_cols - 1),
                          np.zeros(0), pos.total_eth, 1.0, False),
        curves=K.ReserveCurves(curve, np.array([0.5, 0.0, 0.0, 0.0]),
                               np.array([5e9, 3.3e9, math.inf, 0.0])),
        book=K.BookLadder(*market.book_arrays()))
    state = K.new_state(n_paths, 3)
    out = K.new_outputs(n_paths, n_cols)
    K.unwind_init(paths, spec, state, out, compiled=False)
    K.unwind_steps(paths, 1, n_cols, spec, state, out, compiled=False)
    assert res.book_sold_eth.sum() > 0 and res.follower_sold_eth.sum() > 0
    np.testing.assert_allclose(out.mid_usd, res.mid_usd, rtol=1e-12)
    np.testing.assert_allclose(state.st[:, K.S_BOOK_SOLD], res.book_sold_eth, rtol=1e-12)
    np.testing.assert_allclose(state.st[:, K.S_FOLLOW_SOLD], res.follower_sold_eth, rtol=1e-12)


def test_chunks_and_concat_give_the_same_bytes_with_a_book() -> None:
    paths = gbm_paths(1_904.04, 10, 24, sigma_per_step=0.04, seed=9)
    book = BookSales.from_ladder(build_ladder(synthetic_book(100, 3e5, 1_904.04, seed=3)))
    market = _market(book, kappa=0.5)
    kw = {"market": market, "lending": _lending()}
    whole = simulate_strategies(_position(), [TWAP(n_batches=6)], paths, **kw)
    parts = [simulate_strategies(_position(), [TWAP(n_batches=6)], paths[a:b], **kw)
             for a, b in ((0, 4), (4, 10))]
    joined = concat_results(parts).results[0]
    for name in ("mid_usd", "book_sold_eth", "follower_sold_eth"):
        assert getattr(joined, name).tobytes() == getattr(whole.results[0], name).tobytes()
    summary = whole.results[0].summary_dict()
    assert summary["book_sold_eth"] == pytest.approx(float(whole.results[0].book_sold_eth.mean()))
    assert summary["follower_sold_eth"] > 0
    assert {"book_sold_eth", "follower_sold_eth"} <= set(whole.results[0].to_frame().columns)


def test_from_ladder_keeps_liquidation_rungs_only() -> None:
    ladder = build_ladder(_hand_book())
    sales = BookSales.from_ladder(ladder)
    liq = np.asarray(ladder.kind) == KC.RUNG_LIQUIDATION
    assert len(sales) == int(liq.sum())
    np.testing.assert_array_equal(sales.trigger_usd, ladder.trigger_usd[liq])
    np.testing.assert_allclose(sales.value_usd, ladder.sold_eth[liq] * ladder.trigger_usd[liq])
    # a continuous fall to p sells S(p) at the triggers: value / trigger summed
    p = 1_600.0
    above = sales.trigger_usd >= p
    assert float((sales.value_usd[above] / sales.trigger_usd[above]).sum()) == pytest.approx(
        float(ladder.sold_eth_at(p)[0]), rel=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        sales.value_usd[0] = 1.0


@pytest.mark.parametrize(
    ("trigger", "value", "match"),
    [
        pytest.param([[1.0]], [[1.0]], "1-D", id="2d"),
        pytest.param([2.0, 1.0], [1.0], "one value per rung", id="length"),
        pytest.param([1.0, 2.0], [1.0, 1.0], "highest price down", id="ascending"),
        pytest.param([2.0, math.nan], [1.0, 1.0], "finite", id="nan-trigger"),
        pytest.param([2.0, 1.0], [1.0, math.inf], "finite", id="inf-value"),
        pytest.param([2.0, 1.0], [1.0, -1.0], ">= 0", id="negative-value"),
    ],
)
def test_book_sales_refuses_bad_rungs(trigger: list[float], value: list[float],
                                      match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        BookSales(np.array(trigger), np.array(value))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"followers_kappa": -0.1}, "followers_kappa=-0.1 must not be negative",
                     id="kappa-negative"),
        pytest.param({"followers_kappa": math.nan}, "followers_kappa", id="kappa-nan"),
        pytest.param({"followers_lag_steps": 0}, "followers_lag_steps=0 must be a whole",
                     id="lag-zero"),
        pytest.param({"followers_lag_steps": 1.5}, "followers_lag_steps=1.5", id="lag-float"),
        pytest.param({"followers_lag_steps": True}, "followers_lag_steps=True", id="lag-bool"),
        pytest.param({"book": [1.0]}, "must be a BookSales", id="book-list"),
    ],
)
def test_market_refuses_bad_actors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        UnwindMarket(SquareRootImpact(SIGMA, ADV, Y, 0.5), **kwargs)  # type: ignore[arg-type]
