"""delever._io: atomic writes that never replace a device, a FIFO or a link, and the
before-work check of an output path."""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from delever import _io
from delever._io import STALE_TEMP_AGE_S, atomic_write_bytes, atomic_write_text, check_output_path
from delever.errors import InvalidArgument

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file types")


def null_device(tmp_path: Path) -> Path:
    """A character device that discards what is written: as root, a private node made in
    ``tmp_path`` (a regression would replace it, not the machine's /dev/null, which root can
    replace); otherwise /dev/null, which a regression cannot replace without root."""
    if os.geteuid() != 0:
        return Path(os.devnull)
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(node, "wb") as handle:
            handle.write(b"probe")
    except OSError:
        pytest.skip("root without a usable private device node; /dev/null is not risked")
    return node


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_new_file_gets_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    atomic_write_text(target, "a,b\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text() == "a,b\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert _temps(tmp_path) == []


def test_replacing_a_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "data" / "real.csv"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o604)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert _temps(tmp_path) == [] and _temps(real.parent) == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to("made.csv")
    atomic_write_text(link, "x")
    assert link.is_symlink()
    assert (tmp_path / "made.csv").read_text() == "x"


@posix_only
def test_dev_null_stays_a_character_device(tmp_path: Path) -> None:
    devnull = null_device(tmp_path)
    assert check_output_path(devnull) == devnull
    atomic_write_bytes(devnull, b"discarded\n")
    assert stat.S_ISCHR(os.stat(devnull).st_mode)


@posix_only
def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    atomic_write_bytes(fifo, b"a,b\n1,2\n")
    thread.join(timeout=30)
    assert received == [b"a,b\n1,2\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _temps(tmp_path) == []


@posix_only
def test_a_socket_is_refused() -> None:
    # AF_UNIX paths are short (about 100 bytes): use a short folder, not pytest's tmp_path.
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        path = Path(folder) / "s.csv"
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(path))
            for call in (lambda: check_output_path(path, "--output"),
                         lambda: atomic_write_text(path, "x")):
                with pytest.raises(InvalidArgument, match="socket"):
                    call()
            assert stat.S_ISSOCK(os.stat(path).st_mode)
        finally:
            server.close()


@pytest.mark.parametrize("name", ["", ".", "sub"])
def test_a_folder_or_empty_name_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    os.chdir(tmp_path)
    for call in (lambda: check_output_path(Path(name), "--report"),
                 lambda: atomic_write_text(Path(name), "x")):
        with pytest.raises(InvalidArgument, match="folder"):
            call()


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"--output=.*folder .* does not exist"):
        check_output_path(tmp_path / "nope" / "out.csv", "--output")
    with pytest.raises(InvalidArgument, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "out.csv", "x")


def test_a_file_used_as_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidArgument, match="--output="):
        check_output_path(tmp_path / "file" / "out.csv", "--output")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_proc_is_refused_even_as_root() -> None:
    with pytest.raises(InvalidArgument, match=r"--output='/proc/p.csv': cannot create files"):
        check_output_path(Path("/proc/p.csv"), "--output")


def test_a_read_only_mount_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root passes os.access everywhere, so the check must really try to create a file; a
    # read-only mount answers EROFS to that.
    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_io.tempfile, "mkstemp", read_only)
    with pytest.raises(InvalidArgument, match="Read-only file system"):
        check_output_path(tmp_path / "out.csv", "--report")


def test_a_name_too_long_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"--output=.*(too long|longer than)"):
        check_output_path(tmp_path / ("a" * 300 + ".csv"), "--output")


def test_a_long_name_that_fits_is_written(tmp_path: Path) -> None:
    # The temp file's name is the target's plus 14 characters: it is cut to fit.
    target = tmp_path / ("b" * 246 + ".csv")
    assert check_output_path(target) == target
    atomic_write_text(target, "x")
    assert target.read_text() == "x"
    assert _temps(tmp_path) == []


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    with pytest.raises(InvalidArgument, match="loop"):
        check_output_path(tmp_path / "a.csv", "--output")


def test_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_output_path(tmp_path / "out.csv", "--output")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_survives_a_failed_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    target.write_text("earlier")

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_io.os, "replace", no_space)
    with pytest.raises(InvalidArgument, match="writing failed"):
        atomic_write_text(target, "new")
    assert target.read_text() == "earlier"
    assert _temps(tmp_path) == []


def test_an_existing_file_survives_an_interrupted_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    target.write_text("earlier")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_io.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert target.read_text() == "earlier"
    assert _temps(tmp_path) == []


def test_stale_temp_files_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    old = time.time() - STALE_TEMP_AGE_S - 60
    stale = tmp_path / ".out.csv.k1ll3d_x.tmp"
    fresh = tmp_path / ".out.csv.running1.tmp"  # a run still writing (recent)
    other = tmp_path / ".other.csv.k1ll3d_x.tmp"  # another target's temp file
    unrelated = tmp_path / ".out.csv.notours.tmp.bak"
    for path in (stale, fresh, other, unrelated):
        path.write_text("partial")
        os.utime(path, (old, old))
    os.utime(fresh, None)
    atomic_write_text(tmp_path / "out.csv", "x")
    assert not stale.exists()
    assert fresh.exists() and other.exists() and unrelated.exists()
    assert (tmp_path / "out.csv").read_text() == "x"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anyway")
def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(InvalidArgument, match="read-only file"):
        atomic_write_text(target, "new")
    assert target.read_text() == "keep"
