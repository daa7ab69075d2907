"""The borrower book from the chain, on the in-memory market of borrowers_fake.py.

Expected rows are computed by hand from the fake's accounts (prices: WETH $2,000, wstETH
$2,400, weETH $2,100; bonuses: WETH 5%, wstETH 6%, weETH 7%, e-mode 1: 1%).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eth_utils.crypto import keccak

from delever.book.loaders import read_book_parquet, read_book_parquet_metadata
from delever.sources import SourceError
from delever.sources.borrowers import (
    ACCOUNT_DATA,
    BORROW_TOPIC,
    EMODE_CONFIG,
    RESERVE_CONFIG,
    USER_EMODE,
    USER_RESERVE,
    FetchRequest,
    fetch_book,
    partial_path,
    read_address_file,
    read_book,
    rpc_request_count,
    selector,
)

from .borrowers_fake import E8, E18, MARKET, WETH, FakeAccount, FakeChain, address, known_accounts

BLOCK = 20_000_000


# --- ABI constants against independent values -------------------------------------------------


def test_borrow_topic_is_the_keccak_of_the_event_signature() -> None:
    # The topic published for Aave v3 Pool Borrow (e.g. Etherscan's event logs of
    # 0x87870Bca...): 0xb3d08482...
    expected = "0xb3d084820fb1a9decffb176436bd02558d15fac9b0ddfed8c465bc7359d7dce0"
    assert expected == BORROW_TOPIC
    assert "0x" + keccak(text="Borrow(address,address,address,uint256,uint8,uint256,uint16)"
                         ).hex() == expected


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (ACCOUNT_DATA, "bf92857c"),  # 4byte.directory: getUserAccountData(address)
        (USER_EMODE, "eddf1b79"),
        (EMODE_CONFIG, "b286f467"),
        (USER_RESERVE, "28dd2d01"),
        (RESERVE_CONFIG, "3e150141"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else v,
)
def test_selectors(function: tuple[str, list[str]], expected: str) -> None:
    assert selector(function[0]).hex() == expected
    assert keccak(text=function[0])[:4].hex() == expected


# --- reading accounts ---------------------------------------------------------------------------


def test_read_book_rows_are_the_hand_computed_values() -> None:
    chain = FakeChain(known_accounts())
    users = [address(i) for i in range(1, 7)]
    book = read_book(chain, MARKET, users, BLOCK)
    rows = {row.account: row for row in book.rows}
    assert list(rows) == [address(1), address(2), address(3)]
    assert dict(book.dropped) == {"no_debt": 1, "eth_debt_only": 1, "no_net_eth_collateral": 1}
    assert book.eth_price_usd == 2000.0
    assert book.block_time is not None and book.block_time.timestamp() == chain.timestamp

    a = rows[address(1)]  # 10 WETH vs $10,000: the chain's HF 1.66 = 10*2000*0.83/10000
    assert (a.collateral_eth, a.debt_usd, a.liquidation_threshold) == (10.0, 10_000.0, 0.83)
    assert a.liquidation_bonus == pytest.approx(0.05, rel=1e-12)
    assert a.asset == "WETH" and not a.emode
    assert a.health_factor == pytest.approx(1.66, rel=1e-15)

    b = rows[address(2)]  # C = 6 ETH of wstETH, E = 3 ETH: 6 - 3/0.955; USD debt $2,000
    assert b.collateral_eth == pytest.approx(6.0 - 3.0 / 0.955, rel=1e-14)
    assert b.debt_usd == pytest.approx(2_000.0, rel=1e-14)
    assert b.liquidation_bonus == pytest.approx(0.01) and b.emode and b.asset == "wstETH"
    assert b.emode_category == 1 and b.eth_debt_usd == pytest.approx(6_000.0)
    # Its liquidation price on chain: 6p*0.955 = 3p + 2000 -> p = 2000/2.73; the book's is
    # debt / (collateral * LT): the same.
    assert b.debt_usd / (b.collateral_eth * b.liquidation_threshold) == pytest.approx(
        2000.0 / 2.73, rel=1e-12)

    c = rows[address(3)]  # only the 2 WETH count (weETH is not enabled as collateral)
    assert (c.collateral_eth, c.debt_usd, c.liquidation_threshold) == (2.0, 5_000.0, 0.8)
    assert c.other_collateral_usd == pytest.approx(6_000.0) and c.health_factor == 1.6


def test_book_hf_equals_chain_hf_without_eth_debt_or_other_collateral() -> None:
    accounts = {address(i): FakeAccount(2000 * i * E8, 1000 * i * E8, 8300,
                                        (2000 * i * 83 * E18) // (1000 * i * 100),
                                        legs={WETH: (i * E18, 0, 0, True)})
                for i in range(1, 6)}
    book = read_book(FakeChain(accounts), MARKET, list(accounts), BLOCK)
    chain_hf = np.array([r.health_factor for r in book.rows])
    book_hf = np.array([r.collateral_eth * 2000 * r.liquidation_threshold / r.debt_usd
                        for r in book.rows])
    np.testing.assert_allclose(book_hf, chain_hf, rtol=1e-15)
    np.testing.assert_allclose(chain_hf, 1.66, rtol=1e-15)


# --- fetch: scan, write, read back ------------------------------------------------------------


def _chain_with_logs() -> FakeChain:
    chain = FakeChain(known_accounts(), head=1_000_999)
    # borrowers spread over 1,000,000..1,000,999; account 1 borrows twice (one row)
    chain.logs = [(1_000_010, address(1)), (1_000_400, address(2)), (1_000_401, address(1)),
                  (1_000_990, address(3)), (1_000_500, address(5)), (1_000_600, address(6))]
    return chain


def test_fetch_writes_a_book_that_reads_back(tmp_path: Path) -> None:
    chain = _chain_with_logs()
    out = tmp_path / "book.parquet"
    seen: list[tuple[int, int]] = []
    _book, meta = fetch_book(chain, FetchRequest(MARKET, out, from_block=1_000_000,
                                                 chunk_blocks=250, source="http://x/***"),
                             progress=lambda done, total: seen.append((done, total)))
    assert seen == [(250, 1000), (500, 1000), (750, 1000), (1000, 1000)]
    back = read_book_parquet(out)
    assert back.account_id.tolist() == [address(1), address(2), address(3)]
    np.testing.assert_allclose(back.collateral_eth, [10.0, 6.0 - 3.0 / 0.955, 2.0], rtol=1e-14)
    np.testing.assert_allclose(back.debt_usd, [10_000.0, 2_000.0, 5_000.0], rtol=1e-14)
    np.testing.assert_array_equal(back.liquidation_threshold, [0.83, 0.955, 0.8])
    np.testing.assert_allclose(back.liquidation_bonus, [0.05, 0.01, 0.05], rtol=1e-12)
    np.testing.assert_array_equal(back.emode, [False, True, False])
    assert back.reference_price_usd == 2000.0
    np.testing.assert_allclose(back.health_factor()[0], 1.66, rtol=1e-15)
    stored = read_book_parquet_metadata(out)
    assert stored == meta
    assert (stored["market"], stored["chain_id"], stored["block"]) == ("ethereum-core", 1,
                                                                       1_000_999)
    assert stored["block_time"] == "2026-02-02T02:40:00+00:00"  # 1_770_000_000 s, UTC
    assert stored["dropped"] == {"no_debt": 0, "eth_debt_only": 1, "no_net_eth_collateral": 1}
    assert "APPROXIMATED" in stored["collateral_eth_derivation"]
    assert "blocks 1000000..1000999" in stored["source"] and "http://x/***" in stored["source"]
    # 1 resolve + 4 ranges of 250 + ceil((5 + 5)/500) + ceil(3*4/500) + 1 e-mode category
    assert chain.calls_made == meta["rpc_requests"] == 1 + 4 + 1 + 1 + 1
    assert not partial_path(out).exists()


def test_a_refused_range_is_halved_and_grows_back(tmp_path: Path) -> None:
    chain = _chain_with_logs()
    chain.max_range = 300
    out = tmp_path / "book.parquet"
    book, _ = fetch_book(chain, FetchRequest(MARKET, out, from_block=1_000_000,
                                             chunk_blocks=1000))
    # 1000 refused, 500 refused, 250 done; 250 done; 500 (grown back) refused, 250, 250
    assert chain.log_requests[:2] == [(1_000_000, 1_000_249), (1_000_250, 1_000_499)]
    starts = [a for a, _ in chain.log_requests]
    ends = [b for _, b in chain.log_requests]
    assert starts[0] == 1_000_000 and ends[-1] == 1_000_999
    assert all(s == e + 1 for s, e in zip(starts[1:], ends[:-1], strict=True))  # no gap
    assert max(b - a + 1 for a, b in chain.log_requests) <= 300
    assert len(book.rows) == 3


def test_resume_after_a_failure_does_not_rescan(tmp_path: Path) -> None:
    out = tmp_path / "book.parquet"
    chain = _chain_with_logs()
    chain.fail_logs_at = 4  # request 1 resolves the block, 2-3 scan two ranges, 4 fails
    request = FetchRequest(MARKET, out, from_block=1_000_000, chunk_blocks=100)
    with pytest.raises(SourceError, match="connection reset"):
        fetch_book(chain, request)
    state = json.loads(partial_path(out).read_text())
    assert state["ranges"] == [[1_000_000, 1_000_199]]
    assert state["addresses"] == [address(1)]
    assert state["to_block"] == 1_000_999 and not out.exists()

    chain.head = 1_005_000  # the chain moved on: the rerun keeps the pinned block
    chain.log_requests.clear()
    chain.calls_made = 0
    book, meta = fetch_book(chain, request)
    assert chain.log_requests[0] == (1_000_200, 1_000_299)
    assert len(chain.log_requests) == 8  # the 8 ranges left of 10, none scanned twice
    assert meta["block"] == 1_000_999 and len(book.rows) == 3
    assert chain.calls_made == 1 + 8 + 1 + 1 + 1
    assert not partial_path(out).exists() and out.exists()


def test_a_state_for_other_arguments_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "book.parquet"
    chain = _chain_with_logs()
    chain.fail_logs_at = 3
    with pytest.raises(SourceError):
        fetch_book(chain, FetchRequest(MARKET, out, from_block=1_000_000, chunk_blocks=100))
    with pytest.raises(SourceError, match=r"holds a scan of ethereum-core blocks "
                       r"1000000\.\.1000999, not of ethereum-core blocks 999000"):
        fetch_book(chain, FetchRequest(MARKET, out, from_block=999_000, chunk_blocks=100))


def test_addresses_instead_of_a_scan(tmp_path: Path) -> None:
    chain = FakeChain(known_accounts())
    out = tmp_path / "b.parquet"
    book, meta = fetch_book(chain, FetchRequest(MARKET, out, block=BLOCK,
                                                addresses=(address(1), address(4))))
    assert [r.account for r in book.rows] == [address(1)]
    assert chain.log_requests == [] and "2 addresses given" in meta["source"]


def test_no_book_position_writes_nothing(tmp_path: Path) -> None:
    chain = FakeChain(known_accounts())
    out = tmp_path / "b.parquet"
    with pytest.raises(SourceError, match=r"^none of the 2 addresses holds a book position at "
                       r"block 20000000 \(dropped: 1 no_debt, 1 eth_debt_only\); nothing "
                       r"written\.$"):
        fetch_book(chain, FetchRequest(MARKET, out, addresses=(address(4), address(5))))
    assert not out.exists()


# --- RPC requests ---------------------------------------------------------------------------------


def _many(n: int) -> dict[str, FakeAccount]:
    return {address(i): FakeAccount(20_000 * E8, 10_000 * E8, 8300, 166 * E18 // 100,
                                    emode=1 if i % 2 else 0,
                                    legs={WETH: (10 * E18, 0, 0, True)}) for i in range(n)}


def test_rpc_requests_for_2000_borrowers(tmp_path: Path) -> None:
    chain = FakeChain(_many(2_000), head=2_099_999)
    chain.logs = [(2_000_000 + 50 * i, address(i)) for i in range(2_000)]
    _, meta = fetch_book(chain, FetchRequest(MARKET, tmp_path / "b.parquet",
                                             from_block=2_000_000, chunk_blocks=10_000))
    # 1 resolve + 100,000 blocks / 10,000 = 10 getLogs + ceil(2,005 / 500) = 5 account batches
    # + ceil(2,000 * 4 / 500) = 16 leg batches + 1 e-mode batch = 33
    assert chain.calls_made == meta["rpc_requests"] == 33
    assert chain.eth_calls == 2_005 + 8_000 + 1
    assert rpc_request_count(2_000, 2_000, scan_blocks=100_000) == 33
    # 50,000 borrowers, addresses given (no scan): 1 + 101 + 400 + 1
    assert rpc_request_count(50_000, 50_000) == 503


def test_read_address_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(f"# borrowers\n{address(1).lower()}\n\n{address(2)}  # two\n{address(1)}\n")
    assert read_address_file(path) == [address(1), address(2)]
    path.write_text("0x123\n")
    with pytest.raises(SourceError, match=r"line 1: '0x123' is not an address"):
        read_address_file(path)
    with pytest.raises(SourceError, match="no such file"):
        read_address_file(tmp_path / "missing.txt")


class _GarbledAccounts(FakeChain):
    """Answers getUserAccountData with one byte: not an Aave v3 Pool at this block."""

    def _call(self, target: str, data: bytes) -> bytes:
        return b"\x01" if data[:4] == selector(ACCOUNT_DATA[0]) else super()._call(target, data)


def test_undecodable_return_data_is_one_line() -> None:
    chain = _GarbledAccounts(known_accounts())
    with pytest.raises(SourceError, match=r"^getUserAccountData\(address\) for 0x0+A0000001: "
                       r"cannot decode the return data \(1 bytes") as info:
        read_book(chain, MARKET, [address(1)], BLOCK)
    assert "\n" not in str(info.value)
