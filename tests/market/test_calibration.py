"""Market calibration: figures recomputed by hand, no look-ahead, the [market] TOML section."""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from delever.errors import InvalidArgument
from delever.market.calibration import (
    IMPACT_Y,
    IMPACT_Y_RANGE,
    IMPACT_Y_SOURCE,
    MarketCalibration,
    MarketData,
    calibrate,
)
from delever.market.loaders import eth_daily_close, load_binance_4h, load_binance_daily


@pytest.fixture(scope="module")
def default() -> MarketCalibration:
    return calibrate()


def _manual_sigma(cutoff: str, window_days: int) -> tuple[float, int]:
    close = eth_daily_close()["close_usd"]
    close = close[close.index < pd.Timestamp(cutoff, tz="UTC")]  # truncate first
    returns = np.diff(np.log(close.to_numpy()))[-window_days:]
    return float(np.std(returns, ddof=1)), len(returns)


def test_default_calibration_matches_a_manual_computation(default: MarketCalibration) -> None:
    assert default.cutoff == date(2026, 1, 1) and default.window_days == 365
    sigma, n = _manual_sigma("2026-01-01", 365)
    assert default.sigma_daily.value == pytest.approx(sigma, rel=1e-12)
    assert default.n_daily_returns == n == 365
    assert default.sigma_window == (date(2025, 1, 1), date(2025, 12, 31))
    # ADV: volume ends 2025-06-24, so the last 365 days of volume before the cut-off
    volume = load_binance_daily()
    last = volume.iloc[-365:]
    assert default.adv_eth.value == pytest.approx(last["volume_eth"].mean(), rel=1e-12)
    assert default.adv_usd.value == pytest.approx(last["quote_volume_usd"].mean(), rel=1e-12)
    assert default.adv_window == (date(2024, 6, 25), date(2025, 6, 24))
    assert default.adv_days == 365
    assert "2025-06-24" in default.adv_source and "last window" in default.adv_source
    assert default.last_close_date == date(2025, 12, 31)
    assert default.last_close_usd.value == eth_daily_close().loc["2025-12-31", "close_usd"]
    np.testing.assert_allclose(
        default.daily_returns,
        np.diff(np.log(eth_daily_close()["close_usd"].loc["2024-12-31":"2025-12-31"].to_numpy())),
    )
    assert not default.daily_returns.flags.writeable


def test_every_market_figure_is_a_labelled_estimate(default: MarketCalibration) -> None:
    for item in (default.sigma_daily, default.adv_eth, default.adv_usd, default.impact_y):
        assert item.estimate is True and item.source
    assert "CC BY 4.0" in default.adv_eth.source
    assert default.sigma_daily_intraday is not None and default.sigma_daily_intraday.estimate


def test_impact_y_from_the_literature(default: MarketCalibration) -> None:
    assert default.impact_y.value == IMPACT_Y == 1.0
    assert default.impact_y_range == IMPACT_Y_RANGE == (0.5, 1.5)
    for author in ("Toth", "Bouchaud", "Donier"):
        assert author in IMPACT_Y_SOURCE


def test_intraday_check_uses_4h_bars_inside_the_window(default: MarketCalibration) -> None:
    # The 4h file ends 2025-06-24: inside the 2025 window it covers 2025-01-01 .. 06-24.
    assert default.intraday_bars == "4h"
    four = load_binance_4h()["close_usd"]
    four = four[(four.index >= "2024-12-31 20:00") & (four.index < "2026-01-01")]
    log_close = np.log(four.to_numpy())
    gap_free = np.diff(four.index.asi8) == 4 * 3600 * 10**9
    returns = np.diff(log_close)[gap_free]
    ends = four.index[1:][gap_free]
    returns = returns[ends >= pd.Timestamp("2025-01-01", tz="UTC")]
    assert default.n_intraday_returns == len(returns)
    expected = np.std(returns, ddof=1) * math.sqrt(6)
    assert default.sigma_daily_intraday is not None
    assert default.sigma_daily_intraday.value == pytest.approx(expected, rel=1e-12)
    assert default.intraday_window == (date(2025, 1, 1), date(2025, 6, 24))
    # same order of magnitude as the close-to-close figure
    assert 0.5 < default.sigma_daily_intraday.value / default.sigma_daily.value < 2.0


def test_intraday_check_uses_hourly_bars_when_the_window_holds_them() -> None:
    cal = calibrate(date(2026, 3, 1), 90)
    assert cal.intraday_bars == "1h"
    assert cal.intraday_window is not None and cal.intraday_window[0] == date(2026, 1, 15)
    assert cal.intraday_window[1] == date(2026, 2, 28)
    # 45 days x 24 hourly returns, minus those touching a missing bar (00:00 bars: two
    # returns each; 2026-01-20: 23 bars), as counted from the shipped file
    assert 900 < cal.n_intraday_returns < 1000
    assert "skipped" in cal.sigma_daily_intraday.source  # type: ignore[union-attr]


def _poisoned(cutoff: str) -> MarketData:
    """The shipped data with every value on or after ``cutoff`` replaced by nonsense."""
    stamp = pd.Timestamp(cutoff, tz="UTC")
    shipped = MarketData.shipped()

    def poison(frame: pd.DataFrame, bar: pd.Timedelta) -> pd.DataFrame:
        out = frame.copy()
        late = out.index + bar > stamp  # bars not closed before the cut-off
        numeric = out.select_dtypes("number").columns
        out.loc[late, numeric] = out.loc[late, numeric] * 7.0 + 1e6
        return out

    day = pd.Timedelta(days=1)
    return replace(
        shipped,
        daily_close=poison(shipped.daily_close, day),
        daily_volume=poison(shipped.daily_volume, day),
        intraday=tuple(
            (name, hours, poison(frame, pd.Timedelta(hours=hours)))
            for name, hours, frame in shipped.intraday
        ),
    )


@pytest.mark.parametrize(("cutoff", "window"), [("2025-03-01", 120), ("2026-02-10", 60)])
def test_no_data_on_or_after_the_cutoff_is_used(cutoff: str, window: int) -> None:
    clean = calibrate(cutoff, window)
    poisoned = calibrate(cutoff, window, data=_poisoned(cutoff))
    assert poisoned.to_dict() == clean.to_dict()
    sigma, n = _manual_sigma(cutoff, window)
    assert clean.sigma_daily.value == pytest.approx(sigma, rel=1e-12) and clean.n_daily_returns == n
    # and the poison does change a calibration whose window reaches it
    later = calibrate("2026-05-02", 365, data=_poisoned(cutoff))
    assert later.sigma_daily.value != calibrate("2026-05-02", 365).sigma_daily.value


def test_volume_inside_the_window_when_the_cutoff_allows() -> None:
    cal = calibrate("2025-03-01", 120)
    assert cal.adv_window == (date(2024, 11, 1), date(2025, 2, 28))
    assert "last window" not in cal.adv_source
    volume = load_binance_daily().loc["2024-11-01":"2025-02-28", "volume_eth"]
    assert cal.adv_eth.value == pytest.approx(volume.mean(), rel=1e-12)


def test_last_possible_cutoff_is_the_day_after_the_data() -> None:
    cal = calibrate("2026-05-02", 90)
    assert cal.last_close_date == date(2026, 5, 1)
    with pytest.raises(InvalidArgument, match="after the end of the data"):
        calibrate("2026-05-03", 90)


CALIBRATE_BAD = [
    ("cutoff-after-data", {"cutoff": "2027-01-01"}, "after the end of the data"),
    ("cutoff-not-a-date", {"cutoff": "2026-13-01"}, "not a date"),
    ("window-too-short", {"window_days": 10}, "at least 30"),
    ("window-not-int", {"window_days": 30.5}, "whole number"),
    ("too-little-data", {"cutoff": "2020-01-20"}, "at least 30 are needed"),
    ("y-negative", {"impact_y": -1.0}, "impact_y"),
    ("y-outside-range", {"impact_y": 2.0}, "impact_y_range"),
    ("range-reversed", {"impact_y_range": (1.5, 0.5)}, "impact_y_range"),
]


@pytest.mark.parametrize(("kwargs", "fragment"), [c[1:] for c in CALIBRATE_BAD],
                         ids=[c[0] for c in CALIBRATE_BAD])
def test_calibrate_bad_input(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidArgument, match=fragment) as info:
        calibrate(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_toml_section_round_trips(default: MarketCalibration) -> None:
    text = default.to_toml_section()
    parsed = tomllib.loads(text)
    market = parsed["market"]
    assert set(market) == {"sigma_daily", "adv_eth", "impact_y", "impact_y_range", "cutoff"}
    assert market["sigma_daily"]["value"] == default.sigma_daily.value  # exact: repr floats
    assert market["adv_eth"]["value"] == default.adv_eth.value
    assert market["impact_y"] == default.impact_y.to_dict()
    assert market["impact_y_range"] == [0.5, 1.5]
    assert market["cutoff"] == date(2026, 1, 1)
    assert all(market[k]["estimate"] is True for k in ("sigma_daily", "adv_eth", "impact_y"))
    assert "adv_usd" in text and "2024-06-25" in text  # provenance kept in comments


def test_toml_section_is_a_valid_scenario_market_spec(default: MarketCalibration) -> None:
    schema = pytest.importorskip("delever.scenario.schema")
    spec = schema.MarketSpec.model_validate(tomllib.loads(default.to_toml_section())["market"])
    assert spec.sigma_daily.value == default.sigma_daily.value
    assert spec.cutoff == date(2026, 1, 1)


def test_summary_and_dict(default: MarketCalibration) -> None:
    text = str(default)
    assert "sigma_daily" in text and "ADV" in text
    payload = default.to_dict()
    assert payload["adv_window"] == ["2024-06-25", "2025-06-24"]
    assert payload["sigma_annual"] == pytest.approx(default.sigma_daily.value * math.sqrt(365))


def test_intraday_check_falls_back_to_the_last_bars_before_the_cutoff() -> None:
    # window 2025-11-11 .. 2026-01-09 holds no intraday bars (4h ends 2025-06-24, hourly
    # starts 2026-01-15): the last 60 days of 4h bars are used, and the source says so
    cal = calibrate("2026-01-10", 60)
    assert cal.intraday_bars == "4h"
    assert cal.intraday_window is not None and cal.intraday_window[1] == date(2025, 6, 24)
    assert cal.intraday_window[0] == date(2025, 4, 26)
    assert "last window of bars" in cal.sigma_daily_intraday.source  # type: ignore[union-attr]
