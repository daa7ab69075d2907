"""Cascade engines: hand-worked cascades, exact vs ladder, S(p), conservation, impact(0)."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from delever.book import (
    TREND_2026_LARGE_ACCOUNT,
    BorrowerBook,
    CautiousBorrowers,
    Followers,
    ImpactParams,
    Liquidators,
    PanicSellers,
    build_ladder,
    cascade,
    run_cascade,
    synthetic_book,
)
from delever.book.cascade import (
    DEFAULT_ADV_ETH,
    DEFAULT_IMPACT_Y,
    DEFAULT_SIGMA_DAILY,
    Engine,
)
from delever.errors import InvalidArgument
from delever.kernels import cascade as k
from delever.market.paths import gbm_paths

ENGINES: tuple[Engine, ...] = ("exact", "ladder")
LT, BONUS, FEE = 0.83, 0.05, 0.10
TO_LIQUIDATOR = 1 - FEE * BONUS / (1 + BONUS)  # share of seized ETH the liquidator keeps


def one(c: float, d: float) -> BorrowerBook:
    return BorrowerBook.from_arrays([c], [d], LT, BONUS)


@pytest.fixture(scope="module")
def book_2000() -> BorrowerBook:
    return synthetic_book(2_000, 1_000_000.0, 2_000.0, seed=11)


# --- hand-worked cascades -----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_one_borrower_full_close_on_gap(engine: Engine) -> None:
    # C = 100 ETH, D = $150,000, LT 0.83, bonus 0.05, P0 = $2,000, shock 15% -> p1 = $1,700.
    # HF(p1) = 100 * 1700 * 0.83 / 150,000 = 0.94067 < 0.95 -> 100% close factor.
    # Seized = 150,000 / 1,700 * 1.05 = 92.6470588 ETH (< 100, no bad debt);
    # fee = 10% of the bonus part = 92.647 * 0.05/1.05 * 0.1 = 0.4411765 ETH;
    # sold = 92.2058824 ETH. Y = 1, sigma = 0.04, V = 500,000:
    # p = 1700 * (1 - 0.04 * sqrt(92.2058824 / 500,000)) = 1700 * (1 - 0.000543196) = 1699.0766.
    impact = ImpactParams(1.0, 0.04, 500_000.0)
    r = cascade(one(100.0, 150_000.0), price_usd=2000.0, shock_frac=0.15, engine=engine,
                impact=impact)
    seized = 150_000 / 1_700 * 1.05
    sold = seized * TO_LIQUIDATOR
    final = 1_700 * (1 - 0.04 * math.sqrt(sold / 500_000))
    assert r.collateral_liquidated_eth == pytest.approx(seized, rel=1e-12)
    assert r.collateral_sold_eth == pytest.approx(sold, rel=1e-12)
    assert r.debt_repaid_usd == pytest.approx(150_000.0, rel=1e-12)
    assert r.bad_debt_usd == 0.0
    assert r.final_price_usd == pytest.approx(final, rel=1e-12)
    assert final == pytest.approx(1699.0766, abs=1e-3)
    assert r.rounds == 1 and r.accounts_liquidated == 1
    assert r.amplification == pytest.approx((2000 - final) / 300, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_one_borrower_liquidated_twice_by_its_own_sale(engine: Engine) -> None:
    # C = 100, D = 160,000, P0 = 2,000, shock 5% -> p1 = 1,900: HF = 0.985625 in [0.95, 1)
    # -> 50%: repay 80,000, seize 80,000/1,900*1.05 = 44.2105 ETH, HF' = 2*0.985625 - 0.8715
    # = 1.09975, next trigger 1,900/1.09975 = 1,727.7. A thin market (V = 6 ETH, Y = 1,
    # sigma = 0.04): p2 = 1,900 * (1 - 0.04*sqrt(44.0/6)) = 1,694.19 < 1,727.7, HF(p2) =
    # 0.9806 -> second 50%: repay 40,000, seize 40,000/1,694.19*1.05 = 24.79 ETH. Then
    # p3 = 1,900 * (1 - 0.04*sqrt(68.67/6)) = 1,642.9 > new trigger 40,000/(31.0*0.83)
    # = 1,554.7: the cascade stops after 2 rounds.
    impact = ImpactParams(1.0, 0.04, 6.0)
    r = cascade(one(100.0, 160_000.0), price_usd=2000.0, shock_frac=0.05, engine=engine,
                impact=impact)
    s1 = 80_000 / 1_900 * 1.05
    q1 = s1 * TO_LIQUIDATOR
    p2 = 1_900 * (1 - 0.04 * math.sqrt(q1 / 6))
    assert 0.95 <= (100 - s1) * p2 * LT / 80_000 < 1
    s2 = 40_000 / p2 * 1.05
    q2 = q1 + s2 * TO_LIQUIDATOR
    p3 = 1_900 * (1 - 0.04 * math.sqrt(q2 / 6))
    assert p3 > 40_000 / ((100 - s1 - s2) * LT)
    assert r.rounds == 2
    assert r.accounts_liquidated == 1 and r.liquidation_calls == 2
    assert r.collateral_liquidated_eth == pytest.approx(s1 + s2, rel=1e-12)
    assert r.debt_repaid_usd == pytest.approx(120_000.0, rel=1e-12)
    assert r.final_price_usd == pytest.approx(p3, rel=1e-12)
    assert r.debt_left_usd == pytest.approx(40_000.0, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_borrowers_chain(engine: Engine) -> None:
    # A: C = 100, D = 150,000 (full close at p1 = 1,700, as above: sells 92.2059 ETH).
    # B: C = 10, D = 14,000, trigger 14,000 / 8.3 = 1,686.7: safe at 1,700.
    # V = 50: p2 = 1,700 * (1 - 0.04*sqrt(92.2059/50)) = 1,607.66 -> B's HF = 0.9531 -> 50%:
    # repay 7,000, seize 7,000/1,607.66*1.05 = 4.5719 ETH; p3 = 1,700*(1-0.04*sqrt(96.756/50))
    # = 1,605.4 > B's new trigger 7,000/(5.428*0.83) = 1,553.7: stop after 2 rounds.
    book = BorrowerBook.from_arrays([100.0, 10.0], [150_000.0, 14_000.0], LT, BONUS)
    impact = ImpactParams(1.0, 0.04, 50.0)
    r = cascade(book, price_usd=2000.0, shock_frac=0.15, engine=engine, impact=impact)
    sa = 150_000 / 1_700 * 1.05
    p2 = 1_700 * (1 - 0.04 * math.sqrt(sa * TO_LIQUIDATOR / 50))
    assert 0.95 <= 10 * p2 * LT / 14_000 < 1
    sb = 7_000 / p2 * 1.05
    p3 = 1_700 * (1 - 0.04 * math.sqrt((sa + sb) * TO_LIQUIDATOR / 50))
    assert r.rounds == 2 and r.accounts_liquidated == 2
    assert r.collateral_liquidated_eth == pytest.approx(sa + sb, rel=1e-12)
    assert r.debt_repaid_usd == pytest.approx(157_000.0, rel=1e-12)
    assert r.final_price_usd == pytest.approx(p3, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_debt_when_collateral_runs_out(engine: Engine) -> None:
    # C = 100, D = 170,000, p1 = 1,700 (shock 15%): 100% close, but 170,000/1,700*1.05 = 105
    # ETH > 100: all 100 ETH seized, repaid = 100*1,700/1.05 = 161,904.76, bad debt 8,095.24.
    r = cascade(one(100.0, 170_000.0), price_usd=2000.0, shock_frac=0.15, engine=engine,
                impact=ImpactParams(0.0, 0.04, 1.0))
    assert r.collateral_liquidated_eth == pytest.approx(100.0, rel=1e-12)
    assert r.debt_repaid_usd == pytest.approx(100 * 1_700 / 1.05, rel=1e-12)
    assert r.bad_debt_usd == pytest.approx(170_000 - 100 * 1_700 / 1.05, rel=1e-9)
    assert r.debt_left_usd == 0.0


# --- ladder vs exact ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [300, 2_000])
@pytest.mark.parametrize("shock", [0.05, 0.10, 0.20, 0.35, 0.50])
def test_ladder_matches_exact_on_shocks(n: int, shock: float) -> None:
    book = synthetic_book(n, 1_000_000.0, 2_000.0, seed=n)
    exact = cascade(book, price_usd=2000.0, shock_frac=shock, engine="exact")
    ladder = cascade(book, price_usd=2000.0, shock_frac=shock, engine="ladder")
    assert exact.collateral_liquidated_eth > 0 or shock <= 0.05
    assert ladder.collateral_liquidated_eth == pytest.approx(exact.collateral_liquidated_eth,
                                                             rel=5e-3)
    assert ladder.final_price_usd == pytest.approx(exact.final_price_usd, rel=5e-3)
    # in fact they agree to rounding (the ladder reaches every borrower with HF < 1)
    assert ladder.collateral_liquidated_eth == pytest.approx(exact.collateral_liquidated_eth,
                                                             rel=1e-9)
    assert ladder.accounts_liquidated == exact.accounts_liquidated


def _actors() -> dict[str, object]:
    return {
        "large_account": TREND_2026_LARGE_ACCOUNT,
        "liquidators": Liquidators(0.5, 6),
        "followers": Followers(0.5, 2),
        "panic": PanicSellers(0.2, 50_000.0),
        "cautious": CautiousBorrowers(0.3, seed=1),
    }


@pytest.mark.parametrize("with_actors", [False, True], ids=["book-only", "all-actors"])
def test_ladder_matches_exact_on_hourly_gbm_paths(book_2000: BorrowerBook,
                                                  with_actors: bool) -> None:
    # hourly steps at 3x ETH's daily volatility, so the paths liquidate a lot
    exog = gbm_paths(2000.0, 6, 240, sigma_per_step=3 * DEFAULT_SIGMA_DAILY / math.sqrt(24),
                     seed=5)
    kwargs = _actors() if with_actors else {}
    e = run_cascade(book_2000, exog, engine="exact", **kwargs)  # type: ignore[arg-type]
    lad = run_cascade(book_2000, exog, engine="ladder", **kwargs)  # type: ignore[arg-type]
    seized_e = e.collateral_liquidated_eth
    assert np.all(seized_e > 0)
    np.testing.assert_allclose(lad.collateral_liquidated_eth, seized_e, rtol=5e-3)
    np.testing.assert_allclose(lad.final_price_usd, e.final_price_usd, rtol=5e-3)
    np.testing.assert_allclose(lad.values, e.values, rtol=1e-9, atol=1e-6)


# --- S(p), impact(0), conservation, determinism --------------------------------------------


@settings(deadline=None, max_examples=30)
@given(
    seed=st.integers(0, 2**16),
    prices=st.lists(st.floats(1.0, 5_000.0), min_size=2, max_size=20),
    cautious=st.booleans(),
)
def test_ladder_sold_is_monotone(seed: int, prices: list[float], cautious: bool) -> None:
    book = synthetic_book(200, 50_000.0, 2_000.0, seed=seed)
    ladder = build_ladder(book, cautious=CautiousBorrowers(0.5) if cautious else None)
    grid = np.sort(np.asarray(prices))
    sold = ladder.sold_eth_at(grid)
    assert np.all(np.diff(sold) <= 1e-9)  # lower price, more sold
    assert np.all(sold >= 0)
    assert ladder.sold_eth_at(0.0)[0] == pytest.approx(ladder.sold_eth.sum())
    assert ladder.sold_eth_at(1e9)[0] == 0.0
    assert np.all(np.diff(ladder.trigger_usd) <= 0)


def test_ladder_rungs_follow_the_half_close_rule() -> None:
    # One borrower, HF = 1 at t0 = 150,000/(100*0.83) = 1,807.23; after a 50% call at t0:
    # HF' = 2 - 1.05*0.83 = 1.1285, so the second rung is at t0 / 1.1285.
    ladder = build_ladder(one(100.0, 150_000.0))
    t0 = 150_000 / (100 * LT)
    assert ladder.trigger_usd[0] == pytest.approx(t0)
    assert ladder.trigger_usd[1] == pytest.approx(t0 / (2 - 1.05 * LT))
    assert ladder.sold_eth[0] == pytest.approx(75_000 / t0 * 1.05 * TO_LIQUIDATOR)
    assert list(ladder.schedule) == [0]


@pytest.mark.parametrize("engine", ENGINES)
def test_no_impact_means_no_amplification(book_2000: BorrowerBook, engine: Engine) -> None:
    for shock in (0.1, 0.3):
        r = cascade(book_2000, price_usd=2000.0, shock_frac=shock, engine=engine,
                    impact=ImpactParams(0.0, DEFAULT_SIGMA_DAILY, DEFAULT_ADV_ETH))
        assert r.final_price_usd == 2000.0 * (1 - shock)
        assert r.amplification == 1.0
        assert r.rounds == 1  # every HF < 1 account is reached in the first round
        # the direct liquidations: accounts with HF < 1 at p1
        assert r.accounts_liquidated == int(np.sum(book_2000.health_factor(2000 * (1 - shock))
                                                   < 1))


@pytest.mark.parametrize("engine", ENGINES)
def test_conservation(book_2000: BorrowerBook, engine: Engine) -> None:
    exog = gbm_paths(2000.0, 4, 120, sigma_per_step=0.02, seed=9)
    kwargs = _actors()
    kwargs["cautious"] = CautiousBorrowers(0.3, action="add", seed=2)
    r = run_cascade(book_2000, exog, engine=engine, **kwargs)  # type: ignore[arg-type]
    v = r.values
    whale = TREND_2026_LARGE_ACCOUNT
    debt0 = book_2000.total_debt_usd + whale.debt_usd
    coll0 = book_2000.total_collateral_eth + whale.collateral_eth
    # ETH: seized = to liquidators + fee; to liquidators = sold by them + still held
    np.testing.assert_allclose(v[:, k.OUT_SEIZED_ETH],
                               v[:, k.OUT_TO_LIQUIDATOR_ETH] + v[:, k.OUT_PROTOCOL_FEE_ETH])
    np.testing.assert_allclose(v[:, k.OUT_TO_LIQUIDATOR_ETH],
                               v[:, k.OUT_LIQUIDATOR_SOLD_ETH] + v[:, k.OUT_HELD_ETH])
    # collateral: left = start - seized + added by cautious borrowers (whale holds)
    np.testing.assert_allclose(v[:, k.OUT_COLLATERAL_LEFT_ETH],
                               coll0 - v[:, k.OUT_SEIZED_ETH] + v[:, k.OUT_CAUTIOUS_ADDED_ETH],
                               rtol=1e-9)
    # debt: repaid + bad + left = before
    np.testing.assert_allclose(v[:, k.OUT_DEBT_REPAID_USD] + v[:, k.OUT_BAD_DEBT_USD]
                               + v[:, k.OUT_DEBT_LEFT_USD], debt0, rtol=1e-9)
    assert np.all(v[:, k.OUT_CAUTIOUS_ADDED_ETH] >= 0) and np.any(v[:, k.OUT_SEIZED_ETH] > 0)


def test_same_result_with_one_or_two_threads(book_2000: BorrowerBook) -> None:
    exog = gbm_paths(2000.0, 40, 100, sigma_per_step=0.02, seed=3)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = run_cascade(book_2000, exog, engine="ladder", **_actors())  # type: ignore[arg-type]
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        b = run_cascade(book_2000, exog, engine="ladder", **_actors())  # type: ignore[arg-type]
    finally:
        numba.set_num_threads(before)
    assert a.values.tobytes() == b.values.tobytes()


def test_default_impact_matches_the_market_calibration() -> None:
    from delever.market.calibration import IMPACT_Y, calibrate

    cal = calibrate()
    assert DEFAULT_IMPACT_Y == IMPACT_Y
    assert pytest.approx(cal.sigma_daily.value, rel=1e-12) == DEFAULT_SIGMA_DAILY
    assert pytest.approx(cal.adv_eth.value, rel=1e-12) == DEFAULT_ADV_ETH


def test_trend_2026_account_liquidation_price() -> None:
    # 526e6 / (396,000 * 0.83) = 1,600.34: inside the reported $1,509-1,708 band (estimate)
    assert TREND_2026_LARGE_ACCOUNT.liquidation_price_usd() == pytest.approx(1600.3408, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"engine": "fast"}, "engine"),
        ({"shock_frac": 1.0}, "shock_frac"),
        ({"shock_frac": -0.1}, "shock_frac"),
        ({"price_usd": 0.0}, "price_usd"),
    ],
    ids=["engine", "shock-100", "shock-negative", "price-zero"],
)
def test_bad_cascade_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"price_usd": 2000.0, "shock_frac": 0.1, "engine": "exact"}
    args.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        cascade(one(1.0, 1000.0), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Liquidators(1.5), "immediate_share"),
        (lambda: Followers(-1.0), "kappa"),
        (lambda: Followers(1.0, 0), "lag_steps"),
        (lambda: PanicSellers(0.0), "drawdown"),
        (lambda: CautiousBorrowers(0.1, alert_hf=0.9), "alert_hf"),
        (lambda: CautiousBorrowers(0.1, alert_hf=1.3, target_hf=1.2), "target_hf"),
        (lambda: ImpactParams(1.0, 0.04, 0.0), "adv_eth"),
    ],
    ids=["phi", "kappa", "lag", "drawdown", "alert", "target", "adv"],
)
def test_bad_actor_arguments(make: object, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        make()  # type: ignore[operator]


@settings(deadline=None, max_examples=300)
@given(
    c=st.floats(0.01, 1e5),
    hf=st.floats(0.5, 0.99999),
    p=st.floats(10.0, 5_000.0),
    lt=st.floats(0.5, 0.93),
    bonus=st.floats(0.0, 0.1),
    morpho=st.booleans(),
)
def test_inline_call_matches_liquidate_one(c: float, hf: float, p: float, lt: float,
                                           bonus: float, morpho: bool) -> None:
    # the ladder's call (inline common case, liquidate_one for the rest) does what one
    # liquidate_one call does, to rounding
    from delever.kernels.cascade_ladder import A_BONUS, A_C, A_D, A_LT, A_WIDTH, _ladder_call_py
    from delever.kernels.liquidation import STATUS_LIQUIDATED, liquidate_one_py
    from delever.kernels.records import LiquidationRules

    rules = (LiquidationRules(1.0, math.inf, 0.0, 0.0, True) if morpho
             else LiquidationRules(0.5, 0.95, 2000.0, 1000.0, True))
    assume(abs(hf - rules.full_close_hf) > 1e-9)  # the inline boundary differs by rounding
    d = c * p * lt / hf
    acct = np.zeros((1, A_WIDTH))
    acct[0, [A_C, A_D, A_LT, A_BONUS]] = c, d, lt, bonus
    out = np.zeros(k.N_OUT)
    got = _ladder_call_py(rules, FEE, acct, 0, p, 1.0 / p, out)
    status, repaid, seized, to_liq, fee, bad, _, _ = liquidate_one_py(rules, c, d, p, lt, bonus,
                                                                      FEE, math.inf)
    if status != STATUS_LIQUIDATED:
        assert got == -1.0 and acct[0, A_C] == c and acct[0, A_D] == d and not out.any()
        return
    assert got == pytest.approx(to_liq, rel=1e-12, abs=1e-12)
    took = out[[k.OUT_SEIZED_ETH, k.OUT_TO_LIQUIDATOR_ETH, k.OUT_PROTOCOL_FEE_ETH,
                k.OUT_DEBT_REPAID_USD, k.OUT_BAD_DEBT_USD]]
    np.testing.assert_allclose(took, [seized, to_liq, fee, repaid, bad], rtol=1e-12,
                               atol=1e-12)
    assert acct[0, A_C] == pytest.approx(c - seized, rel=1e-12, abs=1e-9)
    assert acct[0, A_D] == pytest.approx(0.0 if bad > 0 else d - repaid, rel=1e-12, abs=1e-6)
