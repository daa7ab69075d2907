"""Contract rate x market factor paths, and the OU fit of the stETH/ETH discount.

References are independent of the code under test: closed forms (exact accrual, Poisson
moments, OU transition moments), a straight-loop OU simulator and a direct scipy.stats
likelihood written here, and the raw Chainlink file's own numbers.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.market.rate_paths import (
    DepegParams,
    RatePaths,
    fit_depeg,
    fit_ou_exact,
    rate_paths,
    read_steth_eth_rounds,
    shipped_depeg_params,
    shipped_depeg_payload,
)

ROOT = Path(__file__).resolve().parents[2]
RAW_NAME = "chainlink_steth_eth_0x86392dC19c0b719886221c78AB11eb8Cf5c52812.csv"
# ../shared/data/raw beside the checkout, or beside the folder of worktrees
RAW_CANDIDATES = [base / "shared" / "data" / "raw" / "sajanrajdev_ape-chainlink-fetcher" / RAW_NAME
                  for base in (ROOT.parent, ROOT.parent.parent)]
FLAT = DepegParams.given(mu=0.0, kappa_per_year=1.0, sigma_per_sqrt_year=0.0)


@pytest.fixture
def raw_rounds() -> Path:
    for path in RAW_CANDIDATES:
        if path.is_file():
            return path
    pytest.skip(f"Chainlink stETH/ETH rounds not found at {RAW_CANDIDATES[0]} (validation "
                "data from ../shared/data/raw, not shipped)")


def _paths(**overrides: object) -> RatePaths:
    kwargs: dict[str, object] = dict(n_paths=4, n_steps=365, step_days=1.0, r0=1.15,
                                     staking_yield=0.03, slash_intensity_per_year=0.0,
                                     slash_size=0.0, depeg=FLAT, d0=0.0, seed=7)
    kwargs.update(overrides)
    return rate_paths(**kwargs)  # type: ignore[arg-type]


# --- contract rate ------------------------------------------------------------------------


@pytest.mark.parametrize(("n_steps", "step_days"), [(365, 1.0), (12, 365 / 12), (8760, 1 / 24)])
def test_accrual_over_a_year_is_exact(n_steps: int, step_days: float) -> None:
    r = _paths(n_steps=n_steps, step_days=step_days, staking_yield=0.0325)
    assert r.contract[:, 0] == pytest.approx(1.15, rel=0, abs=0)
    assert r.contract[:, -1] == pytest.approx(1.15 * math.exp(0.0325), rel=1e-13)
    k = n_steps // 2
    assert r.contract[0, k] == pytest.approx(1.15 * math.exp(0.0325 * k * step_days / 365),
                                             rel=1e-13)
    # no depeg: the market factor stays at 1 - d0
    assert np.all(r.market == 1.0)


def test_slashing_counts_and_sizes_match_the_stated_intensity() -> None:
    lam, jump, y, n_paths, n_steps = 0.3, 0.02, 0.03, 100_000, 4
    dt = 1.0 / n_steps
    r = _paths(n_paths=n_paths, n_steps=n_steps, step_days=365 * dt, staking_yield=y,
               slash_intensity_per_year=lam, slash_size=jump, seed=11)
    ratio = r.contract[:, 1:] / r.contract[:, :-1] / math.exp(y * dt)
    counts = np.rint(np.log(ratio) / math.log1p(-jump))
    # every step's change is the yield times exactly (1 - J)^n: each jump is of size J
    assert np.max(np.abs(ratio - (1 - jump) ** counts)) < 1e-12
    per_path = counts.sum(axis=1)  # 100k path-years
    expected = lam * n_paths
    assert abs(per_path.sum() - expected) / math.sqrt(expected) < 4
    # Poisson: variance = mean; Var(sample variance) ~ (λ + 2λ²) / n
    se_var = math.sqrt((lam + 2 * lam * lam) / n_paths)
    assert abs(per_path.var(ddof=1) - lam) / se_var < 4
    assert (counts > 0).any(axis=1).mean() == pytest.approx(1 - math.exp(-lam), abs=4 * math.sqrt(
        math.exp(-lam) * (1 - math.exp(-lam)) / n_paths))


# --- market factor -------------------------------------------------------------------------


def test_ou_transition_and_stationary_moments() -> None:
    mu, kappa, sigma, d0, n_paths = 0.01, 20.0, 0.15, 0.05, 200_000
    depeg = DepegParams.given(mu, kappa, sigma)
    r = _paths(n_paths=n_paths, n_steps=73, step_days=5.0, depeg=depeg, d0=d0, seed=3)
    d = r.discount
    assert np.all(r.market[:, 0] == 1.0 - d0)
    for k in (1, 6):  # transient (5 and 30 days): exact Gaussian moments from d0
        t = 5 * k / 365
        mean = mu + (d0 - mu) * math.exp(-kappa * t)
        var = sigma**2 * -math.expm1(-2 * kappa * t) / (2 * kappa)
        assert abs(d[:, k].mean() - mean) / math.sqrt(var / n_paths) < 4
        assert abs(d[:, k].var(ddof=1) - var) / (var * math.sqrt(2 / (n_paths - 1))) < 4
    stationary_var = sigma**2 / (2 * kappa)  # after one year, kappa t = 20
    assert abs(d[:, -1].mean() - mu) / math.sqrt(stationary_var / n_paths) < 4
    assert abs(d[:, -1].var(ddof=1) - stationary_var) / (
        stationary_var * math.sqrt(2 / (n_paths - 1))) < 4
    # lag-one correlation across paths at stationarity is exp(-kappa dt)
    corr = np.corrcoef(d[:, -2], d[:, -1])[0, 1]
    assert corr == pytest.approx(math.exp(-kappa * 5 / 365), abs=4 / math.sqrt(n_paths))


def test_same_seed_same_bytes_and_separate_streams() -> None:
    depeg = DepegParams.given(0.01, 20.0, 0.15)
    kwargs: dict[str, object] = dict(n_paths=50, n_steps=40, slash_intensity_per_year=2.0,
                                     slash_size=0.01, depeg=depeg, d0=0.02)
    a, b = _paths(**kwargs), _paths(**kwargs)
    assert a.contract.tobytes() == b.contract.tobytes()
    assert a.market.tobytes() == b.market.tobytes()
    other = _paths(**{**kwargs, "depeg": DepegParams.given(0.03, 5.0, 0.3)})
    assert other.contract.tobytes() == a.contract.tobytes()  # slashing stream untouched
    assert other.market.tobytes() != a.market.tobytes()
    assert _paths(**{**kwargs, "seed": 8}).market.tobytes() != a.market.tobytes()
    assert np.array_equal(a.value_eth, a.contract * a.market)
    # a SeedSequence (a Monte Carlo stream) works the same, and may be passed again
    sequence = np.random.SeedSequence(7)
    for _ in range(2):
        again = _paths(**{**kwargs, "seed": sequence})
        assert again.market.tobytes() == a.market.tobytes()
        assert again.contract.tobytes() == a.contract.tobytes()
    # the children are those of SeedSequence(7).spawn(2): slashing 0, depeg 1
    slash_child, depeg_child = np.random.SeedSequence(7).spawn(2)
    counts = np.random.default_rng(slash_child).poisson(2.0 / 365, size=(50, 40))
    assert np.array_equal(np.diff(np.log(a.contract), axis=1) > 0, counts == 0)
    # the depeg stream: one normal per path and column, column 0's discarded
    z = np.random.default_rng(depeg_child).standard_normal((50, 41))
    a1 = math.exp(-20.0 / 365)
    d1 = 0.01 + (0.02 - 0.01) * a1 + 0.15 * math.sqrt((1 - a1 * a1) / 40.0) * z[:, 1]
    assert a.discount[:, 1] == pytest.approx(d1, rel=1e-12, abs=1e-15)


# --- the fit -------------------------------------------------------------------------------


def _simulate_ou_loop(mu: float, kappa: float, sigma: float, dt: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """A straight loop over the exact transition (independent of ``ou_paths``)."""
    x = np.empty(dt.size + 1)
    x[0] = mu + rng.standard_normal() * sigma / math.sqrt(2 * kappa)
    for i, step in enumerate(dt):
        a = math.exp(-kappa * step)
        x[i + 1] = mu + (x[i] - mu) * a + sigma * math.sqrt((1 - a * a) / (2 * kappa)) * (
            rng.standard_normal())
    return x


def test_fit_recovers_simulated_parameters_on_irregular_intervals() -> None:
    mu, kappa, sigma, n = 0.007, 20.0, 0.12, 20_000
    rng = np.random.default_rng(2024)
    # about daily, with one interval in five a short deviation-triggered one (minutes to hours)
    dt = np.where(rng.random(n) < 0.2, rng.uniform(0.001, 0.5, n), rng.uniform(0.9, 1.1, n)) / 365
    x = _simulate_ou_loop(mu, kappa, sigma, dt, rng)
    mu_hat, kappa_hat, sigma_hat, _ = fit_ou_exact(x, dt)
    years = dt.sum()
    assert abs(kappa_hat - kappa) < 4 * math.sqrt(2 * kappa / years)  # asymptotic se
    assert abs(mu_hat - mu) < 4 * sigma / (kappa * math.sqrt(years))
    assert abs(sigma_hat / sigma - 1) < 4 / math.sqrt(2 * n)


def _direct_loglik(x: np.ndarray, dt: np.ndarray, mu: float, kappa: float,
                   sigma: float) -> float:
    a = np.exp(-kappa * dt)
    sd = sigma * np.sqrt((1 - a * a) / (2 * kappa))
    return float(norm.logpdf(x[1:], loc=mu + (x[:-1] - mu) * a, scale=sd).sum())


def test_fit_is_the_maximum_of_the_full_likelihood() -> None:
    rng = np.random.default_rng(5)
    dt = rng.uniform(0.5, 1.5, 800) / 365
    x = _simulate_ou_loop(0.01, 30.0, 0.1, dt, rng)
    mu, kappa, sigma, loglik = fit_ou_exact(x, dt)
    assert _direct_loglik(x, dt, mu, kappa, sigma) == pytest.approx(loglik, rel=1e-10)
    for step in (1e-3, -1e-3):  # every single-parameter move lowers the likelihood
        assert _direct_loglik(x, dt, mu + step * 0.01, kappa, sigma) < loglik
        assert _direct_loglik(x, dt, mu, kappa * (1 + step), sigma) < loglik
        assert _direct_loglik(x, dt, mu, kappa, sigma * (1 + step)) < loglik


# --- the real file and the shipped figures -----------------------------------------------


def test_real_rounds_read_and_known_extremes(raw_rounds: Path) -> None:
    frame = read_steth_eth_rounds(raw_rounds)
    assert len(frame) == 745  # SOURCES.md: 745 rounds, none invalid
    assert frame.attrs["dropped"].startswith("0 rows")
    assert frame.index[0] == pd.Timestamp(1643487908, unit="s", tz="UTC")  # 2022-01-29
    assert frame.index[-1] == pd.Timestamp(1706484887, unit="s", tz="UTC")  # 2024-01-28
    # the lowest answer in the file, 935019330000000000 at update 1655543378 (2022-06-18)
    worst = frame["discount"].idxmax()
    assert worst == pd.Timestamp(1655543378, unit="s", tz="UTC")
    assert frame["price_eth"].min() == 935019330000000000 / 10**18
    assert frame["discount"].max() == 1.0 - 935019330000000000 / 10**18


def test_fit_on_real_file_reproduces_the_shipped_json(raw_rounds: Path) -> None:
    payload = shipped_depeg_payload()
    shipped = shipped_depeg_params()
    fitted = fit_depeg(read_steth_eth_rounds(raw_rounds), shipped.cutoff or date.min)
    for name in ("mu", "kappa_per_year", "sigma_per_sqrt_year"):
        assert getattr(fitted, name).value == pytest.approx(getattr(shipped, name).value,
                                                            rel=1e-9)
        assert getattr(fitted, name).source == getattr(shipped, name).source
        assert getattr(shipped, name).estimate is True
    # one round per UTC day: 730 days with a round in 2022-01-29..2024-01-28
    assert fitted.window == shipped.window and fitted.n_rounds == shipped.n_rounds == 730
    every = fit_depeg(read_steth_eth_rounds(raw_rounds), shipped.cutoff or date.min,
                      sampling="all")
    assert every.n_rounds == 745
    assert every.kappa_per_year.value == pytest.approx(
        payload["checks"]["every_round"]["kappa_per_year"], rel=1e-9)
    # the June 2022 depeg (largest discount, 2022-06-18) lies inside the fit window
    assert shipped.window is not None
    largest_at = date.fromisoformat(payload["largest_discount"]["time_utc"][:10])
    assert largest_at == date(2022, 6, 18)
    assert shipped.window[0] <= largest_at <= shipped.window[1]
    assert payload["largest_discount"]["value"] == pytest.approx(1 - 0.93501933, rel=1e-12)
    assert payload["source_sha256_16"] == "1dd53de5f9482e49"  # SOURCES.md


def test_cutoff_excludes_rounds_on_and_after_it(raw_rounds: Path) -> None:
    frame = read_steth_eth_rounds(raw_rounds)
    fitted = fit_depeg(frame, "2024-01-01", sampling="all")
    before = frame[frame.index < pd.Timestamp("2024-01-01", tz="UTC")]
    assert fitted.n_rounds == len(before) == 717 and fitted.window == (date(2022, 1, 29),
                                                                date(2023, 12, 31))
    assert fitted.mu.value != shipped_depeg_params().mu.value
    # a round at 00:00:00 of the cut-off day would be left out: shift one onto it
    shifted = before.copy()
    shifted.index = shifted.index[:-1].append(pd.DatetimeIndex([pd.Timestamp("2024-01-01",
                                                                              tz="UTC")]))
    assert fit_depeg(shifted, "2024-01-01", sampling="all").n_rounds == 716


def test_daily_sampling_fits_the_last_round_of_each_day() -> None:
    rng = np.random.default_rng(9)
    seconds = np.cumsum(rng.uniform(3_600, 40_000, 400)).astype(np.int64) + 1_700_000_000
    times = pd.to_datetime(seconds, unit="s", utc=True)
    discount = 0.01 + 0.005 * np.cumsum(rng.standard_normal(400)) / 20
    frame = pd.DataFrame({"discount": discount}, index=times)
    last_of_day: dict[date, int] = {}
    for i, t in enumerate(times):  # a plain loop: the later round of a day wins
        last_of_day[t.date()] = i
    rows = sorted(last_of_day.values())
    expected = fit_ou_exact(discount[rows], np.diff(seconds[rows]) / (365 * 86_400))
    got = fit_depeg(frame, "2100-01-01")
    assert got.n_rounds == len(rows) < 400
    assert got.kappa_per_year.value == pytest.approx(expected[1], rel=1e-12)
    assert got.mu.value == pytest.approx(expected[0], rel=1e-12)
    with pytest.raises(InvalidArgument, match="sampling='hourly'"):
        fit_depeg(frame, "2100-01-01", sampling="hourly")


def test_read_drops_invalid_rows_and_says_which(tmp_path: Path) -> None:
    path = tmp_path / "rounds.csv"
    path.write_text(
        ",round,answer,start,update,answeredInRound\n"
        "0,5,990000000000000000,300,300,5\n"
        "1,4,0,0,0,0\n"  # all-zero row
        "2,3,980000000000000000,200,200,2\n"  # stale: answered in an earlier round
        "3,2,970000000000000000,100,100,2\n"
        "4,1,960000000000000000,100,100,1\n"  # repeats update time 100
        "5,0,abc,50,50,0\n",  # unreadable answer
        encoding="utf-8")
    frame = read_steth_eth_rounds(path)
    assert list(frame["price_eth"]) == [0.97, 0.99]
    assert list(frame["discount"]) == pytest.approx([0.03, 0.01], rel=1e-12)
    assert frame.attrs["dropped"] == ("2 rows with a non-positive or unreadable answer or update "
                                      "time, 1 stale rows (answeredInRound < round), 1 rows "
                                      "repeating an update time")


BAD_PATHS = [
    pytest.param({"n_paths": 0}, "n_paths=0", id="no-paths"),
    pytest.param({"step_days": 0.0}, "step_days", id="zero-step"),
    pytest.param({"r0": -1.0}, "r0", id="negative-rate"),
    pytest.param({"slash_size": 1.0}, "slash_size=1.0 must be in", id="slash-all"),
    pytest.param({"slash_intensity_per_year": -0.1}, "slash_intensity", id="neg-intensity"),
    pytest.param({"seed": -3}, "seed=-3", id="negative-seed"),
    pytest.param({"d0": math.nan}, "d0", id="nan-d0"),
]


@pytest.mark.parametrize(("override", "match"), BAD_PATHS)
def test_bad_arguments_get_one_line_errors(override: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        _paths(**override)


def test_bad_params_and_fit_inputs() -> None:
    with pytest.raises(InvalidArgument, match="kappa_per_year"):
        DepegParams.given(0.0, 0.0, 0.1)
    with pytest.raises(InvalidArgument, match="at least 30"):
        fit_ou_exact(np.zeros(5), np.ones(4))
    with pytest.raises(InvalidArgument, match="dt_years"):
        fit_ou_exact(np.zeros(40), -np.ones(39))


def test_calibrate_depeg_reproduces_the_shipped_fit(raw_rounds: Path) -> None:
    """``delever calibrate --depeg FILE`` (the issue's "reproduced from the data by
    calibrate"): the shipped parameters from the raw Chainlink rounds, through the CLI."""
    shipped = shipped_depeg_params()
    assert shipped.cutoff is not None
    result = CliRunner().invoke(app, ["calibrate", "--depeg", str(raw_rounds), "--cutoff",
                                      shipped.cutoff.isoformat(), "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    for name in ("mu", "kappa_per_year", "sigma_per_sqrt_year"):
        assert out[name]["value"] == pytest.approx(getattr(shipped, name).value, rel=1e-9)
    assert out["n_rounds"] == 730


def test_calibrate_depeg_on_a_small_file_and_its_refusals(tmp_path: Path) -> None:
    """A file in the feed's format whose discount is an exact AR(1) path: the CLI's fit is
    the library's, and the option's conflicts are one line each."""
    rng = np.random.default_rng(3)
    d, rows = 0.01, []
    for k in range(400):
        d = 0.005 + (d - 0.005) * math.exp(-8.0 / 365) + 0.002 * rng.standard_normal()
        t = 1_650_000_000 + 86_400 * k
        rows.append(f"{k},{1000 + k},{round((1 - d) * 1e18)},{t},{t},{1000 + k}")
    path = tmp_path / "rounds.csv"
    path.write_text(",round,answer,start,update,answeredInRound\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(app, ["calibrate", "--depeg", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    fitted = fit_depeg(read_steth_eth_rounds(path), "2026-01-01")
    assert json.loads(result.stdout)["kappa_per_year"]["value"] == pytest.approx(
        fitted.kappa_per_year.value, rel=1e-12)
    for extra, message in ((["--archive", str(path)], "without --exchange or --archive"),
                           (["--output", str(tmp_path / "m.toml")], "with --depeg use --json")):
        bad = CliRunner().invoke(app, ["calibrate", "--depeg", str(path), *extra])
        assert bad.exit_code == 2 and message in bad.stderr
