"""The contract functions the chain reader calls, each with its Solidity source.

Signatures and return layouts are copied from the Solidity interfaces, not from a generated
ABI file:

- aave-dao/aave-v3-origin @ 5a230ec82fcb10afc7fe7cffa8978752fb17aa2b (tag v3.6.0):
  ``src/contracts/interfaces/IPool.sol``, ``IPoolDataProvider.sol``, ``IAaveOracle.sol``,
  ``IPoolAddressesProvider.sol``, ``IDefaultInterestRateStrategyV2.sol`` and the structs of
  ``src/contracts/protocol/libraries/types/DataTypes.sol`` (``ReserveDataLegacy``,
  ``CollateralConfig``). The e-mode getters (``getEModeCategoryCollateralConfig``,
  ``...CollateralBitmap``, ``...BorrowableBitmap``, ``...Label``) are the v3.2+ ones.
- mds1/multicall3 @ 5c6c8c51c743d20fabf1be4d0bf3fc440f1b6a3c ``src/interfaces/IMulticall3.sol``
  (``aggregate3(Call3[])`` with ``Call3 = (address target, bool allowFailure, bytes
  callData)`` and ``Result = (bool success, bytes returnData)``).

A struct whose fields are all static is ABI-encoded as its fields in a row, so such returns
are decoded as flat type lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector


@dataclass(frozen=True)
class Fn:
    """One contract function: where it is declared, its argument and return types."""

    contract: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    selector: bytes = field(init=False)

    def __post_init__(self) -> None:
        signature = f"{self.name}({','.join(self.inputs)})"
        object.__setattr__(self, "selector", function_signature_to_4byte_selector(signature))

    @property
    def label(self) -> str:
        """``Contract.function``, for error messages."""
        return f"{self.contract}.{self.name}"

    def encode(self, *args: Any) -> bytes:
        """Calldata: the 4-byte selector and the ABI-encoded arguments."""
        return self.selector + encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The return values (raises eth_abi's DecodingError on a malformed answer)."""
        return tuple(decode(list(self.outputs), data))


_RESERVE_DATA_LEGACY = (
    # DataTypes.ReserveDataLegacy: configuration (a uint256 bitmap struct), liquidityIndex,
    # currentLiquidityRate, variableBorrowIndex, currentVariableBorrowRate,
    # currentStableBorrowRate (deprecated 3.2), lastUpdateTimestamp, id, aTokenAddress,
    # stableDebtTokenAddress (deprecated 3.2), variableDebtTokenAddress,
    # interestRateStrategyAddress (deprecated 3.4), accruedToTreasury, unbacked (deprecated 3.4),
    # isolationModeTotalDebt. The same 15 words as v3.0's DataTypes.ReserveData (aave/aave-v3-core
    # @ v1.19.3 contracts/protocol/libraries/types/DataTypes.sol lines 5-36, the struct
    # Pool.getReserveData returns there), so one layout reads both; v3.0's
    # PoolDataProvider.getReserveData / getReserveConfigurationData / getUserReserveData /
    # getReserveCaps / getLiquidationProtocolFee return the layouts below too (checked against
    # the npm 1.19.3 artifact ABIs of AaveProtocolDataProvider).
    "uint256", "uint128", "uint128", "uint128", "uint128", "uint128", "uint40", "uint16",
    "address", "address", "address", "address", "uint128", "uint128", "uint128",
)

# IPoolAddressesProvider
GET_POOL = Fn("PoolAddressesProvider", "getPool", (), ("address",))
GET_PRICE_ORACLE = Fn("PoolAddressesProvider", "getPriceOracle", (), ("address",))
GET_POOL_DATA_PROVIDER = Fn("PoolAddressesProvider", "getPoolDataProvider", (), ("address",))

# IPool
GET_RESERVES_LIST = Fn("Pool", "getReservesList", (), ("address[]",))
GET_RESERVE_DATA = Fn("Pool", "getReserveData", ("address",), _RESERVE_DATA_LEGACY)
GET_VIRTUAL_UNDERLYING_BALANCE = Fn("Pool", "getVirtualUnderlyingBalance", ("address",),
                                    ("uint128",))
RESERVE_INTEREST_RATE_STRATEGY = Fn("Pool", "RESERVE_INTEREST_RATE_STRATEGY", (), ("address",))
GET_USER_ACCOUNT_DATA = Fn(
    "Pool", "getUserAccountData", ("address",),
    # totalCollateralBase, totalDebtBase, availableBorrowsBase, currentLiquidationThreshold,
    # ltv, healthFactor
    ("uint256", "uint256", "uint256", "uint256", "uint256", "uint256"),
)
GET_USER_EMODE = Fn("Pool", "getUserEMode", ("address",), ("uint256",))
# DataTypes.CollateralConfig: ltv, liquidationThreshold, liquidationBonus (uint16 each)
GET_EMODE_COLLATERAL_CONFIG = Fn("Pool", "getEModeCategoryCollateralConfig", ("uint8",),
                                 ("uint16", "uint16", "uint16"))
# Aave v3.0/v3.1 (replaced in v3.2 by the four getters around it): aave/aave-v3-core @ v1.19.3
# (npm @aave/core-v3 1.19.3) contracts/interfaces/IPool.sol line 658
# getEModeCategoryData(uint8) returns (DataTypes.EModeCategory), DataTypes.sol lines 72-80:
# (uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, address priceSource,
# string label); a struct with a string, so one dynamic tuple. Its members are the reserves
# whose configuration carries the category id (ReserveConfiguration.sol
# EMODE_CATEGORY_START_BIT_POSITION = 168, 8 bits); they are also the only reserves an e-mode
# user may borrow (ValidationLogic.validateBorrow lines 214-217).
GET_EMODE_CATEGORY_DATA = Fn("Pool", "getEModeCategoryData", ("uint8",),
                             ("(uint16,uint16,uint16,address,string)",))
EMODE_CATEGORY_START_BIT = 168
GET_EMODE_LABEL = Fn("Pool", "getEModeCategoryLabel", ("uint8",), ("string",))
GET_EMODE_COLLATERAL_BITMAP = Fn("Pool", "getEModeCategoryCollateralBitmap", ("uint8",),
                                 ("uint128",))
GET_EMODE_BORROWABLE_BITMAP = Fn("Pool", "getEModeCategoryBorrowableBitmap", ("uint8",),
                                 ("uint128",))

# IPoolDataProvider
GET_ALL_RESERVES_TOKENS = Fn("PoolDataProvider", "getAllReservesTokens", (),
                             ("(string,address)[]",))
GET_RESERVE_CONFIGURATION_DATA = Fn(
    "PoolDataProvider", "getReserveConfigurationData", ("address",),
    # decimals, ltv, liquidationThreshold, liquidationBonus, reserveFactor,
    # usageAsCollateralEnabled, borrowingEnabled, stableBorrowRateEnabled, isActive, isFrozen
    ("uint256", "uint256", "uint256", "uint256", "uint256", "bool", "bool", "bool", "bool",
     "bool"),
)
GET_RESERVE_CAPS = Fn("PoolDataProvider", "getReserveCaps", ("address",),
                      ("uint256", "uint256"))  # borrowCap, supplyCap (whole tokens)
GET_LIQUIDATION_PROTOCOL_FEE = Fn("PoolDataProvider", "getLiquidationProtocolFee",
                                  ("address",), ("uint256",))
DP_GET_RESERVE_DATA = Fn(
    "PoolDataProvider", "getReserveData", ("address",),
    # unbacked, accruedToTreasuryScaled, totalAToken, totalStableDebt, totalVariableDebt,
    # liquidityRate, variableBorrowRate, stableBorrowRate, averageStableBorrowRate,
    # liquidityIndex, variableBorrowIndex, lastUpdateTimestamp
    ("uint256",) * 11 + ("uint40",),
)
GET_USER_RESERVE_DATA = Fn(
    "PoolDataProvider", "getUserReserveData", ("address", "address"),
    # currentATokenBalance, currentStableDebt, currentVariableDebt, principalStableDebt,
    # scaledVariableDebt, stableBorrowRate, liquidityRate, stableRateLastUpdated,
    # usageAsCollateralEnabled
    ("uint256",) * 7 + ("uint40", "bool"),
)

# IAaveOracle (prices in BASE_CURRENCY_UNIT = 1e8 USD on Ethereum)
GET_ASSETS_PRICES = Fn("AaveOracle", "getAssetsPrices", ("address[]",), ("uint256[]",))

# IDefaultInterestRateStrategyV2.InterestRateData: optimalUsageRatio (uint16),
# baseVariableBorrowRate, variableRateSlope1, variableRateSlope2 (uint32), all in bps.
GET_INTEREST_RATE_DATA_BPS = Fn("DefaultReserveInterestRateStrategyV2",
                                "getInterestRateDataBps", ("address",),
                                ("uint16", "uint32", "uint32", "uint32"))

# IMulticall3
AGGREGATE3 = Fn("Multicall3", "aggregate3", ("(address,bool,bytes)[]",), ("(bool,bytes)[]",))
GET_INTEREST_RATE_STRATEGY_ADDRESS = Fn("PoolDataProvider", "getInterestRateStrategyAddress",
                                        ("address",), ("address",))
