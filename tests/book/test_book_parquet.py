"""Parquet book files: round trip, metadata, and one-line errors for bad files.

Files are written here with write_book_parquet (or pyarrow directly for the bad ones); the
expected values are the rows written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from delever.book.loaders import (
    read_book_csv,
    read_book_parquet,
    read_book_parquet_metadata,
    write_book_parquet,
)
from delever.errors import InvalidArgument


def _row(account: str, collateral_eth: float, debt_usd: float, lt: float, bonus: float,
         emode: bool = False) -> dict[str, Any]:
    return {"account": account, "collateral_eth": collateral_eth, "debt_usd": debt_usd,
            "liquidation_threshold": lt, "liquidation_bonus": bonus, "emode": emode,
            "asset": "WETH", "health_factor": 1.5, "eth_collateral_usd": 1.0,
            "eth_debt_usd": 0.0, "other_collateral_usd": 0.0, "total_debt_usd": debt_usd,
            "emode_category": 1 if emode else 0}


ROWS = [_row("0xA", 10.0, 8_300.0, 0.83, 0.05), _row("0xB", 4.0, 4_000.0, 0.95, 0.01, True)]
META = {"market": "ethereum-core", "chain_id": 1, "block": 123, "eth_price_usd": 2000.0,
        "block_time": "2026-02-02T02:40:00+00:00", "source": "test"}


def test_round_trip_values_and_metadata(tmp_path: Path) -> None:
    path = write_book_parquet(tmp_path / "b.parquet", ROWS, META)
    book = read_book_parquet(path)
    assert book.account_id.tolist() == ["0xA", "0xB"]
    np.testing.assert_array_equal(book.collateral_eth, [10.0, 4.0])
    np.testing.assert_array_equal(book.debt_usd, [8_300.0, 4_000.0])
    np.testing.assert_array_equal(book.liquidation_threshold, [0.83, 0.95])
    np.testing.assert_array_equal(book.liquidation_bonus, [0.05, 0.01])
    np.testing.assert_array_equal(book.emode, [False, True])
    assert book.reference_price_usd == 2000.0  # from the metadata
    np.testing.assert_allclose(book.health_factor(), [2.0, 1.9], rtol=1e-15)
    assert read_book_parquet_metadata(path) == META
    assert read_book_parquet(path, reference_price_usd=1000.0).reference_price_usd == 1000.0


def test_same_book_as_the_csv_reader(tmp_path: Path) -> None:
    csv = tmp_path / "b.csv"
    csv.write_text("account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus,"
                   "emode\n0xA,10,8300,0.83,0.05,false\n0xB,4,4000,0.95,0.01,true\n")
    a = read_book_csv(csv, reference_price_usd=2000.0).to_frame()
    b = read_book_parquet(write_book_parquet(tmp_path / "b.parquet", ROWS, META)).to_frame()
    assert a.equals(b)


def test_the_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_book_parquet(tmp_path / "b.parquet", ROWS, META)
    before = path.read_bytes()
    bad = [dict(ROWS[0], collateral_eth="x")]  # pyarrow refuses: nothing is written
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        write_book_parquet(path, bad, META)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.parquet"]


def _write_table(path: Path, columns: dict[str, Any], metadata: bytes | None = None) -> Path:
    table = pa.table(columns)
    if metadata is not None:
        table = table.replace_schema_metadata({b"delever.book": metadata})
    pq.write_table(table, path)
    return path


GOOD = {"account": ["a", "b"], "collateral_eth": [1.0, 2.0], "debt_usd": [100.0, 200.0],
        "liquidation_threshold": [0.8, 0.8], "liquidation_bonus": [0.05, 0.05]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"debt_usd": None}, r"column debt_usd is missing"),
        ({"colateral_eth": [1.0, 1.0]}, r"column='colateral_eth'.*collateral_eth"),
        ({"debt_usd": [100.0, None]}, r"data row 2, column debt_usd: empty cell"),
        ({"debt_usd": ["1", "2"]}, r"column debt_usd holds string; give numbers"),
        ({"liquidation_threshold": [0.8, 1.2]},
         r"data row 2, column liquidation_threshold: liquidation_threshold=1\.2 "),
        ({"collateral_eth": [-1.0, 2.0]}, r"data row 1, column collateral_eth: "),
        ({"account": ["a", "a"]}, r"data row 2, column account: "),
    ],
    ids=["missing-column", "unknown-column", "null", "text-numbers", "lt-above-1",
         "negative", "duplicate"],
)
def test_bad_files_are_one_line(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    columns = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = _write_table(tmp_path / "bad.parquet", columns)
    with pytest.raises(InvalidArgument, match=message) as info:
        read_book_parquet(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path))


def test_not_parquet_missing_and_empty(tmp_path: Path) -> None:
    text = tmp_path / "x.parquet"
    text.write_text("account,collateral_eth\n")
    with pytest.raises(InvalidArgument, match=r"x\.parquet: not a readable Parquet file"):
        read_book_parquet(text)
    with pytest.raises(InvalidArgument, match=r"no such file"):
        read_book_parquet(tmp_path / "missing.parquet")
    empty = _write_table(tmp_path / "e.parquet", {k: pa.array([], pa.float64()) if k != "account"
                                                  else pa.array([], pa.string()) for k in GOOD})
    with pytest.raises(InvalidArgument, match=r"e\.parquet: the file has no accounts"):
        read_book_parquet(empty)


def test_files_without_or_with_bad_metadata(tmp_path: Path) -> None:
    plain = _write_table(tmp_path / "p.parquet", GOOD)
    assert read_book_parquet_metadata(plain) == {}
    assert read_book_parquet(plain).reference_price_usd is None
    bad = _write_table(tmp_path / "m.parquet", GOOD, b"{not json")
    with pytest.raises(InvalidArgument, match=r"metadata delever\.book is not JSON"):
        read_book_parquet_metadata(bad)
    listed = _write_table(tmp_path / "l.parquet", GOOD, json.dumps([1]).encode())
    with pytest.raises(InvalidArgument, match=r"is not an object"):
        read_book_parquet_metadata(listed)
