"""Market data loaders: the shipped Binance files, user klines / bookDepth / pool state files."""

from __future__ import annotations

import gzip
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delever.errors import InvalidArgument
from delever.market.loaders import (
    KLINE_COLUMNS,
    PRICE_COLUMNS,
    PoolState,
    TickLiquidity,
    eth_daily_close,
    load_binance_4h,
    load_binance_daily,
    load_binance_daily_recent,
    load_binance_hourly,
    read_book_depth_csv,
    read_klines_csv,
    read_univ3_pool_state,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parents[2] / "src" / "delever" / "data" / "binance"

# The five recorded klines in the fixtures (Binance ETHUSDT daily, 2025-06-20 .. 24).
RECORDED_CLOSE = [2406.49, 2295.73, 2227.7, 2411.66, 2448.45]
RECORDED_VOLUME = [632027.8235, 496783.864, 840155.8295, 744583.8003, 516760.6621]


# --- shipped data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loader", "rows", "first", "last", "columns"),
    [
        (load_binance_daily, 2002, "2020-01-01", "2025-06-24", KLINE_COLUMNS),
        (load_binance_4h, 12011, "2020-01-01 00:00", "2025-06-24 20:00", KLINE_COLUMNS),
        (load_binance_daily_recent, 318, "2025-06-18", "2026-05-01", PRICE_COLUMNS),
        (load_binance_hourly, 1012, "2026-01-15 01:00", "2026-02-28 23:00", PRICE_COLUMNS),
    ],
    ids=["daily", "4h", "daily-recent", "hourly"],
)
def test_shipped_frames_are_typed_and_complete(
    loader: object, rows: int, first: str, last: str, columns: tuple[str, ...]
) -> None:
    frame = loader()  # type: ignore[operator]
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "open_time"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert tuple(frame.columns) == columns
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert len(frame) == rows
    assert frame.index[0] == pd.Timestamp(first, tz="UTC")
    assert frame.index[-1] == pd.Timestamp(last, tz="UTC")
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    assert np.isfinite(prices).all() and (prices > 0).all()
    assert (frame["high_usd"] >= frame[["open_usd", "close_usd", "low_usd"]].max(axis=1)).all()
    assert "source" in frame.attrs


def test_loaders_return_copies() -> None:
    frame = load_binance_daily()
    frame.iloc[0, 0] = -1.0
    assert load_binance_daily().iloc[0, 0] == 129.16  # first open in the source file


def test_gaps_are_kept_not_filled() -> None:
    hourly = load_binance_hourly()
    assert not (hourly.index.hour == 0).any()  # every 00:00 bar is missing upstream
    assert not (hourly.index.normalize() == pd.Timestamp("2026-01-20", tz="UTC")).any()
    assert pd.Timestamp("2026-02-06 00:00", tz="UTC") not in hourly.index
    four = load_binance_4h()
    assert pd.Timestamp("2020-02-19 12:00", tz="UTC") not in four.index
    assert len(hourly) + 45 + 23 == 45 * 24  # 45 days, 45 midnight bars + 2026-01-20


def test_crash_low_is_in_the_daily_file_not_the_hourly() -> None:
    # SOURCES.md: the 2026-02-06 low (1,747.80) sits in the missing 00:00 hourly bar.
    day = pd.Timestamp("2026-02-06", tz="UTC")
    assert load_binance_daily_recent().loc[day, "low_usd"] == 1747.80
    hourly = load_binance_hourly()
    assert hourly.loc[hourly.index.normalize() == day, "low_usd"].min() > 1747.80


def test_4h_volume_adds_up_to_the_daily_volume() -> None:
    daily = load_binance_daily()
    four = load_binance_4h()
    by_day = four.groupby(four.index.normalize())
    full = by_day.size() == 6
    summed = by_day["volume_eth"].sum()[full]
    np.testing.assert_allclose(summed, daily.loc[summed.index, "volume_eth"], rtol=1e-9)


def test_daily_files_match_to_the_cent_on_the_shipped_overlap() -> None:
    old = load_binance_daily()
    new = load_binance_daily_recent()
    overlap = old.index.intersection(new.index)
    assert len(overlap) == 7
    diff = (old.loc[overlap, list(PRICE_COLUMNS)] - new.loc[overlap, list(PRICE_COLUMNS)]).abs()
    assert diff.to_numpy().max() < 0.005


def test_eth_daily_close_stitches_without_gaps() -> None:
    close = eth_daily_close()
    assert close["close_usd"].dtype == np.float64
    assert (close.index[1:] - close.index[:-1] == pd.Timedelta(days=1)).all()
    assert close.index[0] == pd.Timestamp("2020-01-01", tz="UTC")
    assert close.index[-1] == pd.Timestamp("2026-05-01", tz="UTC")
    assert (close.loc[: "2025-06-24", "source"] == "nvn01").all()
    assert (close.loc["2025-06-25":, "source"] == "mshmwr").all()
    pd.testing.assert_series_equal(
        close.loc[: "2025-06-24", "close_usd"], load_binance_daily()["close_usd"]
    )
    recent = load_binance_daily_recent()["close_usd"]
    pd.testing.assert_series_equal(close.loc["2025-06-25":, "close_usd"], recent.loc["2025-06-25":])


def test_full_raw_files_match_to_the_cent_on_the_whole_overlap(shared_raw: Path) -> None:
    nvn = pd.read_csv(shared_raw / "nvn01_eth-dataset-kaggle-updater/eth_1d_data_2020_to_2025.csv")
    msh = pd.read_csv(shared_raw / "mshmwr_k-line-prediction/Binance_ETHUSDT_d.csv")
    nvn.index = pd.to_datetime(nvn["Open time"]).dt.normalize()
    msh.index = pd.to_datetime(msh["date"]).dt.normalize()
    nvn = nvn.iloc[:-1]  # the partial last day
    overlap = nvn.index.intersection(msh.index)
    assert len(overlap) == 2002
    for a, b in (("Open", "open"), ("High", "high"), ("Low", "low"), ("Close", "close")):
        assert (nvn.loc[overlap, a] - msh.loc[overlap, b]).abs().max() < 0.005


def test_shipped_values_are_copied_unchanged(shared_raw: Path) -> None:
    raw = pd.read_csv(shared_raw / "nvn01_eth-dataset-kaggle-updater/eth_4h_data_2020_to_2025.csv")
    raw = raw.iloc[:-1]
    four = load_binance_4h()
    np.testing.assert_array_equal(four["close_usd"].to_numpy(), raw["Close"].to_numpy())
    np.testing.assert_array_equal(four["volume_eth"].to_numpy(), raw["Volume"].to_numpy())
    np.testing.assert_array_equal(
        four["quote_volume_usd"].to_numpy(), raw["Quote asset volume"].to_numpy()
    )
    hourly_raw = pd.read_csv(shared_raw / "mshmwr_k-line-prediction/Binance_ETHUSDT_1h.csv")
    hourly_raw = hourly_raw[hourly_raw["date"].between("2026-01-15", "2026-02-28 23:59")]
    np.testing.assert_array_equal(
        load_binance_hourly()["low_usd"].to_numpy(), hourly_raw["low"].to_numpy()
    )


def test_shipped_data_is_small_and_attributed() -> None:
    files = sorted(DATA.glob("*.csv.gz"))
    assert len(files) == 4
    assert sum(f.stat().st_size for f in files) < 1_500_000
    readme = (DATA / "README.md").read_text()
    for needle in ("CC BY 4.0", "1b20c581b0f4903da6b08270b41cf558a4e26a89",
                   "749a74fa7377b88cce05760182b18cbd946529d8", "2026-01-20", "00:00"):
        assert needle in readme
    for file in files:
        with gzip.open(file, "rt") as handle:
            assert handle.readline().startswith("open_time,")


# --- klines CSV ----------------------------------------------------------------------------------


def _check_recorded(frame: pd.DataFrame, *, quote: bool) -> None:
    expected_index = pd.date_range(
        "2025-06-20", periods=5, freq="D", tz="UTC", name="open_time", unit="ns"
    )
    pd.testing.assert_index_equal(frame.index, expected_index, check_exact=True, check_freq=False)
    assert frame["close_usd"].tolist() == RECORDED_CLOSE
    assert frame["volume_eth"].tolist() == RECORDED_VOLUME
    assert ("quote_volume_usd" in frame.columns) == quote
    assert all(dtype == np.float64 for dtype in frame.dtypes)


@pytest.mark.parametrize(
    ("name", "quote"),
    [("klines_ms_noheader.csv", True), ("klines_us_header.csv", True),
     ("klines_iso_header.csv", False)],
)
def test_read_klines_csv_formats(name: str, quote: bool) -> None:
    frame = read_klines_csv(FIXTURES / name)
    _check_recorded(frame, quote=quote)
    daily = load_binance_daily().loc["2025-06-20":"2025-06-24"]
    np.testing.assert_array_equal(frame["high_usd"].to_numpy(), daily["high_usd"].to_numpy())


def test_read_klines_csv_gz_and_zip(tmp_path: Path) -> None:
    text = (FIXTURES / "klines_ms_noheader.csv").read_bytes()
    gz = tmp_path / "k.csv.gz"
    gz.write_bytes(gzip.compress(text))
    _check_recorded(read_klines_csv(gz), quote=True)
    archive = tmp_path / "ETHUSDT-1d-2025-06.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ETHUSDT-1d-2025-06.csv", text)
    _check_recorded(read_klines_csv(archive), quote=True)


def test_read_klines_csv_mixed_ms_and_us(tmp_path: Path) -> None:
    # Binance spot files switched from ms to µs on 2025-01-01; a concatenation mixes both.
    ms_rows = (FIXTURES / "klines_ms_noheader.csv").read_text().splitlines()
    us_rows = (FIXTURES / "klines_us_header.csv").read_text().splitlines()[1:]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(ms_rows[:2] + us_rows[2:]) + "\n")
    _check_recorded(read_klines_csv(path), quote=True)


ROW = "1750377600000,2521.13,2569.0,2367.36,2406.49,632027.8235,1750463999999,1.5e9,1,1,1,0"
ROW2 = "1750464000000,2406.49,2448.8,2216.0,2295.73,496783.864,1750550399999,1.1e9,1,1,1,0"

KLINE_BAD = [
    ("empty", "", "no kline rows"),
    ("header-only", "open_time,open,high,low,close,volume\n", "no kline rows"),
    ("five-columns", "1750377600000,1,2,0.5,1.5\n", "at least 6"),
    ("ragged", ROW + "\n" + ROW2 + ",9\n", "row 2: 13 columns"),
    ("text-price", ROW.replace("2406.49", "abc") + "\n", "column close"),
    ("zero-price", ROW.replace("2521.13", "0") + "\n", "column open"),
    ("nan-price", ROW.replace("2569.0", "nan") + "\n", "column high"),
    ("negative-volume", ROW.replace("632027.8235", "-1") + "\n", "column volume"),
    ("high-below-low", ROW.replace("2569.0", "2300") + "\n", "must bracket"),
    ("duplicate-time", ROW + "\n" + ROW + "\n", "repeats"),
    ("time-goes-back", ROW2 + "\n" + ROW + "\n", "goes back"),
    ("seconds-timestamp", ROW.replace("1750377600000", "1750377600", 1) + "\n", "milliseconds"),
    ("bad-date", ROW.replace("1750377600000", "2025-13-45", 1) + "\n", "not a time"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in KLINE_BAD],
                         ids=[c[0] for c in KLINE_BAD])
def test_read_klines_csv_bad_input(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=fragment) as info:
        read_klines_csv(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message


def test_read_klines_csv_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file"):
        read_klines_csv(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        read_klines_csv(binary)
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.csv", ROW)
        handle.writestr("b.csv", ROW2)
    with pytest.raises(InvalidArgument, match="holds 2 files"):
        read_klines_csv(archive)
    with pytest.raises(InvalidArgument, match="is a folder"):
        read_klines_csv(tmp_path)


# --- bookDepth -----------------------------------------------------------------------------------


def test_read_book_depth_first_snapshot() -> None:
    book = read_book_depth_csv(FIXTURES / "book_depth.csv")
    assert book.attrs["snapshot_time"] == pd.Timestamp("2026-02-05 00:00:08", tz="UTC")
    assert book["side"].tolist() == ["bid"] * 5 + ["ask"] * 5
    assert book["distance"].tolist() == [0.01, 0.02, 0.03, 0.04, 0.05] * 2
    # the fixture's rule: depth = 2000 |p|^1.5 ETH, rounded to 3 decimals
    expected = [round(2000.0 * p**1.5, 3) for p in (1, 2, 3, 4, 5)] * 2
    assert book["depth_eth"].tolist() == expected
    assert (book["notional_usd"] > 0).all()


@pytest.mark.parametrize(
    ("snapshot", "scale"),
    [("2026-02-05 00:00:08", 1.0), ("2026-02-05 00:00:37", 1.0), ("2026-02-05 00:00:38", 1.1),
     ("2026-02-06", 1.1)],
)
def test_read_book_depth_snapshot_at_or_before(snapshot: str, scale: float) -> None:
    book = read_book_depth_csv(FIXTURES / "book_depth.csv", snapshot=snapshot)
    assert book["depth_eth"].iloc[0] == round(scale * 2000.0, 3)


DEPTH_HEADER = "timestamp,percentage,depth,notional\n"
DEPTH_BAD = [
    ("empty", "", "empty"),
    ("wrong-header", "time,pct,depth,notional\n", "header"),
    ("header-only", DEPTH_HEADER, "no rows"),
    ("three-columns", DEPTH_HEADER + "2026-02-05 00:00:08,-1,100\n", "3 columns"),
    ("zero-percentage", DEPTH_HEADER + "2026-02-05 00:00:08,0,100,200000\n", "non-zero"),
    ("negative-depth", DEPTH_HEADER + "2026-02-05 00:00:08,-1,-100,200000\n", "column depth"),
    ("repeated-percentage",
     DEPTH_HEADER + "2026-02-05 00:00:08,-1,100,2e5\n2026-02-05 00:00:08,-1,200,4e5\n",
     "repeated"),
    ("depth-falls",
     DEPTH_HEADER + "2026-02-05 00:00:08,1,100,2e5\n2026-02-05 00:00:08,2,50,1e5\n",
     "falls"),
    ("bad-time", DEPTH_HEADER + "yesterday,1,100,2e5\n", "not a time"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in DEPTH_BAD],
                         ids=[c[0] for c in DEPTH_BAD])
def test_read_book_depth_bad_input(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=fragment) as info:
        read_book_depth_csv(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_book_depth_snapshot_before_first() -> None:
    with pytest.raises(InvalidArgument, match="before the first snapshot"):
        read_book_depth_csv(FIXTURES / "book_depth.csv", snapshot="2026-02-04")


# --- Uniswap v3 pool state -----------------------------------------------------------------------


def test_read_univ3_pool_state() -> None:
    pool = read_univ3_pool_state(FIXTURES / "univ3_pool.json")
    assert isinstance(pool, PoolState)
    assert (pool.token0, pool.token1, pool.decimals0, pool.decimals1) == ("USDC", "WETH", 6, 18)
    assert pool.fee_pips == 500 and pool.fee == 0.0005 and pool.tick_spacing == 10
    assert pool.tick == 200311
    assert pool.liquidity == 3 * 10**18
    assert pool.sqrt_price_x96 == 1771595571142957102961017161607260  # exact, not a float
    assert [t.index for t in pool.ticks] == [198310, 199810, 200810, 202310]
    assert pool.ticks[0] == TickLiquidity(198310, 10**18)
    # closed form: sqrt_price_x96 = sqrt(10**12 / 2000) * 2**96 -> 2000 USDC per WETH
    assert math.isclose(pool.price_token0_per_token1, 2000.0, rel_tol=1e-12)
    assert math.isclose(pool.price_token1_per_token0, 1 / 2000.0, rel_tol=1e-12)
    # tick = floor(log_1.0001(raw price))
    assert pool.tick == math.floor(math.log((pool.sqrt_price_x96 / 2**96) ** 2, 1.0001))


def _pool(**changes: object) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / "univ3_pool.json").read_text())
    data.update(changes)
    return data


POOL_BAD = [
    ("missing-key", {k: v for k, v in _pool().items() if k != "liquidity"}, "missing key"),
    ("unknown-key", _pool(colour="red"), "unknown key"),
    ("float-sqrt-price", _pool(sqrt_price_x96=1.77e33), "integer or a string"),
    ("text-liquidity", _pool(liquidity="lots"), "not a whole number"),
    ("negative-liquidity", _pool(liquidity="-1"), "must be in"),
    ("sqrt-price-too-small", _pool(sqrt_price_x96="5"), "sqrt_price_x96"),
    ("tick-mismatch", _pool(tick=100), "does not match"),
    ("bool-decimals", _pool(decimals0=True), "decimals0"),
    ("decimals-too-big", _pool(decimals1=100), "decimals1"),
    ("odd-fee", _pool(fee_pips=2500), "tick_spacing"),
    ("ticks-not-list", _pool(ticks={"index": 0}), "list"),
    ("tick-off-spacing", _pool(ticks=[{"index": 198315, "liquidity_net": "1"}]), "multiple"),
    ("tick-entry-keys", _pool(ticks=[{"index": 198310}]), "keys index, liquidity_net"),
    ("duplicate-tick", _pool(ticks=[{"index": 198310, "liquidity_net": "1"},
                                    {"index": 198310, "liquidity_net": "2"}]), "twice"),
    ("liquidity-turns-negative",
     _pool(ticks=[{"index": 200810, "liquidity_net": str(-4 * 10**18)}]), "upward"),
    ("liquidity-negative-below",
     _pool(ticks=[{"index": 199810, "liquidity_net": str(4 * 10**18)}]), "downward"),
    ("token-empty", _pool(token0=""), "token0"),
]


@pytest.mark.parametrize(("data", "fragment"), [c[1:] for c in POOL_BAD],
                         ids=[c[0] for c in POOL_BAD])
def test_read_univ3_pool_state_bad_input(
    data: dict[str, object], fragment: str, tmp_path: Path
) -> None:
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match=fragment) as info:
        read_univ3_pool_state(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_univ3_pool_state_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    path.write_text('{"token0": "USDC",')
    with pytest.raises(InvalidArgument, match="malformed JSON at line 1"):
        read_univ3_pool_state(path)
    path.write_text("[1, 2]")
    with pytest.raises(InvalidArgument, match="JSON object"):
        read_univ3_pool_state(path)


def test_read_univ3_pool_state_tick_spacing_given(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(_pool(fee_pips=2500, tick_spacing=50, ticks=[])))
    pool = read_univ3_pool_state(path)
    assert pool.tick_spacing == 50 and pool.ticks == ()
