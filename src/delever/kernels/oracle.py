"""Chainlink-style push oracle: a new answer on a deviation or when the heartbeat expires.

A Chainlink price feed writes a new round when the off-chain median moves by at least the
deviation threshold from the last on-chain answer, or when ``heartbeat_s`` seconds have passed
since the last update (ETH/USD on Ethereum: 0.5% and 3,600 s, Chainlink's feed page; the
calibration from recorded rounds lives in ``delever.market.oracle``).
"""

from __future__ import annotations

from delever.kernels._numba import njit


def oracle_step_py(
    last_answer_usd: float,
    seconds_since_update: float,
    mid_usd: float,
    step_s: float,
    heartbeat_s: float,
    deviation: float,
) -> tuple[float, float]:
    """Advance the feed by one step of ``step_s`` seconds to the market price ``mid_usd``.

    Returns the answer after the step and the seconds since its last update. ``deviation``
    <= 0 and ``heartbeat_s`` <= 0 make a feed that follows the mid at every step.
    """
    elapsed = seconds_since_update + step_s
    if deviation <= 0.0 or heartbeat_s <= 0.0:
        return mid_usd, 0.0
    moved = abs(mid_usd - last_answer_usd) >= deviation * last_answer_usd
    if moved or elapsed >= heartbeat_s:
        return mid_usd, 0.0
    return last_answer_usd, elapsed


oracle_step = njit(cache=True)(oracle_step_py)

__all__ = ["oracle_step", "oracle_step_py"]
