"""A small JSON-RPC client over web3.py's HTTPProvider: retries, batching, one-line errors.

Only the request layer of web3 is used (``HTTPProvider.make_request``); web3's own retry is
off so that retries, their count (``calls_made``) and every message are ours. Each failure is
one :class:`~delever.sources.SourceError` line; the URL in it goes through
:func:`~delever.sources.redact_url`, and no exception text (which may quote the URL) is
copied into a message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from delever.sources import SourceError, redact_url, require
from delever.sources.chain import abi

# Multicall3 is deployed at this address on Ethereum and most EVM chains (mds1/multicall3
# README, "Multicall3 Contract Addresses"; interface src/interfaces/IMulticall3.sol).
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"

_RATE_LIMIT_CODES = (-32005, 429)  # EIP-1474 "limit exceeded"; some providers echo HTTP 429


@dataclass(frozen=True)
class RpcErrorReply:
    """A JSON-RPC ``error`` object the node answered with."""

    code: int
    message: str


class _RpcError(Exception):
    def __init__(self, reply: RpcErrorReply) -> None:
        super().__init__(reply.message)
        self.reply = reply


class _RetryableError(Exception):
    """A failure worth another try (rate limit, timeout); ``reason`` ends the final message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hex_int(value: Any, what: str) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise SourceError(f"the RPC answered {what} with {str(value)[:40]!r}, not a hex number.")


def _hex_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x") and len(value) % 2 == 0:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise SourceError(f"the RPC answered {what} with {str(value)[:40]!r}, not hex bytes.")


def is_address(text: str) -> bool:
    """Whether ``text`` is ``0x`` and 40 hex digits."""
    if not (isinstance(text, str) and len(text) == 42 and text[:2] in ("0x", "0X")):
        return False
    return all(c in "0123456789abcdefABCDEF" for c in text[2:])


class RpcClient:
    """JSON-RPC reads from one Ethereum node.

    Parameters
    ----------
    url
        HTTP(S) endpoint; may carry an API key (never printed).
    timeout_s
        Seconds to wait for one reply.
    retries
        Tries per request on a rate limit (HTTP 429, JSON-RPC -32005 or "rate limit") or a
        timeout, with a pause of ``backoff_s * 2**k`` seconds after the k-th failed try.
    backoff_s
        First pause between tries, seconds.
    expected_chain_id
        Chain id the node must report (1: Ethereum); checked before the first other request.
        ``None`` accepts any chain.
    batch_size
        Where Multicall3 has no code (a local or young chain), :meth:`call_many` sends its
        ``eth_call`` s as JSON-RPC batch requests (a JSON array, JSON-RPC 2.0 spec section 6)
        of this many; 0 sends one per request. A node that does not answer a batch with an
        array is asked one call at a time from then on.

    Attributes
    ----------
    calls_made
        JSON-RPC requests sent (every try counts).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 20.0,
        retries: int = 4,
        backoff_s: float = 0.5,
        expected_chain_id: int | None = 1,
        batch_size: int = 0,
    ) -> None:
        require("web3", "reading the chain")
        from web3 import HTTPProvider

        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SourceError(
                f"--rpc {redact_url(str(url))!r} must be an http:// or https:// URL."
            )
        if retries < 1:
            raise SourceError(f"retries={retries!r} must be at least 1.")
        self.url_shown = redact_url(url)
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.expected_chain_id = expected_chain_id
        self.calls_made = 0
        self._provider = HTTPProvider(
            url, request_kwargs={"timeout": self.timeout_s}, exception_retry_configuration=None
        )
        self._chain_checked = expected_chain_id is None
        self._multicall_at: dict[int, bool] = {}
        self.batch_size = max(0, int(batch_size))

    # --- the request loop -------------------------------------------------------------------
    def _once(self, method: str, params: list[Any]) -> Any:
        import requests
        from web3.types import RPCEndpoint

        self.calls_made += 1
        try:
            response = self._provider.make_request(RPCEndpoint(method), params)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status == 429:
                raise _RetryableError("rate limited (HTTP 429)") from None
            raise SourceError(f"RPC {self.url_shown} answered HTTP {status} to {method}.") from None
        except requests.Timeout:
            raise _RetryableError(f"no reply within {self.timeout_s:g} s") from None
        except requests.ConnectionError:
            raise SourceError(
                f"RPC {self.url_shown} is unreachable ({method}); check the URL and the network."
            ) from None
        except ValueError:  # JSON or UTF-8 decoding of the body
            raise SourceError(
                f"RPC {self.url_shown} sent a malformed reply to {method} (not JSON)."
            ) from None
        return self._result(method, response)

    def _result(self, method: str, response: Any) -> Any:
        if not isinstance(response, dict):
            raise SourceError(f"RPC {self.url_shown} sent a malformed reply to {method}.")
        error = response.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise SourceError(f"RPC {self.url_shown} sent a malformed error to {method}.")
            reply = RpcErrorReply(int(error.get("code", 0) or 0), str(error.get("message", "")))
            text = reply.message.lower()
            if reply.code in _RATE_LIMIT_CODES or "rate limit" in text or "too many" in text:
                raise _RetryableError(f"rate limited ({reply.code}: {reply.message[:80]})")
            raise _RpcError(reply)
        if "result" not in response:
            raise SourceError(
                f"RPC {self.url_shown} sent a malformed reply to {method} (no result)."
            )
        return response["result"]

    def _request(self, method: str, params: list[Any]) -> Any:
        if not self._chain_checked:
            self._chain_checked = True
            self.chain_id()
        return self._send(method, params)

    def _send(self, method: str, params: list[Any]) -> Any:
        reason = ""
        for attempt in range(self.retries):
            try:
                return self._once(method, params)
            except _RetryableError as exc:
                reason = exc.reason
                if attempt + 1 < self.retries:
                    time.sleep(self.backoff_s * 2**attempt)
        raise SourceError(
            f"RPC {self.url_shown}: {method} failed {self.retries} times, last {reason}; "
            "wait and retry, or use another RPC."
        )

    def _plain(self, method: str, params: list[Any]) -> Any:
        try:
            return self._request(method, params)
        except _RpcError as exc:
            raise SourceError(
                f"RPC {self.url_shown} refused {method}: {exc.reply.code} "
                f"{exc.reply.message[:120]}"
            ) from None

    # --- public reads -----------------------------------------------------------------------
    def chain_id(self) -> int:
        """``eth_chainId``; SourceError when it differs from ``expected_chain_id``."""
        try:
            got = _hex_int(self._send("eth_chainId", []), "eth_chainId")
        except _RpcError as exc:
            raise SourceError(
                f"RPC {self.url_shown} refused eth_chainId: {exc.reply.message[:120]}"
            ) from None
        if self.expected_chain_id is not None and got != self.expected_chain_id:
            raise SourceError(
                f"RPC {self.url_shown} is on chain id {got}, expected {self.expected_chain_id}; "
                "give an RPC for the market's chain."
            )
        return got

    def block_number(self) -> int:
        """``eth_blockNumber``: the latest block."""
        return _hex_int(self._plain("eth_blockNumber", []), "eth_blockNumber")

    def resolve_block(self, block: int | None) -> int:
        """``block`` checked against the head, or the latest finalized block when None.

        A node without the ``finalized`` tag (a fresh local chain) answers an error or null;
        the latest block is used then.
        """
        if block is None:
            try:
                head = self._request("eth_getBlockByNumber", ["finalized", False])
            except _RpcError:
                head = None
            if isinstance(head, dict) and "number" in head:
                return _hex_int(head["number"], "eth_getBlockByNumber(finalized).number")
            return self.block_number()
        if isinstance(block, bool) or not isinstance(block, int) or block < 0:
            raise SourceError(f"--block {block!r} must be a block number >= 0.")
        latest = self.block_number()
        if block > latest:
            raise SourceError(
                f"--block {block} is beyond the chain head {latest} of RPC {self.url_shown}."
            )
        return block

    def block_time(self, block: int) -> datetime | None:
        """The UTC time of ``block`` (its header's timestamp); None where the node gives none."""
        head = self._request("eth_getBlockByNumber", [hex(block), False])
        if not isinstance(head, dict) or "timestamp" not in head:
            return None
        return datetime.fromtimestamp(_hex_int(head["timestamp"], "block timestamp"), tz=UTC)

    def get_code(self, address: str, block: int) -> bytes:
        """``eth_getCode`` of ``address`` at ``block`` (empty for an account with no code)."""
        return _hex_bytes(self._plain("eth_getCode", [address, hex(block)]), "eth_getCode")

    def eth_call(self, to: str, data: bytes, block: int, *, label: str = "") -> bytes:
        """``eth_call`` at ``block``; ``label`` (``Pool.getReserveData``) names it in errors."""
        name = label or "eth_call"
        try:
            raw = self._request("eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)])
        except _RpcError as exc:
            text = exc.reply.message.lower()
            if exc.reply.code == 3 or "revert" in text:
                raise SourceError(f"{name} at {to} reverted at block {block}.") from None
            raise SourceError(
                f"RPC {self.url_shown} refused {name} at {to}: {exc.reply.code} "
                f"{exc.reply.message[:120]}"
            ) from None
        return _hex_bytes(raw, name)

    def has_multicall(self, block: int) -> bool:
        """Whether Multicall3 has code at ``block`` (asked once per block)."""
        if block not in self._multicall_at:
            self._multicall_at[block] = len(self.get_code(MULTICALL3, block)) > 0
        return self._multicall_at[block]

    def call_many(
        self,
        calls: Sequence[tuple[str, bytes]],
        block: int,
        *,
        chunk: int = 500,
        labels: Sequence[str] | None = None,
        allow_failure: bool = False,
    ) -> list[bytes]:
        """Return data of each ``(to, calldata)`` at ``block``, in order.

        Batched through Multicall3 ``aggregate3`` (``chunk`` calls per request) where it has
        code at ``block``, else one ``eth_call`` each. A failed call raises one line naming
        ``labels[i]`` (``Contract.function``) and its address; with ``allow_failure`` a
        failed call gives ``b""`` instead (for getters an older pool may lack).
        """
        names = list(labels) if labels is not None else ["eth_call"] * len(calls)
        if len(names) != len(calls):
            raise ValueError("labels must have one entry per call")
        if not calls:
            return []
        if not self.has_multicall(block):
            return self._call_each(calls, block, names, allow_failure)
        out: list[bytes] = []
        for start in range(0, len(calls), max(1, chunk)):
            part = calls[start:start + max(1, chunk)]
            payload = abi.AGGREGATE3.encode([(to, True, data) for to, data in part])
            raw = self.eth_call(MULTICALL3, payload, block, label=abi.AGGREGATE3.label)
            try:
                (results,) = abi.AGGREGATE3.decode(raw)
            except Exception:
                raise SourceError(
                    f"RPC {self.url_shown} sent a malformed Multicall3.aggregate3 reply at "
                    f"block {block}."
                ) from None
            if len(results) != len(part):
                raise SourceError(
                    f"Multicall3.aggregate3 answered {len(results)} results for {len(part)} calls."
                )
            for offset, (success, data) in enumerate(results):
                if not success and allow_failure:
                    data = b""
                elif not success:
                    to = part[offset][0]
                    raise SourceError(
                        f"{names[start + offset]} at {to} reverted at block {block}."
                    )
                out.append(bytes(data))
        return out

    def _call_each(self, calls: Sequence[tuple[str, bytes]], block: int, names: Sequence[str],
                   allow_failure: bool) -> list[bytes]:
        """Each call as its own ``eth_call``, ``batch_size`` of them per HTTP request."""
        out: list[bytes] = []
        size = self.batch_size or 1
        for start in range(0, len(calls), size):
            part = list(zip(calls[start:start + size], names[start:start + size], strict=True))
            replies = self._batch(part, block) if len(part) > 1 else None
            for k, ((to, data), name) in enumerate(part):
                reply = replies[k] if replies is not None else None
                if isinstance(reply, bytes):
                    out.append(reply)
                elif isinstance(reply, RpcErrorReply) and (
                        reply.code == 3 or "revert" in reply.message.lower()):
                    if not allow_failure:
                        raise SourceError(f"{name} at {to} reverted at block {block}.")
                    out.append(b"")
                else:  # no batch, or this item failed otherwise: ask it alone (retries)
                    out.append(self._call_or_empty(to, data, block, name, allow_failure))
        return out

    def _batch(self, part: Sequence[tuple[tuple[str, bytes], str]],
               block: int) -> list[bytes | RpcErrorReply | None] | None:
        """One JSON-RPC batch of ``eth_call`` s: each item's data, its error, or None where it
        must be asked again; None for the whole batch when the node answered no array."""
        import requests
        from web3.types import RPCEndpoint

        if not self._chain_checked:
            self._chain_checked = True
            self.chain_id()
        self.calls_made += 1
        body = [(RPCEndpoint("eth_call"), [{"to": to, "data": "0x" + data.hex()}, hex(block)])
                for (to, data), _ in part]
        try:
            replies = self._provider.make_batch_request(body)
        except (requests.RequestException, ValueError):
            replies = None
        if not isinstance(replies, list) or len(replies) != len(part):
            self.batch_size = 0  # this node does not batch: one call per request from now on
            return None
        out: list[bytes | RpcErrorReply | None] = []
        for reply, (_, name) in zip(replies, part, strict=True):
            try:
                out.append(_hex_bytes(self._result(name, reply), name))
            except _RpcError as exc:
                out.append(exc.reply)
            except (_RetryableError, SourceError):
                out.append(None)
        return out

    def _call_or_empty(self, to: str, data: bytes, block: int, label: str,
                       allow_failure: bool) -> bytes:
        if not allow_failure:
            return self.eth_call(to, data, block, label=label)
        try:
            return self.eth_call(to, data, block, label=label)
        except SourceError as exc:
            if " reverted at block " in str(exc):
                return b""
            raise

    def get_logs(
        self,
        address: str,
        topics: Sequence[str | None],
        from_block: int,
        to_block: int,
    ) -> list[dict[str, Any]]:
        """``eth_getLogs`` of ``address`` with ``topics`` over ``[from_block, to_block]``."""
        if from_block > to_block:
            raise SourceError(f"from_block {from_block} is after to_block {to_block}.")
        query = {"address": address, "topics": list(topics), "fromBlock": hex(from_block),
                 "toBlock": hex(to_block)}
        logs = self._plain("eth_getLogs", [query])
        if not isinstance(logs, list) or not all(isinstance(x, dict) for x in logs):
            raise SourceError(f"RPC {self.url_shown} sent a malformed reply to eth_getLogs.")
        return logs


__all__ = ["MULTICALL3", "RpcClient", "RpcErrorReply", "is_address"]
