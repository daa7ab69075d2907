"""The results contract: every result object has ``summary()`` (and ``__str__``), ``to_dict()``
and ``to_frame()``.

:class:`ResultContract` fills in what a result does not write itself: ``to_dict`` from the
dataclass fields (numpy values as plain JSON values), ``to_frame`` as one row per figure of
``to_dict`` (index the dotted path, column ``value``), ``summary`` as aligned ``key: value``
lines of that frame, and ``__str__`` as ``summary()``. A result with a better view of itself
overrides the method. tests/test_results_contract.py checks every class in
:data:`RESULT_TYPES` of :mod:`delever.results`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from delever._json import to_jsonable

SUMMARY_ROWS = 40  # a generic summary shows at most this many figures


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested dicts and lists as one level of dotted keys (lists by position)."""
    flat: dict[str, Any] = {} if out is None else out
    items: list[tuple[str, Any]] | None = None
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    if items is None or not items:
        flat[prefix] = value if items is None else ([] if isinstance(value, list) else {})
        return flat
    for key, item in items:
        flatten(item, f"{prefix}.{key}" if prefix else key, flat)
    return flat


def frame_of(payload: dict[str, Any]) -> pd.DataFrame:
    """One row per figure of ``payload``: index ``key`` (dotted path), column ``value``."""
    flat = flatten(to_jsonable(payload))
    return pd.DataFrame({"value": pd.Series(flat, dtype=object)}).rename_axis("key")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if math.isfinite(value) else str(value)
    if value is None:
        return "-"
    return str(value)


def _plain(value: Any) -> Any:
    """Nested results by their own ``to_dict``, other dataclasses field by field, mappings
    as dicts; the rest as it is (:func:`delever._json.to_jsonable` converts numbers)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, pd.DataFrame | pd.Series):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class ResultContract:
    """Mixin: the default ``to_dict`` / ``to_frame`` / ``summary`` / ``__str__`` of a result."""

    def to_dict(self) -> dict[str, Any]:
        """The result's fields as plain JSON values (dataclass fields; override for more)."""
        if not dataclasses.is_dataclass(self):
            raise NotImplementedError(f"{type(self).__name__} must define to_dict()")
        fields = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        jsonable: dict[str, Any] = to_jsonable(fields)
        return jsonable

    def to_frame(self) -> pd.DataFrame:
        """One row per figure of :meth:`to_dict` (index the dotted path, column ``value``)."""
        return frame_of(self.to_dict())

    def summary(self) -> str:
        """The figures of :meth:`to_dict`, one ``key: value`` line each (the first
        :data:`SUMMARY_ROWS`)."""
        flat = flatten(self.to_dict())
        keys = list(flat)[:SUMMARY_ROWS]
        width = max((len(k) for k in keys), default=0)
        lines = [type(self).__name__]
        lines += [f"  {k.ljust(width)}  {_cell(flat[k])}" for k in keys]
        if len(flat) > SUMMARY_ROWS:
            lines.append(f"  ... {len(flat) - SUMMARY_ROWS} more (to_dict() has them all)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


__all__ = ["SUMMARY_ROWS", "ResultContract", "flatten", "frame_of"]
