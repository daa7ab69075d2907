"""Reproduce ``src/delever/data/chainlink/steth_eth_depeg.json`` from the recorded rounds.

Reads the Chainlink stETH/ETH rounds copied in ``/work/shared/data/raw/
sajanrajdev_ape-chainlink-fetcher/`` (see SOURCES.md there: no licence file, on-chain facts;
only these derived numbers are shipped) and runs :func:`delever.market.rate_paths.fit_depeg`
with the cut-off 2024-01-29, the day after the last round, on the last round of each UTC day;
the fits on every round, on one round per 7 days and with the cut-off 2024-01-01 are written
beside it as checks.

Usage: ``python scripts/calibrate_depeg.py [RAW_CSV] [--check]`` (``--check`` compares with
the shipped JSON and exits 1 on a difference instead of writing).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from delever.market.rate_paths import DepegParams, fit_depeg, read_steth_eth_rounds

ROOT = Path(__file__).resolve().parents[1]
RAW_NAME = "chainlink_steth_eth_0x86392dC19c0b719886221c78AB11eb8Cf5c52812.csv"
# ../shared/data/raw beside the checkout; a worktree may sit one level deeper (wt/NAME)
RAW = next((base / "shared" / "data" / "raw" / "sajanrajdev_ape-chainlink-fetcher" / RAW_NAME
            for base in (ROOT.parent, ROOT.parent.parent)
            if (base / "shared" / "data" / "raw").is_dir()),
           ROOT.parent / "shared" / "data" / "raw" / "sajanrajdev_ape-chainlink-fetcher" / RAW_NAME)
OUT = ROOT / "src" / "delever" / "data" / "chainlink" / "steth_eth_depeg.json"
SHA256_16 = "1dd53de5f9482e49"  # /work/shared/data/raw/SOURCES.md
CUTOFF = "2024-01-29"
PROVENANCE = (
    "Chainlink stETH/ETH feed rounds (proxy 0x86392dC19c0b719886221c78AB11eb8Cf5c52812, "
    "Ethereum), 745 rounds 2022-01-29..2024-01-28, as fetched by sajanrajdev/"
    "ape-chainlink-fetcher @ d89749369381d9b152881289b7da06367efee250 "
    "(data/0x86392dC19c0b719886221c78AB11eb8Cf5c52812.csv, copied as " + RAW_NAME + ", "
    "SHA-256[:16] " + SHA256_16 + "; no licence file; on-chain facts, attributed to "
    "Chainlink). Only derived numbers are shipped."
)


def payload(raw: Path) -> dict[str, Any]:
    """The JSON object: the fitted parameters, the largest discount and their provenance."""
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()[:16]
    if digest != SHA256_16:
        raise SystemExit(f"{raw}: SHA-256[:16] {digest}, expected {SHA256_16} (SOURCES.md)")
    frame = read_steth_eth_rounds(raw)
    params = fit_depeg(frame, CUTOFF, sampling="daily")
    weekly = frame.resample("7D").last().dropna()
    weekly.attrs.update(frame.attrs)
    checks = {
        "every_round": _brief(fit_depeg(frame, CUTOFF, sampling="all")),
        "one_round_per_7_days": _brief(fit_depeg(weekly, CUTOFF, sampling="all")),
        "daily_cutoff_2024_01_01": _brief(fit_depeg(frame, "2024-01-01", sampling="daily")),
    }
    discount = frame["discount"].to_numpy()
    worst = int(discount.argmax())
    return {
        "_about": "OU fit of the stETH/ETH discount d = 1 - answer/1e18, written by "
                  "scripts/calibrate_depeg.py; read by delever.market.rate_paths."
                  "shipped_depeg_params()",
        "data_provenance": PROVENANCE,
        "source_file": RAW_NAME,
        "source_sha256_16": digest,
        "dropped_rows": frame.attrs["dropped"],
        "cutoff_why": "the day after the last round (2024-01-28), so that every day of data "
                      "is used; 2024-01-01 drops 28 calm days (see checks)",
        "sampling": "the last round of each UTC day",
        "sampling_why": "the feed adds rounds when the price moves past its deviation "
                        "threshold, so intraday rounds come exactly when the discount swings; "
                        "fitted on every round they read as a half-life of days, while the "
                        "daily and 7-day samples agree on about 40 days (see checks)",
        "checks": checks,
        "model": "dd = kappa (mu - d) dt + sigma dW, t in years of 365 days; exact Gaussian "
                 "transition per irregular interval; mu and sigma profiled in closed form, "
                 "kappa by scipy.optimize.minimize_scalar (bounded)",
        "largest_discount": {"value": float(discount[worst]),
                             "time_utc": frame.index[worst].isoformat()},
        "params": params.to_dict(),
        "script": "scripts/calibrate_depeg.py",
    }


def _brief(params: DepegParams) -> dict[str, Any]:
    """The three parameters, the half-life and the rounds of a comparison fit."""
    return {"mu": params.mu.value, "kappa_per_year": params.kappa_per_year.value,
            "sigma_per_sqrt_year": params.sigma_per_sqrt_year.value,
            "half_life_days": params.half_life_days, "n_rounds": params.n_rounds}


def dumps(data: dict[str, Any]) -> str:
    """Stable JSON text."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--check"]
    raw = Path(args[0]) if args else RAW
    text = dumps(payload(raw))
    if "--check" in argv:
        same = OUT.read_text(encoding="utf-8") == text
        print("matches" if same else "differs")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
