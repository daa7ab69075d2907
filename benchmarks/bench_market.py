"""Benchmark the market layer: impact models through their interface, and GBM paths.

Rows (CSV on stdout: benchmark, variant, size, seconds, ratio to the baseline of its block):

(a) square-root impact for 10^6 orders: ``SquareRootImpact.execute`` (validation, copies,
    the numba kernel, the frozen ``Fills``) and the bare kernel, against a bare numpy
    expression of the same arithmetic (``mid * (1 - 2/3 Y sigma sqrt(q / V))`` and the new
    mid), which does no validation and no capacity cap.
(b) GBM paths, 10^5 paths x 720 steps: ``delever.market.paths.gbm_paths`` against
    ``Generator.standard_normal`` of the same (10^5, 721) size, the draw it cannot avoid.
    The array is 10^5 x 721 float64 = 577 MB (two alive at once during the parity check:
    1.2 GB).
(c) Uniswap v3 pool, 10^5 order sizes: the vectorised range table against the step-by-step
    reference swap (``swap_exact_input``), timed on 10^3 orders and scaled by 100 (linear).

Fixed seed, warm-up calls (JIT compile excluded), parity checks before timing, best of N with
``time.perf_counter``. Run: ``python benchmarks/bench_market.py``.

At 10^6 orders the allocator matters: ``execute`` allocates five fresh 8 MB arrays (two
input copies, three outputs) and glibc maps each from the OS, so page faults dominate. With
``MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000`` (memory reused) the
interface runs faster than the bare numpy expression; with glibc's defaults about 2x slower.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import numpy as np

from delever.kernels.impact import sqrt_impact
from delever.market.impact import SquareRootImpact
from delever.market.univ3 import UniswapV3Impact, illustrative_pool, swap_exact_input

SEED = 20260206
N_ORDERS = 1_000_000
N_PATHS, N_STEPS = 100_000, 720
N_POOL, N_POOL_LOOP = 100_000, 1_000
SIGMA_DAILY, ADV_ETH, IMPACT_Y = 0.04, 500_000.0, 1.0
SIGMA_PER_STEP = 0.04 / math.sqrt(24.0)  # hourly steps of a 4 %-a-day price


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, in seconds."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def row(benchmark: str, variant: str, size: int, seconds: float, baseline: float) -> None:
    print(f"{benchmark},{variant},{size},{seconds:.6f},{seconds / baseline:.3f}", flush=True)


def bench_sqrt() -> None:
    rng = np.random.default_rng(SEED)
    mid = rng.uniform(1_500.0, 2_500.0, N_ORDERS)
    qty = 10 ** rng.uniform(-2.0, 5.0, N_ORDERS)  # 0.01 .. 100,000 ETH, below the cap
    model = SquareRootImpact(SIGMA_DAILY, ADV_ETH, IMPACT_Y)
    ys = IMPACT_Y * SIGMA_DAILY
    outs = tuple(np.empty(N_ORDERS) for _ in range(3))

    def bare_numpy() -> tuple[np.ndarray, np.ndarray]:
        peak = ys * np.sqrt(qty / ADV_ETH)
        return mid * (1.0 - (2.0 / 3.0) * peak), mid * (1.0 - peak)

    def interface() -> object:
        return model.execute(mid, qty)

    def kernel() -> object:
        sqrt_impact(mid, qty, ys, ADV_ETH, 1.0, *outs)
        return outs

    fills = model.execute(mid, qty)  # warm-up (loads or compiles the kernel)
    avg, new_mid = bare_numpy()
    np.testing.assert_allclose(fills.avg_price_usd, avg, rtol=1e-13)
    np.testing.assert_allclose(fills.new_mid_usd, new_mid, rtol=1e-13)
    kernel()
    np.testing.assert_allclose(outs[1], avg, rtol=1e-13)

    base = best_of(bare_numpy, 9)
    row("sqrt_impact", "bare_numpy", N_ORDERS, base, base)
    row("sqrt_impact", "SquareRootImpact.execute", N_ORDERS, best_of(interface, 9), base)
    row("sqrt_impact", "kernel_sqrt_impact", N_ORDERS, best_of(kernel, 9), base)


def bench_gbm() -> None:
    try:
        from delever.market.paths import gbm_paths
    except ImportError as exc:
        print(f"gbm: skipped, delever.market.paths.gbm_paths is not available ({exc})",
              file=sys.stderr)
        return
    drift_log = -0.5 * SIGMA_PER_STEP**2

    def baseline() -> np.ndarray:
        return np.random.default_rng(SEED).standard_normal((N_PATHS, N_STEPS + 1))

    def paths() -> np.ndarray:
        out: np.ndarray = gbm_paths(2_000.0, N_PATHS, N_STEPS, sigma_per_step=SIGMA_PER_STEP,
                                    seed=SEED)
        return out

    # Parity on a slice of the paths: the same normals through log S_k = log S_{k-1} +
    # (mu - sigma^2/2) + sigma z_k (gbm_paths draws one (n_paths, n_steps + 1) block).
    small = gbm_paths(2_000.0, 1_000, N_STEPS, sigma_per_step=SIGMA_PER_STEP, seed=SEED)
    z = np.random.default_rng(SEED).standard_normal((1_000, N_STEPS + 1))
    log_s = math.log(2_000.0) + np.cumsum(drift_log + SIGMA_PER_STEP * z[:, 1:], axis=1)
    expected = np.concatenate((np.full((1_000, 1), 2_000.0), np.exp(log_s)), axis=1)
    try:
        np.testing.assert_allclose(small, expected, rtol=1e-11)
    except AssertionError:
        # Another draw convention: check the law instead (mean and sd of log returns).
        print("gbm: exact parity failed; checking moments instead", file=sys.stderr)
        returns = np.diff(np.log(small), axis=1)
        assert abs(returns.mean() - drift_log) < 5 * SIGMA_PER_STEP / math.sqrt(returns.size)
        assert abs(returns.std() / SIGMA_PER_STEP - 1.0) < 0.01
    paths()  # warm-up at full size
    base = best_of(baseline, 3)
    row("gbm_100000x720", "Generator.standard_normal", N_PATHS * (N_STEPS + 1), base, base)
    row("gbm_100000x720", "gbm_paths", N_PATHS * (N_STEPS + 1), best_of(paths, 3), base)


def bench_univ3() -> None:
    pool = illustrative_pool()
    model = UniswapV3Impact(pool)
    rng = np.random.default_rng(SEED)
    qty = rng.uniform(0.0, 0.9 * model.capacity_eth, N_POOL)
    small = qty[:N_POOL_LOOP]

    def loop() -> list[float]:
        return [swap_exact_input(pool, q * 1e18, pool.eth_is_token0).amount_out for q in small]

    def table() -> object:
        return model.execute(2_000.0, qty)

    np.testing.assert_allclose(model.execute(2_000.0, small).proceeds_usd,
                               np.asarray(loop()) / 1e6, rtol=1e-9, atol=1e-6)
    base = best_of(loop, 3) * (N_POOL / N_POOL_LOOP)
    row("univ3_swaps", "reference_loop_scaled", N_POOL, base, base)
    row("univ3_swaps", "UniswapV3Impact.execute", N_POOL, best_of(table, 9), base)


def main() -> None:
    print("benchmark,variant,size,seconds,ratio")
    bench_sqrt()
    bench_gbm()
    bench_univ3()


if __name__ == "__main__":
    main()
