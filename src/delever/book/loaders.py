"""Read borrower books from files: the delever CSV and Parquet schemas and the Lido Aave v3
cohort files.

Book CSV schema (one account per row, header required, comma-separated, UTF-8)::

    account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus[,emode][,asset]

==========================  =========================================================
``account``                 unique id (text)
``collateral_eth``          ETH-correlated collateral valued in ETH, >= 0
``debt_usd``                stablecoin debt in USD, >= 0; > 0 needs collateral
``liquidation_threshold``   fraction in (0, 1], e.g. 0.83
``liquidation_bonus``       bonus above 1, >= 0, e.g. 0.05; LT·(1 + bonus) <= 1
``emode`` (optional)        true/false, 1/0, yes/no or empty (false)
``asset`` (optional)        WETH, wstETH or weETH (any case); where given, an empty or
                            missing ``liquidation_threshold`` / ``liquidation_bonus``
                            takes the asset's Aave v3 Core value
==========================  =========================================================

Book Parquet files (``delever book fetch``) hold the same columns (``emode`` boolean,
``asset`` text) plus those of :data:`BOOK_PARQUET_EXTRA_COLUMNS` (the on-chain health factor
and the amounts the book's columns were derived from), and a JSON object under the file
metadata key ``delever.book`` (market, chain id, block, block time, ETH price, source, how
``collateral_eth`` was derived). :func:`read_book_parquet` reads the book columns and quotes
the book at the file's ETH price.

Columns may come in any order; unknown columns are refused (a typo would otherwise drop an
optional column silently). Blank lines are skipped. Every problem raises one
:class:`~delever.errors.InvalidArgument` line naming the file, the row (the line number in the
file, header = 1) and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from delever._io import atomic_write_bytes
from delever.book.assets import BOOK_ASSETS
from delever.book.book import BookValueError, BorrowerBook
from delever.errors import InvalidArgument, check_non_negative, unknown_name

REQUIRED_COLUMNS = ("account", "collateral_eth", "debt_usd")
PARAMETER_COLUMNS = ("liquidation_threshold", "liquidation_bonus")
OPTIONAL_COLUMNS = ("emode", "asset")
BOOK_CSV_COLUMNS = (*REQUIRED_COLUMNS, *PARAMETER_COLUMNS, *OPTIONAL_COLUMNS)

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
_ASSETS_BY_LOWER = {symbol.lower(): symbol for symbol in BOOK_ASSETS}


class _CellError(Exception):
    def __init__(self, line: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def read_book_csv(
    path: str | PathLike[str], *, reference_price_usd: float | None = None
) -> BorrowerBook:
    """Read a borrower book from a CSV file in the schema of this module.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    reference_price_usd : float, optional
        ETH price at which the book is quoted (health factors, :meth:`BorrowerBook.scaled`).

    Returns
    -------
    BorrowerBook
        Account ids are kept as text.

    Raises
    ------
    InvalidArgument
        One line naming the file, row and column: a missing or unknown column, an empty file,
        a non-numeric cell, a negative amount, a threshold outside (0, 1], an unknown asset,
        a duplicate account.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidArgument(f"{file}: no such file; give the path of a book CSV.") from None
    except IsADirectoryError:
        raise InvalidArgument(
            f"{str(path)!r} is a folder (or an empty name); give the path of a book CSV."
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(
            f"{file}: not UTF-8 text ({exc.reason}); save it as UTF-8 CSV."
        ) from None
    except OSError as exc:
        raise InvalidArgument(f"{file}: cannot be read ({exc.strerror or exc}).") from None
    try:
        return _parse_book_csv(file, text, reference_price_usd)
    except _CellError as exc:
        where = f"row {exc.line}" + (f", column {exc.column}" if exc.column else "")
        raise InvalidArgument(f"{file}: {where}: {exc}") from None


def _parse_book_csv(file: Path, text: str, reference_price_usd: float | None) -> BorrowerBook:
    expected = ",".join((*REQUIRED_COLUMNS, *PARAMETER_COLUMNS))
    if not text.strip():
        raise InvalidArgument(f"{file}: the file is empty; expected the header line {expected}.")
    nul = text.find("\x00")
    if nul >= 0:
        raise _CellError(text.count("\n", 0, nul) + 1, None,
                         "a NUL byte; the file is binary or corrupt, give a CSV text file.")
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        return _parse_rows(file, reader, expected, reference_price_usd)
    except csv.Error as exc:
        raise _CellError(reader.line_num, None, f"not valid CSV ({exc}).") from None


def _parse_rows(
    file: Path, reader: Any, expected: str, reference_price_usd: float | None
) -> BorrowerBook:
    header = [name.strip().lower() for name in next(reader)]
    _check_header(file, header, expected)
    position = {name: i for i, name in enumerate(header)}
    has_asset = "asset" in position
    for name in PARAMETER_COLUMNS:
        if name not in position and not has_asset:
            raise InvalidArgument(
                f"{file}: column {name} is missing; give it, or an asset column to take the "
                f"asset's value (header: {expected})."
            )

    lines: list[int] = []
    ids: list[str] = []
    values: dict[str, list[float]] = {name: [] for name in ("collateral_eth", "debt_usd")}
    values.update({name: [] for name in PARAMETER_COLUMNS})
    emode: list[bool] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise _CellError(
                line, None, f"{len(row)} cells but the header has {len(header)}; check the commas."
            )
        cells = {name: row[i].strip() for name, i in position.items()}
        if not cells["account"]:
            raise _CellError(line, "account", "empty account id; give every account an id.")
        lines.append(line)
        ids.append(cells["account"])
        asset = _asset(line, cells["asset"]) if has_asset else None
        for name in ("collateral_eth", "debt_usd", *PARAMETER_COLUMNS):
            cell = cells.get(name, "")
            if not cell and asset is not None and name in PARAMETER_COLUMNS:
                values[name].append(getattr(BOOK_ASSETS[asset], name))
            else:
                values[name].append(_number(line, name, cell))
        emode.append(_flag(line, cells.get("emode", "")))
    if not ids:
        raise InvalidArgument(f"{file}: the file has a header but no accounts; add one row each.")
    try:
        return BorrowerBook(
            account_id=np.array(ids, dtype=str),
            collateral_eth=np.array(values["collateral_eth"]),
            debt_usd=np.array(values["debt_usd"]),
            liquidation_threshold=np.array(values["liquidation_threshold"]),
            liquidation_bonus=np.array(values["liquidation_bonus"]),
            emode=np.array(emode, dtype=np.bool_),
            reference_price_usd=reference_price_usd,
        )
    except BookValueError as exc:
        column = "account" if exc.column == "account_id" else exc.column
        raise _CellError(lines[exc.index], column, f"{column}={exc.value} {exc.rule}") from None


def _check_header(file: Path, header: Sequence[str], expected: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name not in BOOK_CSV_COLUMNS:
            error = unknown_name("column", name, BOOK_CSV_COLUMNS)
            raise InvalidArgument(f"{file}: row 1: {error}")
        if name in seen:
            raise InvalidArgument(f"{file}: row 1: column {name} appears twice.")
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise InvalidArgument(f"{file}: column {name} is missing (header: {expected}).")


def _number(line: int, column: str, cell: str) -> float:
    if not cell:
        raise _CellError(line, column, f"empty cell; give {column} as a number.")
    try:
        return float(cell)
    except ValueError:
        raise _CellError(line, column, f"{column}={cell!r} is not a number.") from None


def _flag(line: int, cell: str) -> bool:
    word = cell.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _CellError(line, "emode", f"emode={cell!r} is not a boolean; give true or false.")


def _asset(line: int, cell: str) -> str:
    symbol = _ASSETS_BY_LOWER.get(cell.lower())
    if symbol is None:
        raise _CellError(line, "asset", str(unknown_name("asset", cell, BOOK_ASSETS)))
    return symbol


# --- Parquet book files ------------------------------------------------------------------------

PARQUET_METADATA_KEY = b"delever.book"
# Written by ``delever book fetch`` beside the book columns; read back by nothing but kept so a
# user can see what each row was derived from (units in the names).
BOOK_PARQUET_EXTRA_COLUMNS = (
    "health_factor",  # on chain at the block (getUserAccountData)
    "eth_collateral_usd",  # WETH, wstETH, weETH enabled as collateral, USD
    "eth_debt_usd",  # debt in those assets, USD
    "other_collateral_usd",  # all other collateral, USD (left out of collateral_eth)
    "total_debt_usd",  # all debt, USD
    "emode_category",  # Aave e-mode category id, 0 outside e-mode
)
_PARQUET_FLOATS = ("collateral_eth", "debt_usd", *PARAMETER_COLUMNS)


def write_book_parquet(
    path: str | PathLike[str], rows: Sequence[dict[str, Any]], metadata: dict[str, Any]
) -> Path:
    """Write book rows (dicts of the book and extra columns) and ``metadata`` as Parquet.

    The file is written atomically (a temp file renamed), so a failure keeps an earlier file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = (*BOOK_CSV_COLUMNS, *BOOK_PARQUET_EXTRA_COLUMNS)
    types = {"account": pa.string(), "asset": pa.string(), "emode": pa.bool_(),
             "emode_category": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.float64())) for name in columns])
    table = pa.Table.from_pydict({name: [row[name] for row in rows] for name in columns},
                                 schema=schema)
    table = table.replace_schema_metadata({PARQUET_METADATA_KEY: json.dumps(metadata)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return atomic_write_bytes(Path(path), buffer.getvalue(), option="--output")


def _read_parquet_table(file: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(file)
    except FileNotFoundError:
        raise InvalidArgument(f"{file}: no such file; give the path of a book .parquet file."
                              ) from None
    except IsADirectoryError:
        raise InvalidArgument(f"{file}: is a folder; give a book .parquet file.") from None
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgument(f"{file}: not a readable Parquet file ({reason[:120]}).") from None


def read_book_parquet_metadata(path: str | PathLike[str]) -> dict[str, Any]:
    """The ``delever.book`` metadata of a book Parquet file (``{}`` where it has none)."""
    file = Path(path)
    raw = (_read_parquet_table(file).schema.metadata or {}).get(PARQUET_METADATA_KEY)
    if raw is None:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"{file}: metadata {PARQUET_METADATA_KEY.decode()} is not JSON."
                              ) from None
    if not isinstance(meta, dict):
        raise InvalidArgument(f"{file}: metadata {PARQUET_METADATA_KEY.decode()} is not an "
                              "object.")
    return meta


def read_book_parquet(
    path: str | PathLike[str], *, reference_price_usd: float | None = None
) -> BorrowerBook:
    """Read a borrower book from a Parquet file (``delever book fetch``).

    Parameters
    ----------
    path : str or path-like
        The ``.parquet`` file.
    reference_price_usd : float, optional
        ETH price at which the book is quoted; default the file's metadata ``eth_price_usd``
        (the oracle's at the block), if any.

    Returns
    -------
    BorrowerBook

    Raises
    ------
    InvalidArgument
        One line naming the file, the row (data row, first = 1) and the column: not Parquet, a
        missing or unknown column, no rows, a null or non-numeric cell, a bad value.
    """
    file = Path(path)
    table = _read_parquet_table(file)
    names = list(table.column_names)
    allowed = (*BOOK_CSV_COLUMNS, *BOOK_PARQUET_EXTRA_COLUMNS)
    for name in names:
        if name not in allowed:
            raise InvalidArgument(f"{file}: {unknown_name('column', name, allowed)}")
    for name in (*REQUIRED_COLUMNS, *PARAMETER_COLUMNS):
        if name not in names:
            raise InvalidArgument(f"{file}: column {name} is missing (columns: "
                                  f"{', '.join(BOOK_CSV_COLUMNS)}).")
    if table.num_rows == 0:
        raise InvalidArgument(f"{file}: the file has no accounts.")
    if reference_price_usd is None:
        price = read_book_parquet_metadata(file).get("eth_price_usd")
        reference_price_usd = float(price) if isinstance(price, int | float) else None
    values = {name: _parquet_column(file, table, name) for name in ("account", *_PARQUET_FLOATS)}
    emode = (_parquet_column(file, table, "emode") if "emode" in names
             else np.zeros(table.num_rows, dtype=np.bool_))
    try:
        return BorrowerBook(
            account_id=np.array(values["account"], dtype=str),
            **{name: values[name] for name in _PARQUET_FLOATS},
            emode=emode,
            reference_price_usd=reference_price_usd,
        )
    except BookValueError as exc:
        column = "account" if exc.column == "account_id" else exc.column
        raise InvalidArgument(f"{file}: data row {exc.index + 1}, column {column}: "
                              f"{column}={exc.value} {exc.rule}") from None


def _parquet_column(file: Path, table: Any, name: str) -> npt.NDArray[Any]:
    """One column as a numpy array of its book type; a null or wrong type is one line."""
    column = table.column(name)
    nulls = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
    if nulls.size:
        raise InvalidArgument(f"{file}: data row {int(nulls[0]) + 1}, column {name}: empty cell;"
                              f" give {name} in every row.")
    values = column.to_numpy(zero_copy_only=False)
    if name == "account":
        return np.array([str(v) for v in values], dtype=str)
    kind = "b" if name == "emode" else "f"
    if values.dtype.kind not in ("b" if kind == "b" else "fiu"):
        raise InvalidArgument(f"{file}: column {name} holds {column.type}; give "
                              f"{'booleans' if kind == 'b' else 'numbers'}.")
    out: npt.NDArray[Any] = values.astype(np.bool_ if kind == "b" else np.float64)
    return out


# --- Lido Aave v3 cohort files ----------------------------------------------------------------

LIDO_COLUMNS = ("user", "collateral", "debt", "threshold", "emode", "eth_price")

# The Lido files do not carry the liquidation bonus. Aave v3 Core wstETH outside e-mode: 6%
# (th3nolo/aave-v3-data, 2025-07 .. 2026-08); ETH-correlated e-mode: 1%. Both are estimates
# for the June 2023 snapshot, whose own values are not in the file.
LIDO_LIQUIDATION_BONUS = 0.06
LIDO_EMODE_LIQUIDATION_BONUS = 0.01


def read_lido_cohort(
    path: str | PathLike[str],
    *,
    liquidation_bonus: float = LIDO_LIQUIDATION_BONUS,
    emode_liquidation_bonus: float = LIDO_EMODE_LIQUIDATION_BONUS,
) -> BorrowerBook:
    """Read a Lido Aave v3 (w)stETH-collateral snapshot file as a borrower book.

    The files come from lidofinance/aave-liquidation-model (``data/*_v3.csv``, GPL-3.0):
    use them for validation and fitting only; delever ships none of their rows.

    Parameters
    ----------
    path : str or path-like
        A ``*_v3.csv`` file, e.g. ``b21_debt_stables_v3.csv`` (stablecoin debt).
    liquidation_bonus : float
        Bonus given to accounts outside e-mode (not in the file; default an estimate).
    emode_liquidation_bonus : float
        Bonus given to accounts in e-mode (not in the file; default an estimate).

    Returns
    -------
    BorrowerBook
        Quoted at the file's oracle ETH price (``eth_price``, $1,719.90 in the June 2023
        snapshot); ``health_factor()`` reproduces the file's ``healthf`` column.

    Notes
    -----
    Columns used: ``user`` (id), ``collateral`` and ``debt`` (USD, Aave v3 base currency:
    totals over all of the account's assets, from ``getUserAccountData``), ``threshold``
    (collateral-weighted LT in bps), ``emode`` (category id, 1 = ETH-correlated) and
    ``eth_price`` (Aave oracle, USD). collateral_eth = collateral / eth_price, so every asset
    is treated as moving with ETH; in the stablecoin-debt bin about a quarter of the accounts
    hold over 20% of their collateral outside wstETH/rETH/cbETH (column ``diff_collateral``),
    part of it WETH.
    """
    file = Path(path)
    try:
        frame = pd.read_csv(file, index_col=0)
    except FileNotFoundError:
        raise InvalidArgument(f"{file}: no such file; give a Lido *_v3.csv cohort file.") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{file}: is a folder; give a Lido *_v3.csv cohort file.") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{file}: not a readable CSV ({exc}).") from None
    except OSError as exc:
        raise InvalidArgument(f"{file}: cannot be read ({exc.strerror or exc}).") from None
    missing = [name for name in LIDO_COLUMNS if name not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"{file}: column(s) {', '.join(missing)} missing; a Lido v3 cohort file has "
            f"{', '.join(LIDO_COLUMNS)} (the v2 files, without _v3, are in ETH and not supported)."
        )
    if frame.empty:
        raise InvalidArgument(f"{file}: the file has a header but no accounts.")
    prices = frame["eth_price"].to_numpy(dtype=np.float64)
    if not np.all(prices == prices[0]):
        raise InvalidArgument(f"{file}: column eth_price is not one snapshot price.")
    price_usd = float(prices[0])
    bonus = check_non_negative("liquidation_bonus", liquidation_bonus)
    emode_bonus = check_non_negative("emode_liquidation_bonus", emode_liquidation_bonus)
    emode = frame["emode"].to_numpy() != 0
    if not math.isfinite(price_usd) or price_usd <= 0:
        raise InvalidArgument(f"{file}: eth_price={price_usd!r} must be a positive price.")
    try:
        return BorrowerBook(
            account_id=frame["user"].astype(str).to_numpy(dtype=str),
            collateral_eth=frame["collateral"].to_numpy(dtype=np.float64) / price_usd,
            debt_usd=frame["debt"].to_numpy(dtype=np.float64),
            liquidation_threshold=frame["threshold"].to_numpy(dtype=np.float64) / 1e4,
            liquidation_bonus=np.where(emode, emode_bonus, bonus),
            emode=emode,
            reference_price_usd=price_usd,
        )
    except BookValueError as exc:
        raise InvalidArgument(f"{file}: data row {exc.index + 1}: {exc}") from None


__all__ = [
    "BOOK_CSV_COLUMNS",
    "BOOK_PARQUET_EXTRA_COLUMNS",
    "LIDO_EMODE_LIQUIDATION_BONUS",
    "LIDO_LIQUIDATION_BONUS",
    "read_book_csv",
    "read_book_parquet",
    "read_book_parquet_metadata",
    "read_lido_cohort",
    "write_book_parquet",
]
