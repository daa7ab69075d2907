"""delever CLI commands on single accounts: ``position`` and ``liquidate``.

The default pair is WETH collateral against USDC debt, stablecoins priced at $1, under Aave
v3.6. ``--protocol`` picks the rules (``aave-v3.0``, ``aave-v3.3``, ``aave-v3.6`` or
``morpho-blue``, from :func:`delever.protocol.get_protocol`); a Morpho Blue market is given by
its ``--lltv``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, cast

import typer
from rich.table import Table
from typer._click import exceptions as click_errors  # typer >= 0.24 ships its own click

from delever.cli._bounds import (
    MAX_ETH,
    MAX_USD,
    MIN_LT,
    check_amount,
    check_lt,
    check_price_usd,
)
from delever.cli._common import emit_json, user_errors
from delever.cli._tables import print_table
from delever.errors import InvalidArgument
from delever.protocol import (
    DEFAULT_PROTOCOL,
    PROTOCOL_NAMES,
    RESERVES,
    AaveV3,
    Account,
    LendingProtocol,
    Prices,
    ReserveParams,
    account_data,
    check_whole_units,
    get_protocol,
    liquidation_call,
    liquidation_price_usd,
    rate_distance_to_liquidation,
)
from delever.protocol.morpho import NAME as MORPHO_NAME
from delever.protocol.morpho import MorphoBlue

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
# position's own: optional, since --address reads the account from the chain instead.
PosCollateralOpt = Annotated[
    float | None,
    typer.Option("--collateral-eth", help="WETH collateral, in ETH.", show_default=False),
]
PosDebtOpt = Annotated[
    float | None, typer.Option("--debt-usd", help="USDC debt, in USD.", show_default=False)
]
PosPriceOpt = Annotated[
    float | None, typer.Option("--price-usd", help="ETH price in USD.", show_default=False)
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
ProtocolOpt = Annotated[
    str,
    typer.Option("--protocol", help=f"Lending protocol rules: {', '.join(PROTOCOL_NAMES)}."),
]
LltvOpt = Annotated[
    float | None,
    typer.Option("--lltv", help="Morpho Blue market's LLTV (fraction, e.g. 0.86); "
                 "with --protocol morpho-blue, where it is required."),
]
# Options that only one family of protocols takes, for the one-line refusal.
_AAVE_ONLY = ("--lt", "--ltv", "--bonus", "--protocol-fee", "--exact")
_MORPHO_ONLY = ("--lltv", "--seize-eth")


def _protocol(name: str, lltv: float | None) -> LendingProtocol:
    """The --protocol's object; Morpho Blue built with the market's --lltv (required)."""
    protocol = get_protocol(name, field="--protocol")
    if isinstance(protocol, MorphoBlue):
        if lltv is None:
            raise InvalidArgument("--lltv is required with --protocol morpho-blue: give the "
                                  "market's LLTV as a fraction, e.g. 0.86.")
        if not (math.isfinite(lltv) and MIN_LT <= lltv < 1.0):
            # The same floor as --lt (1 bp) keeps the liquidation price finite; Morpho's
            # enabled LLTVs are far above it (e.g. 0.86, 0.915).
            raise InvalidArgument(f"--lltv={lltv!r} must be in [{MIN_LT:g}, 1): the market's "
                                  "LLTV as a fraction, e.g. 0.86.")
        return MorphoBlue(lltv=lltv)
    return protocol


def _refuse_options(protocol: LendingProtocol, given: dict[str, bool]) -> None:
    """One line naming an option the chosen protocol does not take."""
    foreign = _MORPHO_ONLY if isinstance(protocol, AaveV3) else _AAVE_ONLY
    for option in foreign:
        if given.get(option):
            other = "--protocol morpho-blue" if option in _MORPHO_ONLY else "an Aave --protocol"
            raise InvalidArgument(
                f"{option} does not apply to --protocol {protocol.name}; it needs {other}.")


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


AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Read this account (0x + 40 hex) from the chain at --block "
                 "instead of the --collateral-eth / --debt-usd / --price-usd example."),
]
RpcOpt = Annotated[
    str | None,
    typer.Option("--rpc", envvar="DELEVER_RPC_URL", show_envvar=True, show_default=False,
                 help="Ethereum JSON-RPC URL, with --address (never printed)."),
]
BlockOpt = Annotated[
    int | None,
    typer.Option("--block", help="Block to read, with --address; default the latest "
                 "finalized block.", show_default=False),
]
MarketOpt = Annotated[
    str, typer.Option("--market", help="Aave v3 market, with --address: ethereum-core, "
                      "ethereum-prime or a PoolAddressesProvider address (any chain)."),
]
MarketIdOpt = Annotated[
    str | None,
    typer.Option("--market-id", help="Morpho Blue market id (0x + 64 hex), with --protocol "
                 "morpho-blue --address.", show_default=False),
]
_OFFLINE = ("--collateral-eth", "--debt-usd", "--price-usd", "--lt", "--ltv", "--bonus",
            "--lltv", "--protocol")
AssetOpt = Annotated[
    str, typer.Option("--asset", help="Collateral asset: WETH, wstETH or weETH (its ETH value "
                      "is --collateral-eth).")]
RateOpt = Annotated[
    float | None, typer.Option("--rate", help="ETH per unit of --asset (default: wstETH 1.225, "
                               "weETH 1.085, estimates).", show_default=False)]
DebtEthOpt = Annotated[
    float | None, typer.Option("--debt-eth", help="WETH debt, in ETH (instead of --debt-usd).",
                               show_default=False)]
EmodeOpt = Annotated[bool, typer.Option("--emode", help="The ETH-correlated e-mode (WETH debt "
                                        "only).")]


def _asset_account(collateral_eth: float, debt: tuple[str, float], price_usd: float,
                   asset: str, rate: float | None, emode: bool) -> tuple[Account, Prices]:
    """An account of ``collateral_eth`` worth of ``asset`` against ``debt`` (symbol, tokens),
    with prices at ``price_usd`` and the asset's ``rate`` to ETH."""
    symbols = {s.lower(): s for s in RESERVES if RESERVES[s].eth_correlated}
    symbol = symbols.get(asset.lower())
    if symbol is None:
        raise InvalidArgument(f"--asset={asset!r} must be one of {', '.join(symbols.values())}.")
    if rate is not None and symbol == "WETH":
        raise InvalidArgument("--rate applies to an ETH derivative --asset, not WETH.")
    if rate is not None and not (math.isfinite(rate) and 0.1 <= rate <= 10.0):
        raise InvalidArgument(f"--rate={rate!r} must be in [0.1, 10] ETH per unit.")
    check_amount("--collateral-eth", collateral_eth, MAX_ETH, "ETH")
    rates = {} if rate is None else {"wstETH": {"wsteth_per_eth": rate},
                                     "weETH": {"weeth_per_eth": rate}}.get(symbol, {})
    prices = Prices.from_eth(price_usd, **rates)
    units = collateral_eth * prices.price("WETH") / prices.price(symbol)
    debt_symbol, debt_tokens = debt
    label = "--debt-eth" if debt_symbol == "WETH" else "--debt-usd"
    check_amount(label, debt_tokens, MAX_ETH if debt_symbol == "WETH" else MAX_USD,
                 "ETH" if debt_symbol == "WETH" else "USD")
    account = Account(collateral={symbol: units}, debt={debt_symbol: debt_tokens}, emode=emode)
    labels = {f"collateral.{symbol}": "--collateral-eth", f"debt.{debt_symbol}": label}
    return check_whole_units(account, labels=labels), prices


def position(
    ctx: typer.Context,
    collateral_eth: PosCollateralOpt = None,
    debt_usd: PosDebtOpt = None,
    price_usd: PosPriceOpt = None,
    lt: LtOpt = None,
    ltv: LtvOpt = None,
    bonus: BonusOpt = None,
    exact: ExactOpt = False,
    json_output: JsonOpt = False,
    protocol_name: ProtocolOpt = DEFAULT_PROTOCOL,
    lltv: LltvOpt = None,
    address: AddressOpt = None,
    rpc: RpcOpt = None,
    block: BlockOpt = None,
    market: MarketOpt = "ethereum-core",
    market_id: MarketIdOpt = None,
    asset: AssetOpt = "WETH",
    rate: RateOpt = None,
    debt_eth: DebtEthOpt = None,
    emode: EmodeOpt = False,
) -> None:
    """Health factor, liquidation price and borrowing room of one account (WETH/USDC, or
    --asset / --debt-eth / --emode: a looped position).

    With --address, the account is read from Aave v3 on the chain (--rpc) at --block; with
    --protocol morpho-blue --address --market-id, its position in that Morpho Blue market.
    """
    if address is not None and protocol_name == MORPHO_NAME:
        with user_errors():
            _live_morpho_position(address, rpc, block, (market_id, market), json_output,
                                  (collateral_eth, debt_usd, price_usd, lt, ltv, bonus, lltv))
        return
    with user_errors():
        if market_id is not None:
            raise InvalidArgument("--market-id needs --protocol morpho-blue and --address "
                                  "(it names a Morpho Blue market to read from the chain).")
    if address is not None:
        given = dict(zip(_OFFLINE, (collateral_eth, debt_usd, price_usd, lt, ltv, bonus, lltv,
                                    None if protocol_name == DEFAULT_PROTOCOL else 1),
                         strict=True))
        with user_errors():
            _live_position(address, rpc, block, market, json_output,
                           [name for name, value in given.items() if value is not None])
        return
    with user_errors():
        if debt_eth is not None and debt_usd is not None:
            raise InvalidArgument("give --debt-usd (USDC debt) or --debt-eth (WETH debt), "
                                  "not both.")
    _require_given(ctx, {"collateral_eth": collateral_eth,
                         "debt_usd": debt_usd if debt_eth is None else debt_eth,
                         "price_usd": price_usd})
    assert collateral_eth is not None and price_usd is not None
    loop = asset.lower() != "weth" or rate is not None or debt_eth is not None or emode
    if loop:
        with user_errors():
            _loop_position(collateral_eth, ("WETH", debt_eth) if debt_eth is not None
                           else (DEBT, debt_usd or 0.0), price_usd, (asset, rate, emode),
                           (protocol_name, lt, ltv, bonus, exact, json_output))
        return
    assert debt_usd is not None
    with user_errors():
        protocol = _protocol(protocol_name, lltv)
        _refuse_options(protocol, {"--lt": lt is not None, "--ltv": ltv is not None,
                                   "--bonus": bonus is not None, "--exact": exact,
                                   "--lltv": lltv is not None})
        check_price_usd("price_usd", price_usd)
        if isinstance(protocol, MorphoBlue):
            _market_position(protocol, collateral_eth, debt_usd, price_usd, json_output)
            return
        if not isinstance(protocol, AaveV3):
            raise InvalidArgument(f"--protocol {protocol.name} has no position command yet.")
        _aave_position(protocol, (collateral_eth, debt_usd, price_usd),
                       _weth_reserves(lt, ltv, bonus), exact, json_output)


def _aave_position(protocol: AaveV3, position: tuple[float, float, float],
                   reserves: Mapping[str, ReserveParams], exact: bool, json_output: bool
                   ) -> None:
    """``position`` of one WETH/USDC account by the rule set of ``protocol``."""
    collateral_eth, debt_usd, price_usd = position
    account = _account(collateral_eth, debt_usd)
    prices = Prices.from_eth(price_usd)
    with _exact_range(exact, collateral_eth=collateral_eth, debt_usd=debt_usd,
                      price_usd=price_usd):
        data = account_data(account, prices, reserves=reserves, exact=exact,
                            rule_set=protocol.rule_set)
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
        _print_table(f"{_aave_title(protocol)} account (WETH collateral, USDC debt)", result)


def _live_position(address: str, rpc: str | None, block: int | None, market: str,
                   json_output: bool, refused: list[str]) -> None:
    """``position --address``: the account read from the chain (delever.sources.chain)."""
    if refused:
        raise InvalidArgument(f"{refused[0]} does not apply with --address (the account is "
                              "read from the chain); drop one or the other.")
    from delever.sources import require

    require("web3", "delever position --address")
    from delever.sources.chain.position import live_position

    result, positions = live_position(address, rpc, block, market)
    if json_output:
        emit_json(result)
        return
    summary = {k: v for k, v in result.items() if not isinstance(v, list | dict)}
    _print_table(f"Aave v3 {market} account {address} at block {result['block']}", summary)
    table = Table(title="Reserves")
    for column in ("symbol", "collateral", "debt", "as collateral", "price USD"):
        table.add_column(column)
    for row in positions:
        table.add_row(row["symbol"], f"{row['collateral_tokens']:,.6f}",
                      f"{row['debt_tokens']:,.6f}", "yes" if row["used_as_collateral"] else "no",
                      f"{row['price_usd']:,.8f}")
    print_table(table)


def _live_morpho_position(address: str, rpc: str | None, block: int | None,
                          markets: tuple[str | None, str], json_output: bool,
                          offline: tuple[float | None, ...]) -> None:
    """``position --protocol morpho-blue --address``: one Morpho Blue position from the chain.

    ``markets`` is (--market-id, --market); ``offline`` the values of the first seven
    ``_OFFLINE`` options, which it refuses, as it does an Aave --market.
    """
    market_id, aave_market = markets
    refused = [name for name, value in zip(_OFFLINE[:7], offline, strict=True)
               if value is not None]
    if aave_market != "ethereum-core":
        refused.append("--market")
    if refused:
        raise InvalidArgument(f"{refused[0]} does not apply with --protocol morpho-blue "
                              "--address (the position and market are read from the chain); "
                              "drop it.")
    from delever.sources import require

    require("web3", "delever position --address")
    from delever.sources.chain.morpho import live_morpho_position

    result = live_morpho_position(address, rpc, block, market_id)
    if json_output:
        emit_json(result)
        return
    shown = {k: v for k, v in result.items() if v is not None and v != ""}
    if math.isfinite(result["health_factor"]):  # all digits: 0.9999999999 is not 1.000000
        shown["health_factor"] = repr(result["health_factor"])
    _print_table(f"Morpho Blue market {result['market_id']} position {address} at block "
                 f"{result['block']}", shown)


def _require_given(ctx: typer.Context, values: Mapping[str, float | None]) -> None:
    """Without --address the example's amounts are required: click's own missing-option error
    (one line, exit 2, as when they were declared required)."""
    for name, value in values.items():
        if value is None:
            param = next(p for p in ctx.command.params if p.name == name)
            raise click_errors.MissingParameter(ctx=ctx, param=cast(Any, param))


def _loop_position(collateral_eth: float, debt: tuple[str, float], price_usd: float,
                   collateral: tuple[str, float | None, bool],
                   flags: tuple[str, float | None, float | None, float | None, bool, bool]
                   ) -> None:
    """``position`` of an account holding an ETH derivative or owing WETH (a loop)."""
    asset, rate, emode = collateral
    protocol_name, lt, ltv, bonus, exact, json_output = flags
    protocol = get_protocol(protocol_name, field="--protocol")
    if not isinstance(protocol, AaveV3):
        raise InvalidArgument("--asset, --rate, --debt-eth and --emode describe an Aave "
                              "account; use an Aave --protocol.")
    if lt is not None or ltv is not None or bonus is not None:
        raise InvalidArgument("--lt, --ltv and --bonus set WETH's parameters; with --asset, "
                              "--debt-eth or --emode the asset's (or e-mode's) Aave values "
                              "apply.")
    check_price_usd("price_usd", price_usd)
    account, prices = _asset_account(collateral_eth, debt, price_usd, asset, rate, emode)
    with _exact_range(exact, collateral_eth=collateral_eth, price_usd=price_usd):
        data = account_data(account, prices, exact=exact, rule_set=protocol.rule_set)
    liq_price = liquidation_price_usd(account, prices)
    driver, distance = "ETH/USD", math.inf
    if math.isfinite(liq_price):
        distance = 100.0 * (1.0 - liq_price / price_usd)
    else:
        moved = rate_distance_to_liquidation(account, prices)
        if moved is not None:
            driver, distance = moved.driver, moved.drop_pct
    (symbol,) = account.collateral
    result: dict[str, Any] = {
        "health_factor": data.health_factor, "liquidation_price_usd": liq_price,
        "distance_to_liquidation_pct": distance, "distance_driver": driver,
        "available_borrow_usd": data.available_borrows_usd,
        "collateral_units": account.collateral[symbol], "collateral_usd":
        data.total_collateral_usd, "debt_usd": data.total_debt_usd,
        "liquidation_threshold": data.avg_liquidation_threshold, "ltv": data.avg_ltv,
        "emode": emode, "exact": exact}
    if exact:
        result["health_factor_wad"] = str(data.health_factor_wad)
    if json_output:
        emit_json(result)
    else:
        (debt_symbol,) = account.debt
        _print_table(f"{_aave_title(protocol)} account ({symbol} collateral, {debt_symbol} "
                     f"debt{', e-mode' if emode else ''})", result)


def _aave_title(protocol: AaveV3) -> str:
    # The default's title is unchanged ("Aave v3"); another rule set names its version.
    return "Aave v3" if protocol.name == DEFAULT_PROTOCOL else f"Aave v{protocol.rule_set}"


def _market_position(protocol: MorphoBlue, collateral_eth: float, debt_usd: float,
                     price_usd: float, json_output: bool) -> None:
    """``position`` for a one-market protocol (Morpho Blue): HF = C * P * LLTV / D."""
    _account(collateral_eth, debt_usd)  # the same bounds and whole-unit rule as Aave's
    if debt_usd > 0 and collateral_eth == 0:
        raise InvalidArgument(
            "account has debt but no collateral: its health factor is 0 at every ETH price, "
            "so it has no liquidation price.")
    risk = protocol.risk()
    hf = protocol.health_factor(collateral_eth, debt_usd, price_usd, risk)
    liq_price = (protocol.liquidation_price_usd(collateral_eth, debt_usd, risk)
                 if debt_usd > 0 else math.nan)
    distance = 100.0 * (1.0 - liq_price / price_usd) if math.isfinite(liq_price) else math.inf
    result: dict[str, Any] = {
        "protocol": protocol.name,
        "health_factor": hf,
        "liquidation_price_usd": liq_price,
        "distance_to_liquidation_pct": distance,
        "max_withdraw_eth": protocol.max_withdraw_eth(collateral_eth, debt_usd, price_usd, risk),
        "collateral_usd": collateral_eth * price_usd,
        "debt_usd": debt_usd,
        "lltv": risk.liquidation_threshold,
        "liquidation_incentive_factor": 1.0 + risk.liquidation_bonus,
    }
    if json_output:
        emit_json(result)
    else:
        _print_table("Morpho Blue market position (WETH collateral, USDC debt)", result)


def liquidate(
    collateral_eth: CollateralOpt,
    debt_usd: DebtOpt,
    price_usd: PriceOpt,
    debt_to_cover_usd: Annotated[
        float | None,
        typer.Option(
            "--debt-to-cover-usd",
            help="Debt the liquidator offers to repay, in USD (capped by the close factor; "
            "inf: the maximum). Required for Aave.",
            show_default=False,
        ),
    ] = None,
    lt: LtOpt = None,
    bonus: BonusOpt = None,
    protocol_fee: Annotated[
        float | None,
        typer.Option("--protocol-fee", help="Protocol's share of the bonus; default WETH's."),
    ] = None,
    exact: ExactOpt = False,
    json_output: JsonOpt = False,
    protocol_name: ProtocolOpt = DEFAULT_PROTOCOL,
    lltv: LltvOpt = None,
    seize_eth: Annotated[
        float | None,
        typer.Option("--seize-eth", help="Morpho Blue: collateral the liquidator seizes, in ETH "
                     "(or give --debt-to-cover-usd; neither: the whole position).",
                     show_default=False),
    ] = None,
    asset: AssetOpt = "WETH",
    rate: RateOpt = None,
    debt_eth: DebtEthOpt = None,
    emode: EmodeOpt = False,
) -> None:
    """One liquidation call on a WETH/USDC account (or --asset / --debt-eth / --emode: a
    looped position), by the --protocol's rules."""
    if asset.lower() != "weth" or rate is not None or debt_eth is not None or emode:
        with user_errors():
            _loop_liquidate(collateral_eth, (debt_usd, debt_eth), price_usd,
                            (asset, rate, emode), (protocol_name, debt_to_cover_usd, exact,
                                                   json_output, lt, bonus, protocol_fee))
        return
    with user_errors():
        protocol = _protocol(protocol_name, lltv)
        _refuse_options(protocol, {
            "--lt": lt is not None, "--bonus": bonus is not None,
            "--protocol-fee": protocol_fee is not None, "--exact": exact,
            "--lltv": lltv is not None, "--seize-eth": seize_eth is not None})
        check_price_usd("price_usd", price_usd)
        if debt_to_cover_usd is not None and (math.isnan(debt_to_cover_usd)
                                              or debt_to_cover_usd <= 0):
            raise InvalidArgument(
                f"debt_to_cover_usd={debt_to_cover_usd!r} must be greater than 0 "
                "(inf means as much as the close factor allows)."
            )
        if isinstance(protocol, MorphoBlue):
            _market_liquidate(protocol, (collateral_eth, debt_usd, price_usd),
                              debt_to_cover_usd, seize_eth, json_output)
            return
        if not isinstance(protocol, AaveV3):
            raise InvalidArgument(f"--protocol {protocol.name} has no liquidate command yet.")
        if debt_to_cover_usd is None:
            raise InvalidArgument(
                f"--debt-to-cover-usd is required with --protocol {protocol.name}: the debt the "
                "liquidator repays, in USD (inf: as much as the close factor allows).")
        _aave_liquidate(protocol, (collateral_eth, debt_usd, price_usd), debt_to_cover_usd,
                        _weth_reserves(lt, None, bonus, protocol_fee), exact, json_output)


def _loop_liquidate(collateral_eth: float, debts: tuple[float, float | None],
                    price_usd: float, collateral: tuple[str, float | None, bool],
                    flags: tuple[str, float | None, bool, bool, float | None, float | None,
                                 float | None]) -> None:
    """``liquidationCall`` on an account holding an ETH derivative or owing WETH (a loop);
    ``--debt-to-cover-usd`` is in the debt's tokens (ETH for WETH debt)."""
    debt_usd, debt_eth = debts
    asset, rate, emode = collateral
    protocol_name, cover, exact, json_output, lt, bonus, fee = flags
    protocol = get_protocol(protocol_name, field="--protocol")
    if not isinstance(protocol, AaveV3):
        raise InvalidArgument("--asset, --rate, --debt-eth and --emode describe an Aave "
                              "account; use an Aave --protocol.")
    if lt is not None or bonus is not None or fee is not None:
        raise InvalidArgument("--lt, --bonus and --protocol-fee set WETH's parameters; with "
                              "--asset, --debt-eth or --emode the Aave values apply.")
    if debt_eth is not None and debt_usd != 0.0:
        raise InvalidArgument("give --debt-usd (USDC debt) or --debt-eth (WETH debt), not "
                              "both; with --debt-eth, --debt-usd must be 0.")
    if cover is None or math.isnan(cover) or cover <= 0:
        raise InvalidArgument(f"--debt-to-cover-usd={cover!r} must be greater than 0: the "
                              "debt repaid, in the debt's tokens (ETH for --debt-eth; inf: "
                              "the maximum).")
    check_price_usd("price_usd", price_usd)
    debt = ("WETH", debt_eth) if debt_eth is not None else (DEBT, debt_usd)
    account, prices = _asset_account(collateral_eth, debt, price_usd, asset, rate, emode)
    (symbol,) = account.collateral
    with _exact_range(exact, collateral_eth=collateral_eth, price_usd=price_usd,
                      debt_to_cover_usd=cover):
        out = liquidation_call(account, prices, collateral_symbol=symbol,
                               debt_symbol=debt[0], debt_to_cover=cover, exact=exact,
                               rule_set=protocol.rule_set)
    result: dict[str, Any] = {
        "close_factor": out.close_factor, "debt_repaid": out.debt_repaid,
        "debt_repaid_usd": out.debt_repaid_usd, "collateral_to_liquidator_tokens":
        out.collateral_to_liquidator, "protocol_fee_tokens": out.protocol_fee,
        "collateral_left_tokens": out.collateral_left, "debt_left": out.debt_left,
        "bad_debt_usd": out.bad_debt_usd, "health_factor_before": out.health_factor_before,
        "health_factor_after": out.health_factor_after, "collateral_asset": symbol,
        "debt_asset": debt[0], "emode": emode, "exact": exact}
    if json_output:
        emit_json(result)
    else:
        _print_table(f"{_aave_title(protocol)} liquidationCall ({symbol} collateral, "
                     f"{debt[0]} debt{', e-mode' if emode else ''})", result)


def _aave_liquidate(protocol: AaveV3, position: tuple[float, float, float],
                    debt_to_cover_usd: float, reserves: Mapping[str, ReserveParams],
                    exact: bool, json_output: bool) -> None:
    """``liquidationCall`` by the rule set of ``protocol`` on one WETH/USDC account."""
    collateral_eth, debt_usd, price_usd = position
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
            rule_set=protocol.rule_set,
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
        _print_table(f"{_aave_title(protocol)} liquidationCall (WETH collateral, USDC debt)",
                     result)


def _market_liquidate(protocol: MorphoBlue, position: tuple[float, float, float],
                      debt_to_cover_usd: float | None, seize_eth: float | None,
                      json_output: bool) -> None:
    """``liquidate`` for a one-market protocol (Morpho Blue's ``liquidate``)."""
    collateral_eth, debt_usd, price_usd = position
    _account(collateral_eth, debt_usd)
    if seize_eth is not None:
        check_amount("--seize-eth", seize_eth, MAX_ETH, "ETH")
        if seize_eth <= 0:
            raise InvalidArgument(f"--seize-eth={seize_eth!r} must be greater than 0 "
                                  "(the collateral to seize, in ETH).")
        if debt_to_cover_usd is not None:
            raise InvalidArgument("give --seize-eth or --debt-to-cover-usd, not both "
                                  "(Morpho Blue's liquidate takes one of the two).")
    risk = protocol.risk()
    # inf: the whole position, as Morpho's liquidate with neither amount.
    cover = None if debt_to_cover_usd is None or math.isinf(debt_to_cover_usd) else (
        debt_to_cover_usd)
    outcome = protocol.liquidate(collateral_eth, debt_usd, price_usd, risk,
                                 debt_to_cover_usd=cover, seize_eth=seize_eth)
    if not outcome.liquidated:
        if not outcome.health_factor_before < 1.0:
            raise InvalidArgument(
                f"the position is healthy (health factor {outcome.health_factor_before:.6g} is "
                f"not below 1 at LLTV {risk.liquidation_threshold:g}); {protocol.name} "
                f"reverts with {outcome.status}.")
        raise InvalidArgument(f"{protocol.name} reverts with {outcome.status}: nothing to "
                              "liquidate (check --collateral-eth, --seize-eth).")
    result: dict[str, Any] = {
        "protocol": protocol.name,
        "liquidation_incentive_factor": 1.0 + risk.liquidation_bonus,
        "debt_repaid_usd": outcome.debt_repaid_usd,
        "collateral_to_liquidator_eth": outcome.collateral_to_liquidator_eth,
        "collateral_left_eth": outcome.collateral_left_eth,
        "debt_left_usd": outcome.debt_left_usd,
        "bad_debt_usd": outcome.bad_debt_usd,
        "health_factor_before": outcome.health_factor_before,
        "health_factor_after": outcome.health_factor_after,
    }
    if json_output:
        emit_json(result)
    else:
        _print_table("Morpho Blue liquidate (WETH collateral, USDC debt)", result)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("position")(position)
    app.command("liquidate")(liquidate)
