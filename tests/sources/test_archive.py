"""delever.sources.archive: files in the exact formats of data.binance.vision, written here.

Formats (binance/binance-public-data @ 5c7f3197591c0d54d85dc43066226bc4c671d47a README.md):
kline rows of 12 columns ``open time, open, high, low, close, volume, close time, quote
asset volume, trades, taker buy base, taker buy quote, ignore``; spot files have no header
and use microseconds from 2025-01-01 (milliseconds before); USD-M futures files have the
header ``open_time,open,high,low,close,volume,close_time,quote_volume,count,
taker_buy_volume,taker_buy_quote_volume,ignore`` and milliseconds. One CSV per zip, named
like the zip (``ETHUSDT-1d-2025-01.csv`` in ``ETHUSDT-1d-2025-01.zip``). bookDepth:
``timestamp,percentage,depth,notional``.

The kline values are the shipped Binance ETHUSDT bars (``load_binance_daily`` /
``load_binance_4h``, nvn01 CC BY 4.0), written back as text with ``repr``; trade counts and
taker volumes, which the shipped files lack, are 0.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from delever.market.calibration import calibrate
from delever.market.loaders import load_binance_4h, load_binance_daily
from delever.sources import SourceError
from delever.sources.archive import (
    bar_interval,
    klines_market_data,
    read_archive_book_depth,
    read_archive_klines,
)

FUTURES_HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                  "taker_buy_volume,taker_buy_quote_volume,ignore")


def _rows(frame: pd.DataFrame, unit: str, step: pd.Timedelta) -> list[str]:
    scale = {"ms": 1_000_000, "us": 1_000}[unit]
    lines = []
    for stamp, bar in frame.iterrows():
        open_t = stamp.value // scale
        close_t = (stamp + step).value // scale - 1  # Binance: next open minus one unit
        lines.append(",".join([
            str(open_t), *(repr(float(v)) for v in (bar.open_usd, bar.high_usd, bar.low_usd,
                                                    bar.close_usd, bar.volume_eth)),
            str(close_t), repr(float(bar.quote_volume_usd)), "0", "0", "0", "0"]))
    return lines


def _write(folder: Path, name: str, lines: list[str], *, zipped: bool) -> Path:
    text = "\n".join(lines) + "\n"
    if not zipped:
        path = folder / f"{name}.csv"
        path.write_text(text)
        return path
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.csv", text)
    return path


DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return load_binance_daily()


def test_spot_ms_csv_and_us_zip_join(tmp_path: Path, daily: pd.DataFrame) -> None:
    december = daily.loc["2024-12-01":"2024-12-31"]
    january = daily.loc["2025-01-01":"2025-01-31"]
    # spot: milliseconds before 2025, microseconds from 2025-01-01, no header
    old = _write(tmp_path, "ETHUSDT-1d-2024-12", _rows(december, "ms", DAY), zipped=False)
    new = _write(tmp_path, "ETHUSDT-1d-2025-01", _rows(january, "us", DAY), zipped=True)
    frame = read_archive_klines([new, old])
    assert len(frame) == 62 and frame.index.is_monotonic_increasing
    assert frame.index[0] == pd.Timestamp("2024-12-01", tz="UTC")
    assert frame.index[31] == pd.Timestamp("2025-01-01", tz="UTC")
    # 2025-01-01 in nvn01_ethusdt_1d.csv.gz: 3337.78,3374.85,3313.88,3360.38,190238.5861
    assert frame.loc["2025-01-01", "close_usd"] == 3360.38
    assert frame.loc["2025-01-01", "volume_eth"] == 190238.5861
    np.testing.assert_array_equal(frame.to_numpy(), pd.concat([december, january]).to_numpy())
    assert frame.attrs["bar"] == DAY
    assert "ETHUSDT-1d-2025-01.zip" in frame.attrs["source"]


def test_futures_zip_with_header_ms(tmp_path: Path, daily: pd.DataFrame) -> None:
    bars = daily.loc["2025-03-01":"2025-03-10"]
    path = _write(tmp_path, "ETHUSDT-1d-2025-03", [FUTURES_HEADER, *_rows(bars, "ms", DAY)],
                  zipped=True)
    frame = read_archive_klines([path])
    np.testing.assert_array_equal(frame.to_numpy(), bars.to_numpy())
    assert list(frame.index) == list(bars.index)


def test_same_bar_in_two_files(tmp_path: Path, daily: pd.DataFrame) -> None:
    bars = daily.loc["2025-03-01":"2025-03-05"]
    a = _write(tmp_path, "a", _rows(bars, "ms", DAY), zipped=False)
    b = _write(tmp_path, "b", _rows(bars.iloc[3:], "us", DAY), zipped=False)
    assert len(read_archive_klines([a, b])) == 5  # identical repeats kept once
    changed = bars.iloc[3:].copy()
    changed.iloc[0, 3] += 1.0
    c = _write(tmp_path, "c", _rows(changed, "ms", DAY), zipped=False)
    with pytest.raises(SourceError, match=r"2025-03-04.*two files with different values"):
        read_archive_klines([a, c])


@pytest.mark.parametrize(("text", "match"), [
    ("1735689600000,1,2,0.5,1\n", "5 columns"),
    ("17356896000,1,2,0.5,1,3\n", "not a Binance epoch time"),
    ("", "no kline rows"),
], ids=["short-row", "bad-time", "empty"])
def test_malformed_kline_file_is_one_line(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SourceError, match=match) as info:
        read_archive_klines([path])
    assert str(info.value).startswith("archive klines: ") and "\n" not in str(info.value)


def test_intraday_bars_give_daily_closes_and_volumes(tmp_path: Path,
                                                     daily: pd.DataFrame) -> None:
    four_hour = load_binance_4h().loc["2025-05-01":"2025-05-31"]
    step = pd.Timedelta(hours=4)
    path = _write(tmp_path, "ETHUSDT-4h-2025-05", _rows(four_hour, "us", step), zipped=True)
    frame = read_archive_klines([path])
    assert bar_interval(frame) == step
    data = klines_market_data(frame)
    expected = daily.loc["2025-05-01":"2025-05-31"]
    # the daily close is the last 4-hour close; the daily volume the sum of the six
    np.testing.assert_array_equal(data.daily_close["close_usd"], expected["close_usd"])
    np.testing.assert_allclose(data.daily_volume["volume_eth"], expected["volume_eth"],
                               rtol=1e-9)
    assert data.intraday[0][:2] == ("4h", 4.0)


def test_book_depth_zip(tmp_path: Path) -> None:
    # bookDepth rows: cumulative ETH and USD notional within each percent of the mid. The
    # numbers are made up around the 2025-06-24 open 2411.66 (nvn01_ethusdt_1d.csv.gz).
    rows = ["timestamp,percentage,depth,notional",
            "2025-06-24 00:00:08,-2.00,300.0,720000.0",
            "2025-06-24 00:00:08,-1.00,100.0,240500.0",
            "2025-06-24 00:00:08,1.00,120.0,290000.0",
            "2025-06-24 00:00:08,2.00,260.0,630000.0",
            "2025-06-24 00:00:38,-1.00,50.0,120000.0",
            "2025-06-24 00:00:38,1.00,60.0,145000.0"]
    path = _write(tmp_path, "ETHUSDT-bookDepth-2025-06-24", rows, zipped=True)
    book = read_archive_book_depth(path)
    # levels at d(notional)/d(depth): 240500/100 = 2405, (720000-240500)/(300-100) = 2397.5
    np.testing.assert_allclose(book.bid_price_usd, [2405.0, 2397.5])
    np.testing.assert_allclose(book.bid_size_eth, [100.0, 200.0])
    assert book.mid_price_usd == pytest.approx((2405.0 + 290000.0 / 120.0) / 2)
    later = read_archive_book_depth(path, snapshot="2025-06-24T00:01")
    np.testing.assert_allclose(later.bid_price_usd, [2400.0])
    assert "snapshot 2025-06-24 00:00:38+00:00" in later.source
    bad = _write(tmp_path, "bad", ["timestamp,percent,depth,notional"], zipped=False)
    with pytest.raises(SourceError, match=r"^archive bookDepth: .*header"):
        read_archive_book_depth(bad)


def _cli() -> object:
    import typer

    from delever.cli import market_cmds

    app = typer.Typer()
    app.command("impact")(market_cmds.impact)
    app.command("calibrate")(market_cmds.calibrate_cmd)
    return app


def test_cli_calibrate_from_archive(tmp_path: Path, daily: pd.DataFrame,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from delever.sources import exchanges

    def refuse(venue: str) -> object:
        raise AssertionError("--archive must not open an exchange")
    monkeypatch.setattr(exchanges, "open_exchange", refuse)
    files = []
    for month in ("2025-02", "2025-03", "2025-04", "2025-05", "2025-06"):
        bars = daily.loc[month]
        files.append(str(_write(tmp_path, f"ETHUSDT-1d-{month}", _rows(bars, "us", DAY),
                                zipped=True)))
    args = ["calibrate", "--cutoff", "2025-06-01", "--window-days", "90", "--json"]
    for name in files:
        args += ["--archive", name]
    result = CliRunner().invoke(_cli(), args)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    shipped = calibrate("2025-06-01", 90)  # the same bars, shipped: the same figures
    assert payload["sigma_daily"]["value"] == pytest.approx(shipped.sigma_daily.value,
                                                            rel=1e-12)
    assert payload["adv_usd"]["value"] == pytest.approx(shipped.adv_usd.value, rel=1e-12)
    assert payload["last_close_usd"]["value"] == 2528.06  # 2025-05-31: June is past the cut-off
    assert "data.binance.vision" in payload["sigma_daily"]["source"]


def test_cli_calibrate_archive_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.zip"
    result = CliRunner().invoke(_cli(), ["calibrate", "--archive", str(missing)])  # type: ignore[arg-type]
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: archive klines: ") and "no such file" \
        in lines[0]
    both = CliRunner().invoke(_cli(), ["calibrate", "--archive", str(missing),  # type: ignore[arg-type]
                                       "--exchange", "binance"])
    assert both.exit_code == 2 and "give --exchange or --archive, not both" in both.stderr
