"""Market layer: price-impact models, calibration on real data, price paths.

Knows prices and liquidity, nothing about lending.
"""

from delever.market.almgren_chriss import (
    ACCost,
    ACSchedule,
    AlmgrenChrissImpact,
    almgren_chriss_cost,
    almgren_chriss_kappa,
    almgren_chriss_schedule,
)
from delever.market.calibration import (
    GarchParams,
    MarketCalibration,
    MarketData,
    calibrate,
    fit_garch,
)
from delever.market.impact import (
    Fills,
    ImpactModel,
    ScheduleFills,
    SquareRootImpact,
    VenueModel,
    equal_slices,
)
from delever.market.loaders import (
    PoolState,
    TickLiquidity,
    eth_daily_close,
    load_binance_4h,
    load_binance_daily,
    load_binance_daily_recent,
    load_binance_hourly,
    read_book_depth_csv,
    read_klines_csv,
    read_univ3_pool_state,
)
from delever.market.models import (
    IMPACT_MODELS,
    LawModel,
    LinearImpact,
    ResilientLinearImpact,
    SquareRootPropagatorImpact,
    impact_model,
    kernel_law_of,
)
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.paths import (
    bootstrap_paths,
    garch_paths,
    gbm_paths,
    generate_paths,
    merton_paths,
    replay_paths,
)
from delever.market.router import RouteFills, Router
from delever.market.transient import ObizhaevaWangImpact, PropagatorImpact
from delever.market.univ3 import UniswapV3Impact, UniswapV3Pool, illustrative_pool

__all__ = [
    "IMPACT_MODELS",
    "ACCost",
    "ACSchedule",
    "AlmgrenChrissImpact",
    "Fills",
    "GarchParams",
    "ImpactModel",
    "LawModel",
    "LinearImpact",
    "MarketCalibration",
    "MarketData",
    "ObizhaevaWangImpact",
    "OrderBook",
    "OrderBookImpact",
    "PoolState",
    "PropagatorImpact",
    "ResilientLinearImpact",
    "RouteFills",
    "Router",
    "ScheduleFills",
    "SquareRootImpact",
    "SquareRootPropagatorImpact",
    "TickLiquidity",
    "UniswapV3Impact",
    "UniswapV3Pool",
    "VenueModel",
    "almgren_chriss_cost",
    "almgren_chriss_kappa",
    "almgren_chriss_schedule",
    "bootstrap_paths",
    "calibrate",
    "equal_slices",
    "eth_daily_close",
    "fit_garch",
    "garch_paths",
    "gbm_paths",
    "generate_paths",
    "illustrative_pool",
    "impact_model",
    "kernel_law_of",
    "load_binance_4h",
    "load_binance_daily",
    "load_binance_daily_recent",
    "load_binance_hourly",
    "merton_paths",
    "read_book_depth_csv",
    "read_klines_csv",
    "read_univ3_pool_state",
    "replay_paths",
]
