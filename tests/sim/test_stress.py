"""Monte Carlo stress: determinism, thread independence, CIs against references."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import stats as sps

from delever.book import (
    TREND_2026_LARGE_ACCOUNT,
    BorrowerBook,
    LargeAccount,
    run_cascade,
    synthetic_book,
)
from delever.errors import InvalidArgument
from delever.kernels import cascade as k
from delever.market.paths import gbm_paths
from delever.sim.montecarlo import N_STREAMS, Stream
from delever.sim.stress import StressActors, binomial_ci, quantile_ci, stress


@pytest.fixture(scope="module")
def book() -> BorrowerBook:
    return synthetic_book(500, 300_000.0, 1904.04, seed=2)


def test_same_seed_same_bytes_any_thread_count(book: BorrowerBook) -> None:
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = stress(book, n_paths=60, n_steps=96, seed=7)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        b = stress(book, n_paths=60, n_steps=96, seed=7)
    finally:
        numba.set_num_threads(before)
    assert a.paths.tobytes() == b.paths.tobytes()
    assert a.to_dict() == b.to_dict()
    c = stress(book, n_paths=60, n_steps=96, seed=8)
    assert c.paths.tobytes() != a.paths.tobytes()


def test_stress_equals_run_cascade_on_the_same_draws(book: BorrowerBook) -> None:
    # one chunk: the paths are gbm_paths(P0, n, m) from chunk 0 of the STRESS stream, spawned
    # here by hand: SeedSequence(seed).spawn(N_STREAMS)[STRESS].spawn(1)[0]
    res = stress(book, n_paths=30, n_steps=48, seed=4, sigma_per_step=0.01)
    ss = np.random.SeedSequence(4).spawn(N_STREAMS)[Stream.STRESS].spawn(1)[0]
    exog = gbm_paths(1904.04, 30, 48, sigma_per_step=0.01, seed=np.random.default_rng(ss))
    direct = run_cascade(book, exog, large_account=TREND_2026_LARGE_ACCOUNT)
    assert res.paths.tobytes() == direct.values.tobytes()
    liquidated = int(np.sum(direct.values[:, k.OUT_WHALE_FIRST_STEP] >= 0))
    assert res.p_large_liquidated.value == liquidated / 30


def test_exact_and_ladder_stress_agree(book: BorrowerBook) -> None:
    a = stress(book, n_paths=20, n_steps=72, seed=1, engine="exact", sigma_per_step=0.02)
    b = stress(book, n_paths=20, n_steps=72, seed=1, engine="ladder", sigma_per_step=0.02)
    np.testing.assert_allclose(b.paths, a.paths, rtol=1e-9, atol=1e-6)


def test_large_account_far_from_liquidation_is_never_liquidated(book: BorrowerBook) -> None:
    safe = LargeAccount(396_000.0, 100_000_000.0)  # liquidation price ~$304
    res = stress(book, n_paths=50, n_steps=48, seed=3, actors=StressActors(large_account=safe))
    assert res.p_large_liquidated.value == 0.0
    assert res.p_large_liquidated.low == 0.0
    # Clopper-Pearson upper bound with 0 of 50: 1 - 0.025**(1/50)
    assert res.p_large_liquidated.high == pytest.approx(1 - 0.025 ** (1 / 50), rel=1e-9)


def test_binomial_ci_reference() -> None:
    est = binomial_ci(20, 100)
    assert est.value == 0.2
    assert est.low == pytest.approx(sps.beta.ppf(0.025, 20, 81))
    assert est.high == pytest.approx(sps.beta.ppf(0.975, 21, 80))
    assert est.low < 0.2 < est.high


def test_quantile_ci_covers_the_true_quantile() -> None:
    # Exponential(1): the 95th percentile is ln 20 = 2.9957; the order-statistic interval
    # must cover it in about 95% of samples (checked over 400 samples of 500).
    rng = np.random.default_rng(0)
    truth = np.log(20.0)
    hits = 0
    for _ in range(400):
        est = quantile_ci(rng.exponential(size=500))
        hits += est.low <= truth <= est.high
        assert est.low <= est.value <= est.high
    assert 0.91 <= hits / 400 <= 0.99


def test_amplification_at_least_one_where_defined(book: BorrowerBook) -> None:
    res = stress(book, n_paths=40, n_steps=72, seed=5, sigma_per_step=0.02)
    v = res.paths
    drop = 1904.04 - v[:, k.OUT_MIN_EXOGENOUS]
    amp = (1904.04 - v[:, k.OUT_MIN_PRICE])[drop > 0] / drop[drop > 0]
    assert np.all(amp >= 1 - 1e-12)  # sales only push the price down
    assert res.amplification_median.value >= 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_paths": 0}, "n_paths"), ({"n_steps": 0}, "n_steps"), ({"seed": -1}, "seed"),
     ({"engine": "quick"}, "engine"), ({"price_usd": -5.0}, "price_usd")],
    ids=["paths", "steps", "seed", "engine", "price"],
)
def test_bad_stress_arguments(book: BorrowerBook, kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"n_paths": 2, "n_steps": 2}
    args.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        stress(book, **args)  # type: ignore[arg-type]
