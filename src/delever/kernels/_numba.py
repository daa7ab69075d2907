"""numba compatibility: one environment variable turns JIT off.

``DELEVER_DISABLE_JIT=1`` makes :func:`njit` the identity, so a debugger can step through
kernels and tests can run the plain-Python version (see arch ``arch/compat/numba.py``).
Kernels are written as ``kernel_py`` plain functions and compiled on the next line:
``kernel = njit(cache=True)(kernel_py)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

JIT_DISABLED = os.environ.get("DELEVER_DISABLE_JIT", "0") not in ("", "0", "false", "False")

if JIT_DISABLED:

    def njit(*args: Any, **kwargs: Any) -> Any:
        """Identity decorator used when JIT is disabled."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]

        def wrap(func: F) -> F:
            return func

        return wrap

    prange: Callable[..., Any] = range

else:
    from numba import njit as _njit
    from numba import prange as _prange

    def njit(*args: Any, **kwargs: Any) -> Any:
        """numba.njit, re-exported so JIT can be turned off in one place."""
        return _njit(*args, **kwargs)

    prange = _prange

__all__ = ["JIT_DISABLED", "njit", "prange"]
