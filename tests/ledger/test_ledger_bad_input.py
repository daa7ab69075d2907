"""Every rule on the ledger's inputs, from one table of bad inputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from delever.errors import InvalidArgument
from delever.ledger import Ledger, PnL, Side, Trade, pnl_from_summary, time_to_recover

T0 = datetime(2026, 2, 1, tzinfo=UTC)
T1 = datetime(2026, 2, 2, tzinfo=UTC)


def _trade(**changes: object) -> Callable[[], object]:
    fields: dict[str, object] = {
        "time": T0, "side": Side.BUY, "quantity_eth": 1.0, "price_usd": 100.0,
    }
    fields.update(changes)
    return lambda: Trade(**fields)  # type: ignore[arg-type]


BUY = Trade(T0, Side.BUY, 10.0, 100.0)

BAD_INPUTS: list[tuple[str, Callable[[], object], str]] = [
    ("quantity-negative", _trade(quantity_eth=-1.0),
     r"^quantity_eth=-1\.0 must be greater than 0\.$"),
    ("quantity-zero", _trade(quantity_eth=0.0), r"^quantity_eth=0\.0 must be greater than 0\."),
    ("quantity-nan", _trade(quantity_eth=float("nan")),
     r"^quantity_eth=nan must be a finite number\."),
    ("quantity-text", _trade(quantity_eth="1"), r"^quantity_eth='1' must be a number\."),
    ("quantity-bool", _trade(quantity_eth=True), r"^quantity_eth=True must be a number\."),
    ("price-zero", _trade(price_usd=0.0), r"^price_usd=0\.0 must be greater than 0\."),
    ("price-inf", _trade(price_usd=float("inf")), r"^price_usd=inf must be a finite number\."),
    ("fee-negative", _trade(fee_usd=-0.5), r"^fee_usd=-0\.5 must not be negative\."),
    ("side-unknown", _trade(side="hold"), r"^side='hold' is not known; choose one of buy, sell"),
    ("side-typo", _trade(side="sel"), r"Did you mean 'sell'\?"),
    ("time-date", _trade(time=date(2026, 2, 1)), r"^time=datetime\.date\(2026, 2, 1\) must be a"),
    ("time-text", _trade(time="2026-02-01"), r"^time='2026-02-01' must be a datetime"),
    ("note-not-text", _trade(note=3), r"^note=3 must be a string\.$"),
    ("method-unknown", lambda: Ledger.from_trades([BUY], method="lifo"),  # type: ignore[arg-type]
     r"^method='lifo' is not known; choose one of average, fifo\. Did you mean 'fifo'\?"),
    ("sell-more-than-held",
     lambda: Ledger.from_trades([BUY, Trade(T1, Side.SELL, 10.5, 100.0)]),
     r"^trades\[1\]: quantity_eth=10\.5 sold at .* exceeds the position of 10\.0 ETH; "
     r"the ledger is long-only"),
    ("sell-from-flat", lambda: Ledger().add(Trade(T1, Side.SELL, 1.0, 100.0)),
     r"exceeds the position of 0\.0 ETH; .*cannot open a short\.$"),
    ("trades-out-of-order",
     lambda: Ledger.from_trades([Trade(T1, Side.BUY, 1.0, 1.0), BUY]),
     r"^trades\[1\]\.time=2026-02-01T00:00:00\+00:00 is earlier than trades\[0\]\.time="),
    ("add-out-of-order", lambda: Ledger.from_trades([Trade(T1, Side.BUY, 1.0, 1.0)]).add(BUY),
     r"^time=2026-02-01T00:00:00\+00:00 is earlier than the last trade's time="),
    ("trades-not-trade", lambda: Ledger.from_trades([BUY, (T1, "buy", 1.0, 1.0)]),  # type: ignore[list-item]
     r"^trades\[1\]=.* must be a Trade\.$"),
    ("add-not-trade", lambda: Ledger().add("buy 1 ETH"),  # type: ignore[arg-type]
     r"^trade='buy 1 ETH' must be a Trade\.$"),
    ("mark-zero", lambda: Ledger.from_trades([BUY]).pnl(0.0),
     r"^mark_price_usd=0\.0 must be greater than 0\."),
    ("mark-nan", lambda: Ledger.from_trades([BUY]).pnl(float("nan")),
     r"^mark_price_usd=nan must be a finite number\."),
    ("pnl-identity-broken",
     lambda: PnL(realized_usd=1.0, unrealized_usd=2.0, total_usd=4.0, mark_price_usd=1.0,
                 position_eth=0.0, cost_basis_usd=0.0, average_cost_usd=float("nan")),
     r"^total_usd=4\.0 must equal realized_usd \+ unrealized_usd = 3\.0\.$"),
    ("summary-sold-negative", lambda: pnl_from_summary(-1.0, 2000.0, 1.0, 3000.0, 1900.0),
     r"^sold_eth=-1\.0 must not be negative\."),
    ("summary-sale-price-zero", lambda: pnl_from_summary(1.0, 0.0, 1.0, 3000.0, 1900.0),
     r"^avg_sale_price_usd=0\.0 must be greater than 0\."),
    ("summary-held-negative", lambda: pnl_from_summary(1.0, 2000.0, -2.0, 3000.0, 1900.0),
     r"^held_eth=-2\.0 must not be negative\."),
    ("summary-cost-zero", lambda: pnl_from_summary(1.0, 2000.0, 1.0, 0.0, 1900.0),
     r"^cost_basis_per_eth_usd=0\.0 must be greater than 0\."),
    ("summary-mark-negative", lambda: pnl_from_summary(1.0, 2000.0, 1.0, 3000.0, -5.0),
     r"^mark_price_usd=-5\.0 must be greater than 0\."),
    ("recover-length-mismatch", lambda: time_to_recover([1.0, 2.0], [0], 1.5),
     r"^times has 1 entries but price_path_usd has 2; give one time per price\.$"),
    ("recover-2d-path", lambda: time_to_recover([[1.0, 2.0]], [0], 1.5),
     r"^price_path_usd has shape \(1, 2\); give one path"),
    ("recover-negative-price", lambda: time_to_recover([1.0, -2.0], [0, 1], 1.5),
     r"^price_path_usd\[1\]=-2\.0 must be a finite number greater than 0\.$"),
    ("recover-cost-zero", lambda: time_to_recover([1.0], [0], 0.0),
     r"^cost_basis_usd_per_eth=0\.0 must be greater than 0\."),
]


@pytest.mark.parametrize(
    ("make", "match"),
    [pytest.param(make, match, id=name) for name, make, match in BAD_INPUTS],
)
def test_bad_input_raises_one_line(make: Callable[[], object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match) as info:
        make()
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_failed_add_leaves_the_ledger_unchanged() -> None:
    ledger = Ledger.from_trades([BUY])
    with pytest.raises(InvalidArgument):
        ledger.add(Trade(T1, Side.SELL, 11.0, 100.0))
    assert ledger.position_eth == 10.0
    assert ledger.trades == (BUY,)
