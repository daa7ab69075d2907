"""delever CLI command on the WETH rates channel: ``rates``.

``delever rates [--day 2026-02-07] [--withdrawn-eth 255500] [--total-supplied-eth S]
[--json]`` sets the WETH borrow rate the model gives after the unwind's withdrawal beside the
rate recorded that day, with the per-day table Feb 1-8, 2026 (equal-daily withdrawal rule).
The supply figure is an external estimate (see ``delever.protocol.reserve_history``).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from delever.cli._common import console, emit_json, user_errors
from delever.cli._tables import print_table
from delever.errors import InvalidArgument
from delever.protocol import reserve_history as rh


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"day={text!r} must be a date YYYY-MM-DD, e.g. 2026-02-07.") from None


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100.0 * value:.2f}%"


def rates_payload(
    day: date, withdrawn_eth: float, total_supplied_eth: float | None
) -> dict[str, Any]:
    """Everything the command prints, as one JSON-ready dict."""
    result = rh.weth_rate_after_withdrawal(withdrawn_eth, day,
                                           total_supplied_eth=total_supplied_eth)
    low, high = rh.WETH_TOTAL_SUPPLIED_RANGE
    at_low = rh.weth_rate_after_withdrawal(withdrawn_eth, day, total_supplied_eth=low)
    at_high = rh.weth_rate_after_withdrawal(withdrawn_eth, day, total_supplied_eth=high)
    table = rh.withdrawal_table(withdrawn_eth, total_supplied_eth=total_supplied_eth)
    _, state_source = rh.reserve_state_on("WETH", result.start_day,
                                          total_supplied=total_supplied_eth)
    rows = [
        {"day": str(d), **{str(k): float(v) for k, v in row.items()}}
        for d, row in table.iterrows()
    ]
    return {
        "day": day.isoformat(),
        "start_day": result.start_day.isoformat(),
        "withdrawn_eth": result.withdrawn_eth,
        "total_supplied_eth": result.total_supplied_eth,
        "total_borrowed_eth": result.total_borrowed_eth,
        "utilization_before": result.utilization_before,
        "utilization_after": result.utilization_after,
        "borrow_rate_before": result.borrow_rate_before,
        "modelled_borrow_rate": result.modelled_borrow_rate,
        "modelled_borrow_rate_range": [at_high.modelled_borrow_rate, at_low.modelled_borrow_rate],
        "total_supplied_range_eth": [low, high],
        "recorded_borrow_rate": result.recorded_borrow_rate,
        "recorded_borrow_rate_start": result.start_recorded_borrow_rate,
        "explained_share": result.explained_share,
        "table_rule": "equal-daily rule (assumption): withdrawn_eth / 6 leaves on each UTC day "
                      "Feb 1-6; the ~00:20 UTC snapshot of a day sees the days before it; "
                      "debt held fixed",
        "table": rows,
        "estimates": ["total_supplied_eth", "withdrawn_eth", "rate curve slope2"],
        "sources": {
            "state": state_source,
            "curve": result.curve_source,
            "withdrawal": rh.WITHDRAWAL_SOURCE,
            "recorded": rh.DATA_SOURCE,
        },
    }


def scenario_sold_eth(name: str) -> float:
    """ETH the scenario sold (its sell trades, else its reported summary): the WETH withdrawn
    from the supply to sell, as for the reported unwind (an assumption)."""
    from delever.scenario import load_scenario

    spec = load_scenario(name).spec  # unknown name -> one line with close matches
    sells = [t.quantity_eth.value for t in spec.position.trades if t.side == "sell"]
    if sells:
        return math.fsum(sells)
    summary = spec.position.summary
    return summary.sold_eth.value if summary is not None else 0.0


def rates(
    scenario: Annotated[
        str | None,
        typer.Argument(help="A built-in scenario name or a scenario TOML file: the ETH it "
                       "sold is the default --withdrawn-eth.", show_default=False),
    ] = None,
    day: Annotated[str, typer.Option(help="UTC day whose curve and recorded rate are shown "
                                     "(2026-02-07).")] = "2026-02-07",
    withdrawn_eth: Annotated[
        float | None,
        typer.Option(help="WETH supply withdrawn since Feb 1, ETH (default: the ETH the "
                     f"scenario sold, else {rh.REPORTED_WITHDRAWN_ETH:,.0f}).",
                     show_default=False),
    ] = None,
    total_supplied_eth: Annotated[
        float | None,
        typer.Option(help="WETH supply on Feb 1, ETH (default: external estimate 3.0M)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """WETH borrow rate after the unwind's withdrawal vs the rate recorded on chain."""
    with user_errors():
        if withdrawn_eth is None:
            withdrawn_eth = (rh.REPORTED_WITHDRAWN_ETH if scenario is None
                             else scenario_sold_eth(scenario))
        payload = rates_payload(_parse_day(day), withdrawn_eth, total_supplied_eth)
    if json_out:
        emit_json(payload)
        return
    console.print(
        f"WETH on {payload['day']}: {payload['withdrawn_eth']:,.0f} ETH withdrawn from a "
        f"supply of {payload['total_supplied_eth']:,.0f} ETH (estimate); utilization "
        f"{_pct(payload['utilization_before'])} -> {_pct(payload['utilization_after'])}; "
        f"modelled borrow rate {_pct(payload['modelled_borrow_rate'])} (supply range "
        f"{_pct(payload['modelled_borrow_rate_range'][0])}-"
        f"{_pct(payload['modelled_borrow_rate_range'][1])}) vs recorded "
        f"{_pct(payload['recorded_borrow_rate'])}; explains "
        f"{_pct(payload['explained_share'])} of the recorded rise since {payload['start_day']}.",
        markup=False,
    )
    table = Table(title="WETH borrow rate, recorded vs modelled",
                  caption=payload["table_rule"])
    for header in ("day", "out ETH", "rec. rate", "rec. U", "mod. U", "mod. rate",
                   "S low", "S high"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in payload["table"]:
        table.add_row(
            row["day"][5:], f"{row['withdrawn_eth']:,.0f}", _pct(row["recorded_borrow_rate"]),
            _pct(row["recorded_utilization"]), _pct(row["modelled_utilization"]),
            _pct(row["modelled_borrow_rate"]), _pct(row["modelled_borrow_rate_low_supply"]),
            _pct(row["modelled_borrow_rate_high_supply"]),
        )
    print_table(table)
    console.print("S low / S high: modelled rate at a Feb 1 supply of "
                  f"{rh.WETH_TOTAL_SUPPLIED_RANGE[0]:,.0f} / {rh.WETH_TOTAL_SUPPLIED_RANGE[1]:,.0f}"
                  " ETH. From 2026-02-08 the curve is Uopt 94%, slope1 2.45% (Chaos Labs, "
                  "governance.aave.com/t/24018).", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``rates`` to ``app``."""
    app.command("rates")(rates)


__all__ = ["rates_payload", "register"]
