"""4. After the unwind: hold or sell into rebounds; time to recover the cost basis and final
P&L, on bootstrap and model paths."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D
from delever.errors import check_positive
from delever.sim.advise.common import (
    SUMMARY_QUANTILES,
    AdviceRun,
    Engine,
    PathSpec,
    Progress,
    historical_log_returns,
)
from delever.sim.montecarlo import Stream, map_chunks
from delever.sim.unwind import UnwindPosition
from delever.strategy import SellIntoRebounds
from delever.strategy.base import Hold, Strategy


@dataclass(frozen=True)
class _AfterTask:
    engine: Engine
    position: UnwindPosition
    strategies: tuple[Strategy, ...]
    paths: PathSpec


def _after_task(task: _AfterTask) -> list[dict[str, FloatArray1D]]:
    exo, oracle = task.paths.draw_exo()
    res = task.engine.run(task.position, task.strategies, exo, oracle)
    return [{"recovery_step": r.recovery_step.astype(np.float64),
             "total_pnl_usd": r.total_pnl_usd.copy(),
             "liquidated": r.liquidated.astype(np.float64)} for r in res.results]


@dataclass(frozen=True)
class Distribution:
    """Quantiles (``SUMMARY_QUANTILES``) and mean of a per-path outcome.

    ``quantiles[i]`` is an observed value (inverted CDF); None where it is "never" (infinite).
    ``mean`` is over the finite values only.
    """

    quantiles: tuple[float | None, ...]
    mean: float | None

    @classmethod
    def of(cls, values: FloatArray1D) -> Distribution:
        """From per-path values (inf = never)."""
        x = np.sort(np.asarray(values, dtype=np.float64))
        qs = np.quantile(x, SUMMARY_QUANTILES, method="inverted_cdf")
        finite = x[np.isfinite(x)]
        return cls(tuple(float(v) if math.isfinite(v) else None for v in qs),
                   float(finite.mean()) if finite.size else None)

    def to_dict(self) -> dict[str, Any]:
        """``p05, p25, p50, p75, p95, mean``."""
        keys = [f"p{round(100 * q):02d}" for q in SUMMARY_QUANTILES]
        return {**dict(zip(keys, self.quantiles, strict=True)), "mean": self.mean}


@dataclass(frozen=True, eq=False)
class AfterRow:
    """One strategy on one path source: time to recover the cost basis and final P&L.

    ``recovery_days``: first day the mid (own impact included) is at or above the cost
    basis; ``share_recovered`` the share of paths where that happens within the horizon.
    Per-path arrays are kept for the figures (``recovery_days`` inf where never).
    """

    source: str
    strategy: str
    share_recovered: float
    p_liquidation: float
    recovery: Distribution
    final_pnl: Distribution
    recovery_days: FloatArray1D = field(repr=False)
    final_pnl_usd: FloatArray1D = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """``source, strategy, share_recovered, p_liquidation, recovery_days{p05..p95,mean},
        final_pnl_usd{p05..p95,mean}``."""
        return {"source": self.source, "strategy": self.strategy,
                "share_recovered": self.share_recovered, "p_liquidation": self.p_liquidation,
                "recovery_days": self.recovery.to_dict(),
                "final_pnl_usd": self.final_pnl.to_dict()}


@dataclass(frozen=True)
class AfterUnwindResult(ResultContract):
    """:func:`after_unwind`'s answer: rows (source x strategy) and the inputs."""

    horizon_days: float
    step_hours: float
    n_paths: int
    cost_basis_usd_per_eth: float
    demeaned: bool
    rows: tuple[AfterRow, ...]

    def row(self, source: str, strategy: str) -> AfterRow:
        """The row of ``source`` and ``strategy``."""
        for r in self.rows:
            if r.source == source and r.strategy == strategy:
                return r
        raise KeyError((source, strategy))

    def to_dict(self) -> dict[str, Any]:
        """``horizon_days, step_hours, n_paths, cost_basis_usd_per_eth, bootstrap_demeaned,
        rows[AfterRow]``."""
        return {"horizon_days": self.horizon_days, "step_hours": self.step_hours,
                "n_paths": self.n_paths, "cost_basis_usd_per_eth": self.cost_basis_usd_per_eth,
                "bootstrap_demeaned": self.demeaned, "rows": [r.to_dict() for r in self.rows]}


def after_unwind(
    position: UnwindPosition,
    run: AdviceRun,
    *,
    horizon_days: float = 730.0,
    step_hours: float = 24.0,
    bootstrap_returns: FloatArray1D | None = None,
    block_length: float = 10.0,
    rebounds: SellIntoRebounds | None = None,
    progress: Progress | None = None,
) -> AfterUnwindResult:
    """Hold, or sell into rebounds, after the unwind: recovery time and final P&L.

    Parameters
    ----------
    position : the position left after the unwind (its cost basis).
    run : market, reserves, mark, paths per source, GBM sigma (the model paths use the
        step), oracle, client.
    horizon_days, step_hours : default 730 days of daily steps.
    bootstrap_returns, block_length : log returns per step (default the shipped daily
        returns, demeaned: :func:`historical_log_returns`); size 0 skips the bootstrap.
    rebounds : the rebound rule (default :class:`SellIntoRebounds`'s illustrative 3% / 10%).
    progress : (tasks done, total).

    Returns
    -------
    AfterUnwindResult (rows: bootstrap hold, bootstrap rebound, model hold, model rebound).
    """
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    demeaned = bootstrap_returns is None
    returns = historical_log_returns() if bootstrap_returns is None else np.asarray(
        bootstrap_returns, dtype=np.float64)
    if run.path_model is not None:  # ETH/USD returns do not apply to a loop's exchange rate
        returns = np.empty(0)
    strategies: tuple[Strategy, ...] = (Hold(), rebounds or SellIntoRebounds())
    engine = run.engine(step_hours)
    sources: list[tuple[str, Stream, FloatArray1D | None]] = []
    if returns.size:
        sources.append(("bootstrap", Stream.AFTER_BOOTSTRAP, returns))
    sources.append(("model", Stream.AFTER_MODEL, None))
    tasks: list[_AfterTask] = []
    owners: list[int] = []
    for j, (_, stream, rets) in enumerate(sources):
        specs = run.specs(stream, n_steps, step_hours, returns=rets, block_length=block_length)
        tasks += [_AfterTask(engine, position, strategies, spec) for spec in specs]
        owners += [j] * len(specs)
    parts = list(map_chunks(_after_task, tasks, client=run.client, progress=progress))
    rows = []
    for j, (name, _, _) in enumerate(sources):
        mine = [p for p, o in zip(parts, owners, strict=True) if o == j]
        rows += [_row(name, strategy.name, [p[s] for p in mine], step_hours)
                 for s, strategy in enumerate(strategies)]
    return AfterUnwindResult(float(horizon_days), float(step_hours), int(run.n_paths),
                             position.cost_basis_usd_per_eth, demeaned, tuple(rows))


def _row(source: str, strategy: str, chunks: list[dict[str, FloatArray1D]],
         step_hours: float) -> AfterRow:
    """One (source, strategy) row from its chunks' per-path outcomes, in chunk order."""
    rec = np.concatenate([c["recovery_step"] for c in chunks])
    days = np.where(rec >= 0, rec * step_hours / 24.0, np.inf)
    pnl = np.concatenate([c["total_pnl_usd"] for c in chunks])
    liq = np.concatenate([c["liquidated"] for c in chunks])
    days.setflags(write=False)
    pnl.setflags(write=False)
    return AfterRow(source, strategy, float(np.isfinite(days).mean()), float(liq.mean()),
                    Distribution.of(days), Distribution.of(pnl), days, pnl)


__all__ = ["AfterRow", "AfterUnwindResult", "Distribution", "after_unwind"]
