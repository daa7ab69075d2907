"""Seeded bad inputs for every ``delever`` command (the cases of ``test_fuzz.py``).

Pure generation, no I/O: each case is an argv (with ``{tmp}`` standing for the test's
temporary folder), the tokens one of which an exit-2 message must contain (the option or
the field it names), and, for scenario cases, the text of the file to write first.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SEED = 20260207

# --- what each command takes -------------------------------------------------------------
# Kinds: float, int, date, out (a file written), in (a file read), flag, workers, scheduler,
# float0 (a float where 0 is valid), name (a case-insensitive name: only its missing value and
# misspellings), enum:<a,b,c> (enum*: repeatable), net (a live source: only its missing value and
# misspellings are fuzzed, as any value would reach the network). "@model" ties an option to
# the --model it needs.

ScenarioArg = "scenario"  # positional: a built-in name or a TOML file
PROTOCOLS = "enum:aave-v3.6,aave-v3.0,aave-v3.3,morpho-blue"  # --protocol of position/liquidate

IMPACT_MODEL = {
    "--sigma": "ac", "--eta": "ac", "--gamma": "ac", "--epsilon": "ac", "--risk-aversion": "ac",
    "--impact-usd-per-eth": "ow", "--half-life-days": "ow",
    "--decay-time-days": "propagator", "--decay-exponent": "propagator",
    "--book-file": "book", "--book-time": "book", "--pool-file": "univ3",
}
PATHS_MODEL = {
    "--jump-intensity": "merton", "--jump-mean": "merton", "--jump-std": "merton",
    "--block-days": "bootstrap", "--bootstrap-method": "bootstrap",
    "--replay-start": "replay", "--stride-days": "replay",
}
STRESS_FLOATS = [
    "--price-usd", "--whale-collateral-eth", "--whale-debt-usd", "--whale-lt",
    "--whale-sell-eth-per-step", "--liquidator-immediate", "--follower-kappa",
    "--panic-drawdown", "--panic-sell-eth", "--cautious-share", "--impact-y", "--sigma-daily",
    "--adv-eth",
]


@dataclass(frozen=True)
class Command:
    """One command: its valid tiny base invocation and the kind of each option."""

    name: str
    base: tuple[str, ...]  # a valid invocation, small enough to finish in about a second
    options: dict[str, str]
    positional: str | None = None  # "scenario" or "file" (validate's required argument)
    report_ext: str = "html"


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in [
        Command("run", ("--paths", "2", "--no-report"),
                {"--paths": "int", "--seed": "int", "--report": "out", "--no-report": "flag",
                 "--address": "net", "--rpc": "net", "--block": "net"},
                positional=ScenarioArg),
        Command("simulate", ("--paths", "2", "--steps", "3"),
                {"--strategy":
                 "enum*:hold,sell-all,twap,almgren-chriss,hf-ladder,stop-loss,rebound",
                 "--paths": "int", "--steps": "int", "--step-hours": "float", "--seed": "int"},
                positional=ScenarioArg),
        Command("replay", (), {}, positional=ScenarioArg),
        Command("cascade", ("--price-usd", "2000", "--shock-pct", "10"),
                {"--price-usd": "float", "--shock-pct": "float", "--book": "in",
                 "--engine": "enum:exact,ladder", "--impact-y": "float",
                 "--sigma-daily": "float", "--adv-eth": "float"}),
        Command("stress", ("--paths", "2", "--steps", "3"),
                {"--paths": "int", "--steps": "int", "--engine": "enum:exact,ladder",
                 "--seed": "int", "--book": "in", "--liquidator-later-steps": "int",
                 "--follower-lag": "int", **dict.fromkeys(STRESS_FLOATS, "float")}),
        Command("rates", (), {"--day": "date", "--withdrawn-eth": "float",
                              "--total-supplied-eth": "float"}),
        Command("scenarios", (), {}),
        Command("validate", (), {}, positional="file"),
        Command("position", ("--collateral-eth", "100", "--debt-usd", "100000",
                             "--price-usd", "2000"),
                {"--collateral-eth": "float", "--debt-usd": "float", "--price-usd": "float",
                 "--lt": "float", "--ltv": "float", "--bonus": "float", "--exact": "flag",
                 "--protocol": PROTOCOLS, "--lltv": "float", "--address": "net",
                 "--rpc": "net", "--block": "net", "--market": "net", "--market-id": "net",
                 "--asset": "name", "--rate": "float", "--debt-eth": "float", "--emode": "flag"}),
        Command("liquidate", ("--collateral-eth", "100", "--debt-usd", "170000", "--price-usd",
                              "2000", "--debt-to-cover-usd", "50000"),
                {"--collateral-eth": "float", "--debt-usd": "float", "--price-usd": "float",
                 "--debt-to-cover-usd": "float", "--lt": "float", "--bonus": "float",
                 "--protocol-fee": "float", "--exact": "flag",
                 "--protocol": PROTOCOLS, "--lltv": "float", "--seize-eth": "float",
                 "--asset": "name", "--rate": "float", "--debt-eth": "float",
                 "--emode": "flag"}),
        Command("impact", ("--qty-eth", "1000"),
                {"--qty-eth": "float",
                 "--model": "enum:sqrt,ac,ow,propagator,book,univ3,router",
                 "--horizon-steps": "int", "--step-days": "float", "--price-usd": "float",
                 "--sigma-daily": "float", "--adv-eth": "float", "--impact-y": "float",
                 "--sigma": "float", "--eta": "float", "--gamma": "float", "--epsilon": "float",
                 "--risk-aversion": "float", "--impact-usd-per-eth": "float",
                 "--half-life-days": "float", "--decay-time-days": "float",
                 "--decay-exponent": "float", "--book-file": "in", "--book-time": "date",
                 "--pool-file": "in", "--exchanges": "net", "--symbol": "net",
                 "--depth": "net"}),
        Command("calibrate", (), {"--cutoff": "date", "--window-days": "int", "--output": "out",
                                  "--exchange": "net", "--symbol": "net", "--archive": "in",
                                  "--depeg": "in"},
                report_ext="toml"),
        Command("paths", ("--paths", "2", "--steps", "3"),
                {"--model": "enum:gbm,merton,garch,bootstrap,replay", "--paths": "int",
                 "--steps": "int", "--seed": "int", "--output": "out", "--s0": "float",
                 "--cutoff": "date", "--window-days": "int", "--sigma-daily": "float",
                 "--drift-daily": "float", "--step-days": "float", "--antithetic": "flag",
                 "--jump-intensity": "float", "--jump-mean": "float", "--jump-std": "float",
                 "--block-days": "float", "--bootstrap-method": "enum:stationary,moving",
                 "--replay-start": "date", "--stride-days": "int"},
                report_ext="csv"),
        Command("plan", ("--paths", "2", "--workers", "0", "--horizon-days", "0.25",
                         "--maxfev", "1"),
                {"--paths": "int", "--horizon-days": "float", "--alpha": "float",
                 "--risk-aversion": "float", "--cvar-level": "float",
                 "--family": "enum*:almgren-chriss,hf-ladder,piecewise", "--pieces": "int",
                 "--maxfev": "int", "--no-book": "flag", "--jumps": "flag",
                 "--jump-intensity": "float", "--jump-mean": "float", "--jump-std": "float",
                 "--seed": "int", "--workers": "workers", "--scheduler": "scheduler",
                 "--report": "out"},
                positional=ScenarioArg),
        Command("loop", ("--capital-eth", "10", "--ltv", "0.93", "--loops", "10",
                         "--price-usd", "2500", "--rate", "1.225"),
                {"--capital-eth": "float", "--ltv": "float", "--loops": "int",
                 "--price-usd": "float", "--rate": "float", "--asset": "name",
                 "--staking-yield": "float0", "--borrow-rate": "float0", "--toml": "out",
                 "--emode-category": "name", "--weth-utilization": "float0"},
                report_ext="toml"),
        Command("advise", ("--paths", "2", "--workers", "0", "--horizon-days", "0.25"),
                {"--paths": "int", "--seed": "int", "--alpha": "float", "--max-cost": "float",
                 "--horizon-days": "float", "--sell-eth-per-day": "float",
                 "--workers": "workers", "--scheduler": "scheduler", "--report": "out"},
                positional=ScenarioArg),
    ]
}

# --- bad values ---------------------------------------------------------------------------
# No mid-sized huge counts (1e6..1e12 paths would be real work, not a bad input); the huge
# ones are far past any allocation, so they fail fast even when nothing checks them.
BAD_FLOATS = ["-1", "0", "-0", "nan", "-nan", "NaN", "inf", "-inf", "+inf", "Infinity", "1e308",
              "1e309", "-1e308", "5e-324", "1e-300", "abc", "", " ", "0x10", "1,5",
              "99999999999999999999999", "--json"]
BAD_INTS = ["-1", "0", "-0", "abc", "", " ", "1.5", "2e3", "nan", "inf", "1e308", "0x10",
            "99999999999999999999999", "9223372036854775808", "-9223372036854775809",
            "--json"]
BAD_WORKERS = ["-1", "abc", "", "nan", "1.5", "257", "99999999999999999999", "1e308"]
BAD_DATES = ["2026-13-01", "2026-02-30", "2026-00-10", "abc", "", "2026/02/07", "07-02-2026",
             "0000-01-01", "0001-01-01", "9999-12-31", "1900-01-01", "2100-01-01",
             "2026-02-07T25:00", "nan", "1e308", "-1", "2026-2-7", " 2026-02-07", "--json"]
BAD_SCENARIOS = ["nope", "", " ", "TREND-2026", "trend-2026 ", "../trend-2026", "-",
                 "{tmp}/nope.toml", "{tmp}/in", "{tmp}/in/empty.csv", "{tmp}/in/nul.csv",
                 "{tmp}/in/binary.bin", "{tmp}/in/garbage.csv", "/proc/self/status"]
BAD_INPUT_FILES = ["{tmp}/nope.csv", "{tmp}/in", "", "{tmp}/in/empty.csv",
                   "{tmp}/in/garbage.csv", "{tmp}/in/nul.csv", "{tmp}/in/header-only.csv",
                   "{tmp}/in/binary.bin", "{tmp}/in/bad.json", "{tmp}/in/array.json",
                   "/proc/self/status"]
# Output paths: only under {tmp} or /proc (nothing can be created there, even as root).
BAD_OUTPUTS = ["{tmp}/out", "{tmp}/out/", "{tmp}/out/no/such/dir/x.{ext}",
               "/proc/delever-fuzz.{ext}", "/proc/delever-fuzz/x.{ext}", "",
               "{tmp}/out/afile/x.{ext}", "{tmp}/out/x.wrongext", "{tmp}/out/keep.{ext}"]

# Fixture files the runner writes under {tmp} before the cases (read-only inputs, and the
# output folder whose files must survive any failed command).
INPUT_FIXTURES: dict[str, bytes] = {
    "in/empty.csv": b"",
    "in/garbage.csv": b"this,is\nnot,a book\n\xff\xfe,1\n",
    "in/nul.csv": b"side,price_usd,size_eth\n\x00\x00\x00\n",
    "in/header-only.csv": b"side,price_usd,size_eth\n",
    "in/binary.bin": bytes(range(256)),
    "in/bad.json": b"{not json",
    "in/array.json": b"[]",
}
OUTPUT_FIXTURES: dict[str, bytes] = {
    "out/keep.html": b"KEEP",
    "out/keep.toml": b"KEEP",
    "out/keep.csv": b"KEEP",
    "out/afile": b"a file, not a folder",
}


@dataclass
class Case:
    """One invocation and what its error message must name."""

    command: str
    kind: str  # what was broken, e.g. "bad-float", "toml-leaf"
    argv: list[str]
    tokens: tuple[str, ...]  # an exit-2 line must contain one of these (case-insensitive)
    detail: str = ""  # e.g. the mutated field, for the failure table
    files: dict[str, bytes] = field(default_factory=dict)  # {tmp}-relative files to write
    pair: int | None = None  # scenario cases: the id of the mutated file (validate and run)
    json: bool = False  # --json given (appended last, so no option takes it as its value)


# Names a message may use for an option besides its own words (the model's field name).
ALIASES = {"--lt": ("liquidation_threshold",), "--whale-lt": ("liquidation_threshold",),
           "--family": ("families",), "--strategy": ("strateg",)}


def option_tokens(option: str) -> tuple[str, ...]:
    """The ways a message may name ``--foo-bar``: the flag, foo_bar, and its words."""
    bare = option.lstrip("-")
    words = tuple(w for w in bare.split("-") if len(w) > 2)
    return (option, bare, bare.replace("-", "_"), *words, *ALIASES.get(option, ()))


def _replace(argv: list[str], option: str, value: str) -> list[str]:
    if option in argv:
        out = list(argv)
        out[out.index(option) + 1] = value
        return out
    return [*argv, option, value]


def _context(cmd: Command, option: str) -> list[str]:
    """The base argv, plus what makes ``option`` matter (its --model, --jumps)."""
    argv = list(cmd.base)
    if cmd.name == "impact" and option in IMPACT_MODEL:
        argv += ["--model", IMPACT_MODEL[option]]
    if cmd.name == "paths" and option in PATHS_MODEL:
        argv += ["--model", PATHS_MODEL[option]]
    if cmd.name == "plan" and option.startswith("--jump-"):
        argv += ["--jumps"]
    if option == "--report" and "--no-report" in argv:
        argv.remove("--no-report")
    return argv


def _bad_values(cmd: Command, option: str, kind: str) -> list[str]:
    if kind == "float":
        return BAD_FLOATS
    if kind == "float0":  # 0 is a valid value
        return [v for v in BAD_FLOATS if v not in ("0", "-0", "5e-324", "1e-300")]
    if kind == "int":
        return BAD_INTS
    if kind == "date":
        return BAD_DATES
    if kind == "workers":
        return BAD_WORKERS
    if kind == "in":
        return BAD_INPUT_FILES
    if kind == "out":
        return [v.replace("{ext}", cmd.report_ext) for v in BAD_OUTPUTS]
    if kind.startswith("enum"):
        good = kind.split(":", 1)[1].split(",")
        return ["foo", "", good[0].upper(), good[0] + " ", " " + good[0], "nan", "1",
                f"{good[0]},foo", ",", good[0] + "_", good[-1][:-1]]
    return []


def _misspellings(cmd: Command, option: str) -> list[str]:
    bare = option[2:]
    out = {option[1:], option.upper(), "--" + bare.replace("-", "_"), option + "s",
           "--" + bare[:-1], "--" + bare[1:]}
    if len(bare) > 2:
        out.add("--" + bare[1] + bare[0] + bare[2:])
    return sorted(out - set(cmd.options) - {"--json", "--help"})


def flag_cases(cmd: Command) -> Iterator[Case]:
    """One option broken at a time, plus unknown options, missing values and extra args."""
    name = cmd.name
    for option, kind in cmd.options.items():
        context = _context(cmd, option)
        tokens = option_tokens(option)
        if kind == "scheduler":
            # With --workers 0 still given: a conflict, caught before connecting anywhere.
            for value in ["tcp://127.0.0.1:1", "", "nonsense", "tcp://"]:
                yield Case(name, "bad-scheduler", [name, *context, option, value],
                           (*tokens, "workers"), f"{option}={value!r}")
            continue
        for value in _bad_values(cmd, option, kind):
            # A message about a file's content may name the file instead of the option.
            named = (value,) if kind in ("in", "out") and value.strip() else ()
            yield Case(name, f"bad-{kind.split(':')[0].rstrip('*')}",
                       [name, *_replace(context, option, value)], (*tokens, *named),
                       f"{option}={value!r}")
        if kind != "flag":
            yield Case(name, "missing-value", [name, *context, option], tokens,
                       f"{option} at the end", json=True)  # json=True: append nothing
        for typo in _misspellings(cmd, option):
            yield Case(name, "unknown-option", [name, *context, typo, "1"],
                       (typo, typo.lstrip("-")[:2], "no such option"), typo)
    for generic in ["--foo", "-x", "--JSON", "--json=1", "--help-me", "---json"]:
        yield Case(name, "unknown-option", [name, *cmd.base, generic],
                   (generic, generic.lstrip("-")[:2], "no such option"), generic)
    yield Case(name, "extra-arg", [name, *cmd.base, "extra", "args"], ("extra", "args"),
               "two extra arguments")
    if cmd.positional is not None:
        for value in BAD_SCENARIOS:
            tokens = ("scenario", "file", "toml", value.strip() or "scenario")
            yield Case(name, "bad-scenario", [name, value, *cmd.base], tokens, repr(value))
        if cmd.positional == "file":
            yield Case(name, "missing-arg", [name], ("file",), "no file")
    for option in required_options(cmd):
        argv = list(cmd.base)
        i = argv.index(option)
        del argv[i:i + 2]
        yield Case(name, "missing-required", [name, *argv], option_tokens(option), option)


def required_options(cmd: Command) -> list[str]:
    """The options of the base invocation that the command requires."""
    required = {"cascade": ["--price-usd", "--shock-pct"], "impact": ["--qty-eth"],
                "position": ["--collateral-eth", "--debt-usd", "--price-usd"],
                "liquidate": ["--collateral-eth", "--debt-usd", "--price-usd",
                              "--debt-to-cover-usd"],
                "loop": ["--capital-eth", "--ltv", "--loops", "--price-usd", "--rate"]}
    return required.get(cmd.name, [])


def combined_cases(cmd: Command, rng: random.Random, n: int) -> Iterator[Case]:
    """Two or three options broken at once (values drawn from the same pools)."""
    pool = [(o, k) for o, k in cmd.options.items()
            if k not in ("flag", "scheduler", "out") and _bad_values(cmd, o, k)]
    if len(pool) < 2:
        return
    for _ in range(n):
        picks = rng.sample(pool, min(len(pool), rng.choice([2, 3])))
        argv = list(cmd.base)
        tokens: list[str] = []
        detail = []
        for option, kind in picks:
            for extra in _context(cmd, option)[len(cmd.base):]:
                if extra not in argv:
                    argv.append(extra)
            value = rng.choice(_bad_values(cmd, option, kind))
            argv = _replace(argv, option, value)
            tokens += option_tokens(option)
            if kind == "in" and value.strip():
                tokens.append(value)  # a message about the file's content names the file
            detail.append(f"{option}={value!r}")
        if "--model" in argv and argv.count("--model") > 1:
            continue  # two options of different models: not one bad input
        yield Case(cmd.name, "combined", [cmd.name, *argv], tuple(tokens), " ".join(detail))


# --- scenario files -----------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_dumps(doc: dict[str, Any]) -> str:
    """A small TOML writer: every top-level key on one line, tables inline."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in doc.items())


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


BAD_TOML_VALUES: list[Any] = [
    -1, 0, float("nan"), float("inf"), float("-inf"), 1e308, 5e-324, -1e308, "abc", "", True,
    [], {}, 2**63 - 1, -(2**63), dt.datetime(1, 1, 1, tzinfo=dt.UTC), "1e308", "\x00",
]

Path = tuple[str | int, ...]


def _nodes(node: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from _nodes(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from _nodes(v, (*path, i))


def _get_parent(doc: Any, path: Path) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _deepcopy(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _deepcopy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_deepcopy(v) for v in doc]
    return doc


def path_tokens(path: Path) -> tuple[str, ...]:
    """A message about ``accounts.0.collateral.WETH.value`` may name any named key on it."""
    names = [p for p in path if isinstance(p, str)]
    if len(names) > 1 and names[-1] == "value":
        names = names[:-1]  # the {value, source, estimate} table names the field
    singular = [n[:-1] for n in names if n.endswith("s") and len(n) > 4]  # "account names"
    return (*names, *singular)


def _show(path: Path) -> str:
    return ".".join(str(p) for p in path)


def scenario_mutations(text: str, label: str, rng: random.Random) -> Iterator[
        tuple[str, str, bytes, tuple[str, ...]]]:
    """(kind, detail, file bytes, tokens) for one change at a time to a valid scenario."""
    doc = tomllib.loads(text)
    for path in list(_nodes(doc)):
        for bad in BAD_TOML_VALUES:
            mutated = _deepcopy(doc)
            _get_parent(mutated, path)[path[-1]] = bad
            yield ("toml-value", f"{label}:{_show(path)}={bad!r}",
                   toml_dumps(mutated).encode(), path_tokens(path))
        mutated = _deepcopy(doc)
        del _get_parent(mutated, path)[path[-1]]
        yield ("toml-delete", f"{label}: delete {_show(path)}", toml_dumps(mutated).encode(),
               path_tokens(path) or (str(path[-1]),))
        target = _get_parent(doc, (*path, "x"))
        if isinstance(target, dict):
            mutated = _deepcopy(doc)
            _get_parent(mutated, (*path, "x"))["colour"] = "red"
            yield ("toml-unknown-key", f"{label}:{_show(path)}.colour",
                   toml_dumps(mutated).encode(), ("colour",))
        if isinstance(target, list) and target and isinstance(target[0], dict):
            mutated = _deepcopy(doc)
            _get_parent(mutated, path)[path[-1]] = [*target, target[-1]]
            yield ("toml-duplicate-item", f"{label}: repeat last of {_show(path)}",
                   toml_dumps(mutated).encode(), path_tokens(path))
            mutated = _deepcopy(doc)
            _get_parent(mutated, path)[path[-1]] = [*target, {}]
            yield ("toml-empty-item", f"{label}: empty item in {_show(path)}",
                   toml_dumps(mutated).encode(), path_tokens(path))
    mutated = {k: v for k, v in doc.items()}
    mutated["colour"] = "red"
    yield ("toml-unknown-key", f"{label}: top-level colour", toml_dumps(mutated).encode(),
           ("colour",))
    # Text-level damage to the original file: duplicate keys, broken syntax, NUL bytes.
    syntax_tokens = ("toml", "line", "scenario", "utf")
    lines = text.splitlines(keepends=True)
    key_lines = [i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_]+\s*=", line)]
    for i in rng.sample(key_lines, min(len(key_lines), 20)):
        key = lines[i].split("=")[0].strip()
        body = "".join([*lines[: i + 1], lines[i], *lines[i + 1:]])
        yield ("toml-duplicate-key", f"{label}: line {i + 1} twice ({key})", body.encode(),
               (*syntax_tokens, key))
    data = text.encode()
    for _ in range(30):
        at = rng.randrange(len(data))
        yield ("toml-truncated", f"{label}: cut at byte {at}", data[:at], syntax_tokens)
    for _ in range(40):
        at = rng.randrange(len(data))
        junk = rng.choice([b"[", b"]", b"{", b"}", b"=", b'"', b"'", b"\n=", b"[[", b"\\",
                           b"\n[mark]\n", b"\xff", b"\xc3"])
        yield ("toml-junk", f"{label}: {junk!r} at byte {at}", data[:at] + junk + data[at:],
               syntax_tokens)
    for _ in range(20):
        at = rng.randrange(len(data))
        yield ("toml-nul", f"{label}: NUL at byte {at}", data[:at] + b"\x00" + data[at:],
               (*syntax_tokens, "nul", "null", "character", "byte"))
    yield ("toml-nul", f"{label}: only NULs", b"\x00" * 64, (*syntax_tokens, "nul", "byte"))
    yield ("toml-empty", f"{label}: empty file", b"", ("name", "mark", "toml", "scenario"))


def scenario_cases(sources: dict[str, str], rng: random.Random) -> Iterator[Case]:
    """Each mutated file through ``validate`` and ``run --paths 2 --no-report``."""
    n = 0
    for label, text in sources.items():
        for kind, detail, body, tokens in scenario_mutations(text, label, rng):
            n += 1
            rel = f"scen/{n:05d}.toml"
            files = {rel: body}
            arg = "{tmp}/" + rel
            yield Case("validate", kind, ["validate", arg], tokens, detail, files, pair=n)
            yield Case("run", kind, ["run", arg, "--paths", "2", "--no-report"], tokens, detail,
                       files, pair=n)


def all_cases(sources: dict[str, str], seed: int = SEED, combined_per_command: int = 150,
              ) -> list[Case]:
    """Every case, ``--json`` on three in four, in a seeded order."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for cmd in COMMANDS.values():
        cases += flag_cases(cmd)
        cases += combined_cases(cmd, rng, combined_per_command)
    cases += scenario_cases(sources, rng)
    for case in cases:
        if case.json:
            case.json = False
        elif rng.random() < 0.75 and "--json" not in case.argv:
            case.argv.append("--json")
            case.json = True
    # Interleave the commands (a scenario file's validate case stays before its run case).
    pair_key = {c.pair: rng.random() for c in cases if c.pair is not None}
    keys = [(rng.random() if c.pair is None else pair_key[c.pair], i)
            for i, c in enumerate(cases)]
    return [cases[i] for _, i in sorted(keys)]
