"""2. Margin buffer: the HF that survives the 1st-percentile k-day move (the market's impact,
book cascade and followers included; the owner's stated sales with their impact and their
repayments), and the ETH to add or the debt to repay to get there."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D, FloatArray2D
from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.sim.advise.common import (
    AdviceRun,
    Engine,
    PathSpec,
    Progress,
    health_factor,
    historical_log_returns,
    open_fraction,
)
from delever.sim.estimators import Estimate, quantile_ci
from delever.sim.montecarlo import Stream, map_chunks
from delever.sim.unwind import UnwindPosition
from delever.strategy import Schedule
from delever.strategy.base import Hold, Strategy

OWN_IMPACT = (
    "own impact = the square-root impact (permanent and transient) of the owner's own stated "
    "sales (sell_eth_per_day, sold evenly every step; 0: the position holds) on the mid, "
    "with the proceeds repaying debt in the survival test; the position is never liquidated "
    "in the window at the required HF (by construction), hence no own-liquidation selling; "
    "the market's book cascade and followers act on the mid as the market passed in defines "
    "them; interest over the window is ignored"
)


@dataclass(frozen=True)
class _WindowTask:
    engine: Engine
    position: UnwindPosition
    sell_eth_per_step: float
    window_steps: tuple[int, ...]
    paths: PathSpec


def _window_task(task: _WindowTask) -> FloatArray2D:
    """Per path, the running minimum of the survival ratio (see :func:`margin_buffer`)."""
    exo, oracle = task.paths.draw_exo()
    pos = replace(task.position, debt_usd=np.zeros_like(task.position.debt_usd))
    n = exo.shape[1] - 1
    if task.sell_eth_per_step > 0:
        strategy: Strategy = Schedule(tuple([task.sell_eth_per_step] * n), label="stated-sale")
    else:
        strategy = Hold()
    res = task.engine.run(pos, [strategy], exo, oracle).results[0]
    c0 = pos.total_eth
    # the collateral is valued at the oracle: the mid where the oracle follows it, the
    # exchange rate for a loop (whose proceeds still come at the mid)
    valued = res.mid_usd if oracle is None else res.oracle_usd
    p0 = valued[:, :1]
    lt = float(np.dot(pos.collateral_eth, pos.liquidation_threshold) / c0)
    sold = np.cumsum(res.sold_eth, axis=1)
    # with no debt the proceeds stay in cash: cash_usd is the proceeds so far
    ratio = (1.0 - sold / c0) * (valued / p0) + res.cash_usd / (c0 * p0 * lt)
    running = np.minimum.accumulate(ratio, axis=1)
    out: FloatArray2D = np.ascontiguousarray(running[:, list(task.window_steps)])
    return out


@dataclass(frozen=True)
class AccountBuffer:
    """One account (or the total) against a required HF.

    ``add_collateral_eth = max(0, H d / (p LT) - c)``, ``repay_debt_usd = max(0,
    d - c p LT / H)`` (either alone reaches ``H``; from ``HF = c p LT / d``).
    """

    name: str
    collateral_eth: float
    debt_usd: float
    current_hf: float
    required_hf: float
    add_collateral_eth: float
    repay_debt_usd: float

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, and ``liquidatable_now`` (HF below 1 at the mark)."""
        return {"name": self.name, "collateral_eth": self.collateral_eth,
                "debt_usd": self.debt_usd, "current_hf": self.current_hf,
                "required_hf": self.required_hf, "add_collateral_eth": self.add_collateral_eth,
                "repay_debt_usd": self.repay_debt_usd,
                "liquidatable_now": self.liquidatable_now}

    @property
    def liquidatable_now(self) -> bool:
        """HF below 1 at the mark: Aave lets anyone liquidate it now."""
        return self.current_hf < 1.0


def account_buffers(position: UnwindPosition, price_usd: float,
                    required_hf: float) -> tuple[AccountBuffer, ...]:
    """Per account, then ``"total"`` (sums; its HF is the aggregate ``sum c p LT / sum d``)."""
    c, d, lt = position.collateral_eth, position.debt_usd, position.liquidation_threshold
    h = float(required_hf)
    rows = []
    for i, name in enumerate(position.names):
        hf = float(health_factor(c[i], d[i], price_usd, lt[i]))
        add = max(0.0, h * d[i] / (price_usd * lt[i]) - c[i]) if d[i] > 0 else 0.0
        repay = max(0.0, d[i] - c[i] * price_usd * lt[i] / h)
        rows.append(AccountBuffer(name, float(c[i]), float(d[i]), hf, h, float(add),
                                  float(repay)))
    total_hf = float(health_factor(float((c * lt).sum()), float(d.sum()), price_usd, 1.0))
    rows.append(AccountBuffer("total", float(c.sum()), float(d.sum()), total_hf, h,
                              math.fsum(r.add_collateral_eth for r in rows),
                              math.fsum(r.repay_debt_usd for r in rows)))
    return tuple(rows)


@dataclass(frozen=True)
class BufferRow:
    """One path source and window: the worst-case ratio and what it asks of the accounts.

    ``ratio``: the ``quantile`` (default 1st percentile) over paths of min over the window of
    mid / start, with its order-statistic 95% interval; ``required_hf = 1 / ratio`` (its
    interval ``[1/high, 1/low]``).
    """

    source: str
    window_days: float
    ratio: Estimate
    required_hf: Estimate
    accounts: tuple[AccountBuffer, ...]

    def to_dict(self) -> dict[str, Any]:
        """``source, window_days, ratio{value,low,high}, required_hf{...}, accounts[...]``."""
        return {"source": self.source, "window_days": self.window_days,
                "ratio": self.ratio.to_dict(), "required_hf": self.required_hf.to_dict(),
                "accounts": [a.to_dict() for a in self.accounts]}


@dataclass(frozen=True)
class MarginBufferResult(ResultContract):
    """:func:`margin_buffer`'s answer. ``recommended_hf``: the largest required HF of all rows
    (the longest window, the worse source)."""

    quantile: float
    n_paths: int
    mark_price_usd: float
    sell_eth_per_day: float
    own_impact: str
    rows: tuple[BufferRow, ...]

    @property
    def recommended_hf(self) -> float:
        """The largest required HF over the rows."""
        return max(r.required_hf.value for r in self.rows)

    def row(self, source: str, window_days: float) -> BufferRow:
        """The row of ``source`` and ``window_days``."""
        for r in self.rows:
            if r.source == source and r.window_days == window_days:
                return r
        raise KeyError((source, window_days))

    def to_dict(self) -> dict[str, Any]:
        """``quantile, n_paths, mark_price_usd, sell_eth_per_day, own_impact,
        recommended_hf, rows[BufferRow]``."""
        return {"quantile": self.quantile, "n_paths": self.n_paths,
                "mark_price_usd": self.mark_price_usd,
                "sell_eth_per_day": self.sell_eth_per_day, "own_impact": self.own_impact,
                "recommended_hf": self.recommended_hf,
                "rows": [r.to_dict() for r in self.rows]}


def margin_buffer(
    position: UnwindPosition,
    run: AdviceRun,
    *,
    windows_days: Sequence[float] = (3.0, 7.0),
    quantile: float = 0.01,
    model_step_hours: float = 1.0,
    bootstrap_returns: FloatArray1D | None = None,
    bootstrap_step_hours: float = 24.0,
    block_length: float = 10.0,
    sell_eth_per_day: float = 0.0,
    progress: Progress | None = None,
) -> MarginBufferResult:
    """The lowest HF that survives a k-day move at the 99th percentile, per account.

    Parameters
    ----------
    position : the accounts.
    run : market (its impact, book and followers act on the mid), reserves, mark, paths per
        source (the model and bootstrap streams are independent), sigma, oracle, client.
    windows_days : the windows k (default 3 and 7 days).
    quantile : the tail probability (default 0.01: the 99th percentile move).
    model_step_hours : GBM steps (hourly).
    bootstrap_returns, bootstrap_step_hours, block_length : log returns to bootstrap (default
        :func:`historical_log_returns`, daily, demeaned), their step, mean block length.
        ``bootstrap_returns`` of size 0 skips the bootstrap source.
    sell_eth_per_day : the owner's stated sales during the window (default 0: hold).
    progress : (tasks done, total).

    Returns
    -------
    MarginBufferResult (rows: model then bootstrap, each window in order).

    Notes
    -----
    ``HF = c p LT / d``. Selling ``s_t`` ETH (cumulative) for ``q_t`` USD and repaying debt
    with it, the position survives a path iff ``HF0 * r >= 1`` with
    ``r = min_t [(1 - s_t / c0) p_t / p_0 + q_t / (c0 p_0 LT)]`` (``min p_t / p_0`` when
    holding). The required HF at tail probability ``q`` is ``1 / r_q``, ``r_q`` the
    ``q``-quantile of ``r`` over paths (the position as one account; stated sales taken from
    the accounts in proportion to their collateral). What "own impact" covers:
    :data:`OWN_IMPACT`. Daily bootstrap steps see only daily closes, so they understate
    intraday lows (the model source is hourly).
    """
    q = open_fraction("quantile", quantile)
    check_non_negative("sell_eth_per_day", sell_eth_per_day)
    windows = tuple(float(check_positive("windows_days", w)) for w in windows_days)
    if not windows:
        raise InvalidArgument("windows_days is empty; give at least one window, e.g. 3.")
    returns = historical_log_returns() if bootstrap_returns is None else np.asarray(
        bootstrap_returns, dtype=np.float64)
    if run.path_model is not None:  # ETH/USD returns do not apply to a loop's exchange rate
        returns = np.empty(0)
    sources: list[tuple[str, float, Stream, FloatArray1D | None]] = [
        ("model", check_positive("model_step_hours", model_step_hours), Stream.BUFFER_MODEL,
         None)]
    if returns.size:
        sources.append(("bootstrap", check_positive("bootstrap_step_hours",
                                                    bootstrap_step_hours),
                        Stream.BUFFER_BOOTSTRAP, returns))
    tasks: list[_WindowTask] = []
    owners: list[int] = []
    for j, (_, step_h, stream, rets) in enumerate(sources):
        steps = tuple(max(1, round(w * 24.0 / step_h)) for w in windows)
        specs = run.specs(stream, max(steps), step_h, returns=rets, block_length=block_length)
        per_step = sell_eth_per_day * step_h / 24.0
        tasks += [_WindowTask(run.engine(step_h), position, per_step, steps, spec)
                  for spec in specs]
        owners += [j] * len(specs)
    parts = list(map_chunks(_window_task, tasks, client=run.client, progress=progress))
    mark = float(run.mark_price_usd)
    rows = []
    for j, (name, _, _, _) in enumerate(sources):
        mins = np.concatenate([p for p, o in zip(parts, owners, strict=True) if o == j])
        for col, w in enumerate(windows):
            r = quantile_ci(mins[:, col], q)
            hf = Estimate(1.0 / r.value, 1.0 / r.high, 1.0 / r.low)
            rows.append(BufferRow(name, w, r, hf, account_buffers(position, mark, hf.value)))
    return MarginBufferResult(q, int(run.n_paths), mark, float(sell_eth_per_day), OWN_IMPACT,
                              tuple(rows))


__all__ = ["OWN_IMPACT", "AccountBuffer", "BufferRow", "MarginBufferResult", "account_buffers",
           "margin_buffer"]
