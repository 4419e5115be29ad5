"""The runtime in a real process: escalation exits non-zero, SIGTERM drains and exits zero."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CRASH_LOOP = """
import anyio
from mlc.runtime import Actor, RestartPolicy, Supervisor, SystemClock


class Looper(Actor[str]):
    async def on_start(self) -> None:
        raise OSError("cannot open the store")

    async def receive(self, msg: str) -> str:
        return msg


async def main() -> None:
    policy = RestartPolicy(initial_delay=0.001, max_delay=0.01, max_restarts=3, window=60)
    supervisor = Supervisor(clock=SystemClock(), restart_policy=policy)
    supervisor.add("looper", Looper)
    await supervisor.run()


anyio.run(main)
"""

SERVICE = """
import signal
import anyio
from mlc.runtime import Actor, Supervisor, SystemClock, run_signal_bridge


class Echo(Actor[str]):
    async def receive(self, msg: str) -> str:
        return "pong"

    async def on_stop(self) -> None:
        print("echo stopped", flush=True)


async def main() -> None:
    supervisor = Supervisor(clock=SystemClock(), shutdown_timeout=5)
    echo = supervisor.add("echo", Echo)

    async def on_term(signum: signal.Signals) -> None:
        supervisor.request_stop()

    async def announce() -> None:
        print("ready", await echo.ask("ping"), flush=True)

    async with anyio.create_task_group() as tg:
        await tg.start(run_signal_bridge, {signal.SIGTERM: on_term})
        tg.start_soon(announce)
        await supervisor.run()
        tg.cancel_scope.cancel()
    print("exiting", flush=True)


anyio.run(main)
"""


async def test_escalation_makes_the_process_exit_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "crash_loop.py"
    script.write_text(CRASH_LOOP)
    with anyio.fail_after(60):
        result = await anyio.run_process([sys.executable, str(script)], check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.rstrip().splitlines()[-1] == (
        "mlc.runtime.errors.SupervisorEscalation: actor 'looper' crashed 4 times within 60s; "
        "giving up: OSError: cannot open the store"
    )
    assert "ExceptionGroup" not in stderr


async def test_sigterm_drains_the_actors_and_the_process_exits_zero(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    with anyio.fail_after(60):
        async with await anyio.open_process([sys.executable, str(script)]) as process:
            assert process.stdout is not None
            stdout = BufferedByteReceiveStream(process.stdout)
            assert await stdout.receive_until(b"\n", 1000) == b"ready pong"
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
            rest = b""
            while True:
                try:
                    rest += await stdout.receive()
                except anyio.EndOfStream:
                    break
    assert rest.decode().splitlines() == ["echo stopped", "exiting"]
