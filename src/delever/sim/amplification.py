"""How much a large sale is amplified by other borrowers' liquidations and by followers.

The same square-root market (permanent impact on all ETH sold since the start) and the same
exogenous path in every run; only the sellers differ:

1. the large account's sale alone (a book with nobody to liquidate);
2. the sale and the borrower book's liquidations;
3. the sale, the book and followers who copy the sale.

Amplification = (exogenous end price - end price with the others) /
(exogenous end price - end price with the sale alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D
from delever.book import BorrowerBook
from delever.book.actors import Followers, ImpactParams, LargeAccount
from delever.book.cascade import Engine, run_cascade
from delever.kernels.cascade import (
    OUT_ACCOUNTS_LIQUIDATED,
    OUT_FINAL_PRICE,
    OUT_LIQUIDATOR_SOLD_ETH,
    OUT_MIN_PRICE,
    OUT_OTHER_SOLD_ETH,
    OUT_WHALE_SEIZED_ETH,
)
from delever.kernels.records import ImpactLaw, LiquidationRules


@dataclass(frozen=True)
class AmplificationCase:
    """End and lowest price of one run, and what was sold."""

    label: str
    final_price_usd: float
    min_price_usd: float
    liquidator_sold_eth: float
    other_sold_eth: float  # the large account, followers
    accounts_liquidated: int
    large_account_seized_eth: float


@dataclass(frozen=True)
class AmplificationReport(ResultContract):
    """The three runs and the amplification factors."""

    exogenous_final_usd: float
    exogenous_min_usd: float
    sale_eth: float
    followers_kappa: float
    cases: tuple[AmplificationCase, AmplificationCase, AmplificationCase]

    def _amplification(self, case: AmplificationCase) -> float:
        alone = self.exogenous_final_usd - self.cases[0].final_price_usd
        return (self.exogenous_final_usd - case.final_price_usd) / alone if alone > 0 else 1.0

    @property
    def amplification_book(self) -> float:
        """Drop with the book's liquidations over the drop from the sale alone."""
        return self._amplification(self.cases[1])

    @property
    def amplification_book_and_followers(self) -> float:
        """Drop with the book and followers over the drop from the sale alone."""
        return self._amplification(self.cases[2])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "sale_eth": self.sale_eth,
            "followers_kappa": self.followers_kappa,
            "exogenous_final_price_usd": self.exogenous_final_usd,
            "exogenous_min_price_usd": self.exogenous_min_usd,
            "amplification_book": self.amplification_book,
            "amplification_book_and_followers": self.amplification_book_and_followers,
            "cases": {
                c.label: {
                    "final_price_usd": c.final_price_usd,
                    "min_price_usd": c.min_price_usd,
                    "liquidator_sold_eth": c.liquidator_sold_eth,
                    "other_sold_eth": c.other_sold_eth,
                    "accounts_liquidated": c.accounts_liquidated,
                    "large_account_seized_eth": c.large_account_seized_eth,
                }
                for c in self.cases
            },
        }


def sale_amplification(
    book: BorrowerBook,
    exogenous_usd: FloatArray1D,
    large_account: LargeAccount,
    *,
    impact: ImpactParams | ImpactLaw,
    followers: Followers,
    engine: str = "ladder",
    rules: LiquidationRules | None = None,
) -> AmplificationReport:
    """Run the sale alone, with the book, and with the book and followers on one path.

    Parameters
    ----------
    book
        Other borrowers (their health factors at ``exogenous_usd[0]``).
    exogenous_usd
        (n_steps + 1,) price path without any of the model's selling.
    large_account
        The seller: its position and ``sell_eth_per_step``.
    impact, followers
        The market (the square-root law's parameters, or the scenario's impact law) and the
        copy-sellers.
    engine, rules
        The cascade engine; the lending protocol's liquidation rules (default Aave v3.6).
    """
    path = np.ascontiguousarray(exogenous_usd, dtype=np.float64)[None, :]
    nobody = BorrowerBook.from_arrays([1.0], [0.0], 0.83, 0.05)  # never liquidated
    kind: Engine = "exact" if engine == "exact" else "ladder"
    runs = (
        ("sale alone", nobody, Followers()),
        ("with the book", book, Followers()),
        ("with the book and followers", book, followers),
    )
    cases = []
    for label, which_book, which_followers in runs:
        out = run_cascade(
            which_book,
            path,
            engine=kind,
            impact=impact,
            followers=which_followers,
            large_account=large_account,
            rules=rules,
        ).values[0]
        cases.append(
            AmplificationCase(
                label=label,
                final_price_usd=float(out[OUT_FINAL_PRICE]),
                min_price_usd=float(out[OUT_MIN_PRICE]),
                liquidator_sold_eth=float(out[OUT_LIQUIDATOR_SOLD_ETH]),
                other_sold_eth=float(out[OUT_OTHER_SOLD_ETH]),
                accounts_liquidated=int(out[OUT_ACCOUNTS_LIQUIDATED]) if which_book is book else 0,
                large_account_seized_eth=float(out[OUT_WHALE_SEIZED_ETH]),
            )
        )
    n_steps = path.shape[1] - 1
    return AmplificationReport(
        exogenous_final_usd=float(path[0, -1]),
        exogenous_min_usd=float(path[0].min()),
        sale_eth=large_account.sell_eth_per_step * n_steps,
        followers_kappa=followers.kappa,
        cases=(cases[0], cases[1], cases[2]),
    )


__all__ = ["AmplificationCase", "AmplificationReport", "sale_amplification"]
