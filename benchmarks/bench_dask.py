"""Dask scale-out: ``simulate_distributed`` on 1 and 2 local workers against no Dask.

10^4 paths x 720 hourly steps (``--quick``: 2,000 x 168), the trend-2026 scenario, two
strategies (hold, hf-ladder), chunks of 1,000 paths (``--chunk``). Workers are processes with one
thread each (numba's pool capped at 1 thread per worker); the no-Dask baseline runs the same chunks
in this process with numba's full thread pool. Fixed seed, warm-up (JIT compiled, workers
started and warm before timing), best of N with perf_counter, a parity check (the same bytes
from no Dask, 1 and 2 workers) before timing. CSV rows:
``case,n_paths,n_steps,seconds,path_steps_per_s,ratio_to_1_worker``; ``*_pnl_only`` rows
run the same chunks but bring back only the per-path P&L (no per-step arrays), to separate
the compute from the transfer of the results. The cluster start
times are printed to stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from delever.scenario import load_scenario
from delever.sim.api import build_inputs, resolve_strategies
from delever.sim.distributed import (
    ChunkTask,
    chunk_sizes,
    map_tasks,
    open_client,
    run_chunk,
    simulate_distributed,
)
from delever.sim.montecarlo import MonteCarlo, Stream
from delever.sim.unwind import CHAINLINK_ETH_USD, SimConfig, SimulationResult

if TYPE_CHECKING:
    from distributed import Client

SEED = 20260206
STRATEGIES = ("hold", "hf-ladder")
CHUNK = 1_000


def _best(func: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _same(a: SimulationResult, b: SimulationResult) -> bool:
    return all(ra.state.tobytes() == rb.state.tobytes()
               and ra.mid_usd.tobytes() == rb.mid_usd.tobytes()
               and ra.total_pnl_usd.tobytes() == rb.total_pnl_usd.tobytes()
               for ra, rb in zip(a.results, b.results, strict=True))


def _pnl_only(task: ChunkTask) -> list[np.ndarray]:
    """The same chunk, but only the per-path P&L comes back (no per-step arrays)."""
    return [r.total_pnl_usd for r in run_chunk(task).results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 paths x 168 steps")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=CHUNK, help="paths per task")
    args = parser.parse_args()
    n_paths, n_steps = (2_000, 168) if args.quick else (10_000, 720)
    scenario = load_scenario("trend-2026")

    def run(client: Client | None) -> SimulationResult:
        return simulate_distributed(scenario, STRATEGIES,
                                    mc=MonteCarlo(SEED, n_paths, args.chunk),
                                    n_steps=n_steps, client=client)

    inputs = build_inputs(scenario, paths=np.full((1, n_steps + 1), scenario.mark_price_usd))
    sizes = chunk_sizes(n_paths, args.chunk)
    chunk_seeds = MonteCarlo(SEED, n_paths, args.chunk).chunk_seeds(Stream.SIMULATE)
    tasks = [ChunkTask(inputs.position, tuple(resolve_strategies(STRATEGIES)), inputs.market,
                       inputs.lending, CHAINLINK_ETH_USD, SimConfig(), scenario.mark_price_usd,
                       scenario.market_parameters().sigma_daily * math.sqrt(1 / 24), k, n_steps,
                       ss) for k, ss in zip(sizes, chunk_seeds, strict=True)]
    ref = run(None)  # warm-up: JIT here; parity reference
    t_local = _best(lambda: run(None), args.repeats)
    times: dict[int, float] = {}
    reduced: dict[int, float] = {}
    for n_workers in (1, 2):
        t0 = time.perf_counter()
        with open_client(n_workers=n_workers, threads_per_worker=1) as client:
            start_s = time.perf_counter() - t0
            print(f"# cluster start, {n_workers} worker(s): {start_s:.2f} s", file=sys.stderr)
            got = run(client)  # warm-up: imports and JIT cache loads on the workers
            assert _same(got, ref), f"{n_workers} worker(s) differ from no Dask"
            pnl = np.concatenate([p[0] for p in map_tasks(client, _pnl_only, tasks)])
            assert pnl.tobytes() == ref.results[0].total_pnl_usd.tobytes()
            times[n_workers] = _best(lambda c=client: run(c), args.repeats)  # type: ignore[misc]
            reduced[n_workers] = _best(
                lambda c=client: map_tasks(c, _pnl_only, tasks), args.repeats)  # type: ignore[misc]
    n = n_paths * n_steps * len(STRATEGIES)
    base = times[1]
    print("case,n_paths,n_steps,seconds,path_steps_per_s,ratio_to_1_worker")
    print(f"no_dask_all_threads,{n_paths},{n_steps},{t_local:.3f},{n / t_local:.4g},"
          f"{t_local / base:.2f}")
    for k, t in times.items():
        print(f"dask_{k}_worker,{n_paths},{n_steps},{t:.3f},{n / t:.4g},{t / base:.2f}")
    for k, t in reduced.items():
        print(f"dask_{k}_worker_pnl_only,{n_paths},{n_steps},{t:.3f},{n / t:.4g},{t / base:.2f}")
    print(f"# speed-up 2 workers vs 1, P&L only back: {reduced[1] / reduced[2]:.2f}x",
          file=sys.stderr)
    print(f"# speed-up 2 workers vs 1: {base / times[2]:.2f}x", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
