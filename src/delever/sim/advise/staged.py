"""3. Staged deleveraging: the sales (proceeds repaying debt) that bring every account to a
target HF, cut into batches of bounded square-root discount, one per interval. Deterministic
(no paths).

Fills follow the engine's metaorder rule (:mod:`delever.kernels.unwind`): with ``Q_all``
sold before (permanent) and ``Q_mem`` its decayed memory (transient), a batch ``q`` at
exogenous price ``P`` fetches ``P (q - Y sigma (perm F(Q_all, q) + (1 - perm)
F(Q_mem, q)))``, ``F(a, q) = 2/3 ((a + q)^1.5 - a^1.5) / sqrt(V)``; the pre-trade mid is
``P (1 - Y sigma (perm sqrt(Q_all / V) + (1 - perm) sqrt(Q_mem / V)))`` and the HF is
taken at the mid one interval after the batch (its permanent part and what is left of
its transient part), so the HF holds until the next batch. Account ``i`` needs
``x_i = (H d_i - c_i m LT_i) / (H f - m LT_i)`` at that mid ``m`` (sell ``x_i`` at fill
``f``, repay, reach ``H``; the HF ladder's rule); each batch is
``min(cap, sum x_i)`` split in proportion to ``x_i``, ``f`` found by fixed-point
iteration. The discount of a batch against its pre-trade mid is at most the fresh-market
``(2/3) Y sigma sqrt(q / V)`` (``F`` is concave), so the cap holds. An account whose
``x_i`` is negative, above ``c_i`` or not finite (its collateral at the fill does not
cover its debt) cannot reach ``H`` by selling: it is listed in ``unreachable`` and left
out of the batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from delever._results import ResultContract
from delever._typing import FloatArray1D
from delever.errors import InvalidArgument, check_positive, check_whole
from delever.kernels.impact_law import decay_memory_py, fill_py, impact_fraction_py
from delever.kernels.records import ImpactLaw
from delever.sim.advise.common import health_factor as _hf
from delever.sim.advise.common import open_fraction
from delever.sim.unwind import UnwindMarket, UnwindPosition


@dataclass(frozen=True)
class Batch:
    """One batch of the plan: at ``time_hours`` sell ``eth`` (split over accounts by need).

    ``mid_usd`` is the pre-trade mid, ``discount_frac = 1 - fill / mid``,
    ``sqrt_law_discount_frac`` the fresh-market ``(2/3) Y sigma sqrt(q / V)`` (the capped
    one); ``hf_after`` (aggregate) and ``hf_after_by_account`` are at the mid one interval
    later, when the transient impact has decayed (the next batch's pre-trade mid).
    """

    time_hours: float
    eth: float
    mid_usd: float
    fill_price_usd: float
    discount_frac: float
    sqrt_law_discount_frac: float
    hf_after: float
    hf_after_by_account: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """``time_hours, eth, mid_usd, fill_price_usd, discount_frac, sqrt_law_discount_frac,
        hf_after, hf_after_by_account``."""
        return {"time_hours": self.time_hours, "eth": self.eth, "mid_usd": self.mid_usd,
                "fill_price_usd": self.fill_price_usd, "discount_frac": self.discount_frac,
                "sqrt_law_discount_frac": self.sqrt_law_discount_frac,
                "hf_after": self.hf_after,
                "hf_after_by_account": list(self.hf_after_by_account)}


@dataclass(frozen=True)
class StagedPlan(ResultContract):
    """:func:`staged_deleveraging`'s answer.

    ``needed_eth`` is the ETH the batches sell in all (their sum); ``needed_eth_no_impact``
    the closed form at the mark with no discount, ``sum_i (H d_i - c_i p LT_i) / (p (H -
    LT_i))`` over accounts below ``H``. ``reached`` says whether every account ends at
    ``target_hf`` or above (False when ``max_batches`` ran out, or when an account is in
    ``unreachable``: selling its collateral cannot bring it to ``target_hf`` because what the
    collateral fetches does not cover its debt (``c f <= d``: an insolvent account, already
    liquidatable); the batches then serve the other accounts, and that account needs
    collateral added or debt repaid from outside).
    """

    target_hf: float
    max_batch_discount: float
    interval_hours: float
    max_batch_eth: float
    needed_eth: float
    needed_eth_no_impact: float
    proceeds_usd: float
    reached: bool
    batches: tuple[Batch, ...]
    unreachable: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields, ``batches`` a list of :meth:`Batch.to_dict`."""
        return {"target_hf": self.target_hf, "max_batch_discount": self.max_batch_discount,
                "interval_hours": self.interval_hours, "max_batch_eth": self.max_batch_eth,
                "needed_eth": self.needed_eth,
                "needed_eth_no_impact": self.needed_eth_no_impact,
                "proceeds_usd": self.proceeds_usd, "reached": self.reached,
                "unreachable_accounts": list(self.unreachable),
                "n_batches": len(self.batches),
                "batches": [b.to_dict() for b in self.batches]}


def staged_deleveraging(
    position: UnwindPosition,
    market: UnwindMarket,
    *,
    mark_price_usd: float,
    target_hf: float,
    max_batch_discount: float = 0.01,
    interval_hours: float = 24.0,
    max_batches: int = 200,
) -> StagedPlan:
    """Batches of sales (proceeds repaying each account's debt) that bring it to ``target_hf``.

    Parameters
    ----------
    position, market : the accounts; the square-root market (``market.impact``, its
        permanent share and ``market.transient_half_life_hours``).
    mark_price_usd : the exogenous price, held flat over the plan (USD).
    target_hf : the HF to reach, e.g. :attr:`MarginBufferResult.recommended_hf`.
    max_batch_discount : cap on a batch's square-root discount ``(2/3) Y sigma sqrt(q / V)``
        (default 0.01), so a batch is at most ``V (1.5 cap / (Y sigma))^2`` ETH.
    interval_hours : time between batches (default 24 h, so the transient part decays).
    max_batches : give up after this many (``reached`` False).

    Returns
    -------
    StagedPlan

    Notes: the method is the module's docstring.
    """
    p = check_positive("mark_price_usd", mark_price_usd)
    h = check_positive("target_hf", target_hf)
    if h < 1.0:
        raise InvalidArgument(f"target_hf={h!r} must be at least 1 (Aave liquidates below 1).")
    cap = open_fraction("max_batch_discount", max_batch_discount)
    interval = check_positive("interval_hours", interval_hours)
    check_whole("max_batches", max_batches)
    law = _Law.of(market, p, interval)
    q_cap = law.batch_cap_eth(cap)
    c = position.collateral_eth.astype(np.float64).copy()
    d = position.debt_usd.astype(np.float64).copy()
    lt = position.liquidation_threshold
    no_impact = _needed_no_impact(c, d, lt, p, h)
    q_all = q_mem = 0.0
    batches: list[Batch] = []
    proceeds_total = 0.0
    # Accounts that selling cannot bring to h (insolvent at the fill): left out of the batches.
    stuck = np.zeros(c.shape, dtype=bool)
    for k in range(int(max_batches)):
        q_mem = law.decayed(q_mem)  # the transient memory decays between batches
        mid = law.mid(q_all, q_mem)
        if np.all((_hf(c, d, mid, lt) >= h * (1.0 - 1e-12)) | stuck):
            break
        q, need = _batch(law, _Accounts(c, d, lt, stuck), h, q_cap, (q_all, q_mem, mid))
        if q <= 0.0:
            break  # nothing left that selling can fix
        f, m_after = law.fill(q, q_all, q_mem, mid), law.settled(q, q_all, q_mem)
        x = q * need / need.sum()
        c -= x
        d = np.maximum(d - x * f, 0.0)
        proceeds_total += q * f
        q_all += q
        q_mem += q
        batches.append(Batch(
            time_hours=k * interval, eth=q, mid_usd=mid, fill_price_usd=f,
            discount_frac=1.0 - f / mid,
            sqrt_law_discount_frac=law.fresh_discount_frac(q),
            hf_after=float(_hf(float((c * lt).sum()), float(d.sum()), m_after, 1.0)),
            hf_after_by_account=tuple(float(v) for v in _hf(c, d, m_after, lt))))
    final_mid = law.mid(q_all, law.decayed(q_mem))
    reached = bool(np.all(_hf(c, d, final_mid, lt) >= h * (1.0 - 1e-9)))
    return StagedPlan(h, cap, interval, q_cap, math.fsum(b.eth for b in batches), no_impact,
                      proceeds_total, reached, tuple(batches),
                      tuple(name for name, s in zip(position.names, stuck, strict=True) if s))


@dataclass(frozen=True)
class _Law:
    """The engine's metaorder walk (:mod:`delever.kernels.impact_law`, the market's own law)
    at a flat exogenous price ``p``, batches ``interval_s`` seconds apart (fixed depth)."""

    p: float
    law: ImpactLaw
    interval_s: float

    @classmethod
    def of(cls, market: UnwindMarket, p: float, interval_hours: float) -> _Law:
        """The market's law at price ``p``, decaying over ``interval_hours``."""
        return cls(p, market.kernel_law(), 3600.0 * interval_hours)

    def batch_cap_eth(self, cap: float) -> float:
        """The batch whose discount from a fresh market is ``cap``:
        ``scale (q / V)^e / (e + 1) = cap`` (the square-root law: ``V (1.5 cap / (Y sigma))^2``)."""
        law = self.law
        if law.scale <= 0:
            return math.inf
        return float(law.adv_eth * (cap * (law.exponent + 1.0) / law.scale) ** (1.0 / law.exponent))

    def fresh_discount_frac(self, q: float) -> float:
        """A batch's discount from a fresh market, ``scale (q / V)^e / (e + 1)``."""
        law = self.law
        return float(law.scale * (q / law.adv_eth) ** law.exponent / (law.exponent + 1.0))

    def decayed(self, q_mem: float) -> float:
        """The transient memory one interval later."""
        return float(decay_memory_py(self.law, q_mem, self.interval_s))

    def mid(self, q_all: float, q_mem: float) -> float:
        """The pre-trade mid after ``q_all`` sold (``q_mem`` its decayed memory)."""
        return self.p * (1.0 - impact_fraction_py(self.law, q_all, q_mem, self.law.adv_eth))

    def fill(self, q: float, q_all: float, q_mem: float, mid: float) -> float:
        """The average fill of a batch ``q`` (the mid for ``q <= 0``)."""
        if q <= 0:
            return mid
        filled, proceeds = fill_py(self.law, q_all, q_mem, self.law.adv_eth, self.p, q)
        return float(proceeds / q) if filled > 0 else 0.0

    def settled(self, q: float, q_all: float, q_mem: float) -> float:
        """The mid one interval after a batch ``q`` (the next batch's pre-trade mid)."""
        return self.mid(q_all + q, self.decayed(q_mem + q))


def _needed_no_impact(c: FloatArray1D, d: FloatArray1D, lt: FloatArray1D, p: float,
                      h: float) -> float:
    """``sum_i (H d_i - c_i p LT_i) / (p (H - LT_i))`` over the accounts below ``H`` that
    selling can bring there (an insolvent account, ``c p <= d``, cannot)."""
    below = _hf(c, d, p, lt) < h
    below = below & (c * p > d)
    return float(np.sum(np.where(below, (h * d - c * p * lt) / (p * (h - lt)), 0.0)))


@dataclass(frozen=True)
class _Accounts:
    """The accounts' collateral, debt, thresholds and the mask of the unreachable ones
    (``stuck`` is updated in place)."""

    c: FloatArray1D
    d: FloatArray1D
    lt: FloatArray1D
    stuck: np.ndarray


def _batch(law: _Law, acc: _Accounts, h: float, q_cap: float,
           state: tuple[float, float, float]) -> tuple[float, FloatArray1D]:
    """The next batch (ETH) and each account's need: a fixed point, since the need grows as
    the fill and the mid fall."""
    q_all, q_mem, mid = state
    need = np.zeros_like(acc.c)
    q = 0.0
    for _ in range(100):
        f, m_after = law.fill(q, q_all, q_mem, mid), law.settled(q, q_all, q_mem)
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(_hf(acc.c, acc.d, m_after, acc.lt) < h,
                            (h * acc.d - acc.c * m_after * acc.lt) / (h * f - m_after * acc.lt),
                            0.0)
        np.logical_or(acc.stuck, (need < 0) | (need > acc.c) | ~np.isfinite(need),
                      out=acc.stuck)
        need = np.where(acc.stuck, 0.0, need)
        q_new = min(q_cap, float(need.sum()))
        if abs(q_new - q) <= 1e-13 * max(q_new, 1.0):
            return q_new, need
        q = q_new
    return q, need


__all__ = ["Batch", "StagedPlan", "staged_deleveraging"]
