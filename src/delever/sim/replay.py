"""Replay a reported unwind on the real price path, and what else could have been done.

The realized path already holds the seller's own impact. The replay backs it out with the
same square-root market the engine uses (fitted only on data before the event): the path
*without the fund's selling* is ``realized / (1 - I_own)``, with ``I_own`` the impact of the
reported schedule alone. Running the reported schedule on that path through the engine gives
back the realized path (a check of the whole chain) and the modelled sale price; running
other strategies on it gives the counterfactuals on the same days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from delever._typing import FloatArray1D
from delever.errors import InvalidArgument
from delever.kernels.unwind import impact_fraction_py
from delever.sim.unwind import (
    LendingParams,
    OracleLike,
    SimConfig,
    SimulationResult,
    UnwindMarket,
    UnwindPosition,
    UnwindResult,
    simulate_strategies,
)
from delever.strategy import Schedule, Strategy


@dataclass(frozen=True, eq=False)
class ReplayInputs:
    """Everything a replay needs, as model objects and arrays (built by the scenario layer)."""

    start: datetime  # time of realized_usd[0] (UTC)
    step_hours: float
    realized_usd: FloatArray1D  # (n_steps + 1,) realized mid at each step
    schedule_eth: FloatArray1D  # (n_steps,) ETH sold in step k + 1 by the reported schedule
    reported_avg_price_usd: float
    realized_low_usd: float  # lowest traded price in the window (daily lows)
    position: UnwindPosition  # the position at ``start``
    market: UnwindMarket
    lending: LendingParams
    oracle: OracleLike
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        realized = np.ascontiguousarray(self.realized_usd, dtype=np.float64)
        schedule = np.ascontiguousarray(self.schedule_eth, dtype=np.float64)
        if realized.ndim != 1 or realized.size < 2 or not np.all(realized > 0):
            raise InvalidArgument("realized_usd must hold at least two prices, all > 0.")
        if schedule.shape != (realized.size - 1,) or np.any(schedule < 0):
            raise InvalidArgument("schedule_eth must hold one ETH amount >= 0 per step.")
        object.__setattr__(self, "realized_usd", realized)
        object.__setattr__(self, "schedule_eth", schedule)

    @property
    def n_steps(self) -> int:
        """Steps in the window."""
        return int(self.schedule_eth.size)


def own_impact_fraction(
    schedule_eth: FloatArray1D, market: UnwindMarket, step_hours: float
) -> FloatArray1D:
    """``I_own`` at the end of each step: the engine's impact of the schedule alone.

    Same law as the kernel (:mod:`delever.kernels.unwind`): permanent ``Q_all`` and a memory
    ``Q_mem`` that shrinks by ``decay**2`` a step. Entry 0 (the start) is 0.
    """
    impact = market.impact
    decay = market.decay_per_step(step_hours)
    y_sigma = impact.impact_y * impact.sigma_daily
    out = np.zeros(schedule_eth.size + 1)
    q_all = q_mem = 0.0
    for k, q in enumerate(schedule_eth, start=1):
        q_mem *= decay * decay
        q_all += q
        q_mem = q_mem + q if decay > 0.0 else 0.0
        out[k] = impact_fraction_py(q_all, q_mem, y_sigma, impact.adv_eth, impact.permanent_frac)
    return out


@dataclass(frozen=True, eq=False)
class ReplayResult:
    """The replay: paths with and without the fund, the reported schedule, counterfactuals."""

    inputs: ReplayInputs
    own_impact: FloatArray1D  # I_own at each step
    no_fund_usd: FloatArray1D  # realized / (1 - I_own)
    reported: UnwindResult  # the reported schedule on the no-fund path
    counterfactuals: SimulationResult

    @property
    def times(self) -> pd.DatetimeIndex:
        """UTC time of each step."""
        return pd.date_range(
            self.inputs.start,
            periods=self.inputs.n_steps + 1,
            freq=pd.Timedelta(hours=self.inputs.step_hours),
        )

    @property
    def modelled_avg_price_usd(self) -> float:
        """Average fill of the reported schedule in the model."""
        sold = float(self.reported.sold_total_eth[0])
        return float(self.reported.proceeds_usd[0]) / sold if sold > 0 else math.nan

    @property
    def replay_error_pct(self) -> float:
        """Largest gap between the engine's mid on the replay and the realized path (%)."""
        gap = self.reported.mid_usd[0] / self.inputs.realized_usd - 1.0
        return float(100.0 * np.max(np.abs(gap)))

    def decomposition(self) -> dict[str, float]:
        """The window's drawdown, start to the lowest traded price, in log points (%).

        ``own_impact`` is the fund's modelled impact at the step of the hourly low;
        ``rest`` is everything else: other sellers, liquidations, the market's own move.
        """
        start = float(self.inputs.realized_usd[0])
        low = float(self.inputs.realized_low_usd)
        k_low = int(np.argmin(self.inputs.realized_usd))
        total = 100.0 * math.log(start / low)
        own = 100.0 * -math.log(1.0 - float(self.own_impact[k_low]))
        return {
            "start_price_usd": start,
            "low_price_usd": low,
            "drawdown_pct": 100.0 * (1.0 - low / start),
            "drawdown_log_pct": total,
            "own_impact_log_pct": own,
            "rest_log_pct": total - own,
            "own_impact_share": own / total if total > 0 else math.nan,
            "own_impact_at_end_pct": 100.0 * float(self.own_impact[-1]),
            "no_fund_low_usd": float(np.min(self.no_fund_usd)),
        }

    def counterfactual_frame(self) -> pd.DataFrame:
        """One row per strategy, on the same no-fund path with the owner's own impact."""
        rows = []
        results: list[UnwindResult] = [self.reported, *self.counterfactuals.results]
        for result in results:
            sold = float(result.sold_total_eth[0])
            rows.append(
                {
                    "strategy": result.strategy,
                    "sold_eth": sold,
                    "avg_sale_price_usd": float(result.proceeds_usd[0]) / sold
                    if sold
                    else math.nan,
                    "liquidated": bool(result.liquidated[0]),
                    "seized_eth": float(result.seized_total_eth[0]),
                    "bad_debt_usd": float(result.bad_debt_usd[0]),
                    "eth_left": float(result.eth_left[0]),
                    "debt_left_usd": float(result.final_debt_usd[0]),
                    "min_health_factor": float(np.min(result.health_factor[0])),
                    "final_price_usd": float(result.mid_usd[0, -1]),
                    "total_pnl_usd": float(result.total_pnl_usd[0]),
                    "liquidity_discount_usd": float(result.liquidity_discount_usd[0]),
                    "held_back_eth": float(result.unfilled_eth[0]),
                }
            )
        return pd.DataFrame(rows).set_index("strategy")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``delever replay``."""
        frame = self.counterfactual_frame()
        return {
            "start": self.inputs.start.isoformat(),
            "n_steps": self.inputs.n_steps,
            "step_hours": self.inputs.step_hours,
            "reported_sold_eth": float(self.inputs.schedule_eth.sum()),
            "reported_avg_price_usd": self.inputs.reported_avg_price_usd,
            "modelled_avg_price_usd": self.modelled_avg_price_usd,
            "modelled_vs_reported_pct": 100.0
            * (self.modelled_avg_price_usd / self.inputs.reported_avg_price_usd - 1.0),
            "realized_low_usd": self.inputs.realized_low_usd,
            "replay_error_pct": self.replay_error_pct,
            "decomposition": self.decomposition(),
            "counterfactuals": {
                name: {key: row[key] for key in frame.columns} for name, row in frame.iterrows()
            },
            "notes": list(self.inputs.notes),
        }


def run_replay(
    inputs: ReplayInputs,
    strategies: Sequence[Strategy],
    *,
    config: SimConfig | None = None,
) -> ReplayResult:
    """Back out the fund's impact, replay its schedule, and run ``strategies`` on the same days.

    Parameters
    ----------
    inputs
        The realized path, the reported schedule, the position at the start, the market
        (fitted before the event), the reserves and the oracle.
    strategies
        Counterfactual strategies (e.g. hold, sell everything at once, Almgren-Chriss, HF
        ladder), each run on the no-fund path with its own impact.

    Returns
    -------
    ReplayResult
    """
    cfg = config or SimConfig(step_hours=inputs.step_hours)
    own = own_impact_fraction(inputs.schedule_eth, inputs.market, inputs.step_hours)
    if np.any(own >= 1.0):
        raise InvalidArgument("the reported schedule exceeds the square-root law's capacity.")
    no_fund = inputs.realized_usd / (1.0 - own)
    paths = no_fund[None, :]
    reported = simulate_strategies(
        inputs.position,
        [Schedule(tuple(inputs.schedule_eth.tolist()), label="reported")],
        paths,
        market=inputs.market,
        lending=inputs.lending,
        oracle=inputs.oracle,
        config=cfg,
    ).results[0]
    counterfactuals = simulate_strategies(
        inputs.position,
        list(strategies),
        paths,
        market=inputs.market,
        lending=inputs.lending,
        oracle=inputs.oracle,
        config=cfg,
    )
    return ReplayResult(inputs, own, no_fund, reported, counterfactuals)


__all__ = ["ReplayInputs", "ReplayResult", "own_impact_fraction", "run_replay"]
