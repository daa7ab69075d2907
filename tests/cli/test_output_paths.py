"""Output paths (--report, --output) are checked before any work: exit 2, one line naming the
option, nothing computed and nothing written. Writing never replaces a device or a link."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from delever.cli import advise_cmds, paths_cmds, plan_cmds
from delever.cli.main import app
from delever.scenario import runner

# The computation each command would start first: replaced by a tripwire, so a test fails
# if the command got as far as working before refusing its output path.
ENTRY_POINTS: dict[str, tuple[object, str]] = {
    "run": (runner, "load_scenario"),  # delever.run, which the command calls
    "plan": (plan_cmds, "load_scenario"),
    "advise": (advise_cmds, "load_scenario"),
    "paths": (paths_cmds, "calibrate"),
    "calibrate": (paths_cmds, "calibrate"),
}
COMMANDS: dict[str, list[str]] = {
    # large runs (minutes of work) that fit the memory limit; the tripwire proves none starts
    "run": ["run", "--paths", "20000", "--report"],
    "plan": ["plan", "--paths", "100000", "--report"],
    "advise": ["advise", "--paths", "1000000", "--report"],
    "paths": ["paths", "--paths", "100000", "--steps", "1000", "--output"],
    "calibrate": ["calibrate", "--output"],
}
OPTION = {"run": "--report", "plan": "--report", "advise": "--report", "paths": "--output",
          "calibrate": "--output"}


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


def _bad_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, fragment of the error); .csv so that `paths` accepts the extension."""
    cases = {
        "missing-folder": (str(tmp_path / "no" / "such" / "out.csv"), "does not exist"),
        "folder": (str(tmp_path), "folder"),
        "empty": ("", "folder"),
        "name-too-long": (str(tmp_path / ("x" * 300 + ".csv")), "too long"),
    }
    if sys.platform.startswith("linux") and Path("/proc/self").is_dir():
        cases["proc"] = ("/proc/p.csv", "cannot create files in '/proc'")
    return cases


def _tripwire(name: str) -> Callable[..., object]:
    def called(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"{name} ran although the output path is bad")

    return called


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "case", ["missing-folder", "folder", "empty", "name-too-long", "proc"]
)
def test_bad_output_path_fails_before_any_work(
    command: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _bad_paths(tmp_path)
    if case not in cases:
        pytest.skip("needs Linux /proc")
    path, fragment = cases[case]
    module, attr = ENTRY_POINTS[command]
    monkeypatch.setattr(module, attr, _tripwire(f"{command}: {attr}"))
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(app, [*COMMANDS[command], path])
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {OPTION[command]}="), lines[0]
    # `paths` refuses a name without .csv/.parquet first, as early.
    assert fragment in lines[0] or (command == "paths" and "extension" in lines[0]), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(tmp_path.iterdir()) == before  # nothing written, no temp file left


def test_paths_to_proc_is_exit_2_as_in_the_issue() -> None:
    """`delever paths --paths 3 --steps 3 --output /proc/p.csv` gave exit 1 (after the draw)."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    result = CliRunner().invoke(app, ["paths", "--paths", "3", "--steps", "3", "--output",
                                      "/proc/p.csv"])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == ("error: --output='/proc/p.csv': cannot create files in "
                                     "'/proc' (No such file or directory); give a path in a "
                                     "writable folder.")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices")
def test_calibrate_to_dev_null_keeps_the_device(tmp_path: Path) -> None:
    devnull = null_device(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(app, ["calibrate", "--output", str(devnull), "--json"])
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(devnull).st_mode)
    assert sorted(tmp_path.iterdir()) == before


def test_paths_through_a_symlink_keeps_the_link_and_the_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("earlier")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real.name)
    result = CliRunner().invoke(
        app, ["paths", "--paths", "3", "--steps", "3", "--output", str(link), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    assert real.read_text().startswith("step_0,step_1")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]
