"""Price paths: closed-form moments, slow references beside the kernels, determinism."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from delever.errors import InvalidArgument
from delever.kernels.paths import (
    garch_fill,
    garch_fill_py,
    gbm_fill,
    gbm_fill_py,
    log_increments_to_prices,
    log_increments_to_prices_py,
    stationary_indices,
    stationary_indices_py,
)
from delever.market.calibration import GarchParams, fit_garch
from delever.market.paths import (
    MODELS,
    bootstrap_indices,
    bootstrap_paths,
    garch_paths,
    gbm_paths,
    generate_paths,
    merton_paths,
    replay_paths,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GARCH = GarchParams(mu=2e-4, omega=2e-5, alpha=0.10, beta=0.85)
RETURNS = np.random.default_rng(11).standard_t(df=4, size=1000) * 0.03


def _log_returns(paths: np.ndarray) -> np.ndarray:
    return np.log(paths[:, -1] / paths[:, 0])


def assert_close(estimate: float, truth: float, standard_error: float, k: float = 5.0) -> None:
    assert abs(estimate - truth) < k * standard_error, (estimate, truth, standard_error)


# --- GBM ---------------------------------------------------------------------------------------


def test_gbm_moments_match_the_closed_form() -> None:
    s0, n_paths, n, sigma, mu = 100.0, 200_000, 20, 0.02, 0.001
    paths = gbm_paths(s0, n_paths, n, sigma_per_step=sigma, drift_per_step=mu, seed=1)
    assert paths.shape == (n_paths, n + 1) and paths.dtype == np.float64
    assert paths.flags.c_contiguous
    assert (paths[:, 0] == s0).all()
    # log S_n / s0 ~ N(n (mu - sigma²/2), n sigma²)
    log_ret = _log_returns(paths)
    mean_log, var_log = n * (mu - sigma**2 / 2), n * sigma**2
    assert_close(log_ret.mean(), mean_log, math.sqrt(var_log / n_paths))
    assert_close(log_ret.var(ddof=1), var_log, var_log * math.sqrt(2 / (n_paths - 1)))
    # S_n lognormal: raw moments E[S^k] = s0^k exp(k a + k² b² / 2)
    a, b2 = math.log(s0) + mean_log, var_log
    raw = [math.exp(k * a + k * k * b2 / 2) for k in range(5)]
    mean_s, var_s = raw[1], raw[2] - raw[1] ** 2
    assert math.isclose(mean_s, s0 * math.exp(n * mu), rel_tol=1e-12)
    mu4 = raw[4] - 4 * raw[3] * raw[1] + 6 * raw[2] * raw[1] ** 2 - 3 * raw[1] ** 4
    final = paths[:, -1]
    assert_close(final.mean(), mean_s, math.sqrt(var_s / n_paths))
    assert_close(final.var(ddof=1), var_s, math.sqrt((mu4 - var_s**2) / n_paths))
    # increments are uncorrelated across steps
    steps = np.diff(np.log(paths), axis=1)
    corr = np.corrcoef(steps[:, 3], steps[:, 4])[0, 1]
    assert_close(corr, 0.0, 1 / math.sqrt(n_paths))


def test_gbm_matches_a_numpy_reference_on_the_same_draws() -> None:
    s0, sigma, mu = 2500.0, 0.03, -0.0004
    paths = gbm_paths(s0, 7, 12, sigma_per_step=sigma, drift_per_step=mu, seed=5)
    z = np.random.default_rng(5).standard_normal((7, 13))[:, 1:]
    expected = s0 * np.exp(np.cumsum(mu - sigma**2 / 2 + sigma * z, axis=1))
    np.testing.assert_allclose(paths[:, 1:], expected, rtol=1e-12)
    assert (paths[:, 0] == s0).all()


def test_gbm_without_noise_is_the_deterministic_drift() -> None:
    paths = gbm_paths(100.0, 3, 10, sigma_per_step=0.0, drift_per_step=0.01, seed=0)
    np.testing.assert_allclose(paths, 100.0 * np.exp(0.01 * np.arange(11))[None, :].repeat(3, 0))


def test_gbm_antithetic_pairs_sum_to_twice_the_drift() -> None:
    sigma, mu = 0.05, 0.002
    paths = gbm_paths(
        1000.0, 10, 30, sigma_per_step=sigma, drift_per_step=mu, seed=3, antithetic=True
    )
    steps = np.diff(np.log(paths), axis=1)
    np.testing.assert_allclose(steps[:5] + steps[5:], 2 * (mu - sigma**2 / 2), atol=1e-12)
    assert not np.allclose(steps[:5], steps[5:])


@settings(deadline=None, max_examples=30)
@given(
    s0=st.floats(1e-3, 1e6),
    sigma=st.floats(0.0, 0.3),
    mu=st.floats(-0.05, 0.05),
    n_paths=st.integers(1, 6),
    n_steps=st.integers(1, 8),
    seed=st.integers(0, 2**32),
)
def test_gbm_paths_are_positive_and_start_at_s0(
    s0: float, sigma: float, mu: float, n_paths: int, n_steps: int, seed: int
) -> None:
    paths = gbm_paths(s0, n_paths, n_steps, sigma_per_step=sigma, drift_per_step=mu, seed=seed)
    assert paths.shape == (n_paths, n_steps + 1)
    assert (paths[:, 0] == s0).all()
    assert np.isfinite(paths).all() and (paths > 0).all()


# --- Merton --------------------------------------------------------------------------------------


def test_merton_mean_matches_the_closed_form() -> None:
    s0, n_paths, n = 100.0, 200_000, 10
    sigma, lam, m, s, mu = 0.01, 0.1, -0.05, 0.08, 0.0005
    paths = merton_paths(
        s0, n_paths, n, sigma_per_step=sigma, jump_intensity_per_step=lam, jump_mean=m,
        jump_std=s, drift_per_step=mu, seed=2,
    )  # fmt: skip
    final = paths[:, -1]
    # compensated jumps: E[S_n] = s0 exp(n mu)
    assert_close(final.mean(), s0 * math.exp(n * mu), final.std(ddof=1) / math.sqrt(n_paths))
    kappa = math.exp(m + s * s / 2) - 1
    log_ret = _log_returns(paths)
    mean_log = n * (mu - sigma**2 / 2 - lam * kappa + lam * m)
    var_log = n * (sigma**2 + lam * (m * m + s * s))
    assert_close(log_ret.mean(), mean_log, math.sqrt(var_log / n_paths))
    assert_close(log_ret.var(ddof=1), var_log, log_ret.var() * math.sqrt(3.0 / n_paths), k=6)


def test_merton_antithetic_pairs_share_jump_counts() -> None:
    sigma, lam, m, mu = 0.01, 0.5, -0.03, 0.0
    paths = merton_paths(
        100.0, 8, 20, sigma_per_step=sigma, jump_intensity_per_step=lam, jump_mean=m,
        jump_std=0.02, drift_per_step=mu, seed=4, antithetic=True,
    )  # fmt: skip
    steps = np.diff(np.log(paths), axis=1)
    kappa = math.exp(m + 0.02**2 / 2) - 1
    counts = (steps[:4] + steps[4:] - 2 * (mu - sigma**2 / 2 - lam * kappa)) / (2 * m)
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # whole jump counts
    assert counts.max() >= 1


# --- GARCH ---------------------------------------------------------------------------------------


def test_garch_paths_match_a_direct_loop() -> None:
    s0, n_paths, n = 2000.0, 4, 50
    paths = garch_paths(s0, n_paths, n, params=GARCH, seed=3)
    z = np.random.default_rng(3).standard_normal((n_paths, n + 1))[:, 1:]
    expected = np.empty((n_paths, n + 1))
    uncond = GARCH.omega / (1 - GARCH.alpha - GARCH.beta)
    for i in range(n_paths):
        log_p, sigma2, eps = math.log(s0), uncond, math.sqrt(uncond)
        expected[i, 0] = s0
        for k in range(n):
            sigma2 = GARCH.omega + GARCH.alpha * eps**2 + GARCH.beta * sigma2
            eps = math.sqrt(sigma2) * z[i, k]
            log_p += GARCH.mu + eps
            expected[i, k + 1] = math.exp(log_p)
    np.testing.assert_allclose(paths, expected, rtol=1e-12)


def test_garch_starts_from_the_fitted_end_state() -> None:
    fitted = GarchParams(
        mu=0.0, omega=1e-5, alpha=0.1, beta=0.8, last_variance=4e-3, last_residual=0.1
    )
    paths = garch_paths(100.0, 2, 1, params=fitted, seed=9)
    z = np.random.default_rng(9).standard_normal((2, 2))[:, 1]
    sigma2_1 = 1e-5 + 0.1 * 0.1**2 + 0.8 * 4e-3  # one-step forecast
    np.testing.assert_allclose(paths[:, 1], 100.0 * np.exp(math.sqrt(sigma2_1) * z), rtol=1e-12)


def test_garch_antithetic_pairs_mirror_around_mu() -> None:
    paths = garch_paths(100.0, 6, 40, params=GARCH, seed=8, antithetic=True)
    steps = np.diff(np.log(paths), axis=1)
    np.testing.assert_allclose(steps[:3] + steps[3:], 2 * GARCH.mu, atol=1e-12)


def test_garch_fit_recovers_known_parameters() -> None:
    truth = GarchParams(mu=3e-4, omega=2e-5, alpha=0.10, beta=0.85)
    path = garch_paths(1000.0, 1, 20_000, params=truth, seed=2024)
    fitted = fit_garch(np.diff(np.log(path[0])))
    assert fitted.converged and fitted.n_obs == 20_000
    assert abs(fitted.alpha - truth.alpha) < 0.03
    assert abs(fitted.beta - truth.beta) < 0.05
    assert abs(fitted.persistence - truth.persistence) < 0.03
    assert 0.5 < fitted.omega / truth.omega < 2.0
    assert abs(fitted.unconditional_variance / truth.unconditional_variance - 1) < 0.2
    assert abs(fitted.mu - truth.mu) < 5 * math.sqrt(truth.unconditional_variance / 20_000)
    assert fitted.last_variance is not None and fitted.last_variance > 0


def test_fit_garch_bad_input() -> None:
    with pytest.raises(InvalidArgument, match="at least 100"):
        fit_garch(np.zeros(50))
    with pytest.raises(InvalidArgument, match="finite"):
        fit_garch(np.r_[np.full(200, 0.01), np.nan])
    with pytest.raises(InvalidArgument, match="alpha"):
        GarchParams(mu=0.0, omega=1e-5, alpha=-0.1, beta=0.9)
    with pytest.raises(InvalidArgument, match="omega"):
        GarchParams(mu=0.0, omega=0.0, alpha=0.1, beta=0.8)


# --- kernels: plain Python beside compiled -------------------------------------------------------


def test_kernels_equal_their_plain_python_versions() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 9))
    a, b = z.copy(), z.copy()
    gbm_fill(a, 50.0, -0.001, 0.04)
    gbm_fill_py(b, 50.0, -0.001, 0.04)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    a, b = z.copy(), z.copy()
    garch_fill(a, 50.0, 1e-4, 2e-5, 0.1, 0.85, 4e-4, 0.01)
    garch_fill_py(b, 50.0, 1e-4, 2e-5, 0.1, 0.85, 4e-4, 0.01)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    a, b = z.copy() * 0.01, z.copy() * 0.01
    log_increments_to_prices(a, 50.0)
    log_increments_to_prices_py(b, 50.0)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    new = rng.random((4, 30)) < 0.2
    new[:, 0] = True
    starts = rng.integers(0, 17, size=(4, 30))
    np.testing.assert_array_equal(
        stationary_indices(new, starts, 17), stationary_indices_py(new, starts, 17)
    )


# --- block bootstrap -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["stationary", "moving"])
def test_bootstrap_preserves_the_return_distribution(method: str) -> None:
    paths = bootstrap_paths(
        2000.0, 500, 100, returns=RETURNS, block_length=10, method=method, seed=7  # type: ignore[arg-type]
    )
    steps = np.diff(np.log(paths), axis=1).ravel()
    # every step is one of the observed returns (up to exp/log round-off) ...
    nearest = np.abs(np.sort(RETURNS)[np.searchsorted(np.sort(RETURNS), steps).clip(0, 999)]
                     - steps)
    nearest = np.minimum(nearest, np.abs(np.sort(RETURNS)[
        (np.searchsorted(np.sort(RETURNS), steps) - 1).clip(0, 999)] - steps))
    assert nearest.max() < 1e-9
    # ... and their distribution is the observed one
    assert ks_2samp(steps, RETURNS).pvalue > 0.01
    assert (paths[:, 0] == 2000.0).all()


@pytest.mark.parametrize("method", ["stationary", "moving"])
def test_bootstrap_paths_follow_their_indices(method: str) -> None:
    idx = bootstrap_indices(1000, 20, 30, block_length=5, method=method, seed=3)  # type: ignore[arg-type]
    paths = bootstrap_paths(
        100.0, 20, 30, returns=RETURNS, block_length=5, method=method, seed=3  # type: ignore[arg-type]
    )
    expected = 100.0 * np.exp(np.cumsum(RETURNS[idx], axis=1))
    np.testing.assert_allclose(paths[:, 1:], expected, rtol=1e-12)


def test_moving_block_structure() -> None:
    n, length = 200, 7
    idx = bootstrap_indices(n, 300, 50, block_length=length, method="moving", seed=1)
    assert idx.shape == (300, 50)
    for start in range(0, 50, length):
        block = idx[:, start : start + length]
        assert (np.diff(block, axis=1) == 1).all()  # consecutive returns inside a block
        assert ((block[:, 0] >= 0) & (block[:, 0] <= n - length)).all()  # no wrap
    # block starts are spread over the whole data
    assert idx[:, 0].min() < 10 and idx[:, 0].max() > n - length - 10


def test_stationary_block_lengths_are_geometric_with_the_given_mean() -> None:
    n, length = 1000, 10.0
    idx = bootstrap_indices(n, 1000, 500, block_length=length, method="stationary", seed=2)
    continues = idx[:, 1:] == (idx[:, :-1] + 1) % n
    # a new block starts with probability 1/L (and lands on the next index 1 time in n)
    new_share = 1.0 - continues.mean()
    expected = (1 / length) * (1 - 1 / n)
    assert_close(new_share, expected, math.sqrt(expected / continues.size))
    # circular wrap: short data, long blocks -> index n-1 is followed by 0
    small = bootstrap_indices(20, 50, 100, block_length=50, method="stationary", seed=3)
    assert ((small[:, :-1] == 19) & (small[:, 1:] == 0)).any()


# --- replay --------------------------------------------------------------------------------------


def test_replay_sliding_windows() -> None:
    prices = np.arange(1, 101) * 10.0
    paths = replay_paths(prices, 5, n_paths=3, start=2, stride=4)
    for i in range(3):
        np.testing.assert_array_equal(paths[i], prices[2 + 4 * i : 2 + 4 * i + 6])
    single = replay_paths(prices)
    np.testing.assert_array_equal(single, prices[None, :])
    rescaled = replay_paths(prices, 5, n_paths=3, start=2, stride=4, s0_usd=1000.0)
    assert (rescaled[:, 0] == 1000.0).all()
    np.testing.assert_allclose(rescaled[:, 1:] / rescaled[:, :-1], paths[:, 1:] / paths[:, :-1])


def test_replay_from_frames_and_files() -> None:
    frame = pd.DataFrame({"close_usd": [1.0, 2.0, 3.0]})
    np.testing.assert_array_equal(replay_paths(frame), [[1.0, 2.0, 3.0]])
    from_file = replay_paths(FIXTURES / "klines_ms_noheader.csv")
    np.testing.assert_array_equal(from_file, [[2406.49, 2295.73, 2227.7, 2411.66, 2448.45]])
    np.testing.assert_array_equal(replay_paths(str(FIXTURES / "klines_iso_header.csv")), from_file)


REPLAY_BAD: list[tuple[str, dict[str, Any], str]] = [
    ("windows-do-not-fit", {"n_steps": 50, "n_paths": 60}, "at most 50 such windows"),
    ("sliding-without-steps", {"n_paths": 2}, "n_steps must be given"),
    ("start-at-end", {"start": 99}, "no step"),
    ("zero-stride", {"n_steps": 5, "stride": 0}, "stride"),
    ("negative-s0", {"n_steps": 5, "s0_usd": -1.0}, "s0_usd"),
]


@pytest.mark.parametrize(("kwargs", "fragment"), [c[1:] for c in REPLAY_BAD],
                         ids=[c[0] for c in REPLAY_BAD])
def test_replay_bad_input(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        replay_paths(np.arange(1, 101) * 10.0, **kwargs)


def test_replay_bad_prices() -> None:
    with pytest.raises(InvalidArgument, match="no close_usd or close column"):
        replay_paths(pd.DataFrame({"open": [1.0, 2.0]}))
    with pytest.raises(InvalidArgument, match=r"prices\[1\]"):
        replay_paths(np.array([1.0, -2.0, 3.0]))


# --- determinism and the dispatcher -----------------------------------------------------------


def _calls(seed: int | np.random.Generator) -> dict[str, Callable[[], np.ndarray]]:
    return {
        "gbm": lambda: gbm_paths(100.0, 6, 9, sigma_per_step=0.03, seed=seed, antithetic=True),
        "merton": lambda: merton_paths(
            100.0,
            6,
            9,
            sigma_per_step=0.02,
            jump_intensity_per_step=0.3,
            jump_mean=-0.02,
            jump_std=0.03,
            seed=seed,
        ),
        "garch": lambda: garch_paths(100.0, 6, 9, params=GARCH, seed=seed),
        "bootstrap": lambda: bootstrap_paths(100.0, 6, 9, returns=RETURNS, seed=seed),
    }


@pytest.mark.parametrize("model", ["gbm", "merton", "garch", "bootstrap"])
def test_same_seed_same_bytes(model: str) -> None:
    first = _calls(42)[model]()
    again = _calls(42)[model]()
    assert first.tobytes() == again.tobytes()
    assert _calls(np.random.default_rng(42))[model]().tobytes() == first.tobytes()
    assert _calls(43)[model]().tobytes() != first.tobytes()


def test_generate_paths_dispatches_by_name() -> None:
    kwargs = {"s0_usd": 100.0, "n_paths": 4, "n_steps": 5, "sigma_per_step": 0.02, "seed": 1}
    np.testing.assert_array_equal(generate_paths("gbm", **kwargs), gbm_paths(**kwargs))  # type: ignore[arg-type]
    assert set(MODELS) == {"gbm", "merton", "garch", "bootstrap", "replay"}
    with pytest.raises(InvalidArgument, match="Did you mean 'garch'"):
        generate_paths("garhc", **kwargs)
    with pytest.raises(InvalidArgument, match=r"model='gbm'.*jump_mean"):
        generate_paths("gbm", jump_mean=0.1, **kwargs)


PATHS_BAD: list[tuple[str, Callable[[], object], str]] = [
    ("zero-paths", lambda: gbm_paths(100.0, 0, 5, sigma_per_step=0.1, seed=1), "n_paths"),
    ("negative-paths", lambda: gbm_paths(100.0, -3, 5, sigma_per_step=0.1, seed=1), "n_paths"),
    ("zero-steps", lambda: gbm_paths(100.0, 3, 0, sigma_per_step=0.1, seed=1), "n_steps"),
    ("float-paths", lambda: gbm_paths(100.0, 2.5, 5, sigma_per_step=0.1, seed=1), "whole"),  # type: ignore[arg-type]
    ("negative-s0", lambda: gbm_paths(-1.0, 3, 5, sigma_per_step=0.1, seed=1), "s0_usd"),
    ("nan-s0", lambda: gbm_paths(float("nan"), 3, 5, sigma_per_step=0.1, seed=1), "s0_usd"),
    ("negative-sigma", lambda: gbm_paths(100.0, 3, 5, sigma_per_step=-0.1, seed=1), "sigma"),
    ("inf-drift",
     lambda: gbm_paths(100.0, 3, 5, sigma_per_step=0.1, drift_per_step=math.inf, seed=1),
     "drift"),
    ("odd-antithetic",
     lambda: gbm_paths(100.0, 3, 5, sigma_per_step=0.1, seed=1, antithetic=True), "even"),
    ("negative-seed", lambda: gbm_paths(100.0, 3, 5, sigma_per_step=0.1, seed=-1), "seed"),
    ("float-seed", lambda: gbm_paths(100.0, 3, 5, sigma_per_step=0.1, seed=1.5), "seed"),  # type: ignore[arg-type]
    ("negative-intensity",
     lambda: merton_paths(100.0, 3, 5, sigma_per_step=0.1, jump_intensity_per_step=-1,
                          jump_mean=0, jump_std=0.1, seed=1), "jump_intensity"),
    ("negative-jump-std",
     lambda: merton_paths(100.0, 3, 5, sigma_per_step=0.1, jump_intensity_per_step=1,
                          jump_mean=0, jump_std=-0.1, seed=1), "jump_std"),
    ("garch-not-stationary",
     lambda: garch_paths(100.0, 3, 5, params=GarchParams(mu=0, omega=1e-5, alpha=0.2, beta=0.8),
                         seed=1), "sigma2_start"),
    ("short-block",
     lambda: bootstrap_paths(100.0, 3, 5, returns=RETURNS, block_length=0.5, seed=1),
     "block_length"),
    ("moving-block-too-long",
     lambda: bootstrap_paths(100.0, 3, 5, returns=RETURNS[:10], block_length=20,
                             method="moving", seed=1), "longer than"),
    ("unknown-method",
     lambda: bootstrap_paths(100.0, 3, 5, returns=RETURNS, method="circular", seed=1),  # type: ignore[arg-type]
     "stationary"),
    ("nan-return",
     lambda: bootstrap_paths(100.0, 3, 5, returns=[0.01, math.nan, 0.02], seed=1), "finite"),
    ("one-return", lambda: bootstrap_paths(100.0, 3, 5, returns=[0.01], seed=1), "at least 2"),
]


@pytest.mark.parametrize(("call", "fragment"), [c[1:] for c in PATHS_BAD],
                         ids=[c[0] for c in PATHS_BAD])
def test_path_generators_bad_input(call: Callable[[], object], fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment) as info:
        call()
    assert "\n" not in str(info.value)
