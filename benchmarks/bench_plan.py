"""Time to plan the default scenario (``delever plan``) at 10^4 paths, and Dask's speed-up.

The plan of the trend-2026 scenario with its book and followers, the CLI's defaults (7-day
horizon of hourly steps, every family, 24 Nelder–Mead evaluations per family after the grid,
lambda 0.1, alpha 5%), 10^4 paths in chunks of 1,000 (``--quick``: 2,000 paths). Three ways:

- ``in_process``: no Dask, numba's full thread pool on this machine's cores (the baseline);
- ``dask_1_worker`` / ``dask_2_workers``: a local cluster of 1 or 2 worker processes with one
  thread each (numba capped at 1 thread per worker), started and warmed before timing.

Parity first: the three plans must be identical (same JSON) or the script exits 1. Then
best of ``--repeats`` wall times with perf_counter. CSV rows:
``case,n_paths,candidates,seconds,ratio_to_in_process,ratio_to_1_worker`` (ratio = that
case's time over the reference's; the 1 -> 2 worker speed-up is the inverse of the last
column of the 2-worker row, also printed to stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from delever.scenario import load_scenario
from delever.scenario.market import scenario_market
from delever.sim.distributed import open_client
from delever.sim.montecarlo import MonteCarlo
from delever.sim.plan import PlanObjective, PlanResult, plan_for_scenario

SEED = 0


def _plan(n_paths: int, client: object | None) -> PlanResult:
    sc = load_scenario()
    return plan_for_scenario(sc, PlanObjective(), mc=MonteCarlo(SEED, n_paths),
                             market=scenario_market(sc), client=client)  # type: ignore[arg-type]


def _best(func: Callable[[], PlanResult], repeats: int) -> tuple[float, PlanResult]:
    best = float("inf")
    out: PlanResult | None = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def main() -> int:
    """Run the benchmark; print CSV to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 paths instead of 10^4")
    parser.add_argument("--repeats", type=int, default=1, help="best of N (1)")
    args = parser.parse_args()
    n_paths = 2_000 if args.quick else 10_000

    _plan(200, None)  # JIT warm-up in this process
    t_in, ref = _best(lambda: _plan(n_paths, None), args.repeats)
    ref_json = json.dumps(ref.to_dict(), sort_keys=True)
    rows = [("in_process", t_in, ref)]
    for workers in (1, 2):
        t0 = time.perf_counter()
        with open_client(n_workers=workers) as client:
            _plan(200, client)  # workers import delever and load the JIT cache
            print(f"# {workers}-worker cluster started and warm in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            t, res = _best(lambda c=client: _plan(n_paths, c), args.repeats)  # type: ignore[misc]
        if json.dumps(res.to_dict(), sort_keys=True) != ref_json:
            print(f"parity check failed: the plan on {workers} worker(s) differs from the "
                  "in-process plan", file=sys.stderr)
            return 1
        rows.append((f"dask_{workers}_worker{'s' if workers > 1 else ''}", t, res))
    t_one = rows[1][1]
    print("case,n_paths,candidates,seconds,ratio_to_in_process,ratio_to_1_worker")
    for case, t, res in rows:
        print(f"{case},{n_paths},{res.evaluations},{t:.2f},{t / t_in:.3f},{t / t_one:.3f}")
    print(f"# plan: {ref.plan.describe()}; objective ${ref.plan_metrics.objective_usd.value:,.0f}"
          f"; 1 -> 2 workers speed-up {t_one / rows[2][1]:.2f}x; target: in-process under 60 s "
          f"({'met' if t_in < 60 else 'NOT met'}: {t_in:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
