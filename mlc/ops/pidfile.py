"""The service's pid file: one ``mlc run`` per state directory, and how ``mlc trigger`` finds it.

Liveness is an ``flock`` held on the file for the whole life of the process, not the pid number:
the kernel drops the lock when the process dies however it dies (even ``kill -9``), while a pid
alone can be stale or reused. That matters on Kubernetes, where the state directory is a volume
that outlives the pod and every new container's ``mlc run`` is pid 1 again, so the pid left
behind by the previous pod is the new process's own.

``flock`` is local to one host, which is what the single-replica deployment with a
``ReadWriteOnce`` volume guarantees (and what SQLite in WAL mode needs anyway).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
from pathlib import Path
from types import TracebackType

from mlc.errors import MlcError

log = logging.getLogger("mlc.ops")


class PidFileError(MlcError):
    """Another live ``mlc run`` holds the pid file, or it cannot be written."""


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class PidFile:
    """Hold ``path`` for this process (a context manager, or :meth:`acquire` + :meth:`release`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid.

        :raises PidFileError: a live process holds the file (its pid is named), or it cannot be
            created.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PidFileError(f"pid file {self.path}: {exc.strerror or exc}") from None
        for _ in range(5):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = _read_pid(self.path)
                who = f"pid {holder}" if holder else "another process"
                raise PidFileError(
                    f"another mlc run ({who}) holds {self.path}; stop it first, or give this one "
                    "its own service.state_dir"
                ) from None
            if self._same_file(fd):
                break
            os.close(fd)  # the holder removed the file between our open and our lock: retry
        else:
            raise PidFileError(f"pid file {self.path}: replaced repeatedly while locking it")
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise PidFileError(f"pid file {self.path}: {exc.strerror or exc}") from None
        self._fd = fd

    def release(self) -> None:
        """Remove the file and drop the lock (removing first, so nobody locks a dead file)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if self._same_file(fd):
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(fd)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise PidFileError(f"pid file {self.path}: {exc.strerror or exc}") from None

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except OSError:
            return False
        held = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def running_service(path: Path) -> int | None:
    """The pid of the live ``mlc run`` holding ``path``, or ``None`` when none does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PidFileError(f"pid file {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def signal_service(path: Path, signum: signal.Signals) -> int | None:
    """Send ``signum`` to the live service holding ``path``; its pid, or ``None`` if none runs.

    :raises PidFileError: the service runs but cannot be signalled (another user, say).
    """
    pid = running_service(path)
    if pid is None:
        return None
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return None
    except PermissionError:
        raise PidFileError(
            f"mlc run (pid {pid}, from {path}) runs as another user; cannot send {signum.name}"
        ) from None
    log.info("service_signalled", extra={"pid": pid, "signal": signum.name})
    return pid
