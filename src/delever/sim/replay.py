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
from scipy.optimize import brentq

from delever._typing import FloatArray1D
from delever.errors import InvalidArgument
from delever.kernels.impact_law import add_volume_py, decay_memory_py, impact_fraction_py
from delever.kernels.records import ImpactLaw
from delever.market.impact import half_life_to_rate
from delever.market.liquidity import StateLiquidity, path_depth_eth, path_state
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

START_RULE = (
    "start position: the reported end state (the scenario's accounts) plus the sold ETH and "
    "the sale proceeds, split over the accounts so that they all stood at one health factor "
    "at the start (equal liquidation prices); each account's share of every sale is fixed "
    "and its proceeds repay its own debt, so the reported schedule ends at the accounts' "
    "reported ETH and debt (rule, estimate)"
)


@dataclass(frozen=True)
class StartRebuild:
    """The position before a reported unwind, rebuilt from the position after it.

    Attributes
    ----------
    position : the start position (the end state plus each account's share of the sales).
    account_split : fixed share of every sale taken from each account (sums to 1).
    start_liquidation_price_usd : each account's liquidation price at the start.
    iterations : engine runs used to match the end state.
    end_eth_gap : largest |ETH left - end state| over the accounts after the last run.
    end_debt_gap_usd : largest |debt left - end state| over the accounts (USD).
    """

    position: UnwindPosition
    account_split: tuple[float, ...]
    start_liquidation_price_usd: tuple[float, ...]
    iterations: int
    end_eth_gap: float
    end_debt_gap_usd: float


def equal_start_split(end: UnwindPosition, sold_eth: float, price_usd: float) -> FloatArray1D:
    """ETH sold from each account so that all accounts had one liquidation price before.

    An account that ends with ``c`` ETH and ``d`` debt and sold ``s`` at ``price_usd`` (the
    proceeds repaying its debt) started at the liquidation price
    ``L = (d + s p) / ((c + s) LT)``. Setting every ``L`` to one ``L0`` gives
    ``s = (L0 LT c - d) / (p - L0 LT)``; ``L0`` solves ``sum s = sold_eth`` (monotone; an
    account whose end liquidation price is already above ``L0`` sells nothing). This is the
    split that makes the highest start liquidation price as low as it can be, since the
    position's overall liquidation price is the collateral-weighted mean of the accounts'.
    """
    c = end.collateral_eth
    d = end.debt_usd
    lt = end.liquidation_threshold
    if sold_eth <= 0.0:
        return np.zeros_like(c)
    if not price_usd > float(np.max(d / c)):
        raise InvalidArgument(f"price_usd={price_usd:,.2f} is at or below an account's "
                              "liquidation value per ETH; the sales could not have reduced its "
                              "risk, so no equal-health start exists.")

    def sold_at(level_usd: float) -> FloatArray1D:
        out: FloatArray1D = np.maximum(level_usd * lt * c - d, 0.0) / (price_usd - level_usd * lt)
        return out

    low = float(np.min(d / (c * lt)))
    high = price_usd / float(np.max(lt)) * (1.0 - 1e-12)
    level = brentq(lambda x: float(sold_at(x).sum()) - sold_eth, low, high, xtol=1e-9)
    return sold_at(level) * (sold_eth / float(sold_at(level).sum()))


def rebuild_start(
    end: UnwindPosition,
    schedule_eth: FloatArray1D,
    exogenous_usd: FloatArray1D,
    *,
    market: UnwindMarket,
    lending: LendingParams,
    oracle: OracleLike,
    price_usd: float,
    config: SimConfig | None = None,
    rounds: int = 4,
) -> StartRebuild:
    """The start position from which ``schedule_eth`` on ``exogenous_usd`` ends at ``end``.

    The split is :func:`equal_start_split` at the average sale price; the debt added back is
    then corrected by running the engine (its fills, interest and repayments) until every
    account ends at its ``end`` debt, and the split is recomputed at the modelled average
    price; ``rounds`` outer rounds of three engine runs each (it converges in two).
    """
    schedule = np.ascontiguousarray(schedule_eth, dtype=np.float64)
    sold = float(schedule.sum())
    cfg = config or SimConfig()
    paths = np.ascontiguousarray(exogenous_usd, dtype=np.float64)[None, :]
    price = float(price_usd)
    runs = 0
    start = end
    split = np.full(len(end.names), 1.0 / len(end.names))
    result: UnwindResult | None = None
    for _ in range(rounds):
        eth_sold = equal_start_split(end, sold, price)
        split = eth_sold / sold if sold > 0 else split
        debt_added = eth_sold * price
        for _ in range(3):
            start = UnwindPosition(end.names, end.collateral_eth + eth_sold,
                                   end.debt_usd + debt_added, end.liquidation_threshold,
                                   end.liquidation_bonus, end.protocol_fee,
                                   end.cost_basis_usd_per_eth)
            strategy = Schedule(tuple(schedule.tolist()), label="reported",
                                account_split=tuple(split.tolist()))
            result = simulate_strategies(start, [strategy], paths, market=market,
                                         lending=lending, oracle=oracle, config=cfg).results[0]
            runs += 1
            if bool(result.liquidated[0]):
                break  # no fixed point past a liquidation; the replay reports it
            debt_added = debt_added + (end.debt_usd - result.account_debt_usd[0])
        if result is None or bool(result.liquidated[0]) or result.sold_total_eth[0] <= 0:
            break
        price = float(result.proceeds_usd[0] / result.sold_total_eth[0])
    assert result is not None
    start_liq = start.debt_usd / (start.collateral_eth * start.liquidation_threshold)
    return StartRebuild(
        position=start,
        account_split=tuple(float(x) for x in split),
        start_liquidation_price_usd=tuple(float(x) for x in start_liq),
        iterations=runs,
        end_eth_gap=float(np.max(np.abs(result.account_eth_left[0] - end.collateral_eth))),
        end_debt_gap_usd=float(np.max(np.abs(result.account_debt_usd[0] - end.debt_usd))),
    )


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
    rebuild: StartRebuild | None = None  # how ``position`` was rebuilt, with the sales' split
    end_position: UnwindPosition | None = None  # the reported end state, to check against

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


def market_law(market: UnwindMarket | ImpactLaw, step_hours: float) -> ImpactLaw:
    """The ``ImpactLaw`` the unwind engine walks for ``market`` (a law is returned as is).

    ``market.impact.kernel_law`` with the market's transient half-life as the decay rate
    (``ln 2 / half-life``; none: the transient part is gone at once).
    """
    if isinstance(market, ImpactLaw):
        return market
    half_life_s = 3600.0 * market.transient_half_life_hours
    return market.impact.kernel_law(3600.0 * step_hours)._replace(
        decay_per_s=half_life_to_rate(half_life_s))


def own_impact_fraction(
    schedule_eth: FloatArray1D,
    market: UnwindMarket | ImpactLaw,
    step_hours: float,
    *,
    depth_eth: FloatArray1D | None = None,
) -> FloatArray1D:
    """``I_own`` at the end of each step: the engine's impact of the schedule alone.

    The kernels' law (:mod:`delever.kernels.impact_law`): every step the memory decays
    (``decay_memory``), the step's sale is added (``add_volume``) and ``impact_fraction`` is
    read at that step's depth: ``depth_eth[k]`` (``(n_steps + 1,)``, e.g. thinned by
    :func:`delever.market.liquidity.path_depth_eth`), or the law's fixed ``adv_eth``. Entry 0
    (the start) is 0.
    """
    law = market_law(market, step_hours)
    step_s = 3600.0 * step_hours
    out = np.zeros(schedule_eth.size + 1)
    q_perm = q_mem = 0.0
    for k, q in enumerate(schedule_eth, start=1):
        q_mem = decay_memory_py(law, q_mem, step_s)
        q_perm, q_mem = add_volume_py(law, q_perm, q_mem, float(q))
        depth = law.adv_eth if depth_eth is None else float(depth_eth[k])
        out[k] = impact_fraction_py(law, q_perm, q_mem, depth)
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
        return drawdown_decomposition(self.inputs, self.own_impact)

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
            "start_position": self.start_position(),
            "end_state": self.end_state(),
            "notes": list(self.inputs.notes),
        }

    def start_position(self) -> dict[str, Any]:
        """Each account at the start: ETH, debt, liquidation price, share of the sales."""
        pos = self.inputs.position
        rebuild = self.inputs.rebuild
        shares = rebuild.account_split if rebuild is not None else tuple(
            float(x) for x in pos.collateral_eth / pos.total_eth)
        liq = pos.debt_usd / (pos.collateral_eth * pos.liquidation_threshold)
        return {
            "total_eth": pos.total_eth,
            "total_debt_usd": pos.total_debt_usd,
            "accounts": [
                {"name": name, "collateral_eth": float(c), "debt_usd": float(d),
                 "liquidation_price_usd": float(p), "share_of_sales": float(w)}
                for name, c, d, p, w in zip(pos.names, pos.collateral_eth, pos.debt_usd, liq,
                                            shares, strict=True)
            ],
        }

    def end_state(self) -> dict[str, Any]:
        """Where the reported schedule ends in the model, beside the reported end state."""
        res = self.reported
        pos = self.inputs.position
        eth = res.account_eth_left[0]
        debt = res.account_debt_usd[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            liq = np.where(eth > 0, debt / (eth * pos.liquidation_threshold), np.inf)
        out: dict[str, Any] = {
            "liquidated": bool(res.liquidated[0]),
            "eth_left": float(eth.sum()),
            "debt_usd": float(debt.sum()),
            "liquidation_prices_usd": {n: float(x) for n, x in zip(pos.names, liq, strict=True)},
        }
        end = self.inputs.end_position
        if end is not None:
            out["reported_eth"] = end.total_eth
            out["reported_debt_usd"] = end.total_debt_usd
            out["reported_liquidation_prices_usd"] = {
                n: float(d / (c * lt)) for n, c, d, lt in zip(
                    end.names, end.collateral_eth, end.debt_usd, end.liquidation_threshold,
                    strict=True)}
        return out


def drawdown_decomposition(inputs: ReplayInputs, own_impact: FloatArray1D) -> dict[str, float]:
    """The drawdown of ``inputs``' window split into the fund's impact ``own_impact`` (at the
    step of the hourly low) and the rest, in log points (%); see
    :meth:`ReplayResult.decomposition`."""
    start = float(inputs.realized_usd[0])
    low = float(inputs.realized_low_usd)
    k_low = int(np.argmin(inputs.realized_usd))
    total = 100.0 * math.log(start / low)
    own = 100.0 * -math.log(1.0 - float(own_impact[k_low]))
    return {
        "start_price_usd": start,
        "low_price_usd": low,
        "drawdown_pct": 100.0 * (1.0 - low / start),
        "drawdown_log_pct": total,
        "own_impact_log_pct": own,
        "rest_log_pct": total - own,
        "own_impact_share": own / total if total > 0 else math.nan,
        "own_impact_at_end_pct": 100.0 * float(own_impact[-1]),
        "no_fund_low_usd": float(np.min(inputs.realized_usd / (1.0 - own_impact))),
    }


def state_liquidity_own_impact(
    inputs: ReplayInputs,
    liquidity: StateLiquidity,
    *,
    initial_var_per_day: float,
    initial_peak_usd: float | None = None,
) -> FloatArray1D:
    """``I_own`` with the depth thinned along the realized path (state-dependent liquidity).

    The realized path's EWMA volatility and drawdown from the running peak
    (:func:`delever.market.liquidity.path_state`, seeded with ``initial_var_per_day`` and
    ``initial_peak_usd``) thin the market's depth at each step
    (:func:`delever.market.liquidity.path_depth_eth`), and :func:`own_impact_fraction`
    reads the impact there. The engine, walking the same law on the replay, sees the same
    state: its mid is the realized path.
    """
    law = liquidity.apply(market_law(inputs.market, inputs.step_hours))
    vol, drawdown = path_state(inputs.realized_usd, 3600.0 * inputs.step_hours, liquidity,
                               initial_var_per_day, initial_peak_usd)
    depth = path_depth_eth(law, vol, drawdown)
    return own_impact_fraction(inputs.schedule_eth, law, inputs.step_hours, depth_eth=depth)


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
    split = inputs.rebuild.account_split if inputs.rebuild is not None else None
    reported = simulate_strategies(
        inputs.position,
        [Schedule(tuple(inputs.schedule_eth.tolist()), label="reported", account_split=split)],
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


__all__ = [
    "START_RULE",
    "ReplayInputs",
    "ReplayResult",
    "StartRebuild",
    "drawdown_decomposition",
    "equal_start_split",
    "market_law",
    "own_impact_fraction",
    "rebuild_start",
    "run_replay",
    "state_liquidity_own_impact",
]
