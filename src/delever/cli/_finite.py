"""No ``null`` where a number is promised: a guard on the JSON of ``plan``, ``advise`` and
``paths``.

:func:`delever.cli._common.dumps_json` writes NaN and infinities as ``null``. An infinite HF
(an account without debt) or a "never" is such a case by design; a NaN, or an infinite
objective, loss, price or probability, is a bug upstream (an option beyond what the model
can compute) and must not leave with exit 0. :func:`check_finite_payload` raises instead,
which the CLI reports as one line, exit 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

# Keys whose value may be +inf by design: a health factor without debt, a ratio to a zero.
INF_OK_KEYS = frozenset({"current_hf", "hf_now", "hf_after", "hf_after_by_account", "ratio",
                         "recovery_days", "required_hf"})


def non_finite_paths(value: Any, path: str = "", *,
                     inf_ok: frozenset[str] = INF_OK_KEYS) -> Iterator[str]:
    """The key paths (``a.b[3].c``) of NaN values, and of infinite ones outside ``inf_ok``."""
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            yield from non_finite_paths(v, f"{path}.{key}" if path else key,
                                        inf_ok=inf_ok if key not in inf_ok else frozenset(
                                            {"*"}))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from non_finite_paths(v, f"{path}[{i}]", inf_ok=inf_ok)
    elif isinstance(value, np.ndarray):
        yield from non_finite_paths(value.tolist(), path, inf_ok=inf_ok)
    elif isinstance(value, float | np.floating) and not isinstance(value, bool):
        x = float(value)
        if math.isnan(x) or (math.isinf(x) and "*" not in inf_ok):
            yield path


def check_finite_payload(payload: dict[str, Any], command: str) -> None:
    """Raise RuntimeError (exit 1, one line) if ``payload`` has a non-finite number."""
    bad = list(non_finite_paths(payload))
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise RuntimeError(f"{command} computed a non-finite number at {shown}; no result "
                           "is written (please report this with the command line).")


__all__ = ["INF_OK_KEYS", "check_finite_payload", "non_finite_paths"]
