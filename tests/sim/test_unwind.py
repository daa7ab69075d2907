"""The unwind simulation against hand computations, the protocol layer and its own books."""

from __future__ import annotations

import math
from datetime import date

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.errors import InvalidArgument
from delever.kernels import unwind as K  # noqa: N812
from delever.kernels.records import LiquidationRules, square_root_law
from delever.market import SquareRootImpact, almgren_chriss_schedule, gbm_paths
from delever.protocol import (
    RESERVES,
    Account,
    InterestRateCurve,
    Prices,
    ReserveState,
    borrow_rate,
    compounded_interest_factor,
    liquidation_call,
)
from delever.protocol.morpho import MorphoBlue
from delever.sim.unwind import (
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
from delever.strategy import (
    TWAP,
    AlmgrenChriss,
    HFLadder,
    Hold,
    Observation,
    SellAll,
    SellIntoRebounds,
    StopLoss,
    Strategy,
    StrategyContext,
)

USDT_CURVE = RESERVES["USDT"].rate_curve_on(date(2026, 2, 6))
WETH_CURVE = RESERVES["WETH"].rate_curve_on(date(2026, 2, 6))
ZERO_CURVE = InterestRateCurve(0.9, 0.0, 0.0, 0.0, date(2020, 1, 1), None, "test", True)


def _pos(names: tuple[str, ...], *cols: list[float], cost: float) -> UnwindPosition:
    c, d, lt, b, f = (np.array(col, dtype=np.float64) for col in cols)
    return UnwindPosition(names, c, d, lt, b, f, cost)


def _position(n: int = 3, cost: float = 3_180.0) -> UnwindPosition:
    coll = [40_000.0, 234_277.0, 121_723.0][:n]
    debt = [50_098_800.0, 303_341_860.0, 172_559_340.0][:n]
    return _pos(tuple("ABC"[:n]), coll, debt, [0.83] * n, [0.05] * n, [0.10] * n, cost=cost)


def _market(y: float = 1.0, half_life: float = 0.0, perm: float = 2 / 3) -> UnwindMarket:
    return UnwindMarket(SquareRootImpact(0.039, 501_029.0, y, perm), half_life)


def _lending(curve: InterestRateCurve = USDT_CURVE, weth: bool = False) -> LendingParams:
    return LendingParams(
        ReserveState(5e9, 3.3e9), curve,
        ReserveState(3e6, 2.6e6) if weth else None, WETH_CURVE if weth else None)


# --- books -------------------------------------------------------------------------------------

STRATS = st.sampled_from([
    Hold(), SellAll(), TWAP(n_batches=7), AlmgrenChriss(n_steps=9, risk_aversion=1e-7),
    HFLadder(1.25, 1.4), StopLoss(drop_frac=0.05), SellIntoRebounds(0.01, 0.2),
    SellAll(floor_hf=1.1),
])


@settings(deadline=None, max_examples=25)
@given(strategy=STRATS, seed=st.integers(0, 2**32 - 1), sigma=st.floats(0.005, 0.08),
       y=st.floats(0.0, 3.0), half_life=st.sampled_from([0.0, 3.0]),
       oracle=st.booleans(), atomic=st.booleans(), weth=st.booleans(),
       liq_frac=st.sampled_from([0.3, 1.0]))
def test_books_balance_on_every_path(strategy: Strategy, seed: int, sigma: float, y: float,
                                     half_life: float, oracle: bool, atomic: bool, weth: bool,
                                     liq_frac: float) -> None:
    paths = gbm_paths(1_904.04, 6, 30, sigma_per_step=sigma, seed=seed)
    res = simulate_unwind(
        _position(), strategy, paths, market=_market(y, half_life), lending=_lending(weth=weth),
        oracle=OracleParams(3_600.0, 0.005) if oracle else OracleParams(),
        config=SimConfig(repay_with_collateral=atomic, liquidator_sell_frac=liq_frac))
    check_conservation(res)
    # cumulative books at every step: held + sold + seized = initial
    held_path = res.initial_eth - np.cumsum(res.sold_eth + res.seized_eth, axis=1)
    assert np.all(held_path >= -1e-6)
    assert np.allclose(held_path[:, -1], res.eth_left, rtol=0, atol=1e-6)


def test_conservation_check_catches_a_broken_book() -> None:
    paths = gbm_paths(1_904.04, 2, 5, sigma_per_step=0.01, seed=1)
    res = simulate_unwind(_position(), SellAll(), paths, market=_market(), lending=_lending())
    broken = res.eth_left.copy()
    broken[1] += 1.0
    object.__setattr__(res, "eth_left", broken)
    with pytest.raises(AssertionError, match="ETH not conserved on path 1"):
        check_conservation(res)


# --- market ------------------------------------------------------------------------------------


def test_zero_impact_sells_at_mid() -> None:
    paths = gbm_paths(2_000.0, 4, 10, sigma_per_step=0.01, seed=3)
    res = simulate_unwind(_position(), TWAP(n_batches=5), paths, market=_market(y=0.0),
                          lending=_lending(), config=SimConfig(repay_with_collateral=True))
    expected = (res.sold_eth[:, 1:] * paths[:, 1:]).sum(axis=1)
    assert np.allclose(res.proceeds_usd, expected, rtol=1e-13)
    assert np.allclose(res.liquidity_discount_usd, 0.0, atol=1e-6)
    assert np.array_equal(res.mid_usd, paths)


def test_one_sale_matches_the_square_root_model() -> None:
    """Half-life 0: the sale fills and moves the mid as SquareRootImpact.execute says."""
    impact = SquareRootImpact(0.039, 501_029.0, 1.0, 2 / 3)
    paths = np.full((1, 3), 2_000.0)
    pos = _pos(("A",), [10_000.0], [0.0], [0.83], [0.05], [0.1], cost=3_000.0)
    res = simulate_unwind(pos, SellAll(), paths, market=UnwindMarket(impact),
                          lending=_lending(ZERO_CURVE))
    fills = impact.execute(2_000.0, 10_000.0)
    assert res.proceeds_usd[0] == pytest.approx(float(fills.proceeds_usd), rel=1e-14)
    assert res.mid_usd[0, 1] == pytest.approx(float(fills.new_mid_usd), rel=1e-14)
    assert res.mid_usd[0, 2] == res.mid_usd[0, 1]  # the permanent part stays
    assert res.liquidity_discount_usd[0] == pytest.approx(float(fills.discount_usd), rel=1e-9)


def test_transient_impact_decays_with_its_half_life() -> None:
    impact = SquareRootImpact(0.039, 501_029.0, 1.0, 0.5)
    pos = _pos(("A",), [10_000.0], [0.0], [0.83], [0.05], [0.1], cost=3_000.0)
    paths = np.full((1, 4), 2_000.0)
    res = simulate_unwind(pos, SellAll(), paths, market=UnwindMarket(impact, 2.0),
                          lending=_lending(ZERO_CURVE))
    peak = 0.039 * math.sqrt(10_000.0 / 501_029.0)
    perm_level = 2_000.0 * (1 - 0.5 * peak)
    assert res.mid_usd[0, 1] == pytest.approx(2_000.0 * (1 - peak), rel=1e-13)
    gap1 = res.mid_usd[0, 1] - perm_level
    for k, factor in ((2, 0.5**0.5), (3, 0.5)):  # one-hour steps, two-hour half-life
        assert res.mid_usd[0, k] - perm_level == pytest.approx(gap1 * factor, rel=1e-9)


# --- protocol ----------------------------------------------------------------------------------


def test_hold_on_a_constant_path_matches_hand_interest() -> None:
    n_steps = 48
    paths = np.full((1, n_steps + 1), 1_904.04)
    pos = _position()
    res = simulate_unwind(pos, Hold(), paths, market=_market(), lending=_lending())
    reserve = ReserveState(5e9, 3.3e9)
    debts = pos.debt_usd.copy()
    for k in range(1, n_steps + 1):
        factor = float(compounded_interest_factor(borrow_rate(reserve.utilization, USDT_CURVE),
                                                  3_600.0))
        debts = debts * factor
        reserve = reserve.accrue(3_600.0, USDT_CURVE)
        hf = np.min(pos.collateral_eth * 1_904.04 * 0.83 / debts)
        assert res.debt_usd[0, k] == pytest.approx(debts.sum(), rel=1e-13)
        assert res.health_factor[0, k] == pytest.approx(hf, rel=1e-13)
    assert res.interest_usd[0] == pytest.approx(debts.sum() - pos.total_debt_usd, rel=1e-9)
    assert not res.liquidated[0]
    assert res.total_pnl_usd[0] == pytest.approx(
        396_000 * (1_904.04 - 3_180.0) - res.interest_usd[0], rel=1e-12)


@pytest.mark.parametrize("price", [1_500.0, 1_350.0, 1_180.0], ids=["50pct", "full", "bad-debt"])
def test_liquidation_step_matches_the_protocol(price: float) -> None:
    coll, debt = 100.0, 150_000.0  # liquidation price 1,807.23
    pos = _pos(("A",), [coll], [debt], [0.83], [0.05], [0.10], cost=3_000.0)
    paths = np.array([[2_000.0, price, price]])
    res = simulate_unwind(pos, Hold(), paths, market=_market(y=0.0),
                          lending=_lending(ZERO_CURVE),
                          config=SimConfig(max_liquidation_rounds=1))
    ref = liquidation_call(Account({"WETH": coll}, {"USDT": debt}), Prices.from_eth(price),
                           collateral_symbol="WETH", debt_symbol="USDT",
                           debt_to_cover=math.inf)
    assert res.first_liquidation_step[0] == 1
    assert res.seized_eth[0, 1] == pytest.approx(ref.collateral_seized, rel=1e-14)
    assert res.debt_usd[0, 1] == pytest.approx(ref.debt_left, rel=1e-14, abs=1e-9)
    assert res.liquidator_repaid_usd[0] >= ref.debt_repaid_usd * (1 - 1e-14)
    if ref.bad_debt_usd > 0:
        assert res.bad_debt_usd[0] == pytest.approx(ref.bad_debt_usd, rel=1e-12)
    check_conservation(res)


# --- strategies --------------------------------------------------------------------------------


def test_hf_ladder_restores_the_target() -> None:
    pos = _position(1)  # HF 1,904.04 / 1,509 = 1.262 at the mark
    paths = np.array([[1_904.04, 1_850.0, 1_850.0]])
    res = simulate_unwind(pos, HFLadder(trigger=1.3, target=1.5), paths, market=_market(y=0.0),
                          lending=_lending(ZERO_CURVE),
                          config=SimConfig(repay_with_collateral=True))
    assert res.health_factor[0, 1] == pytest.approx(1.5, rel=1e-12)
    c, d = 40_000.0, 50_098_800.0  # closed form at p = m = 1,850
    x = (1.5 * d - c * 1_850 * 0.83) / (1_850 * (1.5 - 0.83))
    assert res.sold_eth[0, 1] == pytest.approx(x, rel=1e-12)
    assert res.sold_eth[0, 2] == 0.0  # HF 1.5 >= trigger: nothing more


def test_hf_ladder_with_impact_hits_the_target_at_the_pre_sale_oracle() -> None:
    """The closed form prices the collateral at the oracle before the sale; the fill carries
    the square-root discount (fixed point). The sale's own impact then lowers the oracle."""
    paths = np.array([[1_904.04, 1_850.0]])
    res = simulate_unwind(_position(1), HFLadder(1.3, 1.5), paths, market=_market(y=1.0),
                          lending=_lending(ZERO_CURVE),
                          config=SimConfig(repay_with_collateral=True))
    hf_pre_oracle = res.eth_left[0] * 1_850.0 * 0.83 / res.final_debt_usd[0]
    assert hf_pre_oracle == pytest.approx(1.5, rel=1e-6)
    assert res.health_factor[0, 1] < 1.5  # measured at the oracle after its own impact


def test_withdrawal_rule_stops_at_the_floor() -> None:
    """Without repay-with-collateral the withdrawal leaves HF = floor exactly (Y = 0)."""
    paths = np.array([[1_904.04, 1_904.04]])
    pos = _position(1)
    res = simulate_unwind(pos, SellAll(floor_hf=1.1), paths, market=_market(y=0.0),
                          lending=_lending(ZERO_CURVE))
    cap = 40_000.0 - 1.1 * 50_098_800.0 / (1_904.04 * 0.83)
    assert res.sold_eth[0, 1] == pytest.approx(cap, rel=1e-12)
    assert res.unfilled_eth[0] == pytest.approx(40_000.0 - cap, rel=1e-9)


def test_twap_sells_equal_batches() -> None:
    paths = gbm_paths(1_904.04, 3, 20, sigma_per_step=0.01, seed=5)
    res = simulate_unwind(_position(), TWAP(n_batches=8), paths, market=_market(),
                          lending=_lending(), config=SimConfig(repay_with_collateral=True))
    assert np.allclose(res.sold_eth[:, 1:9], 396_000.0 / 8, rtol=1e-12)
    assert np.all(res.sold_eth[:, 9:] == 0.0)


def test_almgren_chriss_follows_its_schedule() -> None:
    strat = AlmgrenChriss(n_steps=12, risk_aversion=1e-7)
    paths = gbm_paths(1_904.04, 2, 24, sigma_per_step=0.01, seed=9)
    res = simulate_unwind(_position(), strat, paths, market=_market(), lending=_lending(),
                          config=SimConfig(repay_with_collateral=True))
    ref = almgren_chriss_schedule(
        396_000.0, 12, 1 / 24, sigma=0.039 * 1_904.04,
        eta=strat.eta_for(_context_like()), gamma=0.0, risk_aversion=1e-7)
    assert np.allclose(res.sold_eth[:, 1:13], ref.trades_eth, rtol=1e-10)
    assert ref.trades_eth[0] > ref.trades_eth[-1]  # front-loaded


def _context_like() -> StrategyContext:
    return StrategyContext(24, 1.0, 396_000.0, 526e6, 1_904.04, 0.039, 501_029.0, 1.0)


def test_stop_loss_sells_after_the_level() -> None:
    paths = np.array([[2_000.0, 1_950.0, 1_790.0, 1_900.0]])
    res = simulate_unwind(_position(), StopLoss(level_usd=1_800.0), paths,
                          market=_market(y=0.0), lending=_lending(ZERO_CURVE),
                          config=SimConfig(repay_with_collateral=True))
    assert res.sold_eth[0, 1] == 0.0
    assert res.sold_eth[0, 2] == pytest.approx(396_000.0, rel=1e-12)


def test_rebound_sells_only_after_a_rise_from_the_low() -> None:
    paths = np.array([[2_000.0, 1_900.0, 1_930.0, 1_960.0, 1_970.0, 2_030.0]])
    res = simulate_unwind(_position(), SellIntoRebounds(0.03, 0.1), paths,
                          market=_market(y=0.0), lending=_lending(ZERO_CURVE),
                          config=SimConfig(repay_with_collateral=True))
    # low 1,900; 1,960 >= 1,957 sells; the reference resets to 1,960; 2,030 >= 2,018.8 sells
    assert np.nonzero(res.sold_eth[0])[0].tolist() == [3, 5]
    assert res.sold_eth[0, 3] == pytest.approx(39_600.0, rel=1e-12)


class FixedSlices(Strategy):
    """A user strategy in plain Python: a fixed ETH amount per step for a few steps."""

    def __init__(self, per_step_eth: float, n: int) -> None:
        self.per_step_eth = per_step_eth
        self.n = n
        self.seen: list[int] = []

    @property
    def name(self) -> str:
        return "fixed-slices"

    def decide(self, obs: Observation) -> np.ndarray:
        self.seen.append(obs.step)
        amount = self.per_step_eth if obs.step <= self.n else 0.0
        return np.full(obs.mid_usd.shape, amount)


def test_user_strategy_runs_through_the_step_loop() -> None:
    paths = gbm_paths(1_904.04, 5, 15, sigma_per_step=0.02, seed=11)
    # no cap binds here (TWAP carries a capped remainder forward; this user rule does not)
    kw = {"market": _market(half_life=3.0), "lending": _lending(),
          "oracle": OracleParams(3_600.0, 0.005),
          "config": SimConfig(repay_with_collateral=True)}
    user = FixedSlices(396_000.0 / 6, 6)
    a = simulate_unwind(_position(), user, paths, **kw)  # type: ignore[arg-type]
    b = simulate_unwind(_position(), TWAP(n_batches=6), paths, **kw)  # type: ignore[arg-type]
    assert user.seen == list(range(1, 16))
    check_conservation(a)
    for name in ("mid_usd", "sold_eth", "seized_eth", "debt_usd", "health_factor"):
        assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-9), name


def test_a_strategy_without_decide_says_so() -> None:
    class Nothing(Strategy):
        @property
        def name(self) -> str:
            return "nothing"

    with pytest.raises(NotImplementedError, match="decide"):
        simulate_unwind(_position(), Nothing(), np.full((1, 3), 2_000.0), market=_market(),
                        lending=_lending())


# --- determinism -------------------------------------------------------------------------------


def _run_all(paths: np.ndarray) -> list[np.ndarray]:
    res = simulate_strategies(
        _position(), [Hold(), TWAP(n_batches=10), HFLadder(), SellIntoRebounds()], paths,
        market=_market(half_life=4.0), lending=_lending(weth=True),
        oracle=OracleParams(3_600.0, 0.005), config=SimConfig(chunk_paths=7))
    return [getattr(r, n) for r in res.results for n in ("mid_usd", "health_factor", "sold_eth",
                                                         "seized_eth", "total_pnl_usd")]


def test_result_is_independent_of_thread_count_and_chunking() -> None:
    paths = gbm_paths(1_904.04, 20, 48, sigma_per_step=0.03, seed=2)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run_all(paths)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        many = _run_all(paths)
    finally:
        numba.set_num_threads(before)
    for x, y in zip(one, many, strict=True):
        assert x.tobytes() == y.tobytes()
    single = simulate_unwind(_position(), Hold(), paths[3:4], market=_market(half_life=4.0),
                             lending=_lending(weth=True), oracle=OracleParams(3_600.0, 0.005))
    assert single.mid_usd.tobytes() == one[0][3:4].tobytes()


def test_compiled_kernel_matches_plain_python() -> None:
    paths = gbm_paths(1_904.04, 3, 12, sigma_per_step=0.04, seed=4)
    res = simulate_unwind(_position(), HFLadder(), paths, market=_market(half_life=2.0),
                          lending=_lending(weth=True), oracle=OracleParams(3_600.0, 0.005))
    pos = _position()
    n_paths, n_cols = paths.shape

    def curve(c: InterestRateCurve) -> np.ndarray:
        return np.array([c.optimal_usage_ratio, c.base_rate, c.slope1, c.slope2])

    spec = K.UnwindSpec(
        accounts=K.UnwindAccounts(pos.collateral_eth, pos.debt_usd, pos.liquidation_threshold,
                                  pos.liquidation_bonus, pos.protocol_fee),
        market=K.MarketSpec(var0_per_day=0.039**2, step_s=3_600.0, heartbeat_s=3_600.0,
                            deviation=0.005, follow_kappa=0.0, follow_lag=1, liq_sell_frac=1.0,
                            max_rounds=4),
        law=square_root_law(0.039, 501_029.0, 2 / 3, math.log(2.0) / (2.0 * 3_600.0)),
        rules=LiquidationRules(0.5, 0.95, 2_000.0, 1_000.0, True),
        rule=K.UnwindRule(K.RULE_HF_LADDER, np.array([1.3, 1.5, 0, 0.0]), np.zeros(n_cols - 1),
                          np.zeros(0), 396_000.0, 1.0, False),
        curves=K.ReserveCurves(curve(USDT_CURVE), curve(WETH_CURVE),
                               np.array([5e9, 3.3e9, 3e6, 2.6e6])),
        book=K.BookLadder(np.empty(0), np.empty(0)))
    state = K.new_state(n_paths, 3)
    out = K.new_outputs(n_paths, n_cols)
    K.unwind_init(paths, spec, state, out, compiled=False)
    K.unwind_steps(paths, 1, n_cols, spec, state, out, compiled=False)
    assert np.allclose(out.mid_usd, res.mid_usd, rtol=1e-12)
    assert np.allclose(out.health_factor, res.health_factor, rtol=1e-12)
    assert np.allclose(out.sold_eth, res.sold_eth, rtol=1e-10, atol=1e-8)
    assert res.sold_total_eth.sum() > 0


# --- frames and bad input ----------------------------------------------------------------------


def test_frames_and_read_only_arrays() -> None:
    paths = gbm_paths(1_904.04, 5, 10, sigma_per_step=0.02, seed=8)
    res = simulate_strategies(_position(), [Hold(), SellAll()], paths, market=_market(),
                              lending=_lending())
    frame = res.to_frame()
    assert list(frame.index) == ["hold", "sell-all"]
    assert {"p_liquidation", "realized_pnl_usd", "liquidity_discount_usd", "eth_left",
            "share_recovered", "median_recovery_hours"} <= set(frame.columns)
    assert len(res.paths_frame()) == 10
    with pytest.raises(ValueError, match="read-only"):
        res["hold"].mid_usd[0, 0] = 1.0
    assert "hold" in str(res)


@pytest.mark.parametrize(
    ("paths", "match"),
    [(np.full((2, 1), 2_000.0), "n_steps >= 1"), (np.full((2, 3), -1.0), "greater than 0"),
     (np.full(3, 2_000.0), "shape")],
    ids=["one-column", "negative", "1-d"],
)
def test_bad_paths(paths: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        simulate_unwind(_position(), Hold(), paths, market=_market(), lending=_lending())


@pytest.mark.parametrize(
    ("make", "match"),
    [(lambda: TWAP(n_batches=0), "n_batches"), (lambda: HFLadder(1.5, 1.2), "target"),
     (lambda: StopLoss(drop_frac=1.5), "drop_frac"), (lambda: SellIntoRebounds(0.03, 0.0),
                                                      "batch_frac"),
     (lambda: SimConfig(liquidator_sell_frac=2.0), "liquidator_sell_frac"),
     (lambda: _pos(("A",), [1.0], [1.0, 2.0], [0.8], [0.05], [0.1], cost=3_000.0),
      "debt_usd")],
    ids=["twap", "ladder", "stop", "rebound", "config", "position"],
)
def test_bad_parameters(make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match=match):
        make()


# --- liquidation rules as an input: a Morpho Blue position ------------------------------------

MORPHO_RULES = LiquidationRules(1.0, math.inf, 0.0, 0.0, True)  # Morpho.liquidate: no close factor
MORPHO_LLTV = 0.86
# Morpho Blue's LIF = min(1.15, 1 / (0.3 * LLTV + 0.7)) (ConstantsLib: LIQUIDATION_CURSOR 0.3,
# MAX_LIQUIDATION_INCENTIVE_FACTOR 1.15)
MORPHO_LIF = min(1.15, 1.0 / (0.3 * MORPHO_LLTV + 0.7))


def _morpho_run(price_after: float, rules: LiquidationRules | None = MORPHO_RULES,
                rounds: int = 4) -> tuple[UnwindResult, float, float]:
    coll_eth, debt_usd = 100.0, 150_000.0
    pos = _pos(("m",), [coll_eth], [debt_usd], [MORPHO_LLTV], [MORPHO_LIF - 1.0], [0.0],
               cost=2_000.0)
    paths = np.array([[2_000.0, price_after, price_after]])
    res = simulate_unwind(pos, Hold(), paths, market=_market(), lending=_lending(ZERO_CURVE),
                          config=SimConfig(max_liquidation_rounds=rounds), rules=rules)
    return res, coll_eth, debt_usd


def test_morpho_rules_liquidate_the_whole_debt_in_one_call() -> None:
    price = 1_700.0  # HF = 100 * 1700 * 0.86 / 150,000 = 0.9747: Aave would close only 50%
    res, coll_eth, debt_usd = _morpho_run(price)
    check_conservation(res)
    seized = debt_usd * MORPHO_LIF / price  # 92.108 ETH, less than the 100 held
    assert res.state[0, K.S_N_LIQ] == 1.0
    assert res.first_liquidation_step[0] == 1
    assert res.liquidator_repaid_usd[0] == pytest.approx(debt_usd, rel=1e-12)
    assert res.seized_total_eth[0] == pytest.approx(seized, rel=1e-12)
    assert res.eth_left[0] == pytest.approx(coll_eth - seized, rel=1e-12)
    assert res.bad_debt_usd[0] == 0.0 and res.final_debt_usd[0] == 0.0
    assert res.seized_eth[0, 1] == pytest.approx(seized, rel=1e-12)
    # the same position under Aave v3.6's default rules and one round: half the debt
    aave, _, _ = _morpho_run(price, rules=None, rounds=1)
    assert aave.debt_usd[0, 1] == pytest.approx(debt_usd / 2, rel=1e-12)


@pytest.mark.parametrize("price", [1_700.0, 1_400.0])
def test_morpho_position_in_the_engine_matches_the_protocol_layer(price: float) -> None:
    morpho = MorphoBlue(lltv=MORPHO_LLTV)
    assert morpho.kernel_rules() == MORPHO_RULES
    assert morpho.liquidation_incentive_factor == pytest.approx(MORPHO_LIF, rel=1e-15)
    res, coll_eth, debt_usd = _morpho_run(price, rules=morpho.kernel_rules())
    one = morpho.liquidate(coll_eth, debt_usd, price, morpho.risk())
    assert one.liquidated
    assert res.liquidator_repaid_usd[0] == pytest.approx(one.debt_repaid_usd, rel=1e-12)
    assert res.seized_total_eth[0] == pytest.approx(one.collateral_seized_eth, rel=1e-12)
    assert res.bad_debt_usd[0] == pytest.approx(one.bad_debt_usd, rel=1e-12, abs=1e-9)


def test_morpho_rules_write_off_the_bad_debt() -> None:
    price = 1_400.0  # 150,000 * LIF / 1,400 = 111.8 ETH > 100 held: all of it is seized
    res, coll_eth, debt_usd = _morpho_run(price)
    check_conservation(res)
    repaid = coll_eth * price / MORPHO_LIF  # 134,120 USD
    assert res.state[0, K.S_N_LIQ] == 1.0
    assert res.seized_total_eth[0] == coll_eth and res.eth_left[0] == 0.0
    assert res.liquidator_repaid_usd[0] == pytest.approx(repaid, rel=1e-12)
    assert res.bad_debt_usd[0] == pytest.approx(debt_usd - repaid, rel=1e-12)  # 15,880 USD
    assert res.final_debt_usd[0] == 0.0


def test_rules_without_bad_debt_write_off_keep_the_debt_owed() -> None:
    # Aave v3.0: no deficit accounting, the debt left on the empty account stays owed
    price = 1_400.0
    v30 = LiquidationRules(0.5, 0.95, 0.0, 0.0, False)
    res, coll_eth, debt_usd = _morpho_run(price, rules=v30)
    check_conservation(res)
    repaid = coll_eth * price / MORPHO_LIF  # HF 0.80 <= 0.95: the whole debt may be covered
    assert res.eth_left[0] == 0.0 and res.bad_debt_usd[0] == 0.0
    assert res.final_debt_usd[0] == pytest.approx(debt_usd - repaid, rel=1e-12)
