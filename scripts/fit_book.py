#!/usr/bin/env python
"""Fit the synthetic borrower book to a Lido Aave v3 cohort; write the JSON.

One-off and reproducible: reads one cohort file from the shared raw data
(lidofinance/aave-liquidation-model @ a44561e9, GPL-3.0; used for fitting only):

- ``--cohort stables`` (default): ``b21_debt_stables_v3.csv``, every row (ETH-correlated
  collateral, stablecoin debt) -> ``fitted_book_params.json``;
- ``--cohort loops``: ``b1_v3.csv`` (Lido's bin b1, mostly ETH debt), the rows that are
  wstETH/WETH loops in e-mode (:data:`LOOP_RULE`) -> ``fitted_loop_book_params.json``;

and fits

- size: log(collateral_usd) ~ Normal (maximum likelihood: mean and population std);
- health factor: log(HF − 1) ~ loc + scale · Student t(df) (maximum likelihood,
  ``scipy.stats.t.fit``);
- dependence: Gaussian copula, rho = 2 sin(π ρ_S / 6) from the Spearman correlation ρ_S
  of log size and HF (the rank-preserving mapping for a Gaussian copula);

prints the fit, Kolmogorov–Smirnov distances (nominal p-values, and parametric-bootstrap
p-values that allow for the parameters being estimated), lower-tail checks and a
sensitivity check on neighbouring cohorts, and writes the cohort's JSON under
``src/delever/data/book/`` (summary statistics only, with provenance).

Usage::

    .venv/bin/python scripts/fit_book.py                  # fit, print, write the JSON
    .venv/bin/python scripts/fit_book.py --check          # refit and compare with the shipped JSON
    .venv/bin/python scripts/fit_book.py --cohort loops   # the e-mode loop cohort

It uses numpy, pandas and scipy only (not delever), so it runs before the JSON exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RAW = REPO.parent / "shared" / "data" / "raw"
BOOK_DATA = REPO / "src" / "delever" / "data" / "book"
DEFAULT_OUT = BOOK_DATA / "fitted_book_params.json"
LOOP_OUT = BOOK_DATA / "fitted_loop_book_params.json"
LIDO_DIR = "lidofinance_aave-liquidation-model"
COHORT_FILE = "b21_debt_stables_v3.csv"
COHORT_SHA256_16 = "e9ef86b2287c573c"  # shared/data/raw/SOURCES.md
LOOP_FILE = "b1_v3.csv"
LOOP_SHA256_16 = "2cebb2aa0e14a53f"  # shared/data/raw/SOURCES.md
SOURCE_COMMIT = "a44561e9c62438e3987437218a40f82d9898b8a1"
BOOTSTRAP_SEED = 20230621  # the snapshot's commit date
HF_CUTS = (1.05, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0, 5.0, 10.0)
LOOP_HF_CUTS = (1.02, 1.05, 1.08, 1.1, 1.15, 1.2, 1.3, 1.5, 2.0)
FITTED_KEYS = {
    "size": ("log_collateral_usd_mean", "log_collateral_usd_std"),
    "health_factor": ("log_hf_minus_1_loc", "log_hf_minus_1_scale", "log_hf_minus_1_df"),
    "dependence": ("size_hf_gaussian_rho",),
}
# A wstETH/WETH loop (the rows of b1_v3 kept for the loop fit): in the ETH-correlated e-mode,
# at least 80% of the debt in ETH (ethdebt x the snapshot's oracle ETH price / debt; both in
# USD), at least 80% of the collateral in wstETH (collateral_steth_calc / collateral) and a
# finite health factor above 1 (an account with debt that is not yet liquidatable).
LOOP_MIN_SHARE = 0.8
LOOP_RULE = (
    "emode == 1, ethdebt * eth_price / debt >= 0.8 (ETH debt), collateral_steth_calc / "
    "collateral >= 0.8 (wstETH collateral), healthf finite and > 1"
)


def select_loops(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of Lido's bin b1 that are wstETH/WETH loops in e-mode (:data:`LOOP_RULE`)."""
    eth_debt_share = frame["ethdebt"] * frame["eth_price"] / frame["debt"]
    wsteth_share = frame["collateral_steth_calc"] / frame["collateral"]
    hf = frame["healthf"]
    keep = ((frame["emode"] == 1) & (eth_debt_share >= LOOP_MIN_SHARE)
            & (wsteth_share >= LOOP_MIN_SHARE) & np.isfinite(hf) & (hf > 1.0))
    return frame[keep]


def read_cohort(path: Path,
                select: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    """The cohort rows (``select``ed where given), with the HF recomputed from collateral,
    debt and threshold as a check."""
    frame = pd.read_csv(path, index_col=0)
    if select is not None:
        frame = select(frame)
    recomputed = frame["collateral"] * frame["threshold"] / 1e4 / frame["debt"]
    worst = float(np.max(np.abs(recomputed / frame["healthf"] - 1.0)))
    if worst > 1e-8:
        raise SystemExit(f"{path}: healthf differs from collateral·LT/debt by {worst:.2e}")
    if (frame["healthf"] <= 1.0).any():
        raise SystemExit(f"{path}: an account has HF <= 1; log(HF - 1) is undefined")
    return frame


def fit(frame: pd.DataFrame) -> dict[str, float]:
    """Maximum-likelihood fits of the size and HF margins and the copula correlation."""
    log_size = np.log(frame["collateral"].to_numpy(dtype=np.float64))
    log_excess = np.log(frame["healthf"].to_numpy(dtype=np.float64) - 1.0)
    df, loc, scale = stats.t.fit(log_excess)
    spearman = float(stats.spearmanr(log_size, log_excess).statistic)
    return {
        "log_collateral_usd_mean": float(np.mean(log_size)),
        "log_collateral_usd_std": float(np.std(log_size)),
        "log_hf_minus_1_loc": float(loc),
        "log_hf_minus_1_scale": float(scale),
        "log_hf_minus_1_df": float(df),
        "spearman_rho_observed": spearman,
        "size_hf_gaussian_rho": 2.0 * math.sin(math.pi * spearman / 6.0),
    }


def ks_size(log_size: np.ndarray, mean: float, std: float) -> Any:
    return stats.kstest(log_size, "norm", args=(mean, std))


def ks_hf(log_excess: np.ndarray, df: float, loc: float, scale: float) -> Any:
    return stats.kstest(log_excess, "t", args=(df, loc, scale))


def bootstrap_pvalues(
    params: dict[str, float], n: int, d_size: float, d_hf: float, n_boot: int
) -> tuple[float, float]:
    """Parametric bootstrap (refit on each sample): P(D >= observed) under the fitted model."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    exceed_size = exceed_hf = 0
    for _ in range(n_boot):
        x = rng.normal(params["log_collateral_usd_mean"], params["log_collateral_usd_std"], n)
        y = params["log_hf_minus_1_loc"] + params["log_hf_minus_1_scale"] * rng.standard_t(
            params["log_hf_minus_1_df"], n
        )
        exceed_size += ks_size(x, float(np.mean(x)), float(np.std(x))).statistic >= d_size
        df, loc, scale = stats.t.fit(y)
        exceed_hf += ks_hf(y, df, loc, scale).statistic >= d_hf
    return (1 + exceed_size) / (n_boot + 1), (1 + exceed_hf) / (n_boot + 1)


def hf_cdf(h: float, p: dict[str, float]) -> float:
    z = (math.log(h - 1.0) - p["log_hf_minus_1_loc"]) / p["log_hf_minus_1_scale"]
    return float(stats.t.cdf(z, p["log_hf_minus_1_df"]))



class Cohort(NamedTuple):
    """One fitted cohort: its file, the rows kept, the JSON written and its wording.

    (A NamedTuple, not a dataclass: the tests load this script by path, without a
    ``sys.modules`` entry, which dataclasses need.)"""

    file: str
    sha256_16: str
    out: Path
    hf_cuts: tuple[float, ...]
    select: Callable[[pd.DataFrame], pd.DataFrame] | None
    description: str
    rows: Callable[[int], str]
    neighbours: Callable[[Path, pd.DataFrame], dict[str, pd.DataFrame]]


def _stables_neighbours(lido: Path, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "b21, >= 80% of collateral in wstETH/rETH/cbETH": frame[frame["diff_collateral"] <= 0.2],
        "b2_v3 (>= 80% of debt not ETH)": pd.read_csv(lido / "b2_v3.csv", index_col=0),
        "steth_aave_v3 (every (w)stETH borrower)": pd.read_csv(
            lido / "steth_aave_v3.csv", index_col=0
        ),
    }


def _loop_neighbours(lido: Path, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    every = pd.read_csv(lido / "steth_aave_v3.csv", index_col=0)
    return {
        "b1_v3, every row": pd.read_csv(lido / LOOP_FILE, index_col=0),
        "steth_aave_v3 in e-mode with debt": every[(every["emode"] == 1) & (every["debt"] > 0)],
        "steth_aave_v3, the loop rule": select_loops(every[every["debt"] > 0]),
    }


COHORTS = {
    "stables": Cohort(
        COHORT_FILE, COHORT_SHA256_16, DEFAULT_OUT, HF_CUTS, None,
        "Fitted size and health-factor distributions of Aave v3 borrowers with "
        "ETH-correlated collateral and stablecoin debt, for delever.book.synthetic_book. "
        "Summary statistics only; no row of the source file is included.",
        lambda n: (
            f"all {n} rows of Lido's bin b21: accounts holding aWstETH with collateral > 0, "
            "debt > 0, >= 80% of debt not ETH and >= 80% of debt in USDC/USDT/DAI/LUSD"
        ),
        _stables_neighbours,
    ),
    "loops": Cohort(
        LOOP_FILE, LOOP_SHA256_16, LOOP_OUT, LOOP_HF_CUTS, select_loops,
        "Fitted size and health-factor distributions of Aave v3 wstETH/WETH loops in the "
        "ETH-correlated e-mode (wstETH collateral, WETH debt), for delever.book.synthetic_book "
        "with params=LOOP_FITTED_PARAMS. Sizes were in USD at the snapshot (ETH $1,719.90); "
        "the health factors were at the e-mode LT of the day (0.93 for most rows). "
        "Summary statistics only; no row of the source file is included.",
        lambda n: (
            f"{n} rows of Lido's bin b1 (accounts holding aWstETH, mostly ETH debt) kept by "
            f"the rule: {LOOP_RULE}"
        ),
        _loop_neighbours,
    ),
}


def _report_fit(path: Path, frame: pd.DataFrame, params: dict[str, float], sha16: str) -> None:
    log_size = np.log(frame["collateral"].to_numpy(dtype=np.float64))
    log_excess = np.log(frame["healthf"].to_numpy(dtype=np.float64) - 1.0)
    print(f"cohort: {path} ({len(frame)} accounts, SHA-256[:16] {sha16})")
    print("fit:")
    for key, value in params.items():
        print(f"  {key:26s} {value: .6f}")
    print(
        f"  -> median collateral ${math.exp(params['log_collateral_usd_mean']):,.0f}; "
        f"median HF {1 + math.exp(params['log_hf_minus_1_loc']):.4f}"
    )
    print(
        f"  size-HF dependence: Spearman {params['spearman_rho_observed']:.4f} "
        f"(p = {stats.spearmanr(log_size, log_excess).pvalue:.2f})"
    )


def _goodness(frame: pd.DataFrame, params: dict[str, float], cohort: Cohort,
              n_boot: int | None) -> dict[str, Any]:
    """KS distances and p-values (bootstrap skipped for None) and the lower-tail table."""
    log_size = np.log(frame["collateral"].to_numpy(dtype=np.float64))
    log_excess = np.log(frame["healthf"].to_numpy(dtype=np.float64) - 1.0)
    ks_s = ks_size(log_size, params["log_collateral_usd_mean"], params["log_collateral_usd_std"])
    ks_h = ks_hf(log_excess, params["log_hf_minus_1_df"], params["log_hf_minus_1_loc"],
                 params["log_hf_minus_1_scale"])
    if n_boot is None:
        p_size = p_hf = float("nan")
    else:
        p_size, p_hf = bootstrap_pvalues(params, len(frame), ks_s.statistic, ks_h.statistic,
                                         n_boot)
    print("goodness of fit (Kolmogorov–Smirnov):")
    print(
        f"  size: D = {ks_s.statistic:.4f}, nominal p = {ks_s.pvalue:.3f}, "
        f"bootstrap p = {p_size:.3f}"
    )
    print(
        f"  HF:   D = {ks_h.statistic:.4f}, nominal p = {ks_h.pvalue:.3f}, bootstrap p = {p_hf:.3f}"
    )
    healthf = frame["healthf"].to_numpy(dtype=np.float64)
    debt = frame["debt"].to_numpy(dtype=np.float64)
    tails: dict[str, dict[str, float]] = {}
    print("  P(HF < h)      model   cohort  cohort (debt-weighted)")
    for cut in cohort.hf_cuts:
        model = hf_cdf(cut, params)
        share = float(np.mean(healthf < cut))
        weighted = float(debt[healthf < cut].sum() / debt.sum())
        tails[f"{cut:g}"] = {"model": round(model, 4), "cohort": round(share, 4)}
        print(f"  h = {cut:5.2f}   {model:7.4f}  {share:7.4f}  {weighted:7.4f}")
    return {
        "n_accounts": len(frame),
        "size_ks_distance": float(ks_s.statistic),
        "size_ks_pvalue_nominal": float(ks_s.pvalue),
        "size_ks_pvalue_bootstrap": p_size,
        "hf_ks_distance": float(ks_h.statistic),
        "hf_ks_pvalue_nominal": float(ks_h.pvalue),
        "hf_ks_pvalue_bootstrap": p_hf,
        "bootstrap_samples": n_boot,
        "bootstrap_seed": BOOTSTRAP_SEED,
        "hf_below": tails,
    }


def _sensitivity(lido: Path, frame: pd.DataFrame, params: dict[str, float],
                 cohort: Cohort) -> None:
    print("sensitivity (the shipped model against neighbouring cohorts, KS distance on HF):")
    for name, sub in cohort.neighbours(lido, frame).items():
        sub = sub[(sub["healthf"] > 1.0) & np.isfinite(sub["healthf"])]
        d = ks_hf(
            np.log(sub["healthf"].to_numpy(dtype=np.float64) - 1.0),
            params["log_hf_minus_1_df"],
            params["log_hf_minus_1_loc"],
            params["log_hf_minus_1_scale"],
        ).statistic
        refit = fit(sub)
        print(
            f"  {name}: n = {len(sub)}, D = {d:.4f}; refit loc {refit['log_hf_minus_1_loc']:.3f} "
            f"scale {refit['log_hf_minus_1_scale']:.3f} df {refit['log_hf_minus_1_df']:.2f}, "
            f"size std {refit['log_collateral_usd_std']:.3f}, "
            f"Spearman {refit['spearman_rho_observed']:.3f}"
        )


def _check(out: Path, params: dict[str, float]) -> int:
    shipped = json.loads(out.read_text("utf-8"))
    bad = []
    for section, keys in FITTED_KEYS.items():
        for key in keys:
            old = float(shipped[section][key])
            if not math.isclose(old, params[key], rel_tol=1e-6, abs_tol=1e-9):
                bad.append(f"{section}.{key}: shipped {old!r}, refit {params[key]!r}")
    print("check: " + ("OK, the shipped JSON matches the refit" if not bad else "; ".join(bad)))
    return 1 if bad else 0


def _payload(cohort: Cohort, n: int, sha16: str, params: dict[str, float], date: str,
             goodness: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": cohort.description,
        "provenance": {
            "source_repo": "lidofinance/aave-liquidation-model",
            "source_commit": SOURCE_COMMIT,
            "source_file": f"data/{cohort.file}",
            "source_sha256_16": sha16,
            "source_license": "GPL-3.0; used for fitting only, no data shipped",
            "snapshot": "Aave v3 Ethereum, oracle ETH $1,719.90, mid-June 2023 "
            "(source commit dated 2023-06-21)",
            "rows": cohort.rows(n),
            "columns": "collateral (USD), healthf (on-chain health factor)",
            "fit_method": (
                "maximum likelihood: log(collateral_usd) ~ Normal; log(healthf - 1) ~ "
                "Student t (scipy.stats.t.fit); Gaussian copula rho = 2 sin(pi rho_S / 6) "
                "from Spearman rho_S"
            ),
            "fitted_on": date,
            "script": "scripts/fit_book.py"
            + ("" if cohort.out == DEFAULT_OUT else " --cohort loops"),
        },
        "size": {
            "model": "log(collateral_usd) ~ Normal(mean, std)",
            "log_collateral_usd_mean": params["log_collateral_usd_mean"],
            "log_collateral_usd_std": params["log_collateral_usd_std"],
        },
        "health_factor": {
            "model": "log(HF - 1) ~ loc + scale * StudentT(df)",
            "log_hf_minus_1_loc": params["log_hf_minus_1_loc"],
            "log_hf_minus_1_scale": params["log_hf_minus_1_scale"],
            "log_hf_minus_1_df": params["log_hf_minus_1_df"],
        },
        "dependence": {
            "model": "Gaussian copula between log size and log(HF - 1)",
            "spearman_rho_observed": params["spearman_rho_observed"],
            "size_hf_gaussian_rho": params["size_hf_gaussian_rho"],
        },
        "goodness_of_fit": goodness,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", choices=sorted(COHORTS), default="stables",
                        help="stables (b21, default) or loops (b1, e-mode wstETH/WETH)")
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="shared raw data folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON to write (default: the cohort's file under data/book)")
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap samples")
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="fitted_on date")
    args = parser.parse_args(argv)
    cohort = COHORTS[args.cohort]
    out: Path = cohort.out if args.out is None else args.out

    path = args.raw / LIDO_DIR / cohort.file
    if not path.is_file():
        print(f"cohort file not found: {path}", file=sys.stderr)
        return 2
    sha16 = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if sha16 != cohort.sha256_16:
        print(f"{path}: SHA-256 {sha16} != {cohort.sha256_16} (SOURCES.md)", file=sys.stderr)
        return 2
    frame = read_cohort(path, cohort.select)
    params = fit(frame)
    _report_fit(path, frame, params, sha16)
    goodness = _goodness(frame, params, cohort, None if args.check else args.bootstrap)
    _sensitivity(args.raw / LIDO_DIR, frame, params, cohort)
    if args.check:
        return _check(out, params)
    payload = _payload(cohort, len(frame), sha16, params, args.date, goodness)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
