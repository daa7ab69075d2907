"""A local Ethereum JSON-RPC node serving a small Aave v3 market, for the chain reader's tests.

How it was made: a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) answers ``eth_chainId``,
``eth_blockNumber``, ``eth_getBlockByNumber``, ``eth_getCode``, ``eth_call`` and
``eth_getLogs``. ``eth_call`` dispatches on (to, 4-byte selector) to handlers whose return
values are ABI-encoded with eth-abi; Multicall3 ``aggregate3`` runs each inner call the same
way. Function signatures are written out here again from the Solidity (aave-dao/aave-v3-origin
v3.6.0 ``IPool.sol``, ``IPoolDataProvider.sol``, ``IAaveOracle.sol``,
``IPoolAddressesProvider.sol``, ``IDefaultInterestRateStrategyV2.sol``; mds1/multicall3
``IMulticall3.sol``), not imported from delever, so a wrong ABI in the reader fails here.

State: the risk parameters (LTV, LT, bonus, reserve factor), rates and indexes of WETH,
wstETH, weETH, USDC and USDT are the rows of 2026-02-01T00:24Z of
``src/delever/data/aave/th3nolo_aave_v3_reserves_daily_excerpt.csv.gz`` (th3nolo/aave-v3-data,
on-chain values of Aave v3 Ethereum Core). Contract and token addresses are the Core market's
from bgd-labs/aave-address-book ``src/AaveV3Ethereum.sol``. ILLUSTRATIVE, not chain values:
the oracle prices, total supplies (set so that utilization equals the CSV's implied
supply_rate / (borrow_rate * (1 - RF))), caps, protocol fees, rate-strategy parameters, the
reserve ids, a LINK reserve delever does not model, the e-mode category 1 (93% / 95% / 1%, as
delever's ETH_CORRELATED_EMODE cites) and a second category, and the accounts. Indexes are
taken as updated at this block, so normalized income / debt equal the stored indexes.

``getUserAccountData`` is computed by :func:`account_data`, a small integer transcription of
``GenericLogic.calculateUserAccountData`` and ``calculateAvailableBorrows`` (v3.6.0), written
from the Solidity and independent of ``delever.protocol``.

Fault modes (attributes of :class:`FakeChain`): ``http_429_times``, ``rpc_limit_times``,
``slow_s`` / ``slow_times``, ``malformed_times``, ``chain_id``, ``revert`` (a set of
(address, function name)), ``no_code`` (addresses with no code), ``has_finalized`` and
``multicall`` (Multicall3 deployed or not).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector

CSV = (Path(__file__).resolve().parents[2] / "src" / "delever" / "data" / "aave"
       / "th3nolo_aave_v3_reserves_daily_excerpt.csv.gz")
SNAPSHOT = "2026-02-01T00:24:53.217777+00:00"

# bgd-labs/aave-address-book @ f61c9762, src/AaveV3Ethereum.sol
PROVIDER = "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e"
POOL = "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2"
ORACLE = "0x54586bE62E3c3580375aE3723C145253060Ca0C2"
DATA_PROVIDER = "0x0a16f2FCC0D44FaE41cc54e079281D84A363bECD"
STRATEGY = "0x9ec6F08190DeA04A54f8Afc53Db96134e5E3FdFB"  # WETH_INTEREST_RATE_STRATEGY
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"  # mds1/multicall3 README
MOVED_POOL = "0x" + "9" * 40  # where a test moves the Pool to

RAY = 10**27
WAD = 10**18
UINT256_MAX = 2**256 - 1

# symbol: (underlying, aToken, vToken) from src/AaveV3Ethereum.sol; LINK's too.
TOKENS = {
    "WETH": ("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
             "0x4d5F47FA6A74757f35C14fD3a6Ef8E3C9BC514E8",
             "0xeA51d7853EEFb32b6ee06b1C12E6dcCA88Be0fFE"),
    "wstETH": ("0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0",
               "0x0B925eD163218f6662a35e0f0371Ac234f9E9371",
               "0xC96113eED8cAB59cD8A66813bCB0cEb29F06D2e4"),
    "USDC": ("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
             "0x98C23E9d8f34FEFb1B7BD6a91B7FF122F4e16F5c",
             "0x72E95b8931767C79bA4EeE721354d6E99a61D004"),
    "LINK": ("0x514910771AF9Ca656af840dff83E8264EcF986CA",
             "0x5E8C8A7243651DB1384C0dDfDbE39761E8e7E51a",
             "0x4228F8895C7dDA20227F6a5c6751b8Ebf19a6ba8"),
    "USDT": ("0xdAC17F958D2ee523a2206206994597C13D831ec7",
             "0x23878914EFE38d27C4D67Ab83ed1b93A74D4086a",
             "0x6df1C1E379bC5a00a7b4C6e67A203333772f45A8"),
    "weETH": ("0xCd5fE23C85820F7B72D0926FC9b05b43E359b7ee",
              "0xBdfa7b7893081B35Fb54027489e2Bc7A38275129",
              "0x77ad9BF13a52517AD698D65913e8D381300c8Bf3"),
}
# Illustrative (see the module docstring): reserve id, decimals, price in 8-decimal USD,
# total aToken supply in tokens, protocol fee bps, supply cap, borrow cap (whole tokens).
ILLUSTRATIVE = {
    "WETH": (0, 18, 230_012_345_678, 2_500_000, 1000, 3_200_000, 2_900_000),
    "wstETH": (1, 18, 281_765_123_456, 1_100_000, 1000, 1_500_000, 12_000),
    "USDC": (3, 6, 99_990_000, 3_000_000_000, 1000, 4_000_000_000, 3_700_000_000),
    "LINK": (5, 18, 1_512_345_678, 15_000_000, 1000, 20_000_000, 1_000_000),
    "USDT": (8, 6, 100_010_000, 4_000_000_000, 1000, 6_000_000_000, 5_500_000_000),
    "weETH": (20, 18, 249_563_394_000, 1_400_000, 1000, 2_800_000, 30_000),
}
LINK_RISK = (5300, 6800, 10700, 2000)  # illustrative LTV, LT, bonus, RF (bps)
RATE_DATA_BPS = (9000, 0, 270, 8000)  # illustrative optimal, base, slope1, slope2 (bps)


def _ray(text: str) -> int:
    return int(Decimal(text) * RAY)


def _bps(text: str) -> int:
    return int(Decimal(text) * 10_000)


@dataclass
class Reserve:
    symbol: str
    underlying: str
    a_token: str
    v_token: str
    reserve_id: int
    decimals: int
    ltv: int  # bps
    lt: int
    bonus: int  # includes 10000
    reserve_factor: int
    protocol_fee: int
    supply_cap: int
    borrow_cap: int
    liquidity_index: int  # ray
    variable_borrow_index: int
    liquidity_rate: int
    variable_borrow_rate: int
    price: int  # 8-decimal USD
    total_atoken: int  # units
    total_debt: int

    @property
    def unit(self) -> int:
        return int(10**self.decimals)


def load_reserves() -> dict[str, Reserve]:
    """The fixture's reserves: CSV rows of ``SNAPSHOT`` plus the illustrative values."""
    rows: dict[str, list[str]] = {}
    with gzip.open(CSV, "rt") as fh:
        header = fh.readline().strip().split(",")
        for line in fh:
            cells = line.strip().split(",")
            if cells[0] == SNAPSHOT:
                rows[cells[1]] = cells
    col = {name: k for k, name in enumerate(header)}
    out = {}
    for symbol, (rid, dec, price, supply_tokens, fee, scap, bcap) in ILLUSTRATIVE.items():
        u, a, v = TOKENS[symbol]
        if symbol == "LINK":
            ltv, lt, bonus, rf = LINK_RISK
            li, vi, lr, vr = RAY, RAY, 0, 0
            util = Decimal("0.25")
        else:
            r = rows[symbol]
            ltv, lt = _bps(r[col["loan_to_value"]]), _bps(r[col["liquidation_threshold"]])
            bonus = 10_000 + _bps(r[col["liquidation_bonus"]])
            rf = _bps(r[col["reserve_factor"]])
            lr, vr = _ray(r[col["current_liquidity_rate"]]), _ray(
                r[col["current_variable_borrow_rate"]])
            li, vi = _ray(r[col["liquidity_index"]]), _ray(r[col["variable_borrow_index"]])
            util = Decimal(r[col["current_liquidity_rate"]]) / (
                Decimal(r[col["current_variable_borrow_rate"]]) * (1 - Decimal(rf) / 10_000))
        total = supply_tokens * 10**dec
        out[symbol] = Reserve(symbol, u, a, v, rid, dec, ltv, lt, bonus, rf, fee, scap, bcap,
                              li, vi, lr, vr, price, total, int(util * total))
    return out


@dataclass(frozen=True)
class EMode:
    category_id: int
    label: str
    ltv: int
    lt: int
    bonus: int
    collateral: tuple[str, ...]
    borrowable: tuple[str, ...]


EMODES = (
    EMode(1, "ETH correlated", 9300, 9500, 10100, ("WETH", "wstETH", "weETH"),
          ("WETH", "wstETH", "weETH")),
    EMode(7, "Stablecoins (illustrative)", 9000, 9300, 10200, ("USDC", "USDT"),
          ("USDC", "USDT")),
)


@dataclass
class User:
    emode: int = 0
    scaled_supply: dict[str, int] = field(default_factory=dict)  # aToken scaled balance
    scaled_debt: dict[str, int] = field(default_factory=dict)
    collateral_off: set[str] = field(default_factory=set)  # supplied, not used as collateral


def _scaled(tokens: str, decimals: int, index_ray: int, *, debt: bool) -> int:
    """A scaled balance whose current balance is ``tokens`` or a unit or two above.

    aToken balances are ``rayMulFloor(scaled, index)`` and debt ``rayMulCeil`` (v3.6
    ``TokenMath``). With an index above 1 not every unit count is reachable, so the first
    reachable balance at or above ``tokens`` is taken: the balances stay the short decimals
    written below (at most 15 significant digits), which a float holds exactly.
    """
    target = int(Decimal(tokens).scaleb(decimals))
    guess = target * RAY // index_ray
    for wanted in range(target, target + 3):
        for scaled in range(guess - 2, guess + 4):
            product = scaled * index_ray
            if (-(-product // RAY) if debt else product // RAY) == wanted:
                return scaled
    raise ValueError(f"no scaled balance gives {tokens} at index {index_ray}")


EMODE_USER = "0x" + "a1" * 20
NO_DEBT_USER = "0x" + "b2" * 20
EMPTY_USER = "0x" + "c3" * 20
MIXED_USER = "0x" + "d4" * 20
LINK_USER = "0x" + "e5" * 20
WETH_USER = "0x" + "f6" * 20  # the common leveraged long: WETH against USDT
LOOP_USER = "0x" + "a7" * 20  # a wstETH/WETH loop in e-mode (10 loops of 10 ETH at LTV 0.93)


def make_users(res: dict[str, Reserve]) -> dict[str, User]:
    """The fixture accounts (illustrative amounts).

    MIXED_USER's WETH balance has 18 significant digits, more than a float holds: delever's
    float ``Account`` cannot carry it exactly (the test bounds the difference). The others
    have at most 15.
    """
    def s(sym: str, tokens: str) -> int:
        return _scaled(tokens, res[sym].decimals, res[sym].liquidity_index, debt=False)

    def d(sym: str, tokens: str) -> int:
        return _scaled(tokens, res[sym].decimals, res[sym].variable_borrow_index, debt=True)

    return {
        EMODE_USER: User(1, {"WETH": s("WETH", "12345.6789012345"),
                             "wstETH": s("wstETH", "4321.09876543219")},
                         {"WETH": d("WETH", "15234.5678901234")}),
        NO_DEBT_USER: User(0, {"USDC": s("USDC", "1234567.891234"),
                               "WETH": s("WETH", "2.5")}, {}, {"WETH"}),
        EMPTY_USER: User(),
        MIXED_USER: User(0, {"WETH": s("WETH", "850.123456789012345"),
                             "wstETH": s("wstETH", "310.5")},
                         {"USDC": d("USDC", "1100000.123456"), "USDT": d("USDT", "250000.5")}),
        LINK_USER: User(0, {"LINK": s("LINK", "40000.25"), "WETH": s("WETH", "10")},
                        {"USDC": d("USDC", "30000")}),
        WETH_USER: User(0, {"WETH": s("WETH", "30123.456789123456789")},
                        {"USDT": d("USDT", "41000000.654321")}),
        LOOP_USER: User(1, {"wstETH": s("wstETH", "64.1278663933828")},
                        {"WETH": d("WETH", "68.5566363318939")}),
    }


# --- GenericLogic.calculateUserAccountData (v3.6.0), from the Solidity --------------------
def _ray_mul_floor(a: int, b: int) -> int:
    return a * b // RAY


def _ray_mul_ceil(a: int, b: int) -> int:
    return -(-(a * b) // RAY)


def _mul_div_ceil(a: int, b: int, c: int) -> int:
    return -(-(a * b) // c)


def _wad_div(a: int, b: int) -> int:
    return (a * WAD + b // 2) // b


def supply_units(r: Reserve, user: User) -> int:
    return _ray_mul_floor(user.scaled_supply.get(r.symbol, 0), r.liquidity_index)


def debt_units(r: Reserve, user: User) -> int:
    return _ray_mul_ceil(user.scaled_debt.get(r.symbol, 0), r.variable_borrow_index)


def account_data(res: dict[str, Reserve], user: User) -> tuple[int, int, int, int, int, int]:
    """Pool.getUserAccountData: collateral, debt, available (base), avg LT, avg LTV, HF."""
    emode = next((e for e in EMODES if e.category_id == user.emode), None)
    total_coll = total_debt = avg_ltv = avg_lt = 0
    any_flag = False
    for r in sorted(res.values(), key=lambda x: x.reserve_id):
        supplied, owed = supply_units(r, user), debt_units(r, user)
        enabled = supplied > 0 and r.symbol not in user.collateral_off
        any_flag |= enabled or owed > 0
        if enabled:
            value = supplied * r.price // r.unit
            total_coll += value
            in_emode = emode is not None and r.symbol in emode.collateral
            ltv = emode.ltv if in_emode and emode else r.ltv
            lt = emode.lt if in_emode and emode else r.lt
            avg_ltv += value * ltv
            avg_lt += value * lt
        if owed > 0:
            total_debt += _mul_div_ceil(owed, r.price, r.unit)
    if not any_flag:
        return (0, 0, 0, 0, 0, UINT256_MAX)
    hf = UINT256_MAX if total_debt == 0 else _wad_div(avg_lt, total_debt) // 10_000
    avg_ltv = avg_ltv // total_coll if total_coll else 0
    avg_lt = avg_lt // total_coll if total_coll else 0
    borrowable = total_coll * avg_ltv // 10_000  # percentMulFloor
    available = borrowable - total_debt if borrowable > total_debt else 0
    return (total_coll, total_debt, available, avg_lt, avg_ltv, hf)


# --- the node -------------------------------------------------------------------------------
class RevertError(Exception):
    """A handler's revert."""


Handler = Callable[[tuple[Any, ...]], tuple[Any, ...]]


class FakeChain:
    """The market above behind a JSON-RPC server; use as a context manager."""

    def __init__(self) -> None:
        self.reserves = load_reserves()
        self.users = make_users(self.reserves)
        self.chain_id = 1
        self.block = 24_000_000
        # the reserve rows' time (SNAPSHOT), as the block's header time
        self.block_timestamp = 1_769_905_493
        self.finalized_lag = 64
        self.has_finalized = True
        self.multicall = True
        self.pool = POOL
        self.http_429_times = 0
        self.rpc_limit_times = 0
        self.slow_s = 0.0
        self.slow_times = 0
        self.malformed_times = 0
        self.revert: set[tuple[str, str]] = set()
        self.no_code: set[str] = set()
        self.methods: Counter[str] = Counter()
        self.logs: list[dict[str, Any]] = []
        self._table = self._handlers()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeChain:
        chain = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, payload = chain.answer(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # --- JSON-RPC ---------------------------------------------------------------------------
    def answer(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        method = request["method"]
        self.methods[method] += 1
        if self.http_429_times > 0:
            self.http_429_times -= 1
            return 429, b'{"message": "Too Many Requests"}'
        if self.slow_times > 0:
            self.slow_times -= 1
            time.sleep(self.slow_s)
        if self.malformed_times > 0:
            self.malformed_times -= 1
            return 200, b'{"jsonrpc": "2.0", "id": 1, "result": "0x1'
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if self.rpc_limit_times > 0:
            self.rpc_limit_times -= 1
            reply["error"] = {"code": -32005, "message": "daily request rate limit exceeded"}
            return 200, json.dumps(reply).encode()
        try:
            reply["result"] = self._method(method, request.get("params", []))
        except RevertError:
            reply["error"] = {"code": 3, "message": "execution reverted", "data": "0x"}
        except KeyError as exc:
            reply["error"] = {"code": -32601, "message": f"unsupported {exc}"}
        return 200, json.dumps(reply).encode()

    def _method(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_blockNumber":
            return hex(self.block)
        if method == "eth_getBlockByNumber":
            tag = params[0]
            if tag == "finalized":
                if not self.has_finalized:
                    raise KeyError("finalized")
                return {"number": hex(self.block - self.finalized_lag)}
            number = hex(self.block) if tag == "latest" else tag
            return {"number": number, "timestamp": hex(self.block_timestamp)}
        if method == "eth_getCode":
            return "0x6080" if self._has_code(params[0]) else "0x"
        if method == "eth_call":
            return "0x" + self.call(params[0]["to"], bytes.fromhex(params[0]["data"][2:])).hex()
        if method == "eth_getLogs":
            return self.logs
        raise KeyError(method)

    def _has_code(self, address: str) -> bool:
        a = address.lower()
        if a in {x.lower() for x in self.no_code}:
            return False
        if a == MULTICALL3.lower():
            return self.multicall
        return a in {k[0] for k in self._table} or a == self.pool.lower()

    def call(self, to: str, data: bytes) -> bytes:
        """One call: (to, selector) -> handler -> ABI-encoded return (b"" without code)."""
        to_l = to.lower()
        if to_l == POOL.lower() and self.pool != POOL:
            to_l = "moved-away"  # the old address no longer answers as the Pool
        elif to_l == self.pool.lower():
            to_l = POOL.lower()
        if not self._has_code(to) and to_l != POOL.lower():
            return b""  # calling an account without code succeeds with no data
        entry = self._table.get((to_l, data[:4]))
        if entry is None:
            raise RevertError
        name, inputs, outputs, handler = entry
        if (to.lower(), name) in {(a.lower(), n) for a, n in self.revert}:
            raise RevertError
        args = tuple(decode(list(inputs), data[4:]))
        return encode(list(outputs), list(handler(args)))

    def _handlers(self) -> dict[tuple[str, bytes], tuple[str, tuple[str, ...], tuple[str, ...],
                                                           Handler]]:
        table: dict[tuple[str, bytes], tuple[str, tuple[str, ...], tuple[str, ...], Handler]] = {}

        def add(address: str, signature: str, outputs: str, handler: Handler) -> None:
            name, _, rest = signature.partition("(")
            inputs = tuple(x for x in _split_types(rest[:-1]) if x)
            selector = function_signature_to_4byte_selector(signature)
            table[(address.lower(), selector)] = (name, inputs, tuple(_split_types(outputs)),
                                                  handler)

        self._add_provider(add)
        self._add_pool(add)
        self._add_data_provider(add)
        add(ORACLE, "getAssetsPrices(address[])", "uint256[]",
            lambda a: ([self._by_address(x).price for x in a[0]],))
        add(STRATEGY, "getInterestRateDataBps(address)", "uint16,uint32,uint32,uint32",
            lambda a: RATE_DATA_BPS)
        add(MULTICALL3, "aggregate3((address,bool,bytes)[])", "(bool,bytes)[]", self._aggregate3)
        return table

    def _add_provider(self, add: Callable[..., None]) -> None:
        add(PROVIDER, "getPool()", "address", lambda a: (self.pool,))
        add(PROVIDER, "getPriceOracle()", "address", lambda a: (ORACLE,))
        add(PROVIDER, "getPoolDataProvider()", "address", lambda a: (DATA_PROVIDER,))

    def _add_pool(self, add: Callable[..., None]) -> None:
        ordered = sorted(self.reserves.values(), key=lambda r: r.reserve_id)
        add(POOL, "getReservesList()", "address[]", lambda a: ([r.underlying for r in ordered],))
        add(POOL, "getReserveData(address)",
            "uint256,uint128,uint128,uint128,uint128,uint128,uint40,uint16,address,address,"
            "address,address,uint128,uint128,uint128", self._pool_reserve_data)
        add(POOL, "getVirtualUnderlyingBalance(address)", "uint128",
            lambda a: (self._by_address(a[0]).total_atoken - self._by_address(a[0]).total_debt,))
        add(POOL, "getUserAccountData(address)", "uint256,uint256,uint256,uint256,uint256,uint256",
            lambda a: account_data(self.reserves, self._user(a[0])))
        add(POOL, "getUserEMode(address)", "uint256", lambda a: (self._user(a[0]).emode,))
        by_id = {e.category_id: e for e in EMODES}
        add(POOL, "getEModeCategoryCollateralConfig(uint8)", "uint16,uint16,uint16",
            lambda a: ((e.ltv, e.lt, e.bonus) if (e := by_id.get(a[0])) else (0, 0, 0)))
        add(POOL, "getEModeCategoryLabel(uint8)", "string",
            lambda a: (by_id[a[0]].label if a[0] in by_id else "",))
        add(POOL, "getEModeCategoryCollateralBitmap(uint8)", "uint128",
            lambda a: (self._bitmap(by_id[a[0]].collateral) if a[0] in by_id else 0,))
        add(POOL, "getEModeCategoryBorrowableBitmap(uint8)", "uint128",
            lambda a: (self._bitmap(by_id[a[0]].borrowable) if a[0] in by_id else 0,))

    def _add_data_provider(self, add: Callable[..., None]) -> None:
        dp = DATA_PROVIDER
        add(dp, "getAllReservesTokens()", "(string,address)[]",
            lambda a: ([(r.symbol, r.underlying) for r in self.reserves.values()],))
        add(dp, "getReserveConfigurationData(address)",
            "uint256,uint256,uint256,uint256,uint256,bool,bool,bool,bool,bool",
            lambda a: (lambda r: (r.decimals, r.ltv, r.lt, r.bonus, r.reserve_factor, r.lt > 0,
                                  True, False, True, False))(self._by_address(a[0])))
        add(dp, "getReserveCaps(address)", "uint256,uint256",
            lambda a: (lambda r: (r.borrow_cap, r.supply_cap))(self._by_address(a[0])))
        add(dp, "getLiquidationProtocolFee(address)", "uint256",
            lambda a: (self._by_address(a[0]).protocol_fee,))
        add(dp, "getReserveData(address)", ",".join(["uint256"] * 11 + ["uint40"]),
            lambda a: (lambda r: (0, 0, r.total_atoken, 0, r.total_debt, r.liquidity_rate,
                                  r.variable_borrow_rate, 0, 0, r.liquidity_index,
                                  r.variable_borrow_index, 1_769_905_493))(
                self._by_address(a[0])))
        add(dp, "getInterestRateStrategyAddress(address)", "address", lambda a: (STRATEGY,))
        add(dp, "getUserReserveData(address,address)",
            ",".join(["uint256"] * 7 + ["uint40", "bool"]), self._user_reserve)

    # --- handlers -------------------------------------------------------------------------
    def _by_address(self, address: str) -> Reserve:
        for r in self.reserves.values():
            if r.underlying.lower() == address.lower():
                return r
        raise RevertError

    def _user(self, address: str) -> User:
        return self.users.get(address.lower(), User())

    def _bitmap(self, symbols: tuple[str, ...]) -> int:
        return sum(1 << self.reserves[s].reserve_id for s in symbols if s in self.reserves)

    def _pool_reserve_data(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        r = self._by_address(args[0])
        return (0, r.liquidity_index, r.liquidity_rate, r.variable_borrow_index,
                r.variable_borrow_rate, 0, 1_769_905_493, r.reserve_id, r.a_token,
                "0x" + "0" * 40, r.v_token, STRATEGY, 0, 0, 0)

    def _user_reserve(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        r, user = self._by_address(args[0]), self._user(args[1])
        supplied, owed = supply_units(r, user), debt_units(r, user)
        enabled = supplied > 0 and r.symbol not in user.collateral_off
        return (supplied, 0, owed, 0, user.scaled_debt.get(r.symbol, 0), 0, r.liquidity_rate,
                0, enabled)

    def _aggregate3(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        results = []
        for target, _allow_failure, data in args[0]:
            try:
                results.append((True, self.call(target, bytes(data))))
            except RevertError:
                results.append((False, b""))
        return (results,)


def _split_types(text: str) -> Iterator[str]:
    """Split ``a,(b,c)[],d`` at top-level commas."""
    depth, start = 0, 0
    for k, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            yield text[start:k]
            start = k + 1
    yield text[start:]


@contextmanager
def running() -> Iterator[FakeChain]:
    """A started :class:`FakeChain`."""
    with FakeChain() as chain:
        yield chain
