"""`make local` is safe to start, stop and leave: Ctrl-C, SIGTERM, SIGHUP (terminal closed) and kill -9 all leave
no process and no port behind, and a requested stop is quiet (one line, no traceback, make exits 0).

Each test runs the real `make -s local` on free ports (LOCAL_*_PORT), in a pseudo-terminal like a person's shell,
in the Docker-free mode. Run by `make test-lifecycle` (part of `make test`), never beside another test run's stack.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(number: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", number))
        except OSError:
            return False
    return True


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # zombies hold no port and are reaped by their parent
            table[int(entry.name)] = (int(fields[1]), cmdline)
    return table


def descendants(root: int) -> dict[int, str]:
    table = process_table()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cmdline) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = cmdline
                frontier.append(pid)
    return found


def alive(pids: dict[int, str]) -> dict[int, str]:
    table = process_table()
    return {pid: cmd for pid, cmd in pids.items() if pid in table and table[pid][1] == cmd}


class LocalRun:
    """`make -s local` in a pseudo-terminal; `output` is everything it printed."""

    def __init__(self) -> None:
        self.ports = {
            name: free_port()
            for name in ("LOCAL_API_PORT", "LOCAL_STREAM_PORT", "LOCAL_AWS_PORT", "LOCAL_BEDROCK_PORT")
        }
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "LOCAL_MODE": "no-docker"}
        env.pop("MAKEFLAGS", None)
        env.pop("MAKELEVEL", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a session of its own with the pty as its terminal, like a shell's job
            os.chdir(ROOT)
            os.execvpe("make", ["make", "-s", "local"], env)
        self.output = ""
        self.status: int | None = None

    def read(self, until: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while until not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the terminal's other end is gone: everything exited
                    break
                if not chunk:
                    break
                self.output += chunk.decode(errors="replace")
        return until in self.output

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            self.read("\0never", 0.2)
        return None

    def runner_pid(self) -> int:
        return next(pid for pid, cmd in descendants(self.pid).items() if "local/run.py" in cmd)

    def kill_all(self) -> None:
        for pid in [self.pid, *descendants(self.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def local() -> Iterator[LocalRun]:
    run = LocalRun()
    try:
        assert run.read("Ctrl-C stops everything.", START_TIMEOUT), run.output[-3000:]
        yield run
    finally:
        if run.status is None:
            run.kill_all()


def assert_all_gone(run: LocalRun, started: dict[int, str], within: float) -> None:
    deadline = time.monotonic() + within
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(started), f"left running: {alive(started)}"
    busy = [f"{name}={port}" for name, port in run.ports.items() if not port_free(port)]
    assert not busy, f"ports still bound: {busy}"


def assert_quiet_stop(run: LocalRun) -> None:
    tail = run.output[run.output.index("Ctrl-C stops everything.") :]
    lines = [line for line in tail.replace("\r", "").splitlines()[1:] if line.strip() and line.strip() != "^C"]
    assert lines == ["Stopped: every process `make local` started has exited."], tail
    assert "Traceback" not in run.output and "Error" not in run.output and "Interrupt" not in run.output


def test_ready_prints_the_ports_it_was_given(local: LocalRun) -> None:
    assert f"http://127.0.0.1:{local.ports['LOCAL_API_PORT']}" in local.output
    assert f"127.0.0.1:{local.ports['LOCAL_AWS_PORT']}" in local.output
    assert "Docker-free emulator: LOCAL_MODE=no-docker" in local.output
    os.kill(local.runner_pid(), signal.SIGTERM)
    assert local.wait(30) == 0


def test_ctrl_c_stops_everything_quietly(local: LocalRun) -> None:
    started = descendants(local.pid)
    os.write(local.fd, b"\x03")  # the terminal turns it into SIGINT for its foreground process group
    assert local.wait(30) == 0, local.output[-2000:]
    assert_quiet_stop(local)
    assert_all_gone(local, started, 10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_everything_quietly(signum: int, local: LocalRun) -> None:
    started = descendants(local.pid)
    os.kill(local.runner_pid(), signum)
    assert local.wait(30) == 0, local.output[-2000:]
    assert_quiet_stop(local)
    assert_all_gone(local, started, 10)


def test_closing_the_terminal_stops_everything(local: LocalRun) -> None:
    started = descendants(local.pid)
    os.close(local.fd)  # the kernel sends SIGHUP to the terminal's session and foreground group
    local.fd = os.open("/dev/null", os.O_RDONLY)  # for kill_all's close
    local.wait(30)
    assert_all_gone(local, started, 15)


def test_kill_9_leaves_no_orphan_and_no_port(local: LocalRun) -> None:
    started = descendants(local.pid)
    runner = local.runner_pid()
    children = {pid: cmd for pid, cmd in started.items() if pid != runner}
    assert len(children) >= 4, started  # moto, the stand-in, the emulator and its workers
    os.kill(runner, signal.SIGKILL)
    assert_all_gone(local, children, 10)
    local.wait(10)
