"""Uniswap v3 swaps: the in-range formulas, sums over hand-built ranges, the slow oracle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from delever.errors import InvalidArgument
from delever.market.univ3 import (
    Q96,
    UniswapV3Impact,
    UniswapV3Pool,
    compute_swap_step,
    illustrative_pool,
    sqrt_price_at_tick,
    swap_exact_input,
    tick_at_sqrt_price,
)

E18, E6 = 1e18, 1e6


def _eth0_pool(liquidity: float, ticks: list[int], nets: list[float], fee_pips: int = 500,
               price_usd: float = 2000.0) -> UniswapV3Pool:
    """A WETH/USDT-like pool: ETH is token0 (18 decimals), USD token1 (6 decimals), so the
    raw price is USD-units per wei: 2000e6 / 1e18."""
    sqrt_p = math.sqrt(price_usd * E6 / E18)
    return UniswapV3Pool(sqrt_p * Q96, liquidity, np.asarray(ticks, dtype=np.int64),
                         np.asarray(nets), fee_pips=fee_pips, eth_is_token0=True)


def test_orientation_of_the_mainnet_usdc_weth_pool() -> None:
    # USDC/WETH 0.05 % (0x88e6...5640): token0 USDC (6), token1 WETH (18); the raw price is
    # wei per USDC unit, 1e12 / 2000 at 2,000 USD per ETH.
    sqrt_p = math.sqrt(1e12 / 2000.0)
    pool = UniswapV3Pool(sqrt_p * Q96, 1e18, np.array([0, 300_000]), np.array([1e18, -1e18]),
                         eth_is_token0=False)
    assert_allclose(pool.spot_price_usd, 2000.0, rtol=1e-12)
    assert not UniswapV3Impact(pool).zero_for_one  # selling ETH is token1 in
    after = UniswapV3Impact(pool).execute(2000.0, 10.0).new_mid_usd[()]
    assert after < 2000.0
    assert swap_exact_input(pool, 10 * E18, zero_for_one=False).sqrt_price_after > sqrt_p


def test_within_one_range_eth_token0_inverse_sqrt_price_moves_by_dx_over_l() -> None:
    liquidity = 9e18
    t_now = tick_at_sqrt_price(math.sqrt(2000.0 * E6 / E18))
    pool = _eth0_pool(liquidity, [t_now - 5000, t_now + 5000], [liquidity, -liquidity])
    s0 = pool.sqrt_price
    qty = 100.0
    net = qty * E18 * (1 - 0.0005)  # the fee is taken from the input
    inv_s1 = 1.0 / s0 + net / liquidity  # d(1/sqrtP) = dx / L
    s1 = 1.0 / inv_s1
    usd_out = liquidity * (s0 - s1) / E6  # dy = L d(sqrtP)
    fills = UniswapV3Impact(pool).execute(2000.0, qty)
    assert_allclose(fills.avg_price_usd[()], usd_out / qty, rtol=1e-12)
    assert_allclose(fills.new_mid_usd[()], s1 * s1 * E18 / E6, rtol=1e-12)
    assert fills.filled_eth[()] == qty


def test_within_one_range_eth_token1_sqrt_price_moves_by_dy_over_l() -> None:
    liquidity = 2e18
    sqrt_p = math.sqrt(E18 / E6 / 2000.0)
    t_now = tick_at_sqrt_price(sqrt_p)
    pool = UniswapV3Pool(sqrt_p * Q96, liquidity, np.array([t_now - 5000, t_now + 5000]),
                         np.array([liquidity, -liquidity]), fee_pips=3000, eth_is_token0=False)
    qty = 50.0
    net = qty * E18 * (1 - 0.003)
    s1 = sqrt_p + net / liquidity  # d(sqrtP) = dy / L
    usd_out = liquidity * (1.0 / sqrt_p - 1.0 / s1) / E6  # dx = L d(1/sqrtP)
    fills = UniswapV3Impact(pool).execute(2000.0, qty)
    assert_allclose(fills.avg_price_usd[()], usd_out / qty, rtol=1e-12)
    assert_allclose(fills.new_mid_usd[()], E18 / E6 / (s1 * s1), rtol=1e-12)


# Three positions around the current tick t (ETH = token0, selling moves the price down):
# A over [t - 2000, t + 2000], B over [t - 500, t + 500], C over [t - 4000, t - 1000].
L_A, L_B, L_C = 4e18, 6e18, 3e18


def _three_position_pool(fee_pips: int = 500) -> tuple[UniswapV3Pool, int]:
    t = tick_at_sqrt_price(math.sqrt(2000.0 * E6 / E18))
    ticks = [t - 4000, t - 2000, t - 1000, t - 500, t + 500, t + 2000]
    nets = [L_C, L_A, -L_C, L_B, -L_B, -L_A]
    return _eth0_pool(L_A + L_B, ticks, nets, fee_pips), t


def _by_hand(pool: UniswapV3Pool, t: int, qty: float) -> tuple[float, float]:
    """Sum over the ranges, written out: (ETH used, USD out)."""
    s = [pool.sqrt_price, *(float(x) for x in sqrt_price_at_tick([t - 500, t - 1000,
                                                                  t - 2000, t - 4000]))]
    ranges = [(s[0], s[1], L_A + L_B), (s[1], s[2], L_A), (s[2], s[3], L_A + L_C),
              (s[3], s[4], L_C)]
    keep = 1 - pool.fee_pips / 1e6
    left = qty * E18 * keep
    used = out = 0.0
    for start, end, liq in ranges:
        span = liq * (1 / end - 1 / start)  # token0 to cross the whole range
        if left <= span:
            stop = 1 / (1 / start + left / liq)
            return (used + left) / keep / E18, (out + liq * (start - stop)) / E6
        used += span
        left -= span
        out += liq * (start - end)
    return used / keep / E18, out / E6  # liquidity used up: the rest is unfilled


# Cumulative ETH to each boundary: about 5,672, 7,995, 16,436 and 24,237 (capacity).
SIZES = [1.0, 3000.0, 6500.0, 12_000.0, 20_000.0, 30_000.0]


@pytest.mark.parametrize("qty", SIZES)
def test_across_ticks_equals_the_sum_over_hand_built_ranges(qty: float) -> None:
    pool, t = _three_position_pool()
    used, usd = _by_hand(pool, t, qty)
    fills = UniswapV3Impact(pool).execute(pool.spot_price_usd, qty)
    assert_allclose(fills.filled_eth[()], used, rtol=1e-10)
    assert_allclose(fills.proceeds_usd[()], usd, rtol=1e-10)


def test_hand_built_ranges_cover_every_segment() -> None:
    # The sizes above reach each of the four ranges and run past the last one.
    pool, _ = _three_position_pool()
    model = UniswapV3Impact(pool)
    assert SIZES[-2] < model.capacity_eth < SIZES[-1]
    crossed = [swap_exact_input(pool, q * E18, True).ticks_crossed for q in SIZES[:-1]]
    assert crossed == [0, 0, 1, 2, 3]


def test_exhausted_pool_reports_unfilled() -> None:
    pool, _ = _three_position_pool()
    model = UniswapV3Impact(pool)
    fills = model.execute(2000.0, [model.capacity_eth, 2 * model.capacity_eth])
    assert_allclose(fills.filled_eth, [model.capacity_eth] * 2, rtol=1e-12)
    assert_allclose(fills.unfilled_eth[1], model.capacity_eth, rtol=1e-12)
    assert_allclose(fills.new_mid_usd[1], fills.new_mid_usd[0], rtol=1e-12)


def _pools() -> list[UniswapV3Pool]:
    return [
        _three_position_pool()[0],
        _three_position_pool(fee_pips=10_000)[0],
        illustrative_pool(),
        UniswapV3Pool.from_usd_ranges(1800.0, [(1000.0, 2000.0, 700.0), (1700.0, 5000.0, 900.0)],
                                      eth_is_token0=True, fee_pips=100, tick_spacing=1),
    ]


@settings(deadline=None, max_examples=40)
@given(pool_index=st.integers(0, 3), sizes=st.lists(st.floats(0.0, 5e4), min_size=1,
                                                   max_size=8))
def test_vectorised_table_equals_step_by_step_swap(pool_index: int, sizes: list[float]) -> None:
    pool = _pools()[pool_index]
    model = UniswapV3Impact(pool)
    fills = model.execute(pool.spot_price_usd, sizes)
    for i, qty in enumerate(sizes):
        ref = swap_exact_input(pool, qty * E18, zero_for_one=pool.eth_is_token0)
        assert_allclose(fills.filled_eth[i], ref.amount_in / E18, rtol=1e-9, atol=1e-12)
        # The reference resolves sqrtP to one float ulp (~4e-12 on 2e4), which for these
        # pools is ~1e-7 USD of output: hence the absolute tolerance for tiny orders.
        assert_allclose(fills.proceeds_usd[i], ref.amount_out / E6, rtol=1e-9, atol=1e-6)
        if 0.0 < qty < model.capacity_eth * (1 - 1e-9):
            assert_allclose(fills.new_mid_usd[i], pool.usd_per_eth(ref.sqrt_price_after),
                            rtol=1e-9)


def test_fee_is_taken_from_the_input() -> None:
    fee_pool, _ = _three_position_pool(fee_pips=3000)
    free_pool, _ = _three_position_pool(fee_pips=0)
    paid = UniswapV3Impact(fee_pool).execute(2000.0, 500.0)
    free = UniswapV3Impact(free_pool).execute(2000.0, 500.0 * (1 - 0.003))
    assert_allclose(paid.proceeds_usd, free.proceeds_usd, rtol=1e-12)
    ref = swap_exact_input(fee_pool, 500.0 * E18, zero_for_one=True)
    assert_allclose(ref.fee_amount, 0.003 * 500.0 * E18, rtol=1e-9)


def test_compute_swap_step_fee_rules() -> None:
    # Target not reached: the whole remainder beyond the amount used is the fee.
    step = compute_swap_step(1.0, 0.5, 1e6, 1000.0, 3000)
    assert step.sqrt_price_next > 0.5
    assert_allclose(step.amount_in + step.fee_amount, 1000.0, rtol=1e-15)
    assert_allclose(step.amount_in, 1000.0 * 0.997, rtol=1e-12)
    # Target reached: fee = amountIn * fee / (1e6 - fee).
    full = compute_swap_step(1.0, 0.999, 1e6, 1e9, 3000)
    assert full.sqrt_price_next == 0.999
    assert_allclose(full.amount_in, 1e6 * (1 / 0.999 - 1.0), rtol=1e-12)
    assert_allclose(full.fee_amount, full.amount_in * 3000 / 997_000, rtol=1e-15)


def test_both_orientations_price_the_same_usd_ranges_alike() -> None:
    ranges = [(1900.0, 2100.0, 3000.0), (1500.0, 2500.0, 15000.0)]
    one = UniswapV3Pool.from_usd_ranges(2000.0, ranges, eth_is_token0=False, tick_spacing=1)
    zero = UniswapV3Pool.from_usd_ranges(2000.0, ranges, eth_is_token0=True, tick_spacing=1)
    qty = [10.0, 1000.0, 5000.0]
    a = UniswapV3Impact(one).execute(2000.0, qty)
    b = UniswapV3Impact(zero).execute(2000.0, qty)
    # Only the tick rounding of the range ends differs (a tick is 1 bp of price).
    assert_allclose(a.avg_price_usd, b.avg_price_usd, rtol=2e-4)
    assert_allclose(a.new_mid_usd, b.new_mid_usd, rtol=2e-4)


def test_marginal_price_is_fee_times_spot_after() -> None:
    pool = illustrative_pool()
    model = UniswapV3Impact(pool)
    fills = model.execute(2000.0, [0.0, 1000.0])
    marginal = model.marginal_price_usd(2000.0, [0.0, 1000.0])
    assert_allclose(marginal, (1 - 0.0005) * fills.new_mid_usd, rtol=1e-12)
    assert_allclose(model.qty_at_marginal_price_eth(2000.0, marginal[1]), 1000.0, rtol=1e-9)
    assert model.qty_at_marginal_price_eth(2000.0, 2000.0)[()] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"liquidity": 0.0, "tick_index": [], "liquidity_net": []}, "no liquidity"),
        ({"liquidity": 0.0, "tick_index": [0, 10], "liquidity_net": [0.0, 0.0]}, "no liquidity"),
        ({"liquidity": 1e18, "tick_index": [0, 300_000], "liquidity_net": [3e18, -1e18]},
         "negative"),
        ({"tick_index": [10, 10]}, "twice"),
        ({"tick_index": [0, 900_000]}, "tick_index"),
        ({"liquidity_net": [1e18]}, "one liquidity_net per tick"),
        ({"liquidity": -1.0}, "liquidity"),
        ({"fee_pips": 1_000_000}, "fee_pips"),
        ({"sqrt_price_x96": 0.0}, "sqrt_price_x96"),
        ({"sqrt_price_x96": 1.0}, "MIN_SQRT_RATIO"),
    ],
    ids=["empty", "all-ranges-zero", "negative-range", "duplicate-tick", "tick-out-of-range",
         "nets-length", "negative-liquidity", "fee-100pct", "zero-price", "price-below-min"],
)
def test_bad_pools_refused(kwargs: dict[str, object], fragment: str) -> None:
    good: dict[str, object] = {
        "sqrt_price_x96": math.sqrt(1e12 / 2000.0) * Q96, "liquidity": 1e18,
        "tick_index": [0, 300_000], "liquidity_net": [1e18, -1e18],
    }
    UniswapV3Pool(**good)  # type: ignore[arg-type]
    args = {**good, **kwargs}
    args["tick_index"] = np.asarray(args["tick_index"], dtype=np.int64)
    args["liquidity_net"] = np.asarray(args["liquidity_net"], dtype=np.float64)
    with pytest.raises(InvalidArgument, match=fragment):
        UniswapV3Pool(**args)  # type: ignore[arg-type]


def test_pool_state_file_round_trip(tmp_path: Path) -> None:
    loaders = pytest.importorskip("delever.market.loaders")
    pool = illustrative_pool()
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(pool.to_state_dict()))
    back = UniswapV3Pool.from_state(loaders.read_univ3_pool_state(path))
    assert back.eth_is_token0 is False
    assert (back.tick_index == pool.tick_index).all()
    qty = [1.0, 500.0, 20_000.0]
    assert_allclose(UniswapV3Impact(back).execute(2000.0, qty).avg_price_usd,
                    UniswapV3Impact(pool).execute(2000.0, qty).avg_price_usd, rtol=1e-12)


def test_pool_tokens_must_include_eth() -> None:
    class Tick:
        index, liquidity_net = 0, 1

    class State:
        token0, token1, decimals0, decimals1, fee_pips = "USDC", "USDT", 6, 6, 100
        sqrt_price_x96, liquidity, ticks = 2**96, 1, [Tick()]

    with pytest.raises(InvalidArgument, match="WETH"):
        UniswapV3Pool.from_state(State())  # type: ignore[arg-type]
