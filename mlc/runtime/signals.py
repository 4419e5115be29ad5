"""The process's single signal bridge: OS signals in, async callbacks out.

The service subscribes to signals in exactly one place, this task, and every other component
registers a callback here instead of installing its own handler (two ``add_signal_handler`` calls
for one signal silently replace each other). The usual wiring:

- ``SIGTERM`` / ``SIGINT``: ``supervisor.request_stop()`` (drain, then exit 0);
- ``SIGHUP``: reload what can be reloaded;
- ``SIGUSR1`` / ``SIGUSR2``: wake the scheduler to pick up ``mlc trigger`` rows, dump status.

Signals are handled one at a time, in arrival order, in the bridge's task: a callback should be
quick (set a flag, ``request_stop()``, ``tell`` an actor), since a slow one delays the next
signal. A callback that raises is logged and the bridge keeps running, so one faulty callback
cannot take SIGTERM handling down with it.

Main thread only: ``anyio.open_signal_receiver`` relies on the event loop's signal handling, which
Python allows only in the main thread of the main interpreter; the bridge checks this up front.
While the bridge runs, the subscribed signals no longer have their default action (SIGINT no longer
raises ``KeyboardInterrupt``); unsubscribed ones keep it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping

import anyio
from anyio.abc import TaskStatus

log = logging.getLogger("mlc.runtime")

SignalHandler = Callable[[signal.Signals], Awaitable[None]]

#: The signals the service gives a meaning to.
SERVICE_SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


async def run_signal_bridge(
    handlers: Mapping[signal.Signals, SignalHandler],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Receive the signals in ``handlers`` and await each one's callback, until cancelled.

    Reports started (for ``TaskGroup.start``) once the signals are subscribed, so a signal sent
    after ``await tg.start(run_signal_bridge, ...)`` returns is never missed.

    :raises RuntimeError: not on the main thread.
    :raises ValueError: a key is not one of :data:`SERVICE_SIGNALS`, or ``handlers`` is empty.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "the signal bridge must run on the main thread (Python delivers signals only there)"
        )
    if not handlers:
        raise ValueError("the signal bridge needs at least one signal handler")
    unknown = [sig for sig in handlers if sig not in SERVICE_SIGNALS]
    if unknown:
        raise ValueError(
            "the signal bridge handles only "
            + ", ".join(sig.name for sig in SERVICE_SIGNALS)
            + "; got "
            + ", ".join(str(sig) for sig in unknown)
        )
    with anyio.open_signal_receiver(*handlers) as received:
        task_status.started()
        async for signum in received:
            log.info("signal_received", extra={"signal": signum.name})
            try:
                await handlers[signum](signum)
            except Exception:
                log.exception("signal_handler_failed", extra={"signal": signum.name})
