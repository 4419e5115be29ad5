"""The pid file: one live holder per state directory, stale files from dead processes ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlc.ops.pidfile import PidFile, PidFileError, running_service, signal_service

HOLDER = """
import signal, sys
from pathlib import Path
from mlc.ops.pidfile import PidFile

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
with PidFile(Path(sys.argv[1])):
    print("held", flush=True)
    received = signal.sigwait({signal.SIGUSR1})
    print("got", signal.Signals(received).name, flush=True)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_holder_is_refused_and_named(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mlc.pid"
    child = _holder(path)
    try:
        assert running_service(path) == child.pid
        with pytest.raises(PidFileError, match=f"pid {child.pid}"):
            PidFile(path).acquire()
    finally:
        child.kill()
        child.wait()


def test_signal_reaches_the_holder_and_the_file_goes_with_it(tmp_path: Path) -> None:
    path = tmp_path / "mlc.pid"
    child = _holder(path)
    assert signal_service(path, signal.SIGUSR1) == child.pid
    out, _ = child.communicate(timeout=30)
    assert out.strip() == "got SIGUSR1"
    assert child.returncode == 0
    assert not path.exists()
    assert running_service(path) is None
    assert signal_service(path, signal.SIGUSR1) is None


def test_a_file_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "mlc.pid"
    child = _holder(path)
    child.kill()
    child.wait()
    assert path.exists()
    assert running_service(path) is None
    with PidFile(path):
        assert path.read_text().strip() == str(os.getpid())
        assert running_service(path) == os.getpid()
    assert not path.exists()


def test_own_pid_left_in_a_stale_file_is_not_a_live_holder(tmp_path: Path) -> None:
    # On Kubernetes every container's service is pid 1 and the state volume outlives the pod.
    path = tmp_path / "mlc.pid"
    path.write_text(f"{os.getpid()}\n")
    with PidFile(path):
        assert running_service(path) == os.getpid()
