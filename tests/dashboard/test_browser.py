"""`delever dashboard` in a real browser: the system's Chromium driven by Playwright.

One server (a subprocess on 127.0.0.1) and one browser for the module. Every request the
page makes is intercepted: one that would leave 127.0.0.1 is aborted and fails the test.
Screenshots (1400 and 800 px wide) go to tests/dashboard/artifacts/ (git-ignored).

Without Chromium the tests skip, saying why, unless DELEVER_REQUIRE_BROWSER=1 (CI), where
they fail.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("dash", reason="Dash is not installed (pip install -e '.[test]')")

from delever.cli.main import app
from delever.dashboard.browser import (
    CHROMIUM_ARGS,
    find_chromium,
    free_port,
    is_local,
    start_server,
    stop_server,
    wait_until_up,
)
from delever.dashboard.layout import whatif_rows
from delever.dashboard.model import ScenarioInput, load_input
from delever.scenario.loader import builtin_scenario_text
from delever.sim.api import simulate_streamed
from delever.strategy import DEFAULT_STRATEGIES

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
JOBS = ("strategies", "plan", "advice", "replay", "cascade")
JOB_TIMEOUT_MS = 240_000  # a cold numba cache compiles the engines in the first jobs
CANCEL_PATHS = 40_000  # long enough (about a minute on two cores) to cancel mid-way
SMALL_PATHS, SMALL_STEPS = 100, 48


def _chromium() -> str:
    found = find_chromium()
    if found is None:
        message = ("Chromium not found (install Debian's chromium and chromium-driver: "
                   "apt-get install chromium chromium-driver)")
        if os.environ.get("DELEVER_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; DELEVER_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _chromium()
    folder = tmp_path_factory.mktemp("dashboard")
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    process = start_server(port, folder / "cache", log_path=ARTIFACTS / "server.log")
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        message = "playwright is not installed (pip install -e '.[test]')"
        if os.environ.get("DELEVER_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; DELEVER_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page on the dashboard; every request checked, the outside ones aborted."""
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    shown = context.new_page()

    def check(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    shown.route("**/*", check)
    shown.goto(server)
    shown.wait_for_selector("#whatif-0-1", timeout=120_000)
    yield shown
    context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def _wait_state(page: Any, job: str, text: str, timeout_ms: int = JOB_TIMEOUT_MS) -> None:
    page.wait_for_function(
        "([id, text]) => document.getElementById(id).textContent === text",
        arg=[f"{job}-state", text], timeout=timeout_ms)


def _set_number(page: Any, selector: str, value: float) -> None:
    box = page.locator(selector)
    box.fill(str(value))
    box.press("Enter")  # the inputs are debounced: Enter commits


def test_page_renders_every_panel_and_saves_screenshots(page: Any) -> None:
    position = page.inner_text("#position-body")
    assert "liquidation band" in position and "$1,509.00 - $1,708.00" in position
    for panel in ("whatif", "exit", "ladder"):  # plotly.js loads after the first paint
        page.wait_for_selector(f"#{panel}-body .js-plotly-plot .main-svg", timeout=30_000)
    for job in JOBS:  # the heavy panels start on load, in the background
        _wait_state(page, job, "finished")
    for job in JOBS:
        body = page.locator(f"#{job}-body")
        assert body.locator("table").count() >= 1, job
        assert body.locator(".js-plotly-plot").count() >= 1, job
    assert page.locator("#plan-frontier .js-plotly-plot").count() == 1
    assert "sell-all" in page.inner_text("#strategies-table")
    page.wait_for_timeout(500)  # the last figures' transitions
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1400.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 1000})
    page.wait_for_timeout(800)  # plotly redraws on resize
    page.screenshot(path=str(ARTIFACTS / "dashboard-800.png"), full_page=True)
    assert (ARTIFACTS / "dashboard-1400.png").stat().st_size > 50_000


def _shown_hfs(page: Any, n_accounts: int) -> list[str]:
    return [page.inner_text(f"#whatif-{i}-1") for i in range(n_accounts)]


def _expect_hfs(page: Any, price_usd: float) -> None:
    scenario = load_input(ScenarioInput())
    expected = [row[1] for row in whatif_rows(scenario, price_usd)[:len(scenario.accounts)]]
    page.wait_for_function(
        "([ids, want]) => ids.every((id, i) => document.getElementById(id)?.textContent "
        "=== want[i])", arg=[[f"whatif-{i}-1" for i in range(len(expected))], expected],
        timeout=15_000)
    assert _shown_hfs(page, len(expected)) == expected


def test_price_slider_moves_every_health_factor(page: Any) -> None:
    scenario = load_input(ScenarioInput())
    _expect_hfs(page, float(round(scenario.mark_price_usd)))
    thumb = page.locator("#whatif-price [role=slider]")
    thumb.focus()
    thumb.press("Home")  # the slider's low end
    low = float(thumb.get_attribute("aria-valuemin"))
    _expect_hfs(page, low)
    for _ in range(5):
        thumb.press("ArrowRight")  # one dollar a step
    _expect_hfs(page, low + 5)
    box = page.locator("#whatif-price input[type=number]")
    box.fill("1650")
    box.press("Enter")
    _expect_hfs(page, 1650.0)
    for row, named in enumerate(scenario.accounts):  # and `delever position` at $1,650
        result = CliRunner().invoke(app, [
            "position", "--collateral-eth", repr(named.account.collateral["WETH"]),
            "--debt-usd", repr(sum(named.account.debt.values())), "--price-usd", "1650",
            "--json"])
        shown = page.inner_text(f"#whatif-{row}-1")
        assert shown == f"{json.loads(result.stdout)['health_factor']:.4f}", named.name
    _set_number(page, "#whatif-shock", 10)  # 10% below the slider's price
    _expect_hfs(page, 1650.0 * 0.9)
    assert float(page.inner_text("#whatif-2-1")) < 1.0  # C-high liquidated at $1,485


def test_simulation_progress_cancel_and_results(page: Any) -> None:
    _wait_state(page, "strategies", "finished")  # the page's first run
    _set_number(page, "#mc-paths", CANCEL_PATHS)
    page.click("#strategies-run")
    page.wait_for_function(
        "() => Number(document.getElementById('strategies-progress').value) > 0 && "
        "!document.getElementById('strategies-cancel').disabled", timeout=JOB_TIMEOUT_MS)
    page.click("#strategies-cancel")
    _wait_state(page, "strategies", "cancelled", timeout_ms=10_000)
    page.wait_for_timeout(2_000)  # a cancelled job must not deliver late results
    assert page.inner_text("#strategies-state") == "cancelled"
    assert page.locator("#strategies-table").count() == 0
    assert "cancelled: no results" in page.inner_text("#strategies-body")
    _set_number(page, "#mc-paths", SMALL_PATHS)
    _set_number(page, "#strategies-steps", SMALL_STEPS)
    page.click("#strategies-run")
    page.wait_for_function("() => document.getElementById('strategies-state').textContent "
                           "=== 'finished' && document.body.innerText.includes("
                           f"'over {SMALL_PATHS} GBM paths of {SMALL_STEPS} hourly steps')",
                           timeout=JOB_TIMEOUT_MS)
    expected = simulate_streamed(load_input(ScenarioInput()), list(DEFAULT_STRATEGIES),
                                 n_paths=SMALL_PATHS, n_steps=SMALL_STEPS, step_hours=1.0,
                                 seed=0).to_dict()
    for row, (name, summary) in enumerate(expected.items()):
        assert page.inner_text(f"#strategies-{row}-1") == f"{summary['p_liquidation']:.1%}", name
    assert page.inner_text("#strategies-table").count("%") >= len(expected)


def test_bad_upload_shows_the_validate_line(page: Any, tmp_path: Path,
                                            validate_line: Callable[[Path], str]) -> None:
    text = builtin_scenario_text("trend-2026").replace(
        'price_usd = { value = 1904.0404040404,', 'price_usd = { value = -5,', 1)
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    page.set_input_files("#scenario-upload input[type=file]", str(path))
    page.wait_for_function("() => document.getElementById('scenario-error').textContent "
                           "!== ''", timeout=15_000)
    shown = page.inner_text("#scenario-error")
    assert shown == validate_line(path)
    assert re.fullmatch(r"error: bad\.toml: mark\.price_usd\S*=.*", shown)
    assert "\n" not in shown
    assert page.inner_text("#scenario-origin") == "showing: trend-2026"  # unchanged


def _download(page: Any, button: str, timeout_ms: int = 30_000) -> tuple[str, str]:
    with page.expect_download(timeout=timeout_ms) as info:
        page.click(f"#{button}")
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text("utf-8")


def test_form_edits_and_downloads(page: Any) -> None:
    _wait_state(page, "strategies", "finished")
    name, text = _download(page, "download-toml-button")
    assert (name, text) == ("trend-2026.toml", builtin_scenario_text("trend-2026"))
    name, text = _download(page, "download-json-button")
    results = json.loads(text)
    assert name == "trend-2026-results.json"
    report = load_input(ScenarioInput()).position_report()
    assert [a["health_factor"] for a in results["accounts"]] == [
        a.health_factor for a in report.accounts]
    assert set(results["strategies"]["strategies"]) == set(DEFAULT_STRATEGIES)
    _set_number(page, "#form-mark", 1800)
    page.click("#form-apply")
    page.wait_for_function("() => document.getElementById('scenario-origin').textContent "
                           "=== 'showing: trend-2026 (edited)'", timeout=15_000)
    edited = load_input(ScenarioInput()).mark_price_usd
    assert edited != 1800.0  # the built-in is untouched; the page holds its own copy
    scenario = load_input(ScenarioInput.from_store(
        {"name": "trend-2026", "origin": "trend-2026 (edited)",
         "toml": _download(page, "download-toml-button")[1]}))
    assert scenario.mark_price_usd == 1800.0
    expected = [row[1] for row in whatif_rows(scenario, 1800.0)[:len(scenario.accounts)]]
    page.wait_for_function(
        "([ids, want]) => ids.every((id, i) => document.getElementById(id)?.textContent "
        "=== want[i])", arg=[[f"whatif-{i}-1" for i in range(len(expected))], expected],
        timeout=15_000)
    name, text = _download(page, "download-html-button", timeout_ms=JOB_TIMEOUT_MS)
    assert name == "trend-2026-report.html"
    assert text.startswith("<!DOCTYPE html>") and "Position at the mark" in text
    assert "$1,800.00" in text  # the edited mark
