"""Benchmark the Aave kernels (health factor, liquidation price, liquidationCall) on 10^6 accounts.

Baselines measured in the same run:
- a bare numpy expression over the same arrays (``c * p * lt / d`` for HF, ``d / (c * lt)``
  for the liquidation price), which does no edge handling and allocates temporaries;
- a pure Python loop over the accounts, timed on 10^5 accounts and scaled by 10 (linear).

Fixed seed, warm-up calls (JIT compile excluded), parity checks before timing, best of N with
``time.perf_counter``. Output: CSV on stdout. Run: ``python benchmarks/bench_protocol.py``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import numpy as np

from delever.kernels import aave
from delever.protocol import get_protocol

N = 1_000_000
N_LOOP = 100_000
REPEATS = 7
SEED = 20260206
LT, BONUS, FEE = 0.83, 0.05, 0.10
RULES = get_protocol("aave-v3.6").kernel_rules()


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Fastest of ``repeats`` timed calls, in seconds."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(SEED)
    c = 10 ** rng.uniform(-1.0, 5.0, N)
    p = rng.uniform(800.0, 4_000.0, N)
    d = c * p * LT / rng.uniform(0.3, 1.5, N)
    c_list, d_list, p_list = c[:N_LOOP].tolist(), d[:N_LOOP].tolist(), p[:N_LOOP].tolist()
    hf_out = np.empty(N)

    def numpy_hf() -> np.ndarray:
        return c * p * LT / d

    def numpy_liq() -> np.ndarray:
        return d / (c * LT)

    def loop_hf() -> list[float]:
        return [ci * pi * LT / di if di > 0 else math.inf
                for ci, pi, di in zip(c_list, p_list, d_list, strict=True)]

    def loop_liq() -> list[float]:
        return [di / (ci * LT) for ci, di in zip(c_list, d_list, strict=True)]

    def kernel_hf() -> np.ndarray:
        return aave.health_factor(c, d, p, LT)

    def kernel_hf_raw() -> np.ndarray:
        aave.health_factor_kernel(c, d, p, LT, hf_out)
        return hf_out

    def kernel_liq() -> np.ndarray:
        return aave.liquidation_price(c, d, LT)

    def kernel_liquidation_call() -> object:
        return aave.liquidation_call(RULES, c, d, p, LT, BONUS, FEE)

    # Warm-up (compiles or loads the cached kernels) and parity before timing.
    np.testing.assert_allclose(kernel_hf(), numpy_hf(), rtol=1e-15)
    np.testing.assert_allclose(kernel_liq(), numpy_liq(), rtol=1e-15)
    np.testing.assert_allclose(kernel_hf()[:N_LOOP], loop_hf(), rtol=1e-15)
    np.testing.assert_allclose(kernel_liq()[:N_LOOP], loop_liq(), rtol=1e-15)
    kernel_hf_raw()
    kernel_liquidation_call()

    t_numpy_hf, t_numpy_liq = best_of(numpy_hf), best_of(numpy_liq)
    t_loop_hf = best_of(loop_hf, 3) * (N / N_LOOP)
    t_loop_liq = best_of(loop_liq, 3) * (N / N_LOOP)
    rows = [
        ("numpy c*p*lt/d (baseline)", t_numpy_hf, t_numpy_hf, t_loop_hf),
        ("python loop HF (1e5 scaled x10)", t_loop_hf, t_numpy_hf, t_loop_hf),
        ("kernel health_factor (wrapper)", best_of(kernel_hf), t_numpy_hf, t_loop_hf),
        ("kernel health_factor (raw, prealloc)", best_of(kernel_hf_raw), t_numpy_hf, t_loop_hf),
        ("numpy d/(c*lt) (baseline)", t_numpy_liq, t_numpy_liq, t_loop_liq),
        ("python loop liq price (1e5 scaled x10)", t_loop_liq, t_numpy_liq, t_loop_liq),
        ("kernel liquidation_price", best_of(kernel_liq), t_numpy_liq, t_loop_liq),
        ("kernel liquidation_call (vs HF baselines)", best_of(kernel_liquidation_call),
         t_numpy_hf, t_loop_hf),
    ]
    try:
        import numba

        threads = str(numba.get_num_threads())
    except ImportError:  # JIT disabled and numba absent
        threads = "n/a"
    print(f"# n_accounts={N}, seed={SEED}, best of {REPEATS}, cpus={os.cpu_count()}, "
          f"numba_threads={threads}")
    print("case,n_accounts,best_ms,ratio_to_numpy,speedup_vs_python_loop")
    for name, seconds, numpy_s, loop_s in rows:
        print(f"{name},{N},{seconds * 1e3:.3f},{seconds / numpy_s:.3f},{loop_s / seconds:.1f}")


if __name__ == "__main__":
    main()
