"""Shared fixtures of the live sources' tests: the fake JSON-RPC node, and retries without
their pauses."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from delever.sources.chain import rpc
from sources.fakechain import FakeChain


@pytest.fixture
def node() -> Iterator[FakeChain]:
    """A fake Aave v3 node on 127.0.0.1 for one test."""
    with FakeChain() as fc:
        yield fc


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The RPC client's backoff pauses take no time (their lengths are tested elsewhere)."""
    monkeypatch.setattr(rpc, "time", SimpleNamespace(sleep=lambda s: None))
