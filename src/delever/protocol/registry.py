"""The lending protocols by name: ``get_protocol("aave-v3.6")`` and the names it knows
(``aave-v3.0``, ``aave-v3.3``, ``aave-v3.6``, ``morpho-blue``).

Names are what scenario files (``protocol = "aave-v3.6"``) and the command line
(``--protocol``) use. Every layer above ``protocol`` gets its protocol object here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from delever.errors import InvalidArgument, unknown_name
from delever.protocol.aave import AaveV3
from delever.protocol.base import LendingProtocol
from delever.protocol.morpho import DEFAULT_LLTV, MorphoBlue

DEFAULT_PROTOCOL = "aave-v3.6"

_FACTORIES: dict[str, Callable[..., LendingProtocol]] = {
    "aave-v3.0": lambda: AaveV3(rule_set="3.0"),
    "aave-v3.3": lambda: AaveV3(rule_set="3.3"),
    "aave-v3.6": lambda: AaveV3(rule_set="3.6"),
    # A market with no LLTV in mind gets Morpho's common 86%.
    "morpho-blue": lambda lltv=DEFAULT_LLTV: MorphoBlue(lltv=lltv),
}
# The market parameters each protocol takes by name (scenario keys, CLI options).
PROTOCOL_PARAMS: dict[str, tuple[str, ...]] = {"morpho-blue": ("lltv",)}

PROTOCOL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def get_protocol(name: str = DEFAULT_PROTOCOL, *, field: str = "protocol",
                 params: Mapping[str, float] | None = None) -> LendingProtocol:
    """The protocol called ``name`` (e.g. ``aave-v3.0``); unknown -> close matches.

    ``field`` names the input in the error (``protocol``, ``--protocol``); ``params`` the
    market's parameters where the protocol takes them (:data:`PROTOCOL_PARAMS`: Morpho
    Blue's ``lltv``).
    """
    if not isinstance(name, str):
        raise InvalidArgument(f"{field}={name!r} must be a protocol name, e.g. "
                              f"{DEFAULT_PROTOCOL!r}.")
    factory = _FACTORIES.get(name)
    if factory is None:
        raise unknown_name(field, name, _FACTORIES)
    params = dict(params or {})
    extra = sorted(set(params) - set(PROTOCOL_PARAMS.get(name, ())))
    if extra:
        takes = ", ".join(PROTOCOL_PARAMS.get(name, ())) or "no market parameters"
        raise InvalidArgument(f"{extra[0]} does not apply to {field}={name!r} (it takes "
                              f"{takes}).")
    return factory(**params)


__all__ = ["DEFAULT_PROTOCOL", "PROTOCOL_NAMES", "PROTOCOL_PARAMS", "get_protocol"]
