"""Monte Carlo estimators, written once: means with standard errors, VaR/CVaR, proportions,
quantiles with order-statistic intervals, paired differences, and running (chunk-merged)
moments.

Conventions
-----------
- An :class:`Estimate` is a value with a two-sided ``confidence`` interval (default 95%).
- Mean: the sample mean; standard error ``s / sqrt(n)`` (``s`` with ``ddof=1``); the interval
  is normal-theory, ``mean +- z s / sqrt(n)``, ``z = norm.ppf(1 - (1 - c) / 2)``.
- VaR and CVaR are of a LOSS (positive = bad) at level ``beta`` (e.g. 0.95):
  ``VaR = np.quantile(loss, beta)`` (numpy's default linear interpolation) and
  ``CVaR = VaR + E[(L - VaR)+] / (1 - beta)`` (Rockafellar & Uryasev 2000), the mean of the
  worst ``1 - beta`` of the losses; its influence function ``VaR + (L - VaR)+ / (1 - beta)``
  (Hong & Liu 2009) gives its standard error.
- Proportions: Clopper–Pearson exact interval from the beta quantiles (equal to
  ``scipy.stats.binomtest(k, n).proportion_ci(method='exact')``).
- Quantiles: linear interpolation, with the distribution-free order-statistic interval
  ``[x_(l), x_(u)]``, l and u the binomial(n, q) quantiles at ``(1 -+ c) / 2`` (Conover 1999,
  Practical Nonparametric Statistics, section 3.2).
- Paired difference ``a - b`` on the same paths (common random numbers): the mean of the
  per-path differences and its normal-theory interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from delever._typing import FloatArray1D
from delever.errors import InvalidArgument

CONFIDENCE = 0.95
Z95 = 1.959963984540054  # two-sided 95% normal quantile, norm.ppf(0.975)


@dataclass(frozen=True)
class Estimate:
    """A statistic with a confidence interval (95% unless said otherwise)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """``{"value", "low", "high"}``."""
        return {"value": self.value, "low": self.low, "high": self.high}

    def scaled(self, k: float) -> Estimate:
        """Value and bounds times ``k`` (k >= 0)."""
        return Estimate(self.value * k, self.low * k, self.high * k)


def z_value(confidence: float = CONFIDENCE) -> float:
    """Two-sided normal quantile: ``norm.ppf(1 - (1 - c) / 2)`` (Z95 exactly at 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidArgument(f"confidence={confidence!r} must be in (0, 1), e.g. 0.95.")
    return Z95 if confidence == CONFIDENCE else float(sps.norm.ppf(0.5 + confidence / 2.0))


def standard_error(values: FloatArray1D) -> float:
    """``s / sqrt(n)`` (``ddof=1``); nan with fewer than two values."""
    x = np.asarray(values, dtype=np.float64)
    return float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else math.nan


def mean_ci(values: FloatArray1D, confidence: float = CONFIDENCE, *,
            single: float = math.nan) -> Estimate:
    """Mean with the normal-theory interval; the half-width is ``single`` for one value."""
    x = np.asarray(values, dtype=np.float64)
    m = float(x.mean())
    half = z_value(confidence) * standard_error(x) if x.size > 1 else single
    return Estimate(m, m - half, m + half)


def half_width(influence: FloatArray1D, confidence: float = CONFIDENCE) -> float:
    """Half-width of the normal interval of an estimator with these influence values."""
    return z_value(confidence) * standard_error(influence)


def var_cvar(loss: FloatArray1D, level: float) -> tuple[float, float]:
    """(VaR, CVaR) of a loss at ``level`` (see the module's conventions)."""
    if not 0.0 < level < 1.0:
        raise InvalidArgument(f"level={level!r} must be in (0, 1), e.g. 0.95.")
    x = np.asarray(loss, dtype=np.float64)
    var = float(np.quantile(x, level))
    return var, var + float(np.mean(np.maximum(x - var, 0.0))) / (1.0 - level)


def cvar_influence(loss: FloatArray1D, level: float) -> tuple[float, FloatArray1D]:
    """The CVaR and its per-path influence ``VaR + (L - VaR)+ / (1 - level)``."""
    var, cvar = var_cvar(loss, level)
    x = np.asarray(loss, dtype=np.float64)
    return cvar, var + np.maximum(x - var, 0.0) / (1.0 - level)


def cvar_ci(loss: FloatArray1D, level: float, confidence: float = CONFIDENCE) -> Estimate:
    """CVaR at ``level`` with its influence-function interval."""
    cvar, infl = cvar_influence(loss, level)
    half = half_width(infl, confidence)
    return Estimate(cvar, cvar - half, cvar + half)


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> Estimate:
    """The proportion ``k / n`` with its Clopper–Pearson (exact) interval."""
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise InvalidArgument(f"successes={successes!r}, trials={trials!r}: need 0 <= k <= n, "
                              "n >= 1.")
    alpha = 1.0 - confidence
    low = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Estimate(k / n, low, high)


binomial_ci = clopper_pearson  # the name the engines used first


def quantile_ci(values: FloatArray1D, q: float, confidence: float = CONFIDENCE) -> Estimate:
    """Sample quantile (linear interpolation, finite values) with its order-statistic interval.

    Coverage >= ``confidence`` for any continuous distribution, up to the binomial's
    discreteness; nan with no finite value.
    """
    arr = np.asarray(values, dtype=np.float64)
    x = np.sort(arr[np.isfinite(arr)])
    n = x.shape[0]
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan)
    alpha = 1.0 - confidence
    lo = int(sps.binom.ppf(alpha / 2, n, q))
    hi = int(sps.binom.ppf(1 - alpha / 2, n, q)) + 1
    lo = min(max(lo, 1), n)
    hi = min(max(hi, 1), n)
    return Estimate(float(np.quantile(x, q)), float(x[lo - 1]), float(x[hi - 1]))


def paired_difference(a: FloatArray1D, b: FloatArray1D,
                      confidence: float = CONFIDENCE) -> Estimate:
    """Mean of ``a - b`` over the same paths, with its normal-theory interval."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise InvalidArgument(f"paired values need the same paths; got {x.shape} and {y.shape}.")
    return mean_ci(x - y, confidence)


@dataclass(frozen=True)
class RunningMoments:
    """Count, mean and sum of squared deviations, merged chunk by chunk.

    Chan, Golub & LeVeque (1979): merging two chunks' moments is exact in real arithmetic, so
    the mean and the standard error of ``n`` paths need only the chunk being merged in memory.
    Merged in a fixed (chunk) order the floating-point result is the same on every run.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values: FloatArray1D) -> RunningMoments:
        """The moments of one chunk."""
        x = np.asarray(values, dtype=np.float64)
        if x.size == 0:
            return cls()
        m = float(x.mean())
        return cls(int(x.size), m, float(np.sum((x - m) ** 2)))

    def merge(self, other: RunningMoments) -> RunningMoments:
        """The moments of both chunks together."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / n
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return RunningMoments(n, mean, m2)

    def push(self, values: FloatArray1D) -> RunningMoments:
        """Merge one more chunk's values."""
        return self.merge(RunningMoments.of(values))

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``); nan below two values."""
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else math.nan

    @property
    def standard_error(self) -> float:
        """``std / sqrt(n)``."""
        return self.std / math.sqrt(self.count) if self.count > 1 else math.nan

    def ci(self, confidence: float = CONFIDENCE) -> Estimate:
        """The mean with its normal-theory interval."""
        half = z_value(confidence) * self.standard_error
        return Estimate(self.mean, self.mean - half, self.mean + half)


__all__ = [
    "CONFIDENCE",
    "Z95",
    "Estimate",
    "RunningMoments",
    "binomial_ci",
    "clopper_pearson",
    "cvar_ci",
    "cvar_influence",
    "half_width",
    "mean_ci",
    "paired_difference",
    "quantile_ci",
    "standard_error",
    "var_cvar",
    "z_value",
]
