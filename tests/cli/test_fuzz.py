"""Fuzz every command with seeded bad input, in process (issue 11's acceptance test).

More than 10,000 cases (``fuzz_cases.py``): bad numbers, unknown and misspelt options, bad
enum values and dates, missing and extra arguments, bad input and output paths, and one
change at a time to two valid scenario files. The oracle, for every case:

- no traceback and never exit 1 (an internal error);
- exit 2: stderr is exactly one line, ``error: ...``, naming the option or field, nothing on
  stdout, and no file created or changed;
- exit 0: with ``--json`` no null and no non-finite number outside a short allow-list; on
  the terminal no ``nan``/``inf``.

On failure it prints the failing cases grouped by (command, failure) with one command line
each to reproduce. ``DELEVER_FUZZ=report`` prints the same table and marks the test xfail
instead of failing (for triage while fixes are pending); the default is strict.
``DELEVER_FUZZ_BUDGET_S`` changes the wall-time budget (150 s) past which cases are skipped.
The table is also written to ``fuzz-summary.txt`` in the test's temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shlex
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import typer
from click.testing import CliRunner
from fuzz_cases import (
    COMMANDS,
    INPUT_FIXTURES,
    OUTPUT_FIXTURES,
    SEED,
    Case,
    all_cases,
)

from delever.cli.main import app

SOURCES = Path(__file__).resolve().parents[2] / "src" / "delever" / "scenario" / "builtin"
MIN_CASES = 10_000
CASE_TIMEOUT_S = 20  # one case past this is a failure ("timeout"), and the run goes on
# Past this the rest is skipped (and the test fails: too slow).
TOTAL_BUDGET_S = float(os.environ.get("DELEVER_FUZZ_BUDGET_S", "150"))
# Commands that read live sources (their bad inputs, one line each, are tested in
# tests/sources/ against a local fake node), and the dashboard: not fuzzed here.
LIVE_COMMANDS = {"book", "dashboard", "snapshot"}
RUN_ENGINE_CAP = 4  # mutated files that validate accepts: this many also go through `run`
LATE_EXIT_2_S = 2.0  # an exit 2 after this much work is listed (not asserted: timing)
MEMORY_HEADROOM_BYTES = 8 << 30  # a huge allocation fails fast instead of swapping

# Keys that may be null in a successful --json answer, and why (README, "--json keys").
NULL_OK = {
    "liquidation_band_usd": "no account can be liquidated",
    "report_path": "no --report given",
    "scheduler": "no --scheduler given",
    "workers": "null with a --scheduler",
    "jumps": "plan without --jumps",
    "recovery_days": "advise after_unwind: null where never reached",
    "median_recovery_hours": "simulate: null where no path gets back to the cost basis",
    "avg_sale_price_usd": "replay counterfactuals: a strategy that sold nothing (hold)",
    "output": "a string: no --output given",
    "format": "a string: no --output given",
    "engines_skipped": "run: a string says why the engines did not run; null when they did",
    "cascade": "run: null where the scenario has no [book] or no reported sales to replay",
    "days_to_liquidation_at_borrow_rate": "loop: null where the staking yield outruns the "
                                          "borrow rate (the carry never takes HF to 1)",
}
# position with no debt: the health factor is infinite, there is no liquidation price.
NULL_OK_WITHOUT_DEBT = {"health_factor", "liquidation_price_usd", "distance_to_liquidation_pct",
                        "health_factor_after"}  # liquidate that leaves no debt
# A cross-field rule may name the rule instead of one option.
EXTRA_TOKENS = {"liquidate": ("health factor",)}

_TERMINAL_NAN = re.compile(r"(?<![\w.])(nan|NaN|inf|-inf|None|null)(?![\w])")


class CaseTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so that no ``except Exception`` swallows it."""


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _memory_cap() -> Iterator[None]:
    """Cap the address space a little above today's, so 1e23 paths is a MemoryError."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as f:
            size_bytes = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        yield
        return
    cap = size_bytes + MEMORY_HEADROOM_BYTES
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Outcome:
    case: Case
    argv: list[str]
    exit_code: int | None
    seconds: float
    failure: str | None  # None: passed
    message: str


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def _null_paths(value: Any, path: str = "") -> Iterator[str]:
    """Paths of nulls and non-finite numbers, skipping keys in ``NULL_OK``."""
    if isinstance(value, dict):
        no_debt = ((value.get("debt_usd") == 0 and "health_factor" in value)
                   or (value.get("debt_left_usd") == 0 and "health_factor_after" in value))
        for key, item in value.items():
            if key in NULL_OK and item is None:
                continue
            if no_debt and key in NULL_OK_WITHOUT_DEBT and item is None:
                continue
            if key in NULL_OK and key == "recovery_days":
                continue  # its percentiles are null where the price never recovers
            yield from _null_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _null_paths(item, f"{path}[{i}]")
    elif value is None or (isinstance(value, float) and not math.isfinite(value)):
        yield path or "(root)"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}


def _reset(folder: Path, files: dict[str, bytes]) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_dir() and not p.is_symlink():
            p.rmdir()
        else:
            p.unlink()
    for rel, data in files.items():
        target = folder.parent / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_EXTRA_ARGS = re.compile(r"^error: unexpected extra argument\(s\) '([^']+)'")


def _quotes_extra(line: str, argv: list[str]) -> bool:
    """An extra-argument error names its field by quoting the stray word(s) of argv."""
    match = _EXTRA_ARGS.match(line)
    return match is not None and all(word in argv for word in match.group(1).split())


def judge(case: Case, exit_code: int, stdout: str, stderr: str, exception: BaseException | None,
          tokens: tuple[str, ...]) -> tuple[str | None, str]:
    """The failure (None: fine) and the line to show for it."""
    text = stdout + stderr
    if exception is not None and not isinstance(exception, SystemExit):
        return "uncaught exception", f"{type(exception).__name__}: {exception}"[:160]
    if "Traceback" in text:
        return "traceback", text.strip().splitlines()[-1][:160]
    first = (stderr.strip().splitlines() or [""])[0][:160]
    if exit_code == 1:
        return "exit 1", first
    if exit_code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        if len(lines) != 1:
            shown = " | ".join(line.strip(" ╭─╰│") for line in lines if line.strip(" ╭─╰│╮╯"))
            return "exit 2 not one line", shown[:160]
        if not lines[0].startswith("error:"):
            return "exit 2 without 'error:'", lines[0][:160]
        low = lines[0].lower()
        tokens = (*tokens, *EXTRA_TOKENS.get(case.command, ()))
        if not any(t.lower() in low for t in tokens if t.strip()) and not _quotes_extra(
                lines[0], case.argv):
            return "exit 2 names no field", lines[0][:160]
        if stdout.strip():
            return "exit 2 with stdout", stdout.strip()[:160]
        return None, ""
    if exit_code != 0:
        return f"exit {exit_code}", first
    if case.json:
        try:
            payload = json.loads(stdout)
        except ValueError:
            return "exit 0, stdout not one JSON object", stdout[:160]
        bad = list(_null_paths(payload))
        if bad:
            return "exit 0 with null/non-finite", ", ".join(bad[:4])[:160]
    else:
        match = _TERMINAL_NAN.search(stdout)
        if match:
            start = max(0, match.start() - 50)
            return "exit 0, nan/inf/None on the terminal", stdout[start:match.end() + 20].strip()
    return None, ""


def run_all(tmp_path: Path) -> tuple[list[Outcome], dict[str, int], float]:
    command = typer.main.get_command(app)  # built once: CliRunner(app) rebuilds it per call
    runner = _runner()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = tmp_path / "out"
    _reset(tmp_path / "in", {k: v for k, v in INPUT_FIXTURES.items()} | {"in/.keep": b""})
    _reset(out, OUTPUT_FIXTURES)
    out_before = _snapshot(out)
    os.chdir(cwd)

    # Warm-up (numba compiles on first use; not counted, no alarm).
    for cmd in COMMANDS.values():
        base = [cmd.name, *cmd.base] + (["trend-2026"] if cmd.positional == "file" else [])
        runner.invoke(command, [*base, "--json"])

    cases = all_cases({"trend-2026": (SOURCES / "trend-2026.toml").read_text(),
                       "minimal": MINIMAL}, seed=SEED)
    outcomes: list[Outcome] = []
    skipped: Counter[str] = Counter()
    validate_exit: dict[int, int | None] = {}
    engine_runs = 0
    start = time.perf_counter()
    written: set[str] = set()
    with _memory_cap():
        for case in cases:
            if time.perf_counter() - start > TOTAL_BUDGET_S:
                skipped[f"{case.command}: total budget spent"] += 1
                continue
            if (case.pair is not None and case.command == "run"
                    and validate_exit.get(case.pair) == 0):
                if engine_runs >= RUN_ENGINE_CAP:
                    skipped["run: valid mutated file (engine cap)"] += 1
                    continue
                engine_runs += 1
            for rel, data in case.files.items():
                if rel not in written:
                    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                    (tmp_path / rel).write_bytes(data)
                    written.add(rel)
            argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
            tokens = tuple(t.replace("{tmp}", str(tmp_path)) for t in case.tokens)
            t0 = time.perf_counter()
            try:
                with _alarm(CASE_TIMEOUT_S):
                    result = runner.invoke(command, argv, catch_exceptions=True)
            except CaseTimeout:
                outcomes.append(Outcome(case, argv, None, time.perf_counter() - t0,
                                        f"timeout > {CASE_TIMEOUT_S} s", ""))
                os.chdir(cwd)
                continue
            seconds = time.perf_counter() - t0
            code = result.exit_code
            failure, message = judge(case, code, result.stdout, result.stderr,
                                     result.exception, tokens)
            if case.pair is not None and case.command == "validate":
                validate_exit[case.pair] = code
            if (failure is None and case.pair is not None and case.command == "run"
                    and validate_exit.get(case.pair) == 2 and code == 0):
                failure, message = "run accepts what validate rejects", case.detail
            os.chdir(cwd)  # a command that changed folder must not move the next one
            new_in_cwd = list(cwd.iterdir())
            if code != 0 and failure is None:
                if new_in_cwd:
                    failure, message = "wrote a file and failed", str(new_in_cwd[0].name)
                elif _snapshot(out) != out_before:
                    failure, message = "changed a file and failed", "under {tmp}/out"
            if new_in_cwd or code == 0:
                _reset(cwd, {})
                _reset(out, OUTPUT_FIXTURES)
            outcomes.append(Outcome(case, argv, code, seconds, failure, message))
    return outcomes, dict(skipped), time.perf_counter() - start


def summary(outcomes: list[Outcome], skipped: dict[str, int], seconds: float) -> str:
    failing = [o for o in outcomes if o.failure]
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in failing:
        groups[(o.case.command, o.failure or "")].append(o)
    lines = [f"fuzz: {len(outcomes)} cases in {seconds:.0f} s, {len(failing)} failing, "
             f"{sum(skipped.values())} skipped, seed {SEED}",
             f"{'count':>6}  command     failure",
             ]
    for (command, failure), items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        kinds = Counter(o.case.kind for o in items)
        sample = min(items, key=lambda o: (len(" ".join(o.argv)), o.case.kind))
        lines.append(f"{len(items):>6}  {command:<10}  {failure}   "
                     f"[{', '.join(f'{k} {n}' for k, n in kinds.most_common(4))}]")
        lines.append(f"          $ delever {shlex.join(sample.argv)}")
        if sample.case.detail:
            lines.append(f"            ({sample.case.detail})")
        if sample.message:
            lines.append(f"            -> {sample.message}")
    for what, n in skipped.items():
        lines.append(f"skipped {n}: {what}")
    late = [o for o in outcomes if o.exit_code == 2 and o.seconds > LATE_EXIT_2_S]
    if late:
        lines.append(f"{len(late)} exits 2 after more than {LATE_EXIT_2_S} s (work before the "
                     "check; listed, not asserted):")
        for o in sorted(late, key=lambda o: -o.seconds)[:5]:
            lines.append(f"  {o.seconds:5.1f} s  $ delever {shlex.join(o.argv)}")
    per_command: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        per_command[o.case.command].append(o)
    lines.append("time per command (cases, seconds; of which exit 0):")
    for c, items in sorted(per_command.items(), key=lambda kv: -sum(o.seconds for o in kv[1])):
        ok = [o.seconds for o in items if o.exit_code == 0]
        lines.append(f"  {c:<10} {len(items):>5} {sum(o.seconds for o in items):6.1f} s; "
                     f"{len(ok):>4} {sum(ok):6.1f} s")
    lines.append("slowest cases:")
    for o in sorted(outcomes, key=lambda o: -o.seconds)[:5]:
        lines.append(f"  {o.seconds:5.1f} s  exit {o.exit_code}  $ delever {shlex.join(o.argv)}")
    return "\n".join(lines)


MINIMAL = """
name = "mini"
[mark]
price_usd = 2000
[position]
[[position.trades]]
time = 2026-01-01T00:00:00Z
side = "buy"
quantity_eth = 100
price_usd = 3000
[[accounts]]
name = "a"
collateral = { WETH = 100 }
debt = { USDC = 100000 }
"""


def test_fuzz_cases_cover_every_command_and_option() -> None:
    """A new command or option fails here until fuzz_cases.COMMANDS knows its kind."""
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    assert set(command.commands) - LIVE_COMMANDS == set(COMMANDS)
    for name, sub in command.commands.items():
        if name not in COMMANDS:
            continue
        options = {p.opts[0] for p in sub.params
                   if p.param_type_name == "option" and p.opts[0] not in ("--help", "--json")}
        assert options == set(COMMANDS[name].options), name


@pytest.mark.slow
def test_fuzz_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes, skipped, seconds = run_all(tmp_path)
    table = summary(outcomes, skipped, seconds)
    (tmp_path / "fuzz-summary.txt").write_text(table + "\n")
    with capsys.disabled():
        print("\n" + table)
    failing = [o for o in outcomes if o.failure]
    ok = len(outcomes) >= MIN_CASES and not failing and not skipped.get(
        next((k for k in skipped if "budget" in k), ""), 0)
    if not ok and os.environ.get("DELEVER_FUZZ") == "report":
        pytest.xfail(f"{len(failing)} failing cases (DELEVER_FUZZ=report); see the table")
    assert len(outcomes) >= MIN_CASES, table
    assert not failing, table
    assert not any("budget" in k for k in skipped), table
