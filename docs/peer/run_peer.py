"""Reproduce the peer model's figures for delever's side-by-side comparison.

Documentation only: not part of delever, not imported by its tests.

Peer: mmarfinetz/aave-wsteth-risk @ 4306396 (no licence file in the repository;
see aave_wsteth_risk.md). Nothing of the peer's code is copied here: this
script imports it from a separate checkout and runs it in a separate venv.

Usage:
    python docs/peer/run_peer.py PEER_SRC PEER_VENV [--big-sims N ...]   (default: 100000 300000;
    about 2.2 GB of RAM per 100k legacy paths)

PEER_SRC: a checkout of the peer (e.g. git clone of the mirror into /tmp/peer-src)
PEER_VENV: a venv with the peer's requirements.txt installed
Prints one JSON object with the figures.

Offline: the child process runs with CODEX_SANDBOX_NETWORK_DISABLED=1, with
ETH_RPC_URL / AAVE_SUBGRAPH_URL / ETHERSCAN_API_KEY / ZEROX_* removed, and
with socket connect/getaddrinfo and urllib.request.urlopen replaced by
functions that raise at once, so any fetch attempt fails immediately
instead of hanging on RPC. The peer's CLI (run_dashboard.main) is then run
with run_dashboard.load_params replaced by a function returning {} -- i.e.
the peer's own offline fallback, Dashboard(params={}), which uses the
dataclass defaults in config/params.py (the CLI itself raises
"Could not load required live params" when load_params fails).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DROPS_FOR_LIQUIDATION = (0.09, 0.13)  # exchange-rate drops at which we call the peer's liquidation


def _outer(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("peer_src")
    parser.add_argument("peer_venv")
    parser.add_argument("--big-sims", type=int, nargs="*", default=[100_000, 300_000])
    args = parser.parse_args(argv)
    src = Path(args.peer_src).resolve()
    python = Path(args.peer_venv).resolve() / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in {"ETH_RPC_URL", "AAVE_SUBGRAPH_URL", "ETHERSCAN_API_KEY",
                        "ZEROX_API_KEY", "ZEROX_TAKER_ADDRESS", "ZEROX_TAKER",
                        "COINGECKO_API_KEY", "THEGRAPH_API_KEY"}}
    env["CODEX_SANDBOX_NETWORK_DISABLED"] = "1"
    env["PYTHONPATH"] = str(src)
    proc = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--child", str(src),
         ",".join(str(n) for n in args.big_sims)],
        cwd=src, env=env, capture_output=True, text=True, check=False,
    )
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        return proc.returncode
    sys.stdout.write(proc.stdout)
    return 0


def _block_network() -> None:
    import socket
    import urllib.request

    def _refuse(*_a: object, **_k: object) -> None:
        raise OSError("network disabled by run_peer.py")

    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = _refuse  # type: ignore[assignment]
    socket.getaddrinfo = _refuse  # type: ignore[assignment]
    urllib.request.urlopen = _refuse  # type: ignore[assignment]


def _position_figures() -> dict:
    from config.params import EMODE, MARKET, WETH_RATES, WSTETH
    from models.aave_model import InterestRateModel
    from models.position_model import LoopedPosition

    pos = LoopedPosition(10.0, 10)  # run_dashboard.py defaults --capital 10 --loops 10
    rate = float(InterestRateModel(WETH_RATES).borrow_rate(MARKET.current_weth_utilization))
    hf = pos.health_factor()
    return {
        "capital_eth": pos.capital_eth, "n_loops": pos.n_loops, "ltv": EMODE.ltv,
        "lt": EMODE.liquidation_threshold, "wsteth_steth_rate": WSTETH.wsteth_steth_rate,
        "eth_usd_price": MARKET.eth_usd_price,
        "leverage": repr(pos.leverage), "health_factor": repr(hf),
        "total_collateral_eth": repr(pos.total_collateral_eth),
        "total_collateral_wsteth": repr(pos.total_collateral_wsteth),
        "total_debt_weth": repr(pos.total_debt_weth),
        "current_borrow_rate": repr(rate),
        "net_apy": repr(float(pos.net_apy(rate))),
        "break_even_borrow_rate": repr(pos.break_even_rate()),
        # derived by us from its HF formula HF = coll_wsteth*ER*LT/debt (linear in ER and LT)
        "exchange_rate_drop_to_hf1": repr(1.0 - 1.0 / hf),
        "exchange_rate_at_hf1": repr(WSTETH.wsteth_steth_rate / hf),
    }


def _days_of_carry_to_hf1(borrow_rates: tuple[float, ...], max_days: int = 5000) -> dict:
    """First day HF<1 under a constant borrow rate, with its own HF-path and ER functions."""
    import numpy as np
    from config.params import WSTETH
    from models.position_model import LoopedPosition
    from src.oracle_dynamics.exchange_rate import generate_lido_exchange_rate

    pos = LoopedPosition(10.0, 10)
    dt = 1.0 / 365.0
    er = generate_lido_exchange_rate(
        initial_rate=WSTETH.wsteth_steth_rate, staking_yield=WSTETH.staking_apy,
        slashing_probability=0.0, slashing_severity=0.0, capo_max_growth=0.0968,
        dt=dt, n_steps=max_days, n_paths=1, seed=0, exchange_rate_mode="capo_slashing")
    out = {}
    for r in borrow_rates:
        hf = pos.health_factor_paths(np.full((1, max_days + 1), r), dt=dt, exchange_rate_paths=er)
        idx = np.where(hf[0] < 1.0)[0]
        out[f"{r:.6f}"] = int(idx[0]) if idx.size else None
    return out


def _liquidations() -> list[dict]:
    from dataclasses import replace

    from config.params import EMODE, WSTETH
    from models.aave_model import LiquidationEngine
    from models.position_model import LoopedPosition

    pos = LoopedPosition(10.0, 10)
    rows = []
    for drop in DROPS_FOR_LIQUIDATION:
        er = WSTETH.wsteth_steth_rate * (1.0 - drop)
        eng = LiquidationEngine(EMODE, replace(WSTETH, wsteth_steth_rate=er), price_mode="oracle")
        hf_before = eng.health_factor(pos.total_collateral_wsteth, pos.total_debt_weth)
        res = eng.simulate_liquidation(pos.total_collateral_wsteth, pos.total_debt_weth)
        rows.append({
            "exchange_rate_drop": drop, "exchange_rate": repr(er),
            "hf_before": repr(hf_before), "close_factor": eng.close_factor(hf_before),
            "debt_repaid_weth": repr(res.debt_repaid) if res else None,
            "collateral_seized_wsteth": repr(res.collateral_seized) if res else None,
            "collateral_seized_eth_at_oracle": repr(res.collateral_seized * er) if res else None,
            "bonus_eth": repr(res.collateral_seized * er - res.debt_repaid) if res else None,
            "protocol_fee": "not modelled (no protocol fee anywhere in the peer's code)",
            "remaining_debt_weth": repr(res.remaining_debt) if res else None,
            "remaining_collateral_wsteth": repr(res.remaining_collateral) if res else None,
            "hf_after": repr(res.health_factor_after) if res else None,
        })
    return rows


def _run_cli(cli_args: list[str]) -> dict:
    """Run run_dashboard.main() offline; spy on the HF paths passed to liquidation_probability."""
    import contextlib
    import io
    import time

    import numpy as np
    import run_dashboard
    from models.risk_metrics import RiskMetrics

    seen: dict = {}
    original = RiskMetrics.liquidation_probability

    def spy(hf_paths: np.ndarray) -> float:
        min_hf = np.min(hf_paths, axis=1)
        seen.update(
            n_paths=int(hf_paths.shape[0]), n_cols=int(hf_paths.shape[1]),
            n_paths_hf_lt_1=int(np.sum(min_hf < 1.0)),
            n_paths_hf_lt_1_at_end=int(np.sum(hf_paths[:, -1] < 1.0)),
            min_hf_quantiles={q: repr(float(np.quantile(min_hf, q)))
                              for q in (0.0, 0.0001, 0.001, 0.01, 0.5)},
            hf_start=repr(float(hf_paths[0, 0])),
        )
        return original(hf_paths)

    original_all = RiskMetrics.compute_all
    original_steth = run_dashboard.Dashboard._simulate_steth_ratio_paths

    def spy_all(self: RiskMetrics, pnl_paths: np.ndarray, hf_paths: np.ndarray | None = None):
        term = pnl_paths[:, -1]
        seen["terminal_pnl_eth"] = {
            "mean": repr(float(np.mean(term))),
            **{f"p{q:g}": repr(float(np.percentile(term, q))) for q in (1, 5, 50, 95)}}
        return original_all(self, pnl_paths, hf_paths)

    def spy_steth(self, *a, **k):  # records the stETH/ETH market ratio the MTM P&L uses
        ratio, meta = original_steth(self, *a, **k)
        seen.setdefault("steth_eth_ratio_terminal", []).append({
            "mean": repr(float(np.mean(ratio[:, -1]))),
            "p5": repr(float(np.percentile(ratio[:, -1], 5))),
            "max_over_paths": repr(float(np.max(ratio)))})
        return ratio, meta

    RiskMetrics.liquidation_probability = staticmethod(spy)  # type: ignore[method-assign]
    RiskMetrics.compute_all = spy_all  # type: ignore[method-assign]
    run_dashboard.Dashboard._simulate_steth_ratio_paths = spy_steth  # type: ignore[method-assign]
    run_dashboard.load_params = lambda **_kw: {}  # its offline fallback: Dashboard(params={})
    sys.argv = ["run_dashboard.py", *cli_args, "--json"]
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        run_dashboard.main()
    wall_s = time.perf_counter() - t0
    RiskMetrics.liquidation_probability = staticmethod(original)  # type: ignore[method-assign]
    RiskMetrics.compute_all = original_all  # type: ignore[method-assign]
    run_dashboard.Dashboard._simulate_steth_ratio_paths = original_steth  # type: ignore[method-assign]
    text = buf.getvalue()
    start = text.index("\n{") + 1
    out = json.loads(text[start:])
    log_lines = [ln for ln in text[:start].splitlines() if ln.strip()]
    rm = out["risk_metrics"]
    keep = ("var_95_eth", "var_99_eth", "cvar_95_eth", "cvar_99_eth", "max_drawdown_mean_eth",
            "max_drawdown_95_eth", "prob_liquidation_pct", "prob_position_liquidation_pct",
            "prob_position_liquidation_by_24h_pct", "prob_position_liquidation_by_7d_pct",
            "prob_exit_pct", "health_factor_current", "time_to_hf_lt_1_median_days",
            "time_to_hf_lt_1_p95_days", "horizon_days", "grid_steps", "n_simulations")
    return {
        "cli_args": cli_args, "wall_s": round(wall_s, 2),
        "risk_metrics": {k: rm.get(k) for k in keep},
        "hf_paths_spy": seen,
        "position_summary": out["position_summary"],
        "stress_tests": [
            {k: st.get(k) for k in ("name", "health_factor", "liquidated",
                                    "time_to_hf_lt_1_days", "borrow_rate_peak",
                                    "utilization_peak", "pnl_30d_eth")}
            for st in out["stress_tests"]],
        "log": log_lines,
    }


def _child(src: str, big_sims: list[int]) -> None:
    _block_network()
    sys.path.insert(0, src)
    os.chdir(src)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    from config.params import MARKET, WETH_RATES
    from models.aave_model import InterestRateModel

    r_now = float(InterestRateModel(WETH_RATES).borrow_rate(MARKET.current_weth_utilization))
    r_max = float(InterestRateModel(WETH_RATES).borrow_rate(0.99))  # utilization clip_max
    result = {
        "peer_commit": commit,
        "position": _position_figures(),
        "days_of_constant_borrow_rate_to_hf1": _days_of_carry_to_hf1(
            (r_now, r_now + 0.04, 0.10, 0.20, r_max)),
        "liquidations": _liquidations(),
        "legacy_default": _run_cli(["--profile", "legacy"]),
        "operational_default": _run_cli([]),
    }
    for n in big_sims:
        result[f"legacy_{n}"] = _run_cli(["--profile", "legacy", "--simulations", str(n)])
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], [int(n) for n in sys.argv[3].split(",") if n])
    else:
        raise SystemExit(_outer(sys.argv[1:]))
