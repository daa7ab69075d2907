"""The lending protocols by name: ``get_protocol("aave-v3.6")`` and the names it knows
(``aave-v3.0``, ``aave-v3.3``, ``aave-v3.6``, ``morpho-blue``).

Names are what scenario files (``protocol = "aave-v3.6"``) and the command line
(``--protocol``) use. Every layer above ``protocol`` gets its protocol object here.
"""

from __future__ import annotations

from collections.abc import Callable

from delever.errors import InvalidArgument, unknown_name
from delever.protocol.aave import AaveV3
from delever.protocol.base import LendingProtocol
from delever.protocol.morpho import DEFAULT_LLTV, MorphoBlue

DEFAULT_PROTOCOL = "aave-v3.6"

_FACTORIES: dict[str, Callable[[], LendingProtocol]] = {
    "aave-v3.0": lambda: AaveV3(rule_set="3.0"),
    "aave-v3.3": lambda: AaveV3(rule_set="3.3"),
    "aave-v3.6": lambda: AaveV3(rule_set="3.6"),
    # A market with no LLTV in mind gets Morpho's common 86%; build MorphoBlue(lltv=...) for
    # a given market.
    "morpho-blue": lambda: MorphoBlue(lltv=DEFAULT_LLTV),
}

PROTOCOL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def get_protocol(name: str = DEFAULT_PROTOCOL, *, field: str = "protocol") -> LendingProtocol:
    """The protocol called ``name`` (e.g. ``aave-v3.0``); unknown -> close matches.

    ``field`` names the input in the error (``protocol``, ``--protocol``).
    """
    if not isinstance(name, str):
        raise InvalidArgument(f"{field}={name!r} must be a protocol name, e.g. "
                              f"{DEFAULT_PROTOCOL!r}.")
    factory = _FACTORIES.get(name)
    if factory is None:
        raise unknown_name(field, name, _FACTORIES)
    return factory()


__all__ = ["DEFAULT_PROTOCOL", "PROTOCOL_NAMES", "get_protocol"]
