"""delever's side of the aave-wsteth-risk comparison: P(liquidation) over 30 days of daily
steps, holding, on the peer's default position and assumptions (docs/peer/wsteth-loop-peer.toml).

Usage: python docs/peer/delever_pliq.py docs/peer/wsteth-loop-peer.toml
Documentation, not a test: it prints WETH's starting rate and the liquidated paths at 10,000
and 300,000 paths (seed 42, the peer's).
"""

from __future__ import annotations

import sys
import time

import delever
from delever.protocol import borrow_rate
from delever.protocol.reserve_history import reserve_state_on
from delever.sim.api import DEFAULT_RESERVE_DAY


def main(path: str) -> None:
    """Print the figures of the comparison."""
    scenario = delever.load_scenario(path)
    state, _ = reserve_state_on("WETH", DEFAULT_RESERVE_DAY)
    curve = scenario.reserves["WETH"].rate_curve_on(DEFAULT_RESERVE_DAY)
    utilization = state.total_borrowed / state.total_supplied
    print(f"WETH utilization {utilization:.4f}, borrow rate {borrow_rate(utilization, curve):.4%}")
    for n_paths in (10_000, 300_000):
        start = time.perf_counter()
        result = delever.simulate(scenario, ["hold"], n_paths=n_paths, n_steps=30,
                                  step_hours=24.0, seed=42).results[0]
        print(f"{n_paths:,} paths: {int(result.liquidated.sum())} liquidated "
              f"(P = {result.liquidated.mean():.3g}), lowest HF "
              f"{result.health_factor.min():.4f}, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
