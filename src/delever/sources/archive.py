"""Files from Binance's public data archive (https://data.binance.vision), read offline.

Formats (binance/binance-public-data @ 5c7f3197591c0d54d85dc43066226bc4c671d47a, README.md):

- Klines, spot (``data/spot/{daily,monthly}/klines/SYMBOL/INTERVAL/SYMBOL-INTERVAL-DATE.zip``)
  and USD-M futures (``data/futures/um/...``): one CSV per zip, 12 columns ``Open time, Open,
  High, Low, Close, Volume, Close time, Quote asset volume, Number of trades, Taker buy base
  asset volume, Taker buy quote asset volume, Ignore``. Spot files have no header row; USD-M
  futures files start with the header ``open_time,open,high,low,close,volume,close_time,
  quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore``. "The timestamp for
  SPOT Data from January 1st 2025 onwards will be in microseconds" (README line 11); futures
  stay in milliseconds. The unit is told from each value's magnitude (13 digits ms, 16 µs),
  so files from both sides of 2025-01-01 mix.
- ``bookDepth`` (USD-M futures, ``data/futures/um/daily/bookDepth/SYMBOL/...``): header
  ``timestamp,percentage,depth,notional``, cumulative depth by signed percent from the mid
  (not in that README; the format is the one :func:`delever.market.loaders.read_book_depth_csv`
  reads).

The parsing itself is :mod:`delever.market.loaders`' (``read_klines_csv``,
``read_book_depth_csv``); this module joins several files, checks they form one series,
and turns them into the inputs calibration and the impact models take. A malformed file is
one :class:`~delever.sources.SourceError` line naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from delever.errors import InvalidArgument
from delever.market.calibration import MarketData
from delever.market.loaders import read_book_depth_csv, read_klines_csv
from delever.market.orderbook import OrderBook
from delever.sources import SourceError

ARCHIVE_SOURCE = "Binance public data archive (data.binance.vision)"
DAY = pd.Timedelta(days=1)


def read_archive_klines(paths: Sequence[str | PathLike[str]]) -> pd.DataFrame:
    """Kline files of the archive (zip or csv, spot or USD-M futures, ms or µs), joined.

    Parameters
    ----------
    paths : one or more files of one symbol and one interval, in any order (e.g. the
        monthly zips of 2024-12 and 2025-01).

    Returns
    -------
    pandas.DataFrame
        :func:`~delever.market.loaders.read_klines_csv`'s frame: UTC ``open_time`` index,
        ``open_usd`` .. ``close_usd``, ``volume_eth``, ``quote_volume_usd`` (USDT counted as
        USD), sorted; ``attrs["source"]`` names the files, ``attrs["bar"]`` the interval.

    Raises
    ------
    SourceError
        A file unreadable or malformed (the loader's message), files of different intervals,
        or the same bar in two files with different values.
    """
    if not paths:
        raise SourceError("--archive: give at least one kline file.")
    frames: list[pd.DataFrame] = []
    for path in paths:
        try:
            frames.append(read_klines_csv(path))
        except InvalidArgument as exc:
            raise SourceError(f"archive klines: {exc}") from None
    width = {tuple(f.columns) for f in frames}
    if len(width) > 1:
        raise SourceError("archive klines: the files have different columns; give files of "
                          "one kind (all spot or all futures klines).")
    joined = pd.concat(frames).sort_index(kind="stable")
    repeated = joined.index.duplicated(keep="first")
    if repeated.any():
        twins = joined[joined.index.isin(joined.index[repeated])]
        differ = twins.groupby(level=0).nunique().gt(1).any(axis=1)
        if differ.any():
            raise SourceError(
                f"archive klines: the bar {differ.index[differ.to_numpy()][0]} appears in two "
                "files with different values."
            )
        joined = joined[~repeated]
    bar = bar_interval(joined)
    joined.attrs["bar"] = bar
    joined.attrs["source"] = (
        f"{ARCHIVE_SOURCE} klines, {len(paths)} file(s): "
        + ", ".join(Path(p).name for p in paths)
    )
    return joined


def bar_interval(frame: pd.DataFrame) -> pd.Timedelta:
    """The bar length: the smallest step between open times (gaps make larger ones)."""
    if len(frame) < 2:
        raise SourceError("klines: at least two bars are needed to tell the interval.")
    steps = np.diff(pd.DatetimeIndex(frame.index).asi8)
    return pd.Timedelta(int(steps.min()), unit="ns")


def klines_market_data(frame: pd.DataFrame) -> MarketData:
    """:class:`~delever.market.calibration.MarketData` from one kline series.

    Daily bars are used as they are. Bars shorter than a day (which must divide it) give the
    daily closes and volumes of the days whose bars are all present (the last bar's close,
    the volumes summed), and are also the intraday series calibration prefers. A frame
    without ``quote_volume_usd`` gets ``volume_eth * close_usd`` as an estimate.
    """
    source = str(frame.attrs.get("source", "klines"))
    bar = bar_interval(frame)
    data = frame.copy()
    if "volume_eth" not in data:
        raise SourceError(f"{source}: no volume column; calibration needs the volume.")
    if "quote_volume_usd" not in data:
        data["quote_volume_usd"] = data["volume_eth"] * data["close_usd"]
        source += "; quote volume estimated as volume x close"
    if bar == DAY:
        daily = data
        intraday: tuple[tuple[str, float, pd.DataFrame], ...] = ()
    elif bar < DAY and DAY % bar == pd.Timedelta(0):
        per_day = int(DAY / bar)
        by_day = data.groupby(pd.DatetimeIndex(data.index).floor("D"))
        complete = by_day["close_usd"].count() == per_day
        daily = pd.DataFrame({
            "close_usd": by_day["close_usd"].last(),
            "volume_eth": by_day["volume_eth"].sum(),
            "quote_volume_usd": by_day["quote_volume_usd"].sum(),
        })[complete]
        daily.index.name = "open_time"
        hours = bar / pd.Timedelta(hours=1)
        intraday = ((f"{hours:g}h", float(hours), data),)
    else:
        raise SourceError(f"{source}: bars of {bar} do not divide a day; give daily or "
                          "intraday (1m .. 12h) klines.")
    if len(daily) == 0:
        raise SourceError(f"{source}: no complete day of bars.")
    return MarketData(
        daily_close=daily[["close_usd"]].copy(),
        daily_volume=daily[["volume_eth", "quote_volume_usd"]].copy(),
        intraday=intraday,
        close_source=source,
        volume_source=source,
    )


def read_archive_book_depth(
    path: str | PathLike[str], snapshot: str | datetime | pd.Timestamp | None = None
) -> OrderBook:
    """The order book of one snapshot of a ``bookDepth`` file (zip or csv).

    Each depth band becomes one level at its average price (see
    :meth:`~delever.market.orderbook.OrderBook.from_depth_bands`); ``snapshot`` picks the
    last snapshot at or before that time (default: the first).
    """
    try:
        frame = read_book_depth_csv(path, snapshot=snapshot)
        sign = np.where(frame["side"].to_numpy() == "bid", -1.0, 1.0)
        return OrderBook.from_depth_bands(
            sign * 100.0 * frame["distance"].to_numpy(),
            frame["depth_eth"].to_numpy(),
            frame["notional_usd"].to_numpy(),
            source=(f"{ARCHIVE_SOURCE} bookDepth {Path(path).name}, snapshot "
                    f"{frame.attrs['snapshot_time']}"),
        )
    except InvalidArgument as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"archive bookDepth: {exc}") from None


__all__ = [
    "ARCHIVE_SOURCE",
    "bar_interval",
    "klines_market_data",
    "read_archive_book_depth",
    "read_archive_klines",
]
