"""The local market carries delever's own sourced parameters (read back from the chain).

Independent of the deployment code: every value is read through Aave's own getters
(``AaveProtocolDataProvider.getReserveConfigurationData`` / ``getLiquidationProtocolFee`` /
``getReserveEModeCategory``, ``Pool.getEModeCategoryData``, the strategy's public immutables)
and compared with ``delever.protocol.reserves``.
"""

from __future__ import annotations

from delever.protocol.reserves import ETH_CORRELATED_EMODE, RESERVES

from .localnet import CURVE_DAY, INITIAL_PRICES_BASE, Market


def test_reserve_risk_parameters_are_delevers(aave_market: Market) -> None:
    dp = aave_market.data_provider.functions
    for symbol, token in aave_market.tokens.items():
        r = RESERVES[symbol]
        (decimals, ltv, lt, bonus, factor, collateral, borrowing, stable, active,
         frozen) = dp.getReserveConfigurationData(token.underlying).call()
        assert (decimals, ltv, lt, bonus, factor) == (
            r.decimals, r.ltv_bps, r.liquidation_threshold_bps, r.liquidation_bonus_bps,
            round(r.reserve_factor * 10_000))
        assert (collateral, borrowing, stable, active, frozen) == (True, True, False, True, False)
        assert dp.getLiquidationProtocolFee(token.underlying).call() == 1000  # 10% in RESERVES
        category = dp.getReserveEModeCategory(token.underlying).call()
        assert category == (1 if symbol in ("WETH", "wstETH") else 0)


def test_rate_curves_are_delevers(aave_market: Market) -> None:
    for symbol, token in aave_market.tokens.items():
        strategy_address = aave_market.pool.functions.getReserveData(token.underlying).call()[11]
        f = aave_market.contract("DefaultReserveInterestRateStrategy", strategy_address).functions
        got = (f.OPTIMAL_USAGE_RATIO().call(), f.getBaseVariableBorrowRate().call(),
               f.getVariableRateSlope1().call(), f.getVariableRateSlope2().call())
        assert got == RESERVES[symbol].rate_curve_on(CURVE_DAY).ray_params()
    # hand-checked: WETH on 2026-02-01 is 92% / 0 / 2.35% / 6.5% (reserves.WETH_RATE_CURVES)
    weth = aave_market.pool.functions.getReserveData(aave_market.tokens["WETH"].underlying)
    f = aave_market.contract("DefaultReserveInterestRateStrategy", weth.call()[11]).functions
    assert f.OPTIMAL_USAGE_RATIO().call() == 92 * 10**25
    assert f.getVariableRateSlope1().call() == 235 * 10**23


def test_emode_category_and_prices(aave_market: Market) -> None:
    e = ETH_CORRELATED_EMODE
    ltv, lt, bonus, price_source, label = aave_market.pool.functions.getEModeCategoryData(
        e.category_id).call()
    assert (ltv, lt, bonus, label) == (9300, 9500, 10100, "ETH correlated")
    assert int(price_source, 16) == 0  # no category oracle: each asset's own price
    for symbol in aave_market.tokens:
        assert aave_market.price_base(symbol) == INITIAL_PRICES_BASE[symbol]
