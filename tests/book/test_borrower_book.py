"""BorrowerBook: closed forms on a hand-made book, validation of bad input, new books."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delever.book import BookValueError, BorrowerBook
from delever.errors import InvalidArgument


def three_borrowers(reference_price_usd: float | None = 2000.0) -> BorrowerBook:
    """A: 10 ETH against $8,300 at LT 0.83; B: 4 ETH against $4,000 at LT 0.80 in e-mode;
    C: 1 ETH, no debt."""
    return BorrowerBook.from_arrays(
        collateral_eth=[10.0, 4.0, 1.0],
        debt_usd=[8300.0, 4000.0, 0.0],
        liquidation_threshold=[0.83, 0.80, 0.83],
        liquidation_bonus=[0.05, 0.01, 0.05],
        account_id=["A", "B", "C"],
        emode=[False, True, False],
        reference_price_usd=reference_price_usd,
    )


# --- closed forms ------------------------------------------------------------------------------


def test_health_factor_closed_form() -> None:
    book = three_borrowers()
    # A: 10 · 2000 · 0.83 / 8300 = 2; B: 4 · 2000 · 0.8 / 4000 = 1.6; C: no debt
    np.testing.assert_allclose(book.health_factor(2000.0)[:2], [2.0, 1.6], rtol=1e-15)
    assert book.health_factor(2000.0)[2] == math.inf
    # the reference price is the default
    np.testing.assert_array_equal(book.health_factor(), book.health_factor(2000.0))
    # at $1,250, B sits exactly at HF 1 and A at 1.25
    np.testing.assert_allclose(book.health_factor(1250.0)[:2], [1.25, 1.0], rtol=1e-15)


def test_liquidation_price_closed_form() -> None:
    book = three_borrowers()
    # A: 8300 / (10 · 0.83) = 1000; B: 4000 / (4 · 0.8) = 1250; C: never (0)
    np.testing.assert_allclose(book.liquidation_price_usd(), [1000.0, 1250.0, 0.0], rtol=1e-15)


def test_totals_len_and_order() -> None:
    book = three_borrowers()
    assert len(book) == 3
    assert book.total_collateral_eth == 15.0
    assert book.total_debt_usd == 12300.0
    ordered = book.sorted_by_liquidation_price()
    assert ordered.account_id.tolist() == ["B", "A", "C"]  # highest liquidation price first
    np.testing.assert_array_equal(ordered.emode, [True, False, False])
    ascending = book.sorted_by_liquidation_price(descending=False)
    assert ascending.account_id.tolist() == ["C", "A", "B"]


def test_to_frame_round_trip_and_summary() -> None:
    book = three_borrowers()
    frame = book.to_frame()
    assert list(frame.columns) == [
        "account_id",
        "collateral_eth",
        "debt_usd",
        "liquidation_threshold",
        "liquidation_bonus",
        "emode",
        "liquidation_price_usd",
        "health_factor",
    ]
    assert frame["health_factor"].iloc[0] == pytest.approx(2.0)
    again = BorrowerBook.from_frame(frame, reference_price_usd=2000.0)
    for name in ("collateral_eth", "debt_usd", "liquidation_threshold", "liquidation_bonus"):
        np.testing.assert_array_equal(getattr(again, name), getattr(book, name))
    text = str(book)
    assert text == book.summary()
    assert "3 accounts (1 in e-mode)" in text
    assert "15.00 ETH" in text
    assert "$12,300" in text


def test_arrays_are_read_only_float64_copies() -> None:
    collateral = np.array([1.0, 2.0])
    book = BorrowerBook.from_arrays(collateral, [100.0, 100.0], 0.83, 0.05)
    collateral[0] = 99.0  # the caller's array is not aliased
    assert book.collateral_eth[0] == 1.0
    for name in ("collateral_eth", "debt_usd", "liquidation_threshold", "liquidation_bonus"):
        array = getattr(book, name)
        assert array.dtype == np.float64
        assert array.flags.c_contiguous
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        book.emode[0] = True
    assert book.account_id.tolist() == [0, 1]


def test_lt_times_bonus_of_exactly_one_is_allowed() -> None:
    # 0.8 · 1.25 = 1: Aave's configurator accepts it; a 50% close then leaves HF unchanged
    book = BorrowerBook.from_arrays([1.0], [100.0], 0.8, 0.25)
    assert len(book) == 1


# --- bad input -----------------------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "account_id": ["a", "b", "c"],
    "collateral_eth": [1.0, 2.0, 3.0],
    "debt_usd": [100.0, 200.0, 300.0],
    "liquidation_threshold": [0.83, 0.83, 0.83],
    "liquidation_bonus": [0.05, 0.05, 0.05],
    "emode": [False, False, False],
}

BAD_BOOKS = [
    pytest.param(
        {"collateral_eth": [1.0, -2.0, 3.0]},
        r"collateral_eth\[1\]=-2.0 \(account 'b'\) must not be negative",
        id="negative-collateral",
    ),
    pytest.param(
        {"debt_usd": [100.0, 200.0, -1.0]},
        r"debt_usd\[2\]=-1.0 .*must not be negative",
        id="negative-debt",
    ),
    pytest.param({"debt_usd": [np.nan, 1.0, 1.0]}, r"debt_usd\[0\]=nan .*finite", id="nan-debt"),
    pytest.param(
        {"collateral_eth": [1.0, np.inf, 1.0]},
        r"collateral_eth\[1\]=inf .*finite",
        id="inf-collateral",
    ),
    pytest.param(
        {"liquidation_threshold": [0.83, 1.2, 0.83]},
        r"liquidation_threshold\[1\]=1.2 .*must be in \(0, 1\]",
        id="lt-above-one",
    ),
    pytest.param(
        {"liquidation_threshold": [0.0, 0.83, 0.83]},
        r"liquidation_threshold\[0\]=0.0 .*\(0, 1\]",
        id="lt-zero",
    ),
    pytest.param(
        {"liquidation_threshold": [0.83, 0.83, np.nan]},
        r"liquidation_threshold\[2\]=nan .*finite",
        id="lt-nan",
    ),
    pytest.param(
        {"liquidation_bonus": [0.05, -0.01, 0.05]},
        r"liquidation_bonus\[1\]=-0.01 .*must not be negative",
        id="negative-bonus",
    ),
    pytest.param(
        {"liquidation_bonus": [0.05, 0.25, 0.05]},
        r"liquidation_bonus\[1\]=0.25 .*LT·\(1 \+ bonus\)=1.0375 > 1",
        id="lt-times-bonus-above-one",
    ),
    pytest.param(
        {"collateral_eth": [1.0, 0.0, 3.0]},
        r"debt_usd\[1\]=200.0 \(account 'b'\) has no collateral",
        id="debt-without-collateral",
    ),
    pytest.param(
        {"account_id": ["a", "b", "a"]},
        r"account_id\[2\]='a' duplicates account_id\[0\]",
        id="duplicate-ids",
    ),
    pytest.param(
        {"account_id": [7, 7, 8]},
        r"account_id\[1\]=7 duplicates account_id\[0\]",
        id="duplicate-int-ids",
    ),
    pytest.param({k: [] for k in GOOD}, r"BorrowerBook is empty", id="empty-book"),
    pytest.param(
        {"debt_usd": [1.0, 2.0]},
        r"debt_usd has 2 entries but account_id has 3",
        id="unequal-lengths",
    ),
    pytest.param(
        {"collateral_eth": [[1.0, 2.0, 3.0]]},
        r"collateral_eth has shape \(1, 3\)",
        id="two-dimensional",
    ),
    pytest.param({"debt_usd": ["x", 1.0, 2.0]}, r"debt_usd must hold numbers", id="non-numeric"),
    pytest.param(
        {"emode": [0.5, 0.0, 1.0]}, r"emode must be a 1-D array of booleans", id="emode-not-boolean"
    ),
    pytest.param({"emode": [2, 0, 1]}, r"emode must hold booleans", id="emode-int-not-0-1"),
]


@pytest.mark.parametrize(("changes", "match"), BAD_BOOKS)
def test_bad_books_are_refused(changes: dict[str, Any], match: str) -> None:
    values = {**GOOD, **changes}
    arrays = {k: np.asarray(v) for k, v in values.items()}
    with pytest.raises(InvalidArgument, match=match) as info:
        BorrowerBook(**arrays)
    assert "\n" not in str(info.value)


def test_value_errors_carry_position_and_column() -> None:
    with pytest.raises(BookValueError) as info:
        BorrowerBook(
            **{
                **{k: np.asarray(v) for k, v in GOOD.items()},
                "debt_usd": np.array([1.0, -5.0, 1.0]),
            }
        )
    assert (info.value.index, info.value.column) == (1, "debt_usd")


@pytest.mark.parametrize(
    ("price", "match"),
    [
        (0.0, "must be greater than 0"),
        (-1.0, "must be greater than 0"),
        (math.nan, "must be a finite number"),
    ],
    ids=["zero", "negative", "nan"],
)
def test_bad_price_is_refused(price: float, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        three_borrowers().health_factor(price)
    with pytest.raises(InvalidArgument, match=f"reference_price_usd={price!r} {match}"):
        three_borrowers(reference_price_usd=price)


def test_no_reference_price_needs_a_price() -> None:
    book = three_borrowers(reference_price_usd=None)
    with pytest.raises(InvalidArgument, match="no reference_price_usd"):
        book.health_factor()
    with pytest.raises(InvalidArgument, match="needs the book's reference_price_usd"):
        book.scaled(price_usd=3000.0)


# --- subset and scaled ---------------------------------------------------------------------------


def test_subset_by_mask_and_positions() -> None:
    book = three_borrowers()
    assert book.subset(np.array([True, False, True])).account_id.tolist() == ["A", "C"]
    assert book.subset(np.array([2, 0])).account_id.tolist() == ["C", "A"]
    assert book.subset(book.health_factor() < 1.9).account_id.tolist() == ["B"]
    assert book.subset([True, True, True]).reference_price_usd == 2000.0


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (np.array([False, False, False]), "selects no account"),
        (np.array([True, False]), r"boolean mask of shape \(3,\)"),
        (np.array([0, 5]), r"must lie in \[0, 3\)"),
        (np.array([0.5]), "boolean mask or a 1-D array of positions"),
    ],
    ids=["empty", "wrong-length", "out-of-range", "floats"],
)
def test_bad_subset(mask: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        three_borrowers().subset(mask)


def test_scaled_keeps_health_factors_and_hits_the_total() -> None:
    book = three_borrowers()
    bigger = book.scaled(total_collateral_eth=300_000.0, price_usd=3100.0)
    assert bigger.total_collateral_eth == 300_000.0
    assert bigger.reference_price_usd == 3100.0
    np.testing.assert_allclose(bigger.health_factor(), book.health_factor(), rtol=1e-14)
    # shares of the book are kept: A holds 10/15 of the collateral
    assert bigger.collateral_eth[0] / bigger.total_collateral_eth == pytest.approx(10 / 15)
    # price only: collateral unchanged, debt × 3100/2000
    moved = book.scaled(price_usd=3100.0)
    np.testing.assert_array_equal(moved.collateral_eth, book.collateral_eth)
    np.testing.assert_allclose(moved.debt_usd, book.debt_usd * 1.55, rtol=1e-15)
    with pytest.raises(InvalidArgument, match="needs total_collateral_eth, price_usd or both"):
        book.scaled()
    with pytest.raises(InvalidArgument, match=r"total_collateral_eth=-1\.0 must be greater than 0"):
        book.scaled(total_collateral_eth=-1.0)


books = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(1e-6, 1e6), min_size=n, max_size=n),
        st.lists(st.floats(1.0001, 50.0), min_size=n, max_size=n),
        st.lists(st.floats(0.5, 0.95), min_size=n, max_size=n),
    )
)


@settings(max_examples=200)
@given(
    book_values=books,
    price=st.floats(100.0, 10_000.0),
    total=st.floats(1e-3, 1e8),
    new_price=st.floats(100.0, 10_000.0),
)
def test_properties_of_random_books(
    book_values: tuple[list[float], list[float], list[float]],
    price: float,
    total: float,
    new_price: float,
) -> None:
    collateral, health, lt = (np.array(v) for v in book_values)
    debt = collateral * price * lt / health
    book = BorrowerBook.from_arrays(collateral, debt, lt, 0.0, reference_price_usd=price)
    np.testing.assert_allclose(book.health_factor(), health, rtol=1e-12)
    # at its own liquidation price every account has HF exactly 1
    liq = book.liquidation_price_usd()
    hf_at_liq = np.array([book.health_factor(p)[i] for i, p in enumerate(liq)])
    np.testing.assert_allclose(hf_at_liq, 1.0, rtol=1e-12)
    scaled = book.scaled(total_collateral_eth=total, price_usd=new_price)
    assert scaled.total_collateral_eth == total
    np.testing.assert_allclose(scaled.health_factor(), health, rtol=1e-12)
    # ordering is by liquidation price, highest first
    assert np.all(np.diff(book.sorted_by_liquidation_price().liquidation_price_usd()) <= 0)


def test_from_frame_needs_every_column() -> None:
    frame = three_borrowers().to_frame().drop(columns=["emode"])
    with pytest.raises(InvalidArgument, match="frame lacks column"):
        BorrowerBook.from_frame(pd.DataFrame(frame))
