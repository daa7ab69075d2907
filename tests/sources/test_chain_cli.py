"""``delever position --address`` end to end against the fake node, and its one-line errors."""

from __future__ import annotations

import json
import socket
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from delever.cli.main import app
from sources.fakechain import (
    EMODE_USER,
    LINK_USER,
    MIXED_USER,
    ORACLE,
    UINT256_MAX,
    FakeChain,
    account_data,
)

KEY = "SECRETKEY0123456789abcdef"


pytestmark = pytest.mark.usefixtures("fast_retries")


@pytest.fixture
def chain(node: FakeChain) -> FakeChain:
    return node



def invoke(*argv: str, env: dict[str, str] | None = None) -> SimpleNamespace:
    result = CliRunner().invoke(app, ["position", *argv], env=env)
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def keyed(url: str) -> str:
    return f"{url}/v2/{KEY}"


def test_json_of_an_emode_account(chain: FakeChain) -> None:
    r = invoke("--address", EMODE_USER, "--rpc", keyed(chain.url), "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    coll, debt, avail, lt, ltv, hf = account_data(chain.reserves, chain.users[EMODE_USER])
    assert out["block"] == chain.block - chain.finalized_lag  # latest finalized
    assert out["market"] == "ethereum-core" and out["address"] == EMODE_USER
    assert out["health_factor_wad"] == str(hf) == out["delever_health_factor_wad"]
    assert out["health_factor"] == hf / 10**18
    assert out["collateral_usd"] == coll / 1e8 and out["debt_usd"] == debt / 1e8
    assert out["available_borrow_usd"] == avail / 1e8
    assert (out["liquidation_threshold"], out["ltv"]) == (lt / 1e4, ltv / 1e4) == (0.95, 0.93)
    assert out["emode_category_id"] == 1 and out["model_note"] == ""
    rows = {row["symbol"]: row for row in out["reserves"]}
    assert set(rows) == {"WETH", "wstETH"}
    assert rows["WETH"]["collateral_units"] == "12345678901234500000000"
    assert rows["WETH"]["collateral_tokens"] == 12345.6789012345
    assert rows["WETH"]["debt_tokens"] == 15234.5678901234
    assert rows["WETH"]["used_as_collateral"] is True
    assert rows["wstETH"]["price_usd"] == 2817.65123456
    assert KEY not in r.out + r.err


def test_block_and_env_url(chain: FakeChain) -> None:
    r = invoke("--address", MIXED_USER, "--block", "23999000", "--json",
               env={"DELEVER_RPC_URL": keyed(chain.url)})
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["block"] == 23_999_000
    hf = account_data(chain.reserves, chain.users[MIXED_USER])[5]
    assert out["health_factor_wad"] == str(hf)
    # all collateral ETH-correlated, all debt stablecoins: HF is proportional to the ETH
    # price, so HF = 1 at p / HF
    assert out["liquidation_price_usd"] == pytest.approx(2300.12345678 / (hf / 1e18), rel=1e-6)
    assert KEY not in r.out + r.err


def test_unmodelled_reserve_note(chain: FakeChain) -> None:
    r = invoke("--address", LINK_USER, "--rpc", chain.url, "--json")
    out = json.loads(r.out)
    assert out["model_note"].startswith("delever cannot model LINK")
    assert out["health_factor_wad"] == str(account_data(chain.reserves,
                                                        chain.users[LINK_USER])[5])


def test_table_output(chain: FakeChain) -> None:
    r = invoke("--address", EMODE_USER, "--rpc", keyed(chain.url))
    assert r.code == 0, r.err
    assert "1099937573898381316" in r.out and "wstETH" in r.out and KEY not in r.out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fault(chain: FakeChain, name: str) -> str:
    """Set up fault ``name``; return the start of the expected error line."""
    if name == "wrong-chain":
        chain.chain_id = 10
        return "RPC {url}/v2/*** is on chain id 10, expected 1;"
    if name == "malformed":
        chain.malformed_times = 1
        return "RPC {url}/v2/*** sent a malformed reply to eth_chainId (not JSON)."
    if name == "rate-limit":
        chain.http_429_times = 100
        return "RPC {url}/v2/***: eth_chainId failed 4 times, last rate limited (HTTP 429);"
    if name == "revert":
        chain.revert.add((ORACLE, "getAssetsPrices"))
        return f"AaveOracle.getAssetsPrices at {ORACLE} reverted at block 23999936."
    if name == "no-code":
        chain.no_code.add(ORACLE)
        return f"ethereum-core AaveOracle {ORACLE} is not a contract at block 23999936"
    raise AssertionError(name)


@pytest.mark.parametrize("fault", ["wrong-chain", "malformed", "rate-limit", "revert",
                                   "no-code"])
def test_failure_is_one_line_exit_2(chain: FakeChain, fault: str) -> None:
    expected = _fault(chain, fault).format(url=chain.url)
    r = invoke("--address", EMODE_USER, "--rpc", keyed(chain.url), "--json")
    assert r.code == 2, (r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + expected), r.err
    assert r.out == "" and KEY not in r.err and "Traceback" not in r.err


def test_unreachable_rpc(chain: FakeChain) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v2/{KEY}"
    r = invoke("--address", EMODE_USER, "--rpc", url)
    assert r.code == 2
    assert r.err.strip().endswith("/v2/*** is unreachable (eth_chainId); check the URL and the "
                                  "network.")
    assert KEY not in r.err


@pytest.mark.parametrize("address", ["0x123", "a1" * 21, "0x" + "g1" * 20, "0x" + "a1" * 21])
def test_bad_address_before_any_request(chain: FakeChain, address: str) -> None:
    r = invoke("--address", address, "--rpc", chain.url)
    assert r.code == 2
    assert r.err.strip() == f"error: --address {address!r} must be 0x followed by 40 hex digits."
    assert sum(chain.methods.values()) == 0


def test_missing_rpc_and_offline_options(chain: FakeChain) -> None:
    r = invoke("--address", EMODE_USER, env={"DELEVER_RPC_URL": ""})
    assert r.code == 2 and "give --rpc URL or set DELEVER_RPC_URL" in r.err
    r = invoke("--address", EMODE_USER, "--rpc", chain.url, "--collateral-eth", "1")
    assert r.code == 2 and "--collateral-eth does not apply with --address" in r.err
    r = invoke("--address", EMODE_USER, "--rpc", chain.url, "--market", "ethereum-cor")
    assert r.code == 2 and "Did you mean 'ethereum-core'" in r.err
    assert sum(chain.methods.values()) == 0


def test_without_address_as_before() -> None:
    r = invoke("--debt-usd", "100000", "--price-usd", "2000")
    assert (r.code, r.err) == (2, "error: missing option --collateral-eth; see 'delever "
                                  "position --help'\n")
    r = invoke("--collateral-eth", "100", "--debt-usd", "100000", "--price-usd", "2000",
               "--json")
    out = json.loads(r.out)
    # 100 ETH * $2,000 * LT 0.83 / $100,000 = 1.66
    assert out["health_factor"] == pytest.approx(1.66, rel=1e-12)
    assert "block" not in out


def test_help_never_shows_the_url(chain: FakeChain) -> None:
    r = invoke("--help", env={"DELEVER_RPC_URL": keyed(chain.url)})
    assert r.code == 0 and "--address" in r.out and "DELEVER_RPC_URL" in r.out
    assert KEY not in r.out


def test_no_debt_json_health_factor_is_max(chain: FakeChain) -> None:
    from sources.fakechain import NO_DEBT_USER

    r = invoke("--address", NO_DEBT_USER, "--rpc", chain.url, "--json")
    out = json.loads(r.out)
    assert out["health_factor_wad"] == str(UINT256_MAX)
    assert out["debt_usd"] == 0.0


def test_stablecoin_emode_keeps_the_chain_figures(chain: FakeChain) -> None:
    # e-mode 7 (the fixture's stablecoin category): delever's Account allows ETH-denominated
    # e-mode debt only, so the model is refused in one line and the chain's figures remain.
    chain.users[MIXED_USER].emode = 7
    r = invoke("--address", MIXED_USER, "--rpc", chain.url, "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["health_factor_wad"] == str(account_data(chain.reserves,
                                                        chain.users[MIXED_USER])[5])
    assert out["delever_health_factor_wad"] is None
    assert out["model_note"].startswith(f"account {MIXED_USER} (e-mode 7) cannot be modelled "
                                        "by delever: debt.USDC: the ETH-correlated e-mode")


def test_negative_block_before_any_request(chain: FakeChain) -> None:
    r = invoke("--address", EMODE_USER, "--rpc", chain.url, "--block", "-1")
    assert r.code == 2 and "--block -1 must be a block number >= 0." in r.err
    assert sum(chain.methods.values()) == 0
