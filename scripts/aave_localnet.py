#!/usr/bin/env python
"""Start a local Aave v3.0 market on anvil and keep it running (test-time tool, not shipped).

Deploys Aave's own bytecode (``@aave/core-v3@1.19.3``) on anvil (``@foundry-rs/anvil@1.7.1``),
both installed by ``npm install --no-audit --no-fund`` in ``tests/chain/node``; the market is
configured from ``delever.protocol.reserves`` (see ``tests/chain/localnet.py``). Prints ONE
JSON line on stdout once ready (rpc_url, chain_id, block, aave_version, addresses, accounts),
then waits until SIGINT/SIGTERM and stops anvil.

Usage::

    PYTHONPATH=src .venv/bin/python scripts/aave_localnet.py --port 8545 --accounts 50 --seed 1
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from chain.localnet import LocalnetError, local_market

FINALITY_BLOCKS = 64


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="anvil port on 127.0.0.1")
    parser.add_argument("--accounts", type=int, default=20,
                        help="seeded accounts to generate (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    args = parser.parse_args(argv)
    if args.accounts < 0 or not 0 < args.port < 65536:
        parser.error("--accounts must be >= 0 and --port in 1..65535")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        with local_market(seed=args.seed, n_accounts=args.accounts, port=args.port) as market:
            # anvil's "finalized" block trails the head by 64 blocks: mine them, so that
            # delever's default block (the latest finalized) holds the whole market
            market.w3.provider.make_request("anvil_mine", [hex(FINALITY_BLOCKS)])
            print(market.json_line(), flush=True)
            stop.wait()
    except LocalnetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
