"""Benchmark the cascade engines: ladder vs exact vs bare GBM path generation.

A 50,000-borrower synthetic book (3,000,000 ETH at $1,904.04, an estimate) plus the
trend-2026 large account, 10^4 hourly GBM paths x 720 steps (30 days), 2 numba threads.

- ``bare_paths``: ``delever.market.paths.gbm_paths`` for the same paths (the baseline);
- ``ladder``: the ladder engine on pre-drawn paths (best of N);
- ``ladder_with_paths``: drawing the paths plus the ladder engine (what ``stress`` does);
- ``exact``: the exact engine on as many paths as fit in about a minute (``--quick``: ~10 s).

Besides path-steps per second, the mean cost of one liquidation call (run time / calls, per
engine, all threads together; the ladder counts each borrower's call as the exact engine does,
though its plain book pays one O(log n) step per cohort of borrowers called together) and
every rate as a ratio against the bare paths of the same run (machines are shared: the
ratios travel, the absolute rates less so).

Fixed seed, warm-up calls (no JIT in the timings), a parity check (ladder vs exact on a few
paths) before timing. Prints CSV rows, or one JSON object with ``--json``.

Targets (issue): ladder >= 2e7 path-steps/s, <= 3x the cost of bare path generation,
>= 1,000x the exact engine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

import numba
import numpy as np

from delever.book import TREND_2026_LARGE_ACCOUNT, build_ladder, run_cascade, synthetic_book
from delever.book.cascade import DEFAULT_SIGMA_DAILY
from delever.kernels.cascade import OUT_CALLS
from delever.market.paths import gbm_paths

P0_USD = 1904.0404040404  # trend-2026 implied mark (press estimate)
SEED = 20260206


def best_of(repeats: int, func: Any) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls, and the last call's result."""
    best = math.inf
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=720)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exact-seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="fewer paths, ~10 s of exact")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.quick:
        args.paths = min(args.paths, 2_000)
        args.exact_seconds = min(args.exact_seconds, 10.0)
        args.repeats = min(args.repeats, 2)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    sigma = DEFAULT_SIGMA_DAILY / math.sqrt(24.0)
    book = synthetic_book(args.accounts, 3_000_000.0, P0_USD, seed=SEED)
    ladder = build_ladder(book)
    whale = TREND_2026_LARGE_ACCOUNT

    def draw() -> np.ndarray[Any, np.dtype[np.float64]]:
        return gbm_paths(P0_USD, args.paths, args.steps, sigma_per_step=sigma, seed=SEED)

    # warm-up (JIT) and parity check before any timing
    exog = draw()
    run_cascade(book, exog[:2, :10], engine="ladder", ladder=ladder, large_account=whale)
    run_cascade(book, exog[:2, :10], engine="exact", large_account=whale)
    check = exog[:4]
    lad = run_cascade(book, check, engine="ladder", ladder=ladder, large_account=whale)
    exa = run_cascade(book, check, engine="exact", large_account=whale)
    parity = float(np.max(np.abs(lad.values - exa.values) / np.maximum(np.abs(exa.values), 1.0)))
    if parity > 1e-6:
        print(f"parity check failed: max relative difference {parity:.3g}", file=sys.stderr)
        return 1

    n_ps = args.paths * args.steps
    t_bare, _ = best_of(args.repeats, draw)
    t_ladder, lad_all = best_of(args.repeats, lambda: run_cascade(
        book, exog, engine="ladder", ladder=ladder, large_account=whale))
    t_both, _ = best_of(args.repeats, lambda: run_cascade(book, draw(), engine="ladder",
                                                          ladder=ladder, large_account=whale))
    ladder_calls = float(lad_all.values[:, OUT_CALLS].sum())
    # exact: batches of paths until the time budget is spent
    done = 0
    spent = 0.0
    exact_calls = 0.0
    batch = max(2, args.threads)
    while spent < args.exact_seconds and done + batch <= args.paths:
        start = time.perf_counter()
        ex = run_cascade(book, exog[done:done + batch], engine="exact", large_account=whale)
        spent += time.perf_counter() - start
        exact_calls += float(ex.values[:, OUT_CALLS].sum())
        done += batch
    rates = {
        "bare_paths_path_steps_per_s": n_ps / t_bare,
        "ladder_path_steps_per_s": n_ps / t_ladder,
        "ladder_with_paths_path_steps_per_s": n_ps / t_both,
        "exact_path_steps_per_s": done * args.steps / spent,
    }
    calls = lad.values[:, OUT_CALLS].mean()
    bare = rates["bare_paths_path_steps_per_s"]
    result: dict[str, Any] = {
        **rates,
        **{name.replace("_path_steps_per_s", "_rate_vs_bare_paths"): rate / bare
           for name, rate in rates.items() if not name.startswith("bare")},
        "exact_ns_per_liquidation_call": spent / max(exact_calls, 1.0) * 1e9,
        "ladder_ns_per_liquidation_call": t_ladder / max(ladder_calls, 1.0) * 1e9,
        "ladder_liquidation_calls_per_path": ladder_calls / args.paths,
        "ladder_cost_vs_bare_paths": rates["bare_paths_path_steps_per_s"]
        / rates["ladder_path_steps_per_s"],
        "ladder_with_paths_cost_vs_bare_paths": rates["bare_paths_path_steps_per_s"]
        / rates["ladder_with_paths_path_steps_per_s"],
        "ladder_speedup_vs_exact": rates["ladder_path_steps_per_s"]
        / rates["exact_path_steps_per_s"],
        "accounts": args.accounts,
        "rungs": len(ladder),
        "paths": args.paths,
        "steps": args.steps,
        "threads": numba.get_num_threads(),
        "exact_paths_timed": done,
        "parity_max_rel_diff": parity,
        "mean_liquidation_calls_per_path_parity_sample": float(calls),
        "targets": {"ladder_path_steps_per_s": 2e7, "ladder_cost_vs_bare_paths": 3.0,
                    "ladder_speedup_vs_exact": 1000.0},
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print("name,path_steps_per_s,ratio_vs_bare_paths_rate")
    for name, rate in rates.items():
        print(f"{name.removesuffix('_path_steps_per_s')},{rate:.6g},{rate / bare:.4g}")
    print(f"# ladder cost = {result['ladder_cost_vs_bare_paths']:.3g}x bare paths "
          f"(target <= 3); ladder = {result['ladder_speedup_vs_exact']:.4g}x exact "
          f"(target >= 1000); ladder {rates['ladder_path_steps_per_s']:.3g} path-steps/s "
          f"(target >= 2e7); {args.accounts:,} accounts, {len(ladder):,} rungs, "
          f"{numba.get_num_threads()} threads, exact on {done} paths; one call: exact "
          f"{result['exact_ns_per_liquidation_call']:.4g} ns, ladder "
          f"{result['ladder_ns_per_liquidation_call']:.4g} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
