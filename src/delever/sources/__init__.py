"""The network edge: chain RPC, exchanges and archive files, turned into scenario inputs.

This is the only layer that talks to the network (DESIGN.md, layers). Nothing below it does
I/O; everything it reads becomes a scenario file (or a book file) first, every value with its
block or timestamp as its source, so a live run can be replayed offline.

- :mod:`delever.sources.chain`: Aave v3 (and Morpho Blue) state read over JSON-RPC (web3.py)
  at a pinned block: accounts, reserves, oracle prices, the borrower book from events.
- :mod:`delever.sources.exchanges`: order books and OHLCV from public exchange endpoints (ccxt).
- :mod:`delever.sources.archive`: files downloaded from Binance's public data archive.

The network libraries are the optional extra ``delever[live]``; a command that needs them
says so in one line when they are missing. Every failure is a :class:`SourceError`: one line
naming the source and what failed, exit 2 on the command line. An RPC URL may carry an API
key: it is never printed or written (:func:`redact_url`).
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

from delever.errors import InvalidArgument


class SourceError(InvalidArgument):
    """A live source failed (unreachable, wrong chain, reverted call, bad response): one line."""


_SECRET_PATH = re.compile(r"/(v\d+/|v\d+/[a-z]+/)?([A-Za-z0-9_-]{16,})/?$")
_SECRET_QUERY = re.compile(r"([?&](?:api[-_]?key|key|token|apikey|access_token)=)[^&]+", re.I)


def redact_url(url: str) -> str:
    """``url`` with anything that looks like an API key replaced by ``***``.

    Providers put keys in the last path segment (``https://eth-mainnet.g.alchemy.com/v2/KEY``,
    ``https://mainnet.infura.io/v3/KEY``), in the query (``?apikey=KEY``) or as user info
    (``https://user:KEY@host``).
    """
    out = re.sub(r"//([^/@]+)@", "//***@", url)
    out = _SECRET_QUERY.sub(r"\1***", out)
    return _SECRET_PATH.sub(lambda m: "/" + (m.group(1) or "") + "***", out)


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (``web3``, ``ccxt``) or raise one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SourceError(
            f"{purpose} needs the package {module!r}; install it with "
            "pip install 'delever[live]'."
        ) from None


__all__ = ["SourceError", "redact_url", "require"]
