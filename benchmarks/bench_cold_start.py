"""Cold start of ``delever run``: the first run after an install (numba compiles every kernel
the run calls) against the same run once numba's cache holds them.

Each run is a fresh process, ``python -m delever.cli.main run --no-report --json`` on the
default scenario, with ``NUMBA_CACHE_DIR`` set to a new temporary folder: the first run
compiles and writes the cache (cold), the next ones load it (warm, best of N). Nothing is
disabled: the same command, the same work. The JSON of the cold and the warm runs must be
the same bytes (the cache changes nothing but the time). Also timed, warm: ``delever
--help`` and ``delever position`` (commands that call no kernel: they must compile nothing).

Usage: ``python benchmarks/bench_cold_start.py [--paths N] [--repeats R]`` (default 1000,
the run's own default, and 2). CSV rows: ``case,paths,seconds,ratio_to_warm``.

Measured (2026-12-06, 2-core machine, ``--paths 1000 --repeats 1``): before the kernel
redesign, at load ~9: cold 209 s, warm 32 s (6.5x). After it, at load ~1.1: cold 76.3 s, warm
10.6 s (7.2x; target <= 2); ``--help`` 2.9 s and ``position`` 3.1 s warm, compiling nothing.
The ratio is the kernels' compile time: a cold ``delever.run(paths=20)`` spends about 60 s
compiling, 17 s of it the unwind engine's per-path function (its stages inlined) and 12 s the
cascade ladder's fixed point. Not inlining the unwind stages halves their compile but makes
the warm unwind 1.8x slower (measured; not taken).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "delever.cli.main"]
POSITION = ["position", "--collateral-eth", "100", "--debt-usd", "100000", "--price-usd",
            "2000", "--json"]


def _timed(args: list[str], cache_dir: str) -> tuple[float, bytes]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    t0 = time.perf_counter()
    done = subprocess.run([*COMMAND, *args], env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): "
                         f"{done.stderr.decode()[-2000:]}")
    return seconds, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=2)
    ns = parser.parse_args()
    run = ["run", "--paths", str(ns.paths), "--no-report", "--json"]
    with tempfile.TemporaryDirectory(prefix="delever-numba-cache-") as cache_dir:
        cold_s, cold_out = _timed(run, cache_dir)
        n_files = sum(1 for p in Path(cache_dir).rglob("*") if p.is_file())
        warm = [_timed(run, cache_dir) for _ in range(ns.repeats)]
        warm_s = min(s for s, _ in warm)
        if any(out != cold_out for _, out in warm):
            raise SystemExit("the warm runs' JSON differs from the cold run's")
        help_s = min(_timed(["--help"], cache_dir)[0] for _ in range(ns.repeats))
        position_s = min(_timed(POSITION, cache_dir)[0] for _ in range(ns.repeats))
    print("case,paths,seconds,ratio_to_warm")
    print(f"run_cold,{ns.paths},{cold_s:.2f},{cold_s / warm_s:.2f}")
    print(f"run_warm,{ns.paths},{warm_s:.2f},1.00")
    print(f"help_warm,,{help_s:.2f},")
    print(f"position_warm,,{position_s:.2f},")
    print(f"# numba cache: {n_files} files written by the cold run; cold/warm = "
          f"{cold_s / warm_s:.2f} (target <= 2)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
