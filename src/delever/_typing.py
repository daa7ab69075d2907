"""Array aliases used across delever (dtype-aware, see STYLE.md section 7)."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
FloatArray1D: TypeAlias = npt.NDArray[np.float64]  # shape (n,)
FloatArray2D: TypeAlias = npt.NDArray[np.float64]  # shape (n_paths, n_steps)
IntArray: TypeAlias = npt.NDArray[np.int64]
IntArray1D: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
ArrayLike: TypeAlias = npt.ArrayLike

__all__ = [
    "ArrayLike",
    "BoolArray",
    "FloatArray",
    "FloatArray1D",
    "FloatArray2D",
    "IntArray",
    "IntArray1D",
]
