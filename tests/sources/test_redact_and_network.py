"""The sources layer's shared pieces, and the rule that no test reaches the network."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError

from delever.sources import SourceError, redact_url, require


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrSt123",
         "https://eth-mainnet.g.alchemy.com/v2/***"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
         "https://mainnet.infura.io/v3/***"),
        ("https://rpc.example.org/?apikey=secret123&x=1", "https://rpc.example.org/?apikey=***&x=1"),
        ("https://user:secretpassword@rpc.example.org/", "https://***@rpc.example.org/"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://ethereum-rpc.publicnode.com", "https://ethereum-rpc.publicnode.com"),
    ],
)
def test_redact_url_hides_keys(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_require_names_the_extra() -> None:
    with pytest.raises(SourceError, match=r"pip install 'delever\[live\]'"):
        require("delever_no_such_module", "reading the chain")


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_no_test_reaches_the_internet() -> None:
    # pytest-socket (pyproject addopts) lets tests reach 127.0.0.1 only.
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
