"""Print rich tables that never cut a number, at any terminal width (80 columns included).

Rich fits a table to the terminal by shrinking columns, and a shrunk cell is cut with "…":
"807,146.…". :func:`print_table` stops that: each column gets a minimum width of its longest
word (a number is one word), headers wrap at spaces, and a table that still does not fit is
split into several tables side by side in the same order, each repeating the key columns
(the row labels).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from delever.cli._common import console as default_console


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _natural_widths(table: Table) -> list[int]:
    widths = []
    for column in table.columns:
        lines = [_longest_line(_plain(column.header))] if table.show_header else []
        lines += [_longest_line(_plain(cell)) for cell in column.cells]
        widths.append(max(lines, default=1) or 1)
    return widths


def _fixed_widths(table: Table, indices: list[int], width: int) -> list[int] | None:
    """Column widths for a part that does not fit at its natural widths: each column its
    longest word, the room left given to the columns that need least to show whole lines.
    None when the part fits as it is (rich then sizes it)."""
    natural = _natural_widths(table)
    minimum = _min_widths(table)
    nat = [natural[k] for k in indices]
    if _table_width(table, nat) <= width:
        return None
    out = [minimum[k] for k in indices]
    room = width - _table_width(table, out)
    for i in sorted(range(len(out)), key=lambda i: nat[i] - out[i]):
        extra = min(max(room, 0), nat[i] - out[i])
        out[i] += extra
        room -= extra
    return out


def _min_widths(table: Table) -> list[int]:
    widths = []
    for column in table.columns:
        words = [_longest_word(_plain(column.header))] if table.show_header else []
        words += [_longest_word(_plain(cell)) for cell in column.cells]
        widths.append(max(words, default=1) or 1)
    return widths


def _table_width(table: Table, widths: list[int]) -> int:
    pad = table.padding[1] + table.padding[3]
    if table.box is None:
        return sum(w + pad for w in widths)
    edges = 2 if table.show_edge else 0
    return sum(w + pad for w in widths) + max(len(widths) - 1, 0) + edges


def _copy(
    table: Table, indices: list[int], widths: list[int], title: str | None, *, caption: bool,
    width: int,
) -> Table:
    out = Table(
        title=title, caption=table.caption if caption else None, min_width=table.min_width,
        box=table.box, show_header=table.show_header,
        show_edge=table.show_edge, show_lines=table.show_lines, padding=table.padding,
        title_justify=table.title_justify, caption_justify=table.caption_justify,
        header_style=table.header_style, expand=False,
    )
    # rich shrinks a table wider than the terminal in ways that can still crop it, so a part
    # that does not fit at its natural widths gets fixed widths that do
    fixed = _fixed_widths(table, indices, width)
    for n, k in enumerate(indices):
        column = table.columns[k]
        out.add_column(
            column.header, justify=column.justify, style=column.style,
            header_style=column.header_style, min_width=widths[k], overflow="fold",
            width=None if fixed is None else fixed[n],
        )
    for row in zip(*(list(table.columns[k].cells) for k in indices), strict=True):
        out.add_row(*row)
    return out


def fit_tables(table: Table, width: int, key_columns: int = 1) -> list[Table]:
    """``table`` as one or more tables that fit ``width`` columns without cutting a cell."""
    widths = _min_widths(table)
    n = len(widths)
    title = str(table.title) if table.title is not None else None
    if _table_width(table, widths) <= width or n <= key_columns + 1:
        return [_copy(table, list(range(n)), widths, title, caption=True, width=width)]
    keys = list(range(min(key_columns, n)))
    groups: list[list[int]] = []
    current = list(keys)
    for k in range(len(keys), n):
        trial = [*current, k]
        if len(current) > len(keys) and _table_width(table, [widths[i] for i in trial]) > width:
            groups.append(current)
            current = [*keys, k]
        else:
            current = trial
    groups.append(current)
    parts = []
    for part, indices in enumerate(groups, start=1):
        # the full title once; the later parts say only which part they are
        label = f"{title or ''} (1/{len(groups)})" if part == 1 else f"({part}/{len(groups)})"
        parts.append(_copy(table, indices, widths, label.strip(), caption=False, width=width))
    return parts


def print_table(table: Table, *, key_columns: int = 1, console: Console | None = None) -> None:
    """Print ``table`` without cutting any cell (see the module docstring)."""
    out = console if console is not None else default_console
    parts = fit_tables(table, out.width, key_columns)
    for part in parts:
        out.print(part)
    if len(parts) > 1 and table.caption is not None:
        out.print(table.caption)  # the legend once, at the full width


__all__ = ["fit_tables", "print_table"]
