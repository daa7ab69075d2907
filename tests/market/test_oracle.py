"""Oracle over paths: heartbeat and deviation rules, equality with a plain loop of
``oracle_step_py``, lag statistics, and the shipped calibration JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.errors import InvalidArgument
from delever.kernels.oracle import oracle_step_py
from delever.market.oracle import (
    CHAINLINK_ETH_USD,
    OracleParams,
    calibrate_oracle,
    oracle_lag,
    oracle_path,
)

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / ".." / "shared" / "data" / "raw" / "sajanrajdev_ape-chainlink-fetcher"
JSON_PATH = ROOT / "src" / "delever" / "data" / "chainlink" / "eth_usd_calibration.json"
HOURLY = OracleParams(3600.0, 0.005, "test", estimate=True)


def reference_loop(mids: np.ndarray, step_s: float, params: OracleParams,
                   initial: np.ndarray, age0: float) -> tuple[np.ndarray, np.ndarray]:
    answers = np.empty_like(mids)
    ages = np.empty_like(mids)
    for p in range(mids.shape[0]):
        last, age = float(initial[p]), age0
        for t in range(mids.shape[1]):
            last, age = oracle_step_py(last, age, float(mids[p, t]), step_s if t else 0.0,
                                       params.heartbeat_s, params.deviation)
            answers[p, t], ages[p, t] = last, age
    return answers, ages


def test_flat_path_updates_only_on_heartbeat() -> None:
    mids = np.full((2, 25), 2000.0)
    answers, ages = oracle_path(mids, 600.0, HOURLY)
    assert np.all(answers == 2000.0)
    # 600 s steps: age 0, 600, ..., 3000, then 3600 >= heartbeat -> 0 at t = 6, 12, 18, 24.
    expected = np.array([(t % 6) * 600.0 for t in range(25)])
    assert np.array_equal(ages[0], expected)


def test_step_above_threshold_updates_at_once_below_waits() -> None:
    mids = np.full((2, 12), 2000.0)
    mids[0, 3:] = 2000.0 * 1.006  # +0.6% > 0.5%
    mids[1, 3:] = 2000.0 * 1.004  # +0.4% < 0.5%
    answers, ages = oracle_path(mids, 600.0, HOURLY)
    assert answers[0, 3] == mids[0, 3] and ages[0, 3] == 0.0
    assert np.all(answers[1, 3:6] == 2000.0)  # stale until the heartbeat at t = 6
    assert answers[1, 6] == mids[1, 6] and ages[1, 6] == 0.0


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 4), st.integers(1, 40), st.integers(0, 2**31 - 1),
    st.sampled_from([60.0, 600.0, 3600.0]), st.floats(0.0, 0.02), st.floats(0.0, 7200.0),
    st.floats(0.0, 4000.0),
)
def test_equals_plain_loop(n_paths: int, n_steps: int, seed: int, step_s: float,
                           deviation: float, heartbeat_s: float, age0: float) -> None:
    rng = np.random.default_rng(seed)
    mids = 2000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, (n_paths, n_steps)), axis=1))
    initial = 2000.0 * (1.0 + rng.normal(0.0, 0.005, n_paths))
    params = OracleParams(heartbeat_s, deviation, "test", estimate=True)
    got = oracle_path(mids, step_s, params, initial_answer=initial, initial_age_s=age0)
    want = reference_loop(mids, step_s, params, initial, age0)
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1])


def test_lag_statistics_hand_example() -> None:
    mids = np.array([[100.0, 100.3, 100.3, 101.0]])
    answers, ages = oracle_path(mids, 600.0, HOURLY)
    # t1: 0.3% < 0.5% -> stale at 100; t2 stale; t3: 1% -> update.
    assert answers.tolist() == [[100.0, 100.0, 100.0, 101.0]]
    lag = oracle_lag(mids, answers, ages)
    assert lag.stale_share == pytest.approx(0.5)
    assert lag.mean_abs_gap == pytest.approx((0.3 / 100.3) * 2 / 4)
    assert lag.max_abs_gap == pytest.approx(0.3 / 100.3)
    assert lag.mean_age_s == pytest.approx((600.0 + 1200.0) / 4)


def test_follow_mode_and_bad_input() -> None:
    mids = np.array([[100.0, 100.1, 99.9]])
    answers, ages = oracle_path(mids, 60.0, OracleParams(0.0, 0.0, "follow", estimate=False))
    assert np.array_equal(answers, mids) and not ages.any()
    with pytest.raises(InvalidArgument, match="step_s"):
        oracle_path(mids, 0.0)
    with pytest.raises(InvalidArgument, match="positive"):
        oracle_path(-mids, 60.0)
    with pytest.raises(InvalidArgument, match="deviation"):
        OracleParams(3600.0, 1.5, "x", estimate=True)


def test_calibrate_on_synthetic_feed() -> None:
    # A feed driven by the rule itself: heartbeat gaps are exactly 3,600 s, early moves >= 0.5%.
    rng = np.random.default_rng(7)
    mids = 2000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0002, 50_000)))
    answers, ages = oracle_path(mids, 12.0, HOURLY)
    written = np.flatnonzero(ages[0] == 0.0)
    cal = calibrate_oracle(written * 12.0, answers[0, written], cluster_floor=0.0)
    assert cal.max_gap_s == 3600.0
    assert cal.deviation_p05 >= 0.005


def test_shipped_json_matches_defaults_and_raw_data() -> None:
    shipped = json.loads(JSON_PATH.read_text(encoding="utf-8"))
    assert shipped["used"]["heartbeat_s"] == CHAINLINK_ETH_USD.heartbeat_s == 3600.0
    assert shipped["used"]["deviation"] == CHAINLINK_ETH_USD.deviation == 0.005
    raw = RAW / "chainlink_eth_usd_0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419.csv"
    if not raw.exists():
        pytest.skip(f"raw Chainlink rounds absent ({raw}); cannot recompute the calibration")
    spec = importlib.util.spec_from_file_location("calibrate_oracle",
                                                  ROOT / "scripts" / "calibrate_oracle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.calibration_payload(raw) == shipped
    cal = shipped["calibration"]
    # SOURCES.md: median update interval 3,024 s.
    assert cal["median_gap_s"] == 3024.0
    assert 3600.0 <= cal["max_gap_s"] <= 3800.0
    assert 0.0049 <= cal["deviation_p05"] <= 0.0052
