"""A fake Ethereum node that also serves Morpho Blue: :class:`FakeMorphoChain` extends
:class:`sources.fakechain.FakeChain` (the Aave fixture, unchanged) with handlers for the Morpho
singleton, two oracles, two IRMs and the tokens' ``decimals()``.

How it was made: the function signatures are written out again from the Solidity, not
imported from delever, so a wrong ABI in the reader fails here: morpho-org/morpho-blue @
3085651a79553bbabbfd8be309c262dab45b686e ``src/interfaces/IMorpho.sol`` (``idToMarketParams``,
``market``, ``position``), ``src/interfaces/IOracle.sol`` (``price()``), ``src/interfaces/IIrm.sol``
(``borrowRateView``); morpho-org/morpho-blue-irm @ a1a87fd5a7ee13873ea9d2bbd87e9c7b2cdbbef3
``IAdaptiveCurveIrm.sol`` (``rateAtTarget``). Return values are ABI-encoded with eth-abi.

Real values: the Morpho address and the AdaptiveCurveIRM address (morpho-org/sdks @ 0205e12a
``packages/blue-sdk/src/addresses.ts``, EthMainnet), and the market parameters of the Ethereum
wstETH/USDC 86% market (morpho-org/sdks @ a5ea9ba44a3291f52e0f1fa1f477d0702faf29f1
``packages/blue-sdk/src/tests/mocks/markets.ts``, ``usdc_wstEth``); its id, keccak256 of the
encoded parameters, is 0xb323495f...86cc, the id this market is known by. Token decimals: USDC 6,
wstETH 18. ILLUSTRATIVE, not chain values: the market's totals, lastUpdate and fee, the oracle
price (wstETH at 2817.65123456 USDC, the wstETH price of fakechain's Aave fixture), the IRM's
rate at target and borrowRateView, the accounts, a second market "CUSTOM" (the same tokens
with an illustrative oracle, IRM and 77% LLTV, accrued by a constant borrowRateView), and a
"BAD_ID" entry whose stored parameters do not hash to its id.

:func:`is_healthy` and :func:`accrued_total_borrow` are Morpho's ``_isHealthy`` and
``_accrueInterest`` (the total borrow part) written out here from ``src/Morpho.sol``,
``src/libraries/MathLib.sol`` and ``SharesMathLib.sol`` with plain integers, independent of
``delever.protocol.morpho``; the accounts are sized with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from sources.fakechain import FakeChain, Handler, RevertError, _split_types

# morpho-org/sdks @ 0205e12a packages/blue-sdk/src/addresses.ts (EthMainnet)
MORPHO = "0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb"
ADAPTIVE_IRM = "0x870aC11D48B15DB9a138Cf899d20F13F79Ba00BC"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WSTETH = "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0"
# morpho-org/sdks @ a5ea9ba4 packages/blue-sdk/src/tests/mocks/markets.ts, usdc_wstEth
WSTETH_USDC_ORACLE = "0x48F7E36EB6B826B2dF4B2E630B62Cd25e89E40e2"
WSTETH_USDC_LLTV = 86 * 10**16
WSTETH_USDC_ID = "0xb323495f7e4148be5643a4ea4a8221eef163e4bccfdedc2a6f4696baacbc86cc"

CUSTOM_ORACLE = "0x" + "0c" * 20  # illustrative
CUSTOM_IRM = "0x" + "1d" * 20  # illustrative: a non-adaptive IRM with a constant rate
CUSTOM_LLTV = 77 * 10**16
CUSTOM_RATE = 3_170_979_198  # illustrative borrowRateView, ~10%/year per second (WAD)
CUSTOM_ELAPSED_S = 86_400 * 3 + 1234  # illustrative age of the custom market's lastUpdate
CUSTOM_FEE = 10**17  # illustrative 10% fee (ConstantsLib.MAX_FEE is 25%)
BAD_ID = "0x" + "ab" * 32  # its stored parameters hash to WSTETH_USDC_ID, not to it
UNKNOWN_ID = "0x" + "cd" * 32

ORACLE_PRICE = 281_765_123_456 * 10**16  # 2817.65123456 USDC per wstETH, 1e36 * 1e6 / 1e18
RATE_AT_TARGET = 1_268_391_679  # illustrative: ~4%/year per second (WAD)
ADAPTIVE_RATE_VIEW = 987_654_321  # illustrative; the reader only reports it

HEALTHY = "0x" + "11" * 20
NEAR = "0x" + "22" * 20
UNHEALTHY = "0x" + "33" * 20
LENDER = "0x" + "44" * 20
NOBODY = "0x" + "55" * 20

WAD = 10**18
VIRTUAL_SHARES = 10**6  # SharesMathLib.sol
VIRTUAL_ASSETS = 1
ORACLE_PRICE_SCALE = 10**36  # ConstantsLib.sol


def market_id(loan: str, collateral: str, oracle: str, irm: str, lltv: int) -> str:
    """keccak256(abi.encode(MarketParams)) (MarketParamsLib.id: 5 words hashed)."""
    words = encode(["address"] * 4 + ["uint256"], [loan, collateral, oracle, irm, lltv])
    return "0x" + keccak(words).hex()


# --- Morpho.sol, from the Solidity ------------------------------------------------------------
def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    """SharesMathLib.toAssetsUp: mulDivUp(shares, totalAssets + 1, totalShares + 1e6)."""
    d = total_shares + VIRTUAL_SHARES
    return (shares * (total_assets + VIRTUAL_ASSETS) + d - 1) // d


def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """collateral.mulDivDown(price, ORACLE_PRICE_SCALE).wMulDown(lltv)."""
    return collateral * price // ORACLE_PRICE_SCALE * lltv // WAD


def is_healthy(collateral: int, borrow_shares: int, total_borrow_assets: int,
               total_borrow_shares: int, price: int, lltv: int) -> bool:
    """Morpho._isHealthy (with its borrowShares == 0 shortcut)."""
    if borrow_shares == 0:
        return True
    borrowed = to_assets_up(borrow_shares, total_borrow_assets, total_borrow_shares)
    return max_borrow(collateral, price, lltv) >= borrowed


def accrued_total_borrow(total_borrow_assets: int, rate: int, elapsed: int) -> int:
    """_accrueInterest: totalBorrow + totalBorrow.wMulDown(rate.wTaylorCompounded(elapsed))."""
    first = rate * elapsed
    second = first * first // (2 * WAD)
    third = second * first // (3 * WAD)
    return total_borrow_assets + total_borrow_assets * (first + second + third) // WAD


def fee_shares(interest: int, fee: int, total_supply_assets: int,
               total_supply_shares: int) -> int:
    """_accrueInterest's fee shares: feeAmount.toSharesDown(totalSupply - feeAmount, shares),
    with totalSupply already including the interest."""
    fee_amount = interest * fee // WAD
    return (fee_amount * (total_supply_shares + VIRTUAL_SHARES)
            // (total_supply_assets + interest - fee_amount + VIRTUAL_ASSETS))


@dataclass
class Market:
    params: tuple[str, str, str, str, int]  # loanToken, collateralToken, oracle, irm, lltv
    # totalSupplyAssets, totalSupplyShares, totalBorrowAssets, totalBorrowShares,
    # lastUpdate, fee
    state: list[int]
    positions: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def _shares_for(collateral: int, tba: int, tbs: int, price: int, lltv: int) -> tuple[int, int]:
    """(the most borrow shares still healthy, the fewest unhealthy) for ``collateral``."""
    limit = max_borrow(collateral, price, lltv)
    shares = limit * (tbs + VIRTUAL_SHARES) // (tba + VIRTUAL_ASSETS)
    while to_assets_up(shares + 1, tba, tbs) <= limit:
        shares += 1
    while to_assets_up(shares, tba, tbs) > limit:
        shares -= 1
    return shares, shares + 1


def make_markets(block_timestamp: int) -> dict[str, Market]:
    """The wstETH/USDC market (real parameters, illustrative state) and the others."""
    # 312.5M USDC supplied, 261.3M borrowed; shares worth ~1.04 and ~1.07 assets (interest).
    tsa, tss = 312_500_123_456_789, 300_480_887_939_220_000_000
    tba, tbs = 261_300_456_789_012, 244_205_099_803_750_000_000
    main = Market((USDC, WSTETH, WSTETH_USDC_ORACLE, ADAPTIVE_IRM, WSTETH_USDC_LLTV),
                  [tsa, tss, tba, tbs, block_timestamp, 0])
    collateral = 123_456_789_012_345_678_901  # 123.456... wstETH
    near, unhealthy = _shares_for(collateral, tba, tbs, ORACLE_PRICE, WSTETH_USDC_LLTV)
    main.positions = {
        HEALTHY.lower(): (0, near // 2, collateral),
        NEAR.lower(): (0, near, collateral),
        UNHEALTHY.lower(): (0, unhealthy, collateral),
        LENDER.lower(): (5_000_000_000 * 10**6, 0, 0),
    }
    custom = Market((USDC, WSTETH, CUSTOM_ORACLE, CUSTOM_IRM, CUSTOM_LLTV),
                    [tsa, tss, tba, tbs, block_timestamp - CUSTOM_ELAPSED_S, CUSTOM_FEE])
    c_near, _ = _shares_for(collateral, tba, tbs, ORACLE_PRICE, CUSTOM_LLTV)
    custom.positions = {NEAR.lower(): (0, c_near, collateral)}
    bad = Market(main.params, list(main.state), dict(main.positions))
    return {WSTETH_USDC_ID: main, market_id(*custom.params): custom, BAD_ID: bad}


class FakeMorphoChain(FakeChain):
    """FakeChain plus Morpho Blue on Ethereum; ``markets`` maps ids to their state."""

    def __init__(self) -> None:
        self.markets = make_markets(1_769_905_493)  # FakeChain's block_timestamp
        self.irm_view = True  # whether the custom IRM answers borrowRateView
        super().__init__()

    def _handlers(self) -> dict[tuple[str, bytes], tuple[str, tuple[str, ...], tuple[str, ...],
                                                           Handler]]:
        table = super()._handlers()

        def add(address: str, signature: str, outputs: str, handler: Handler) -> None:
            name, _, rest = signature.partition("(")
            inputs = tuple(x for x in _split_types(rest[:-1]) if x)
            selector = function_signature_to_4byte_selector(signature)
            table[(address.lower(), selector)] = (name, inputs, tuple(_split_types(outputs)),
                                                  handler)

        self._add_morpho(add)
        return table

    def _add_morpho(self, add: Callable[..., None]) -> None:
        add(MORPHO, "idToMarketParams(bytes32)", "address,address,address,address,uint256",
            lambda a: self._market(a[0]).params if self._known(a[0]) else
            ("0x" + "0" * 40,) * 4 + (0,))
        add(MORPHO, "market(bytes32)", "uint128,uint128,uint128,uint128,uint128,uint128",
            lambda a: tuple(self._market(a[0]).state) if self._known(a[0]) else (0,) * 6)
        add(MORPHO, "position(bytes32,address)", "uint256,uint128,uint128",
            lambda a: (self._market(a[0]).positions.get(a[1].lower(), (0, 0, 0))
                       if self._known(a[0]) else (0, 0, 0)))
        add(WSTETH_USDC_ORACLE, "price()", "uint256", lambda a: (ORACLE_PRICE,))
        add(CUSTOM_ORACLE, "price()", "uint256", lambda a: (ORACLE_PRICE,))
        add(USDC, "decimals()", "uint8", lambda a: (6,))
        add(WSTETH, "decimals()", "uint8", lambda a: (18,))
        params = "(address,address,address,address,uint256)"
        state = "(uint128,uint128,uint128,uint128,uint128,uint128)"
        add(ADAPTIVE_IRM, f"borrowRateView({params},{state})", "uint256",
            lambda a: (ADAPTIVE_RATE_VIEW,))
        add(ADAPTIVE_IRM, "rateAtTarget(bytes32)", "int256", lambda a: (RATE_AT_TARGET,))
        add(CUSTOM_IRM, f"borrowRateView({params},{state})", "uint256", self._custom_view)

    def _custom_view(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.irm_view:
            raise RevertError
        return (CUSTOM_RATE,)

    def _known(self, key: bytes) -> bool:
        return "0x" + key.hex() in self.markets

    def _market(self, key: bytes) -> Market:
        return self.markets["0x" + key.hex()]
