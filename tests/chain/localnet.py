"""A real Aave v3.0 market on a local anvil chain, configured from delever's own parameters.

Test-time only. The bytecode is Aave's own: the compiled artifacts of the npm package
``@aave/core-v3@1.19.3`` (BUSL-1.1; its README's latest audit is "V3.0.1 - December 2022",
``Pool.POOL_REVISION = 0x1``, ``pragma solidity 0.8.10``), i.e. the v3.0.x line that delever's
rule set ``"3.0"`` models. The chain is ``anvil`` 1.7.1 from the npm package
``@foundry-rs/anvil`` (MIT OR Apache-2.0). Both are installed by ``npm install`` in
``tests/chain/node`` (package.json pins them) and are never shipped.

Chain id 31337 (anvil's default, the conventional local dev id): a local chain must not
claim mainnet's id 1, or a transaction signed here would be valid there and delever's
``RpcClient(expected_chain_id=1)`` would take it for mainnet.

The market: WETH, wstETH, USDC, USDT with the risk parameters of
``delever.protocol.reserves.RESERVES`` (Ethereum Core, 2026-02-01 snapshot), each reserve's
``DefaultReserveInterestRateStrategy`` from its ``InterestRateCurve`` in force on
``CURVE_DAY``, e-mode category 1 from ``ETH_CORRELATED_EMODE``. Tokens are Aave's
``MintableERC20`` mocks; prices are Aave's ``MockAggregator`` (no setter: ``set_price``
deploys a new one and points ``AaveOracle.setAssetSources`` at it). No periphery
(``UiPoolDataProvider`` is not in @aave/core-v3), so ``ui_pool_data_provider`` is None.

Deployment order (what the contracts require): provider; ACL admin, then ACLManager (its
constructor reads the ACL admin); libraries; Pool and PoolConfigurator implementations (the
provider makes their proxies); tokens, mock feeds, AaveOracle, AaveProtocolDataProvider;
token implementations and one DefaultReserveInterestRateStrategy per reserve; initReserves;
collateral, borrowing, reserve factor, protocol fee, caps; e-mode category 1, then the assets'
category (``setAssetEModeCategory`` needs the reserve's LT below the category's).
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from eth_abi.abi import decode as abi_decode
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, TxParams

from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES, ReserveParams

NODE_DIR = Path(__file__).resolve().parent / "node"
ANVIL = NODE_DIR / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ARTIFACTS = NODE_DIR / "node_modules" / "@aave" / "core-v3" / "artifacts" / "contracts"
AAVE_PACKAGE = "@aave/core-v3@1.19.3"
AAVE_VERSION = "3.0.1"  # the package README's latest audited release (V3.0.1, Dec 2022)
CHAIN_ID = 31337
SYMBOLS: tuple[str, ...] = ("WETH", "wstETH", "USDC", "USDT")
CURVE_DAY = date(2026, 2, 1)  # the day RESERVES were read; each reserve's curve on that day
# Test prices (8-decimal oracle base units), odd digits on purpose to exercise rounding;
# not market data.
INITIAL_PRICES_BASE: Mapping[str, int] = {
    "WETH": 2_512_34567891,
    "wstETH": 3_077_61345679,
    "USDC": 99_987_654,
    "USDT": 100_012_345,
}
# Caps in whole tokens: generous (not mainnet's) so a synthetic book of hundreds of accounts
# fits; PoolConfigurator allows up to MAX_SUPPLY_CAP = 68_719_476_735.
SUPPLY_CAP_TOKENS = 60_000_000_000
BORROW_CAP_TOKENS = 60_000_000_000
LIQUIDITY_USD = 10**10  # what the deployer supplies to each reserve so borrows find cash
GAS = 8_000_000
RPC_BATCH = 1000  # JSON-RPC requests per HTTP batch
DEPLOY_GAS = 29_000_000
LIBRARIES = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic",
             "PoolLogic", "ConfiguratorLogic")


class LocalnetError(RuntimeError):
    """anvil or the npm artifacts are missing, or the chain misbehaved."""


def missing_prerequisites() -> str | None:
    """Why the local market cannot start here (None when it can)."""
    if not ANVIL.is_file():
        return f"anvil not found at {ANVIL}; run `npm install` in {NODE_DIR}"
    if not ARTIFACTS.is_dir():
        return f"Aave artifacts not found at {ARTIFACTS}; run `npm install` in {NODE_DIR}"
    return None


@cache
def artifact(name: str) -> Mapping[str, Any]:
    """The hardhat artifact of contract ``name`` (unique file name under ARTIFACTS)."""
    matches = [p for p in ARTIFACTS.rglob(f"{name}.json") if p.parent.name == f"{name}.sol"]
    if len(matches) != 1:
        raise LocalnetError(f"artifact {name}: {len(matches)} matches under {ARTIFACTS}")
    data: Mapping[str, Any] = json.loads(matches[0].read_text())
    return data


def linked_bytecode(name: str, libraries: Mapping[str, str]) -> str:
    """``name``'s creation bytecode with each library placeholder replaced by its address.

    Placeholders are found by the artifact's ``linkReferences`` (byte offsets into the code).
    """
    art = artifact(name)
    code = art["bytecode"].removeprefix("0x")  # hex with "__$...$__" placeholders
    for _file, libs in art["linkReferences"].items():
        for lib, refs in libs.items():
            address = libraries[lib].removeprefix("0x").lower()
            for ref in refs:
                start, end = 2 * ref["start"], 2 * (ref["start"] + ref["length"])
                code = code[:start] + address + code[end:]
    return "0x" + str(code)


# --- records --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenAddresses:
    """One reserve's contracts."""

    underlying: ChecksumAddress
    a_token: ChecksumAddress
    variable_debt_token: ChecksumAddress
    price_feed: ChecksumAddress


@dataclass(frozen=True)
class GeneratedAccount:
    """An account the seeded generator created: what it supplied and borrowed (units)."""

    address: ChecksumAddress
    emode_category: int
    supplied_units: Mapping[str, int]
    borrowed_units: Mapping[str, int]

    @property
    def has_debt(self) -> bool:
        return bool(self.borrowed_units)


class UserAccountData(NamedTuple):
    """``Pool.getUserAccountData`` (v3.0 IPool.sol), in its order and units."""

    total_collateral_base: int  # USD, 8 decimals
    total_debt_base: int
    available_borrows_base: int
    current_liquidation_threshold: int  # basis points
    ltv: int  # basis points
    health_factor: int  # wad; 2**256 - 1 with no debt


@dataclass(frozen=True)
class AccountSnapshot:
    """One account read at one block: token balances, e-mode and the Pool's account data."""

    address: ChecksumAddress
    block: int
    collateral_units: Mapping[str, int]  # aToken balanceOf, non-zero only
    debt_units: Mapping[str, int]  # variable debt token balanceOf, non-zero only
    emode_category: int
    account_data: UserAccountData


@dataclass
class Market:
    """A deployed Aave v3.0 market on anvil and helpers to drive it."""

    w3: Web3
    rpc_url: str
    deployer: ChecksumAddress  # owner of the provider, ACL admin, pool admin, token minter
    provider: Contract
    pool: Contract
    configurator: Contract
    oracle: Contract
    data_provider: Contract
    tokens: dict[str, TokenAddresses]
    accounts: list[GeneratedAccount] = field(default_factory=list)

    _contracts: dict[tuple[str, str], Contract] = field(default_factory=dict, repr=False)

    # -- contracts ---------------------------------------------------------------------------
    def contract(self, name: str, address: str) -> Contract:
        """Contract ``name`` (an artifact name, e.g. ``"AToken"``) at ``address`` (cached)."""
        key = (name, to_checksum_address(address))
        if key not in self._contracts:
            self._contracts[key] = self.w3.eth.contract(address=key[1], abi=artifact(name)["abi"])
        return self._contracts[key]

    def rpc_batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """JSON-RPC batch: each request's ``result`` in order; LocalnetError on any error."""
        out: list[Any] = []
        for start in range(0, len(requests), RPC_BATCH):
            chunk = requests[start:start + RPC_BATCH]
            body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                    for i, (m, p) in enumerate(chunk)]
            req = urllib.request.Request(self.rpc_url, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as reply:
                answers = sorted(json.loads(reply.read()), key=lambda a: a["id"])
            for answer in answers:
                if "error" in answer:
                    raise LocalnetError(f"{chunk[answer['id']][0]}: {answer['error']}")
                out.append(answer["result"])
        return out

    def send_many(self, txs: Sequence[tuple[str, str, str]]) -> None:
        """Send ``(sender, to, calldata)`` transactions in one block, in order per sender.

        Automine is paused, each sender's nonces are given explicitly, one ``evm_mine`` mines
        them all; LocalnetError if any reverted.
        """
        if not txs:
            return
        senders = sorted({to_checksum_address(f) for f, _, _ in txs})
        counts = self.rpc_batch([("eth_getTransactionCount", [a, "latest"]) for a in senders])
        nonce = {a: int(n, 16) for a, n in zip(senders, counts, strict=True)}
        calls: list[tuple[str, list[Any]]] = []
        for sender, to, data in txs:
            f = to_checksum_address(sender)
            calls.append(("eth_sendTransaction", [{"from": f, "to": to, "data": data,
                                                   "gas": hex(GAS), "gasPrice": "0x0",
                                                   "nonce": hex(nonce[f])}]))
            nonce[f] += 1
        self.rpc_batch([("evm_setAutomine", [False])])
        try:
            hashes = self.rpc_batch(calls)
            self.rpc_batch([("evm_mine", [])])
        finally:
            self.rpc_batch([("evm_setAutomine", [True])])
        receipts = self.rpc_batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        failed = [h for h, r in zip(hashes, receipts, strict=True)
                  if r is None or r["status"] != "0x1"]
        if failed:
            raise LocalnetError(f"{len(failed)} of {len(hashes)} transactions failed, e.g. "
                                f"{failed[0]}")

    def calldata(self, contract: Contract, fn_name: str, *args: Any) -> str:
        return str(contract.encode_abi(fn_name, args=list(args)))

    def erc20(self, symbol: str) -> Contract:
        return self.contract("MintableERC20", self.tokens[symbol].underlying)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def addresses_json(self) -> dict[str, Any]:
        """The ``addresses`` object of the script's JSON line."""
        return {
            "pool_addresses_provider": self.provider.address,
            "pool": self.pool.address,
            "pool_configurator": self.configurator.address,
            "oracle": self.oracle.address,
            "protocol_data_provider": self.data_provider.address,
            "ui_pool_data_provider": None,
            "tokens": {s: t.__dict__ for s, t in self.tokens.items()},
        }

    # -- transactions ------------------------------------------------------------------------
    def send(self, sender: str, fn: Any, gas: int = GAS) -> None:
        """Send contract call ``fn`` from ``sender`` (auto-impersonated); raise on revert."""
        tx: TxParams = {"from": to_checksum_address(sender), "gas": gas,
                          "gasPrice": Web3.to_wei(0, "wei")}
        tx_hash = fn.transact(tx)
        receipt = _receipt(self.w3, tx_hash)
        if receipt["status"] != 1:
            raise LocalnetError(f"transaction {tx_hash.hex()} from {sender} reverted")

    def set_price(self, symbol: str, price_usd: Decimal | str | int) -> int:
        """Point the oracle for ``symbol`` at a new MockAggregator; returns the 8-dp answer."""
        answer = int((Decimal(str(price_usd)) * 10**8).to_integral_value())
        feed = _deploy(self.w3, self.deployer, artifact("MockAggregator"), answer)
        self.send(self.deployer, self.oracle.functions.setAssetSources(
            [self.tokens[symbol].underlying], [feed]))
        old = self.tokens[symbol]
        self.tokens[symbol] = TokenAddresses(old.underlying, old.a_token,
                                             old.variable_debt_token, feed)
        return answer

    def price_base(self, symbol: str, block: BlockIdentifier = "latest") -> int:
        """AaveOracle's price of ``symbol`` in 8-decimal USD units."""
        fn = self.oracle.functions.getAssetPrice(self.tokens[symbol].underlying)
        return int(fn.call(block_identifier=block))

    def fund(self, user: str, symbol: str, units: int) -> None:
        """Mint ``units`` of ``symbol`` to ``user``'s wallet."""
        self.send(self.deployer, self.erc20(symbol).functions.mint(
            to_checksum_address(user), units))

    def supply(self, user: str, symbol: str, units: int) -> None:
        """Supply ``units`` on behalf of ``user`` from the deployer's stock (one transaction).

        A first supply enables the asset as collateral (SupplyLogic.executeSupply).
        """
        self.send(self.deployer, self.pool.functions.supply(
            self.tokens[symbol].underlying, units, to_checksum_address(user), 0))

    def borrow(self, user: str, symbol: str, units: int) -> None:
        """``user`` borrows ``units`` of ``symbol`` at the variable rate (mode 2)."""
        self.send(user, self.pool.functions.borrow(
            self.tokens[symbol].underlying, units, 2, 0, to_checksum_address(user)))

    def set_emode(self, user: str, category_id: int) -> None:
        """``user`` enters e-mode ``category_id`` (0 leaves e-mode)."""
        self.send(user, self.pool.functions.setUserEMode(category_id))

    def time_travel(self, seconds: int) -> int:
        """Advance the chain clock by ``seconds`` and mine a block; returns its number."""
        self.w3.provider.make_request("evm_increaseTime", [int(seconds)])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return int(self.w3.eth.block_number)

    def snapshot(self) -> str:
        """anvil ``evm_snapshot``: an id for ``revert`` (a test that moves prices or time
        reverts so the session's market stays as generated)."""
        return str(self.w3.provider.make_request("evm_snapshot", [])["result"])  # type: ignore[arg-type]

    def revert(self, snapshot_id: str) -> None:
        """anvil ``evm_revert`` to ``snapshot_id`` (consumed; take a new snapshot to reuse)."""
        reply = self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
        if reply.get("result") is not True:
            raise LocalnetError(f"evm_revert({snapshot_id}) failed: {reply}")
        # set_price may have replaced feeds: re-read them from the oracle
        for s, t in list(self.tokens.items()):
            feed = self.oracle.functions.getSourceOfAsset(t.underlying).call()
            self.tokens[s] = TokenAddresses(t.underlying, t.a_token, t.variable_debt_token,
                                            to_checksum_address(feed))

    # -- reads -------------------------------------------------------------------------------
    def user_account_data(self, user: str, block: BlockIdentifier = "latest") -> UserAccountData:
        """``Pool.getUserAccountData`` of ``user``."""
        fn = self.pool.functions.getUserAccountData(to_checksum_address(user))
        return UserAccountData(*(int(x) for x in fn.call(block_identifier=block)))

    def balances_units(
        self, user: str, block: BlockIdentifier = "latest"
    ) -> tuple[dict[str, int], dict[str, int]]:
        """(aToken balances, variable debt balances) of ``user`` in token units, non-zero only."""
        user = to_checksum_address(user)
        coll: dict[str, int] = {}
        debt: dict[str, int] = {}
        for s, t in self.tokens.items():
            a = int(self.contract("AToken", t.a_token).functions.balanceOf(user)
                    .call(block_identifier=block))
            d = int(self.contract("VariableDebtToken", t.variable_debt_token)
                    .functions.balanceOf(user).call(block_identifier=block))
            if a:
                coll[s] = a
            if d:
                debt[s] = d
        return coll, debt

    def read_accounts(
        self, addresses: Sequence[str], block: int | None = None
    ) -> list[AccountSnapshot]:
        """Balances, e-mode and ``getUserAccountData`` of many accounts at one block, in
        JSON-RPC batches (fast: one round trip per ~1000 calls)."""
        block = int(self.w3.eth.block_number) if block is None else block
        tag = hex(block)
        per_user: list[tuple[str, str, str, str]] = []  # (to, data, abi type, label)
        for s, t in self.tokens.items():
            per_user.append((t.a_token, "balanceOf", "uint256", f"c:{s}"))
            per_user.append((t.variable_debt_token, "balanceOf", "uint256", f"d:{s}"))
        calls: list[tuple[str, list[Any]]] = []
        for user in addresses:
            u = to_checksum_address(user)
            for to, fn, _, _ in per_user:
                data = self.calldata(self.contract("AToken", to), fn, u)
                calls.append(("eth_call", [{"to": to, "data": data}, tag]))
            calls.append(("eth_call", [{"to": self.pool.address,
                                        "data": self.calldata(self.pool, "getUserEMode", u)},
                                       tag]))
            calls.append(("eth_call", [{"to": self.pool.address, "data": self.calldata(
                self.pool, "getUserAccountData", u)}, tag]))
        results = self.rpc_batch(calls)
        width = len(per_user) + 2
        out: list[AccountSnapshot] = []
        for i, user in enumerate(addresses):
            row = [bytes.fromhex(r[2:]) for r in results[i * width:(i + 1) * width]]
            coll: dict[str, int] = {}
            debt: dict[str, int] = {}
            for (_, _, _, label), raw in zip(per_user, row, strict=False):
                value = int(abi_decode(["uint256"], raw)[0])
                if value:
                    (coll if label[0] == "c" else debt)[label[2:]] = value
            emode = int(abi_decode(["uint256"], row[-2])[0])
            pool_data = UserAccountData(*(int(x) for x in
                                          abi_decode(["uint256"] * 6, row[-1])))
            out.append(AccountSnapshot(to_checksum_address(user), block, coll, debt, emode,
                                       pool_data))
        return out

    def user_emode(self, user: str, block: BlockIdentifier = "latest") -> int:
        return int(self.pool.functions.getUserEMode(to_checksum_address(user))
                   .call(block_identifier=block))

    def json_line(self) -> str:
        """The one JSON line ``scripts/aave_localnet.py`` prints."""
        return json.dumps({
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "block": int(self.w3.eth.block_number),
            "aave_version": AAVE_VERSION,
            "aave_package": AAVE_PACKAGE,
            "addresses": self.addresses_json(),
            "deployer": self.deployer,
            "accounts": [{"address": a.address, "emode_category": a.emode_category,
                          "has_debt": a.has_debt} for a in self.accounts],
        })


# --- anvil ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_anvil(port: int) -> subprocess.Popen[bytes]:
    """anvil on 127.0.0.1:``port``, automining, zero base fee, any sender impersonated."""
    if (why := missing_prerequisites()) is not None:
        raise LocalnetError(why)
    cmd = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID),
           "--accounts", "1", "--base-fee", "0", "--gas-price", "0", "--auto-impersonate",
           "--gas-limit", "1000000000", "--silent"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise LocalnetError(f"anvil exited ({proc.returncode}): {err.strip()[:300]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise LocalnetError(f"anvil did not listen on 127.0.0.1:{port} within 30 s")


def stop_anvil(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _receipt(w3: Web3, tx_hash: Any) -> Any:
    # automine mines at once, but the receipt can lag the eth_sendTransaction reply a little
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.002)


# --- deployment -----------------------------------------------------------------------------
def _deploy(w3: Web3, sender: str, art: Mapping[str, Any], *args: Any,
            bytecode: str | None = None) -> ChecksumAddress:
    factory = w3.eth.contract(abi=art["abi"], bytecode=bytecode or art["bytecode"])
    tx_hash = factory.constructor(*args).transact(
        {"from": to_checksum_address(sender), "gas": DEPLOY_GAS, "gasPrice": 0})
    receipt = _receipt(w3, tx_hash)
    if receipt["status"] != 1 or receipt["contractAddress"] is None:
        raise LocalnetError(f"deploying {art['contractName']} reverted")
    return to_checksum_address(receipt["contractAddress"])


def _deploy_libraries(w3: Web3, me: str) -> dict[str, str]:
    libs: dict[str, str] = {}
    for name in LIBRARIES:
        libs[name] = _deploy(w3, me, artifact(name))
    # FlashLoanLogic itself links BorrowLogic (its artifact's linkReferences)
    libs["FlashLoanLogic"] = _deploy(w3, me, artifact("FlashLoanLogic"),
                                     bytecode=linked_bytecode("FlashLoanLogic", libs))
    return libs


def _strategy_args(provider: str, reserve: ReserveParams) -> tuple[Any, ...]:
    # v3.0 DefaultReserveInterestRateStrategy(provider, optimalUsageRatio, baseVariableBorrowRate,
    # variableRateSlope1, variableRateSlope2, stableRateSlope1, stableRateSlope2,
    # baseStableRateOffset, stableRateExcessOffset, optimalStableToTotalDebtRatio), all ray;
    # stable borrowing stays disabled, so its parameters are 0; the stable-to-total ratio only
    # has to be <= 1 ray (constructor check), 0.2 ray here.
    optimal, base, slope1, slope2 = reserve.rate_curve_on(CURVE_DAY).ray_params()
    return (provider, optimal, base, slope1, slope2, 0, 0, 0, 0, 2 * 10**26)


def _core(w3: Web3, me: ChecksumAddress) -> tuple[Contract, Contract, Contract]:
    """Provider, ACL, Pool and PoolConfigurator proxies."""
    c = w3.eth.contract
    provider = c(address=_deploy(w3, me, artifact("PoolAddressesProvider"), "Delever local", me),
                 abi=artifact("PoolAddressesProvider")["abi"])

    def tx(fn: Any) -> None:
        h = fn.transact({"from": me, "gas": DEPLOY_GAS, "gasPrice": 0})
        if _receipt(w3, h)["status"] != 1:
            raise LocalnetError("deployment transaction reverted")

    tx(provider.functions.setACLAdmin(me))
    acl_addr = _deploy(w3, me, artifact("ACLManager"), provider.address)
    tx(provider.functions.setACLManager(acl_addr))
    acl = c(address=acl_addr, abi=artifact("ACLManager")["abi"])
    tx(acl.functions.addPoolAdmin(me))
    tx(acl.functions.addRiskAdmin(me))
    libs = _deploy_libraries(w3, me)
    pool_impl = _deploy(w3, me, artifact("Pool"), provider.address,
                        bytecode=linked_bytecode("Pool", libs))
    tx(provider.functions.setPoolImpl(pool_impl))
    conf_impl = _deploy(w3, me, artifact("PoolConfigurator"),
                        bytecode=linked_bytecode("PoolConfigurator", libs))
    tx(provider.functions.setPoolConfiguratorImpl(conf_impl))
    pool = c(address=provider.functions.getPool().call(), abi=artifact("Pool")["abi"])
    conf = c(address=provider.functions.getPoolConfigurator().call(),
             abi=artifact("PoolConfigurator")["abi"])
    return provider, pool, conf


def deploy_market(w3: Web3, rpc_url: str) -> Market:
    """Deploy the whole market with ``w3``'s first account as admin."""
    me = to_checksum_address(w3.eth.accounts[0])
    provider, pool, conf = _core(w3, me)
    c = w3.eth.contract
    underlying = {s: _deploy(w3, me, artifact("MintableERC20"), s, s, RESERVES[s].decimals)
                  for s in SYMBOLS}
    feeds = {s: _deploy(w3, me, artifact("MockAggregator"), INITIAL_PRICES_BASE[s])
             for s in SYMBOLS}
    zero = "0x" + "00" * 20
    oracle_addr = _deploy(w3, me, artifact("AaveOracle"), provider.address,
                          [underlying[s] for s in SYMBOLS], [feeds[s] for s in SYMBOLS],
                          zero, zero, 10**8)
    dp_addr = _deploy(w3, me, artifact("AaveProtocolDataProvider"), provider.address)
    market = Market(
        w3=w3, rpc_url=rpc_url, deployer=me, provider=provider, pool=pool, configurator=conf,
        oracle=c(address=oracle_addr, abi=artifact("AaveOracle")["abi"]),
        data_provider=c(address=dp_addr, abi=artifact("AaveProtocolDataProvider")["abi"]),
        tokens={},
    )
    market.send(me, provider.functions.setPriceOracle(oracle_addr), DEPLOY_GAS)
    market.send(me, provider.functions.setPoolDataProvider(dp_addr), DEPLOY_GAS)
    _init_reserves(market, underlying, feeds)
    _configure_reserves(market)
    _seed_liquidity(market)
    return market


def _init_reserves(market: Market, underlying: Mapping[str, str],
                   feeds: Mapping[str, str]) -> None:
    w3, me, pool = market.w3, market.deployer, market.pool.address
    impls = {n: _deploy(w3, me, artifact(n), pool)
             for n in ("AToken", "StableDebtToken", "VariableDebtToken")}
    inputs = []
    for s in SYMBOLS:
        strategy = _deploy(w3, me, artifact("DefaultReserveInterestRateStrategy"),
                           *_strategy_args(market.provider.address, RESERVES[s]))
        inputs.append((impls["AToken"], impls["StableDebtToken"], impls["VariableDebtToken"],
                       RESERVES[s].decimals, strategy, underlying[s], me,
                       "0x" + "00" * 20, f"Aave {s}", f"a{s}", f"Variable Debt {s}",
                       f"variableDebt{s}", f"Stable Debt {s}", f"stableDebt{s}", b""))
    market.send(me, market.configurator.functions.initReserves(inputs), DEPLOY_GAS)
    for s in SYMBOLS:
        data = market.pool.functions.getReserveData(underlying[s]).call()
        # ReserveData (v3.0 DataTypes.sol): aTokenAddress index 8, variableDebtTokenAddress 10
        market.tokens[s] = TokenAddresses(to_checksum_address(underlying[s]),
                                          to_checksum_address(data[8]),
                                          to_checksum_address(data[10]),
                                          to_checksum_address(feeds[s]))


def _configure_reserves(market: Market) -> None:
    me, conf = market.deployer, market.configurator.functions
    for s in SYMBOLS:
        r, asset = RESERVES[s], market.tokens[s].underlying
        market.send(me, conf.configureReserveAsCollateral(
            asset, r.ltv_bps, r.liquidation_threshold_bps, r.liquidation_bonus_bps))
        market.send(me, conf.setReserveBorrowing(asset, True))
        market.send(me, conf.setReserveFactor(asset, round(r.reserve_factor * 10_000)))
        market.send(me, conf.setLiquidationProtocolFee(asset, r.liquidation_protocol_fee_bps))
        market.send(me, conf.setSupplyCap(asset, SUPPLY_CAP_TOKENS))
        market.send(me, conf.setBorrowCap(asset, BORROW_CAP_TOKENS))
    e = ETH_CORRELATED_EMODE
    market.send(me, conf.setEModeCategory(e.category_id, e.ltv_bps, e.liquidation_threshold_bps,
                                          e.liquidation_bonus_bps, "0x" + "00" * 20, e.label))
    for s in SYMBOLS:
        if s in e.collateral_symbols:
            market.send(me, conf.setAssetEModeCategory(market.tokens[s].underlying,
                                                       e.category_id))


def _seed_liquidity(market: Market) -> None:
    # The deployer mints a large stock of each token (the generator supplies from it), approves
    # the Pool once, and supplies LIQUIDITY_USD worth of each so borrows find cash.
    me = market.deployer
    for s in SYMBOLS:
        unit = RESERVES[s].unit
        stock = LIQUIDITY_USD * 4 * unit * 10**8 // INITIAL_PRICES_BASE[s]
        token = market.erc20(s).functions
        market.send(me, token.mint(me, stock))
        market.send(me, token.approve(market.pool.address, 2**256 - 1))
        market.supply(me, s, stock // 4)


# --- seeded accounts ------------------------------------------------------------------------
def account_address(seed: int, index: int) -> ChecksumAddress:
    """Deterministic address of generated account ``index`` under ``seed``."""
    return to_checksum_address(keccak(f"delever-localnet:{seed}:{index}".encode())[12:])


def generate_accounts(market: Market, seed: int, n_accounts: int) -> list[GeneratedAccount]:
    """Create ``n_accounts`` seeded accounts: 1-3 collaterals, about 40% in ETH e-mode, about 85%
    with debt, borrowing 5% to 99.5% of their LTV capacity (near and far from liquidation).

    Batched in three blocks: every supply (from the deployer's stock, on behalf of the
    account), every ``setUserEMode``, every borrow.
    """
    rng = random.Random(seed)
    prices = {s: market.price_base(s) for s in SYMBOLS}
    plans = [_plan_one(rng, prices, account_address(seed, i)) for i in range(n_accounts)]
    pool, addr = market.pool, market.pool.address
    market.send_many([(market.deployer, addr, market.calldata(
        pool, "supply", market.tokens[s].underlying, u, a.address, 0))
        for a in plans for s, u in a.supplied_units.items()])
    market.send_many([(a.address, addr, market.calldata(pool, "setUserEMode", a.emode_category))
                      for a in plans if a.emode_category])
    market.send_many([(a.address, addr, market.calldata(
        pool, "borrow", market.tokens[s].underlying, u, 2, 0, a.address))
        for a in plans for s, u in a.borrowed_units.items()])
    market.accounts.extend(plans)
    return plans


def _units_for_usd(prices: Mapping[str, int], symbol: str, usd: float,
                   rng: random.Random) -> int:
    unit = RESERVES[symbol].unit
    units = int(usd * 10**8 * unit // prices[symbol])
    return max(1, units + rng.randrange(0, max(1, unit // 1000)))  # odd low digits


def _plan_one(rng: random.Random, prices: Mapping[str, int],
              user: ChecksumAddress) -> GeneratedAccount:
    e = ETH_CORRELATED_EMODE
    emode = rng.random() < 0.4
    eth_assets = [s for s in SYMBOLS if s in e.collateral_symbols]
    collateral = rng.sample(list(SYMBOLS), rng.randint(1, 3))
    if emode and not any(s in eth_assets for s in collateral):
        collateral.append(rng.choice(eth_assets))
    supplied: dict[str, int] = {}
    capacity_usd = 0.0
    for s in collateral:
        usd = 10 ** rng.uniform(2, 6.5)
        supplied[s] = _units_for_usd(prices, s, usd, rng)
        ltv = e.ltv if emode and s in e.collateral_symbols else RESERVES[s].ltv
        capacity_usd += usd * ltv
    borrowed: dict[str, int] = {}
    if rng.random() < 0.85:
        # half far from liquidation, half borrowed to 95-99.5% of the LTV capacity
        share = rng.choice([rng.uniform(0.05, 0.9), rng.uniform(0.95, 0.995)])
        debt_assets = rng.sample(eth_assets if emode else list(SYMBOLS), rng.randint(1, 2))
        for s in debt_assets:
            borrowed[s] = _units_for_usd(prices, s, capacity_usd * share / len(debt_assets),
                                         rng)
    return GeneratedAccount(user, e.category_id if emode else 0, supplied, borrowed)


@contextmanager
def local_market(seed: int = 0, n_accounts: int = 0, port: int | None = None) -> Iterator[Market]:
    """Start anvil, deploy the market, generate ``n_accounts`` seeded accounts; stop on exit."""
    port = port or free_port()
    proc = start_anvil(port)
    try:
        rpc_url = f"http://127.0.0.1:{port}"
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        market = deploy_market(w3, rpc_url)
        generate_accounts(market, seed, n_accounts)
        yield market
    finally:
        stop_anvil(proc)


__all__ = [
    "AAVE_VERSION",
    "CHAIN_ID",
    "AccountSnapshot",
    "GeneratedAccount",
    "LocalnetError",
    "Market",
    "TokenAddresses",
    "UserAccountData",
    "account_address",
    "artifact",
    "deploy_market",
    "generate_accounts",
    "linked_bytecode",
    "local_market",
    "missing_prerequisites",
    "start_anvil",
    "stop_anvil",
]
