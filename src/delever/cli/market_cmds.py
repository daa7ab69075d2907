"""delever CLI commands on price impact: ``impact`` (and ``calibrate`` from live sources).

``delever impact --qty-eth Q --model M`` sells Q ETH with one impact model and prints the
fill schedule, the average price, the final mid and the liquidity discount (mark minus
average fill price), or one JSON object with ``--json``. ``--exchanges binance,okx`` (models
``book`` and ``router``) takes the venues' live order books through ccxt.

:func:`calibrate_cmd` is ``delever calibrate`` with two more sources: ``--exchange VENUE``
(daily OHLCV through ccxt, no bar at or after the cut-off) and ``--archive FILE...`` (kline
files of Binance's public data archive). Without them it is the shipped-data command of
:mod:`delever.cli.paths_cmds`. Only a command given one of these options opens a network
connection (``delever.sources``, imported then).

All default market parameters sit in the ``DEFAULT_*`` block below, each with its source;
they are **estimates**, and the JSON output lists which ones a run used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from delever.cli._common import (
    atomic_write_text,
    check_output_path,
    console,
    emit_json,
    err_console,
    user_errors,
)
from delever.cli._finite import non_finite_paths
from delever.cli._tables import print_table
from delever.cli.paths_cmds import DEFAULT_CUTOFF_TEXT, CutoffOpt, WindowOpt
from delever.errors import InvalidArgument, check_non_negative, check_positive, unknown_name
from delever.market.almgren_chriss import AlmgrenChrissImpact
from delever.market.calibration import DEFAULT_WINDOW_DAYS, MarketData, as_date, calibrate
from delever.market.impact import ImpactModel, ScheduleFills, SquareRootImpact, VenueModel
from delever.market.orderbook import OrderBook, OrderBookImpact
from delever.market.router import Router
from delever.market.transient import ObizhaevaWangImpact, PropagatorImpact
from delever.market.univ3 import UniswapV3Impact, UniswapV3Pool, illustrative_pool

# --- default market parameters (estimates; one place) ------------------------------------------
# Mark: the trend-2026 scenario's implied mark, $754M / 396,000 ETH (press report, Odaily
# 467627; an estimate).
DEFAULT_PRICE_USD = 1904.0404040404
# Daily volatility and average daily volume: `delever calibrate`'s defaults, from the shipped
# Binance ETHUSDT data strictly before 2026-01-01 (sigma 0.039 over 2025; ADV 501,029 ETH over
# the last year with volume, to 2025-06-24; one venue, so low). The same figures as the
# trend-2026 scenario's [market] section. Estimates.
DEFAULT_MARKET_SOURCE = "calibrated on Binance data before 2026-01-01"


def _calibrated_sigma_and_adv() -> tuple[float, float]:
    from delever.market.calibration import calibrate  # reads the shipped data

    calibration = calibrate()
    return calibration.sigma_daily.value, calibration.adv_eth.value
# Y: of order 1 in the literature (Tóth et al. 2011; Bouchaud, Bonart, Donier & Gould 2018,
# ch. 12). Estimate.
DEFAULT_IMPACT_Y = 1.0
# Schedule: five daily slices, as the reported Feb 1-6 2026 sale (a rule, not data).
DEFAULT_HORIZON_STEPS = 5
DEFAULT_STEP_DAYS = 1.0
# Almgren-Chriss defaults derived from the square-root law (rules, so estimates):
# eta makes the AC temporary cost of selling 10% of ADV over one day equal to the sqrt law's
# average discount for that order, 2/3 Y sigma sqrt(0.1) P; gamma = eta / 10 per day, the
# ratio of Almgren & Chriss's own example (eta = 2.5e-6, gamma = 2.5e-7); sigma = sigma_daily P.
DEFAULT_AC_PARTICIPATION = 0.1
DEFAULT_AC_GAMMA_OVER_ETA_PER_DAY = 0.1
# epsilon: half of Binance ETHUSDT's 0.01 USDT tick, a one-tick spread; fees excluded. Estimate.
DEFAULT_AC_EPSILON_USD = 0.005
# lambda: 0 = risk-neutral (TWAP). Almgren & Chriss's example uses 1e-6 per USD.
DEFAULT_RISK_AVERSION = 0.0
# Transient models: instantaneous impact k set so that selling 1% of ADV at once moves the
# price by the square-root law's peak impact at that size, k = Y sigma sqrt(0.01) P / (0.01 V);
# half-life of the Obizhaeva-Wang decay and the propagator's t0: one hour; beta = 0.25 within
# the 0.2-0.4 that Bouchaud, Gefen, Potters & Wyart (2004) report on stocks. All estimates.
DEFAULT_TRANSIENT_PARTICIPATION = 0.01
DEFAULT_OW_HALF_LIFE_DAYS = 1.0 / 24.0
DEFAULT_PROPAGATOR_T0_DAYS = 1.0 / 24.0
DEFAULT_PROPAGATOR_BETA = 0.25

MODELS = ("sqrt", "ac", "ow", "propagator", "book", "univ3", "router")
# Model options each model reads (the square-root-law options --sigma-daily, --adv-eth and
# --impact-y are read only where they feed the model, see `uses_sqrt_params` in `impact`).
SQRT_OPTIONS = ("--sigma-daily", "--adv-eth", "--impact-y")
MODEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "sqrt": (),
    "ac": ("--sigma", "--eta", "--gamma", "--epsilon", "--risk-aversion"),
    "ow": ("--impact-usd-per-eth", "--half-life-days"),
    "propagator": ("--impact-usd-per-eth", "--decay-time-days", "--decay-exponent"),
    "book": ("--book-file", "--book-time", "--exchanges", "--symbol", "--depth"),
    "univ3": ("--pool-file",),
    "router": ("--book-file", "--book-time", "--pool-file", "--exchanges", "--symbol",
               "--depth"),
}
# Sizes beyond these are refused before any arithmetic: squares of them stay far from float
# overflow (numpy would otherwise print RuntimeWarnings), and all ETH in existence is ~1.2e8.
MAX_QTY_ETH = 1e12
MAX_PRICE_USD = 1e12
# One table row per slice; 10,000 slices is already one every ~9 s over a day.
MAX_HORIZON_STEPS = 10_000
MAX_STEP_DAYS = 365.0  # a slice a year or slower is not a liquidation schedule
MIN_HALF_LIFE_DAYS = 1e-6  # ~0.1 s: shorter, log(2)/half overflows to an instant recovery
BOOK_DEPTH_HEADER = "timestamp,percentage,depth,notional"
LEVELS_HEADER = ("side", "price_usd", "size_eth")
SYNTHETIC_BOOK_SOURCE = "synthetic illustrative book (built into delever), not market data"


def illustrative_book() -> OrderBook:
    """A SYNTHETIC, ILLUSTRATIVE order book (not market data): mid 2,000 USD, one-cent
    spread, 40 bid and 40 ask levels 0.5 USD apart whose size grows with the distance."""
    bids = [(1999.995 - 0.5 * k, 20.0 + 10.0 * k) for k in range(40)]
    asks = [(2000.005 + 0.5 * k, 20.0 + 10.0 * k) for k in range(40)]
    return OrderBook.from_levels(bids, asks, source=SYNTHETIC_BOOK_SOURCE)


def read_levels_csv(path: Path) -> OrderBook:
    """A book from a simple levels CSV with header ``side,price_usd,size_eth`` (side ``bid``
    or ``ask``; rows in any order)."""
    from delever.market.loaders import csv_rows, read_user_text

    rows = csv_rows(path, read_user_text(path, "a levels or bookDepth CSV"))
    if not rows:
        raise InvalidArgument(f"{path}: the file is empty; expected {','.join(LEVELS_HEADER)}.")
    header = tuple(c.strip().lower() for c in rows[0][1])
    if header != LEVELS_HEADER:
        raise InvalidArgument(
            f"{path}: header {','.join(header)!r} is neither {','.join(LEVELS_HEADER)!r} nor a "
            f"Binance bookDepth header {BOOK_DEPTH_HEADER!r}."
        )
    bids: list[tuple[float, float]] = []
    asks: list[tuple[float, float]] = []
    for line, row in rows[1:]:
        if len(row) != 3:
            raise InvalidArgument(f"{path}: row {line}: {len(row)} columns, expected 3.")
        side = row[0].strip().lower()
        try:
            price, size = float(row[1]), float(row[2])
        except ValueError:
            raise InvalidArgument(
                f"{path}: row {line}: price_usd={row[1]!r} and size_eth={row[2]!r} must be "
                "numbers."
            ) from None
        if side == "bid":
            bids.append((price, size))
        elif side == "ask":
            asks.append((price, size))
        else:
            raise InvalidArgument(f"{path}: row {line}: side={row[0]!r} must be bid or ask.")
    if not bids:
        raise InvalidArgument(f"{path}: no bid levels; a sell needs bids.")
    return OrderBook.from_levels(bids, asks, source=f"levels file {path}")


def load_book(path: Path | None, book_time: str | None) -> OrderBook:
    """The book of ``--book-file`` (bookDepth or levels CSV), else the illustrative one."""
    if path is None:
        return illustrative_book()
    from delever.market.loaders import read_book_depth_csv, read_user_text, utc_time

    snapshot = None if book_time is None else utc_time("--book-time", book_time)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise InvalidArgument(f"--book-file={str(path)!r}: {what}; give a bookDepth or levels "
                              "CSV.")
    compressed = path.suffix.lower() in (".zip", ".gz")
    text = "" if compressed else read_user_text(path, "a levels or bookDepth CSV")
    first = text.lstrip().split("\n")[0]
    if compressed or first.strip().lower().replace(" ", "") == BOOK_DEPTH_HEADER:
        frame = read_book_depth_csv(path, snapshot=snapshot)
        sign = [-1.0 if side == "bid" else 1.0 for side in frame["side"]]
        percentage = [s * 100.0 * d for s, d in zip(sign, frame["distance"], strict=True)]
        return OrderBook.from_depth_bands(
            percentage, frame["depth_eth"].to_numpy(), frame["notional_usd"].to_numpy(),
            source=f"Binance bookDepth {path}, snapshot {frame.attrs.get('snapshot_time')}",
        )
    return read_levels_csv(path)


def load_pool(path: Path | None) -> UniswapV3Pool:
    """The pool of ``--pool-file`` (read by ``delever.market.loaders``), else the
    illustrative one."""
    if path is None:
        return illustrative_pool()
    if not path.is_file():
        raise InvalidArgument(f"pool_file={str(path)!r}: no such file.")
    from delever.market.loaders import read_univ3_pool_state

    state = read_univ3_pool_state(path)
    return UniswapV3Pool.from_state(state, source=f"pool file {path}")


def _sqrt_model(sigma_daily: float, adv_eth: float, impact_y: float) -> SquareRootImpact:
    return SquareRootImpact(sigma_daily=sigma_daily, adv_eth=adv_eth, impact_y=impact_y)


def ac_defaults(
    price_usd: float, sigma_daily: float, adv_eth: float, impact_y: float
) -> dict[str, float]:
    """Almgren-Chriss parameters derived from the square-root law (see DEFAULT_AC_*)."""
    rate = DEFAULT_AC_PARTICIPATION * adv_eth  # ETH/day
    discount = 2.0 / 3.0 * impact_y * sigma_daily * math.sqrt(DEFAULT_AC_PARTICIPATION)
    eta = discount * price_usd / rate
    return {
        "sigma": sigma_daily * price_usd,
        "eta": eta,
        "gamma": DEFAULT_AC_GAMMA_OVER_ETA_PER_DAY * eta,
        "epsilon": DEFAULT_AC_EPSILON_USD,
        "risk_aversion": DEFAULT_RISK_AVERSION,
    }


def transient_impact_default(
    price_usd: float, sigma_daily: float, adv_eth: float, impact_y: float
) -> float:
    """Instantaneous impact, USD per ETH per ETH (see DEFAULT_TRANSIENT_PARTICIPATION)."""
    qty = DEFAULT_TRANSIENT_PARTICIPATION * adv_eth
    return impact_y * sigma_daily * math.sqrt(DEFAULT_TRANSIENT_PARTICIPATION) * price_usd / qty


def unused_options(model: str, given: dict[str, object], uses_sqrt_params: bool) -> list[str]:
    """Warnings for the model options given (not None) that ``model`` does not read."""
    reads = set(MODEL_OPTIONS[model]) | (set(SQRT_OPTIONS) if uses_sqrt_params else set())
    out = [
        f"{flag} is not used by --model {model}"
        + (" with these options" if flag in SQRT_OPTIONS and model != "sqrt" else "")
        for flag, value in given.items()
        if value is not None and flag not in reads
    ]
    if given.get("--book-time") is not None and given.get("--book-file") is None and (
        "--book-time" in reads
    ):
        out.append("--book-time is not used without --book-file")
    return out


def fill_warning(schedule: ScheduleFills) -> str | None:
    """A warning when the venue's liquidity ran out before the order was filled."""
    if schedule.total_unfilled_eth <= 1e-9 * max(schedule.total_qty_eth, 1.0):
        return None
    return (
        f"only {schedule.total_filled_eth:,.2f} of {schedule.total_qty_eth:,.2f} ETH filled "
        f"({schedule.filled_pct:.1f}%); {schedule.total_unfilled_eth:,.2f} ETH unfilled: the "
        f"venue's liquidity ran out at a mid of {schedule.final_mid_usd:,.2f} USD. Average "
        "price and discount are over the ETH filled only."
    )


def _pick(value: float | None, default: float, name: str, used: list[str]) -> float:
    if value is None:
        used.append(name)
        return default
    return value


Opt = typer.Option


# the options of `delever impact`, one alias each so the command's signature stays short
QtyEthOpt = Annotated[float, Opt("--qty-eth", help="ETH to sell.", show_default=False)]
ModelOpt = Annotated[str, Opt("--model", help=f"Impact model: {', '.join(MODELS)}.")]
HorizonStepsOpt = Annotated[
    int, Opt("--horizon-steps", help="Slices (equal, or Almgren-Chriss optimal for ac).")
]
StepDaysOpt = Annotated[
    float, Opt("--step-days", help="Days between slices (tau of Almgren & Chriss).")
]
PriceUsdOpt = Annotated[
    float | None,
    Opt("--price-usd", help="Mark, USD per ETH (default: the book's or pool's own mid "
        "for book, univ3 and router with --book-file, else "
        f"{DEFAULT_PRICE_USD:.2f}, the trend-2026 mark, an estimate). Books and pools are "
        "rescaled to it."),
]
SigmaDailyOpt = Annotated[
    float | None,
    Opt("--sigma-daily", help="Daily volatility, a fraction (default: "
        f"{DEFAULT_MARKET_SOURCE}, estimate)."),
]
AdvEthOpt = Annotated[
    float | None,
    Opt("--adv-eth", help="Average daily volume, ETH (default: "
        f"{DEFAULT_MARKET_SOURCE}, estimate)."),
]
ImpactYOpt = Annotated[
    float | None,
    Opt("--impact-y", help="Square-root-law prefactor Y (default: "
        f"{DEFAULT_IMPACT_Y}, estimate)."),
]
SigmaOpt = Annotated[
    float | None,
    Opt("--sigma", help="ac: USD per ETH per sqrt(day) (default: sigma_daily * price)."),
]
EtaOpt = Annotated[
    float | None,
    Opt("--eta", help="ac: temporary impact, USD/ETH per ETH/day (default: from the "
        "sqrt law)."),
]
GammaOpt = Annotated[
    float | None,
    Opt("--gamma", help="ac: permanent impact, USD/ETH per ETH (default: eta/10)."),
]
EpsilonOpt = Annotated[
    float | None, Opt("--epsilon", help="ac: fixed cost, USD per ETH (default: 0.005).")
]
RiskAversionOpt = Annotated[
    float | None, Opt("--risk-aversion", help="ac: lambda, per USD (default: 0 = TWAP).")
]
ImpactUsdPerEthOpt = Annotated[
    float | None,
    Opt("--impact-usd-per-eth", help="ow/propagator: instant impact, USD/ETH per ETH."),
]
HalfLifeDaysOpt = Annotated[
    float | None,
    Opt("--half-life-days", help="ow: half-life of the decay, days (default: 1/24)."),
]
DecayTimeDaysOpt = Annotated[
    float | None, Opt("--decay-time-days", help="propagator: t0, days (default: 1/24).")
]
DecayExponentOpt = Annotated[
    float | None, Opt("--decay-exponent", help="propagator: beta (default: 0.25).")
]
BookFileOpt = Annotated[
    Path | None,
    Opt("--book-file", help="book/router: Binance bookDepth CSV or side,price_usd,size_eth "
        "CSV (default: a synthetic illustrative book)."),
]
BookTimeOpt = Annotated[
    str | None, Opt("--book-time", help="bookDepth snapshot time (UTC) (default: the first).")
]
PoolFileOpt = Annotated[
    Path | None,
    Opt("--pool-file", help="univ3/router: Uniswap v3 pool state JSON "
        "(default: a synthetic illustrative pool)."),
]
ExchangesOpt = Annotated[
    str | None,
    Opt("--exchanges", help="book/router: live order books from these venues (ccxt ids, "
        "comma-separated, e.g. binance,okx); book takes one. Needs the network."),
]
SymbolOpt = Annotated[
    str | None,
    Opt("--symbol", help="With --exchanges: ETH/USDT (default), ETH/USDC or ETH/USD; the "
        "quote is counted 1:1 as USD."),
]
DepthOpt = Annotated[
    int | None, Opt("--depth", help="With --exchanges: levels per side to fetch (default 100).")
]
ImpactJsonOpt = Annotated[bool, Opt("--json", help="Write one JSON object to stdout.")]


def impact(
    qty_eth: QtyEthOpt,
    model: ModelOpt = "sqrt",
    horizon_steps: HorizonStepsOpt = DEFAULT_HORIZON_STEPS,
    step_days: StepDaysOpt = DEFAULT_STEP_DAYS,
    price_usd: PriceUsdOpt = None,
    sigma_daily: SigmaDailyOpt = None,
    adv_eth: AdvEthOpt = None,
    impact_y: ImpactYOpt = None,
    sigma: SigmaOpt = None,
    eta: EtaOpt = None,
    gamma: GammaOpt = None,
    epsilon: EpsilonOpt = None,
    risk_aversion: RiskAversionOpt = None,
    impact_usd_per_eth: ImpactUsdPerEthOpt = None,
    half_life_days: HalfLifeDaysOpt = None,
    decay_time_days: DecayTimeDaysOpt = None,
    decay_exponent: DecayExponentOpt = None,
    book_file: BookFileOpt = None,
    book_time: BookTimeOpt = None,
    pool_file: PoolFileOpt = None,
    exchanges: ExchangesOpt = None,
    symbol: SymbolOpt = None,
    depth: DepthOpt = None,
    json_output: ImpactJsonOpt = False,
) -> None:
    """Sell --qty-eth ETH through an impact model: fills, average price, liquidity discount."""
    options = ImpactOptions(
        model=model, qty_eth=qty_eth, horizon_steps=horizon_steps, step_days=step_days,
        price_usd=price_usd, sigma_daily=sigma_daily, adv_eth=adv_eth, impact_y=impact_y,
        sigma=sigma, eta=eta, gamma=gamma, epsilon=epsilon, risk_aversion=risk_aversion,
        impact_usd_per_eth=impact_usd_per_eth, half_life_days=half_life_days,
        decay_time_days=decay_time_days, decay_exponent=decay_exponent, book_file=book_file,
        book_time=book_time, pool_file=pool_file, exchanges=exchanges, symbol=symbol,
        depth=depth)
    # extreme model parameters can overflow: the result is checked below and refused in one
    # line, so numpy's RuntimeWarnings would only be noise before that line
    with user_errors(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        payload, schedule = run_impact(options)
        for warning in payload["warnings"]:
            err_console.print(f"warning: {warning}", markup=False)
        if json_output:
            emit_json(payload)
        else:
            _print(payload, schedule)


@dataclass(frozen=True)
class ImpactOptions:
    """The options of ``delever impact`` (None: the model's default, an estimate)."""

    model: str
    qty_eth: float
    horizon_steps: int
    step_days: float
    price_usd: float | None = None
    sigma_daily: float | None = None
    adv_eth: float | None = None
    impact_y: float | None = None
    sigma: float | None = None
    eta: float | None = None
    gamma: float | None = None
    epsilon: float | None = None
    risk_aversion: float | None = None
    impact_usd_per_eth: float | None = None
    half_life_days: float | None = None
    decay_time_days: float | None = None
    decay_exponent: float | None = None
    book_file: Path | None = None
    book_time: str | None = None
    pool_file: Path | None = None
    exchanges: str | None = None
    symbol: str | None = None
    depth: int | None = None

    def venue_names(self) -> tuple[str, ...]:
        """The venues of ``--exchanges``, split and stripped (empty without it)."""
        if self.exchanges is None:
            return ()
        return tuple(v.strip() for v in self.exchanges.split(",") if v.strip())

    def model_parameters(self) -> dict[str, float | None]:
        """The numeric model options by flag."""
        return {
            "--sigma-daily": self.sigma_daily, "--adv-eth": self.adv_eth,
            "--impact-y": self.impact_y, "--sigma": self.sigma, "--eta": self.eta,
            "--gamma": self.gamma, "--epsilon": self.epsilon,
            "--risk-aversion": self.risk_aversion,
            "--impact-usd-per-eth": self.impact_usd_per_eth,
            "--half-life-days": self.half_life_days, "--decay-time-days": self.decay_time_days,
            "--decay-exponent": self.decay_exponent,
        }

    def uses_sqrt_params(self) -> bool:
        """Whether sigma_daily, adv_eth and impact_y feed the model, directly or through
        derived defaults."""
        model = self.model
        return (
            model == "sqrt"
            or (model == "ac" and None in (self.sigma, self.eta, self.gamma))
            or (model in ("ow", "propagator") and self.impact_usd_per_eth is None)
            or (model == "router" and self.book_file is None and self.exchanges is None)
        )


@dataclass
class _ImpactBuild:
    """What the stages of :func:`run_impact` build up: the square-root inputs, the mark, the
    engine and the JSON payload's pieces."""

    qty_eth: float
    sigma_daily: float
    adv_eth: float
    impact_y: float
    defaults_used: list[str]
    warnings: list[str]
    mark_usd: float | None = None
    book: OrderBook | None = None
    venue_books: tuple[Any, ...] = ()  # delever.sources.exchanges.VenueBook, live venues
    engine: ImpactModel | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def sqrt_params(self) -> dict[str, float]:
        return {"sigma_daily": self.sigma_daily, "adv_eth": self.adv_eth,
                "impact_y": self.impact_y}


def run_impact(options: ImpactOptions) -> tuple[dict[str, Any], ScheduleFills]:
    """The JSON payload of ``delever impact`` and the fills, from checked options."""
    qty = _check_impact_options(options)
    build = _sqrt_inputs(options, qty)
    _load_venue(options, build)
    if build.mark_usd is None:
        build.mark_usd = DEFAULT_PRICE_USD
        build.defaults_used.append("price_usd")
    _ENGINE_BUILDERS[options.model](options, build)
    schedule = _execute(options, build)
    _finish_payload(options, build, schedule)
    return build.payload, schedule


def _check_impact_options(options: ImpactOptions) -> float:
    """The checks on the options before any default is derived; returns the ETH to sell."""
    if options.model not in MODELS:
        raise unknown_name("model", options.model, MODELS)
    # a sale of 0 ETH has no fill price, hence no discount to report
    qty = check_positive("qty_eth", options.qty_eth, "Give the ETH to sell as a positive size.")
    if qty > MAX_QTY_ETH:
        raise InvalidArgument(f"qty_eth={options.qty_eth!r} must be at most "
                              f"{MAX_QTY_ETH:.0e} ETH.")
    if not 1 <= options.horizon_steps <= MAX_HORIZON_STEPS:
        raise InvalidArgument(f"horizon_steps={options.horizon_steps!r} must be in "
                              f"[1, {MAX_HORIZON_STEPS:,}] (one row per slice).")
    check_positive("step_days", options.step_days)
    if options.step_days > MAX_STEP_DAYS:
        raise InvalidArgument(f"step_days={options.step_days!r} must be at most "
                              f"{MAX_STEP_DAYS:g} days between slices.")
    # before any default is derived from them: the message names the option given
    for flag, value in options.model_parameters().items():
        if value is not None and not math.isfinite(value):
            raise InvalidArgument(f"{flag}={value!r} must be a finite number.")
    half_life_days = options.half_life_days
    if half_life_days is not None and half_life_days < MIN_HALF_LIFE_DAYS:
        raise InvalidArgument(f"--half-life-days={half_life_days!r} must be at least "
                              f"{MIN_HALF_LIFE_DAYS:g} days (about 0.1 s).")
    price_usd = options.price_usd
    if price_usd is not None:
        check_positive("price_usd", price_usd)
        if price_usd > MAX_PRICE_USD:
            raise InvalidArgument(
                f"price_usd={price_usd!r} must be at most {MAX_PRICE_USD:.0e} USD per ETH."
            )
    return qty


def _sqrt_inputs(options: ImpactOptions, qty: float) -> _ImpactBuild:
    """The square-root law's inputs (given or the calibrated defaults) and the warnings on
    options the model does not read."""
    defaults_used: list[str] = []
    uses_sqrt_params = options.uses_sqrt_params()
    used = defaults_used if uses_sqrt_params else []
    warnings = unused_options(options.model, {
        **options.model_parameters(), "--book-file": options.book_file,
        "--book-time": options.book_time, "--pool-file": options.pool_file,
        "--exchanges": options.exchanges, "--symbol": options.symbol, "--depth": options.depth,
    }, uses_sqrt_params)
    default_sigma = default_adv = math.nan
    if options.sigma_daily is None or options.adv_eth is None:
        default_sigma, default_adv = _calibrated_sigma_and_adv()
    sigma_d = _pick(options.sigma_daily, default_sigma, "sigma_daily", used)
    adv = _pick(options.adv_eth, default_adv, "adv_eth", used)
    y = _pick(options.impact_y, DEFAULT_IMPACT_Y, "impact_y", used)
    check_non_negative("sigma_daily", sigma_d, "Give a daily fraction, e.g. 0.04.")
    check_positive("adv_eth", adv)
    check_non_negative("impact_y", y)
    return _ImpactBuild(qty, sigma_d, adv, y, defaults_used, warnings,
                        mark_usd=options.price_usd)


def _live_books(options: ImpactOptions, build: _ImpactBuild) -> None:
    """``--exchanges``: the venues' books (the network is touched here only); the mark
    defaults to the mean of their mids."""
    from delever.sources import exchanges

    venues = options.venue_names()
    if options.book_file is not None:
        raise InvalidArgument("give --book-file or --exchanges, not both.")
    if options.model == "book" and len(venues) != 1:
        raise InvalidArgument(f"--exchanges={options.exchanges!r}: --model book takes one "
                              "venue; use --model router for several.")
    build.venue_books = exchanges.fetch_order_books(
        venues, options.symbol or exchanges.DEFAULT_SYMBOL,
        exchanges.DEFAULT_DEPTH if options.depth is None else options.depth,
        retry=exchanges.DEFAULT_RETRY,
    )
    if build.mark_usd is None:
        build.mark_usd = exchanges.mean_mid_usd(build.venue_books)
    build.parameters["venue_sources"] = [b.source for b in build.venue_books]
    build.parameters["venue_mids_usd"] = {
        b.venue: b.book.mid_price_usd for b in build.venue_books}
    if options.model == "book":
        book = build.venue_books[0].book
        build.engine = OrderBookImpact(book)
        build.payload["venue_source"] = book.source
        build.parameters["book_mid_usd"] = book.mid_price_usd
        build.parameters["book_bid_depth_eth"] = book.bid_depth_eth


def _load_venue(options: ImpactOptions, build: _ImpactBuild) -> None:
    """The book or pool a venue model sells into; the mark defaults to its own mid."""
    mark = build.mark_usd
    if options.model in ("book", "router") and options.exchanges is not None:
        _live_books(options, build)
    elif options.model == "book":
        book = load_book(options.book_file, options.book_time)
        build.engine = OrderBookImpact(book)
        build.mark_usd = mark if mark is not None else book.mid_price_usd
        build.payload["venue_source"] = book.source
        build.parameters["book_mid_usd"] = book.mid_price_usd
        build.parameters["book_bid_depth_eth"] = book.bid_depth_eth
    elif options.model == "univ3":
        pool = load_pool(options.pool_file)
        build.engine = UniswapV3Impact(pool)
        build.mark_usd = mark if mark is not None else pool.spot_price_usd
        build.payload["venue_source"] = pool.source
        build.parameters["pool_spot_usd"] = pool.spot_price_usd
        build.parameters["pool_fee_pips"] = pool.fee_pips
    elif options.model == "router" and options.book_file is not None:
        build.book = load_book(options.book_file, options.book_time)
        build.mark_usd = mark if mark is not None else build.book.mid_price_usd


def _mark(build: _ImpactBuild) -> float:
    assert build.mark_usd is not None  # set by run_impact before the engines
    return build.mark_usd


def _sqrt_engine(options: ImpactOptions, build: _ImpactBuild) -> None:
    build.engine = _sqrt_model(build.sigma_daily, build.adv_eth, build.impact_y)
    build.parameters.update(build.sqrt_params())


def _venue_engine(options: ImpactOptions, build: _ImpactBuild) -> None:
    """book and univ3: the engine was built with the venue (:func:`_load_venue`)."""


def _ac_engine(options: ImpactOptions, build: _ImpactBuild) -> None:
    used = build.defaults_used
    base = ac_defaults(_mark(build), build.sigma_daily, build.adv_eth, build.impact_y)
    ac = AlmgrenChrissImpact(
        sigma=_pick(options.sigma, base["sigma"], "sigma", used),
        eta=_pick(options.eta, base["eta"], "eta", used),
        gamma=_pick(options.gamma, base["gamma"], "gamma", used),
        epsilon=_pick(options.epsilon, base["epsilon"], "epsilon", used),
        risk_aversion=_pick(options.risk_aversion, base["risk_aversion"], "risk_aversion",
                            used),
        n_steps=options.horizon_steps,
        step_days=options.step_days,
    )
    build.engine = ac
    build.parameters.update(
        sigma=ac.sigma, eta=ac.eta, gamma=ac.gamma, epsilon=ac.epsilon,
        risk_aversion=ac.risk_aversion,
    )
    if options.eta is None or options.gamma is None or options.sigma is None:
        build.parameters.update(build.sqrt_params())
    sched = ac.schedule(build.qty_eth)
    build.payload["schedule_eth"] = sched.holdings_eth
    build.payload["expected_cost_usd"] = sched.expected_cost_usd
    build.payload["variance_usd2"] = sched.variance_usd2
    build.payload["std_cost_usd"] = sched.std_cost_usd
    build.payload["kappa_per_day"] = sched.kappa_per_day
    build.notes.append("Almgren-Chriss fills are expected values (price noise set to zero).")


def _transient_engine(options: ImpactOptions, build: _ImpactBuild) -> None:
    """ow and propagator: an instant impact that decays (exponentially, or as a power law)."""
    used, given_k = build.defaults_used, options.impact_usd_per_eth
    k = _pick(given_k, transient_impact_default(_mark(build), build.sigma_daily, build.adv_eth,
                                                build.impact_y),
              "impact_usd_per_eth", used)
    if given_k is None and not k > 0:  # derived: name what it came from
        raise InvalidArgument(
            f"impact_usd_per_eth={k!r} (from the square-root law with --sigma-daily="
            f"{build.sigma_daily!r}, --impact-y={build.impact_y!r}) must be greater than 0; "
            "give --impact-usd-per-eth, or a positive --sigma-daily and --impact-y.")
    if options.model == "ow":
        half = _pick(options.half_life_days, DEFAULT_OW_HALF_LIFE_DAYS, "half_life_days", used)
        check_positive("half_life_days", half)
        build.engine = ObizhaevaWangImpact(
            impact_usd_per_eth=k, resilience_per_day=math.log(2.0) / half,
            n_steps=options.horizon_steps, step_days=options.step_days,
        )
        build.parameters.update(impact_usd_per_eth=k, half_life_days=half,
                                resilience_per_day=math.log(2.0) / half)
    else:
        t0 = _pick(options.decay_time_days, DEFAULT_PROPAGATOR_T0_DAYS, "decay_time_days",
                   used)
        beta = _pick(options.decay_exponent, DEFAULT_PROPAGATOR_BETA, "decay_exponent", used)
        build.engine = PropagatorImpact(
            impact_usd_per_eth=k, decay_time_days=t0, decay_exponent=beta,
            n_steps=options.horizon_steps, step_days=options.step_days,
        )
        build.parameters.update(impact_usd_per_eth=k, decay_time_days=t0, decay_exponent=beta)
    if given_k is None:
        build.parameters.update(build.sqrt_params())


def _router_engine(options: ImpactOptions, build: _ImpactBuild) -> None:
    """The order split between the book (or the square-root law) and the pool."""
    venues: list[VenueModel] = []
    names: list[str] = []
    if build.venue_books:
        venues.extend(OrderBookImpact(b.book) for b in build.venue_books)
        names.extend(b.venue for b in build.venue_books)
    elif build.book is not None:
        venues.append(OrderBookImpact(build.book))
        names.append("book")
        build.parameters["book_source"] = build.book.source
    else:
        venues.append(_sqrt_model(build.sigma_daily, build.adv_eth, build.impact_y))
        names.append("sqrt")
        build.parameters.update(build.sqrt_params())
    if not build.venue_books or options.pool_file is not None:  # live venues: pool if given
        pool = load_pool(options.pool_file)
        venues.append(UniswapV3Impact(pool))
        names.append("univ3")
        build.parameters["pool_source"] = pool.source
    router = Router.of(venues, names)
    build.engine = router
    routed = router.route(_mark(build), build.qty_eth)
    build.payload["split_eth"] = {n: float(routed.split_eth[0, k]) for k, n in enumerate(names)}
    build.payload["marginal_price_usd"] = float(routed.marginal_price_usd[0])


_ENGINE_BUILDERS: dict[str, Callable[[ImpactOptions, _ImpactBuild], None]] = {
    "sqrt": _sqrt_engine,
    "ac": _ac_engine,
    "ow": _transient_engine,
    "propagator": _transient_engine,
    "book": _venue_engine,
    "univ3": _venue_engine,
    "router": _router_engine,
}


def _execute(options: ImpactOptions, build: _ImpactBuild) -> ScheduleFills:
    """Sell through the engine (the AC schedule's slices, else equal slices) and check that
    the headline figures are finite."""
    engine, mark, step_days = build.engine, _mark(build), options.step_days
    assert engine is not None
    if options.model == "ac":
        holdings = build.payload["schedule_eth"]
        schedule = engine.execute_schedule(mark, holdings[:-1] - holdings[1:], step_days)
    else:
        slices = [build.qty_eth / options.horizon_steps] * options.horizon_steps
        schedule = engine.execute_schedule(mark, slices, step_days)
    payload = build.payload
    payload.update(_schedule_payload(options.model, mark, options.horizon_steps, step_days,
                                     schedule))
    headline = [f"{key}={payload[key]!r}" for key in
                ("avg_price_usd", "final_mid_usd", "discount_usd", "discount_pct")
                if not math.isfinite(payload[key])]
    overflow = next(iter(headline), None) or next(
        (f"{path} is not finite" for path in non_finite_paths(payload, inf_ok=frozenset())),
        None)
    if overflow is not None:
        named = " ".join(f"{flag}={value!r}" for flag, value in
                         [*options.model_parameters().items(), ("--qty-eth", options.qty_eth),
                          ("--price-usd", options.price_usd)]
                         if value is not None)
        raise InvalidArgument(
            f"{overflow}: the model's parameters ({named}) overflow a float; give smaller "
            "values (see `delever impact --help` for the defaults)."
        )
    return schedule


def _finish_payload(options: ImpactOptions, build: _ImpactBuild,
                    schedule: ScheduleFills) -> None:
    """Parameters, the estimates used, the notes and the warnings."""
    model, payload, notes = options.model, build.payload, build.notes
    payload["parameters"] = build.parameters
    payload["estimates"] = sorted(set(build.defaults_used))
    live = options.exchanges is not None
    synthetic = (model == "book" and options.book_file is None and not live) or (
        model == "univ3" and options.pool_file is None
    ) or (model == "router" and options.pool_file is None and not live)
    if synthetic:
        notes.append("Venue data are a synthetic illustrative example, not market data.")
    if model in ("sqrt", "router", "book", "univ3"):
        notes.append("Slices walk one impact curve with no recovery between them.")
    payload["notes"] = notes
    unfilled = fill_warning(schedule)
    if unfilled is not None:
        build.warnings.append(unfilled)
    payload["warnings"] = build.warnings


def _schedule_payload(
    model: str, mark: float, horizon_steps: int, step_days: float, schedule: ScheduleFills
) -> dict[str, Any]:
    rows = [
        {
            "slice": k + 1,
            "time_days": float(schedule.time_days[k]),
            "qty_eth": float(schedule.qty_eth[k]),
            "filled_eth": float(schedule.filled_eth[k]),
            "avg_price_usd": float(schedule.avg_price_usd[k]),
            "mid_before_usd": float(schedule.mid_before_usd[k]),
            "mid_after_usd": float(schedule.mid_after_usd[k]),
            "discount_usd": float(schedule.discount_usd[k]),
            # a slice that sold nothing gave nothing up (no fill price): 0, not null
            "discount_pct": float(schedule.discount_pct[k]) if schedule.filled_eth[k] > 0
            else 0.0,
        }
        for k in range(schedule.n_slices)
    ]
    return {
        "model": model,
        "qty_eth": schedule.total_qty_eth,
        "price_usd": mark,
        "horizon_steps": horizon_steps,
        "step_days": step_days,
        "filled_eth": schedule.total_filled_eth,
        "unfilled_eth": schedule.total_unfilled_eth,
        "filled_pct": schedule.filled_pct,
        "proceeds_usd": schedule.total_proceeds_usd,
        "avg_price_usd": schedule.avg_fill_price_usd,
        "final_mid_usd": schedule.final_mid_usd,
        "discount_usd": schedule.total_discount_usd,
        "discount_usd_per_eth": schedule.total_discount_usd_per_eth,
        "discount_pct": schedule.total_discount_pct,
        "schedule": rows,
    }


def _fmt(value: float) -> str:
    if value == 0.0:
        return "0"
    return f"{value:,.6f}" if abs(value) < 100 else f"{value:,.2f}"


def _print(payload: dict[str, Any], schedule: ScheduleFills) -> None:
    table = Table(title=f"impact: {payload['model']}", title_justify="left",
                  caption="day: days from the first slice; asked, sold: ETH; avg, mid after: "
                          "USD/ETH; disc.: USD given up vs the mark, and in % of the mark",
                  caption_justify="left")
    for column in ("day", "asked", "sold", "avg", "mid after", "disc. USD", "disc. %"):
        table.add_column(column, justify="right")
    for row in payload["schedule"]:
        pct = row["discount_pct"]
        table.add_row(
            f"{row['time_days']:g}", _fmt(row["qty_eth"]), _fmt(row["filled_eth"]),
            _fmt(row["avg_price_usd"]), _fmt(row["mid_after_usd"]),
            f"{row['discount_usd']:,.0f}", "-" if pct is None else f"{pct:.4f}",
        )
    print_table(table)
    summary = Table(show_header=False, title="totals", title_justify="left")
    summary.add_column("quantity", style="bold")
    summary.add_column("value", justify="right")
    keys = ["price_usd", "qty_eth", "filled_eth", "unfilled_eth", "filled_pct",
            "avg_price_usd", "final_mid_usd", "proceeds_usd", "discount_usd",
            "discount_usd_per_eth", "discount_pct", "expected_cost_usd", "variance_usd2",
            "marginal_price_usd"]
    for key in keys:
        if key in payload:
            summary.add_row(key, _fmt(float(payload[key])))
    if "split_eth" in payload:
        for name, value in payload["split_eth"].items():
            summary.add_row(f"split_eth.{name}", _fmt(value))
    print_table(summary)
    if payload.get("venue_source"):
        console.print(f"venue: {payload['venue_source']}", markup=False)
    else:
        for source in payload["parameters"].get("venue_sources", []):
            console.print(f"venue: {source}", markup=False)
    if payload["estimates"]:
        console.print("defaults used (estimates): " + ", ".join(payload["estimates"]))
    for note in payload["notes"]:
        console.print(f"note: {note}", markup=False)


# --- calibrate from an exchange or archive files -------------------------------------------------

ExchangeOpt = Annotated[
    str | None,
    Opt("--exchange", help="Calibrate on daily OHLCV from this venue (a ccxt id, e.g. "
        "binance) instead of the shipped data; only bars closed before the cut-off. Needs "
        "the network."),
]
ArchiveOpt = Annotated[
    list[Path] | None,
    Opt("--archive", help="Calibrate on kline files from data.binance.vision (zip or csv, "
        "spot or USD-M futures; repeat for several files) instead of the shipped data."),
]
DepegOpt = Annotated[
    Path | None,
    Opt("--depeg", help="Fit the stETH/ETH discount (an Ornstein-Uhlenbeck process) on a "
        "Chainlink stETH/ETH rounds CSV (round, answer, start, update, answeredInRound) "
        "before the cut-off, instead of the market.", show_default=False),
]
CalSymbolOpt = Annotated[
    str, Opt("--symbol", help="With --exchange: ETH/USDT, ETH/USDC or ETH/USD (quote "
             "counted 1:1 as USD).")
]
CalOutputOpt = Annotated[
    Path | None,
    Opt("--output", "-o", help="Write the [market] TOML section to this file."),
]


def calibrate_cmd(
    cutoff: CutoffOpt = DEFAULT_CUTOFF_TEXT,
    window_days: WindowOpt = DEFAULT_WINDOW_DAYS,
    output: CalOutputOpt = None,
    json_output: ImpactJsonOpt = False,
    exchange: ExchangeOpt = None,
    archive: ArchiveOpt = None,
    symbol: CalSymbolOpt = "ETH/USDT",
    depeg: DepegOpt = None,
) -> None:
    """Estimate sigma, ADV and impact Y before a cut-off (shipped data, --exchange or
    --archive), as TOML; or with --depeg, a staking token's discount process."""
    with user_errors():
        check_output_path("--output", output)
        day = as_date(cutoff)
        if depeg is not None:
            _depeg_calibration(depeg, day, output, json_output,
                               others=exchange is not None or bool(archive))
            return
        data = (None if exchange is None and not archive  # None: the shipped data
                else _live_market_data(exchange, archive or [], symbol, day, window_days))
        result = calibrate(day, window_days, data=data)
        section = result.to_toml_section()
        written = None if output is None else atomic_write_text(output, section)
        if json_output:
            payload = result.to_dict()
            payload["toml"] = section
            payload["output"] = None if written is None else str(written)
            emit_json(payload)
        elif written is None:
            typer.echo(section, nl=False)
        else:
            console.print(result.summary(), markup=False, highlight=False)
            console.print(f"wrote the [market] section to {written}", markup=False)


def _depeg_calibration(path: Path, day: date, output: Path | None, json_output: bool, *,
                       others: bool) -> None:
    """``calibrate --depeg FILE``: the discount's Ornstein-Uhlenbeck parameters fitted on
    Chainlink stETH/ETH rounds before the cut-off (:mod:`delever.market.rate_paths`)."""
    from delever.market.rate_paths import fit_depeg, read_steth_eth_rounds

    if others:
        raise InvalidArgument("--depeg fits the discount of a staking token; give it without "
                              "--exchange or --archive.")
    if output is not None:
        raise InvalidArgument("--output writes a [market] section; with --depeg use --json.")
    try:
        rounds = read_steth_eth_rounds(path)
    except InvalidArgument as exc:
        why = str(exc).removeprefix(f"path={str(path)!r}: ")
        raise InvalidArgument(f"--depeg {str(path)!r}: {why}") from None
    params = fit_depeg(rounds, day)
    if json_output:
        emit_json(params.to_dict())
        return
    window = "" if params.window is None else f" {params.window[0]} .. {params.window[1]}"
    console.print(
        f"stETH/ETH discount, Ornstein-Uhlenbeck, {params.n_rounds} rounds{window} "
        f"(cut-off {day}):\n  mu {params.mu.value:.6g}  kappa {params.kappa_per_year.value:.4g}"
        f"/yr (half-life {params.half_life_days:.1f} d)  sigma "
        f"{params.sigma_per_sqrt_year.value:.4g}/sqrt(yr)  long-run std "
        f"{params.stationary_std:.4g}", markup=False, highlight=False)


def _live_market_data(exchange: str | None, archive: list[Path], symbol: str, day: date,
                      window_days: int) -> MarketData:
    """The MarketData of ``--exchange`` (daily bars from the window's first return to the
    cut-off) or of ``--archive`` files."""
    from delever.sources import archive as archive_files
    from delever.sources import exchanges

    if exchange is not None and archive:
        raise InvalidArgument("give --exchange or --archive, not both.")
    if archive:
        return archive_files.klines_market_data(archive_files.read_archive_klines(archive))
    assert exchange is not None
    since = day - timedelta(days=window_days + 1)  # one close before the window's first return
    frame = exchanges.fetch_ohlcv(
        exchange, symbol, "1d", since.isoformat(), day.isoformat(),
        options=exchanges.OhlcvOptions(retry=exchanges.DEFAULT_RETRY),
    )
    return archive_files.klines_market_data(frame)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("impact")(impact)
    app.command("calibrate")(calibrate_cmd)


__all__ = [
    "DEFAULT_IMPACT_Y",
    "DEFAULT_MARKET_SOURCE",
    "DEFAULT_PRICE_USD",
    "ac_defaults",
    "calibrate_cmd",
    "illustrative_book",
    "impact",
    "load_book",
    "load_pool",
    "read_levels_csv",
    "register",
    "transient_impact_default",
]
