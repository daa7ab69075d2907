"""One small scenario file for tests: a single bought lot and one Aave account.

Tests that need a scenario TOML shaped like the README's minimal example build it here
instead of repeating the text (conftest's folder is on sys.path, so `from scenario_text import
one_account_scenario` works from every test folder).
"""

from __future__ import annotations


def one_account_scenario(
    *,
    name: str = "mini",
    mark_usd: float = 2000.0,
    bought_eth: float = 100.0,
    buy_usd: float = 3000.0,
    collateral: str = "{ WETH = 100 }",
    debt: str = "{ USDC = 100000 }",
    emode: bool = False,
    extra: str = "",
) -> str:
    """The TOML text; ``collateral`` and ``debt`` are inline tables, ``extra`` is appended."""
    emode_line = "emode = true\n" if emode else ""
    return (
        f'name = "{name}"\n[mark]\nprice_usd = {mark_usd!r}\n[position]\n'
        f'[[position.trades]]\ntime = 2026-01-01T00:00:00Z\nside = "buy"\n'
        f"quantity_eth = {bought_eth!r}\nprice_usd = {buy_usd!r}\n"
        f'[[accounts]]\nname = "a"\n{emode_line}collateral = {collateral}\ndebt = {debt}\n'
        + extra
    )
