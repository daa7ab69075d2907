"""A Uniswap v3 pool: concentrated liquidity over ticks, exact-input swaps across ranges.

The swap math follows Uniswap v3-core (``SwapMath.computeSwapStep``,
``SqrtPriceMath``, ``UniswapV3Pool.swap``) in float64 instead of Q64.96 integers:

- ``sqrtP`` is ``sqrtPriceX96 / 2**96``, the square root of the raw price
  ``token1 / token0`` (smallest units of each token).
- Within a range of liquidity L, token0 in moves ``1/sqrtP`` by ``dx / L`` (price falls,
  ``sqrtQ = L sqrtP / (L + dx sqrtP)``) and pays out ``dy = L (sqrtP - sqrtQ)`` of token1;
  token1 in moves ``sqrtP`` by ``dy / L`` (price rises) and pays out
  ``dx = L (1/sqrtP - 1/sqrtQ)`` of token0.
- The fee is taken from the input: a step uses ``amount * (1 - fee)`` for the swap
  (``fee_pips / 1e6``, 500 = 0.05 %), so ``net = gross * (1 - fee)`` over a whole swap.
- Crossing an initialized tick upward adds its ``liquidityNet`` to the active liquidity,
  downward subtracts it. A price exactly on a tick belongs to the range above it
  (``tick = floor(log_1.0001 P)``), as in the contract.
- Tick prices are ``1.0001**tick`` in floats (not TickMath's bit-exact table).

**Orientation.** Which token is ETH matters. In the mainnet USDC/WETH 0.05 % pool
(0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640) token0 = USDC (6 decimals) and token1 = WETH
(18 decimals), since 0xA0b8... < 0xC02a...: the pool price is WETH per USDC, the ETH price
in USD is ``10**(18 - 6) / sqrtP**2``, and selling ETH is a token1-in swap
(``zeroForOne = False``) that *raises* ``sqrtP``. With ETH as token0 (e.g. the WETH/USDT
pool 0x4e68Ccd3E89f51C3074ca5072bbAC773960dFa36), the ETH price is
``sqrtP**2 * 10**(eth_decimals - usd_decimals)`` and a sale is token0-in. The flag
``eth_is_token0`` says which; the stablecoin is priced at 1 USD.

**Exhaustion.** When the liquidity in the selling direction ends (no range beyond the last
initialized tick), the rest of the order is reported as ``unfilled_eth`` and the new mid is
the price where liquidity ended. A pool with no liquidity anywhere is refused
(:class:`~delever.errors.InvalidArgument`).

**Pool files.** A pool state on disk is read by
``delever.market.loaders.read_univ3_pool_state`` (raw on-chain integers: ``slot0``,
``liquidity()``, ``ticks(i).liquidityNet``; schema in its docstring) and turned into a
:class:`UniswapV3Pool` by :meth:`UniswapV3Pool.from_state`, which reads the orientation
from the token symbols.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from delever._results import ResultContract
from delever._typing import ArrayLike, FloatArray, FloatArray1D, IntArray1D
from delever.errors import InvalidArgument, check_non_negative, check_positive
from delever.kernels.impact import univ3_net_in_to_sqrt, univ3_swap_table_eval
from delever.market.impact import (
    Fills,
    ScheduleFills,
    as_orders,
    as_price_array,
    cumulative_schedule,
)

Q96 = 2.0**96
MIN_TICK = -887272  # TickMath.MIN_TICK
MAX_TICK = 887272  # TickMath.MAX_TICK
MIN_SQRT_PRICE = 4295128739 / Q96  # TickMath.MIN_SQRT_RATIO / 2**96
MAX_SQRT_PRICE = 1461446703485210103287273052203988822378723970342 / Q96  # MAX_SQRT_RATIO
FEE_DENOMINATOR = 1_000_000  # fees are in pips (hundredths of a basis point)


def sqrt_price_at_tick(tick: ArrayLike) -> FloatArray:
    """``sqrt(1.0001**tick)`` (float version of TickMath.getSqrtRatioAtTick / 2**96)."""
    out: FloatArray = np.exp(np.asarray(tick, dtype=np.float64) * (0.5 * math.log(1.0001)))
    return out


def tick_at_sqrt_price(sqrt_price: float) -> int:
    """``floor(log_1.0001(sqrtP**2))`` (float version of TickMath.getTickAtSqrtRatio)."""
    return math.floor(2.0 * math.log(sqrt_price) / math.log(1.0001) + 1e-9)


def amount0_delta(sqrt_a: float, sqrt_b: float, liquidity: float) -> float:
    """Token0 between two sqrt prices: ``L (1/lo - 1/hi)`` (SqrtPriceMath.getAmount0Delta)."""
    lo, hi = min(sqrt_a, sqrt_b), max(sqrt_a, sqrt_b)
    return liquidity * (hi - lo) / (hi * lo)


def amount1_delta(sqrt_a: float, sqrt_b: float, liquidity: float) -> float:
    """Token1 between two sqrt prices: ``L (hi - lo)`` (SqrtPriceMath.getAmount1Delta)."""
    return liquidity * abs(sqrt_b - sqrt_a)


def next_sqrt_price_from_input(
    sqrt_price: float, liquidity: float, amount_in: float, zero_for_one: bool
) -> float:
    """SqrtPriceMath.getNextSqrtPriceFromInput: token0 in ``L s / (L + a s)``, token1 in
    ``s + a / L``."""
    if zero_for_one:
        return liquidity * sqrt_price / (liquidity + amount_in * sqrt_price)
    return sqrt_price + amount_in / liquidity


@dataclass(frozen=True)
class SwapStep:
    """One ``computeSwapStep`` (raw units): new sqrt price, input net of fee, output, fee."""

    sqrt_price_next: float
    amount_in: float
    amount_out: float
    fee_amount: float


def compute_swap_step(
    sqrt_price: float, sqrt_target: float, liquidity: float, amount_remaining: float,
    fee_pips: int,
) -> SwapStep:
    """SwapMath.computeSwapStep for an exact input, in floats."""
    zero_for_one = sqrt_price >= sqrt_target
    less_fee = amount_remaining * (FEE_DENOMINATOR - fee_pips) / FEE_DENOMINATOR
    if zero_for_one:
        amount_in = amount0_delta(sqrt_target, sqrt_price, liquidity)
    else:
        amount_in = amount1_delta(sqrt_price, sqrt_target, liquidity)
    if less_fee >= amount_in:
        sqrt_next = sqrt_target
    else:
        sqrt_next = next_sqrt_price_from_input(sqrt_price, liquidity, less_fee, zero_for_one)
    reached = sqrt_next == sqrt_target
    if zero_for_one:
        if not reached:
            amount_in = amount0_delta(sqrt_next, sqrt_price, liquidity)
        amount_out = amount1_delta(sqrt_next, sqrt_price, liquidity)
    else:
        if not reached:
            amount_in = amount1_delta(sqrt_price, sqrt_next, liquidity)
        amount_out = amount0_delta(sqrt_price, sqrt_next, liquidity)
    if reached:
        fee = amount_in * fee_pips / (FEE_DENOMINATOR - fee_pips)
    else:
        fee = amount_remaining - amount_in  # the remainder of the input is the fee
    return SwapStep(sqrt_next, amount_in, amount_out, fee)


class TickLike(Protocol):
    """An initialized tick as loaded from a pool file."""

    @property
    def index(self) -> int: ...

    @property
    def liquidity_net(self) -> int: ...


class PoolStateLike(Protocol):
    """A pool state as loaded from a pool file (``delever.market.loaders``)."""

    @property
    def token0(self) -> str: ...

    @property
    def token1(self) -> str: ...

    @property
    def decimals0(self) -> int: ...

    @property
    def decimals1(self) -> int: ...

    @property
    def fee_pips(self) -> int: ...

    @property
    def sqrt_price_x96(self) -> int: ...

    @property
    def liquidity(self) -> int: ...

    @property
    def ticks(self) -> Sequence[TickLike]: ...


@dataclass(frozen=True, eq=False)
class UniswapV3Pool:
    """A Uniswap v3 pool's state (raw on-chain units; see the module docstring).

    Parameters
    ----------
    sqrt_price_x96 : ``slot0.sqrtPriceX96`` (Q64.96), as a float.
    liquidity : active liquidity ``liquidity()`` (raw), >= 0.
    tick_index : initialized ticks (any order; sorted here), ints in [MIN_TICK, MAX_TICK].
    liquidity_net : ``liquidityNet`` of each tick, raw.
    fee_pips : fee tier in pips (500 = 0.05 %, 3000 = 0.3 %).
    eth_is_token0 : True if ETH (WETH) is token0, False if it is token1 (USDC/WETH).
    eth_decimals, usd_decimals : token decimals (WETH 18, USDC 6).
    name, source : labels.

    Raises
    ------
    InvalidArgument : bad numbers, duplicate ticks, a range with negative liquidity, or a
        pool with no liquidity at all.
    """

    sqrt_price_x96: float
    liquidity: float
    tick_index: IntArray1D
    liquidity_net: FloatArray1D
    fee_pips: int = 500
    eth_is_token0: bool = False
    eth_decimals: int = 18
    usd_decimals: int = 6
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        sqrt_x96 = check_positive("sqrt_price_x96", self.sqrt_price_x96)
        sqrt_p = sqrt_x96 / Q96
        if not (MIN_SQRT_PRICE <= sqrt_p < MAX_SQRT_PRICE):
            raise InvalidArgument(
                f"sqrt_price_x96={self.sqrt_price_x96!r} must lie in [MIN_SQRT_RATIO, "
                "MAX_SQRT_RATIO) of TickMath."
            )
        liquidity = check_non_negative("liquidity", self.liquidity)
        fee = self.fee_pips
        if isinstance(fee, bool) or int(fee) != fee or not (0 <= fee < FEE_DENOMINATOR):
            raise InvalidArgument(
                f"fee_pips={fee!r} must be a whole number in [0, 1000000); 500 = 0.05 %."
            )
        for field_name in ("eth_decimals", "usd_decimals"):
            dec = getattr(self, field_name)
            if isinstance(dec, bool) or int(dec) != dec or not (0 <= dec <= 36):
                raise InvalidArgument(f"{field_name}={dec!r} must be a whole number in [0, 36].")
        ticks_f = np.asarray(self.tick_index, dtype=np.float64).reshape(-1)
        nets = np.array(self.liquidity_net, dtype=np.float64, copy=True).reshape(-1)
        if ticks_f.shape != nets.shape:
            raise InvalidArgument(
                f"tick_index has {ticks_f.shape[0]} entries but liquidity_net "
                f"{nets.shape[0]}; give one liquidity_net per tick."
            )
        if not (np.isfinite(ticks_f).all() and (ticks_f == np.round(ticks_f)).all()):
            raise InvalidArgument("tick_index must hold whole numbers.")
        if ((ticks_f < MIN_TICK) | (ticks_f > MAX_TICK)).any():
            raise InvalidArgument(f"tick_index must lie in [{MIN_TICK}, {MAX_TICK}].")
        if not np.isfinite(nets).all():
            raise InvalidArgument("liquidity_net must hold finite numbers.")
        order = np.argsort(ticks_f, kind="stable")
        ticks = ticks_f[order].astype(np.int64)
        nets = nets[order]
        if ticks.shape[0] > 1 and (np.diff(ticks) == 0).any():
            dup = int(ticks[np.flatnonzero(np.diff(ticks) == 0)[0]])
            raise InvalidArgument(f"tick {dup} appears twice; give each initialized tick once.")
        ticks.setflags(write=False)
        nets.setflags(write=False)
        object.__setattr__(self, "tick_index", ticks)
        object.__setattr__(self, "liquidity_net", nets)
        object.__setattr__(self, "liquidity", liquidity)
        object.__setattr__(self, "sqrt_price_x96", sqrt_x96)
        object.__setattr__(self, "fee_pips", int(fee))
        object.__setattr__(self, "eth_decimals", int(self.eth_decimals))
        object.__setattr__(self, "usd_decimals", int(self.usd_decimals))
        ranges = self.range_liquidity()
        if not (ranges[1] > 0.0).any():
            raise InvalidArgument(
                "pool has no liquidity (liquidity and every range are 0); nothing can be "
                "swapped."
            )

    @property
    def sqrt_price(self) -> float:
        """``sqrtPriceX96 / 2**96``."""
        return self.sqrt_price_x96 / Q96

    @property
    def fee_frac(self) -> float:
        """The fee as a fraction of the input (0.0005 for 500 pips)."""
        return self.fee_pips / FEE_DENOMINATOR

    def usd_per_eth(self, sqrt_price: ArrayLike) -> FloatArray:
        """ETH price in USD at raw sqrt price(s), given the pool's orientation."""
        s = np.asarray(sqrt_price, dtype=np.float64)
        scale = 10.0 ** (self.eth_decimals - self.usd_decimals)
        with np.errstate(divide="ignore"):
            out: FloatArray = s * s * scale if self.eth_is_token0 else scale / (s * s)
        return out

    def sqrt_price_at_usd(self, price_usd: ArrayLike) -> FloatArray:
        """Raw sqrt price at which ETH is worth ``price_usd`` (inverse of usd_per_eth)."""
        p = np.asarray(price_usd, dtype=np.float64)
        scale = 10.0 ** (self.eth_decimals - self.usd_decimals)
        with np.errstate(divide="ignore"):
            out: FloatArray = np.sqrt(p / scale) if self.eth_is_token0 else np.sqrt(scale / p)
        return out

    @property
    def spot_price_usd(self) -> float:
        """ETH price in USD at the current sqrt price (fee excluded)."""
        return float(self.usd_per_eth(self.sqrt_price))

    def range_liquidity(self) -> tuple[FloatArray1D, FloatArray1D]:
        """Boundaries (raw sqrt prices, MIN..MAX) and the active liquidity of each range."""
        sq = sqrt_price_at_tick(self.tick_index)
        s = self.sqrt_price
        below = sq <= s  # ticks at or below the price (range above a tick includes it)
        n_below = int(below.sum())
        liq = np.empty(self.tick_index.shape[0] + 1)
        liq[n_below] = self.liquidity
        for i in range(n_below - 1, -1, -1):  # crossing tick i downward subtracts its net
            liq[i] = liq[i + 1] - self.liquidity_net[i]
        for i in range(n_below, self.tick_index.shape[0]):  # crossing upward adds it
            liq[i + 1] = liq[i] + self.liquidity_net[i]
        scale = max(float(np.abs(liq).max()), float(np.abs(self.liquidity_net).max(initial=0.0)))
        tol = 1e-9 * scale  # raw integers lose digits in float64
        if (liq < -tol).any():
            i = int(np.flatnonzero(liq < -tol)[0])
            raise InvalidArgument(
                f"liquidity_net makes the range {i} liquidity negative ({liq[i]!r}); the "
                "ticks and liquidity do not belong to one pool state."
            )
        liq = np.where(np.abs(liq) <= tol, 0.0, liq)
        bounds = np.concatenate(([MIN_SQRT_PRICE], sq, [MAX_SQRT_PRICE]))
        return bounds, liq

    @classmethod
    def from_state(cls, state: PoolStateLike, *, name: str = "", source: str = "") -> UniswapV3Pool:
        """A pool from a loaded pool-state file (``delever.market.loaders.read_univ3_pool_state``
        or anything with the same fields: ``token0``, ``token1``, ``decimals0``,
        ``decimals1``, ``fee_pips``, ``sqrt_price_x96``, ``liquidity`` and ``ticks`` of
        ``index`` / ``liquidity_net``).

        Which token is ETH comes from the symbols (``WETH`` or ``ETH``, any case); the other
        token is taken as a 1 USD stablecoin.
        """
        symbols = (str(state.token0).upper(), str(state.token1).upper())
        eth_names = ("WETH", "ETH")
        if symbols[0] in eth_names and symbols[1] not in eth_names:
            eth_is_token0 = True
        elif symbols[1] in eth_names and symbols[0] not in eth_names:
            eth_is_token0 = False
        else:
            raise InvalidArgument(
                f"pool tokens {symbols[0]}/{symbols[1]}: exactly one must be WETH (or ETH); "
                "the other is taken as a 1 USD stablecoin."
            )
        decimals = (int(state.decimals0), int(state.decimals1))
        ticks = list(state.ticks)
        return cls(
            sqrt_price_x96=float(state.sqrt_price_x96),
            liquidity=float(state.liquidity),
            tick_index=np.asarray([int(t.index) for t in ticks], dtype=np.int64),
            liquidity_net=np.asarray([float(t.liquidity_net) for t in ticks], dtype=np.float64),
            fee_pips=int(state.fee_pips),
            eth_is_token0=eth_is_token0,
            eth_decimals=decimals[0] if eth_is_token0 else decimals[1],
            usd_decimals=decimals[1] if eth_is_token0 else decimals[0],
            name=name or f"{state.token0}/{state.token1} {int(state.fee_pips)} pips",
            source=source,
        )

    def to_state_dict(self) -> dict[str, Any]:
        """The pool in the JSON layout of ``delever.market.loaders.read_univ3_pool_state``
        (big numbers as decimal strings)."""
        eth, usd = "WETH", "USDC"
        tokens = (eth, usd) if self.eth_is_token0 else (usd, eth)
        decimals = (
            (self.eth_decimals, self.usd_decimals) if self.eth_is_token0
            else (self.usd_decimals, self.eth_decimals)
        )
        return {
            "token0": tokens[0],
            "token1": tokens[1],
            "decimals0": decimals[0],
            "decimals1": decimals[1],
            "fee_pips": self.fee_pips,
            "sqrt_price_x96": str(int(self.sqrt_price_x96)),
            "liquidity": str(int(self.liquidity)),
            "tick": tick_at_sqrt_price(self.sqrt_price),
            "ticks": [
                {"index": int(t), "liquidity_net": str(int(n))}
                for t, n in zip(self.tick_index, self.liquidity_net, strict=True)
            ],
        }

    @classmethod
    def from_usd_ranges(
        cls,
        spot_price_usd: float,
        ranges: Sequence[tuple[float, float, float]],
        *,
        fee_pips: int = 500,
        tick_spacing: int = 10,
        eth_is_token0: bool = False,
        eth_decimals: int = 18,
        usd_decimals: int = 6,
        name: str = "",
        source: str = "",
    ) -> UniswapV3Pool:
        """Build a pool from positions given in USD terms (for examples and tests).

        Parameters
        ----------
        spot_price_usd : current ETH price, USD.
        ranges : ``(low_usd, high_usd, eth_depth)`` per position: ETH that selling through
            the whole range (from ``high_usd`` down to ``low_usd``) would absorb. Bounds are
            rounded to the nearest multiple of ``tick_spacing``; the liquidity is set from
            the rounded bounds, so the depth holds exactly.
        """
        spot = check_positive("spot_price_usd", spot_price_usd)
        scale = 10.0 ** (eth_decimals - usd_decimals)

        def sqrt_raw(usd: float) -> float:
            return math.sqrt(usd / scale) if eth_is_token0 else math.sqrt(scale / usd)

        net_by_tick: dict[int, float] = {}
        sqrt_now = sqrt_raw(spot)
        active = 0.0
        for low_usd, high_usd, depth_eth in ranges:
            check_positive("low_usd", low_usd)
            check_positive("eth_depth", depth_eth)
            if not high_usd > low_usd:
                raise InvalidArgument(f"high_usd={high_usd!r} must exceed low_usd={low_usd!r}.")
            ticks = sorted(
                tick_spacing * round(tick_at_sqrt_price(sqrt_raw(usd)) / tick_spacing)
                for usd in (low_usd, high_usd)
            )
            t_lo, t_hi = ticks
            if t_lo == t_hi:
                raise InvalidArgument(f"range ({low_usd}, {high_usd}) is narrower than a tick.")
            s_lo, s_hi = (float(v) for v in sqrt_price_at_tick([t_lo, t_hi]))
            raw_eth = depth_eth * 10.0**eth_decimals
            # token0 spans L (1/lo - 1/hi) over a range, token1 spans L (hi - lo).
            span = (1.0 / s_lo - 1.0 / s_hi) if eth_is_token0 else (s_hi - s_lo)
            liq = raw_eth / span
            net_by_tick[t_lo] = net_by_tick.get(t_lo, 0.0) + liq
            net_by_tick[t_hi] = net_by_tick.get(t_hi, 0.0) - liq
            if s_lo <= sqrt_now < s_hi:
                active += liq
        ticks_sorted = sorted(net_by_tick)
        return cls(
            sqrt_price_x96=sqrt_now * Q96,
            liquidity=active,
            tick_index=np.asarray(ticks_sorted, dtype=np.int64),
            liquidity_net=np.asarray([net_by_tick[t] for t in ticks_sorted], dtype=np.float64),
            fee_pips=fee_pips,
            eth_is_token0=eth_is_token0,
            eth_decimals=eth_decimals,
            usd_decimals=usd_decimals,
            name=name,
            source=source,
        )

    def summary(self) -> str:
        """One line on the pool."""
        pair = "WETH/USD (ETH = token0)" if self.eth_is_token0 else "USD/WETH (ETH = token1)"
        return (
            f"Uniswap v3 pool {self.name or ''} {pair}, fee {self.fee_pips} pips, spot "
            f"{self.spot_price_usd:,.4f} USD, liquidity {self.liquidity:.6g}, "
            f"{self.tick_index.shape[0]} initialized ticks; {self.source or 'no source given'}"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class SwapResult(ResultContract):
    """A reference swap (raw units): gross input used (fee included), output, fee, the
    sqrt price and active liquidity after, and the number of ticks crossed."""

    amount_in: float
    amount_out: float
    fee_amount: float
    sqrt_price_after: float
    liquidity_after: float
    ticks_crossed: int


def swap_exact_input(pool: UniswapV3Pool, amount_in: float, zero_for_one: bool) -> SwapResult:
    """Slow, step-by-step exact-input swap following ``UniswapV3Pool.swap`` (the oracle).

    Walks initialized ticks one at a time with :func:`compute_swap_step`, crossing each
    (adding or subtracting ``liquidityNet``, via :meth:`UniswapV3Pool.range_liquidity`) until
    the input is used or the price reaches TickMath's limit. Raw units.
    """
    remaining = check_non_negative("amount_in", amount_in)
    sq = sqrt_price_at_tick(pool.tick_index)
    # Liquidity of each range from the pool's walk over liquidityNet, with float residues of
    # exactly cancelling nets set to 0 (a residue would otherwise swap on to the price limit).
    _, range_liq = pool.range_liquidity()
    s = pool.sqrt_price
    liq = pool.liquidity
    if zero_for_one:
        pointer = int(np.searchsorted(sq, s, side="right")) - 1  # largest tick <= price
        limit = MIN_SQRT_PRICE
    else:
        pointer = int(np.searchsorted(sq, s, side="right"))  # smallest tick > price
        limit = MAX_SQRT_PRICE
    used = out = fees = 0.0
    crossed = 0
    while remaining > 0.0 and s != limit:
        has_tick = 0 <= pointer < sq.shape[0]
        target = float(sq[pointer]) if has_tick else limit
        step = compute_swap_step(s, target, liq, remaining, pool.fee_pips)
        reached = step.sqrt_price_next == target
        spent = step.amount_in + step.fee_amount
        remaining = remaining - spent if reached else 0.0
        used += spent
        out += step.amount_out
        fees += step.fee_amount
        s = step.sqrt_price_next
        if reached and has_tick:
            # Crossing tick i downward enters range i (liquidity minus its net), upward
            # range i + 1 (plus its net).
            liq = float(range_liq[pointer] if zero_for_one else range_liq[pointer + 1])
            pointer += -1 if zero_for_one else 1
            crossed += 1
    return SwapResult(used, out, fees, s, liq, crossed)


@dataclass(frozen=True, eq=False)
class UniswapV3Impact:
    """Market sells of ETH into a Uniswap v3 pool (vectorised over order sizes).

    The pool's ranges in the selling direction are tabulated once (cumulative input and
    output to each initialized tick); many sizes are then priced with one
    ``searchsorted`` and the in-range formulas. The average fill includes the fee. The pool
    is kept in relative terms when executed at another mid (USD amounts scale by
    ``mid / spot``, ETH amounts stay); ``new_mid_usd`` is the pool's spot after the swap,
    fee excluded.
    """

    pool: UniswapV3Pool
    _boundary_sqrt: FloatArray1D = field(init=False, repr=False)
    _segment_liquidity: FloatArray1D = field(init=False, repr=False)
    _cum_in_net: FloatArray1D = field(init=False, repr=False)
    _cum_out: FloatArray1D = field(init=False, repr=False)

    def __post_init__(self) -> None:
        bounds, liq = self.pool.range_liquidity()
        s = self.pool.sqrt_price
        n_below = int((bounds[1:-1] <= s).sum())  # ticks at or below the price
        if self.zero_for_one:
            # Ranges downward from the price: [bounds[n_below], s], then lower ones.
            edges = np.concatenate(([s], bounds[n_below::-1]))
            seg_liq = liq[n_below::-1]
        else:
            edges = np.concatenate(([s], bounds[n_below + 1:]))
            seg_liq = liq[n_below:]
        # Drop the ranges past the last one with liquidity: the swap is exhausted there.
        nonzero = np.flatnonzero(seg_liq > 0.0)
        n_seg = int(nonzero[-1]) + 1 if nonzero.shape[0] else 0
        edges = edges[: n_seg + 1]
        seg_liq = seg_liq[:n_seg]
        start, end = edges[:-1], edges[1:]
        # Per range: token0 spans L (1/lo - 1/hi) = L (hi - lo) / (hi lo), token1 L (hi - lo).
        if self.zero_for_one:
            d_in = seg_liq * (start - end) / (start * end)
            d_out = seg_liq * (start - end)
        else:
            d_in = seg_liq * (end - start)
            d_out = seg_liq * (end - start) / (start * end)
        cum_in = np.concatenate(([0.0], np.cumsum(d_in)))
        cum_out = np.concatenate(([0.0], np.cumsum(d_out)))
        for name, arr in (
            ("_boundary_sqrt", edges), ("_segment_liquidity", seg_liq),
            ("_cum_in_net", cum_in), ("_cum_out", cum_out),
        ):
            arr = np.ascontiguousarray(arr, dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def name(self) -> str:
        """Model name."""
        return "univ3"

    @property
    def zero_for_one(self) -> bool:
        """Selling ETH is a token0-in swap when ETH is token0."""
        return self.pool.eth_is_token0

    @property
    def spot_price_usd(self) -> float:
        """The pool's own ETH price, USD."""
        return self.pool.spot_price_usd

    @property
    def capacity_eth(self) -> float:
        """ETH (fee included) the pool absorbs before its liquidity ends."""
        return float(self._cum_in_net[-1]) / (1.0 - self.pool.fee_frac) / self._eth_unit

    @property
    def _eth_unit(self) -> float:
        return float(10.0**self.pool.eth_decimals)

    @property
    def _usd_unit(self) -> float:
        return float(10.0**self.pool.usd_decimals)

    def _swap(self, qty: FloatArray1D) -> tuple[FloatArray1D, FloatArray1D, FloatArray1D]:
        """Filled ETH, USD out and sqrt price after, at the pool's own price."""
        keep = 1.0 - self.pool.fee_frac
        net = qty * self._eth_unit * keep
        used, out_raw, sqrt_after = univ3_swap_table_eval(
            self.zero_for_one, self._boundary_sqrt, self._segment_liquidity,
            self._cum_in_net, self._cum_out, net,
        )
        filled = np.where(net <= self._cum_in_net[-1], qty, used / keep / self._eth_unit)
        return filled, out_raw / self._usd_unit, sqrt_after

    def execute(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> Fills:
        """Independent swaps of ``qty_eth`` ETH for USD (exact input, fee from the input)."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        shape = qty.shape
        flat_mid = mid.reshape(-1)
        filled, out_usd, sqrt_after = self._swap(qty.reshape(-1))
        scale = flat_mid / self.spot_price_usd
        sold = filled > 0.0
        avg = np.where(sold, scale * out_usd / np.where(sold, filled, 1.0), flat_mid)
        new_mid = np.where(sold, scale * self.pool.usd_per_eth(sqrt_after), flat_mid)
        return Fills(
            model=self.name,
            mark_price_usd=mid,
            qty_eth=qty,
            filled_eth=filled.reshape(shape),
            avg_price_usd=avg.reshape(shape),
            new_mid_usd=new_mid.reshape(shape),
        )

    def execute_schedule(
        self, mid_price_usd: float, slices_eth: ArrayLike, step_days: float | None = None
    ) -> ScheduleFills:
        """Swaps one after another with no arbitrage or liquidity change between them."""
        return cumulative_schedule(self, mid_price_usd, slices_eth, step_days)

    def marginal_price_usd(self, mid_price_usd: ArrayLike, qty_eth: ArrayLike) -> FloatArray:
        """USD for the next ETH after ``qty_eth``: ``(1 - fee) * spot after``, rescaled
        (0 once the liquidity is used up)."""
        mid, qty = as_orders(mid_price_usd, qty_eth)
        flat = qty.reshape(-1)
        _, _, sqrt_after = self._swap(flat)
        spot_after = self.pool.usd_per_eth(sqrt_after)
        exhausted = flat >= self.capacity_eth
        keep = 1.0 - self.pool.fee_frac
        rel = np.where(exhausted, 0.0, keep * spot_after / self.spot_price_usd)
        out: FloatArray = mid * rel.reshape(qty.shape)
        return out

    def qty_at_marginal_price_eth(
        self, mid_price_usd: ArrayLike, price_usd: ArrayLike
    ) -> FloatArray:
        """ETH (fee included) that brings the marginal price down to ``price_usd``."""
        mid = as_price_array("mid_price_usd", mid_price_usd)
        price = np.asarray(price_usd, dtype=np.float64)
        mid_b, price_b = np.broadcast_arrays(mid, price)
        keep = 1.0 - self.pool.fee_frac
        target_usd = np.maximum(price_b, 0.0) * self.spot_price_usd / (mid_b * keep)
        target_sqrt = self.pool.sqrt_price_at_usd(target_usd.reshape(-1))
        net = univ3_net_in_to_sqrt(
            self.zero_for_one, self._boundary_sqrt, self._segment_liquidity,
            self._cum_in_net, target_sqrt,
        )
        out: FloatArray = (net / keep / self._eth_unit).reshape(mid_b.shape)
        return out


def illustrative_pool() -> UniswapV3Pool:
    """A SYNTHETIC, ILLUSTRATIVE USDC/WETH-like pool (not real data).

    Oriented like mainnet's USDC/WETH 0.05 % pool (token0 = USDC, token1 = WETH, fee 500
    pips, tick spacing 10) at 2,000 USD per ETH, with three made-up positions: 3,000 ETH of
    depth over 1,900-2,100 USD, 15,000 ETH over 1,500-2,500 and 30,000 ETH over
    1,000-4,000. For demonstrations and tests only.
    """
    return UniswapV3Pool.from_usd_ranges(
        2000.0,
        [(1900.0, 2100.0, 3000.0), (1500.0, 2500.0, 15000.0), (1000.0, 4000.0, 30000.0)],
        fee_pips=500,
        tick_spacing=10,
        eth_is_token0=False,
        name="illustrative USDC/WETH 0.05%",
        source="synthetic illustrative pool (delever.market.univ3.illustrative_pool), not data",
    )


__all__ = [
    "MAX_SQRT_PRICE",
    "MAX_TICK",
    "MIN_SQRT_PRICE",
    "MIN_TICK",
    "Q96",
    "PoolStateLike",
    "SwapResult",
    "SwapStep",
    "TickLike",
    "UniswapV3Impact",
    "UniswapV3Pool",
    "amount0_delta",
    "amount1_delta",
    "compute_swap_step",
    "illustrative_pool",
    "next_sqrt_price_from_input",
    "sqrt_price_at_tick",
    "swap_exact_input",
    "tick_at_sqrt_price",
]
