"""Order books and OHLCV bars from exchanges' public endpoints, through ccxt (no API keys).

Every record says where and when it was read: a :class:`VenueBook` carries the venue, the
symbol, the exchange's timestamp (or, where the venue sends none, e.g. Binance spot
``/api/v3/depth``, the time the response was received) and a ``source`` line such as
``"binance ETH/USDT order book at 2026-02-05T12:00:00.000Z (20 bid, 20 ask levels; USDT
counted as USD)"``.

Quotes: only USD stablecoins are taken, and counted 1:1 as USD, as the shipped Binance data
are (:mod:`delever.market.loaders`): ``USDT``, ``USDC`` and ``USD``. A de-peg is not
modelled; the source line names the quote so a reader can tell. The base must be ``ETH``
(sizes are ETH in every book and frame of delever).

Failures: every ccxt error becomes one :class:`~delever.sources.SourceError` line naming the
venue. Transient ones (``RateLimitExceeded``, ``RequestTimeout``, ``DDoSProtection`` and
other ``NetworkError``) are retried first with exponential backoff (:class:`RetryPolicy`);
``ExchangeNotAvailable`` (venue down or in maintenance), ``BadSymbol`` and malformed
responses are not, since waiting a second will not mend them.
"""

from __future__ import annotations

import difflib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from delever.errors import InvalidArgument
from delever.market.loaders import KLINE_COLUMNS, PRICE_COLUMNS, utc_time
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.router import Router
from delever.sources import SourceError, require

USD_QUOTES = ("USDT", "USDC", "USD")
BASE_ASSET = "ETH"
DEFAULT_SYMBOL = "ETH/USDT"
DEFAULT_DEPTH = 100  # levels per side: Binance spot /api/v3/depth default is 100
# OKX /api/v5/market/candles serves at most 300 bars per call, history-candles 100 (ccxt
# okx.fetch_ohlcv clamps to these); Binance /api/v3/klines 1000. 100 fits every venue.
DEFAULT_OHLCV_PAGE = 100
MAX_OHLCV_PAGES = 10_000  # 1,000,000 bars: a runaway loop stops with an error instead
DEFAULT_TIMEOUT_MS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried.

    Attributes
    ----------
    attempts : calls in all (>= 1); the first is not a retry.
    backoff_s : wait before the first retry, seconds; each later wait is ``factor`` times the
        one before (0.5 s, 1 s, 2 s, ... by default).
    factor : growth of the wait.
    """

    attempts: int = 3
    backoff_s: float = 0.5
    factor: float = 2.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or self.attempts < 1:
            raise InvalidArgument(f"attempts={self.attempts} must be at least 1.")
        if not (math.isfinite(self.backoff_s) and self.backoff_s >= 0):
            raise InvalidArgument(f"backoff_s={self.backoff_s!r} must be >= 0 seconds.")
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise InvalidArgument(f"factor={self.factor!r} must be >= 1.")


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, eq=False)
class VenueBook:
    """One venue's order book as fetched.

    Attributes
    ----------
    venue : ccxt exchange id (``"binance"``, ``"okx"``, ...).
    symbol : unified symbol (``"ETH/USDT"``).
    timestamp : UTC time of the snapshot (the venue's, else the time it was received).
    timestamp_from_venue : whether ``timestamp`` is the venue's own.
    bids, asks : ``(price_usd, size_eth)`` levels as sent, best first.
    book : the :class:`~delever.market.orderbook.OrderBook` built from them.
    source : one line: venue, symbol, time, levels, quote handling.
    """

    venue: str
    symbol: str
    timestamp: datetime
    timestamp_from_venue: bool
    bids: tuple[tuple[float, float], ...] = field(repr=False)
    asks: tuple[tuple[float, float], ...] = field(repr=False)
    book: OrderBook = field(repr=False)
    source: str


def _ccxt() -> Any:
    return require("ccxt", "reading exchanges")


def check_venue(venue: str) -> str:
    """``venue`` as a ccxt exchange id, or one line with close matches."""
    ccxt = _ccxt()
    name = venue.strip().lower()
    known: list[str] = list(ccxt.exchanges)
    if name in known:
        return name
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "see ccxt.exchanges for the list."
    raise SourceError(f"venue={venue!r} is not an exchange ccxt knows; {hint}")


def check_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) of ``BASE/QUOTE``; the base must be ETH and the quote a USD stablecoin."""
    parts = symbol.strip().upper().split("/")
    if len(parts) != 2 or not all(parts):
        raise SourceError(f"symbol={symbol!r} must be BASE/QUOTE, e.g. {DEFAULT_SYMBOL}.")
    base, quote = parts
    if base != BASE_ASSET:
        raise SourceError(f"symbol={symbol!r}: the base must be {BASE_ASSET} (sizes are ETH).")
    if quote not in USD_QUOTES:
        raise SourceError(
            f"symbol={symbol!r}: the quote must be one of {', '.join(USD_QUOTES)} (counted "
            "1:1 as USD)."
        )
    return base, quote


def open_exchange(venue: str) -> Any:
    """A ccxt exchange object for ``venue`` (public endpoints; spot markets only)."""
    ccxt = _ccxt()
    name = check_venue(venue)
    # Spot only: load_markets then makes one request (Binance /api/v3/exchangeInfo, OKX
    # /api/v5/public/instruments?instType=SPOT) instead of one per market type.
    return getattr(ccxt, name)({
        "enableRateLimit": True,
        "timeout": DEFAULT_TIMEOUT_MS,
        "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
    })


def _short(exc: BaseException) -> str:
    """The first line of a ccxt message, trimmed (they hold URLs and whole bodies)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text if len(text) <= 160 else text[:157] + "..."


def _transient_kind(ccxt: Any, exc: BaseException) -> str:
    """What a transient failure was, in words (ccxt maps Binance's HTTP 429 to
    DDoSProtection, OKX's code 50011 to RateLimitExceeded: both are rate limits)."""
    if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return "rate limited"
    if isinstance(exc, ccxt.RequestTimeout):
        return "timed out"
    return "network error"


def _call(venue: str, what: str, fn: Callable[[], T], retry: RetryPolicy,
          sleep: Callable[[float], None]) -> T:
    """``fn()`` with retries on transient ccxt errors; every failure one SourceError line."""
    ccxt = _ccxt()
    wait = retry.backoff_s
    for attempt in range(1, retry.attempts + 1):
        try:
            return fn()
        except ccxt.ExchangeNotAvailable as exc:  # down or in maintenance: no retry
            raise SourceError(f"{venue}: {what}: exchange not available ({_short(exc)}).") from None
        except ccxt.NetworkError as exc:  # RateLimitExceeded, RequestTimeout, DDoSProtection
            if attempt == retry.attempts:
                raise SourceError(
                    f"{venue}: {what}: {_transient_kind(ccxt, exc)} after {retry.attempts} "
                    f"attempts ({type(exc).__name__}: {_short(exc)}); try again later."
                ) from None
            sleep(wait)
            wait *= retry.factor
        except ccxt.BadSymbol as exc:
            raise SourceError(f"{venue}: {what}: bad symbol ({_short(exc)}).") from None
        except ccxt.BaseError as exc:
            raise SourceError(
                f"{venue}: {what}: {type(exc).__name__} ({_short(exc)})."
            ) from None
        except (TypeError, KeyError, ValueError, IndexError, AttributeError) as exc:
            raise SourceError(
                f"{venue}: {what}: malformed response ({type(exc).__name__}: {_short(exc)})."
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _levels(venue: str, side: str, raw: Any) -> tuple[tuple[float, float], ...]:
    """``[[price, amount, ...], ...]`` as checked (price, size) pairs."""
    if not isinstance(raw, list):
        raise SourceError(f"{venue}: order book: malformed response ({side} is not a list).")
    out: list[tuple[float, float]] = []
    for k, level in enumerate(raw):
        try:
            price, size = float(level[0]), float(level[1])
        except (TypeError, ValueError, IndexError):
            raise SourceError(
                f"{venue}: order book: malformed response ({side}[{k}]={level!r})."
            ) from None
        if not (math.isfinite(price) and price > 0 and math.isfinite(size) and size >= 0):
            raise SourceError(
                f"{venue}: order book: malformed response ({side}[{k}]={level!r} is not a "
                "positive price and size)."
            )
        if size > 0:  # a zero size is an empty level some venues still list
            out.append((price, size))
    return tuple(out)


def _stamp(ms: Any) -> datetime | None:
    if isinstance(ms, int | float) and not isinstance(ms, bool) and math.isfinite(ms):
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    return None


def _iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def fetch_order_book(
    venue: str,
    symbol: str = DEFAULT_SYMBOL,
    depth: int = DEFAULT_DEPTH,
    *,
    connect: Callable[[str], Any] | None = None,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> VenueBook:
    """One venue's book (see :func:`fetch_order_books`)."""
    _, quote = check_symbol(symbol)
    name = check_venue(venue)
    exchange = (connect or open_exchange)(name)
    unified = symbol.strip().upper()
    _call(name, "load markets", lambda: exchange.load_markets(), retry, sleep)
    raw = _call(name, f"{unified} order book",
                lambda: exchange.fetch_order_book(unified, depth), retry, sleep)
    received = _stamp(exchange.milliseconds())
    if not isinstance(raw, dict):
        raise SourceError(f"{name}: order book: malformed response (not an object).")
    bids = _levels(name, "bids", raw.get("bids"))
    asks = _levels(name, "asks", raw.get("asks"))
    if not bids:  # ccxt turns a body it cannot read (an HTML error page) into no levels
        raise SourceError(f"{name}: order book: no bids in the response (empty or malformed).")
    venue_time = _stamp(raw.get("timestamp"))
    stamp = venue_time or received or datetime.now(tz=UTC)
    when = "at" if venue_time else "received at"
    source = (
        f"{name} {unified} order book {when} {_iso(stamp)} ({len(bids)} bid, {len(asks)} ask "
        f"levels; {quote} counted as USD)"
    )
    try:
        book = OrderBook.from_levels(bids, asks, source=source)
    except InvalidArgument as exc:
        raise SourceError(f"{name}: order book: {exc}") from None
    return VenueBook(name, unified, stamp, venue_time is not None, bids, asks, book, source)


def fetch_order_books(
    venues: Sequence[str],
    symbol: str = DEFAULT_SYMBOL,
    depth: int = DEFAULT_DEPTH,
    *,
    connect: Callable[[str], Any] | None = None,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[VenueBook, ...]:
    """The L2 order book of ``symbol`` on each venue, through ccxt's ``fetch_order_book``.

    Parameters
    ----------
    venues : ccxt exchange ids, e.g. ``["binance", "okx"]`` (checked; close matches
        suggested).
    symbol : ``ETH/USDT``, ``ETH/USDC`` or ``ETH/USD`` (quote counted 1:1 as USD).
    depth : levels asked per side (venues round to the depths they serve).
    connect : builds the ccxt object for a venue (default :func:`open_exchange`).
    retry, sleep : retry policy for transient failures, and the wait function.

    Returns
    -------
    tuple of VenueBook, one per venue in the order given.

    Raises
    ------
    SourceError
        One line naming the venue: unknown venue, bad symbol, network failure after
        retries, venue not available, a malformed or empty book.
    """
    if not venues:
        raise SourceError("venues: give at least one exchange, e.g. binance,okx.")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise SourceError(f"depth={depth!r} must be a whole number of levels >= 1.")
    names = [check_venue(v) for v in venues]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(f"venues: {', '.join(repeated)} given twice; give each venue once.")
    return tuple(
        fetch_order_book(n, symbol, depth, connect=connect, retry=retry, sleep=sleep)
        for n in names
    )


def books_router(books: Sequence[VenueBook]) -> Router:
    """A :class:`~delever.market.router.Router` over the venues' books (one
    :class:`~delever.market.orderbook.OrderBookImpact` each, named by venue).

    The router executes every book at one mid: each book is rescaled to it (see
    :mod:`delever.market.orderbook`), so venues' mids a few cents apart count as equal.
    """
    if not books:
        raise SourceError("books: no venue books to route across.")
    return Router.of([OrderBookImpact(b.book) for b in books], [b.venue for b in books])


def mean_mid_usd(books: Sequence[VenueBook]) -> float:
    """The mean of the venues' mids: the mark when routing across them."""
    return float(np.mean([b.book.mid_price_usd for b in books]))


# --- OHLCV -------------------------------------------------------------------------------------


def _timeframe_ms(exchange: Any, venue: str, timeframe: str) -> int:
    timeframes = getattr(exchange, "timeframes", None) or {}
    if timeframe not in timeframes:
        raise SourceError(
            f"{venue}: timeframe={timeframe!r} is not served; give one of "
            f"{', '.join(sorted(timeframes))}."
        )
    return int(exchange.parse_timeframe(timeframe)) * 1000


def _ohlcv_rows(venue: str, page: Any) -> list[tuple[int, float, float, float, float, float]]:
    """ccxt's ``[[ms, o, h, l, c, v], ...]`` checked: numbers, positive prices."""
    if not isinstance(page, list):
        raise SourceError(f"{venue}: OHLCV: malformed response (not a list of bars).")
    rows = []
    for k, bar in enumerate(page):
        try:
            ms = int(bar[0])
            o, h, low, c, v = (float(x) for x in bar[1:6])
        except (TypeError, ValueError, IndexError):
            raise SourceError(f"{venue}: OHLCV: malformed response (bar {k}: {bar!r}).") from None
        prices = (o, h, low, c)
        if not all(math.isfinite(p) and p > 0 for p in prices) or not (
            math.isfinite(v) and v >= 0
        ) or h < max(o, c, low) or low > min(o, c):
            raise SourceError(
                f"{venue}: OHLCV: malformed response (bar {k}: {bar!r} is not a valid bar)."
            )
        rows.append((ms, o, h, low, c, v))
    return rows


def _frame(rows: dict[int, tuple[int, float, float, float, float, float]], source: str
           ) -> pd.DataFrame:
    """The loaders' frame: UTC ``open_time`` index, prices in USD, volumes."""
    ordered = [rows[k] for k in sorted(rows)]
    arr = np.array([r[1:] for r in ordered], dtype=np.float64).reshape(-1, 5)
    index = pd.DatetimeIndex(
        pd.to_datetime([r[0] for r in ordered], unit="ms", utc=True)
    ).as_unit("ns")
    index.name = "open_time"
    data = {name: arr[:, k] for k, name in enumerate(PRICE_COLUMNS)}
    data["volume_eth"] = arr[:, 4]
    # ccxt's unified bar has no quote volume: estimated as volume x close (stated in source)
    data["quote_volume_usd"] = arr[:, 4] * arr[:, 3]
    frame = pd.DataFrame(data, index=index)[list(KLINE_COLUMNS)]
    frame.attrs["source"] = source
    return frame


def fetch_ohlcv(
    venue: str,
    symbol: str = DEFAULT_SYMBOL,
    timeframe: str = "1d",
    since: str | datetime | pd.Timestamp | None = None,
    until: str | datetime | pd.Timestamp | None = None,
    *,
    options: OhlcvOptions | None = None,
) -> pd.DataFrame:
    """OHLCV bars of ``symbol`` on ``venue`` from ``since`` up to the cut-off ``until``.

    Pages through ccxt's ``fetch_ohlcv`` (``options.page_bars`` bars a call) from ``since``
    until a page is empty or reaches the cut-off.

    Parameters
    ----------
    venue, symbol : as :func:`fetch_order_books`.
    timeframe : a ccxt timeframe the venue serves (``"1h"``, ``"4h"``, ``"1d"``, ...).
    since : first bar's open time wanted (UTC; naive times are UTC). Required.
    until : the cut-off (default: now): only bars that close at or before it are kept, so
        no bar at or after the cut-off, and no partial bar straddling it, is used.
    options : connect, retry, sleep and page size (:class:`OhlcvOptions`).

    Returns
    -------
    pandas.DataFrame
        The shape of :mod:`delever.market.loaders` frames (and so of
        :class:`~delever.market.calibration.MarketData`): UTC ``open_time`` index,
        ``open_usd``, ``high_usd``, ``low_usd``, ``close_usd``, ``volume_eth``,
        ``quote_volume_usd``. ccxt gives no quote volume, so ``quote_volume_usd`` is
        ``volume_eth * close_usd``, an estimate (``attrs["source"]`` says so). Gaps stay
        gaps.

    Raises
    ------
    SourceError
        As :func:`fetch_order_books`, a timeframe the venue does not serve, no bars, or a
        page that does not move forward.
    """
    opts = options or OhlcvOptions()
    _, quote = check_symbol(symbol)
    name = check_venue(venue)
    if since is None:
        raise SourceError("since: give the first time wanted, e.g. 2025-01-01.")
    start = utc_time("since", since)
    cutoff = pd.Timestamp.now(tz="UTC") if until is None else utc_time("until", until)
    if start >= cutoff:
        raise SourceError(f"since={start} must be before the cut-off {cutoff}.")
    exchange = (opts.connect or open_exchange)(name)
    unified = symbol.strip().upper()
    _call(name, "load markets", lambda: exchange.load_markets(), opts.retry, opts.sleep)
    step_ms = _timeframe_ms(exchange, name, timeframe)
    rows = _page_ohlcv(exchange, name, unified, timeframe, step_ms,
                       (int(start.value // 1_000_000), int(cutoff.value // 1_000_000)), opts)
    if not rows:
        raise SourceError(
            f"{name}: no {unified} {timeframe} bars between {start} and the cut-off {cutoff}."
        )
    return _frame(rows, (
        f"{name} {unified} {timeframe} OHLCV via ccxt, bars {start} .. before {cutoff} "
        f"(fetched {_iso(datetime.now(tz=UTC))}); {quote} counted as USD; quote volume "
        "estimated as volume x close"
    ))


@dataclass(frozen=True)
class OhlcvOptions:
    """How :func:`fetch_ohlcv` reaches the venue: the ccxt object, retries, page size."""

    connect: Callable[[str], Any] | None = None
    retry: RetryPolicy = RetryPolicy()
    sleep: Callable[[float], None] = time.sleep
    page_bars: int = DEFAULT_OHLCV_PAGE


def _page_ohlcv(exchange: Any, venue: str, symbol: str, timeframe: str, step_ms: int,
                window_ms: tuple[int, int], opts: OhlcvOptions
                ) -> dict[int, tuple[int, float, float, float, float, float]]:
    """Bars by open time (ms) from the window's start, each closing by its end."""
    start_ms, cutoff_ms = window_ms
    rows: dict[int, tuple[int, float, float, float, float, float]] = {}
    since_ms = start_ms
    for _ in range(MAX_OHLCV_PAGES):
        page = _call(venue, f"{symbol} {timeframe} OHLCV",
                     partial(exchange.fetch_ohlcv, symbol, timeframe, since_ms, opts.page_bars),
                     opts.retry, opts.sleep)
        bars = _ohlcv_rows(venue, page)
        if not bars:
            return rows
        newest = max(b[0] for b in bars)
        for bar in bars:
            # a bar is used only when it lies wholly before the cut-off
            if start_ms <= bar[0] and bar[0] + step_ms <= cutoff_ms:
                rows[bar[0]] = bar
        if newest + step_ms >= cutoff_ms:
            return rows
        if newest < since_ms:
            raise SourceError(
                f"{venue}: OHLCV: the venue returned bars before the time asked "
                f"({newest} < {since_ms} ms); it does not page forward."
            )
        since_ms = newest + step_ms
    raise SourceError(f"{venue}: OHLCV: more than {MAX_OHLCV_PAGES} pages; ask a shorter span.")


__all__ = [
    "BASE_ASSET",
    "DEFAULT_DEPTH",
    "DEFAULT_RETRY",
    "DEFAULT_SYMBOL",
    "USD_QUOTES",
    "OhlcvOptions",
    "RetryPolicy",
    "VenueBook",
    "books_router",
    "check_symbol",
    "check_venue",
    "fetch_ohlcv",
    "fetch_order_book",
    "fetch_order_books",
    "mean_mid_usd",
    "open_exchange",
]
