"""delever CLI commands on single Aave v3 accounts: ``position`` and ``liquidate``.

The default pair is WETH collateral against USDC debt, stablecoins priced at $1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from delever.cli._bounds import MAX_ETH, MAX_USD, check_amount, check_lt, check_price_usd
from delever.cli._common import emit_json, user_errors
from delever.cli._tables import print_table
from delever.errors import InvalidArgument
from delever.protocol import (
    RESERVES,
    Account,
    Prices,
    ReserveParams,
    account_data,
    check_whole_units,
    liquidation_call,
    liquidation_price_usd,
)

COLLATERAL = "WETH"
DEBT = "USDC"

CollateralOpt = Annotated[
    float, typer.Option("--collateral-eth", help="WETH collateral, in ETH.", show_default=False)
]
DebtOpt = Annotated[
    float, typer.Option("--debt-usd", help="USDC debt, in USD.", show_default=False)
]
PriceOpt = Annotated[
    float, typer.Option("--price-usd", help="ETH price in USD.", show_default=False)
]
LtOpt = Annotated[
    float | None,
    typer.Option("--lt", help="Liquidation threshold (fraction); default: WETH on Aave v3 Core."),
]
LtvOpt = Annotated[
    float | None, typer.Option("--ltv", help="Loan-to-value (fraction); default: WETH's.")
]
BonusOpt = Annotated[
    float | None,
    typer.Option(
        "--bonus", help="Liquidation bonus above 1 (fraction, e.g. 0.05); default WETH's."
    ),
]
ExactOpt = Annotated[
    bool, typer.Option("--exact", help="Use Aave's integer math (WAD/RAY, token decimals).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]


def _weth_reserves(
    lt: float | None, ltv: float | None, bonus: float | None, protocol_fee: float | None = None
) -> dict[str, ReserveParams]:
    """The reserve registry with WETH's parameters overridden by the flags (validated)."""
    changes: dict[str, Any] = {}
    if lt is not None:
        changes["liquidation_threshold"] = check_lt("--lt", lt)
    if ltv is not None:
        changes["ltv"] = ltv
    elif lt is not None and lt < RESERVES[COLLATERAL].ltv:
        # A lower LT alone should not trip the LT >= LTV rule: lower the LTV with it.
        changes["ltv"] = lt
    if bonus is not None:
        changes["liquidation_bonus"] = bonus
    if protocol_fee is not None:
        changes["liquidation_protocol_fee"] = protocol_fee
    reserves = dict(RESERVES)
    reserves[COLLATERAL] = dataclasses.replace(RESERVES[COLLATERAL], **changes)
    return reserves


def _account(collateral_eth: float, debt_usd: float) -> Account:
    # Bounded so that USD sums, the health factor and the liquidation price stay finite.
    check_amount("--collateral-eth", collateral_eth, MAX_ETH, "ETH")
    check_amount("--debt-usd", debt_usd, MAX_USD, "USD")
    account = Account(collateral={COLLATERAL: collateral_eth}, debt={DEBT: debt_usd})
    return check_whole_units(account, labels={f"collateral.{COLLATERAL}": "--collateral-eth",
                                              f"debt.{DEBT}": "--debt-usd"})


@contextmanager
def _exact_range(exact: bool, **amounts: float) -> Iterator[None]:
    """With --exact, amounts past Aave's uint256 math (the contract would revert) are bad input
    (exit 2), not an internal OverflowError."""
    try:
        yield
    except OverflowError:
        if not exact:
            raise
        given = ", ".join(f"--{key.replace('_', '-')}={value:g}" for key, value in amounts.items())
        raise InvalidArgument(
            f"{given}: too large for Aave's uint256 integer math (--exact; the contract would "
            "revert); give smaller amounts or drop --exact."
        ) from None


def _print_table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False, title_justify="left", min_width=60)
    table.add_column("quantity", style="bold")
    table.add_column("value", justify="right")
    for key, value in rows.items():
        if isinstance(value, float) and not math.isfinite(value):
            # No debt: HF and distance are infinite, there is no liquidation price.
            shown = "n/a" if math.isnan(value) else ("infinite" if value > 0 else "-infinite")
        elif isinstance(value, float):
            shown = f"{value:,.6f}" if abs(value) < 100 else f"{value:,.2f}"
        else:
            shown = str(value)
        table.add_row(key, shown)
    print_table(table)


def position(
    collateral_eth: CollateralOpt,
    debt_usd: DebtOpt,
    price_usd: PriceOpt,
    lt: LtOpt = None,
    ltv: LtvOpt = None,
    bonus: BonusOpt = None,
    exact: ExactOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Health factor, liquidation price and borrowing room of one WETH/USDC account."""
    with user_errors():
        check_price_usd("price_usd", price_usd)
        reserves = _weth_reserves(lt, ltv, bonus)
        account = _account(collateral_eth, debt_usd)
        prices = Prices.from_eth(price_usd)
        with _exact_range(exact, collateral_eth=collateral_eth, debt_usd=debt_usd,
                          price_usd=price_usd):
            data = account_data(account, prices, reserves=reserves, exact=exact)
        liq_price = liquidation_price_usd(account, prices, reserves=reserves)
        distance = 100.0 * (1.0 - liq_price / price_usd) if math.isfinite(liq_price) else math.inf
        result: dict[str, Any] = {
            "health_factor": data.health_factor,
            "liquidation_price_usd": liq_price,
            "available_borrow_usd": data.available_borrows_usd,
            "distance_to_liquidation_pct": distance,
            "collateral_usd": data.total_collateral_usd,
            "debt_usd": data.total_debt_usd,
            "liquidation_threshold": data.avg_liquidation_threshold,
            "ltv": data.avg_ltv,
            "exact": exact,
        }
        if exact:
            result["health_factor_wad"] = str(data.health_factor_wad)
        if json_output:
            emit_json(result)
        else:
            _print_table("Aave v3 account (WETH collateral, USDC debt)", result)


def liquidate(
    collateral_eth: CollateralOpt,
    debt_usd: DebtOpt,
    price_usd: PriceOpt,
    debt_to_cover_usd: Annotated[
        float,
        typer.Option(
            "--debt-to-cover-usd",
            help="Debt the liquidator offers to repay, in USD (capped by the close factor; "
            "inf: the maximum).",
            show_default=False,
        ),
    ],
    lt: LtOpt = None,
    bonus: BonusOpt = None,
    protocol_fee: Annotated[
        float | None,
        typer.Option("--protocol-fee", help="Protocol's share of the bonus; default WETH's."),
    ] = None,
    exact: ExactOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """One Aave v3 liquidationCall on a WETH/USDC account, with the protocol's rules."""
    with user_errors():
        check_price_usd("price_usd", price_usd)
        if math.isnan(debt_to_cover_usd) or debt_to_cover_usd <= 0:
            raise InvalidArgument(
                f"debt_to_cover_usd={debt_to_cover_usd!r} must be greater than 0 "
                "(inf means as much as the close factor allows)."
            )
        reserves = _weth_reserves(lt, None, bonus, protocol_fee)
        account = _account(collateral_eth, debt_usd)
        prices = Prices.from_eth(price_usd)
        with _exact_range(exact, collateral_eth=collateral_eth, debt_usd=debt_usd,
                          price_usd=price_usd, debt_to_cover_usd=debt_to_cover_usd):
            outcome = liquidation_call(
                account,
                prices,
                collateral_symbol=COLLATERAL,
                debt_symbol=DEBT,
                debt_to_cover=debt_to_cover_usd,
                reserves=reserves,
                exact=exact,
            )
        result: dict[str, Any] = {
            "close_factor": outcome.close_factor,
            "debt_repaid_usd": outcome.debt_repaid_usd,
            "collateral_to_liquidator_eth": outcome.collateral_to_liquidator,
            "protocol_fee_eth": outcome.protocol_fee,
            "collateral_left_eth": outcome.collateral_left,
            "debt_left_usd": outcome.debt_left,
            "bad_debt_usd": outcome.bad_debt_usd,
            "health_factor_before": outcome.health_factor_before,
            "health_factor_after": outcome.health_factor_after,
            "exact": exact,
        }
        if json_output:
            emit_json(result)
        else:
            _print_table("Aave v3 liquidationCall (WETH collateral, USDC debt)", result)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("position")(position)
    app.command("liquidate")(liquidate)
