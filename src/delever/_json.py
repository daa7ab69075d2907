"""Plain JSON values from results: numpy types converted, NaN and infinities as null.

One conversion for the ``--json`` output of every command and for the ``to_dict`` of the
results that stand for a whole command (:class:`delever.scenario.runner.RunResult`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """``value`` with dicts (keys as str), lists, tuples and arrays walked; numpy scalars
    as Python numbers; a float that is not finite as None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def dumps_json(payload: dict[str, Any]) -> str:
    """Serialise deterministically: sorted keys, NaN/inf as null, numpy types converted."""
    return json.dumps(to_jsonable(payload), sort_keys=True, allow_nan=False)


__all__ = ["dumps_json", "to_jsonable"]
