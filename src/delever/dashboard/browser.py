"""Helpers for driving the dashboard in a real browser (the browser tests and
``benchmarks/bench_dashboard.py``): a free local port, the server in a subprocess, the
system's Chromium.

Chromium comes from the system's packages (Debian: ``apt-get install chromium``); nothing
here downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu"]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def find_chromium() -> str | None:
    """The system's Chromium executable (``$DELEVER_CHROMIUM`` first), or None."""
    given = os.environ.get("DELEVER_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_local(url: str) -> bool:
    """Whether ``url`` stays on this machine (127.0.0.1 or localhost; data: and blob: URLs
    carry no host and never leave the browser)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOCAL_HOSTS


def start_server(port: int, cache_dir: Path, scenario: str | None = None,
                 log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """``delever dashboard`` on 127.0.0.1:``port`` in a subprocess (its own process: the
    background jobs fork from it)."""
    command = [sys.executable, "-m", "delever.cli.main", "dashboard", "--port", str(port),
               "--cache-dir", str(cache_dir)]
    if scenario is not None:
        command.insert(4, scenario)
    log = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
    # its own session: stopping it stops the background jobs it forked too
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120.0
                  ) -> float:
    """Poll ``url`` until it answers 200; returns the seconds waited. RuntimeError when the
    process exits or the time runs out."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"the dashboard did not answer at {url} within {timeout_s:g} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server started by :func:`start_server` and the jobs it forked (its process
    group, which :func:`start_server` made its own), and wait for it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue


__all__ = ["CHROMIUM_ARGS", "find_chromium", "free_port", "is_local", "start_server",
           "stop_server", "wait_until_up"]
