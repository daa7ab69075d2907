"""Fitted distributions of borrower size and health factor for the synthetic book.

The shipped numbers (``delever/data/book/fitted_book_params.json``) are summary statistics
fitted by ``scripts/fit_book.py`` to the Aave v3 stablecoin-debt cohort of Lido's
aave-liquidation-model (``b21_debt_stables_v3.csv``, mid-June 2023); the JSON records the file,
rows, method, date and goodness of fit. No row of that GPL-3.0 file is shipped.

Model (one account):

- size: log(collateral_usd) ~ Normal(mean, std) — a lognormal;
- health factor: log(HF − 1) ~ loc + scale · T_df — a Student t, so HF > 1 always;
- dependence: a Gaussian copula between the two with correlation ``size_hf_gaussian_rho``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from delever._typing import ArrayLike, FloatArray
from delever.errors import InvalidArgument, check_finite, check_positive

_PACKAGE_JSON = ("data", "book", "fitted_book_params.json")


@dataclass(frozen=True)
class FittedBookParams:
    """Distribution parameters of a synthetic borrower book.

    Parameters
    ----------
    log_collateral_usd_mean : float
        Mean of log(collateral in USD). Only matters for unscaled books; a book scaled to a
        total collateral depends on the std alone.
    log_collateral_usd_std : float
        Standard deviation of log(collateral in USD), > 0.
    log_hf_minus_1_loc, log_hf_minus_1_scale, log_hf_minus_1_df : float
        Student t location, scale (> 0) and degrees of freedom (> 0) of log(HF − 1).
    size_hf_gaussian_rho : float
        Gaussian-copula correlation between log size and log(HF − 1), in (−1, 1).
    source : str
        One line of provenance.
    """

    log_collateral_usd_mean: float
    log_collateral_usd_std: float
    log_hf_minus_1_loc: float
    log_hf_minus_1_scale: float
    log_hf_minus_1_df: float
    size_hf_gaussian_rho: float
    source: str = field(default="")

    def __post_init__(self) -> None:
        check_finite("log_collateral_usd_mean", self.log_collateral_usd_mean)
        check_positive("log_collateral_usd_std", self.log_collateral_usd_std)
        check_finite("log_hf_minus_1_loc", self.log_hf_minus_1_loc)
        check_positive("log_hf_minus_1_scale", self.log_hf_minus_1_scale)
        check_positive("log_hf_minus_1_df", self.log_hf_minus_1_df)
        rho = check_finite("size_hf_gaussian_rho", self.size_hf_gaussian_rho)
        if not -1.0 < rho < 1.0:
            raise InvalidArgument(f"size_hf_gaussian_rho={rho!r} must be in (-1, 1).")

    @property
    def size_hf_spearman_rho(self) -> float:
        """Spearman rank correlation implied by the Gaussian copula: (6/π)·asin(ρ/2)."""
        return 6.0 / math.pi * math.asin(self.size_hf_gaussian_rho / 2.0)

    def hf_cdf(self, health_factor: ArrayLike) -> FloatArray:
        """P(HF <= h) under the fitted health-factor distribution (0 for h <= 1)."""
        h = np.asarray(health_factor, dtype=np.float64)
        out = np.zeros(h.shape)
        above = h > 1.0
        std = (np.log(h[above] - 1.0) - self.log_hf_minus_1_loc) / self.log_hf_minus_1_scale
        out[above] = special.stdtr(self.log_hf_minus_1_df, std)
        return out

    def hf_from_normal(self, z: ArrayLike) -> FloatArray:
        """Health factors from standard-normal scores z (the copula's HF margin).

        Notes
        -----
        HF = 1 + exp(loc + scale · F_t⁻¹(Φ(z))). The upper half uses Φ(−z) so that the
        tail keeps its precision; HF − 1 is floored at 1e-12 so no account starts at HF 1.
        """
        # |z| <= 30 (tail probability 5e-198): scipy's stdtrit returns +inf for p below ~1e-300
        scores = np.clip(np.asarray(z, dtype=np.float64), -30.0, 30.0)
        # t quantile of Φ(z) from the lower tail Φ(−|z|), then mirrored: keeps tail precision
        lower = special.stdtrit(self.log_hf_minus_1_df, special.ndtr(-np.abs(scores)))
        t = np.where(scores <= 0, lower, -lower)
        log_excess = self.log_hf_minus_1_loc + self.log_hf_minus_1_scale * t
        with np.errstate(over="ignore"):
            excess = np.exp(log_excess)
        out: FloatArray = 1.0 + np.maximum(excess, 1e-12)
        return out

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> FittedBookParams:
        """Parameters from the dict layout of ``fitted_book_params.json``."""
        try:
            size, hf, dep = data["size"], data["health_factor"], data["dependence"]
            prov = data["provenance"]
            return cls(
                log_collateral_usd_mean=float(size["log_collateral_usd_mean"]),
                log_collateral_usd_std=float(size["log_collateral_usd_std"]),
                log_hf_minus_1_loc=float(hf["log_hf_minus_1_loc"]),
                log_hf_minus_1_scale=float(hf["log_hf_minus_1_scale"]),
                log_hf_minus_1_df=float(hf["log_hf_minus_1_df"]),
                size_hf_gaussian_rho=float(dep["size_hf_gaussian_rho"]),
                source=f"{prov['source_file']} ({prov['fit_method']}, fitted {prov['fitted_on']})",
            )
        except (KeyError, TypeError) as exc:
            raise InvalidArgument(f"fitted book parameters lack the entry {exc}.") from None


def load_fitted_params(path: str | PathLike[str] | None = None) -> FittedBookParams:
    """Read fitted parameters from a JSON file; default the copy shipped with delever."""
    if path is None:
        entry = resources.files("delever")
        for part in _PACKAGE_JSON:
            entry = entry.joinpath(part)
        text = entry.read_text("utf-8")
    else:
        try:
            text = Path(path).read_text("utf-8")
        except FileNotFoundError:
            raise InvalidArgument(f"{path}: no such file of fitted book parameters.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{path or 'fitted_book_params.json'}: not JSON ({exc}).") from None
    return FittedBookParams.from_json_dict(data)


DEFAULT_FITTED_PARAMS: FittedBookParams = load_fitted_params()

__all__ = ["DEFAULT_FITTED_PARAMS", "FittedBookParams", "load_fitted_params"]
