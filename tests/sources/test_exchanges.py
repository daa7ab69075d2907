"""delever.sources.exchanges against real ccxt exchange objects with a fixture HTTP layer.

``ccxt.binance()`` and ``ccxt.okx()`` are built for real (:func:`open_exchange`); only their
``requests`` session is replaced by :class:`FixtureSession`, so ccxt's own ``fetch`` runs:
it signs nothing (public endpoints), parses the JSON, and maps HTTP errors and venue error
codes to its exception classes (``handle_errors``, ``httpExceptions``) as it would online.
Responses are in each venue's format (Binance ``/api/v3/exchangeInfo``, ``/depth``,
``/klines``; OKX ``/api/v5/public/instruments``, ``/market/books``, ``/market/candles``,
``/market/history-candles``); their numbers come from the shipped Binance data (see
``fixtures/exchanges/make_fixtures.py`` and each file's ``_about``). Markets are loaded
through the venues' market endpoints, not preloaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from delever.market.calibration import calibrate
from delever.market.loaders import load_binance_daily
from delever.market.orderbook import OrderBookImpact
from delever.sources import SourceError
from delever.sources import exchanges as ex

ccxt = pytest.importorskip("ccxt")

FIXTURES = Path(__file__).parent / "fixtures" / "exchanges"
DAY_MS = 86_400_000
RECEIVED_MS = 1_750_809_600_000  # 2025-06-25T00:00:00Z: the clock of the Binance book


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


KLINES: list[list[Any]] = _load("ethusdt_1d_2025.json")["rows"]


def _binance_klines(query: dict[str, str]) -> list[list[Any]]:
    start = int(query.get("startTime", 0))
    end = int(query.get("endTime", 2**62))
    rows = [r for r in KLINES if start <= r[0] <= end]
    return rows[: int(query.get("limit", 500))]


def _okx_candles(query: dict[str, str]) -> dict[str, Any]:
    before = int(query.get("before", -1))
    after = int(query.get("after", 2**62))
    rows = [r for r in KLINES if before < r[0] < after]
    rows = rows[-int(query.get("limit", 100)):]
    # OKX candle: ts, o, h, l, c, vol (base), volCcy, volCcyQuote, confirm; newest first
    data = [[str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7], r[7], "1"] for r in rows]
    return {"code": "0", "msg": "", "data": data[::-1]}


def _depth(query: dict[str, str]) -> dict[str, Any]:
    response: dict[str, Any] = _load("binance_depth.json")["response"]
    limit = int(query.get("limit", 100))
    return {**response, "bids": response["bids"][:limit], "asks": response["asks"][:limit]}


ROUTES: dict[str, Callable[[dict[str, str]], Any]] = {
    "/api/v3/exchangeInfo": lambda q: _load("binance_exchangeInfo.json")["response"],
    "/api/v3/depth": _depth,
    "/api/v3/klines": _binance_klines,
    "/api/v5/public/instruments": lambda q: _load("okx_instruments_spot.json")["response"],
    "/api/v5/market/books": lambda q: _load("okx_books.json")["response"],
    "/api/v5/market/candles": _okx_candles,
    "/api/v5/market/history-candles": _okx_candles,
}

Reply = tuple[int, Any] | BaseException


def _response(url: str, status: int, body: Any) -> requests.Response:
    response = requests.models.Response()
    response.status_code = status
    response.reason = {200: "OK", 400: "Bad Request", 429: "Too Many Requests"}.get(status, "")
    response.url = url
    response.headers["Content-Type"] = "application/json"
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    response.encoding = "utf-8"
    return response


class FixtureSession(requests.Session):
    """A requests session that answers from the fixtures; ``script`` queues replies (status
    and body, or an exception to raise) per path before the fixture answers."""

    def __init__(self, script: dict[str, list[Reply]] | None = None) -> None:
        super().__init__()
        self.script = script or {}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        parts = urlsplit(str(url))
        query = dict(parse_qsl(parts.query))
        self.calls.append((parts.path, query))
        queued = self.script.get(parts.path)
        if queued:
            reply = queued.pop(0)
            if isinstance(reply, BaseException):
                raise reply
            return _response(str(url), *reply)
        if parts.path not in ROUTES:
            return _response(str(url), 404, {"code": -1, "msg": "no fixture"})
        return _response(str(url), 200, ROUTES[parts.path](query))


def connector(script: dict[str, list[Reply]] | None = None,
              sessions: dict[str, FixtureSession] | None = None) -> Callable[[str], Any]:
    """:func:`open_exchange` with the fixture session installed (and a fixed clock)."""
    def connect(venue: str) -> Any:
        exchange = ex.open_exchange(venue)
        session = FixtureSession(script)
        exchange.session = session
        exchange.milliseconds = lambda: RECEIVED_MS
        exchange.enableRateLimit = False  # ccxt's throttle would only sleep here
        if sessions is not None:
            sessions[venue] = session
        return exchange
    return connect


NO_WAIT = ex.RetryPolicy(attempts=3, backoff_s=0.25)


def _no_sleep(waits: list[float]) -> Callable[[float], None]:
    return waits.append


# --- order books --------------------------------------------------------------------------------


def test_two_venues_books_and_router() -> None:
    binance_raw = _load("binance_depth.json")["response"]
    okx_raw = _load("okx_books.json")["response"]["data"][0]
    books = ex.fetch_order_books(["binance", "OKX"], "ETH/USDT", depth=12,
                                 connect=connector())
    assert [b.venue for b in books] == ["binance", "okx"]
    binance, okx = books
    # levels as the venues sent them
    assert binance.bids[0] == (float(binance_raw["bids"][0][0]), float(binance_raw["bids"][0][1]))
    assert okx.asks[-1] == (float(okx_raw["asks"][-1][0]), float(okx_raw["asks"][-1][1]))
    assert binance.book.mid_price_usd == pytest.approx((2448.45 + 2448.46) / 2, abs=1e-9)
    assert okx.book.mid_price_usd == pytest.approx((2448.46 + 2448.47) / 2, abs=1e-9)
    # Binance spot depth has no time: the receipt time; OKX sends ts (2025-06-25T00:00:00Z)
    assert not binance.timestamp_from_venue
    assert binance.timestamp == datetime(2025, 6, 25, tzinfo=UTC)
    assert okx.timestamp_from_venue and okx.timestamp == datetime(2025, 6, 25, tzinfo=UTC)
    assert okx.source.startswith("okx ETH/USDT order book at 2025-06-25T00:00:00.000Z")
    assert "USDT counted as USD" in binance.source and "received at" in binance.source

    router = ex.books_router(books)
    assert router.names == ("binance", "okx")
    mark = ex.mean_mid_usd(books)
    depth_b = sum(float(s) for _, s in binance_raw["bids"])
    depth_o = sum(float(s) for _, s, *_ in okx_raw["bids"])
    # the whole of both books: each venue gives all its bids
    full = router.route(mark, depth_b + depth_o)
    np.testing.assert_allclose(full.split_eth[0], [depth_b, depth_o], rtol=1e-12)
    proceeds = sum(float(p) * float(s) * mark / binance.book.mid_price_usd
                   for p, s in binance_raw["bids"])
    proceeds += sum(float(p) * float(s) * mark / okx.book.mid_price_usd
                    for p, s, *_ in okx_raw["bids"])
    assert float(full.fills.avg_price_usd) == pytest.approx(
        proceeds / (depth_b + depth_o), rel=1e-12)
    # a part: the split sums to the order and beats sending it all to either venue
    qty = 500.0
    part = router.route(mark, qty)
    assert part.split_eth[0].sum() == pytest.approx(qty, rel=1e-12)
    alone = [float(OrderBookImpact(b.book).execute(mark, qty).proceeds_usd) for b in books]
    assert float(part.fills.proceeds_usd) >= max(alone) - 1e-6


def test_depth_is_passed_to_the_venue() -> None:
    sessions: dict[str, FixtureSession] = {}
    (book,) = ex.fetch_order_books(["binance"], depth=5, connect=connector(sessions=sessions))
    assert len(book.bids) == 5
    assert ("/api/v3/depth", {"symbol": "ETHUSDT", "limit": "5"}) in sessions["binance"].calls


RATE_LIMITED = (429, {"code": -1003, "msg": "Too many requests; current limit of IP is 6000 "
                      "requests per minute."})  # Binance's body for HTTP 429


def test_rate_limit_then_success_waits_and_retries() -> None:
    waits: list[float] = []
    script: dict[str, list[Reply]] = {"/api/v3/depth": [RATE_LIMITED, RATE_LIMITED]}
    (book,) = ex.fetch_order_books(["binance"], connect=connector(script), retry=NO_WAIT,
                                   sleep=_no_sleep(waits))
    assert waits == [0.25, 0.5]  # two retries, backoff doubling
    assert book.bids[0][0] == 2448.45


def test_rate_limit_every_time_is_one_line() -> None:
    script: dict[str, list[Reply]] = {"/api/v3/depth": [RATE_LIMITED] * 3}
    with pytest.raises(SourceError) as info:
        ex.fetch_order_books(["binance"], connect=connector(script), retry=NO_WAIT,
                             sleep=_no_sleep([]))
    text = str(info.value)
    assert text.startswith("binance: ETH/USDT order book: rate limited after 3 attempts")
    assert "\n" not in text


def test_timeout_is_retried_then_one_line() -> None:
    script: dict[str, list[Reply]] = {
        "/api/v5/market/books": [requests.exceptions.ReadTimeout("read timed out")] * 3}
    waits: list[float] = []
    with pytest.raises(SourceError, match=r"^okx: ETH/USDT order book: timed out after 3 "
                       r"attempts"):
        ex.fetch_order_books(["okx"], connect=connector(script), retry=NO_WAIT,
                             sleep=_no_sleep(waits))
    assert waits == [0.25, 0.5]


def test_exchange_not_available_is_not_retried() -> None:
    # OKX code 50001 "Service temporarily unavailable" maps to ExchangeNotAvailable in ccxt
    script: dict[str, list[Reply]] = {"/api/v5/market/books": [
        (503, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})]}
    waits: list[float] = []
    with pytest.raises(SourceError, match=r"^okx: ETH/USDT order book: exchange not available"):
        ex.fetch_order_books(["okx"], connect=connector(script), retry=NO_WAIT,
                             sleep=_no_sleep(waits))
    assert waits == []


def test_bad_symbol_names_the_venue() -> None:
    # ETH/USDC is not among the fixture's markets: ccxt raises BadSymbol before any request
    with pytest.raises(SourceError, match=r"^binance: ETH/USDC order book: bad symbol"):
        ex.fetch_order_books(["binance"], "ETH/USDC", connect=connector())


def test_bad_symbol_from_the_venue() -> None:
    # Binance's own answer to an unknown symbol: HTTP 400 {"code":-1121,"msg":"Invalid symbol."}
    script: dict[str, list[Reply]] = {"/api/v3/depth": [(400, {"code": -1121,
                                                                "msg": "Invalid symbol."})]}
    with pytest.raises(SourceError, match=r"^binance: ETH/USDT order book: bad symbol"):
        ex.fetch_order_books(["binance"], connect=connector(script), retry=NO_WAIT,
                             sleep=_no_sleep([]))


@pytest.mark.parametrize(("body", "match"), [
    ({"lastUpdateId": 1, "bids": [["abc", "1.0"]], "asks": []}, "malformed response"),
    ({"lastUpdateId": 1, "bids": [], "asks": [["2448.46", "1.0"]]}, "no bids"),
    ({"lastUpdateId": 1, "bids": [["2448.47", "1.0"]], "asks": [["2448.46", "1.0"]]},
     "crossed"),
    ("<html>gateway</html>", "empty or malformed"),
], ids=["non-numeric-price", "no-bids", "crossed", "html"])
def test_malformed_book_is_one_line(body: Any, match: str) -> None:
    script: dict[str, list[Reply]] = {"/api/v3/depth": [(200, body)]}
    with pytest.raises(SourceError, match=match) as info:
        ex.fetch_order_books(["binance"], connect=connector(script), retry=NO_WAIT,
                             sleep=_no_sleep([]))
    assert str(info.value).startswith("binance: ") and "\n" not in str(info.value)


@pytest.mark.parametrize(("venues", "symbol", "match"), [
    (["binanse"], "ETH/USDT", r"venue='binanse' is not an exchange ccxt knows; did you mean "
                              r"binance"),
    (["nosuchvenue"], "ETH/USDT", r"see ccxt.exchanges"),
    (["binance", "binance"], "ETH/USDT", r"binance given twice"),
    ([], "ETH/USDT", r"at least one exchange"),
    (["binance"], "BTC/USDT", r"base must be ETH"),
    (["binance"], "ETH/EUR", r"quote must be one of USDT, USDC, USD"),
], ids=["typo", "unknown", "twice", "none", "base", "quote"])
def test_bad_venue_or_symbol(venues: list[str], symbol: str, match: str) -> None:
    def refuse(venue: str) -> Any:
        raise AssertionError("no exchange may be built for a refused request")
    with pytest.raises(SourceError, match=match):
        ex.fetch_order_books(venues, symbol, connect=refuse)


# --- OHLCV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_ohlcv_pages_and_respects_the_cutoff(venue: str) -> None:
    sessions: dict[str, FixtureSession] = {}
    options = ex.OhlcvOptions(connect=connector(sessions=sessions), page_bars=50)
    frame = ex.fetch_ohlcv(venue, "ETH/USDT", "1d", since="2025-01-01", until="2025-06-01",
                           options=options)
    shipped = load_binance_daily()
    expected = shipped.loc["2025-01-01":"2025-05-31"]
    assert list(frame.index) == list(expected.index)  # last bar opens 2025-05-31: none at cut-off
    for column in ("open_usd", "high_usd", "low_usd", "close_usd", "volume_eth"):
        np.testing.assert_array_equal(frame[column].to_numpy(), expected[column].to_numpy())
    # 2025-03-15 close in nvn01_ethusdt_1d.csv.gz, by hand from the file: 1911.6
    assert frame.loc["2025-03-15", "close_usd"] == expected.loc["2025-03-15", "close_usd"]
    np.testing.assert_allclose(frame["quote_volume_usd"],
                               expected["volume_eth"] * expected["close_usd"])
    pages = [c for c in sessions[venue].calls if "klines" in c[0] or "candles" in c[0]]
    assert len(pages) == math.ceil(151 / 50)  # 151 days, 50 bars a call
    assert frame.attrs["source"].startswith(f"{venue} ETH/USDT 1d OHLCV via ccxt")


def test_ohlcv_partial_bar_before_the_cutoff_is_dropped() -> None:
    options = ex.OhlcvOptions(connect=connector())
    frame = ex.fetch_ohlcv("binance", "ETH/USDT", "1d", since="2025-05-01",
                           until="2025-05-10T12:00", options=options)
    assert frame.index[-1] == pd.Timestamp("2025-05-09", tz="UTC")  # 05-10 closes after noon


def test_ohlcv_feeds_calibrate() -> None:
    from delever.sources.archive import klines_market_data

    options = ex.OhlcvOptions(connect=connector())
    frame = ex.fetch_ohlcv("binance", "ETH/USDT", "1d", since="2025-02-01", until="2025-06-01",
                           options=options)
    live = calibrate("2025-06-01", 90, data=klines_market_data(frame))
    shipped = calibrate("2025-06-01", 90)
    # the same Binance closes and volumes: the same sigma and ADV in ETH
    assert live.sigma_daily.value == pytest.approx(shipped.sigma_daily.value, rel=1e-12)
    assert live.adv_eth.value == pytest.approx(shipped.adv_eth.value, rel=1e-12)
    assert live.last_close_usd.value == 2528.06  # 2025-05-31 close, nvn01_ethusdt_1d.csv.gz


def test_ohlcv_rate_limit_then_success_and_malformed() -> None:
    waits: list[float] = []
    script: dict[str, list[Reply]] = {"/api/v3/klines": [RATE_LIMITED]}
    options = ex.OhlcvOptions(connect=connector(script), retry=NO_WAIT,
                              sleep=_no_sleep(waits))
    frame = ex.fetch_ohlcv("binance", since="2025-05-01", until="2025-05-11", options=options)
    assert len(frame) == 10 and waits == [0.25]
    bad: dict[str, list[Reply]] = {"/api/v3/klines": [(200, [[1746057600000, "1", "0.5"]])]}
    options = ex.OhlcvOptions(connect=connector(bad), retry=NO_WAIT, sleep=_no_sleep([]))
    with pytest.raises(SourceError, match=r"^binance: .*malformed response"):
        ex.fetch_ohlcv("binance", since="2025-05-01", until="2025-05-11", options=options)


def test_ohlcv_bad_timeframe() -> None:
    options = ex.OhlcvOptions(connect=connector())
    with pytest.raises(SourceError, match=r"^binance: timeframe='7m' is not served"):
        ex.fetch_ohlcv("binance", timeframe="7m", since="2025-05-01", until="2025-05-11",
                       options=options)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def fixture_venues(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Reply]]:
    """Every exchange the CLI opens gets the fixture session; tests queue failures here."""
    script: dict[str, list[Reply]] = {}
    real = ex.open_exchange

    def opened(venue: str) -> Any:
        exchange = real(venue)
        exchange.session = FixtureSession(script)
        exchange.milliseconds = lambda: RECEIVED_MS
        exchange.enableRateLimit = False
        return exchange
    monkeypatch.setattr(ex, "open_exchange", opened)
    monkeypatch.setattr(ex, "DEFAULT_RETRY", ex.RetryPolicy(attempts=2, backoff_s=0.0))
    return script


def _cli() -> Any:
    import typer

    from delever.cli import market_cmds

    app = typer.Typer()
    market_cmds.register(app)
    app.command("calibrate")(market_cmds.calibrate_cmd)
    return app


def test_cli_impact_router_across_exchanges(fixture_venues: dict[str, list[Reply]]) -> None:
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "500", "--model", "router",
                                         "--horizon-steps", "1", "--exchanges", "binance,okx",
                                         "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload["split_eth"]) == {"binance", "okx"}
    assert sum(payload["split_eth"].values()) == pytest.approx(500.0, rel=1e-9)
    assert payload["price_usd"] == pytest.approx((2448.455 + 2448.465) / 2, rel=1e-12)
    assert any("okx ETH/USDT order book at 2025-06-25" in s
               for s in payload["parameters"]["venue_sources"])


@pytest.mark.parametrize(("args", "script", "match"), [
    (["--exchanges", "binanse"], {}, "error: venue='binanse' is not an exchange ccxt knows"),
    (["--exchanges", "binance"], {"/api/v3/depth": [RATE_LIMITED] * 2},
     "error: binance: ETH/USDT order book: rate limited after 2 attempts"),
    (["--exchanges", "okx"],
     {"/api/v5/market/books": [requests.exceptions.ReadTimeout("read timed out")] * 2},
     "error: okx: ETH/USDT order book: timed out after 2 attempts"),
    (["--exchanges", "binance", "--symbol", "ETH/USDC"], {},
     "error: binance: ETH/USDC order book: bad symbol"),
    (["--exchanges", "binance"], {"/api/v3/depth": [(200, {"bids": "x", "asks": []})]},
     "error: binance: order book: malformed response"),
], ids=["unknown-venue", "rate-limit", "timeout", "bad-symbol", "malformed"])
def test_cli_failures_are_one_line_exit_2(fixture_venues: dict[str, list[Reply]],
                                          args: list[str], script: dict[str, list[Reply]],
                                          match: str) -> None:
    fixture_venues.update(script)
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", "--model", "router",
                                         *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(match), result.stderr


def test_cli_rate_limit_then_success(fixture_venues: dict[str, list[Reply]]) -> None:
    fixture_venues["/api/v3/depth"] = [RATE_LIMITED]
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", "--model", "router",
                                         "--exchanges", "binance", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["split_eth"] == {"binance": pytest.approx(10.0)}


def test_cli_calibrate_from_exchange(fixture_venues: dict[str, list[Reply]]) -> None:
    result = CliRunner().invoke(_cli(), ["calibrate", "--cutoff", "2025-06-01",
                                         "--window-days", "90", "--exchange", "okx", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    shipped = calibrate("2025-06-01", 90)
    assert payload["sigma_daily"]["value"] == pytest.approx(shipped.sigma_daily.value,
                                                            rel=1e-12)
    assert payload["adv_eth"]["value"] == pytest.approx(shipped.adv_eth.value, rel=1e-12)
    assert "okx ETH/USDT 1d OHLCV via ccxt" in payload["sigma_daily"]["source"]


def test_cli_without_live_options_opens_no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(venue: str) -> Any:
        raise AssertionError("opened an exchange")
    monkeypatch.setattr(ex, "open_exchange", refuse)
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", "--model", "router",
                                         "--json"])
    assert result.exit_code == 0, result.output


def test_cli_book_from_one_exchange_text(fixture_venues: dict[str, list[Reply]]) -> None:
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", "--model", "book",
                                         "--horizon-steps", "1", "--exchanges", "binance"])
    assert result.exit_code == 0, result.output
    assert ("venue: binance ETH/USDT order book received at 2025-06-25T00:00:00.000Z"
            in result.stdout)
    # 10 ETH into the fixture's first bid, 77.3125382 ETH at 2448.45: the average is that bid
    binance_raw = _load("binance_depth.json")["response"]
    assert float(binance_raw["bids"][0][1]) > 10
    json_result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", "--model", "book",
                                              "--horizon-steps", "1", "--exchanges", "binance",
                                              "--json"])
    assert json.loads(json_result.stdout)["avg_price_usd"] == pytest.approx(2448.45, rel=1e-12)


@pytest.mark.parametrize(("args", "match"), [
    (["--model", "book", "--exchanges", "binance,okx"], "--model book takes one venue"),
    (["--model", "router", "--exchanges", "binance", "--book-file", "x.csv"],
     "give --book-file or --exchanges, not both"),
    (["--model", "router", "--exchanges", "binance", "--depth", "0"], "depth=0 must be"),
], ids=["book-two-venues", "book-file-too", "depth"])
def test_cli_exchange_option_errors(fixture_venues: dict[str, list[Reply]], args: list[str],
                                    match: str) -> None:
    result = CliRunner().invoke(_cli(), ["impact", "--qty-eth", "10", *args])
    assert result.exit_code == 2 and match in result.stderr, result.stderr
