"""A Chainlink-style price feed over simulated mid-price paths, its calibration and its lag.

The feed writes a new answer when the mid moves by at least ``deviation`` from the last
answer, or when ``heartbeat_s`` seconds have passed (the rule of
:func:`delever.kernels.oracle.oracle_step`). :data:`CHAINLINK_ETH_USD` holds Chainlink's
published ETH/USD parameters, checked against the rounds recorded on chain
(``scripts/calibrate_oracle.py``; figures in ``delever/data/chainlink/eth_usd_calibration.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from delever._typing import ArrayLike, FloatArray2D
from delever.errors import InvalidArgument, check_non_negative, check_positive


@dataclass(frozen=True)
class OracleParams:
    """Update rule of a push oracle.

    Parameters
    ----------
    heartbeat_s
        Longest time between answers, seconds (``<= 0`` follows the mid every step).
    deviation
        Relative move from the last answer that forces an update, a fraction (0.005 = 0.5%;
        ``<= 0`` follows the mid every step).
    source
        Where the numbers come from.
    estimate
        True when either number is an estimate.
    """

    heartbeat_s: float
    deviation: float
    source: str
    estimate: bool

    def __post_init__(self) -> None:
        for name in ("heartbeat_s", "deviation"):
            value = float(getattr(self, name))
            if not math.isfinite(value):
                raise InvalidArgument(f"{name}={getattr(self, name)!r} must be finite.")
            object.__setattr__(self, name, value)
        if self.deviation >= 1.0:
            raise InvalidArgument(
                f"deviation={self.deviation!r} must be below 1; give a fraction, e.g. 0.005."
            )


# Chainlink's ETH/USD feed on Ethereum (0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419): 0.5%
# deviation threshold, 3,600 s heartbeat (data.chain.link feed page). Checked against 11,106
# recorded rounds, 2023-04-05..2024-01-29 (sajanrajdev/ape-chainlink-fetcher): gaps between
# rounds never exceed 3,720 s (median of the heartbeat-driven gaps 3,600 s; the excess is
# transmission delay), and the rounds that came early move the answer by 0.50%-0.55% in the
# main cluster (its 5th percentile 0.50%). The published values are used.
CHAINLINK_ETH_USD = OracleParams(
    heartbeat_s=3600.0,
    deviation=0.005,
    source=(
        "Chainlink ETH/USD (Ethereum) published heartbeat 3,600 s and deviation 0.5%; "
        "consistent with 11,106 recorded rounds 2023-04-05..2024-01-29 (max gap 3,720 s; "
        "early rounds cluster at |move| >= 0.50%), see delever/data/chainlink/"
        "eth_usd_calibration.json"
    ),
    estimate=False,
)


@dataclass(frozen=True)
class OracleCalibration:
    """Heartbeat and deviation threshold read off recorded feed rounds.

    Attributes
    ----------
    n_rounds
        Rounds used (after dropping empty ones).
    max_gap_s, median_gap_s, p99_gap_s
        Largest, median and 99th-percentile time between consecutive rounds, seconds.
    heartbeat_gap_median_s
        Median of the gaps at or above ``early_cutoff_s`` (the heartbeat-driven rounds).
    early_cutoff_s
        Gaps below this count as early (deviation-driven) rounds.
    n_early
        Number of early rounds.
    deviation_cluster_floor
        Moves below this are left out of the deviation cluster (small-move rounds).
    deviation_p05, deviation_median
        5th percentile and median of ``|answer_k / answer_{k-1} - 1|`` over early rounds in
        the cluster.
    share_early_small
        Share of early rounds that moved less than ``deviation_cluster_floor``.
    """

    n_rounds: int
    max_gap_s: float
    median_gap_s: float
    p99_gap_s: float
    heartbeat_gap_median_s: float
    early_cutoff_s: float
    n_early: int
    deviation_cluster_floor: float
    deviation_p05: float
    deviation_median: float
    share_early_small: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain numbers, rounded for a stable JSON file."""
        return {
            "n_rounds": self.n_rounds,
            "max_gap_s": round(self.max_gap_s, 3),
            "median_gap_s": round(self.median_gap_s, 3),
            "p99_gap_s": round(self.p99_gap_s, 3),
            "heartbeat_gap_median_s": round(self.heartbeat_gap_median_s, 3),
            "early_cutoff_s": round(self.early_cutoff_s, 3),
            "n_early": self.n_early,
            "deviation_cluster_floor": round(self.deviation_cluster_floor, 6),
            "deviation_p05": round(self.deviation_p05, 6),
            "deviation_median": round(self.deviation_median, 6),
            "share_early_small": round(self.share_early_small, 6),
        }


def calibrate_oracle(
    updated_at_s: ArrayLike,
    answer: ArrayLike,
    *,
    early_cutoff_s: float = 3500.0,
    cluster_floor: float = 0.004,
) -> OracleCalibration:
    """Infer heartbeat and deviation statistics from recorded rounds.

    Parameters
    ----------
    updated_at_s
        Update times of the rounds, unix seconds (any order; zero times are dropped).
    answer
        Answers of the same rounds (any scale; zero answers are dropped).
    early_cutoff_s
        A gap below this (seconds) marks a round that came before the heartbeat.
    cluster_floor
        Early moves below this fraction are counted apart: the recorded feed also writes
        rounds that moved far less than its threshold.

    Returns
    -------
    OracleCalibration

    Notes
    -----
    The heartbeat is read as the largest gap (an upper bound: transmission delay adds to it)
    and the median of heartbeat-driven gaps; the threshold as the lower edge (5th percentile)
    of the cluster of relative moves of early rounds.
    """
    times = np.asarray(updated_at_s, dtype=np.float64).ravel()
    values = np.asarray(answer, dtype=np.float64).ravel()
    if times.shape != values.shape:
        raise InvalidArgument("updated_at_s and answer must have the same length.")
    keep = (times > 0) & (values > 0) & np.isfinite(times) & np.isfinite(values)
    order = np.argsort(times[keep], kind="stable")
    times, values = times[keep][order], values[keep][order]
    if times.size < 3:
        raise InvalidArgument(f"need at least 3 non-empty rounds, got {times.size}.")
    gaps = np.diff(times)
    moves = np.abs(values[1:] / values[:-1] - 1.0)
    early = gaps < early_cutoff_s
    late = ~early
    early_moves = moves[early]
    cluster = early_moves[early_moves >= cluster_floor]
    return OracleCalibration(
        n_rounds=int(times.size),
        max_gap_s=float(gaps.max()),
        median_gap_s=float(np.median(gaps)),
        p99_gap_s=float(np.quantile(gaps, 0.99)),
        heartbeat_gap_median_s=float(np.median(gaps[late])) if late.any() else math.nan,
        early_cutoff_s=float(early_cutoff_s),
        n_early=int(early.sum()),
        deviation_cluster_floor=float(cluster_floor),
        deviation_p05=float(np.quantile(cluster, 0.05)) if cluster.size else math.nan,
        deviation_median=float(np.median(cluster)) if cluster.size else math.nan,
        share_early_small=float((early_moves < cluster_floor).mean()) if early.any() else (
            math.nan),
    )


def _as_paths(mid_paths: ArrayLike) -> FloatArray2D:
    mids = np.asarray(mid_paths, dtype=np.float64)
    if mids.ndim == 1:
        mids = mids[None, :]
    if mids.ndim != 2 or mids.shape[1] == 0:
        raise InvalidArgument(
            f"mid_paths has shape {mids.shape}; give (n_paths, n_steps) with n_steps >= 1."
        )
    if not np.all(np.isfinite(mids)) or np.any(mids <= 0):
        raise InvalidArgument("mid_paths must be finite and positive (USD per ETH).")
    out: FloatArray2D = np.ascontiguousarray(mids)
    return out


def oracle_path(
    mid_paths: ArrayLike,
    step_s: float,
    params: OracleParams = CHAINLINK_ETH_USD,
    *,
    initial_answer: ArrayLike | None = None,
    initial_age_s: float = 0.0,
) -> tuple[FloatArray2D, FloatArray2D]:
    """The feed's answer at each step of each mid-price path.

    Parameters
    ----------
    mid_paths
        Mid prices, USD, shape ``(n_paths, n_steps)`` (a 1-D path is one row).
    step_s
        Seconds between steps (> 0).
    params
        Update rule.
    initial_answer
        Answer on chain before the first step, USD (scalar or one per path); default the
        first mid of each path.
    initial_age_s
        Seconds since that answer was written.

    Returns
    -------
    tuple of two arrays ``(n_paths, n_steps)``
        ``answers_usd`` and ``seconds_since_update`` after each step.

    Notes
    -----
    Column 0 applies the rule to ``mids[:, 0]`` with no time elapsed; column ``t`` applies it
    after ``step_s`` more seconds. The same float operations as
    :func:`delever.kernels.oracle.oracle_step_py`, vectorised over paths, one step at a time.
    """
    mids = _as_paths(mid_paths)
    step = check_positive("step_s", step_s)
    age0 = check_non_negative("initial_age_s", initial_age_s)
    n_paths, n_steps = mids.shape
    if initial_answer is None:
        last = mids[:, 0].copy()
    else:
        last = np.broadcast_to(np.asarray(initial_answer, dtype=np.float64), (n_paths,)).copy()
        if not np.all(np.isfinite(last)) or np.any(last <= 0):
            raise InvalidArgument("initial_answer must be finite and positive (USD).")
    answers = np.empty((n_paths, n_steps))
    ages = np.empty((n_paths, n_steps))
    age = np.full(n_paths, age0)
    follow = params.deviation <= 0.0 or params.heartbeat_s <= 0.0
    for t in range(n_steps):
        mid = mids[:, t]
        elapsed = age + (step if t > 0 else 0.0)
        if follow:
            last = mid.copy()
            age = np.zeros(n_paths)
        else:
            update = (np.abs(mid - last) >= params.deviation * last) | (
                elapsed >= params.heartbeat_s)
            last = np.where(update, mid, last)
            age = np.where(update, 0.0, elapsed)
        answers[:, t] = last
        ages[:, t] = age
    return answers, ages


@dataclass(frozen=True)
class OracleLag:
    """How far a feed trails the mid.

    Attributes
    ----------
    mean_abs_gap
        Mean of ``|answer - mid| / mid`` over all paths and steps, a fraction.
    max_abs_gap
        Largest ``|answer - mid| / mid``.
    stale_share
        Share of steps whose answer was not written at that step (``seconds_since_update >
        0``).
    mean_age_s
        Mean seconds since the last update.
    """

    mean_abs_gap: float
    max_abs_gap: float
    stale_share: float
    mean_age_s: float


def oracle_lag(
    mid_paths: ArrayLike, answers_usd: ArrayLike, seconds_since_update: ArrayLike
) -> OracleLag:
    """Lag statistics of a feed (output of :func:`oracle_path`) against its mid paths."""
    mids = _as_paths(mid_paths)
    answers = np.asarray(answers_usd, dtype=np.float64).reshape(mids.shape)
    ages = np.asarray(seconds_since_update, dtype=np.float64).reshape(mids.shape)
    gap = np.abs(answers - mids) / mids
    return OracleLag(
        mean_abs_gap=float(gap.mean()),
        max_abs_gap=float(gap.max()),
        stale_share=float((ages > 0).mean()),
        mean_age_s=float(ages.mean()),
    )


__all__ = [
    "CHAINLINK_ETH_USD",
    "OracleCalibration",
    "OracleLag",
    "OracleParams",
    "calibrate_oracle",
    "oracle_lag",
    "oracle_path",
]
