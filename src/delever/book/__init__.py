"""delever.book: the book of other borrowers that a falling ETH price liquidates.

- :class:`BorrowerBook`: equal-length read-only arrays of ETH-correlated collateral (ETH),
  stablecoin debt (USD), liquidation threshold and bonus, e-mode flag, per account.
- :func:`read_book_csv`: a book from a CSV file (schema in :mod:`delever.book.loaders`).
- :func:`read_lido_cohort`: a book from Lido's Aave v3 (w)stETH cohort files (validation).
"""

from delever.book.assets import BOOK_ASSETS, BookAsset, book_asset
from delever.book.book import BookValueError, BorrowerBook
from delever.book.loaders import BOOK_CSV_COLUMNS, read_book_csv, read_lido_cohort

__all__ = [
    "BOOK_ASSETS",
    "BOOK_CSV_COLUMNS",
    "BookAsset",
    "BookValueError",
    "BorrowerBook",
    "book_asset",
    "read_book_csv",
    "read_lido_cohort",
]
