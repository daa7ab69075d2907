"""Conventions every delever command follows.

- ``--json`` writes exactly one JSON object to stdout (nothing else on stdout).
- Exit code 0 on success, 2 on bad input (one line on stderr naming the field and the rule,
  never a traceback), 1 on an internal error.
- Files are written to a temporary file in the same folder and renamed, so a failure never
  leaves a half-written file nor destroys an earlier one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from delever._io import atomic_write_bytes, atomic_write_text
from delever._io import check_output_path as _check_writable
from delever._json import dumps_json
from delever.errors import InvalidArgument

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")


def format_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    """One line per pydantic error: the field path joined with '.', the input and the rule."""
    lines = []
    for entry in error.errors():
        loc = ".".join(str(part) for part in entry["loc"]) or "(root)"
        if prefix:
            loc = f"{prefix}.{loc}" if loc != "(root)" else prefix
        value = entry.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        lines.append(f"{loc}={shown}: {entry['msg']}")
    return lines


def fail_bad_input(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit(2) to raise."""
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map delever's and pydantic's input errors to exit code 2, anything else to exit 1.

    ``typer.Exit`` is re-raised untouched: it is a RuntimeError and must pass through
    before the catch-all (STYLE.md section 4).
    """
    try:
        yield
    except typer.Exit:
        raise
    except InvalidArgument as exc:
        raise fail_bad_input(str(exc)) from None
    except ValidationError as exc:
        lines = format_validation_error(exc)
        err_console.print("error: " + "; ".join(lines), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        raise typer.Exit(130) from None
    except Exception as exc:  # an internal error: say so briefly, exit 1
        if os.environ.get("DELEVER_DEBUG"):
            raise
        err_console.print(
            f"internal error: {type(exc).__name__}: {exc} (set DELEVER_DEBUG=1 for a traceback)",
            markup=False,
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def run_guarded(func: Callable[[], T]) -> T:
    """Call ``func`` inside :func:`user_errors`."""
    with user_errors():
        return func()


def check_output_path(option_name: str, path: Path | None) -> None:
    """Before any work: ``path`` (given to ``option_name``, e.g. ``--output``) can be written.

    A missing or read-only folder, /proc and other pseudo file systems, a name too long, a
    folder, a socket: one ``InvalidArgument`` line naming the option (exit 2), so a bad path
    fails at once instead of after the computation. ``None`` (no output asked) passes.
    """
    if path is not None:
        _check_writable(path, option_name)


def check_report_path(path: Path | None) -> None:
    """:func:`check_output_path` for ``--report``."""
    check_output_path("--report", path)


def emit_json(payload: dict[str, Any]) -> None:
    """Write exactly one JSON object (and a newline) to stdout."""
    sys.stdout.write(dumps_json(payload) + "\n")
    sys.stdout.flush()


# The live-account options of `run` and `dashboard` (see delever snapshot).
LiveAddressOpt = Annotated[list[str], typer.Option(
    "--address", help="A live account instead of the scenario (0x…; repeatable): its "
    "snapshot at --block, read over --rpc (see delever snapshot).", show_default=False)]
LiveRpcOpt = Annotated[str | None, typer.Option(
    "--rpc", help="JSON-RPC URL for --address (default: $DELEVER_RPC_URL).",
    show_default=False)]
LiveBlockOpt = Annotated[int | None, typer.Option(
    "--block", help="Block for --address (default: the latest finalized).",
    show_default=False)]


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "LiveAddressOpt",
    "LiveBlockOpt",
    "LiveRpcOpt",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
    "check_report_path",
    "console",
    "dumps_json",
    "emit_json",
    "err_console",
    "fail_bad_input",
    "format_validation_error",
    "run_guarded",
    "user_errors",
]
