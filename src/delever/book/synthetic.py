"""A synthetic borrower book drawn from distributions fitted to a real Aave v3 cohort.

Why this model (see :mod:`delever.book.fitted_params` for the fit):

- Size is lognormal: log collateral is close to normal in the cohort (KS D = 0.047), and a
  lognormal's tail is light enough that no single draw swallows a large book.
- The health factor is drawn, not derived: HF is what decides who is liquidated when, and
  it does not depend on the price level at generation time. log(HF − 1) is Student t
  (KS D = 0.030): it keeps HF > 1 (nobody starts liquidatable), has the heavy upper tail of
  nearly debt-free accounts, and puts slightly more mass than the cohort just above HF 1
  (0.9% vs 0.3% below HF 1.05), which errs towards larger cascades.
- Size and HF are joined by a Gaussian copula. The fitted rank correlation is 0.002 (p =
  0.97): in the cohort, large and small borrowers are equally levered. The copula is kept so
  a stress scenario can make whales more (or less) levered by changing one number.

Debt follows from the draw: debt_usd = collateral_usd · LT / HF.

:data:`LOOP_FITTED_PARAMS` is the same model fitted to wstETH/WETH loops in Aave v3's
ETH-correlated e-mode (``fitted_loop_book_params.json``, ``scripts/fit_book.py --cohort
loops``: 123 accounts of Lido's bin b1). A loop book is drawn in the engines' ETH frame: pass
the asset's value in ETH per unit as ``price_usd`` and units as ``total_collateral_eth``;
the debt then comes out in ETH (WETH), and the e-mode LT and bonus are given by the caller.
Its health factors keep their distance to liquidation: HF is drawn, and debt follows from the
LT given. Loopers sit close to HF 1 (median HF 1.119) and bigger loops are more levered
(Spearman −0.20 between size and HF, p = 0.03).
"""

from __future__ import annotations

import json
import math
import operator
from importlib import resources

import numpy as np

from delever.book.assets import BOOK_ASSETS
from delever.book.book import BorrowerBook
from delever.book.fitted_params import DEFAULT_FITTED_PARAMS, FittedBookParams
from delever.errors import InvalidArgument, check_non_negative, check_positive

# Aave v3 Ethereum Core WETH outside e-mode (see delever.book.assets for the source).
# Stablecoin debt cannot be borrowed in the ETH-correlated e-mode, so e-mode is off.
DEFAULT_LIQUIDATION_THRESHOLD = BOOK_ASSETS["WETH"].liquidation_threshold  # 0.83
DEFAULT_LIQUIDATION_BONUS = BOOK_ASSETS["WETH"].liquidation_bonus  # 0.05

LOOP_PARAMS_FILE = "fitted_loop_book_params.json"


def _shipped_params(name: str) -> FittedBookParams:
    """Fitted parameters shipped under ``delever/data/book/``."""
    text = resources.files("delever").joinpath("data", "book", name).read_text("utf-8")
    return FittedBookParams.from_json_dict(json.loads(text))


# wstETH/WETH loops in e-mode, fitted by scripts/fit_book.py --cohort loops (see the JSON).
LOOP_FITTED_PARAMS: FittedBookParams = _shipped_params(LOOP_PARAMS_FILE)


def synthetic_book(
    n_accounts: int,
    total_collateral_eth: float,
    price_usd: float,
    *,
    seed: int,
    params: FittedBookParams = DEFAULT_FITTED_PARAMS,
    liquidation_threshold: float = DEFAULT_LIQUIDATION_THRESHOLD,
    liquidation_bonus: float = DEFAULT_LIQUIDATION_BONUS,
) -> BorrowerBook:
    """Draw a book of ETH-collateral / stablecoin-debt borrowers at a chosen size and price.

    Parameters
    ----------
    n_accounts : int
        Number of borrowers, >= 1.
    total_collateral_eth : float
        Collateral of the whole book in ETH; the drawn sizes are scaled to it exactly.
    price_usd : float
        ETH price in USD at which the drawn health factors hold (the book's reference price).
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same book, bit for bit.
    params : FittedBookParams
        Size, HF and copula parameters; default the fit to the Lido stablecoin-debt cohort
        (:data:`LOOP_FITTED_PARAMS` for e-mode loops, counted in the ETH frame).
    liquidation_threshold, liquidation_bonus : float
        Applied to every account; default Aave v3 Core WETH (0.83, 0.05).

    Returns
    -------
    BorrowerBook
        Ids 0..n-1, no e-mode, ``reference_price_usd = price_usd``.

    Notes
    -----
    With z₁, z₂ independent standard normals and ρ = ``params.size_hf_gaussian_rho``:
    log size = μ + σ·z₁; HF = 1 + exp(loc + scale·F_t⁻¹(Φ(ρ z₁ + √(1−ρ²) z₂))).
    Collateral is scaled so that the book totals ``total_collateral_eth``, then
    debt_usd = collateral_eth · price_usd · LT / HF, so every account's health factor at
    ``price_usd`` is its drawn HF.
    """
    try:
        n = operator.index(n_accounts)
    except TypeError:
        raise InvalidArgument(f"n_accounts={n_accounts!r} must be an integer.") from None
    if n < 1:
        raise InvalidArgument(f"n_accounts={n} must be at least 1.")
    total = check_positive("total_collateral_eth", total_collateral_eth, "Give ETH.")
    price = check_positive("price_usd", price_usd, "Give the ETH price in USD.")
    check_non_negative("liquidation_bonus", liquidation_bonus)
    if not 0 < liquidation_threshold <= 1:
        raise InvalidArgument(
            f"liquidation_threshold={liquidation_threshold!r} must be in (0, 1]; "
            "give a fraction, e.g. 0.83."
        )

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((2, n))
    rho = params.size_hf_gaussian_rho
    z_hf = rho * z[0] + math.sqrt(1.0 - rho * rho) * z[1]
    log_size = params.log_collateral_usd_mean + params.log_collateral_usd_std * z[0]
    health_factor = params.hf_from_normal(z_hf)

    # relative sizes, shifted by the largest log for overflow safety; scaled() fixes the total
    collateral_eth = np.exp(log_size - log_size.max())
    collateral_eth *= total / collateral_eth.sum()
    with np.errstate(divide="ignore"):
        debt_usd = collateral_eth * price * liquidation_threshold / health_factor
    book = BorrowerBook.from_arrays(
        collateral_eth,
        debt_usd,
        liquidation_threshold,
        liquidation_bonus,
        reference_price_usd=price,
    )
    return book.scaled(total_collateral_eth=total)


__all__ = [
    "DEFAULT_LIQUIDATION_BONUS",
    "DEFAULT_LIQUIDATION_THRESHOLD",
    "LOOP_FITTED_PARAMS",
    "synthetic_book",
]
