"""Aave v3 reserves and one account read at a pinned block, and their delever model.

Every value is the contract's integer (units, rays, basis points, 8-decimal base currency);
conversion to floats happens only in :meth:`LiveAccount.to_delever`. Reads are batched
through Multicall3, or JSON-RPC batches where it is absent (:meth:`RpcClient.call_many`): a
market of 60 reserves costs about a dozen requests. A v3.0 pool (no v3.2 e-mode getters, no
v3.1 ``getVirtualUnderlyingBalance``) is read too: its ``getReserveData`` and data-provider
layouts are the same (:mod:`.abi`), its e-mode comes from ``getEModeCategoryData``, and its
accounts carry rule set ``"3.0"`` (:func:`rule_set_of`). Functions and their Solidity
sources: :mod:`delever.sources.chain.abi`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from delever.errors import InvalidArgument
from delever.protocol.account import Account, Prices, account_data, to_base
from delever.protocol.reserves import RESERVES, EModeCategory, ReserveParams
from delever.protocol.rule_sets import DEFAULT_RULE_SET
from delever.sources import SourceError
from delever.sources.chain import abi
from delever.sources.chain.markets import AaveMarket, checksum, resolve_market
from delever.sources.chain.rpc import RpcClient, is_address

BASE_CURRENCY_DECIMALS = 8  # AaveOracle BASE_CURRENCY_UNIT on Ethereum: 1e8 = 1 USD
MAX_EMODE_ID = 255  # e-mode ids are uint8; id 0 is "no e-mode"
UINT256_MAX = 2**256 - 1
_Call = tuple[str, abi.Fn, tuple[Any, ...]]


@dataclass(frozen=True)
class RateStrategy:
    """``DefaultReserveInterestRateStrategyV2.getInterestRateDataBps`` of one reserve (bps)."""

    address: str
    optimal_usage_ratio_bps: int
    base_variable_borrow_rate_bps: int
    variable_rate_slope1_bps: int
    variable_rate_slope2_bps: int


@dataclass(frozen=True)
class LiveEModeCategory:
    """One e-mode category (``getEModeCategoryCollateralConfig`` and its bitmaps, v3.2+; on a
    v3.0 pool ``getEModeCategoryData`` and the reserves configured in it, both bitmaps)."""

    category_id: int
    label: str
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # includes the 100%: 10100 for a 1% bonus
    collateral_bitmap: int
    borrowable_bitmap: int
    # v3.0 only: an oracle source that replaces the AaveOracle price of the category's assets
    # for its users (GenericLogic.calculateUserAccountData, aave-v3-core 1.19.3); "" if none
    price_source: str = ""

    def has_collateral(self, reserve_id: int) -> bool:
        """Whether the reserve with ``reserve_id`` takes this category's LTV / LT / bonus."""
        return bool((self.collateral_bitmap >> reserve_id) & 1)

    def is_borrowable(self, reserve_id: int) -> bool:
        """Whether an e-mode user of this category may borrow the reserve."""
        return bool((self.borrowable_bitmap >> reserve_id) & 1)


@dataclass(frozen=True)
class LiveReserve:
    """One Aave v3 reserve at a block, as the contracts report it (integers)."""

    symbol: str
    address: str
    reserve_id: int
    decimals: int
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # includes the 100%: 10500 for a 5% bonus
    reserve_factor_bps: int
    liquidation_protocol_fee_bps: int
    supply_cap_tokens: int  # whole tokens; 0 = no cap
    borrow_cap_tokens: int
    usage_as_collateral_enabled: bool
    borrowing_enabled: bool
    is_active: bool
    is_frozen: bool
    liquidity_index_ray: int
    variable_borrow_index_ray: int
    liquidity_rate_ray: int
    variable_borrow_rate_ray: int
    total_atoken_units: int
    total_variable_debt_units: int
    virtual_underlying_units: int | None  # Pool.getVirtualUnderlyingBalance (v3.1+)
    utilization: float
    a_token: str
    variable_debt_token: str
    rate_strategy: RateStrategy | None
    emode_category_ids: tuple[int, ...]  # categories holding it as collateral
    price_base: int  # AaveOracle price, 8 decimals of USD

    @property
    def unit(self) -> int:
        """``10**decimals``."""
        return int(10**self.decimals)

    @property
    def price_usd(self) -> float:
        """Oracle price as a float (USD per token)."""
        return float(Decimal(self.price_base).scaleb(-BASE_CURRENCY_DECIMALS))


@dataclass(frozen=True)
class LivePosition:
    """An account's balances in one reserve (``PoolDataProvider.getUserReserveData``)."""

    symbol: str
    address: str
    decimals: int
    collateral_units: int  # aToken balance (supplied), whether or not used as collateral
    variable_debt_units: int
    used_as_collateral: bool
    price_base: int

    @property
    def collateral_tokens(self) -> float:
        """aToken balance in tokens."""
        return float(Decimal(self.collateral_units).scaleb(-self.decimals))

    @property
    def debt_tokens(self) -> float:
        """Variable debt in tokens."""
        return float(Decimal(self.variable_debt_units).scaleb(-self.decimals))


@dataclass(frozen=True)
class DeleverModel:
    """A live account in delever's terms: what ``account_data`` and the engines take."""

    account: Account
    prices: Prices
    reserves: Mapping[str, ReserveParams]
    emode_category: EModeCategory | None
    unmodelled: tuple[str, ...]  # symbols held or owed that delever has no reserve for
    # the balances are the chain's integers (the account carries them); this says whether
    # every oracle price survives the float round trip to 8-decimal base units too
    amounts_exact: bool

    @property
    def note(self) -> str:
        """One line on what the model leaves out ('' when nothing)."""
        if not self.unmodelled:
            return ""
        return (f"delever cannot model {', '.join(self.unmodelled)} (known reserves: "
                f"{', '.join(RESERVES)}); its figures leave them out.")

    def health_factor_wad(self, rule_set: str = DEFAULT_RULE_SET) -> int:
        """delever's exact (integer) health factor of the model.

        ``rule_set`` is the pool's rounding: ``"3.6"`` (v3.5 and later, the default),
        ``"3.3"`` for a block before the v3.5 upgrade, ``"3.0"`` for a v3.0 pool
        (:attr:`LiveAccount.rule_set`; :mod:`delever.protocol.rule_sets`).
        """
        kwargs: dict[str, Any] = {}
        if self.emode_category is not None:
            kwargs["emode_category"] = self.emode_category
        data = account_data(self.account, self.prices, reserves=self.reserves, exact=True,
                            rule_set=rule_set, **kwargs)
        assert data.health_factor_wad is not None  # exact=True always sets it
        return data.health_factor_wad


@dataclass(frozen=True)
class LiveAccount:
    """One account at a block: positions and ``Pool.getUserAccountData`` (integers)."""

    address: str
    market: str
    block: int
    emode_category_id: int
    emode: LiveEModeCategory | None
    positions: tuple[LivePosition, ...]
    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    current_liquidation_threshold: int  # bps
    ltv: int  # bps
    health_factor: int  # wad; 2**256 - 1 with no debt
    reserves: tuple[LiveReserve, ...]
    rule_set: str = DEFAULT_RULE_SET  # the pool's rounding (rule_set_of): "3.0" on a v3.0 pool

    def to_delever(self) -> DeleverModel:
        """The account as delever's :class:`Account`, :class:`Prices` and reserve params.

        Reserves delever has no model for are left out and listed in ``unmodelled``; an
        e-mode account whose debt delever's ``Account`` refuses raises one line.
        """
        if self.emode_category_id != 0 and self.emode is None:
            raise SourceError(
                f"account {self.address} is in e-mode {self.emode_category_id}, whose "
                "parameters the pool did not answer (getEModeCategoryCollateralConfig, Aave "
                "v3.2+, or getEModeCategoryData, v3.0); delever cannot model it."
            )
        if self.emode is not None and self.emode.price_source:
            raise SourceError(
                f"account {self.address} is in e-mode {self.emode_category_id}, whose assets "
                f"are priced by {self.emode.price_source} (a v3.0 e-mode price source), not "
                "the AaveOracle; delever cannot model it."
            )
        known = {name.lower(): name for name in RESERVES}
        by_symbol = {r.symbol: r for r in self.reserves}
        collateral: dict[str, float] = {}
        debt: dict[str, float] = {}
        units: tuple[dict[str, int], dict[str, int]] = ({}, {})  # the chain's integers
        prices: dict[str, float] = {}
        params: dict[str, ReserveParams] = dict(RESERVES)
        unmodelled: list[str] = []
        exact = True
        for p in self.positions:
            name = known.get(p.symbol.lower())
            if name is None:
                unmodelled.append(p.symbol)
                continue
            reserve = by_symbol[p.symbol]
            params[name] = _reserve_params(reserve, name, self.market, self.block)
            prices[name] = reserve.price_usd
            if p.used_as_collateral and p.collateral_units > 0:
                collateral[name] = p.collateral_tokens
                units[0][name] = p.collateral_units
            if p.variable_debt_units > 0:
                debt[name] = p.debt_tokens
                units[1][name] = p.variable_debt_units
            exact &= to_base(prices[name]) == p.price_base
        for reserve in self.reserves:  # every known reserve's price: the engines move WETH's
            name = known.get(reserve.symbol.lower())
            if name is not None and reserve.price_base > 0:
                prices.setdefault(name, reserve.price_usd)
        category = self._emode_model(known) if self.emode is not None else None
        try:
            account = Account(collateral=collateral, debt=debt, emode=category is not None,
                              collateral_units=units[0], debt_units=units[1])
        except InvalidArgument as exc:
            raise SourceError(
                f"account {self.address} (e-mode {self.emode_category_id}) cannot be modelled "
                f"by delever: {exc}"
            ) from None
        return DeleverModel(account, Prices(usd=prices), MappingProxyType(params), category,
                            tuple(unmodelled), exact)

    def _emode_model(self, known: Mapping[str, str]) -> EModeCategory:
        cat = self.emode
        assert cat is not None
        coll = tuple(known[r.symbol.lower()] for r in self.reserves
                     if r.symbol.lower() in known and cat.has_collateral(r.reserve_id))
        borrow = tuple(known[r.symbol.lower()] for r in self.reserves
                       if r.symbol.lower() in known and cat.is_borrowable(r.reserve_id))
        return EModeCategory(
            category_id=cat.category_id, label=cat.label, ltv=cat.ltv_bps / 10_000,
            liquidation_threshold=cat.liquidation_threshold_bps / 10_000,
            liquidation_bonus=max(cat.liquidation_bonus_bps - 10_000, 0) / 10_000,
            collateral_symbols=coll, borrowable_symbols=borrow,
            source=f"{self.market} Pool e-mode {cat.category_id} at block {self.block} (RPC)",
        )


def _reserve_params(reserve: LiveReserve, name: str, market: str, block: int) -> ReserveParams:
    # The live risk parameters on delever's reserve (its rate curves are kept: they are
    # dated history, not the live strategy).
    return dataclasses.replace(
        RESERVES[name],
        decimals=reserve.decimals,
        ltv=reserve.ltv_bps / 10_000,
        liquidation_threshold=reserve.liquidation_threshold_bps / 10_000,
        liquidation_bonus=max(reserve.liquidation_bonus_bps - 10_000, 0) / 10_000,
        liquidation_protocol_fee=reserve.liquidation_protocol_fee_bps / 10_000,
        reserve_factor=reserve.reserve_factor_bps / 10_000,
        source=f"{market} at block {block} via JSON-RPC (PoolDataProvider)",
        estimated_fields=(),
    )


# --- reading -------------------------------------------------------------------------------
def _run(client: RpcClient, calls: Sequence[_Call], block: int, *,
         allow_failure: bool = False) -> list[tuple[Any, ...] | None]:
    """Batch ``calls`` and decode each; None for a failed optional call."""
    raw = client.call_many([(to, fn.encode(*args)) for to, fn, args in calls], block,
                           labels=[fn.label for _, fn, _ in calls], allow_failure=allow_failure)
    out: list[tuple[Any, ...] | None] = []
    for (to, fn, _), data in zip(calls, raw, strict=True):
        try:
            out.append(fn.decode(data))
        except Exception:
            if allow_failure:
                out.append(None)
                continue
            raise SourceError(
                f"{fn.label} at {to} returned a malformed answer ({len(data)} bytes) at block "
                f"{block}; is it the right contract?"
            ) from None
    return out


def _required(rows: list[tuple[Any, ...] | None]) -> list[tuple[Any, ...]]:
    return [row for row in rows if row is not None]


def _read_emode(client: RpcClient, m: AaveMarket, block: int,
               members: Mapping[int, int] | None = None) -> tuple[LiveEModeCategory, ...]:
    """The pool's e-mode categories: the v3.2+ getters, else (they all revert) v3.0's
    ``getEModeCategoryData`` with ``members`` (reserve id -> its category; read when None)."""
    ids = range(1, MAX_EMODE_ID + 1)
    configs = _run(client, [(m.pool, abi.GET_EMODE_COLLATERAL_CONFIG, (i,)) for i in ids],
                   block, allow_failure=True)
    if all(c is None for c in configs):
        return _read_emode_v30(client, m, block, members)
    used = [(i, c) for i, c in zip(ids, configs, strict=True) if c is not None and c[1] > 0]
    calls: list[_Call] = []
    for i, _ in used:
        calls += [(m.pool, abi.GET_EMODE_LABEL, (i,)),
                  (m.pool, abi.GET_EMODE_COLLATERAL_BITMAP, (i,)),
                  (m.pool, abi.GET_EMODE_BORROWABLE_BITMAP, (i,))]
    rows = _run(client, calls, block, allow_failure=True)
    out = []
    for k, (i, config) in enumerate(used):
        label, coll, borrow = rows[3 * k: 3 * k + 3]
        out.append(LiveEModeCategory(
            category_id=i, label=str(label[0]) if label else "",
            ltv_bps=int(config[0]), liquidation_threshold_bps=int(config[1]),
            liquidation_bonus_bps=int(config[2]),
            collateral_bitmap=int(coll[0]) if coll else 0,
            borrowable_bitmap=int(borrow[0]) if borrow else 0,
        ))
    return tuple(out)


def _emode_members(client: RpcClient, m: AaveMarket, block: int) -> dict[int, int]:
    (assets,) = _required(_run(client, [(m.pool, abi.GET_RESERVES_LIST, ())], block))[0]
    rows = _required(_run(client, [(m.pool, abi.GET_RESERVE_DATA, (checksum(str(a)),))
                                   for a in assets], block))
    return {int(r[7]): (int(r[0]) >> abi.EMODE_CATEGORY_START_BIT) & 0xFF for r in rows}


def _read_emode_v30(client: RpcClient, m: AaveMarket, block: int,
                    members: Mapping[int, int] | None) -> tuple[LiveEModeCategory, ...]:
    # v3.0: one reserve is in at most one category, which is both its e-mode collateral and
    # its e-mode borrowable set (abi.GET_EMODE_CATEGORY_DATA's notes): the two bitmaps are equal
    ids = range(1, MAX_EMODE_ID + 1)
    rows = _run(client, [(m.pool, abi.GET_EMODE_CATEGORY_DATA, (i,)) for i in ids], block,
                allow_failure=True)
    used = [(i, row[0]) for i, row in zip(ids, rows, strict=True)
            if row is not None and int(row[0][1]) > 0]
    if not used:
        return ()
    of_reserve = _emode_members(client, m, block) if members is None else members
    return tuple(LiveEModeCategory(
        category_id=i, label=str(data[4]), ltv_bps=int(data[0]),
        liquidation_threshold_bps=int(data[1]), liquidation_bonus_bps=int(data[2]),
        collateral_bitmap=(bitmap := sum(1 << rid for rid, c in of_reserve.items() if c == i)),
        borrowable_bitmap=bitmap,
        price_source="" if int(str(data[3]), 16) == 0 else checksum(str(data[3])),
    ) for i, data in used)


def rule_set_of(reserves: Sequence[LiveReserve]) -> str:
    """delever's rule set for the pool these reserves were read from: ``"3.0"`` where no
    reserve answers ``getVirtualUnderlyingBalance`` (added in v3.1: a v3.0 pool), else the
    default (mainnet's current rules, :data:`DEFAULT_RULE_SET`)."""
    if reserves and all(r.virtual_underlying_units is None for r in reserves):
        return "3.0"
    return DEFAULT_RULE_SET


def _per_reserve_calls(m: AaveMarket, asset: str) -> list[_Call]:
    dp = m.protocol_data_provider
    return [(m.pool, abi.GET_RESERVE_DATA, (asset,)),
            (dp, abi.GET_RESERVE_CONFIGURATION_DATA, (asset,)),
            (dp, abi.GET_RESERVE_CAPS, (asset,)),
            (dp, abi.GET_LIQUIDATION_PROTOCOL_FEE, (asset,)),
            (dp, abi.DP_GET_RESERVE_DATA, (asset,))]


def _utilization(debt_units: int, virtual_units: int | None, atoken_units: int) -> float:
    # DefaultReserveInterestRateStrategyV2.calculateInterestRates (v3.6): borrow usage ratio
    # = totalDebt / (virtual underlying balance + totalDebt); without virtual accounting,
    # debt over aToken supply.
    denominator = (virtual_units + debt_units) if virtual_units is not None else atoken_units
    return debt_units / denominator if denominator > 0 else 0.0


def _strategies(client: RpcClient, m: AaveMarket, assets: Sequence[str],
                block: int) -> list[RateStrategy | None]:
    dp = m.protocol_data_provider
    where = _run(client, [(dp, abi.GET_INTEREST_RATE_STRATEGY_ADDRESS, (a,)) for a in assets],
                 block, allow_failure=True)
    calls = [(checksum(str(w[0])) if w else m.pool, abi.GET_INTEREST_RATE_DATA_BPS, (a,))
             for w, a in zip(where, assets, strict=True)]
    rows = _run(client, calls, block, allow_failure=True)
    return [RateStrategy(calls[k][0], *(int(v) for v in row)) if row and where[k] else None
            for k, row in enumerate(rows)]


def read_reserves(client: RpcClient, market: AaveMarket, block: int) -> tuple[LiveReserve, ...]:
    """Every reserve of ``market`` at ``block``: parameters, totals, indexes and prices."""
    return _read_reserves(client, resolve_market(client, market, block), block)[0]


def _read_reserves(
    client: RpcClient, m: AaveMarket, block: int
) -> tuple[tuple[LiveReserve, ...], tuple[LiveEModeCategory, ...]]:
    head = _required(_run(client, [(m.pool, abi.GET_RESERVES_LIST, ()),
                                   (m.protocol_data_provider, abi.GET_ALL_RESERVES_TOKENS, ())],
                          block))
    assets = [checksum(str(a)) for a in head[0][0]]
    symbols = {str(addr).lower(): str(sym) for sym, addr in head[1][0]}
    calls = [c for a in assets for c in _per_reserve_calls(m, a)]
    calls.append((m.oracle, abi.GET_ASSETS_PRICES, (assets,)))
    rows = _required(_run(client, calls, block))
    (prices,) = rows[-1]
    if len(prices) != len(assets):
        raise SourceError(f"AaveOracle.getAssetsPrices at {m.oracle} answered {len(prices)} "
                          f"prices for {len(assets)} assets at block {block}.")
    virtual = _run(client, [(m.pool, abi.GET_VIRTUAL_UNDERLYING_BALANCE, (a,)) for a in assets],
                   block, allow_failure=True)
    strategies = _strategies(client, m, assets, block)
    categories = _read_emode(client, m, block, {
        int(rows[5 * k][7]): (int(rows[5 * k][0]) >> abi.EMODE_CATEGORY_START_BIT) & 0xFF
        for k in range(len(assets))})
    out = []
    for k, asset in enumerate(assets):
        pool_data, config, caps, fee, totals = rows[5 * k: 5 * k + 5]
        reserve_id = int(pool_data[7])
        v_row = virtual[k]
        v_units = int(v_row[0]) if v_row is not None else None
        out.append(LiveReserve(
            symbol=symbols.get(asset.lower(), asset[:10]), address=asset,
            reserve_id=reserve_id, decimals=int(config[0]), ltv_bps=int(config[1]),
            liquidation_threshold_bps=int(config[2]), liquidation_bonus_bps=int(config[3]),
            reserve_factor_bps=int(config[4]), liquidation_protocol_fee_bps=int(fee[0]),
            supply_cap_tokens=int(caps[1]), borrow_cap_tokens=int(caps[0]),
            usage_as_collateral_enabled=bool(config[5]), borrowing_enabled=bool(config[6]),
            is_active=bool(config[8]), is_frozen=bool(config[9]),
            liquidity_index_ray=int(totals[9]), variable_borrow_index_ray=int(totals[10]),
            liquidity_rate_ray=int(totals[5]), variable_borrow_rate_ray=int(totals[6]),
            total_atoken_units=int(totals[2]), total_variable_debt_units=int(totals[4]),
            virtual_underlying_units=v_units,
            utilization=_utilization(int(totals[4]), v_units, int(totals[2])),
            a_token=checksum(str(pool_data[8])),
            variable_debt_token=checksum(str(pool_data[10])),
            rate_strategy=strategies[k],
            emode_category_ids=tuple(c.category_id for c in categories
                                     if c.has_collateral(reserve_id)),
            price_base=int(prices[k]),
        ))
    return tuple(out), categories


def read_emode_categories(client: RpcClient, market: AaveMarket,
                          block: int) -> tuple[LiveEModeCategory, ...]:
    """The e-mode categories of ``market`` at ``block`` (ids 1..255 with a threshold set)."""
    return _read_emode(client, resolve_market(client, market, block), block)


def read_account(
    client: RpcClient,
    market: AaveMarket,
    address: str,
    block: int,
    *,
    reserves: Sequence[LiveReserve] | None = None,
) -> LiveAccount:
    """``address``'s positions in ``market`` at ``block`` and ``getUserAccountData``.

    ``reserves`` (from :func:`read_reserves` at the same block) saves reading them again.
    """
    if not is_address(address):
        raise SourceError(f"--address {address!r} must be 0x followed by 40 hex digits.")
    m = resolve_market(client, market, block)
    categories: tuple[LiveEModeCategory, ...] | None = None
    if reserves is None:
        live, categories = _read_reserves(client, m, block)
    else:
        live = tuple(reserves)
    dp = m.protocol_data_provider
    calls: list[_Call] = [(m.pool, abi.GET_USER_ACCOUNT_DATA, (address,)),
                          (m.pool, abi.GET_USER_EMODE, (address,))]
    calls += [(dp, abi.GET_USER_RESERVE_DATA, (r.address, address)) for r in live]
    rows = _required(_run(client, calls, block))
    totals, (emode_id,) = rows[0], rows[1]
    positions = tuple(
        LivePosition(symbol=r.symbol, address=r.address, decimals=r.decimals,
                     collateral_units=int(row[0]), variable_debt_units=int(row[2]),
                     used_as_collateral=bool(row[8]), price_base=r.price_base)
        for r, row in zip(live, rows[2:], strict=True)
        if int(row[0]) > 0 or int(row[2]) > 0
    )
    emode = None
    if int(emode_id) != 0:
        if categories is None:
            categories = _read_emode(client, m, block, {
                r.reserve_id: c for r in live for c in r.emode_category_ids})
        emode = next((c for c in categories if c.category_id == int(emode_id)), None)
    return LiveAccount(
        address=address, market=market.name, block=block, emode_category_id=int(emode_id),
        emode=emode, positions=positions, total_collateral_base=int(totals[0]),
        total_debt_base=int(totals[1]), available_borrows_base=int(totals[2]),
        current_liquidation_threshold=int(totals[3]), ltv=int(totals[4]),
        health_factor=int(totals[5]), reserves=live, rule_set=rule_set_of(live),
    )


__all__ = [
    "DeleverModel",
    "LiveAccount",
    "LiveEModeCategory",
    "LivePosition",
    "LiveReserve",
    "RateStrategy",
    "read_account",
    "read_emode_categories",
    "read_reserves",
    "rule_set_of",
]
