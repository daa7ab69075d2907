"""Bad input files and values that used to escape as internal errors (exit 1): a book path
that is a folder or empty, a bookDepth year 0226, a bad --book-time, a stray CR or NUL byte,
--exact with amounts past uint256. Each is exit 2 with one line on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.book.loaders import read_book_csv
from delever.cli.main import app
from delever.errors import InvalidArgument
from delever.market.loaders import read_book_depth_csv, read_klines_csv, utc_time

DEPTH_HEADER = "timestamp,percentage,depth,notional\n"
DEPTH_ROWS = (
    "2026-02-05 00:00:00,-1,100,200000\n"
    "2026-02-05 00:00:00,-2,300,590000\n"
    "2026-02-05 00:00:00,1,100,201000\n"
    "2026-02-05 00:00:00,2,300,610000\n"
)
BOOK_HEADER = "account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus\n"
CASCADE = ["cascade", "--price-usd", "2000", "--shock-pct", "10", "--json"]
IMPACT = ["impact", "--model", "book", "--qty-eth", "10", "--json"]


def _expect_one_line_exit_2(argv: list[str], *fragments: str) -> str:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout.strip() == ""
    return lines[0]


# --- borrower book path (cascade --book) --------------------------------------------------------


def test_book_path_empty_string_is_exit_2() -> None:
    """`delever cascade --price-usd 2000 --shock-pct 10 --book ''` raised IsADirectoryError."""
    _expect_one_line_exit_2([*CASCADE, "--book", ""], "folder")


def test_book_path_folder_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "books").mkdir()
    _expect_one_line_exit_2([*CASCADE, "--book", "books"], "'books' is a folder")


def test_book_path_empty_file_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    _expect_one_line_exit_2([*CASCADE, "--book", "empty.csv"], "empty.csv", "empty")


def test_book_csv_with_nul_byte_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text(BOOK_HEADER + "a,10,1000,0.83,0.05\nb,1\x00,1000,0.83,0.05\n")
    _expect_one_line_exit_2([*CASCADE, "--book", str(path)], "row 3", "NUL")


def test_book_csv_with_open_quote_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_text(BOOK_HEADER + 'a,10,1000,0.83,0.05\n"b,10\r,1000,0.83,0.05')
    with pytest.raises(InvalidArgument, match=r"book\.csv: row"):
        read_book_csv(path)


# --- bookDepth and levels files (impact --book-file, --book-time) ------------------------------


def test_book_depth_year_0226_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(DEPTH_HEADER + DEPTH_ROWS.replace("2026-02-05", "0226-02-05", 1))
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path)], "row 2", "timestamp", "0226-02-05")


def test_book_depth_epoch_past_2262_is_one_error(tmp_path: Path) -> None:
    # 13 digits of milliseconds reach year 2286: past pandas' nanosecond range (overflowed).
    path = tmp_path / "depth.csv"
    path.write_text(DEPTH_HEADER + "9999999999999,-1,100,200000\n")
    with pytest.raises(InvalidArgument, match="row 2, column timestamp"):
        read_book_depth_csv(path)


@pytest.mark.parametrize("value", ["garbage", "2026-13-45", "0226-02-05"])
def test_bad_book_time_is_exit_2_naming_the_option(tmp_path: Path, value: str) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(DEPTH_HEADER + DEPTH_ROWS)
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path), "--book-time", value],
                     f"--book-time={value!r}")


def test_good_book_time_still_works(tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(DEPTH_HEADER + DEPTH_ROWS)
    result = CliRunner().invoke(
        app, [*IMPACT, "--book-file", str(path), "--book-time", "2026-02-05T12:00"]
    )
    assert result.exit_code == 0, result.stderr
    assert utc_time("t", "2026-02-05").isoformat() == "2026-02-05T00:00:00+00:00"


def test_book_depth_with_nul_byte_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_text(DEPTH_HEADER + DEPTH_ROWS.replace(",100,", ",10\x000,", 1))
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path)], "row 2", "NUL")


def test_book_depth_with_stray_cr_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "depth.csv"
    path.write_bytes((DEPTH_HEADER + DEPTH_ROWS.replace(",-2,", ",-2\r,", 1)).encode())
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path)], "row 3", "not valid CSV")


def test_levels_file_with_stray_cr_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "levels.csv"
    path.write_bytes(b"side,price_usd,size_eth\nbid,1999,10\r,x\nask,2001,10\n")
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path)], "levels.csv", "row 2")


def test_binary_book_file_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "levels.csv"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    _expect_one_line_exit_2([*IMPACT, "--book-file", str(path)], "not UTF-8")


@pytest.mark.parametrize("name", ["", "folder"])
def test_book_file_folder_is_exit_2(tmp_path: Path, name: str) -> None:
    (tmp_path / "folder").mkdir()
    _expect_one_line_exit_2([*IMPACT, "--book-file", name], "--book-file=", "a folder")


def test_klines_with_nul_byte_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("1700000000000,1,2,0.5,1.5,10\n17000000\x0060000,1,2,0.5,1.5,10\n")
    with pytest.raises(InvalidArgument, match="row 2: a NUL byte"):
        read_klines_csv(path)


# --- --exact past uint256 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["position", "--collateral-eth", "1e300", "--debt-usd", "1000", "--price-usd", "2000"],
        ["position", "--collateral-eth", "100", "--debt-usd", "1e300", "--price-usd", "2000"],
        ["liquidate", "--collateral-eth", "1e300", "--debt-usd", "1e300", "--price-usd", "2000",
         "--debt-to-cover-usd", "inf"],
    ],
    ids=["position-collateral", "position-debt", "liquidate"],
)
def test_exact_with_huge_amounts_is_exit_2(argv: list[str]) -> None:
    # Refused by the amount bounds (delever.cli._bounds) before Aave's uint256 math is reached.
    _expect_one_line_exit_2([*argv, "--exact", "--json"], "1e+300", "must be in [0, ")
