"""The borrower book: other borrowers' ETH-correlated collateral against stablecoin debt.

A :class:`BorrowerBook` is a snapshot of many Aave accounts as equal-length, read-only
float64 arrays. The cascade engines read the arrays directly; this module only validates
them and answers simple questions (health factor, liquidation price, totals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd

from delever._typing import ArrayLike, BoolArray, FloatArray1D
from delever.errors import InvalidArgument, check_positive

FLOAT_FIELDS = ("collateral_eth", "debt_usd", "liquidation_threshold", "liquidation_bonus")
FRAME_COLUMNS = ("account_id", *FLOAT_FIELDS, "emode")


class BookValueError(InvalidArgument):
    """A bad value in one account of a book.

    ``index`` is the account's position in the arrays, ``column`` the field and ``rule`` the
    part of the message after the value, so that a file loader can name the row instead.
    """

    def __init__(self, message: str, *, index: int, column: str, value: str, rule: str) -> None:
        super().__init__(message)
        self.index = index
        self.column = column
        self.value = value
        self.rule = rule


def _bad(book_ids: npt.NDArray[Any], index: int, column: str, value: Any, rule: str) -> NoReturn:
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    account = book_ids[index].item() if isinstance(book_ids[index], np.generic) else None
    where = "" if column == "account_id" else f" (account {account!r})"
    raise BookValueError(
        f"{column}[{index}]={shown}{where} {rule}",
        index=index,
        column=column,
        value=shown,
        rule=rule,
    )


def _first(mask: BoolArray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_ids(values: ArrayLike) -> npt.NDArray[Any]:
    ids = np.asarray(values)
    if ids.ndim != 1:
        raise InvalidArgument(f"account_id has shape {ids.shape}; give a 1-D sequence of ids.")
    if ids.dtype.kind in "iu":
        return np.array(ids, dtype=np.int64)
    return np.array(ids.astype(str), dtype=str)


def _as_float(name: str, values: ArrayLike) -> FloatArray1D:
    try:
        out = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must hold numbers; got {values!r:.60}.") from None
    if out.ndim != 1:
        raise InvalidArgument(f"{name} has shape {out.shape}; give a 1-D array.")
    return out


@dataclass(frozen=True, eq=False)  # eq=False: the generated __eq__ fails on arrays
class BorrowerBook:
    """Many borrowers, each with ETH-correlated collateral and stablecoin debt.

    Parameters
    ----------
    account_id : ndarray of str or int64, shape (n,)
        Unique account ids.
    collateral_eth : ndarray of float64, shape (n,)
        ETH-correlated collateral valued in ETH (a wstETH balance times its ETH rate).
    debt_usd : ndarray of float64, shape (n,)
        Stablecoin debt in USD (stablecoins taken at $1).
    liquidation_threshold : ndarray of float64, shape (n,)
        Fraction in (0, 1]; the account's collateral-weighted LT (e-mode LT in e-mode).
    liquidation_bonus : ndarray of float64, shape (n,)
        Liquidator's bonus above 1 (0.05 means the liquidator seizes 1.05 USD of collateral
        per USD of debt repaid). ``liquidation_threshold * (1 + liquidation_bonus)`` must not
        exceed 1 (Aave's configurator refuses such a reserve); at exactly 1 a 50% liquidation
        leaves the health factor unchanged, so the engines must not count on it rising.
    emode : ndarray of bool, shape (n,)
        Whether the account is in an e-mode category.
    reference_price_usd : float or None
        ETH price at which the book was observed or generated: the price its health factors
        are quoted at by default, and the base of :meth:`scaled`. None when unknown.

    Notes
    -----
    All arrays are copied to contiguous float64 (ids: int64 or str, emode: bool) and made
    read-only. An account with debt but no collateral is refused (it is bad debt already);
    collateral without debt is allowed (health factor +inf, liquidation price 0).
    """

    account_id: npt.NDArray[Any]
    collateral_eth: FloatArray1D
    debt_usd: FloatArray1D
    liquidation_threshold: FloatArray1D
    liquidation_bonus: FloatArray1D
    emode: BoolArray
    reference_price_usd: float | None = field(default=None)

    def __post_init__(self) -> None:
        ids = _as_ids(self.account_id)
        n = ids.shape[0]
        if n == 0:
            raise InvalidArgument("BorrowerBook is empty; give at least one account.")
        arrays: dict[str, npt.NDArray[Any]] = {"account_id": ids}
        for name in FLOAT_FIELDS:
            arrays[name] = _as_float(name, getattr(self, name))
        emode = np.asarray(self.emode)
        if emode.ndim != 1 or emode.dtype.kind not in "bui":
            raise InvalidArgument(f"emode must be a 1-D array of booleans; got {emode!r:.60}.")
        if emode.dtype.kind in "ui" and not np.isin(emode, (0, 1)).all():
            raise InvalidArgument("emode must hold booleans (or 0/1).")
        arrays["emode"] = np.array(emode, dtype=np.bool_)
        for name, values in arrays.items():
            if values.shape[0] != n:
                raise InvalidArgument(
                    f"{name} has {values.shape[0]} entries but account_id has {n}; "
                    "give equal-length arrays."
                )
        _validate(arrays)
        for name, values in arrays.items():
            values = np.ascontiguousarray(values)
            values.setflags(write=False)
            object.__setattr__(self, name, values)
        if self.reference_price_usd is not None:
            price = check_positive(
                "reference_price_usd", self.reference_price_usd, "Give the ETH price in USD."
            )
            object.__setattr__(self, "reference_price_usd", price)

    # construction -------------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        collateral_eth: ArrayLike,
        debt_usd: ArrayLike,
        liquidation_threshold: ArrayLike,
        liquidation_bonus: ArrayLike,
        *,
        account_id: ArrayLike | None = None,
        emode: ArrayLike = False,
        reference_price_usd: float | None = None,
    ) -> BorrowerBook:
        """A book from array-likes; scalars broadcast, ids default to 0..n-1.

        Parameters
        ----------
        collateral_eth : array_like
            Collateral in ETH per account; fixes the number of accounts n.
        debt_usd : array_like
            Stablecoin debt in USD, shape (n,).
        liquidation_threshold, liquidation_bonus : array_like or float
            Fractions per account or one value for all.
        account_id : array_like, optional
            Unique ids; 0..n-1 when omitted.
        emode : array_like or bool
            E-mode flags per account or one flag for all.
        reference_price_usd : float, optional
            ETH price the book is quoted at.

        Returns
        -------
        BorrowerBook
        """
        collateral = _as_float("collateral_eth", collateral_eth)
        n = collateral.shape[0]
        ids = np.arange(n, dtype=np.int64) if account_id is None else account_id

        def fill(name: str, value: ArrayLike) -> FloatArray1D:
            array = np.asarray(value, dtype=np.float64)
            return np.full(n, float(array)) if array.ndim == 0 else _as_float(name, array)

        flags = np.asarray(emode)
        return cls(
            account_id=np.asarray(ids),
            collateral_eth=collateral,
            debt_usd=_as_float("debt_usd", debt_usd),
            liquidation_threshold=fill("liquidation_threshold", liquidation_threshold),
            liquidation_bonus=fill("liquidation_bonus", liquidation_bonus),
            emode=np.full(n, bool(flags)) if flags.ndim == 0 else flags,
            reference_price_usd=reference_price_usd,
        )

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, *, reference_price_usd: float | None = None
    ) -> BorrowerBook:
        """A book from a DataFrame with the columns of :meth:`to_frame` (extra ones ignored)."""
        missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidArgument(
                f"frame lacks column(s) {', '.join(missing)}; "
                f"a book frame has {', '.join(FRAME_COLUMNS)}."
            )
        return cls(
            account_id=frame["account_id"].to_numpy(),
            collateral_eth=frame["collateral_eth"].to_numpy(dtype=np.float64),
            debt_usd=frame["debt_usd"].to_numpy(dtype=np.float64),
            liquidation_threshold=frame["liquidation_threshold"].to_numpy(dtype=np.float64),
            liquidation_bonus=frame["liquidation_bonus"].to_numpy(dtype=np.float64),
            emode=frame["emode"].to_numpy(dtype=np.bool_),
            reference_price_usd=reference_price_usd,
        )

    # questions ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.collateral_eth.shape[0])

    def __str__(self) -> str:
        return self.summary()

    @property
    def total_collateral_eth(self) -> float:
        """Collateral over all accounts in ETH (exactly rounded sum)."""
        return math.fsum(self.collateral_eth.tolist())

    @property
    def total_debt_usd(self) -> float:
        """Debt over all accounts in USD (exactly rounded sum)."""
        return math.fsum(self.debt_usd.tolist())

    def _price(self, price_usd: float | None) -> float:
        if price_usd is None:
            if self.reference_price_usd is None:
                raise InvalidArgument(
                    "price_usd=None but the book has no reference_price_usd; give the ETH price."
                )
            return self.reference_price_usd
        return check_positive("price_usd", price_usd, "Give the ETH price in USD.")

    def collateral_usd(self, price_usd: float | None = None) -> FloatArray1D:
        """Collateral value in USD at ``price_usd`` (default: the reference price)."""
        out: FloatArray1D = self.collateral_eth * self._price(price_usd)
        return out

    def health_factor(self, price_usd: float | None = None) -> FloatArray1D:
        """Health factor of every account at the ETH price ``price_usd``.

        Parameters
        ----------
        price_usd : float, optional
            ETH price in USD; default the book's reference price.

        Returns
        -------
        ndarray of float64, shape (n,)
            +inf where the account has no debt.

        Notes
        -----
        HF = collateral_eth · price_usd · LT / debt_usd (Aave v3
        ``GenericLogic.calculateUserAccountData``, with all collateral moving with ETH).
        """
        capacity_usd = self.collateral_usd(price_usd) * self.liquidation_threshold
        out = np.full(len(self), np.inf)
        np.divide(capacity_usd, self.debt_usd, out=out, where=self.debt_usd > 0)
        return out

    def liquidation_price_usd(self) -> FloatArray1D:
        """ETH price at which each account's health factor reaches 1.

        Returns
        -------
        ndarray of float64, shape (n,)
            debt_usd / (collateral_eth · LT); 0 where the account has no debt (never
            liquidated at a positive price).
        """
        weighted_eth = self.collateral_eth * self.liquidation_threshold
        out = np.zeros(len(self))
        np.divide(self.debt_usd, weighted_eth, out=out, where=self.debt_usd > 0)
        return out

    # new books ----------------------------------------------------------------------------

    def _replace(self, index: npt.NDArray[np.intp] | slice, **changes: Any) -> BorrowerBook:
        values: dict[str, Any] = {name: getattr(self, name)[index] for name in FRAME_COLUMNS}
        values["reference_price_usd"] = self.reference_price_usd
        values.update(changes)
        return BorrowerBook(**values)

    def subset(self, mask: ArrayLike) -> BorrowerBook:
        """The accounts selected by a boolean mask of length n or an array of positions."""
        selector = np.asarray(mask)
        if selector.dtype == np.bool_:
            if selector.shape != (len(self),):
                raise InvalidArgument(
                    f"mask has shape {selector.shape}; give a boolean mask of shape ({len(self)},)."
                )
            index = np.flatnonzero(selector)
        elif selector.dtype.kind in "iu" and selector.ndim == 1:
            index = selector.astype(np.intp)
            if index.size and (index.min() < -len(self) or index.max() >= len(self)):
                raise InvalidArgument(
                    f"subset positions must lie in [0, {len(self)}); "
                    f"got {index.min()}..{index.max()}."
                )
        else:
            raise InvalidArgument("mask must be a boolean mask or a 1-D array of positions.")
        if index.size == 0:
            raise InvalidArgument("subset selects no account; a BorrowerBook cannot be empty.")
        return self._replace(index)

    def sorted_by_liquidation_price(self, *, descending: bool = True) -> BorrowerBook:
        """The book ordered by liquidation price, highest first by default.

        Highest first is the order in which a falling price reaches the accounts. Ties keep
        their original order (stable sort).
        """
        key = self.liquidation_price_usd()
        order = np.argsort(-key if descending else key, kind="stable")
        return self._replace(order)

    def scaled(
        self, *, total_collateral_eth: float | None = None, price_usd: float | None = None
    ) -> BorrowerBook:
        """The same borrowers at another size or price level, every health factor kept.

        Parameters
        ----------
        total_collateral_eth : float, optional
            New total collateral in ETH; every account's collateral and debt are multiplied
            by the same factor (shares of the book kept).
        price_usd : float, optional
            New reference ETH price; debt is multiplied by price_usd / reference_price_usd so
            that each account's health factor at the new price equals its health factor at
            the old one (needs a reference price).

        Returns
        -------
        BorrowerBook
            ``health_factor()`` of the result equals ``health_factor()`` of this book, and
            its ``total_collateral_eth`` equals the request (the largest account absorbs the
            last rounding error).
        """
        if total_collateral_eth is None and price_usd is None:
            raise InvalidArgument("scaled() needs total_collateral_eth, price_usd or both.")
        collateral = np.array(self.collateral_eth)
        debt = np.array(self.debt_usd)
        if total_collateral_eth is not None:
            target = check_positive(
                "total_collateral_eth", total_collateral_eth, "Give the book's size in ETH."
            )
            current = self.total_collateral_eth
            if current <= 0:
                raise InvalidArgument("the book has no collateral to scale; every account is 0.")
            factor = target / current
            collateral *= factor
            debt *= factor
            _fix_total(collateral, target)
        new_price = self.reference_price_usd
        if price_usd is not None:
            new_price = check_positive("price_usd", price_usd, "Give the ETH price in USD.")
            if self.reference_price_usd is None:
                raise InvalidArgument(
                    f"price_usd={price_usd!r} needs the book's reference_price_usd, which is "
                    "None; build the book with reference_price_usd."
                )
            debt *= new_price / self.reference_price_usd
        return self._replace(
            slice(None), collateral_eth=collateral, debt_usd=debt, reference_price_usd=new_price
        )

    # output -------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per account: the arrays, the liquidation price and (with a reference
        price) the health factor."""
        data: dict[str, Any] = {name: getattr(self, name) for name in FRAME_COLUMNS}
        data["liquidation_price_usd"] = self.liquidation_price_usd()
        if self.reference_price_usd is not None:
            data["health_factor"] = self.health_factor()
        return pd.DataFrame(data)

    def summary(self) -> str:
        """A few lines: size, debt, liquidation prices and, at the reference price, HFs."""
        debt = self.debt_usd
        lines = [
            f"BorrowerBook: {len(self):,} accounts ({int(self.emode.sum()):,} in e-mode), "
            f"collateral {self.total_collateral_eth:,.2f} ETH, debt ${self.total_debt_usd:,.0f}",
        ]
        indebted = debt > 0
        if indebted.any():
            liq = self.liquidation_price_usd()[indebted]
            q = _weighted_quantiles(liq, debt[indebted], (0.1, 0.5, 0.9))
            lines.append(
                "liquidation price (debt-weighted) p10 / p50 / p90: "
                f"${q[0]:,.2f} / ${q[1]:,.2f} / ${q[2]:,.2f}"
            )
        if self.reference_price_usd is not None:
            price = self.reference_price_usd
            hf = self.health_factor()
            value_usd = math.fsum(self.collateral_usd().tolist())
            lines.append(
                f"at ETH ${price:,.2f}: collateral ${value_usd:,.0f}, "
                f"median HF {float(np.median(hf)):.3f}, "
                f"HF < 1: {int((hf < 1).sum()):,} accounts"
            )
            liq_all = self.liquidation_price_usd()
            falls = []
            for fall in (0.1, 0.2, 0.3, 0.5):
                share = self.collateral_eth[liq_all >= price * (1 - fall)].sum()
                falls.append(f"{fall:.0%} {share / self.total_collateral_eth:.1%}")
            lines.append(
                "share of collateral in accounts liquidatable after a fall of " + ", ".join(falls)
            )
        return "\n".join(lines)


def _weighted_quantiles(
    values: FloatArray1D, weights: FloatArray1D, probs: tuple[float, ...]
) -> list[float]:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    cum /= cum[-1]
    return [float(values[order][min(int(np.searchsorted(cum, p)), len(cum) - 1)]) for p in probs]


def _fix_total(collateral: FloatArray1D, target: float) -> None:
    """Nudge large entries so that the exactly rounded sum equals ``target`` (in place).

    The residual of a scaling is a few ulps; one entry absorbs it, then steps one ulp at a
    time (a coarse correction can land on a rounding tie and flip between neighbours).
    """
    for j in np.argsort(collateral)[::-1][:8].tolist():
        residual = target - math.fsum(collateral.tolist())
        if residual == 0.0:
            return
        collateral[j] = max(collateral[j] + residual, 0.0)
        for _ in range(4):
            residual = target - math.fsum(collateral.tolist())
            if residual == 0.0:
                return
            collateral[j] = np.nextafter(collateral[j], math.copysign(math.inf, residual))


def _validate(arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Check every rule; the first broken one raises a :class:`BookValueError`."""
    ids = arrays["account_id"]
    for name in FLOAT_FIELDS:
        values = arrays[name]
        bad = ~np.isfinite(values)
        if bad.any():
            i = _first(bad)
            _bad(ids, i, name, values[i], "must be a finite number.")
    for name, hint in (
        ("collateral_eth", " Give the collateral in ETH."),
        ("debt_usd", " Give the debt in USD."),
    ):
        values = arrays[name]
        if (values < 0).any():
            i = _first(values < 0)
            _bad(ids, i, name, values[i], f"must not be negative.{hint}")
    lt = arrays["liquidation_threshold"]
    bad = (lt <= 0) | (lt > 1)
    if bad.any():
        i = _first(bad)
        _bad(
            ids, i, "liquidation_threshold", lt[i], "must be in (0, 1]; give a fraction, e.g. 0.83."
        )
    bonus = arrays["liquidation_bonus"]
    if (bonus < 0).any():
        i = _first(bonus < 0)
        _bad(
            ids,
            i,
            "liquidation_bonus",
            bonus[i],
            "must not be negative; give the bonus above 1, e.g. 0.05.",
        )
    # Aave's configurator requires LT · (1 + bonus) <= 1 (ConfiguratorLogic,
    # INVALID_RESERVE_PARAMS); above it a liquidation would lower the health factor.
    product = lt * (1.0 + bonus)
    bad = product > 1.0 + 1e-12
    if bad.any():
        i = _first(bad)
        _bad(
            ids,
            i,
            "liquidation_bonus",
            bonus[i],
            f"with liquidation_threshold={float(lt[i])!r} gives LT·(1 + bonus)="
            f"{product[i]:.4f} > 1, which Aave refuses; lower the bonus or the threshold.",
        )
    collateral, debt = arrays["collateral_eth"], arrays["debt_usd"]
    bad = (debt > 0) & (collateral == 0)
    if bad.any():
        i = _first(bad)
        _bad(
            ids,
            i,
            "debt_usd",
            debt[i],
            "has no collateral behind it (bad debt already); give its collateral_eth or drop it.",
        )
    ordered = np.sort(ids)  # sorting beats np.unique's hashing on large int books
    if (ordered[1:] == ordered[:-1]).any():
        seen: dict[Any, int] = {}
        for i, key in enumerate(ids.tolist()):
            if key in seen:
                _bad(
                    ids,
                    i,
                    "account_id",
                    key,
                    f"duplicates account_id[{seen[key]}]; ids must be unique.",
                )
            seen[key] = i


__all__ = ["FRAME_COLUMNS", "BookValueError", "BorrowerBook"]
