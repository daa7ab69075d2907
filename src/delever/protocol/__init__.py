"""Aave v3 (v3.6, Ethereum Core) lending rules: reserves, accounts, liquidations, rates.

``protocol`` knows Aave and nothing about markets. Float functions work in tokens and USD;
``exact=True`` switches to the contracts' integer arithmetic (:mod:`delever.protocol.math`).
"""

from delever.protocol.account import (
    WEETH_PER_ETH_DEFAULT,
    WSTETH_PER_ETH_DEFAULT,
    Account,
    AccountData,
    LiquidationResult,
    Prices,
    RateDistance,
    account_data,
    check_whole_units,
    distance_to_liquidation_pct,
    liquidation_call,
    liquidation_price_usd,
    rate_distance_to_liquidation,
)
from delever.protocol.rates import (
    ReserveState,
    borrow_rate,
    borrow_rate_array,
    calculate_interest_rates_ray,
    compounded_interest_factor,
    linear_interest_factor,
    supply_rate,
    supply_rate_array,
    utilization_from_borrow_rate,
    utilization_from_borrow_rate_array,
)
from delever.protocol.reserves import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    EModeCategory,
    InterestRateCurve,
    ReserveParams,
    get_reserve,
)

__all__ = [
    "ETH_CORRELATED_EMODE",
    "RESERVES",
    "WEETH_PER_ETH_DEFAULT",
    "WSTETH_PER_ETH_DEFAULT",
    "Account",
    "AccountData",
    "EModeCategory",
    "InterestRateCurve",
    "LiquidationResult",
    "Prices",
    "RateDistance",
    "ReserveParams",
    "ReserveState",
    "account_data",
    "borrow_rate",
    "borrow_rate_array",
    "calculate_interest_rates_ray",
    "check_whole_units",
    "compounded_interest_factor",
    "distance_to_liquidation_pct",
    "get_reserve",
    "linear_interest_factor",
    "liquidation_call",
    "liquidation_price_usd",
    "rate_distance_to_liquidation",
    "supply_rate",
    "supply_rate_array",
    "utilization_from_borrow_rate",
    "utilization_from_borrow_rate_array",
]
