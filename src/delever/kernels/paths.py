"""Array kernels for price paths: plain functions on arrays, compiled on the next line.

No randomness here: every kernel takes its shocks (standard normals, uniforms, Poisson
counts) already drawn by the Python wrapper from ``np.random.default_rng(seed)``, so the
same seed gives the same bytes with or without JIT.
"""

from __future__ import annotations

import math

import numpy as np

from delever._typing import FloatArray2D, IntArray
from delever.kernels._numba import njit, prange


def gbm_fill_py(out: FloatArray2D, s0: float, drift_log: float, sigma: float) -> None:
    """Turn standard normals in ``out[:, 1:]`` into GBM prices, in place.

    Parameters
    ----------
    out : (n_paths, n_steps + 1) float64, C-contiguous
        On entry ``out[:, 1:]`` holds standard normal shocks (column 0 is ignored); on exit
        ``out[i, k]`` is the price after ``k`` steps, ``out[:, 0] = s0``.
    s0 : float
        Start price (> 0), written exactly into column 0.
    drift_log : float
        Mean log return per step, ``mu - sigma**2 / 2``.
    sigma : float
        Volatility of the log return per step.

    Notes
    -----
    ``log S_k = log S_{k-1} + drift_log + sigma * z_k``: one pass per row, exact in law
    (no discretisation error for GBM).
    """
    n_paths, n_cols = out.shape
    log_s0 = math.log(s0)
    for i in prange(n_paths):
        acc = log_s0
        out[i, 0] = s0
        for k in range(1, n_cols):
            acc += drift_log + sigma * out[i, k]
            out[i, k] = math.exp(acc)


gbm_fill = njit(cache=True, parallel=True)(gbm_fill_py)


def log_increments_to_prices_py(out: FloatArray2D, s0: float) -> None:
    """Turn log increments in ``out[:, 1:]`` into prices, in place (column 0 = start price).

    Parameters
    ----------
    out : (n_paths, n_steps + 1) float64, C-contiguous
        On entry ``out[:, 1:]`` holds log returns per step; on exit the prices
        ``s0 · exp(cumsum)``.
    s0 : float
        Start price (> 0), written exactly into column 0.
    """
    n_paths, n_cols = out.shape
    log_s0 = math.log(s0)
    for i in prange(n_paths):
        acc = log_s0
        out[i, 0] = s0
        for k in range(1, n_cols):
            acc += out[i, k]
            out[i, k] = math.exp(acc)


log_increments_to_prices = njit(cache=True, parallel=True)(log_increments_to_prices_py)


def garch_fill_py(
    out: FloatArray2D,
    s0: float,
    mu: float,
    omega: float,
    alpha: float,
    beta: float,
    sigma2_0: float,
    eps_0: float,
) -> None:
    """Turn standard normal shocks in ``out[:, 1:]`` into GARCH(1,1) prices, in place.

    Parameters
    ----------
    out : (n_paths, n_steps + 1) float64, C-contiguous
        On entry ``out[:, 1:]`` holds standard normal shocks ``z``; on exit the prices.
    s0 : float
        Start price (> 0), written exactly into column 0.
    mu, omega, alpha, beta : float
        GARCH(1,1) parameters for log returns as fractions (``omega`` in fraction²).
    sigma2_0 : float
        Conditional variance of the step before the first simulated one.
    eps_0 : float
        Residual of the step before the first simulated one.

    Notes
    -----
    Bollerslev (1986): ``sigma2_k = omega + alpha * eps_{k-1}**2 + beta * sigma2_{k-1}``,
    ``eps_k = sqrt(sigma2_k) * z_k``, ``r_k = mu + eps_k``, ``log S_k = log S_{k-1} + r_k``.
    """
    n_paths, n_cols = out.shape
    log_s0 = math.log(s0)
    for i in prange(n_paths):
        acc = log_s0
        sigma2 = sigma2_0
        eps = eps_0
        out[i, 0] = s0
        for k in range(1, n_cols):
            sigma2 = omega + alpha * eps * eps + beta * sigma2
            eps = math.sqrt(sigma2) * out[i, k]
            acc += mu + eps
            out[i, k] = math.exp(acc)


garch_fill = njit(cache=True, parallel=True)(garch_fill_py)


def stationary_indices_py(new_block: np.ndarray, starts: IntArray, n_data: int) -> IntArray:
    """Indices of a stationary (Politis-Romano) bootstrap, one row per path.

    Parameters
    ----------
    new_block : (n_paths, n_steps) bool
        True where a new block starts (column 0 must be True).
    starts : (n_paths, n_steps) int64
        Start index drawn uniformly in ``[0, n_data)``, used where a block starts.
    n_data : int
        Number of observed returns; blocks wrap around circularly.

    Returns
    -------
    (n_paths, n_steps) int64
        ``idx[k] = starts[k]`` at a block start, else ``(idx[k-1] + 1) % n_data``.

    Notes
    -----
    Politis & Romano (1994), "The stationary bootstrap", JASA 89(428): block lengths are
    geometric with mean ``1 / p`` where ``p`` is the probability of a new block per step.
    """
    n_paths, n_steps = starts.shape
    idx = np.empty((n_paths, n_steps), dtype=np.int64)
    for i in prange(n_paths):
        current = starts[i, 0]
        for k in range(n_steps):
            current = starts[i, k] if new_block[i, k] else (current + 1) % n_data
            idx[i, k] = current
    return idx


stationary_indices = njit(cache=True, parallel=True)(stationary_indices_py)

__all__ = [
    "garch_fill",
    "garch_fill_py",
    "gbm_fill",
    "gbm_fill_py",
    "log_increments_to_prices",
    "log_increments_to_prices_py",
    "stationary_indices",
    "stationary_indices_py",
]
