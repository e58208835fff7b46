"""The processes the benchmark starts: each in its own process group, always stopped, CPU accounted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Service:
    """A started process (and its children), logged to bench/out/<name>.log, stopped by stop()."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                 stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        OUT.mkdir(exist_ok=True)
        self.log_path = OUT / f"{name}.log"
        self._log = self.log_path.open("wb")
        self._stop_signal = stop_signal
        self.popen = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.process = psutil.Process(self.popen.pid)

    @property
    def pid(self) -> int:
        """The process id of the started command."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the started command is still running."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The end of this service's log, for error messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_size(self) -> int:
        """Bytes logged so far (an offset for count_since)."""
        return self.log_path.stat().st_size

    def count_since(self, offset: int, needle: bytes) -> int:
        """How often `needle` was logged after `offset` (e.g. gunicorn access-log lines)."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().count(needle)

    def log_count(self, needle: str) -> int:
        """How many log lines contain `needle` (e.g. gunicorn's 'Booting worker')."""
        with self.log_path.open(errors="replace") as log:
            return sum(needle in line for line in log)

    def stop(self) -> None:
        """Ask politely, then kill the whole process group; idempotent."""
        if self.alive():
            try:
                os.killpg(self.pid, self._stop_signal)
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                return
        try:
            os.killpg(self.pid, signal.SIGKILL)  # stragglers of the group (gunicorn workers)
        except (ProcessLookupError, PermissionError):
            pass
        if self.popen.poll() is None:
            self.popen.wait(5)
        self._log.close()


def wait_http(url: str, service: Service, timeout: float = 60.0, headers: dict | None = None) -> None:
    """Wait until `url` answers below 500; fail with the service's log if it dies or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        try:
            request = urllib.request.Request(url, headers=headers or {}, method="GET")
            with urllib.request.urlopen(request, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} did not answer {url} within {timeout:.0f} s:\n{service.log_tail()}")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by a process tree, including children already exited and reaped."""

    seconds: float
    workers: tuple[int, ...]


def tree_cpu(process: psutil.Process) -> CpuSnapshot:
    """A process's own CPU, its reaped children's (recycled gunicorn workers) and its live children's.

    A worker that exits between two snapshots moves from the live sum into the parent's
    children_user/children_system, so the difference of two snapshots stays exact.
    """
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    pids = []
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue  # exited while we looked: counted as reaped next time
        total += child_times.user + child_times.system
        pids.append(child.pid)
    return CpuSnapshot(total, tuple(pids))


def worker_rss_mb(process: psutil.Process) -> list[float]:
    """Resident memory of each live child (gunicorn worker), in MiB."""
    sizes = []
    for child in process.children():
        try:
            sizes.append(child.memory_info().rss / 2**20)
        except psutil.Error:
            continue
    return sizes


def python_module(module: str, *args: str) -> list[str]:
    """argv to run `python -m module args…` with this interpreter."""
    return [sys.executable, "-m", module, *args]
