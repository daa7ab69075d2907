"""Book CSV loader on small files written here, and the Lido Aave v3 cohort loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delever.book import BOOK_ASSETS, read_book_csv, read_lido_cohort
from delever.errors import InvalidArgument

HEADER = "account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus\n"


def write(tmp_path: Path, text: str, name: str = "book.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- good files ----------------------------------------------------------------------------------


def test_minimal_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "alice,10,8300,0.83,0.05\nbob,4,4000,0.8,0.01\n")
    book = read_book_csv(path, reference_price_usd=2000.0)
    assert book.account_id.tolist() == ["alice", "bob"]
    np.testing.assert_array_equal(book.collateral_eth, [10.0, 4.0])
    np.testing.assert_array_equal(book.debt_usd, [8300.0, 4000.0])
    np.testing.assert_array_equal(book.liquidation_threshold, [0.83, 0.8])
    np.testing.assert_array_equal(book.liquidation_bonus, [0.05, 0.01])
    np.testing.assert_array_equal(book.emode, [False, False])
    np.testing.assert_allclose(book.health_factor(), [2.0, 1.6], rtol=1e-15)


def test_optional_columns_order_spaces_bom_and_blank_lines(tmp_path: Path) -> None:
    text = (
        "\ufeff Debt_USD , account, asset ,collateral_eth,emode, liquidation_threshold\n"
        "100, a , weth, 1.5, yes, 0.9\n"
        "\n"
        "200,b,wstETH,2,false,\n"
        "300,c,WEETH,3,, 0.7\n"
    )
    book = read_book_csv(write(tmp_path, text))
    assert book.account_id.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(book.debt_usd, [100.0, 200.0, 300.0])
    np.testing.assert_array_equal(book.emode, [True, False, False])
    # given thresholds win; an empty cell or a missing column takes the asset's Aave value
    lt = [0.9, BOOK_ASSETS["wstETH"].liquidation_threshold, 0.7]
    np.testing.assert_array_equal(book.liquidation_threshold, lt)
    bonus = [BOOK_ASSETS[s].liquidation_bonus for s in ("WETH", "wstETH", "weETH")]
    np.testing.assert_array_equal(book.liquidation_bonus, bonus)
    assert book.reference_price_usd is None


def test_known_assets_have_aave_core_values() -> None:
    # Aave v3 Ethereum Core (th3nolo/aave-v3-data, 2025-07 .. 2026-08)
    assert (BOOK_ASSETS["WETH"].liquidation_threshold, BOOK_ASSETS["WETH"].liquidation_bonus) == (
        0.83,
        0.05,
    )
    assert BOOK_ASSETS["wstETH"].liquidation_threshold == 0.81
    assert BOOK_ASSETS["weETH"].liquidation_threshold == 0.80


# --- bad files -----------------------------------------------------------------------------------

BAD_FILES = [
    pytest.param("", r"the file is empty; expected the header line account,", id="zero-bytes"),
    pytest.param(" \n\n", r"the file is empty", id="whitespace-only"),
    pytest.param(HEADER, r"has a header but no accounts", id="header-only"),
    pytest.param(
        "account,collateral_eth,liquidation_threshold,liquidation_bonus\na,1,0.8,0.05\n",
        r"column debt_usd is missing",
        id="missing-required-column",
    ),
    pytest.param(
        "account,collateral_eth,debt_usd,liquidation_bonus\na,1,1,0.05\n",
        r"column liquidation_threshold is missing; give it, or an asset column",
        id="missing-threshold-without-asset",
    ),
    pytest.param(
        "account,colateral_eth,debt_usd,liquidation_threshold,liquidation_bonus\na,1,1,0.8,0\n",
        r"row 1: column='colateral_eth' is not known.*Did you mean 'collateral_eth'",
        id="misspelt-column",
    ),
    pytest.param(
        "account,collateral_eth,debt_usd,debt_usd,liquidation_threshold,liquidation_bonus\n",
        r"row 1: column debt_usd appears twice",
        id="duplicate-column",
    ),
    pytest.param(
        HEADER + "a,1,100,0.83,0.05\nb,2,lots,0.83,0.05\n",
        r"row 3, column debt_usd: debt_usd='lots' is not a number",
        id="non-numeric-cell",
    ),
    pytest.param(
        HEADER + "a,1,,0.83,0.05\n",
        r"row 2, column debt_usd: empty cell",
        id="empty-cell",
    ),
    pytest.param(
        HEADER + "a,-1,100,0.83,0.05\n",
        r"row 2, column collateral_eth: collateral_eth=-1.0 must not be negative",
        id="negative-collateral",
    ),
    pytest.param(
        HEADER + "a,1,100,0.83,0.05\n\nb,1,-100,0.83,0.05\n",
        r"row 4, column debt_usd: debt_usd=-100.0 must not be negative",
        id="negative-debt-after-blank-line",
    ),
    pytest.param(
        HEADER + "a,1,100,1.2,0.05\n",
        r"row 2, column liquidation_threshold: liquidation_threshold=1.2 must be in \(0, 1\]",
        id="threshold-above-one",
    ),
    pytest.param(
        HEADER + "a,1,100,0.83,nan\n",
        r"row 2, column liquidation_bonus: liquidation_bonus=nan must be a finite number",
        id="nan-bonus",
    ),
    pytest.param(
        HEADER + "a,0,100,0.83,0.05\n",
        r"row 2, column debt_usd: debt_usd=100.0 has no collateral",
        id="debt-without-collateral",
    ),
    pytest.param(
        HEADER + "a,1,100,0.83,0.05\nb,1,100,0.83,0.05\na,1,100,0.83,0.05\n",
        r"row 4, column account: account='a' duplicates account_id\[0\]",
        id="duplicate-account",
    ),
    pytest.param(
        "account,collateral_eth,debt_usd,asset\na,1,100,WETH\nb,1,100,WETH2\n",
        r"row 3, column asset: asset='WETH2' is not known; choose one of .* Did you mean 'WETH'",
        id="unknown-asset",
    ),
    pytest.param(
        HEADER + "a,1,100,0.83\n",
        r"row 2: 4 cells but the header has 5",
        id="ragged-row",
    ),
    pytest.param(
        "account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus,emode\n"
        "a,1,100,0.83,0.05,maybe\n",
        r"row 2, column emode: emode='maybe' is not a boolean",
        id="bad-emode",
    ),
    pytest.param(HEADER + " ,1,100,0.83,0.05\n", r"row 2, column account: empty", id="no-id"),
]


@pytest.mark.parametrize(("text", "match"), BAD_FILES)
def test_bad_files_are_refused(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidArgument, match=match) as info:
        read_book_csv(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")  # names the file
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file"):
        read_book_csv(tmp_path / "nope.csv")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "caf\xe9,1,1,0.8,0.05\n").encode("latin-1"))
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        read_book_csv(path)


# --- Lido Aave v3 cohort (GPL-3.0 validation data, read from the shared folder) ----------------

LIDO = "lidofinance_aave-liquidation-model"
LIDO_ETH_PRICE_USD = 1719.89763743  # Aave oracle ETH price in the _v3 files (SOURCES.md)


def test_lido_stablecoin_cohort_reproduces_its_health_factors(shared_raw: Path) -> None:
    path = shared_raw / LIDO / "b21_debt_stables_v3.csv"
    book = read_lido_cohort(path)
    raw = pd.read_csv(path, index_col=0)
    assert len(book) == len(raw) == 307
    assert book.reference_price_usd == LIDO_ETH_PRICE_USD
    assert book.account_id.tolist() == raw["user"].tolist()
    # independent check of the column meanings: the contract's own healthf (18-decimal HF
    # from getUserAccountData) equals collateral_usd · LT(bps)/1e4 / debt_usd
    np.testing.assert_allclose(book.health_factor(), raw["healthf"], rtol=1e-9)
    np.testing.assert_allclose(
        book.collateral_eth * LIDO_ETH_PRICE_USD, raw["collateral"], rtol=1e-12
    )
    assert not book.emode.any()  # stablecoin debt cannot be borrowed in ETH e-mode
    assert book.liquidation_threshold.min() >= 0.74
    assert book.liquidation_threshold.max() <= 0.83
    assert np.all(book.liquidation_bonus == 0.06)
    assert book.total_collateral_eth == pytest.approx(126_773.59, abs=0.01)
    assert book.total_debt_usd == pytest.approx(88_047_986, abs=1)


@pytest.mark.parametrize("name", ["b2_v3.csv", "steth_aave_v3.csv", "b1_v3.csv"])
def test_other_lido_v3_files(shared_raw: Path, name: str) -> None:
    path = shared_raw / LIDO / name
    book = read_lido_cohort(path, liquidation_bonus=0.07, emode_liquidation_bonus=0.01)
    raw = pd.read_csv(path, index_col=0)
    np.testing.assert_allclose(book.health_factor(), raw["healthf"], rtol=1e-9)
    np.testing.assert_array_equal(book.emode, raw["emode"].to_numpy() == 1)
    np.testing.assert_array_equal(book.liquidation_bonus, np.where(book.emode, 0.01, 0.07))


def test_lido_v2_file_is_refused(shared_raw: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"column\(s\) emode, eth_price missing"):
        read_lido_cohort(shared_raw / LIDO / "b21_debt_stables.csv")


def test_lido_loader_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file"):
        read_lido_cohort(tmp_path / "nope.csv")
    with pytest.raises(InvalidArgument, match="not a readable CSV"):
        read_lido_cohort(write(tmp_path, ""))
    header = ",user,collateral,debt,threshold,healthf,emode,eth_price\n"
    with pytest.raises(InvalidArgument, match="no accounts"):
        read_lido_cohort(write(tmp_path, header))
    rows = "0,0xa,100,50,8000,1.6,0,1700\n1,0xb,100,50,8000,1.6,0,1800\n"
    with pytest.raises(InvalidArgument, match="not one snapshot price"):
        read_lido_cohort(write(tmp_path, header + rows))
    rows = "0,0xa,100,50,8000,1.6,0,1700\n1,0xb,100,50,12000,2.4,0,1700\n"
    with pytest.raises(InvalidArgument, match=r"data row 2: liquidation_threshold\[1\]=1.2"):
        read_lido_cohort(write(tmp_path, header + rows))
