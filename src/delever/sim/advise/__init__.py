"""Risk advice for a leveraged position: the lessons of a large unwind, as numbers.

Five questions, one module each, each a function with a frozen result and ``to_dict()``;
:func:`advise` (:mod:`.combined`) runs them all. The Monte Carlo ones share one run spec,
:class:`AdviceRun` (market, reserves, mark, paths, seed, sigma, oracle, Dask client), and
take only their own settings besides.

1. :func:`max_position` (:mod:`.size`, concentration vs liquidity): the largest multiple
   ``s`` of the position (collateral and debt together, same HF) that TWAP (and
   Almgren-Chriss) can unwind within a horizon at a mean impact cost below a cap, with
   P(liquidation) <= alpha.
2. :func:`margin_buffer` (:mod:`.buffer`): the HF that survives the 1st-percentile k-day move
   (the market's impact, book cascade and followers included; the owner's stated sales with
   their impact and their repayments), and the ETH to add or the debt to repay to get there.
3. :func:`staged_deleveraging` (:mod:`.staged`): the sales (proceeds repaying debt) that bring
   every account to that HF, cut into batches of bounded square-root discount, one per
   interval.
4. :func:`after_unwind` (:mod:`.after`): hold or sell into rebounds after the unwind: time to
   recover the cost basis and final P&L, on bootstrap and model paths.
5. :func:`leverage_heatmap` (:mod:`.heatmap`): "leverage at the previous high": HF now,
   P(liquidation) and expected loss over a grid of leverage x entry price.

Scale-out: every Monte Carlo evaluation is a list of tasks, one per chunk of the question's
stream of :class:`delever.sim.montecarlo.MonteCarlo` (streams ``MAX_POSITION`` ..
``HEATMAP``), run by :func:`delever.sim.montecarlo.map_chunks` (on Dask when the run has a
client); the chunking is fixed, so the results are the same, byte for byte, with no client,
1 worker or 2 workers.

Everything here is a model estimate: the square-root law's Y, sigma and ADV are calibrated
estimates, the bootstrap draws from 2020-2026 Binance returns with their drift removed by
default, and the GBM has zero price drift.
"""

from __future__ import annotations

from delever.sim.advise.after import AfterRow, AfterUnwindResult, Distribution, after_unwind
from delever.sim.advise.buffer import (
    OWN_IMPACT,
    AccountBuffer,
    BufferRow,
    MarginBufferResult,
    account_buffers,
    margin_buffer,
)
from delever.sim.advise.combined import STAGES, Advice, AdviceSettings, advise
from delever.sim.advise.common import (
    CHUNK_PATHS,
    SUMMARY_QUANTILES,
    AdviceRun,
    PathSpec,
    Progress,
    StageProgress,
    historical_log_returns,
    scaled_position,
)
from delever.sim.advise.heatmap import (
    DEFAULT_ENTRY_MULTIPLES,
    DEFAULT_LEVERAGES,
    CellRules,
    HeatmapResult,
    leverage_heatmap,
)
from delever.sim.advise.size import (
    UNWOUND_MIN,
    MaxPositionResult,
    PositionLimit,
    SizeStats,
    max_position,
)
from delever.sim.advise.staged import Batch, StagedPlan, staged_deleveraging

__all__ = [
    "CHUNK_PATHS",
    "DEFAULT_ENTRY_MULTIPLES",
    "DEFAULT_LEVERAGES",
    "OWN_IMPACT",
    "STAGES",
    "SUMMARY_QUANTILES",
    "UNWOUND_MIN",
    "AccountBuffer",
    "Advice",
    "AdviceRun",
    "AdviceSettings",
    "AfterRow",
    "AfterUnwindResult",
    "Batch",
    "BufferRow",
    "CellRules",
    "Distribution",
    "HeatmapResult",
    "MarginBufferResult",
    "MaxPositionResult",
    "PathSpec",
    "PositionLimit",
    "Progress",
    "SizeStats",
    "StageProgress",
    "StagedPlan",
    "account_buffers",
    "advise",
    "after_unwind",
    "historical_log_returns",
    "leverage_heatmap",
    "margin_buffer",
    "max_position",
    "scaled_position",
    "staged_deleveraging",
]
