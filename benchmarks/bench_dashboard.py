"""Benchmark ``delever dashboard`` in a real browser (the system's Chromium, Playwright).

In one run:

- ``first_paint_s``: from starting the server process (``delever dashboard`` on 127.0.0.1)
  to the first complete paint of the initial panels: the position table, the what-if table
  and the three fast figures (what-if, exit liquidity, ladder) drawn by plotly. Each of
  ``--runs`` starts a new server (imports included, as a user sees it); the heavy panels'
  background jobs are not waited for (they fill in later).
- ``slider_ms``: the price slider's response on the default scenario: a key press on the
  slider's thumb (one or ten dollars) until the what-if table shows the new health factors,
  over ``--moves`` moves (>= 20), median and p90, once the page's first background jobs
  have finished (on two cores they hold both for a few seconds). Parity check first: the HF
  shown equals the library's position analysis at the slider's price
  (:func:`delever.dashboard.layout.whatif_rows`). Target (issue 15): <= 300 ms.
- ``slider_ms_during_job``: the same while a 40,000-path strategies job runs in the
  background (the page stays responsive; the job is cancelled after).

Prints CSV rows, or one JSON object with ``--json``. Needs Chromium from the system's
packages (``apt-get install chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from delever.dashboard.browser import (
    CHROMIUM_ARGS,
    find_chromium,
    free_port,
    is_local,
    start_server,
    stop_server,
    wait_until_up,
)
from delever.dashboard.layout import JOBS, whatif_rows
from delever.dashboard.model import ScenarioInput, load_input

FAST_FIGURES = ("#whatif-body", "#exit-body", "#ladder-body")
TARGET_SLIDER_MS = 300.0


def _shown(page: Any, n_accounts: int) -> list[str]:
    return [page.inner_text(f"#whatif-{i}-1") for i in range(n_accounts)]


def _wait_hfs(page: Any, expected: list[str], timeout_ms: float = 10_000) -> None:
    page.wait_for_function(
        "([ids, want]) => ids.every((id, i) => document.getElementById(id)?.textContent "
        "=== want[i])", arg=[[f"whatif-{i}-1" for i in range(len(expected))], expected],
        timeout=timeout_ms, polling="raf")


def first_paint(browser: Any, folder: Path, run: int) -> dict[str, float]:
    """Seconds from the server's start to the initial panels painted (one new server)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    page.route("**/*", lambda route: route.continue_() if is_local(route.request.url)
               else (outside.append(route.request.url), route.abort()))
    port = free_port()
    start = time.perf_counter()
    process = start_server(port, folder / f"cache-{run}")
    try:
        up = wait_until_up(f"http://127.0.0.1:{port}/", process)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#position-body table")
        page.wait_for_selector("#whatif-0-1")
        for body in FAST_FIGURES:
            page.wait_for_selector(f"{body} .js-plotly-plot .main-svg", timeout=60_000)
        painted = time.perf_counter() - start
    finally:
        page.close()
        stop_server(process)
    if outside:
        raise RuntimeError(f"requests left 127.0.0.1: {outside}")
    return {"server_up_s": up, "first_paint_s": painted}


def _time_moves(page: Any, moves: int) -> list[float]:
    """Milliseconds from each key press on the slider to the new HFs shown (two warm-up
    moves first), each checked against the library's analysis at the slider's price."""
    scenario = load_input(ScenarioInput())
    n = len(scenario.accounts)
    thumb = page.locator("#whatif-price [role=slider]")
    thumb.focus()
    timings: list[float] = []
    keys = ("ArrowLeft", "Shift+ArrowLeft", "ArrowRight", "Shift+ArrowLeft")
    for i in range(moves + 2):
        before = float(thumb.get_attribute("aria-valuenow") or "nan")
        start = time.perf_counter()
        thumb.press(keys[i % len(keys)])
        price = float(thumb.get_attribute("aria-valuenow") or "nan")
        if price == before:
            raise RuntimeError("the slider did not move")
        expected = [row[1] for row in whatif_rows(scenario, price)[:n]]
        _wait_hfs(page, expected)
        elapsed = (time.perf_counter() - start) * 1e3
        if _shown(page, n) != expected:  # parity: the library's HF at that price
            raise RuntimeError(f"HF shown {_shown(page, n)} != library {expected} at {price}")
        if i >= 2:
            timings.append(elapsed)
    return timings


def slider_moves(browser: Any, url: str, moves: int) -> tuple[list[float], list[float]]:
    """The slider's response when the page is idle, then while a long strategies job runs
    in the background (40,000 paths; cancelled afterwards)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#whatif-body .js-plotly-plot .main-svg", timeout=60_000)
    for job in JOBS:  # the page's first background jobs hold both cores for a few seconds
        page.wait_for_function(f"document.getElementById('{job}-state').textContent !== ''",
                               timeout=300_000)
    idle = _time_moves(page, moves)
    box = page.locator("#mc-paths")
    box.fill("40000")
    box.press("Enter")
    page.click("#strategies-run")
    page.wait_for_function("Number(document.getElementById('strategies-progress').value) > 0",
                           timeout=300_000)
    busy = _time_moves(page, moves)
    finished = page.locator("#strategies-cancel").is_disabled()  # enabled while it runs
    page.click("#strategies-cancel")
    page.close()
    if finished:
        raise RuntimeError("the long job finished before the moves did: raise its paths")
    return idle, busy


def _stats(prefix: str, values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"{prefix}_median": round(statistics.median(values), 1),
            f"{prefix}_p90": round(ordered[int(0.9 * (len(values) - 1))], 1),
            f"{prefix}_max": round(ordered[-1], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="server starts to time (3)")
    parser.add_argument("--moves", type=int, default=30, help="slider moves, >= 20 (30)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    if args.moves < 20 or args.runs < 1:
        parser.error("--moves must be >= 20 and --runs >= 1")
    chromium = find_chromium()
    if chromium is None:
        print("Chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as name, \
            sync_playwright() as playwright:
        folder = Path(name)
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        paints = [first_paint(browser, folder, run) for run in range(args.runs)]
        port = free_port()
        process = start_server(port, folder / "cache-slider")
        try:
            wait_until_up(f"http://127.0.0.1:{port}/", process)
            idle, busy = slider_moves(browser, f"http://127.0.0.1:{port}/", args.moves)
        finally:
            stop_server(process)
        version = browser.version
        browser.close()
    result: dict[str, Any] = {
        "chromium": version,
        "first_paint_s": [round(p["first_paint_s"], 3) for p in paints],
        "first_paint_s_median": round(statistics.median(p["first_paint_s"] for p in paints), 3),
        "server_up_s_median": round(statistics.median(p["server_up_s"] for p in paints), 3),
        "slider_moves": len(idle),
        **_stats("slider_ms", idle),
        **_stats("slider_ms_during_job", busy),
        "slider_target_ms": TARGET_SLIDER_MS,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print("metric,value")
        for key, value in result.items():
            print(f"{key},{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
