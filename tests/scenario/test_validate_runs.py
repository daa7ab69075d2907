"""What ``delever validate`` accepts, ``delever run`` runs.

A property test: scenarios around the minimal valid one, each figure drawn from values inside
the schema's bounds, on them and beyond them. Every file that ``validate`` accepts must run
(``run FILE --paths 2 --no-report``, exit 0); every file it refuses is refused with exit 2 and
one line, never an internal error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from delever.cli.main import app

WETH_LT = 0.83  # the registry's WETH liquidation threshold (not e-mode)


@dataclass(frozen=True)
class Draw:
    """The figures of one drawn scenario."""

    mark_usd: float
    buy_usd: float
    bought_eth: float
    time: str
    sold_fraction: float | None
    sale_usd: float
    collateral_factor: float
    hf_at_mark: float | None  # None: no debt
    liquidation_threshold: float | None  # None: the registry's
    market: str
    book: str

    def toml(self) -> str:
        held_eth = self.bought_eth * (1.0 - (self.sold_fraction or 0.0))
        collateral_eth = held_eth * self.collateral_factor
        lt = self.liquidation_threshold or WETH_LT
        lines = [
            'name = "drawn"',
            "[mark]",
            f"price_usd = {self.mark_usd!r}",
            "[position]",
            "[[position.trades]]",
            f"time = {self.time}",
            'side = "buy"',
            f"quantity_eth = {self.bought_eth!r}",
            f"price_usd = {self.buy_usd!r}",
        ]
        if self.sold_fraction is not None:
            # the sale is a day after the buy: same text with the day bumped by one
            lines += [
                "[[position.trades]]",
                f"time = {self.time.replace('-01T', '-02T').replace('-30T', '-31T')}",
                'side = "sell"',
                f"quantity_eth = {self.bought_eth * self.sold_fraction!r}",
                f"price_usd = {self.sale_usd!r}",
            ]
        lines += ["[[accounts]]", 'name = "a"', f"collateral = {{ WETH = {collateral_eth!r} }}"]
        if self.hf_at_mark is not None:
            debt_usd = collateral_eth * self.mark_usd * lt / self.hf_at_mark
            lines.append(f"debt = {{ USDC = {debt_usd!r} }}")
        if self.liquidation_threshold is not None:
            lines += [
                "[reserve_overrides.WETH]",
                "ltv = 0.5",
                f"liquidation_threshold = {self.liquidation_threshold!r}",
            ]
        return "\n".join(lines) + "\n" + self.market + self.book


# $0.01 marks with 1e6 ETH drive the mid to 0 at the impact law's capacity (the engine then
# frees no collateral and calls no liquidation at a zero oracle price).
PRICES_USD = st.sampled_from([0.01, 150.0, 2000.0, 3000.0, 1e7, 2e7, 1e30])
TIMES = st.sampled_from([
    "2015-07-30T00:00:00Z",  # ETH's genesis, the earliest accepted
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00+05:00",
    "2099-12-01T00:00:00Z",
    "2026-01-01T00:00:00",  # naive: refused
    "2999-01-01T00:00:00Z",  # beyond 2100: refused
    "1969-12-01T00:00:00Z",  # before the genesis: refused
])


@st.composite
def markets(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return ""
    sigma = draw(st.sampled_from([1e-4, 0.04, 0.2, 1.0, 3.9]))
    adv = draw(st.sampled_from([1.0, 1e3, 5e5, 1.2e8, 1e9]))
    y = draw(st.sampled_from([0.01, 1.0, 10.0, 11.0]))
    y_range = draw(st.sampled_from(["[0.01, 10.0]", "[0.5, 1.5]", "[1.5, 0.5]", "[nan, -1.0]"]))
    cutoff = draw(st.sampled_from(["2020-03-01", "2026-01-01", "2026-05-02", "2030-01-01"]))
    return (
        f"[market]\nsigma_daily = {sigma!r}\nadv_eth = {adv!r}\nimpact_y = {y!r}\n"
        f"impact_y_range = {y_range}\ncutoff = {cutoff}\n"
    )


@st.composite
def books(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return ""
    total = draw(st.sampled_from([1.0, 1e6, 1.2e8, 1e20]))
    kappa = draw(st.sampled_from([0.0, 0.5, 10.0, 1000.0]))
    n_accounts = draw(st.sampled_from([1, 200, 2000]))
    lag = draw(st.sampled_from([1, 24, 10_000]))
    return (
        f"[book]\nn_accounts = {n_accounts}\ntotal_collateral_eth = {total!r}\n"
        f"followers_kappa = {kappa!r}\nfollowers_lag_steps = {lag}\n"
    )


@st.composite
def draws(draw: st.DrawFn) -> Draw:
    return Draw(
        mark_usd=draw(PRICES_USD),
        buy_usd=draw(PRICES_USD),
        bought_eth=draw(st.sampled_from([1e-3, 100.0, 1e6, 1.2e8, 1e9])),
        time=draw(TIMES),
        sold_fraction=draw(st.sampled_from([None, 0.1, 0.99])),
        sale_usd=draw(PRICES_USD),
        collateral_factor=draw(st.sampled_from([1.0, 1.0, 1.05, 3.0])),
        # at or above HF 1 at the mark: an account already below 1 is tested on its own
        hf_at_mark=draw(st.sampled_from([None, 1.0001, 1.05, 1.5, 10.0])),
        liquidation_threshold=draw(st.sampled_from([None, None, 0.5, 0.95])),
        market=draw(markets()),
        book=draw(books()),
    )


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example runs `run`
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=draws())
def test_what_validate_accepts_runs(drawn: Draw, tmp_path: Path) -> None:
    path = tmp_path / "drawn.toml"
    path.write_text(drawn.toml())
    checked = CliRunner().invoke(app, ["validate", str(path), "--json"])
    if checked.exit_code != 0:
        assert checked.exit_code == 2, checked.stderr  # refused as bad input, not a crash
        lines = [line for line in checked.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
        return
    ran = CliRunner().invoke(app, ["run", str(path), "--paths", "2", "--no-report", "--json"])
    assert ran.exit_code == 0, (drawn.toml(), ran.stderr)
