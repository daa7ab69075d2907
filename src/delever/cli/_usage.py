"""Option-parsing errors as one line: ``error: --collateral-eth='abc' must be a number``.

Click raises a ``UsageError`` for a bad option value, a missing or unknown option, an extra
argument or an unknown command; typer (with rich installed) would print it as a six-line box.
The group below catches those errors where click raises them (parsing the group's own options
in ``make_context``, resolving and parsing a subcommand in ``invoke``), prints one line on
stderr naming the option and the rule, and exits 2, as every other bad input does.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import typer
from typer._click import core as click_core  # typer >= 0.24 ships its own copy of click
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from delever.cli._common import EXIT_BAD_INPUT, err_console

_ARGS_KEY = "delever.cli.args"


def _raw_value(opts: Sequence[str], args: Sequence[str]) -> str | None:
    """The text given for an option on the command line (last occurrence), if any."""
    value: str | None = None
    for k, arg in enumerate(args):
        for opt in opts:
            if arg == opt and k + 1 < len(args):
                value = args[k + 1]
            elif arg.startswith(opt + "="):
                value = arg[len(opt) + 1 :]
    return value


def _is_option(param: click_core.Parameter) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _param_name(param: click_core.Parameter) -> str:
    opts = list(getattr(param, "opts", []) or [])
    if _is_option(param) and opts:
        longs = [str(o) for o in opts if str(o).startswith("--")]
        return (longs or [str(o) for o in opts])[0]
    return str(param.name or "argument").upper()


def _rule(param: click_core.Parameter, message: str) -> str:
    """The rule a bad value breaks, in delever's words where the type says it plainly."""
    descriptor = getattr(param, "type_descriptor", None)
    kind = getattr(descriptor, "annotation", None)
    if kind is float:
        return "must be a number"
    if kind is int:
        return "must be a whole number"
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if getattr(descriptor, "is_choice", False) and choices:
        return "must be one of " + ", ".join(str(c) for c in choices)
    if kind is bool:
        return "must be true or false"
    return "is not valid: " + message.rstrip(".")


def one_line(error: click_errors.UsageError, args: Sequence[str]) -> str:
    """The one-line text (without ``error:``) of a click usage error."""
    ctx = error.ctx
    where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
    if isinstance(error, click_errors.NoSuchOption):
        text = f"no such option {error.option_name}"
        if error.possibilities:
            text += "; did you mean " + " or ".join(sorted(error.possibilities)) + "?"
        return text + where
    if isinstance(error, click_errors.MissingParameter) and error.param is not None:
        kind = "option" if _is_option(error.param) else "argument"
        return f"missing {kind} {_param_name(error.param)}" + where
    if isinstance(error, click_errors.BadParameter) and error.param is not None:
        name = _param_name(error.param)
        raw = _raw_value(error.param.opts, args) if _is_option(error.param) else None
        shown = f"{name}={raw!r}" if raw is not None else name
        return f"{shown} {_rule(error.param, error.message)}" + where
    message = error.format_message().rstrip(".")
    if message.startswith("Got unexpected extra argument"):
        extra = message.rpartition("(")[2].rstrip(")")
        return f"unexpected extra argument(s) {extra!r}{_after_option(extra, args)}" + where
    return message[:1].lower() + message[1:] + where


def _after_option(extra: str, args: Sequence[str]) -> str:
    """`` (after --model)``: the option before the stray word, the usual culprit (a value
    left empty, or ``-output`` read as ``-o utput``)."""
    words = extra.split()
    if not words or words[0] not in args:
        return ""
    given = list(args)
    before = given[:len(given) - 1 - given[::-1].index(words[0])]  # its last occurrence
    option = next((a for a in reversed(before) if a.startswith("-") and len(a) > 1), None)
    return f" (after {option})" if option is not None else ""


class OneLineErrorGroup(TyperGroup):
    """A typer group whose usage errors print one line on stderr and exit 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click_core.Context | None = None,
        **extra: Any,
    ) -> click_core.Context:
        given = list(args)  # click consumes ``args``; keep the text for the message
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click_errors.UsageError as error:
            raise _exit(error, given) from None
        ctx.meta[_ARGS_KEY] = given
        return ctx

    def invoke(self, ctx: click_core.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as error:
            raise _exit(error, ctx.meta.get(_ARGS_KEY, [])) from None

    def resolve_command(
        self, ctx: click_core.Context, args: list[str]
    ) -> tuple[str | None, click_core.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3)
            hint = "; did you mean " + " or ".join(close) + "?" if close else ""
            raise click_errors.UsageError(f"no such command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)


def _exit(error: click_errors.UsageError, args: Sequence[str]) -> Exception:
    if isinstance(error, click_errors.NoArgsIsHelpError):
        return error  # `delever` alone prints the help, as typer does
    err_console.print(f"error: {one_line(error, args)}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


__all__ = ["OneLineErrorGroup", "one_line"]
