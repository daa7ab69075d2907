"""delever.book: the book of other borrowers that a falling ETH price liquidates.

- :class:`BorrowerBook`: equal-length read-only arrays of ETH-correlated collateral (ETH),
  stablecoin debt (USD), liquidation threshold and bonus, e-mode flag, per account.
- :func:`read_book_csv`: a book from a CSV file (schema in :mod:`delever.book.loaders`).
- :func:`read_lido_cohort`: a book from Lido's Aave v3 (w)stETH cohort files (validation).
- :func:`synthetic_book`: a book drawn from distributions fitted to the Aave v3
  stablecoin-debt cohort (:data:`DEFAULT_FITTED_PARAMS`), at a chosen size and price; with
  :data:`LOOP_FITTED_PARAMS`, a book of wstETH/WETH loops in e-mode (in the ETH frame).
- :func:`cascade`, :func:`run_cascade`, :func:`build_ladder`: liquidation cascades (exact
  and ladder engines) with the actors of :mod:`delever.book.actors`.
"""

from delever.book.actors import (
    NO_LARGE_ACCOUNT,
    TREND_2026_LARGE_ACCOUNT,
    CautiousBorrowers,
    Followers,
    ImpactParams,
    LargeAccount,
    Liquidators,
    PanicSellers,
)
from delever.book.assets import BOOK_ASSETS, BookAsset, book_asset
from delever.book.book import BookValueError, BorrowerBook
from delever.book.cascade import (
    DEFAULT_IMPACT,
    CascadePaths,
    CascadeResult,
    Ladder,
    build_ladder,
    cascade,
    run_cascade,
)
from delever.book.fitted_params import DEFAULT_FITTED_PARAMS, FittedBookParams, load_fitted_params
from delever.book.loaders import BOOK_CSV_COLUMNS, read_book_csv, read_lido_cohort
from delever.book.synthetic import LOOP_FITTED_PARAMS, synthetic_book

__all__ = [
    "BOOK_ASSETS",
    "BOOK_CSV_COLUMNS",
    "DEFAULT_FITTED_PARAMS",
    "DEFAULT_IMPACT",
    "LOOP_FITTED_PARAMS",
    "NO_LARGE_ACCOUNT",
    "TREND_2026_LARGE_ACCOUNT",
    "BookAsset",
    "BookValueError",
    "BorrowerBook",
    "CascadePaths",
    "CascadeResult",
    "CautiousBorrowers",
    "FittedBookParams",
    "Followers",
    "ImpactParams",
    "Ladder",
    "LargeAccount",
    "Liquidators",
    "PanicSellers",
    "book_asset",
    "build_ladder",
    "cascade",
    "load_fitted_params",
    "read_book_csv",
    "read_lido_cohort",
    "run_cascade",
    "synthetic_book",
]
