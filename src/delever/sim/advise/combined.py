"""All five analyses on one position: :func:`advise` and its :class:`Advice`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from delever.sim.advise.after import AfterUnwindResult, after_unwind
from delever.sim.advise.buffer import MarginBufferResult, margin_buffer
from delever.sim.advise.common import AdviceRun, Progress, StageProgress
from delever.sim.advise.heatmap import CellRules, HeatmapResult, leverage_heatmap
from delever.sim.advise.size import MaxPositionResult, max_position
from delever.sim.advise.staged import StagedPlan, staged_deleveraging
from delever.sim.unwind import UnwindPosition


@dataclass(frozen=True)
class Advice:
    """The five answers (:func:`advise`)."""

    max_position: MaxPositionResult
    margin_buffer: MarginBufferResult
    staged: StagedPlan
    after_unwind: AfterUnwindResult
    heatmap: HeatmapResult
    seed: int
    n_paths: int

    def to_dict(self) -> dict[str, Any]:
        """``seed, n_paths, max_position, margin_buffer, staged_deleveraging, after_unwind,
        leverage_heatmap`` (each its result's ``to_dict()``)."""
        return {"seed": self.seed, "n_paths": self.n_paths,
                "max_position": self.max_position.to_dict(),
                "margin_buffer": self.margin_buffer.to_dict(),
                "staged_deleveraging": self.staged.to_dict(),
                "after_unwind": self.after_unwind.to_dict(),
                "leverage_heatmap": self.heatmap.to_dict()}


STAGES = ("max_position", "margin_buffer", "staged_deleveraging", "after_unwind",
          "leverage_heatmap")


@dataclass(frozen=True)
class AdviceSettings:
    """The questions' own settings (:func:`advise`).

    Attributes
    ----------
    alpha, max_cost_frac, horizon_days : :func:`max_position`'s caps and unwind horizon.
    buffer_windows_days : :func:`margin_buffer`'s windows; its ``recommended_hf`` is the
        target of :func:`staged_deleveraging` (``max_batch_discount``, 24 h apart).
    buffer_sell_eth_per_day : the owner's sales during the buffer's windows (0: hold; e.g.
        the plan's daily sales), whose own impact and repayments the buffer counts.
    after_horizon_days : :func:`after_unwind`'s horizon (daily steps).
    heatmap_horizon_days, equity_usd : :func:`leverage_heatmap`'s window and equity (default
        the position's equity at its cost basis, ``ETH x cost - debt``, floored at 1 USD).
    """

    alpha: float = 0.05
    max_cost_frac: float = 0.02
    horizon_days: float = 5.0
    buffer_windows_days: Sequence[float] = (3.0, 7.0)
    max_batch_discount: float = 0.01
    buffer_sell_eth_per_day: float = 0.0
    after_horizon_days: float = 730.0
    heatmap_horizon_days: float = 30.0
    equity_usd: float | None = None


HEATMAP_MAX_PATHS = 500  # the heat map runs every cell on one chunk of at most this many


def advise(
    position: UnwindPosition,
    run: AdviceRun,
    settings: AdviceSettings = AdviceSettings(),
    *,
    progress: StageProgress | None = None,
) -> Advice:
    """Run the five analyses on one position and market.

    Parameters
    ----------
    position : the accounts.
    run : the market, reserves, price now, paths per Monte Carlo evaluation and one seed
        (an independent stream per question), oracle and client, shared by every question.
    settings : the questions' caps, windows and horizons.
    progress : called with (stage name, tasks done, tasks in stage).
    """
    def stage(name: str) -> Progress | None:
        if progress is None:
            return None
        cb = progress

        def call(done: int, total: int) -> None:
            cb(name, done, total)

        return call

    st = settings
    size = max_position(position, run, horizon_days=st.horizon_days,
                        max_cost_frac=st.max_cost_frac, alpha=st.alpha,
                        progress=stage("max_position"))
    buffer = margin_buffer(position, run, windows_days=st.buffer_windows_days,
                           sell_eth_per_day=st.buffer_sell_eth_per_day,
                           progress=stage("margin_buffer"))
    plan = staged_deleveraging(position, run.market, mark_price_usd=run.mark_price_usd,
                               target_hf=buffer.recommended_hf,
                               max_batch_discount=st.max_batch_discount)
    if progress is not None:
        progress("staged_deleveraging", 1, 1)
    after = after_unwind(position, run, horizon_days=st.after_horizon_days,
                         progress=stage("after_unwind"))
    e0 = (position.total_eth * position.cost_basis_usd_per_eth - position.total_debt_usd
          if st.equity_usd is None else st.equity_usd)
    rules = CellRules(float(position.liquidation_threshold[0]),
                      float(position.liquidation_bonus[0]), float(position.protocol_fee[0]))
    heat = leverage_heatmap(run.with_paths(max(1, min(run.n_paths, HEATMAP_MAX_PATHS))),
                            equity_usd=max(e0, 1.0), rules=rules,
                            horizon_days=st.heatmap_horizon_days,
                            progress=stage("leverage_heatmap"))
    return Advice(size, buffer, plan, after, heat, int(run.seed), int(run.n_paths))


__all__ = ["STAGES", "Advice", "AdviceSettings", "advise"]
