"""delever.strategy: unwind rules behind one interface (:class:`Strategy`).

Built-in rules compile to a numeric rule spec run by the simulator's numba kernel; a Python
subclass may instead implement ``decide`` and run through a slower step loop.
"""

from delever.strategy.base import Hold, Observation, RuleSpec, Strategy, StrategyContext
from delever.strategy.rules import (
    DEFAULT_STRATEGIES,
    STRATEGIES,
    TWAP,
    AlmgrenChriss,
    HFLadder,
    Schedule,
    SellAll,
    SellIntoRebounds,
    StopLoss,
    strategy_by_name,
)

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "TWAP",
    "AlmgrenChriss",
    "HFLadder",
    "Hold",
    "Observation",
    "RuleSpec",
    "Schedule",
    "SellAll",
    "SellIntoRebounds",
    "StopLoss",
    "Strategy",
    "StrategyContext",
    "strategy_by_name",
]
