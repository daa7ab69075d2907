"""Lending-protocol rules behind one interface, and Aave v3 (Ethereum Core) in detail.

``get_protocol(name)`` gives the :class:`LendingProtocol` every layer above uses (``aave-v3.0``,
``aave-v3.3``, ``aave-v3.6``). ``protocol`` knows nothing about markets. The Aave account
functions work in tokens and USD; ``exact=True`` switches to the contracts' integer
arithmetic (:mod:`delever.protocol.math`) and ``rule_set`` picks the version's rules.
"""

from delever.protocol.aave import AaveV3
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
from delever.protocol.base import LendingProtocol, LiquidationOutcome, RiskParams
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
from delever.protocol.registry import DEFAULT_PROTOCOL, PROTOCOL_NAMES, get_protocol
from delever.protocol.reserves import (
    ETH_CORRELATED_EMODE,
    RESERVES,
    EModeCategory,
    InterestRateCurve,
    ReserveParams,
    get_reserve,
)
from delever.protocol.rule_sets import RULE_SET_NAMES, RULE_SETS, AaveRuleSet, get_rule_set

__all__ = [
    "DEFAULT_PROTOCOL",
    "ETH_CORRELATED_EMODE",
    "PROTOCOL_NAMES",
    "RESERVES",
    "RULE_SETS",
    "RULE_SET_NAMES",
    "WEETH_PER_ETH_DEFAULT",
    "WSTETH_PER_ETH_DEFAULT",
    "AaveRuleSet",
    "AaveV3",
    "Account",
    "AccountData",
    "EModeCategory",
    "InterestRateCurve",
    "LendingProtocol",
    "LiquidationOutcome",
    "LiquidationResult",
    "Prices",
    "RateDistance",
    "ReserveParams",
    "ReserveState",
    "RiskParams",
    "account_data",
    "borrow_rate",
    "borrow_rate_array",
    "calculate_interest_rates_ray",
    "check_whole_units",
    "compounded_interest_factor",
    "distance_to_liquidation_pct",
    "get_protocol",
    "get_reserve",
    "get_rule_set",
    "linear_interest_factor",
    "liquidation_call",
    "liquidation_price_usd",
    "rate_distance_to_liquidation",
    "supply_rate",
    "supply_rate_array",
    "utilization_from_borrow_rate",
    "utilization_from_borrow_rate_array",
]
