"""`delever book fetch / show`, `cascade --book X.parquet` and a scenario's `[book] file`,
through typer's CliRunner on the in-memory market of borrowers_fake.py (no network)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from delever.cli import book_cmds
from delever.cli.main import app
from delever.scenario.loader import builtin_scenario_text

from .borrowers_fake import FakeChain, address, known_accounts

URL = "https://eth-mainnet.g.alchemy.com/v2/SECRETKEY0123456789"


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> FakeChain:
    fake = FakeChain(known_accounts(), head=1_000_999)
    fake.logs = [(1_000_010, address(1)), (1_000_400, address(2)), (1_000_990, address(3)),
                 (1_000_500, address(5)), (1_000_600, address(6))]
    seen: list[str] = []

    def make(url: str) -> FakeChain:
        seen.append(url)
        return fake

    monkeypatch.setattr(book_cmds, "make_client", make)
    monkeypatch.delenv(book_cmds.RPC_ENV, raising=False)
    fake.urls = seen  # type: ignore[attr-defined]
    return fake


def _fetch(tmp_path: Path, *extra: str) -> list[str]:
    return ["book", "fetch", "--rpc", URL, "--from-block", "1000000", "--chunk-blocks", "250",
            "-o", str(tmp_path / "book.parquet"), *extra]


def test_fetch_json_and_show(chain: FakeChain, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, [*_fetch(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["accounts"], out["candidates"], out["block"]) == (3, 5, 1_000_999)
    assert out["rpc_requests"] == 1 + 4 + 1 + 1 + 1 == chain.calls_made
    assert "SECRETKEY" not in result.output and "/v2/***" in out["source"]
    assert chain.urls == [URL]  # type: ignore[attr-defined]

    shown = runner.invoke(app, ["book", "show", str(tmp_path / "book.parquet"), "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    # collateral 10 + (6 - 3/0.955) + 2 ETH; debt 10,000 + 2,000 + 5,000 USD
    assert summary["collateral_eth"] == pytest.approx(18.0 - 3.0 / 0.955, rel=1e-14)
    assert summary["debt_usd"] == pytest.approx(17_000.0, rel=1e-15)
    # book HF at $2,000: 1.66, 1.4325 (6*2000*0.955 - 6000)/2000 = 2.73, 0.64
    assert summary["accounts_below_hf_1_1"] == 1
    assert summary["metadata"]["market"] == "ethereum-core"

    text = runner.invoke(app, ["book", "show", str(tmp_path / "book.parquet")])
    words = " ".join(text.stdout.split())  # rich wraps at 80 columns
    assert text.exit_code == 0 and "3 accounts, 14.86 ETH collateral, $17,000 debt" in words
    assert "ethereum-core (chain 1), block 1000999 (2026-02-02T02:40:00+00:00)" in words
    assert "dropped: 1 eth_debt_only, 1 no_net_eth_collateral" in words


def test_existing_output_needs_force(chain: FakeChain, tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "book.parquet").write_bytes(b"earlier")
    result = runner.invoke(app, _fetch(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --output={str(tmp_path / 'book.parquet')!r} exists; give --force to replace "
        "it or another name."]
    assert (tmp_path / "book.parquet").read_bytes() == b"earlier" and chain.calls_made == 0
    forced = runner.invoke(app, [*_fetch(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "3 accounts of 5 borrowers at block 1000999 (dropped: 1 eth_debt_only, 1 " \
        "no_net_eth_collateral); 8 RPC requests." in " ".join(forced.stdout.split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--market", "ethereum-cor"], "market='ethereum-cor' is not known; give one of "
         "ethereum-core; did you mean ethereum-core?"),
        (["--chunk-blocks", "0"], "--chunk-blocks=0 must be at least 1."),
        (["--block", "-5"], "--block=-5 must be a block number >= 0."),
        (["--block", "2000000"], "block 2000000 is after the chain head 1000999."),
        (["--from-block", "1001000", "--block", "1000999"],
         "--from-block=1001000 is after the block 1000999; give an earlier start."),
    ],
    ids=["market", "chunk", "negative-block", "future-block", "from-after-block"],
)
def test_bad_options_exit_2_with_one_line(chain: FakeChain, tmp_path: Path, argv: list[str],
                                          message: str) -> None:
    result = CliRunner().invoke(app, [*_fetch(tmp_path), *argv])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
    assert not (tmp_path / "book.parquet").exists()


def test_rpc_from_the_environment_or_missing(chain: FakeChain, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["book", "fetch", "-o", str(tmp_path / "b.parquet"), "--from-block", "1000000"]
    missing = CliRunner().invoke(app, argv)
    assert missing.exit_code == 2
    assert missing.stderr.strip() == ("error: --rpc is missing; give the JSON-RPC URL or set "
                                      "DELEVER_RPC_URL.")
    monkeypatch.setenv(book_cmds.RPC_ENV, "http://127.0.0.1:8545")
    assert CliRunner().invoke(app, argv).exit_code == 0
    assert chain.urls == ["http://127.0.0.1:8545"]  # type: ignore[attr-defined]


def test_missing_rpc_client_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_client(name: str, package: str | None = None) -> ModuleType:
        if name == "delever.sources.chain.rpc":
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_client)
    result = CliRunner().invoke(app, _fetch(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: book fetch needs delever.sources.chain.rpc")
    assert len(result.stderr.strip().splitlines()) == 1


def test_interrupted_fetch_resumes(chain: FakeChain, tmp_path: Path) -> None:
    chain.fail_logs_at = 3  # resolve, one range of 250 blocks, then the node fails
    runner = CliRunner()
    failed = runner.invoke(app, _fetch(tmp_path))
    assert failed.exit_code == 2
    assert failed.stderr.strip() == "error: rpc: connection reset by peer"
    state = json.loads((tmp_path / "book.parquet.partial.json").read_text())
    assert state["ranges"] == [[1_000_000, 1_000_249]]
    chain.log_requests.clear()
    done = runner.invoke(app, _fetch(tmp_path))
    assert done.exit_code == 0, done.output
    assert chain.log_requests == [(1_000_250, 1_000_499), (1_000_500, 1_000_749),
                                  (1_000_750, 1_000_999)]
    assert not (tmp_path / "book.parquet.partial.json").exists()


def _cascade(runner: CliRunner, *argv: str) -> dict[str, Any]:
    result = runner.invoke(app, ["cascade", *argv, "--shock-pct", "40", "--impact-y", "1",
                                 "--sigma-daily", "0.04", "--adv-eth", "500000", "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_cascade_takes_the_parquet_book_and_the_scenario_key(chain: FakeChain,
                                                             tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, _fetch(tmp_path)).exit_code == 0
    book = tmp_path / "book.parquet"
    # The same three rows as a CSV book: the cascade must give the same numbers.
    csv = tmp_path / "book.csv"
    csv.write_text("account,collateral_eth,debt_usd,liquidation_threshold,liquidation_bonus,"
                   f"emode\na,10,10000,0.83,0.05,false\nb,{6.0 - 3.0 / 0.955!r},2000,0.955,"
                   "0.01,true\nc,2,5000,0.8,0.05,false\n")
    from_parquet = _cascade(runner, "--book", str(book), "--price-usd", "2000")
    from_csv = _cascade(runner, "--book", str(csv), "--price-usd", "2000")
    assert from_parquet["book"]["source"] == str(book)
    assert from_parquet["book"]["accounts"] == 3
    assert {k: v for k, v in from_parquet.items() if k != "book"} == \
        {k: v for k, v in from_csv.items() if k != "book"}
    assert from_parquet["accounts_liquidated"] >= 1  # C (HF 0.64 in the book) at least

    scenario = tmp_path / "s.toml"
    text = builtin_scenario_text("trend-2026").replace(
        "[book]\n", '[book]\nfile = "book.parquet"\n', 1)
    scenario.write_text(text)
    by_key = _cascade(runner, str(scenario), "--price-usd", "2000")
    assert by_key["book"]["accounts"] == 3 and str(book) in by_key["book"]["source"]
    assert by_key["final_price_usd"] == from_parquet["final_price_usd"]
    without = _cascade(runner, "trend-2026", "--price-usd", "2000")
    assert without["book"]["accounts"] == 2_000  # no key: the synthetic draw as before

    scenario.write_text(text.replace('file = "book.parquet"', 'file = "nope.parquet"'))
    bad = runner.invoke(app, ["cascade", str(scenario), "--shock-pct", "10"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().startswith("error: book.file='nope.parquet': no such file")
