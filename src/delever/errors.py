"""One error family for delever.

Every error a user can cause is an :class:`InvalidArgument` (a ``ValueError``) whose message
is one line: the field, the value, the rule and, where useful, a hint, e.g.
``liquidation_threshold=1.2 must be in (0, 1]; give a fraction, e.g. 0.83.``
The CLI turns these into exit code 2 with no traceback.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from numbers import Integral


class DeleverError(Exception):
    """Base class of every error raised on purpose by delever."""


class InvalidArgument(DeleverError, ValueError):  # noqa: N818 (hypothesis naming)
    """Bad input from the user: a one-line message naming the field and the rule."""


class ProtocolRevert(InvalidArgument):
    """An action the protocol itself would revert (e.g. liquidating an account with HF >= 1).

    ``rule`` is the name of the Aave error (``Errors.sol``) the contract would revert with.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} (Aave would revert: {rule})")
        self.rule = rule


def unknown_name(field: str, value: str, choices: Iterable[str]) -> InvalidArgument:
    """An error for an unknown name, with close matches (difflib) as the hint."""
    options = sorted(choices)
    close = difflib.get_close_matches(value, options, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return InvalidArgument(
        f"{field}={value!r} is not known; choose one of {', '.join(options)}.{hint}"
    )


def check_finite(field: str, value: float) -> float:
    """Return ``value`` as a float, refusing NaN and infinities."""
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgument(f"{field}={value!r} must be a finite number.")
    return number


def check_non_negative(field: str, value: float, hint: str = "") -> float:
    """Return ``value`` as a float, refusing NaN, infinities and negatives."""
    number = check_finite(field, value)
    if number < 0:
        raise InvalidArgument(f"{field}={value!r} must not be negative.{hint and ' ' + hint}")
    return number


def check_positive(field: str, value: float, hint: str = "") -> float:
    """Return ``value`` as a float, refusing NaN, infinities, zero and negatives."""
    number = check_finite(field, value)
    if number <= 0:
        raise InvalidArgument(f"{field}={value!r} must be greater than 0.{hint and ' ' + hint}")
    return number


def check_fraction(
    field: str, value: float, *, low_open: bool = True, high_closed: bool = True, hint: str = ""
) -> float:
    """Return ``value`` as a float in (0, 1] (or [0, 1) / [0, 1] as the flags say)."""
    number = check_finite(field, value)
    low_ok = number > 0 if low_open else number >= 0
    high_ok = number <= 1 if high_closed else number < 1
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{']' if high_closed else ')'}"
        tail = f" {hint}" if hint else " Give a fraction, e.g. 0.83."
        raise InvalidArgument(f"{field}={value!r} must be in {interval};{tail}")
    return number


def check_whole(field: str, value: int, minimum: int = 1) -> int:
    """A whole number (int or numpy integer, not bool) >= ``minimum``."""
    # numbers.Integral covers int and numpy's integers (registered with it)
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise InvalidArgument(f"{field}={value!r} must be a whole number >= {minimum}.")
    return int(value)


__all__ = [
    "DeleverError",
    "InvalidArgument",
    "ProtocolRevert",
    "check_finite",
    "check_fraction",
    "check_non_negative",
    "check_positive",
    "check_whole",
    "unknown_name",
]
