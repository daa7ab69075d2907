"""One Morpho Blue position and its market read at a pinned block, in delever's Morpho types.

Sources (each address and ABI below cites one of them):

- morpho-org/morpho-blue @ 3085651a79553bbabbfd8be309c262dab45b686e: ``src/interfaces/IMorpho.sol``
  (``idToMarketParams``, ``market``, ``position`` and the ``MarketParams`` / ``Market`` structs),
  ``src/interfaces/IOracle.sol`` (``price()``: one collateral asset quoted in loan assets,
  scaled by 1e36 and by ``10**(loan decimals - collateral decimals)``),
  ``src/interfaces/IIrm.sol`` (``borrowRateView``), ``src/libraries/MarketParamsLib.sol``
  (the id is ``keccak256`` of the five 32-byte fields, i.e. of ``abi.encode(marketParams)``),
  ``src/Morpho.sol`` (``_isHealthy``, ``_accrueInterest``).
- morpho-org/morpho-blue-irm @ a1a87fd5a7ee13873ea9d2bbd87e9c7b2cdbbef3:
  ``src/adaptive-curve-irm/interfaces/IAdaptiveCurveIrm.sol`` (``rateAtTarget(Id)``, int256).
- morpho-org/sdks @ 0205e12aff58a500f8fc46958184d8593dc28a80
  ``packages/blue-sdk/src/addresses.ts`` (``ChainId.EthMainnet``: ``morpho``,
  ``adaptiveCurveIrm``, ``usdc``, ``usdt``, ``dai``).

Every figure is the contracts' integer; the health check is delever's transcription of
``_isHealthy`` (:mod:`delever.protocol.morpho.market`). ``market(id)`` holds the totals as of
``lastUpdate``: when that is older than the block, interest is accrued to the block's time as
``_accrueInterest`` would (AdaptiveCurveIRM: delever's IRM from ``rateAtTarget``; another IRM:
its ``borrowRateView`` at the block); failing both the figures are at ``lastUpdate`` and
``accrual_note`` says so.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from delever.protocol.morpho import MorphoBlue
from delever.protocol.morpho.market import (
    MarketParams,
    MarketState,
    Position,
    accrue_interest,
    borrowed_assets,
    is_healthy,
    max_borrow,
)
from delever.protocol.morpho.math import (
    ORACLE_PRICE_SCALE,
    WAD,
    to_shares_down,
    w_mul_down,
    w_taylor_compounded,
)
from delever.sources import SourceError
from delever.sources.chain.abi import Fn
from delever.sources.chain.markets import checksum, require_code
from delever.sources.chain.rpc import RpcClient, is_address

# morpho-org/sdks @ 0205e12a packages/blue-sdk/src/addresses.ts, ChainId.EthMainnet.morpho
MORPHO_BLUE = "0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb"
# same file, ChainId.EthMainnet.adaptiveCurveIrm
ADAPTIVE_CURVE_IRM = "0x870aC11D48B15DB9a138Cf899d20F13F79Ba00BC"
# same file, ChainId.EthMainnet.usdc / .usdt / .dai: loan tokens whose price is taken as $1
USD_STABLECOINS = {
    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48": "USDC",
    "0xdAC17F958D2ee523a2206206994597C13D831ec7": "USDT",
    "0x6B175474E89094C44Da98b954EedeAC495271d0F": "DAI",
}
ZERO_ADDRESS = "0x" + "0" * 40

_PARAMS = "(address,address,address,address,uint256)"  # IMorpho.sol struct MarketParams
_MARKET = "(uint128,uint128,uint128,uint128,uint128,uint128)"  # IMorpho.sol struct Market
# IMorphoStaticTyping (IMorpho.sol): the getters return the struct fields flat.
ID_TO_MARKET_PARAMS = Fn("Morpho", "idToMarketParams", ("bytes32",),
                         ("address", "address", "address", "address", "uint256"))
# totalSupplyAssets, totalSupplyShares, totalBorrowAssets, totalBorrowShares, lastUpdate, fee
MARKET = Fn("Morpho", "market", ("bytes32",), ("uint128",) * 6)
# supplyShares, borrowShares, collateral
POSITION = Fn("Morpho", "position", ("bytes32", "address"), ("uint256", "uint128", "uint128"))
PRICE = Fn("Oracle", "price", (), ("uint256",))  # IOracle.sol
DECIMALS = Fn("ERC20", "decimals", (), ("uint256",))  # uint8, ABI-padded to a word
BORROW_RATE_VIEW = Fn("Irm", "borrowRateView", (_PARAMS, _MARKET), ("uint256",))  # IIrm.sol
RATE_AT_TARGET = Fn("AdaptiveCurveIrm", "rateAtTarget", ("bytes32",), ("int256",))


def is_market_id(text: str) -> bool:
    """Whether ``text`` is ``0x`` and 64 hex digits (a bytes32 market id)."""
    if not (isinstance(text, str) and len(text) == 66 and text[:2] in ("0x", "0X")):
        return False
    return all(c in "0123456789abcdefABCDEF" for c in text[2:])


def market_id_of(loan_token: str, collateral_token: str, oracle: str, irm: str,
                 lltv_wad: int) -> str:
    """MarketParamsLib.id: ``keccak256(abi.encode(marketParams))`` as ``0x`` + 64 hex."""
    data = encode(["address", "address", "address", "address", "uint256"],
                  [loan_token, collateral_token, oracle, irm, lltv_wad])
    return "0x" + keccak(data).hex()


@dataclass(frozen=True)
class LiveMorphoPosition:
    """One account's position in one Morpho Blue market at a block (the contracts' integers).

    ``market_at_last_update`` is ``Morpho.market(id)`` as stored; ``market`` is it with the
    interest to ``block_timestamp`` accrued where the IRM allowed (``accrued``), and is what
    the figures use.
    """

    market_id: str
    user: str
    block: int
    block_timestamp: int
    loan_token: str
    collateral_token: str
    oracle: str
    irm: str
    lltv_wad: int
    loan_decimals: int
    collateral_decimals: int
    oracle_price: int  # IOracle.price(): 1e36-scaled, collateral quoted in loan token
    market_at_last_update: MarketState
    market: MarketState
    position: Position
    borrow_rate_view: int | None  # IIrm.borrowRateView at the block, per second (WAD)
    rate_at_target: int | None  # AdaptiveCurveIrm.rateAtTarget(id), per second (WAD)
    accrued: bool  # the totals include the interest up to block_timestamp
    accrual_note: str

    @property
    def params(self) -> MarketParams:
        """delever's :class:`MarketParams` (LLTV and decimals)."""
        return MarketParams(self.lltv_wad, self.collateral_decimals, self.loan_decimals)

    @property
    def borrow_assets(self) -> int:
        """The debt as ``_isHealthy`` counts it: ``toAssetsUp(borrowShares)`` (loan units)."""
        return borrowed_assets(self.market, self.position)

    @property
    def max_borrow_assets(self) -> int:
        """``collateral.mulDivDown(price, 1e36).wMulDown(lltv)`` (loan units)."""
        return max_borrow(self.params, self.position, self.oracle_price)

    @property
    def healthy(self) -> bool:
        """Morpho's ``_isHealthy`` (true with no borrow shares)."""
        return is_healthy(self.params, self.market, self.position, self.oracle_price)

    @property
    def health_factor(self) -> float:
        """``max_borrow_assets / borrow_assets``: >= 1 exactly when ``healthy``; inf with no
        debt."""
        if self.position.borrow_shares == 0 or self.borrow_assets == 0:
            return math.inf
        return float(Fraction(self.max_borrow_assets, self.borrow_assets))

    @property
    def liquidation_oracle_price(self) -> int | None:
        """The lowest ``IOracle.price()`` at which the position is still healthy: below it,
        ``_isHealthy`` is false. None without debt, and without collateral (no price helps).

        ``floor(floor(c p / 1e36) lltv / 1e18) >= B`` holds iff ``floor(c p / 1e36) >=
        ceil(B 1e18 / lltv)`` iff ``p >= ceil(ceil(B 1e18 / lltv) 1e36 / c)``.
        """
        borrowed = self.borrow_assets
        c = self.position.collateral
        if self.position.borrow_shares == 0 or borrowed == 0 or c == 0 or self.lltv_wad == 0:
            return None
        quoted = -(-borrowed * WAD // self.lltv_wad)
        return -(-quoted * ORACLE_PRICE_SCALE // c)

    @property
    def price_scale(self) -> int:
        """``10**(36 + loan decimals - collateral decimals)``: oracle price per token price."""
        return int(10 ** (36 + self.loan_decimals - self.collateral_decimals))

    @property
    def liquidation_price(self) -> float | None:
        """:attr:`liquidation_oracle_price` in loan tokens per collateral token."""
        raw = self.liquidation_oracle_price
        return None if raw is None else float(Fraction(raw, self.price_scale))

    @property
    def loan_symbol_usd(self) -> str | None:
        """The loan token's symbol when it is a USD stablecoin delever prices at $1."""
        return {k.lower(): v for k, v in USD_STABLECOINS.items()}.get(self.loan_token.lower())

    def to_protocol(self) -> MorphoBlue:
        """delever's float :class:`MorphoBlue` for this market (its LLTV, and the IRM's rate at
        target where known and inside the IRM's bounds)."""
        from delever.protocol.morpho import irm

        lltv = self.lltv_wad / WAD
        if self.rate_at_target is not None and (
                irm.MIN_RATE_AT_TARGET <= self.rate_at_target <= irm.MAX_RATE_AT_TARGET):
            per_year = self.rate_at_target * irm.SECONDS_PER_YEAR / WAD
            per_year = min(max(per_year, irm.MIN_RATE_AT_TARGET_PER_YEAR),
                           irm.MAX_RATE_AT_TARGET_PER_YEAR)
            return MorphoBlue(lltv=lltv, rate_at_target_per_year=per_year)
        return MorphoBlue(lltv=lltv)


def accrue_with_rate(market: MarketState, borrow_rate: int, timestamp: int) -> MarketState:
    """Morpho._accrueInterest for an IRM whose rate is ``borrow_rate`` (per second, WAD)."""
    elapsed = timestamp - market.last_update
    if elapsed <= 0:
        return market
    interest = w_mul_down(market.total_borrow_assets, w_taylor_compounded(borrow_rate, elapsed))
    tsa = market.total_supply_assets + interest
    tss = market.total_supply_shares
    if market.fee != 0:
        fee_amount = w_mul_down(interest, market.fee)
        tss += to_shares_down(fee_amount, tsa - fee_amount, tss)
    return dataclasses.replace(market, total_borrow_assets=market.total_borrow_assets + interest,
                               total_supply_assets=tsa, total_supply_shares=tss,
                               last_update=timestamp)


def _decode(fn: Fn, data: bytes, to: str, block: int) -> tuple[Any, ...]:
    try:
        return fn.decode(data)
    except Exception:
        raise SourceError(
            f"{fn.label} at {to} returned {len(data)} bytes at block {block}, not "
            f"{', '.join(fn.outputs)}; is it the right contract?"
        ) from None


def _read_params(client: RpcClient, morpho: str, market_id: str, user: str,
                 block: int) -> tuple[tuple[Any, ...], MarketState, Position]:
    """``idToMarketParams``, ``market`` and ``position`` in one batch; the id check."""
    key = bytes.fromhex(market_id[2:])
    fns = ((ID_TO_MARKET_PARAMS, (key,)), (MARKET, (key,)), (POSITION, (key, user)))
    raw = client.call_many([(morpho, fn.encode(*args)) for fn, args in fns], block,
                           labels=[fn.label for fn, _ in fns])
    params = _decode(ID_TO_MARKET_PARAMS, raw[0], morpho, block)
    if all(int(x, 16) == 0 if isinstance(x, str) else x == 0 for x in params):
        raise SourceError(
            f"--market-id {market_id} is not a Morpho Blue market at block {block} "
            "(idToMarketParams is empty); check the id and the block.")
    loan, coll, oracle, irm_address, lltv = params
    computed = market_id_of(loan, coll, oracle, irm_address, lltv)
    if computed.lower() != market_id.lower():
        raise SourceError(
            f"Morpho.idToMarketParams({market_id}) gives parameters whose id is {computed}, "
            "not the one asked; refusing them.")
    market = MarketState(*_decode(MARKET, raw[1], morpho, block))
    supply_shares, borrow_shares, collateral = _decode(POSITION, raw[2], morpho, block)
    position = Position(supply_shares, borrow_shares, collateral)
    if position == Position():
        raise SourceError(
            f"account {user} has no position in Morpho Blue market {market_id} at block "
            f"{block} (no supply, borrow or collateral).")
    return (checksum(loan), checksum(coll), checksum(oracle), checksum(irm_address), lltv), \
        market, position


def _read_market_contracts(client: RpcClient, params: tuple[Any, ...], market: MarketState,
                           market_id: str, block: int) -> tuple[int, int, int, int | None,
                                                                int | None]:
    """Oracle price, both decimals (required), and the IRM's rates (where it answers)."""
    loan, coll, oracle, irm_address, _ = params
    calls: list[tuple[str, Fn, tuple[Any, ...]]] = [
        (oracle, PRICE, ()), (loan, DECIMALS, ()), (coll, DECIMALS, ())]
    if irm_address != ZERO_ADDRESS:
        fields = (market.total_supply_assets, market.total_supply_shares,
                  market.total_borrow_assets, market.total_borrow_shares, market.last_update,
                  market.fee)
        calls += [(irm_address, BORROW_RATE_VIEW, (params, fields)),
                  (irm_address, RATE_AT_TARGET, (bytes.fromhex(market_id[2:]),))]
    raw = client.call_many([(to, fn.encode(*args)) for to, fn, args in calls], block,
                           labels=[fn.label for _, fn, _ in calls], allow_failure=True)
    required: list[int] = []
    for (to, fn, _), data in zip(calls[:3], raw[:3], strict=True):
        if not data:
            raise SourceError(f"{fn.label} at {to} reverted or answered nothing at block "
                              f"{block}.")
        (value,) = _decode(fn, data, to, block)
        required.append(int(value))
    price, loan_decimals, coll_decimals = required
    if loan_decimals > 77 or coll_decimals > 77:
        raise SourceError(f"a token of market {market_id} reports decimals "
                          f"{max(loan_decimals, coll_decimals)}, beyond any ERC-20's.")
    optional: list[int | None] = [None, None]
    for k, ((to, fn, _), data) in enumerate(zip(calls[3:], raw[3:], strict=True)):
        optional[k] = int(_decode(fn, data, to, block)[0]) if len(data) >= 32 else None
    return price, loan_decimals, coll_decimals, optional[0], optional[1]


def _accrue(market: MarketState, irm_address: str, timestamp: int, borrow_rate_view: int | None,
            rate_at_target: int | None) -> tuple[MarketState, bool, str]:
    """The market with interest to ``timestamp``, whether accrued, and a note."""
    if timestamp <= market.last_update:
        return market, True, ""
    if irm_address == ZERO_ADDRESS:  # _accrueInterest adds no interest without an IRM
        return dataclasses.replace(market, last_update=timestamp), True, ""
    if irm_address.lower() == ADAPTIVE_CURVE_IRM.lower() and rate_at_target is not None:
        return accrue_interest(market, rate_at_target, timestamp).market, True, (
            "interest accrued to the block time with delever's AdaptiveCurveIRM.")
    if borrow_rate_view is not None:
        return accrue_with_rate(market, borrow_rate_view, timestamp), True, (
            "interest accrued to the block time at the IRM's borrowRateView.")
    return market, False, (
        f"figures are at the market's lastUpdate {market.last_update}, not the block time "
        f"{timestamp}: its IRM {irm_address} answered no borrowRateView.")


def read_morpho_position(client: RpcClient, market_id: str, user: str, block: int, *,
                         morpho: str = MORPHO_BLUE) -> LiveMorphoPosition:
    """``user``'s position in Morpho Blue market ``market_id`` (bytes32 hex) at ``block``.

    Requests: Morpho's code, then two Multicall3 batches (Morpho's three getters; the oracle,
    both tokens' decimals and the IRM), then the block's time. Raises one line for a malformed or
    unknown id, an id that does not match its parameters, and an account with no position.
    """
    if not is_market_id(market_id):
        raise SourceError(f"--market-id {market_id!r} must be 0x followed by 64 hex digits.")
    if not is_address(user):
        raise SourceError(f"--address {user!r} must be 0x followed by 40 hex digits.")
    user = checksum(user)
    require_code(client, morpho, "Morpho Blue", block)
    params, stored, position = _read_params(client, morpho, market_id, user, block)
    price, loan_dec, coll_dec, rate_view, rate_at_target = _read_market_contracts(
        client, params, stored, market_id, block)
    when = client.block_time(block)
    timestamp = int(when.timestamp()) if when is not None else stored.last_update
    market, accrued, note = _accrue(stored, params[3], timestamp, rate_view, rate_at_target)
    if when is None:
        accrued, note = False, (f"figures are at the market's lastUpdate {stored.last_update}: "
                                "the node gave no block time.")
    loan, coll, oracle, irm_address, lltv = params
    return LiveMorphoPosition(
        market_id=market_id.lower(), user=user, block=block, block_timestamp=timestamp,
        loan_token=loan, collateral_token=coll, oracle=oracle, irm=irm_address, lltv_wad=lltv,
        loan_decimals=loan_dec, collateral_decimals=coll_dec, oracle_price=price,
        market_at_last_update=stored, market=market, position=position,
        borrow_rate_view=rate_view, rate_at_target=rate_at_target, accrued=accrued,
        accrual_note=note)


def morpho_position_result(pos: LiveMorphoPosition, calls_made: int) -> dict[str, Any]:
    """The JSON object of ``position --protocol morpho-blue --address``."""
    liq = pos.liquidation_price
    return {
        "protocol": "morpho-blue",
        "address": pos.user,
        "block": pos.block,
        "market_id": pos.market_id,
        "health_factor": pos.health_factor,
        "healthy": pos.healthy,
        "liquidation_price_usd": liq if pos.loan_symbol_usd is not None else None,
        "liquidation_price": liq,
        "liquidation_oracle_price": (None if pos.liquidation_oracle_price is None
                                     else str(pos.liquidation_oracle_price)),
        "loan_token": pos.loan_token,
        "loan_symbol": pos.loan_symbol_usd,
        "collateral_token": pos.collateral_token,
        "collateral": str(pos.position.collateral),
        "collateral_tokens": float(Fraction(pos.position.collateral,
                                            10**pos.collateral_decimals)),
        "borrow_assets": str(pos.borrow_assets),
        "borrow_tokens": float(Fraction(pos.borrow_assets, 10**pos.loan_decimals)),
        "borrow_shares": str(pos.position.borrow_shares),
        "supply_shares": str(pos.position.supply_shares),
        "max_borrow_assets": str(pos.max_borrow_assets),
        "lltv": pos.lltv_wad / WAD,
        "lltv_wad": str(pos.lltv_wad),
        "oracle_price": str(pos.oracle_price),
        "oracle": pos.oracle,
        "irm": pos.irm,
        "last_update": pos.market_at_last_update.last_update,
        "block_timestamp": pos.block_timestamp,
        "interest_accrued": pos.accrued,
        "accrual_note": pos.accrual_note,
        "rpc_calls": calls_made,
    }


def live_morpho_position(address: str, rpc: str | None, block: int | None,
                         market_id: str | None) -> dict[str, Any]:
    """Read ``address`` in Morpho Blue ``market_id`` at ``block`` (None: latest finalized)."""
    if not is_address(address):
        raise SourceError(f"--address {address!r} must be 0x followed by 40 hex digits.")
    if market_id is None:
        raise SourceError("--market-id is required with --protocol morpho-blue --address: the "
                          "market's id, 0x followed by 64 hex digits.")
    if not is_market_id(market_id):
        raise SourceError(f"--market-id {market_id!r} must be 0x followed by 64 hex digits.")
    if block is not None and block < 0:
        raise SourceError(f"--block {block!r} must be a block number >= 0.")
    if not rpc:
        raise SourceError("--address needs an RPC: give --rpc URL or set DELEVER_RPC_URL.")
    client = RpcClient(rpc, expected_chain_id=1)
    pinned = client.resolve_block(block)
    pos = read_morpho_position(client, market_id, address, pinned)
    return morpho_position_result(pos, client.calls_made)


__all__ = [
    "ADAPTIVE_CURVE_IRM",
    "MORPHO_BLUE",
    "USD_STABLECOINS",
    "LiveMorphoPosition",
    "accrue_with_rate",
    "is_market_id",
    "live_morpho_position",
    "market_id_of",
    "morpho_position_result",
    "read_morpho_position",
]
