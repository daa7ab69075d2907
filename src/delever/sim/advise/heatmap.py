"""5. "Leverage at the previous high": HF now, P(liquidation) and expected loss over a grid
of leverage x entry price."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D, FloatArray2D
from delever.errors import InvalidArgument, check_positive
from delever.protocol import RESERVES
from delever.sim.advise.common import AdviceRun, Engine, PathSpec, Progress, health_factor
from delever.sim.montecarlo import MonteCarlo, Stream, map_chunks
from delever.sim.unwind import UnwindPosition
from delever.strategy.base import Hold


@dataclass(frozen=True)
class CellRules:
    """The heat map's one WETH account: Aave v3 Ethereum WETH by default (0.83, 5%, 10%:
    the reserve parameters of :data:`delever.protocol.RESERVES`)."""

    liquidation_threshold: float = RESERVES["WETH"].liquidation_threshold
    liquidation_bonus: float = RESERVES["WETH"].liquidation_bonus
    protocol_fee: float = RESERVES["WETH"].liquidation_protocol_fee


@dataclass(frozen=True)
class _HeatRowTask:
    engine: Engine
    leverage: float
    entry_prices_usd: tuple[float, ...]
    equity_usd: float
    mark_price_usd: float
    rules: CellRules
    paths: PathSpec


def _cell_position(task: _HeatRowTask, entry: float) -> UnwindPosition:
    return UnwindPosition(
        ("cell",), np.array([task.leverage * task.equity_usd / entry]),
        np.array([(task.leverage - 1.0) * task.equity_usd]),
        np.array([task.rules.liquidation_threshold]), np.array([task.rules.liquidation_bonus]),
        np.array([task.rules.protocol_fee]), entry)


def _heat_row_task(task: _HeatRowTask) -> FloatArray2D:
    """(n_entry, 3): HF now, P(liquidation), mean loss (USD) of each cell of the row."""
    exo, oracle = task.paths.draw_exo()
    mark = task.mark_price_usd
    out = np.empty((len(task.entry_prices_usd), 3))
    for j, entry in enumerate(task.entry_prices_usd):
        pos = _cell_position(task, entry)
        c, d = float(pos.collateral_eth[0]), float(pos.debt_usd[0])
        hf = float(health_factor(c, d, mark, task.rules.liquidation_threshold))
        if hf < 1.0:
            # Already liquidatable at the mark: liquidated (P = 1), at least the bonus on the
            # whole debt lost on top of the price move (a full close below HF 0.95).
            left = max(0.0, c * mark - (1.0 + task.rules.liquidation_bonus) * d)
            out[j] = (hf, 1.0, task.equity_usd - left)
            continue
        r = task.engine.run(pos, [Hold()], exo, oracle).results[0]
        equity = r.eth_left * r.mid_usd[:, -1] + r.final_cash_usd - r.final_debt_usd
        out[j] = (hf, float(r.liquidated.mean()), task.equity_usd - float(equity.mean()))
    return out


@dataclass(frozen=True, eq=False)
class HeatmapResult(ResultContract):
    """:func:`leverage_heatmap`'s grid: rows = leverage, columns = entry price.

    ``hf_now``, ``p_liquidation``, ``expected_loss_usd``: (n_leverage, n_entry) arrays;
    ``expected_loss_frac`` = loss / equity. Loss = entry equity - mean equity at the horizon
    (``ETH left x final mid + cash - debt``), so it includes the move from the entry price to
    the mark.
    """

    leverages: FloatArray1D
    entry_prices_usd: FloatArray1D
    entry_multiples: FloatArray1D
    equity_usd: float
    mark_price_usd: float
    horizon_days: float
    n_paths: int
    hf_now: FloatArray2D
    p_liquidation: FloatArray2D
    expected_loss_usd: FloatArray2D

    @property
    def expected_loss_frac(self) -> FloatArray2D:
        """Expected loss over the entry equity."""
        out: FloatArray2D = self.expected_loss_usd / self.equity_usd
        return out

    def to_dict(self) -> dict[str, Any]:
        """``leverages, entry_prices_usd, entry_multiples, equity_usd, mark_price_usd,
        horizon_days, n_paths, hf_now, p_liquidation, expected_loss_usd, expected_loss_frac``
        (grids as lists of rows, one row per leverage)."""
        return {"leverages": self.leverages.tolist(),
                "entry_prices_usd": self.entry_prices_usd.tolist(),
                "entry_multiples": self.entry_multiples.tolist(),
                "equity_usd": self.equity_usd, "mark_price_usd": self.mark_price_usd,
                "horizon_days": self.horizon_days, "n_paths": self.n_paths,
                "hf_now": self.hf_now.tolist(), "p_liquidation": self.p_liquidation.tolist(),
                "expected_loss_usd": self.expected_loss_usd.tolist(),
                "expected_loss_frac": self.expected_loss_frac.tolist()}


DEFAULT_LEVERAGES = (1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
DEFAULT_ENTRY_MULTIPLES = tuple(round(0.8 + 0.1 * i, 1) for i in range(11))  # 0.8 .. 1.8


def leverage_heatmap(
    run: AdviceRun,
    *,
    equity_usd: float,
    leverages: Sequence[float] = DEFAULT_LEVERAGES,
    entry_multiples: Sequence[float] = DEFAULT_ENTRY_MULTIPLES,
    rules: CellRules = CellRules(),
    horizon_days: float = 30.0,
    step_hours: float = 4.0,
    progress: Progress | None = None,
) -> HeatmapResult:
    """HF now, P(liquidation) and expected loss of a position entered with leverage ``L``.

    Parameters
    ----------
    run : market (impact, book, followers), reserves, the price now, paths (GBM, zero drift;
        the same paths for every cell: one chunk of ``Stream.HEATMAP`` for every row),
        sigma, oracle, client (one task per leverage row).
    equity_usd : the equity ``E0`` put in at entry; collateral ``L E0 / P_e`` ETH, debt
        ``(L - 1) E0`` USD (one WETH account, e.g. the scenario's equity at its cost basis).
    leverages, entry_multiples : the grid; entry price ``P_e = multiple x mark``.
    rules : the account's liquidation threshold, bonus and protocol fee.
    horizon_days, step_hours : holding window (default 30 days of 4-hour steps).
    progress : (rows done, rows).

    Notes
    -----
    ``HF now = L / (L - 1) x (mark / P_e) x LT``. Cells below 1 are reported liquidated
    (P = 1) and not simulated; their loss is ``E0 - max(0, c p - (1 + bonus) d)`` (a full
    close with the bonus, a lower bound on the loss). The others hold over the paths.
    """
    mark = float(run.mark_price_usd)
    e0 = check_positive("equity_usd", equity_usd)
    levs = np.array([float(x) for x in leverages], dtype=np.float64)
    mults = np.array([float(x) for x in entry_multiples], dtype=np.float64)
    if levs.size == 0 or mults.size == 0:
        raise InvalidArgument("leverages and entry_multiples must not be empty.")
    if np.any(~np.isfinite(levs)) or np.any(levs <= 1.0):
        raise InvalidArgument(f"leverages={levs.tolist()} must all be finite and > 1.")
    if np.any(~np.isfinite(mults)) or np.any(mults <= 0.0):
        raise InvalidArgument(f"entry_multiples={mults.tolist()} must all be > 0.")
    check_positive("horizon_days", horizon_days)
    check_positive("step_hours", step_hours)
    n_steps = max(1, round(horizon_days * 24.0 / step_hours))
    # One chunk of every path for every row: the same paths in every cell (common random
    # numbers); its seed is chunk 0 of the stream.
    ss = MonteCarlo(int(run.seed), int(run.n_paths), int(run.n_paths)).chunk_seed(
        Stream.HEATMAP, 0)
    spec = PathSpec(mark, int(run.n_paths), n_steps, ss, run.sigma * math.sqrt(step_hours / 24.0),
                    model=run.path_model, step_hours=float(step_hours))
    entries = tuple(float(m * mark) for m in mults)
    engine = run.engine(step_hours)
    tasks = [_HeatRowTask(engine, float(lev), entries, e0, mark, rules, spec) for lev in levs]
    grid = np.stack(list(map_chunks(_heat_row_task, tasks, client=run.client,
                                    progress=progress)))
    out = [np.ascontiguousarray(grid[:, :, i]) for i in range(3)]
    entry_arr = np.array(entries)
    for arr in (*out, levs, mults, entry_arr):
        arr.setflags(write=False)
    return HeatmapResult(levs, entry_arr, mults, e0, mark, float(horizon_days),
                         int(run.n_paths), out[0], out[1], out[2])


__all__ = ["DEFAULT_ENTRY_MULTIPLES", "DEFAULT_LEVERAGES", "CellRules", "HeatmapResult",
           "leverage_heatmap"]
