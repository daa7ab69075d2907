"""Write the shipped excerpt of th3nolo/aave-v3-data's daily reserve snapshots.

Reads ``/work/shared/data/raw/th3nolo_aave-v3-data/aave_v3_ethereum_reserves_daily.csv`` (MIT,
Copyright (c) 2025 th3nolo; see SOURCES.md there) and writes
``src/delever/data/aave/th3nolo_aave_v3_reserves_daily_excerpt.csv.gz``: the WETH, USDC, USDT,
wstETH and weETH rows and the columns below, values unchanged. The four columns that are
mis-decoded upstream (liquidation_protocol_fee, supply_cap, borrow_cap, emode_category) are
dropped. The gzip header carries no timestamp, so reruns give the same bytes.

Usage: ``python scripts/excerpt_reserves.py [RAW_CSV]``
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / ".." / "shared" / "data" / "raw" / "th3nolo_aave-v3-data" / (
    "aave_v3_ethereum_reserves_daily.csv")
OUT = ROOT / "src" / "delever" / "data" / "aave" / "th3nolo_aave_v3_reserves_daily_excerpt.csv.gz"
SYMBOLS = ("WETH", "USDC", "USDT", "wstETH", "weETH")
COLUMNS = (
    "snapshot_utc", "symbol", "loan_to_value", "liquidation_threshold", "liquidation_bonus",
    "reserve_factor", "current_variable_borrow_rate", "current_liquidity_rate",
    "liquidity_index", "variable_borrow_index",
)


def excerpt(raw: Path) -> bytes:
    """The gzip bytes of the excerpt of ``raw``."""
    frame = pd.read_csv(raw, dtype=str, keep_default_na=False)
    rows = frame[frame["symbol"].isin(SYMBOLS)].loc[:, list(COLUMNS)]
    rows = rows.sort_values(["snapshot_utc", "symbol"], kind="stable")
    text = rows.to_csv(index=False, lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str]) -> None:
    raw = Path(argv[1]) if len(argv) > 1 else RAW
    data = excerpt(raw)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data)} bytes)")


if __name__ == "__main__":
    main(sys.argv)
