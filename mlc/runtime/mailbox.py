"""An actor's bounded mailbox: envelopes on an anyio memory object stream.

The mailbox belongs to the supervisor's slot for an actor, not to an actor instance, so it
survives restarts: messages queued while an actor is crashed or backing off are handled by the
next instance, and every :class:`~mlc.runtime.actor.ActorRef` stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import anyio

from mlc.runtime.errors import ActorStopped

Msg = TypeVar("Msg")


class MailboxStatistics(NamedTuple):
    depth: int  #: messages queued and not yet taken by the actor
    max_size: int  #: how many messages the mailbox holds before ``tell``/``ask`` wait
    tasks_waiting_send: int  #: tasks blocked in ``tell``/``ask`` because the mailbox is full


class Reply:
    """The one-shot slot an ``ask`` waits on: a value, or an exception to raise in the asker."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def succeed(self, value: Any) -> None:
        if not self.done:
            self._value = value
            self._done.set()

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self._error = error
            self._done.set()

    async def wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(eq=False, slots=True)
class Envelope(Generic[Msg]):
    message: Msg
    reply: Reply | None = None


class Mailbox(Generic[Msg]):
    """A bounded queue of envelopes for the actor named ``owner``.

    Closing happens in two steps so that stopping is orderly: :meth:`close_for_sending` refuses
    new messages (and releases senders blocked on a full mailbox) while the actor finishes its
    current message; :meth:`close` then fails every ask still queued.
    """

    def __init__(self, owner: str, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"mailbox_size of actor {owner!r} must be an int >= 0, got {size!r}")
        self.owner = owner
        self._size = size
        self._accepting = True
        self._send, self._receive = anyio.create_memory_object_stream[Envelope[Msg]](size)

    @property
    def accepting(self) -> bool:
        return self._accepting

    async def put(self, envelope: Envelope[Msg]) -> None:
        """Queue ``envelope``, waiting while the mailbox is full (back-pressure)."""
        try:
            await self._send.send(envelope)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise self._refused(envelope) from None

    def put_nowait(self, envelope: Envelope[Msg]) -> None:
        """Queue ``envelope`` or raise :class:`anyio.WouldBlock` when the mailbox is full."""
        try:
            self._send.send_nowait(envelope)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise self._refused(envelope) from None

    async def get(self) -> Envelope[Msg] | None:
        """The next envelope, or ``None`` once the mailbox is closed and empty."""
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None

    def close_for_sending(self) -> None:
        self._accepting = False
        self._send.close()

    def close(self) -> int:
        """Refuse new messages, fail every queued ask, and return how many tells were dropped."""
        self.close_for_sending()
        dropped = 0
        while True:
            try:
                envelope = self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            if envelope.reply is None:
                dropped += 1
            else:
                envelope.reply.fail(
                    ActorStopped(
                        self.owner,
                        f"stopped before handling {type(envelope.message).__name__}",
                    )
                )
        self._receive.close()
        return dropped

    def statistics(self) -> MailboxStatistics:
        stats = self._send.statistics()
        return MailboxStatistics(
            depth=stats.current_buffer_used,
            max_size=self._size,
            tasks_waiting_send=stats.tasks_waiting_send,
        )

    def _refused(self, envelope: Envelope[Msg]) -> ActorStopped:
        return ActorStopped(
            self.owner, f"is stopped; cannot accept {type(envelope.message).__name__}"
        )
