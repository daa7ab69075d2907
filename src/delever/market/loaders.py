"""Market data loaders: the Binance ETH/USDT data shipped with delever and the user's own files.

I/O lives here, at the edge. Every frame has a UTC :class:`pandas.DatetimeIndex` named
``open_time`` (kline open times) and float64 columns with units in their names. Prices are
Binance ETHUSDT quotes in USDT, counted 1:1 as USD (``open_usd`` ... ``close_usd``); volumes
are ``volume_eth`` (base asset) and ``quote_volume_usd`` (quote asset, USDT counted as USD).
Gaps in the data stay gaps (missing rows, never filled); see ``data/binance/README.md``.

Shipped data (attribution in ``src/delever/data/binance/README.md``):

- :func:`load_binance_daily`, :func:`load_binance_4h`: nvn01/eth-dataset-kaggle-updater,
  CC BY 4.0, Binance spot ETHUSDT klines 2020-01-01 .. 2025-06-24, with volume.
- :func:`load_binance_daily_recent`, :func:`load_binance_hourly`: small excerpts of
  mshmwr/k-line-prediction (Binance spot ETHUSDT, no volume): daily 2025-06-18 .. 2026-05-01,
  hourly 2026-01-15 .. 2026-02-28 (00:00 bars and 2026-01-20 missing).
- :func:`eth_daily_close`: the two daily files stitched (they match to the cent on the
  overlap).

User files: :func:`read_klines_csv` (Binance kline CSV), :func:`read_book_depth_csv`
(Binance futures ``bookDepth``), :func:`read_univ3_pool_state` (a Uniswap v3 pool state
in JSON, schema below). A malformed file raises one :class:`~delever.errors.InvalidArgument`
line naming the file and the problem.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from delever.errors import InvalidArgument

PRICE_COLUMNS = ("open_usd", "high_usd", "low_usd", "close_usd")
KLINE_COLUMNS = (*PRICE_COLUMNS, "volume_eth", "quote_volume_usd")

NVN01_SOURCE = (
    "Binance spot ETHUSDT klines via nvn01/eth-dataset-kaggle-updater @ 1b20c581 (CC BY 4.0)"
)
MSHMWR_SOURCE = (
    "Binance spot ETHUSDT klines via mshmwr/k-line-prediction @ 749a74fa "
    "(excerpt; no licence file; Binance terms of use)"
)

_FILES = {
    "nvn01_1d": "nvn01_ethusdt_1d.csv.gz",
    "nvn01_4h": "nvn01_ethusdt_4h.csv.gz",
    "mshmwr_1d": "mshmwr_ethusdt_1d_excerpt.csv.gz",
    "mshmwr_1h": "mshmwr_ethusdt_1h_excerpt.csv.gz",
}
_SHIPPED_RENAME = {
    "open": "open_usd",
    "high": "high_usd",
    "low": "low_usd",
    "close": "close_usd",
    "volume_eth": "volume_eth",
    "quote_volume_usdt": "quote_volume_usd",
}


# --- shipped data ------------------------------------------------------------------------------


@cache
def _shipped(key: str) -> pd.DataFrame:
    name = _FILES[key]
    resource = resources.files("delever").joinpath("data", "binance", name)
    with resource.open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip", dtype={"open_time": str})
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("open_time"), format="ISO8601", utc=True))
    index = index.as_unit("ns")  # one resolution for shipped and user frames
    index.name = "open_time"
    frame = frame.rename(columns=_SHIPPED_RENAME).astype("float64")
    frame.index = index
    frame.attrs["source"] = NVN01_SOURCE if key.startswith("nvn01") else MSHMWR_SOURCE
    frame.attrs["file"] = f"delever/data/binance/{name}"
    return frame


def _copy(key: str) -> pd.DataFrame:
    frame = _shipped(key).copy()
    frame.attrs = dict(_shipped(key).attrs)
    return frame


def load_binance_daily() -> pd.DataFrame:
    """Binance ETHUSDT daily klines 2020-01-01 .. 2025-06-24 (nvn01, CC BY 4.0), with volume.

    Returns
    -------
    pandas.DataFrame
        Index ``open_time`` (UTC midnight of each day); columns ``open_usd``, ``high_usd``,
        ``low_usd``, ``close_usd``, ``volume_eth``, ``quote_volume_usd``. 2,002 rows, no gaps.
        The partial bar of 2025-06-25 in the source is not shipped.
    """
    return _copy("nvn01_1d")


def load_binance_4h() -> pd.DataFrame:
    """Binance ETHUSDT 4-hour klines 2020-01-01 .. 2025-06-24 20:00 (nvn01, CC BY 4.0).

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`load_binance_daily`. 12,011 rows; the 2020-02-19 12:00 bar is
        missing upstream (kept as a gap).
    """
    return _copy("nvn01_4h")


def load_binance_daily_recent() -> pd.DataFrame:
    """Binance ETHUSDT daily klines 2025-06-18 .. 2026-05-01 (mshmwr excerpt), no volume.

    Returns
    -------
    pandas.DataFrame
        Columns ``open_usd``, ``high_usd``, ``low_usd``, ``close_usd``. 318 rows, no gaps.
        Use this file, not the hourly one, for daily extremes (e.g. the 2026-02-06 low).
    """
    return _copy("mshmwr_1d")


def load_binance_hourly() -> pd.DataFrame:
    """Binance ETHUSDT hourly klines 2026-01-15 01:00 .. 2026-02-28 23:00 (mshmwr excerpt).

    Returns
    -------
    pandas.DataFrame
        Columns ``open_usd``, ``high_usd``, ``low_usd``, ``close_usd`` (no volume). 1,012 of
        1,080 hourly slots: every 00:00 bar and all of 2026-01-20 are missing upstream and
        kept as gaps. The missing 2026-02-06 00:00 bar held that day's crash low (1,747.80 in
        the daily file): hourly lows understate the fall.
    """
    return _copy("mshmwr_1h")


def eth_daily_close() -> pd.DataFrame:
    """Daily ETHUSDT closes 2020-01-01 .. 2026-05-01: nvn01 daily, then the mshmwr excerpt.

    Returns
    -------
    pandas.DataFrame
        Index ``open_time`` (UTC days, no gaps); columns ``close_usd`` (float64) and
        ``source`` (``"nvn01"`` up to 2025-06-24, ``"mshmwr"`` after).

    Notes
    -----
    On the days both files hold (2025-06-18 .. 2025-06-24 in the shipped excerpt; all 2,002
    complete days in the full files) the closes match to the cent, so the nvn01 value is
    kept there and the excerpt only extends the series.
    """
    old = _shipped("nvn01_1d")["close_usd"]
    new = _shipped("mshmwr_1d")["close_usd"]
    new = new[new.index > old.index[-1]]
    close = pd.concat([old, new])
    frame = pd.DataFrame(
        {
            "close_usd": close.to_numpy(dtype=np.float64),
            "source": ["nvn01"] * len(old) + ["mshmwr"] * len(new),
        },
        index=close.index,
    )
    frame.attrs["source"] = f"{NVN01_SOURCE}; then {MSHMWR_SOURCE}"
    return frame


# --- the user's own files ----------------------------------------------------------------------


def read_user_text(file: Path, what: str) -> str:
    """Read a text file, a .gz file, or a .zip holding one CSV, as UTF-8."""
    try:
        if file.suffix.lower() == ".gz":
            with gzip.open(file, "rb") as handle:
                raw = handle.read()
        elif file.suffix.lower() == ".zip":
            with zipfile.ZipFile(file) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise InvalidArgument(
                        f"{file}: the zip holds {len(names)} files; give a zip with one CSV."
                    )
                raw = archive.read(names[0])
        else:
            raw = file.read_bytes()
    except FileNotFoundError:
        raise InvalidArgument(f"{file}: no such file; give the path of {what}.") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{file}: is a folder; give the path of {what}.") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InvalidArgument(f"{file}: cannot be read ({exc}).") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{file}: not UTF-8 text ({exc.reason}); give a CSV file.") from None


def _check_control_characters(file: Path, text: str) -> None:
    """A NUL byte means a binary or corrupt file; csv would read it as part of a cell."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise InvalidArgument(
            f"{file}: row {line}: a NUL byte; the file is binary or corrupt, give a CSV text file."
        )


def csv_rows(file: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of the non-blank CSV rows of ``text`` read from ``file``.

    A NUL byte or a stray carriage return inside a row (``csv.Error``) raises one
    :class:`~delever.errors.InvalidArgument` line naming the file and the line.
    """
    _check_control_characters(file, text)
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                out.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as exc:
        raise InvalidArgument(
            f"{file}: row {reader.line_num}: not valid CSV ({exc}); remove the stray carriage "
            "return (CR) or close the quote."
        ) from None
    return out



# Times must fit pandas' nanosecond index (1677-09-21 .. 2262-04-11); a year such as 0226 (a
# typo for 2026) would otherwise overflow deep inside pandas.
_MIN_NS = int(pd.Timestamp.min.value)
_MAX_NS = int(pd.Timestamp.max.value)
TIME_RANGE_TEXT = "1677-09-22 .. 2262-04-11 UTC"


def _nanos(stamp: pd.Timestamp) -> int | None:
    """UTC nanoseconds of ``stamp``, or None when out of pandas' range."""
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    try:
        value = int(stamp.as_unit("ns").value)
    except (OverflowError, pd.errors.OutOfBoundsDatetime, ValueError):
        return None
    return value if _MIN_NS <= value <= _MAX_NS else None


def utc_time(field: str, value: str | datetime | pd.Timestamp) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive times are UTC), or one InvalidArgument line."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise InvalidArgument(
            f"{field}={str(value)!r} is not a time; give an ISO date or time (UTC), e.g. "
            "2026-02-05 or 2026-02-05T12:00."
        )
    nanos = _nanos(stamp)
    if nanos is None:
        raise InvalidArgument(f"{field}={str(value)!r} must be within {TIME_RANGE_TEXT}.")
    return pd.Timestamp(nanos, unit="ns", tz="UTC")


def _parse_times(file: Path, lines: list[int], cells: list[str], column: str) -> pd.DatetimeIndex:
    """Binance epoch times (ms or µs, detected per value) or ISO date/times, as UTC."""
    nanos = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        where = f"{file}: row {lines[i]}, column {column}"
        value_ns: int | None
        if cell.isdigit():
            value = int(cell)
            if 10**11 <= value < 10**14:  # milliseconds (1973 .. 5138)
                value_ns = value * 1_000_000
            elif 10**14 <= value < 10**17:  # microseconds (Binance spot since 2025-01-01)
                value_ns = value * 1_000
            else:
                raise InvalidArgument(
                    f"{where}: {cell} is not a Binance epoch time in milliseconds (13 digits) "
                    "or microseconds (16 digits)."
                )
        else:
            try:
                stamp = pd.Timestamp(cell) if cell else None
            except (ValueError, TypeError, OverflowError):
                stamp = None
            if stamp is None or pd.isna(stamp):
                raise InvalidArgument(
                    f"{where}: {cell!r} is not a time; give epoch milliseconds, microseconds "
                    "or an ISO date such as 2026-01-31 00:00."
                )
            value_ns = _nanos(stamp)
        if value_ns is None or not _MIN_NS <= value_ns <= _MAX_NS:
            raise InvalidArgument(f"{where}: {cell!r} must be a time within {TIME_RANGE_TEXT}.")
        nanos[i] = value_ns
    index = pd.DatetimeIndex(pd.to_datetime(nanos, unit="ns", utc=True))
    return index


def _numbers(
    file: Path, lines: list[int], cells: list[str], column: str, *, positive: bool = False
) -> np.ndarray[Any, np.dtype[np.float64]]:
    values = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = ~np.isfinite(values) | ((values <= 0) if positive else (values < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rule = "a number greater than 0" if positive else "a number, not negative"
        raise InvalidArgument(
            f"{file}: row {lines[i]}, column {column}: {cells[i]!r} must be {rule}."
        )
    return values


def _check_increasing(file: Path, lines: list[int], index: pd.DatetimeIndex) -> None:
    steps = np.diff(index.asi8)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        word = "repeats" if steps[i - 1] == 0 else "goes back in time from"
        raise InvalidArgument(
            f"{file}: row {lines[i]}: open time {index[i]} {word} the row before; "
            "sort the rows by time and drop duplicates."
        )


def read_klines_csv(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a Binance kline (candlestick) CSV of ETH against a USD stablecoin.

    Accepted formats: the columns of the Binance API ``/api/v3/klines`` (and of the
    data.binance.vision ``klines`` files), in this order, **with or without** a header row::

        open_time, open, high, low, close, volume[, close_time, quote_asset_volume,
        number_of_trades, taker_buy_base_volume, taker_buy_quote_volume, ignore]

    - at least the first 6 columns; a header is recognised by a cell containing "open";
      columns are taken by position, not by header name;
    - ``open_time`` as epoch **milliseconds** (13 digits) or **microseconds** (16 digits,
      Binance spot files from 2025-01-01), detected per row, or an ISO date/time (UTC);
    - plain ``.csv``, ``.csv.gz`` or a ``.zip`` holding one CSV (as data.binance.vision
      serves them).

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    pandas.DataFrame
        Index ``open_time`` (UTC); columns ``open_usd``, ``high_usd``, ``low_usd``,
        ``close_usd``, ``volume_eth`` and, where the file has 8 or more columns,
        ``quote_volume_usd`` (the quote stablecoin counted 1:1 as USD).

    Raises
    ------
    InvalidArgument
        One line naming the file and the row: too few columns, ragged rows, a bad time, a
        non-positive price, high below low (or below open/close), a negative volume, times
        out of order or repeated, no data rows.
    """
    file = Path(path)
    rows = csv_rows(file, read_user_text(file, "a Binance klines CSV"))
    if rows and any("open" in cell.lower() for cell in rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise InvalidArgument(f"{file}: no kline rows; expected open_time,open,high,low,close,...")
    width = len(rows[0][1])
    if width < 6:
        raise InvalidArgument(
            f"{file}: row {rows[0][0]}: {width} columns; a Binance kline row has at least 6 "
            "(open_time,open,high,low,close,volume)."
        )
    for line, cells in rows:
        if len(cells) != width:
            raise InvalidArgument(
                f"{file}: row {line}: {len(cells)} columns but the first row has {width}; "
                "check the commas."
            )
    lines = [line for line, _ in rows]
    column = list(zip(*(cells for _, cells in rows), strict=True))
    index = _parse_times(file, lines, list(column[0]), "open_time")
    data: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = {}
    for k, name in enumerate(PRICE_COLUMNS, start=1):
        data[name] = _numbers(
            file, lines, list(column[k]), name.removesuffix("_usd"), positive=True
        )
    data["volume_eth"] = _numbers(file, lines, list(column[5]), "volume")
    if width >= 8:
        data["quote_volume_usd"] = _numbers(file, lines, list(column[7]), "quote_asset_volume")
    high, low = data["high_usd"], data["low_usd"]
    bad = (high < low) | (high < data["open_usd"]) | (high < data["close_usd"])
    bad |= (low > data["open_usd"]) | (low > data["close_usd"])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(
            f"{file}: row {lines[i]}: high={high[i]!r} and low={low[i]!r} must bracket open "
            "and close (low <= open, close <= high); check the column order."
        )
    _check_increasing(file, lines, index)
    index.name = "open_time"
    frame = pd.DataFrame(data, index=index)
    frame.attrs["source"] = f"user file {file}"
    return frame


BOOK_DEPTH_HEADER = ("timestamp", "percentage", "depth", "notional")


def read_book_depth_csv(
    path: str | PathLike[str], *, snapshot: str | datetime | pd.Timestamp | None = None
) -> pd.DataFrame:
    """Cumulative order-book depth by distance from mid, for one snapshot of a Binance
    ``bookDepth`` file.

    The files of data.binance.vision (``futures/um/daily/bookDepth/ETHUSDT/...``) have the
    header ``timestamp,percentage,depth,notional``: at each snapshot time, for each
    ``percentage`` (signed percent from mid: negative = bids, positive = asks, e.g. -5 .. 5),
    the cumulative base-asset quantity (``depth``) and USD notional within that distance.

    Parameters
    ----------
    path : str or path-like
        The CSV (plain, ``.gz`` or a ``.zip`` holding one CSV).
    snapshot : str, datetime or Timestamp, optional
        The time wanted: the last snapshot at or before it is returned. Default: the first
        snapshot in the file. Naive times are UTC.

    Returns
    -------
    pandas.DataFrame
        Columns ``side`` (``"bid"`` / ``"ask"``), ``distance`` (fraction of mid, > 0, e.g.
        0.01 for 1%), ``depth_eth`` and ``notional_usd`` (cumulative), bids then asks, each by
        increasing distance. ``attrs["snapshot_time"]`` is the snapshot's UTC time.

    Raises
    ------
    InvalidArgument
        A wrong header, a bad time or number, a zero percentage, a negative depth, a
        repeated percentage within the snapshot, cumulative depth that falls as the distance
        grows, or no snapshot at or before ``snapshot``.
    """
    file = Path(path)
    lines, column = _book_depth_rows(file)
    times = _parse_times(file, lines, list(column[0]), "timestamp")
    percentage = pd.to_numeric(pd.Series(column[1], dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = ~np.isfinite(percentage) | (percentage == 0) | (np.abs(percentage) >= 100)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(
            f"{file}: row {lines[i]}, column percentage: {column[1][i]!r} must be a non-zero "
            "percent from mid in (-100, 100) (negative = bids)."
        )
    depth = _numbers(file, lines, list(column[2]), "depth")
    notional = _numbers(file, lines, list(column[3]), "notional")
    chosen = _snapshot_time(file, times, snapshot)
    pick = np.flatnonzero(times == chosen)
    frame = pd.DataFrame(
        {
            "side": np.where(percentage[pick] < 0, "bid", "ask"),
            "distance": np.abs(percentage[pick]) / 100.0,
            "depth_eth": depth[pick],
            "notional_usd": notional[pick],
            "_line": np.asarray(lines)[pick],
        }
    )
    frame = frame.sort_values(["side", "distance"], ascending=[False, True], kind="stable")
    _check_depth_sides(file, frame, chosen)
    frame = frame.drop(columns="_line").reset_index(drop=True)
    frame.attrs["snapshot_time"] = chosen
    frame.attrs["source"] = f"user file {file}"
    return frame


def _book_depth_rows(file: Path) -> tuple[list[int], list[tuple[str, ...]]]:
    """The data rows' line numbers and the four columns, after the header is checked."""
    rows = csv_rows(file, read_user_text(file, "a Binance bookDepth CSV"))
    if not rows:
        raise InvalidArgument(f"{file}: the file is empty; expected {','.join(BOOK_DEPTH_HEADER)}.")
    header = tuple(cell.lower() for cell in rows[0][1])
    if header != BOOK_DEPTH_HEADER:
        raise InvalidArgument(
            f"{file}: row {rows[0][0]}: header {','.join(header)!r} is not "
            f"{','.join(BOOK_DEPTH_HEADER)!r}; give a Binance bookDepth CSV."
        )
    rows = rows[1:]
    if not rows:
        raise InvalidArgument(f"{file}: the file has a header but no rows.")
    for line, cells in rows:
        if len(cells) != 4:
            raise InvalidArgument(f"{file}: row {line}: {len(cells)} columns, expected 4.")
    lines = [line for line, _ in rows]
    return lines, list(zip(*(cells for _, cells in rows), strict=True))


def _snapshot_time(
    file: Path, times: pd.DatetimeIndex, snapshot: str | datetime | pd.Timestamp | None
) -> pd.Timestamp:
    """The first snapshot, or the last one at or before ``snapshot``."""
    if snapshot is None:
        return times.min()
    wanted = utc_time("snapshot", snapshot)
    earlier = times[times <= wanted]
    if len(earlier) == 0:
        raise InvalidArgument(
            f"{file}: snapshot={wanted} is before the first snapshot ({times.min()})."
        )
    return earlier.max()


def _check_depth_sides(file: Path, frame: pd.DataFrame, chosen: pd.Timestamp) -> None:
    """Each side's percentages once each, and its depth cumulative (never falling)."""
    for side, group in frame.groupby("side", sort=False):
        repeated = group["distance"].duplicated()
        if repeated.any():
            line = int(group["_line"][repeated].iloc[0])
            raise InvalidArgument(
                f"{file}: row {line}: percentage repeated within the {side} side of snapshot "
                f"{chosen}."
            )
        falls = np.diff(group["depth_eth"].to_numpy()) < 0
        if falls.any():
            line = int(group["_line"].iloc[int(np.flatnonzero(falls)[0]) + 1])
            raise InvalidArgument(
                f"{file}: row {line}: cumulative depth falls as the distance from mid grows "
                f"({side} side of snapshot {chosen}); depth must be cumulative."
            )


# --- Uniswap v3 pool state ---------------------------------------------------------------------

UNIV3_MIN_TICK = -887272
UNIV3_MAX_TICK = 887272
# TickMath.sol MIN_SQRT_RATIO / MAX_SQRT_RATIO (Uniswap v3 core)
UNIV3_MIN_SQRT_RATIO = 4295128739
UNIV3_MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
# Fee tier (pips, 1e-6) -> tick spacing, UniswapV3Factory constructor and governance additions
UNIV3_TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
_UINT128_MAX = 2**128 - 1


@dataclass(frozen=True)
class TickLiquidity:
    """One initialised tick: its index and the net liquidity added when crossed upward."""

    index: int
    liquidity_net: int


@dataclass(frozen=True)
class PoolState:
    """A Uniswap v3 pool at one moment, as read by :func:`read_univ3_pool_state`.

    Raw on-chain integers are kept exact (Python ints); amounts are in raw token units.

    Attributes
    ----------
    token0, token1 : str
        Token symbols, in the pool's order (token0 has the lower address).
    decimals0, decimals1 : int
        Token decimals (USDC 6, WETH 18).
    fee_pips : int
        Swap fee in millionths (500 = 0.05%).
    tick_spacing : int
        Tick spacing (from the fee tier unless the file gives it).
    sqrt_price_x96 : int
        ``sqrt(raw token1 per raw token0) * 2**96`` (slot0).
    liquidity : int
        Active liquidity at the current tick.
    tick : int
        Current tick (slot0).
    ticks : tuple of TickLiquidity
        Initialised ticks in increasing index order.
    """

    token0: str
    token1: str
    decimals0: int
    decimals1: int
    fee_pips: int
    tick_spacing: int
    sqrt_price_x96: int
    liquidity: int
    tick: int
    ticks: tuple[TickLiquidity, ...]

    @property
    def fee(self) -> float:
        """Swap fee as a fraction (0.0005 for the 5 bp tier)."""
        return self.fee_pips / 1_000_000

    @property
    def price_token1_per_token0(self) -> float:
        """Price of one whole token0 in whole token1 (e.g. WETH per USDC)."""
        raw = (self.sqrt_price_x96 / 2**96) ** 2
        return raw * 10.0 ** (self.decimals0 - self.decimals1)

    @property
    def price_token0_per_token1(self) -> float:
        """Price of one whole token1 in whole token0 (e.g. USDC per WETH: the ETH price)."""
        return 1.0 / self.price_token1_per_token0


_POOL_KEYS = {
    "token0",
    "token1",
    "decimals0",
    "decimals1",
    "fee_pips",
    "sqrt_price_x96",
    "liquidity",
    "tick",
    "ticks",
}
_POOL_OPTIONAL = {"tick_spacing", "block", "pool", "chain", "note", "timestamp"}


def _pool_int(file: Path, field: str, value: Any, *, low: int, high: int) -> int:
    """An exact integer given as a JSON integer or a decimal string (big uint256 values)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgument(
            f"{file}: {field}={value!r} must be an integer or a string of digits."
        )
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not digits.isdigit():
            raise InvalidArgument(f"{file}: {field}={value!r} is not a whole number.")
        number = int(text)
    else:
        number = value
    if not low <= number <= high:
        raise InvalidArgument(f"{file}: {field}={number} must be in [{low}, {high}].")
    return number


def read_univ3_pool_state(path: str | PathLike[str]) -> PoolState:
    """Read a Uniswap v3 pool state from a JSON file.

    Schema (big integers may be JSON integers or decimal strings; strings are safer)::

        {"token0": "USDC", "token1": "WETH", "decimals0": 6, "decimals1": 18,
         "fee_pips": 500, "sqrt_price_x96": "1234...", "liquidity": "5678...",
         "tick": 196000, "tick_spacing": 10,                      # tick_spacing optional
         "ticks": [{"index": 195990, "liquidity_net": "123..."},
                   {"index": 196010, "liquidity_net": "-123..."}]}

    ``sqrt_price_x96``, ``liquidity`` and ``tick`` are ``slot0`` / ``liquidity()`` of the
    pool contract; ``ticks`` the initialised ticks (``ticks(i).liquidityNet``), in any order.
    Optional descriptive keys: ``block``, ``pool``, ``chain``, ``note``, ``timestamp``.

    Parameters
    ----------
    path : str or path-like
        The JSON file.

    Returns
    -------
    PoolState

    Raises
    ------
    InvalidArgument
        Malformed JSON, a missing or unknown key, a number out of range (decimals 0..77, fee
        in (0, 1e6), ticks within +-887272 and on the tick spacing, sqrt price within
        TickMath's bounds), ``tick`` inconsistent with ``sqrt_price_x96``, a repeated tick, or
        a tick list under which the active liquidity would turn negative.

    Notes
    -----
    Consistency rules (Uniswap v3 core, ``TickMath.sol`` and ``Pool.sol``): ``tick`` is
    ``floor(log_1.0001(price))`` with ``price = (sqrt_price_x96 / 2**96)**2``; crossing a tick
    upward adds its ``liquidity_net``, downward subtracts it, and the liquidity in every range
    must stay >= 0 and <= 2**128 - 1.
    """
    file = Path(path)
    raw = _pool_json(file)
    decimals0 = _pool_int(file, "decimals0", raw["decimals0"], low=0, high=77)
    decimals1 = _pool_int(file, "decimals1", raw["decimals1"], low=0, high=77)
    fee_pips = _pool_int(file, "fee_pips", raw["fee_pips"], low=1, high=999_999)
    spacing = _tick_spacing(file, raw, fee_pips)
    sqrt_price, liquidity, tick = _pool_slot0(file, raw)
    ticks = _pool_ticks(file, raw["ticks"], spacing)
    _check_tick_liquidity(file, ticks, tick, liquidity)
    return PoolState(
        token0=raw["token0"].strip(),
        token1=raw["token1"].strip(),
        decimals0=decimals0,
        decimals1=decimals1,
        fee_pips=fee_pips,
        tick_spacing=spacing,
        sqrt_price_x96=sqrt_price,
        liquidity=liquidity,
        tick=tick,
        ticks=tuple(ticks),
    )


def _tick_spacing(file: Path, raw: dict[str, Any], fee_pips: int) -> int:
    """The file's tick spacing, else the standard one of the fee tier."""
    if "tick_spacing" in raw:
        return _pool_int(file, "tick_spacing", raw["tick_spacing"], low=1, high=16383)
    if fee_pips in UNIV3_TICK_SPACING:
        return UNIV3_TICK_SPACING[fee_pips]
    raise InvalidArgument(
        f"{file}: fee_pips={fee_pips} is not a standard tier ({sorted(UNIV3_TICK_SPACING)}); "
        "give tick_spacing too."
    )


def _pool_slot0(file: Path, raw: dict[str, Any]) -> tuple[int, int, int]:
    """``sqrt_price_x96``, ``liquidity`` and ``tick``, in range and consistent."""
    sqrt_price = _pool_int(
        file,
        "sqrt_price_x96",
        raw["sqrt_price_x96"],
        low=UNIV3_MIN_SQRT_RATIO,
        high=UNIV3_MAX_SQRT_RATIO - 1,
    )
    liquidity = _pool_int(file, "liquidity", raw["liquidity"], low=0, high=_UINT128_MAX)
    tick = _pool_int(file, "tick", raw["tick"], low=UNIV3_MIN_TICK, high=UNIV3_MAX_TICK)
    # floor(log_1.0001(price)); float logs are exact enough to be off by at most one tick
    implied = math.floor(2.0 * math.log(sqrt_price / 2**96) / math.log(1.0001))
    if abs(implied - tick) > 1:
        raise InvalidArgument(
            f"{file}: tick={tick} does not match sqrt_price_x96 (which implies tick {implied})."
        )
    return sqrt_price, liquidity, tick


def _pool_json(file: Path) -> dict[str, Any]:
    """The pool file's JSON object, its keys and token symbols checked."""
    text = read_user_text(file, "a Uniswap v3 pool state JSON")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{file}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{file}: expected a JSON object with keys {sorted(_POOL_KEYS)}.")
    missing = sorted(_POOL_KEYS - raw.keys())
    if missing:
        raise InvalidArgument(f"{file}: missing key(s) {', '.join(missing)}.")
    unknown = sorted(raw.keys() - _POOL_KEYS - _POOL_OPTIONAL)
    if unknown:
        raise InvalidArgument(
            f"{file}: unknown key(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(_POOL_KEYS | _POOL_OPTIONAL))}."
        )
    for field in ("token0", "token1"):
        if not isinstance(raw[field], str) or not raw[field].strip():
            raise InvalidArgument(f"{file}: {field}={raw[field]!r} must be a token symbol.")
    return raw


def _pool_ticks(file: Path, entries: Any, spacing: int) -> list[TickLiquidity]:
    """The initialised ticks, checked (range, spacing, once each) and sorted by index."""
    if not isinstance(entries, list):
        raise InvalidArgument(f"{file}: ticks must be a list of {{index, liquidity_net}}.")
    ticks: list[TickLiquidity] = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"index", "liquidity_net"}:
            raise InvalidArgument(
                f"{file}: ticks[{k}]={entry!r} must be an object with keys index, liquidity_net."
            )
        index = _pool_int(
            file, f"ticks[{k}].index", entry["index"], low=UNIV3_MIN_TICK, high=UNIV3_MAX_TICK
        )
        if index % spacing:
            raise InvalidArgument(
                f"{file}: ticks[{k}].index={index} is not a multiple of the tick spacing {spacing}."
            )
        net = _pool_int(
            file,
            f"ticks[{k}].liquidity_net",
            entry["liquidity_net"],
            low=-(2**127),
            high=2**127 - 1,
        )
        ticks.append(TickLiquidity(index=index, liquidity_net=net))
    ticks.sort(key=lambda t: t.index)
    for before, after in itertools.pairwise(ticks):
        if before.index == after.index:
            raise InvalidArgument(f"{file}: tick {after.index} appears twice in ticks.")
    return ticks


def _check_tick_liquidity(file: Path, ticks: list[TickLiquidity], tick: int,
                          liquidity: int) -> None:
    """Walk up and down from the current tick: the liquidity of every range must stay valid."""
    level = liquidity
    for entry in (t for t in ticks if t.index > tick):
        level += entry.liquidity_net
        if not 0 <= level <= _UINT128_MAX:
            raise InvalidArgument(
                f"{file}: crossing tick {entry.index} upward leaves liquidity {level}; it must "
                "stay in [0, 2**128 - 1]. Check liquidity and the liquidity_net signs."
            )
    level = liquidity
    for entry in (t for t in reversed(ticks) if t.index <= tick):
        level -= entry.liquidity_net
        if not 0 <= level <= _UINT128_MAX:
            raise InvalidArgument(
                f"{file}: crossing tick {entry.index} downward leaves liquidity {level}; it "
                "must stay in [0, 2**128 - 1]. Check liquidity and the liquidity_net signs."
            )


__all__ = [
    "BOOK_DEPTH_HEADER",
    "KLINE_COLUMNS",
    "MSHMWR_SOURCE",
    "NVN01_SOURCE",
    "PRICE_COLUMNS",
    "TIME_RANGE_TEXT",
    "UNIV3_TICK_SPACING",
    "PoolState",
    "TickLiquidity",
    "csv_rows",
    "eth_daily_close",
    "load_binance_4h",
    "load_binance_daily",
    "load_binance_daily_recent",
    "load_binance_hourly",
    "read_book_depth_csv",
    "read_klines_csv",
    "read_univ3_pool_state",
    "read_user_text",
    "utc_time",
]
