"""File output that never leaves a half-written file and never clobbers what is not a file.

- A regular file (new or existing) is written to a temporary file in the same folder and
  renamed over the target, so a failure leaves the earlier file untouched; an existing
  file keeps its permission bits (and, for root, its owner).
- A symbolic link is followed: the bytes go to its target and the link stays a link.
- A character or block device or a FIFO (``/dev/null``, ``/dev/stdout`` on a terminal, a
  named pipe) is opened and written in place: a rename would replace it with a file.
- Anything else (a folder, a socket, a link loop) is refused.

Temporary files are named ``.<name>.<8 random characters>.tmp``; those of a run killed
mid-write are removed by the next write to the same target once older than an hour.
:func:`check_output_path` runs the same checks and a real probe (create and remove a temp
file in the folder) before any work, so a bad path fails at once, not after the run.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from delever.errors import InvalidArgument

STALE_TEMP_AGE_S = 3600.0
_RANDOM_CHARS = 8  # tempfile's random part: 8 of [a-z0-9_]
_TEMP_EXTRA = len("..") + _RANDOM_CHARS + len(".tmp")
_DEFAULT_NAME_MAX = 255


@dataclass(frozen=True)
class _Target:
    """Where the bytes go once links are followed, and how."""

    path: Path  # the file written (a link's target; the path itself otherwise)
    in_place: bool  # a device or FIFO: open and write, never rename over it
    mode: int | None  # permission bits of an existing regular file, kept on replace
    owner: tuple[int, int] | None  # (uid, gid) of an existing regular file


def _shown(option: str, path: Path | str) -> str:
    return f"{option}={str(path)!r}"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _resolve(path: Path, option: str) -> _Target:
    """Follow links and classify what is at ``path``; refuse what cannot take a file."""
    text = str(path)
    if not text or text == ".":
        raise InvalidArgument(f"{_shown(option, text)} is empty or a folder; give a file name.")
    try:
        info = os.stat(path)  # follows links
    except FileNotFoundError:
        info = None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidArgument(
                f"{_shown(option, path)} is a loop of symbolic links; give a file name."
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise InvalidArgument(
                f"{_shown(option, path)}: the name is too long; give a shorter path."
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise InvalidArgument(
                f"{_shown(option, path)}: a part of the path is a file, not a folder."
            ) from None
        raise InvalidArgument(
            f"{_shown(option, path)} cannot be examined ({_reason(exc)}); give another path."
        ) from None
    if info is None:
        # Nothing there, or a dangling link: write at the link's target (the link stays).
        real = Path(os.path.realpath(path)) if os.path.islink(path) else path
        return _Target(real, in_place=False, mode=None, owner=None)
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise InvalidArgument(f"{_shown(option, path)} is a folder; give a file name.")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        return _Target(path, in_place=True, mode=None, owner=None)
    if not stat.S_ISREG(mode):
        raise InvalidArgument(
            f"{_shown(option, path)} is neither a file, a device nor a pipe (a socket?); "
            "give a file name."
        )
    real = Path(os.path.realpath(path))
    if not os.access(real, os.W_OK):
        raise InvalidArgument(
            f"{_shown(option, path)} is a read-only file; make it writable or give another name."
        )
    return _Target(real, in_place=False, mode=stat.S_IMODE(mode),
                   owner=(info.st_uid, info.st_gid))  # fmt: skip


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return _DEFAULT_NAME_MAX


def _temp_prefix(name: str, name_max: int) -> str:
    """``.<name>.`` cut so that the temp file's name fits in ``name_max`` bytes."""
    limit = max(1, name_max - _TEMP_EXTRA)
    while len(os.fsencode(name)) > limit:
        name = name[:-1]
    return "." + name + "."


def _check_folder(target: Path, option: str, shown_path: Path) -> str:
    """The folder exists and takes new files; returns the temp-file prefix for ``target``."""
    folder = _folder(target)
    shown = _shown(option, shown_path)
    if not folder.exists():
        raise InvalidArgument(
            f"{shown}: folder {str(folder)!r} does not exist; create it or give another path."
        )
    if not folder.is_dir():
        raise InvalidArgument(f"{shown}: {str(folder)!r} is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidArgument(
            f"{shown}: folder {str(folder)!r} is not writable; give a path in a writable folder."
        )
    name_max = _name_max(folder)
    if len(os.fsencode(target.name)) > name_max:
        raise InvalidArgument(
            f"{shown}: the file name is longer than {name_max} bytes; give a shorter name."
        )
    return _temp_prefix(target.name, name_max)


def _probe(folder: Path, prefix: str, option: str, shown_path: Path) -> None:
    """Create and remove a temp file: catches read-only mounts, /proc and /sys, even as root."""
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InvalidArgument(
            f"{_shown(option, shown_path)}: cannot create files in {str(folder)!r} "
            f"({_reason(exc)}); give a path in a writable folder."
        ) from None
    os.close(fd)
    os.unlink(name)


def check_output_path(path: Path | str, option: str = "output") -> Path:
    """Check, before any work, that ``path`` can be written; return the path written.

    Raises
    ------
    InvalidArgument
        One line naming ``option``: an empty name, a folder, a socket, a link loop, a
        missing or read-only folder, a pseudo file system (``/proc``), a name too long, a
        read-only file.
    """
    path = Path(path)
    target = _resolve(path, option)
    if not target.in_place:
        prefix = _check_folder(target.path, option, path)
        _probe(_folder(target.path), prefix, option, path)
    return target.path


def _remove_stale_temps(folder: Path, prefix: str, now_s: float) -> None:
    """Remove temp files of ``prefix`` left by a killed run (regular files over an hour old)."""
    pattern = re.compile(re.escape(prefix) + rf"[a-z0-9_]{{{_RANDOM_CHARS}}}\.tmp")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now_s - info.st_mtime > STALE_TEMP_AGE_S:
                os.unlink(entry.path)
        except OSError:
            continue  # another run may have removed or renamed it


def _write_in_place(path: Path, data: bytes) -> None:
    # No O_CREAT and no O_TRUNC: a device or FIFO that vanished is not recreated as a file.
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace(target: _Target, prefix: str, data: bytes) -> None:
    folder = _folder(target.path)
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        if target.mode is None:
            # mkstemp makes the file private (0600); give it the usual mode for new files.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_name, 0o666 & ~umask)
        else:
            os.chmod(tmp_name, target.mode)
            if target.owner is not None and os.geteuid() == 0:
                os.chown(tmp_name, *target.owner)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target.path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, option: str = "output") -> Path:
    """Write ``data`` to ``path`` (see the module notes); return the path given."""
    path = Path(path)
    target = _resolve(path, option)
    try:
        if target.in_place:
            _write_in_place(target.path, data)
        else:
            prefix = _check_folder(target.path, option, path)
            _remove_stale_temps(_folder(target.path), prefix, time.time())
            _replace(target, prefix, data)
    except OSError as exc:
        raise InvalidArgument(
            f"{_shown(option, path)}: writing failed ({_reason(exc)}); give another path."
        ) from None
    return path


def atomic_write_text(path: Path, text: str, *, option: str = "output") -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"), option=option)


__all__ = ["STALE_TEMP_AGE_S", "atomic_write_bytes", "atomic_write_text", "check_output_path"]
