"""Unwind simulation throughput: path-steps per second against bare GBM path generation.

10^4 paths x 720 hourly steps, the trend-2026 position (three accounts), the square-root
market with a transient part, a Chainlink-style oracle, interest on the debt reserve. Fixed
seed, warm-up (JIT compiled before timing), best of N with perf_counter, a parity check
(books balance, the same bytes on a rerun) before timing. Rows ``+actors``: the same market
with the default scenario's other borrowers (synthetic book, its liquidation ladder) and
followers (kappa 0.5, lag 1); ``ratio_to_plain`` is against the same strategy without them,
timed in the same run. Rows ``+oracle_path``: the same paths with an exogenous oracle path (a
loop's exchange-rate oracle; here the GBM path itself, so the HF sees the unimpacted price);
``ratio_to_plain`` against the Chainlink-style oracle. CSV rows:
``case,n_paths,n_steps,seconds,path_steps_per_s,ratio_to_gbm,ratio_to_plain``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import numpy as np

from delever.market import SquareRootImpact, gbm_paths
from delever.protocol import RESERVES, ReserveState
from delever.scenario import load_scenario, scenario_market
from delever.sim.unwind import (
    CHAINLINK_ETH_USD,
    LendingParams,
    SimConfig,
    UnwindMarket,
    UnwindPosition,
    UnwindResult,
    check_conservation,
    simulate_unwind,
)
from delever.strategy import TWAP, HFLadder, Hold, SellIntoRebounds, Strategy

N_PATHS = 10_000
N_STEPS = 720
SEED = 20260206
REPEATS = 3

POSITION = UnwindPosition(
    ("A", "B", "C"), np.array([40_000.0, 234_277.0, 121_723.0]),
    np.array([50_098_800.0, 303_341_860.0, 172_559_340.0]), np.full(3, 0.83), np.full(3, 0.05),
    np.full(3, 0.10), 3_180.0)
MARKET = UnwindMarket(SquareRootImpact(0.039, 501_029.0, 1.0, 2 / 3), 6.0)
LENDING = LendingParams(ReserveState(5e9, 3.29e9), RESERVES["USDT"].rate_curve_on(date(2026, 2, 6)))
CONFIG = SimConfig(chunk_paths=N_PATHS)


def _best(func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _paths() -> np.ndarray:
    return gbm_paths(1_904.04, N_PATHS, N_STEPS, sigma_per_step=0.039 / 24**0.5, seed=SEED)


def main() -> int:
    paths = _paths()
    strategies: list[Strategy] = [Hold(), TWAP(), HFLadder(), SellIntoRebounds()]
    actors = scenario_market(load_scenario())  # trend-2026: its book and followers
    market_actors = replace(MARKET, book=actors.book, followers_kappa=actors.followers_kappa,
                            followers_lag_steps=actors.followers_lag_steps)
    with_actors: list[Strategy] = [Hold(), HFLadder()]

    def run(s: Strategy, market: UnwindMarket = MARKET,
            oracle_paths: np.ndarray | None = None) -> UnwindResult:
        return simulate_unwind(POSITION, s, paths, market=market, lending=LENDING,
                               oracle=CHAINLINK_ETH_USD, config=CONFIG,
                               oracle_paths=oracle_paths)

    # warm-up and parity: books balance, a rerun gives the same bytes
    cases = [(s, MARKET) for s in strategies] + [(s, market_actors) for s in with_actors]
    for s, market in cases:
        a = run(s, market)
        b = run(s, market)
        check_conservation(a)
        assert a.mid_usd.tobytes() == b.mid_usd.tobytes()
        if market is market_actors:
            assert a.book_sold_eth.sum() > 0 and a.follower_sold_eth.sum() > 0
    for s in with_actors:  # the exogenous oracle: compiled, and the oracle is the path
        assert run(s, oracle_paths=paths).oracle_usd.tobytes() == paths.tobytes()
    gbm_s = _best(_paths)
    n = N_PATHS * N_STEPS
    print("case,n_paths,n_steps,seconds,path_steps_per_s,ratio_to_gbm,ratio_to_plain")
    print(f"gbm_paths,{N_PATHS},{N_STEPS},{gbm_s:.4f},{n / gbm_s:.4g},1.00,")
    plain: dict[str, float] = {}
    for s in strategies:
        t = _best(lambda s=s: run(s))  # type: ignore[misc]
        plain[s.name] = t
        print(f"unwind_{s.name},{N_PATHS},{N_STEPS},{t:.4f},{n / t:.4g},{t / gbm_s:.2f},1.00")
    for s in with_actors:
        t = _best(lambda s=s: run(s, market_actors))  # type: ignore[misc]
        print(f"unwind_{s.name}+actors,{N_PATHS},{N_STEPS},{t:.4f},{n / t:.4g},"
              f"{t / gbm_s:.2f},{t / plain[s.name]:.2f}")
    for s in with_actors:
        t = _best(lambda s=s: run(s, oracle_paths=paths))  # type: ignore[misc]
        print(f"unwind_{s.name}+oracle_path,{N_PATHS},{N_STEPS},{t:.4f},{n / t:.4g},"
              f"{t / gbm_s:.2f},{t / plain[s.name]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
