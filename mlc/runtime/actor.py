"""Actors: one task, one bounded mailbox, one message at a time.

An :class:`Actor` owns its state; other code reaches it only through its :class:`ActorRef`.

Failure semantics (pykka's, see ``/work/shared/reference/aesthetics.md`` §4):

- A handler that raises an :class:`Exception` while handling an ``ask``: the exception is raised in
  the asker, and the actor **keeps running**. The asker asked a question and got an answer ("it
  failed"); the actor's state is assumed intact, and the asker is the one who can decide what the
  failure means (retry, report, give up). Killing the actor would also fail every other queued
  ask for a fault that concerned only one of them.
- A handler that raises an :class:`Exception` while handling a ``tell``: nobody is waiting to
  hear about it, so the actor **crashes**: :meth:`Actor.on_failure` runs (not ``on_stop``) and
  the supervisor restarts a fresh instance or escalates.
- A :class:`BaseException` that is not an :class:`Exception` (cancellation, ``KeyboardInterrupt``,
  ``SystemExit``) is not a failure of the actor's logic: it propagates out of the actor's task and
  the supervisor's ``run``; an asker waiting on that message gets :class:`ActorStopped`.

``ask`` re-raises the handler's exception object itself, not a wrapper, so callers write
``except ValueError`` as if they had called the handler directly; a note (:pep:`678`) naming the
actor and the message type is added to it, and shows in the traceback.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from mlc.runtime.errors import ActorStopped
from mlc.runtime.mailbox import Envelope, Mailbox, MailboxStatistics, Reply

Msg = TypeVar("Msg")


class ActorRef(Generic[Msg]):
    """The address of an actor; stays valid across restarts (the mailbox belongs to the slot).

    Do not ``tell``/``ask`` an actor's own ref from inside its handler while its mailbox may be
    full: the actor would wait on itself.
    """

    __slots__ = ("_mailbox",)

    def __init__(self, mailbox: Mailbox[Msg]) -> None:
        self._mailbox = mailbox

    @property
    def name(self) -> str:
        return self._mailbox.owner

    @property
    def stopped(self) -> bool:
        """True once the actor no longer accepts messages."""
        return not self._mailbox.accepting

    async def tell(self, msg: Msg) -> None:
        """Queue ``msg`` and return; waits while the mailbox is full (back-pressure).

        :raises ActorStopped: the actor is stopped, or stopped while this call waited for room.
        """
        await self._mailbox.put(Envelope(msg))

    def tell_nowait(self, msg: Msg) -> None:
        """Queue ``msg`` without waiting.

        :raises anyio.WouldBlock: the mailbox is full.
        :raises ActorStopped: the actor is stopped.
        """
        self._mailbox.put_nowait(Envelope(msg))

    async def ask(self, msg: Msg) -> Any:
        """Queue ``msg`` and wait for the handler's return value.

        If the caller is cancelled while waiting, the message is still handled and the reply is
        discarded.

        :raises ActorStopped: the actor is stopped, or stopped before replying.
        :raises Exception: whatever the handler raised, the same object (see the module docs).
        """
        reply = Reply()
        await self._mailbox.put(Envelope(msg, reply))
        return await reply.wait()

    def mailbox_statistics(self) -> MailboxStatistics:
        return self._mailbox.statistics()

    def __repr__(self) -> str:
        return f"<ActorRef {self.name!r}{' stopped' if self.stopped else ''}>"


class Actor(ABC, Generic[Msg]):
    """Base class for actors; subclass and implement :meth:`receive`.

    Instances are built by a factory given to :meth:`mlc.runtime.supervisor.Supervisor.add`, so a
    restart starts from fresh state. :attr:`name` and :attr:`ref` are available from
    :meth:`on_start` on.
    """

    _ref: ActorRef[Msg] | None = None

    @property
    def ref(self) -> ActorRef[Msg]:
        if self._ref is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a supervisor yet")
        return self._ref

    @property
    def name(self) -> str:
        return self.ref.name

    def attach(self, ref: ActorRef[Msg]) -> None:
        """Called by the supervisor before :meth:`on_start`."""
        self._ref = ref

    async def on_start(self) -> None:
        """Acquire resources; the actor counts as started (ready) once this returns.

        An exception here is a crash, handled like a crash in :meth:`receive`.
        """

    @abstractmethod
    async def receive(self, msg: Msg) -> Any:
        """Handle one message; the return value answers an ``ask`` (ignored for a ``tell``)."""

    async def on_stop(self) -> None:
        """Release resources after an orderly stop. Not called after a crash."""

    async def on_failure(self, error: Exception) -> None:
        """Release resources after a crash, before the supervisor decides what to do."""


async def deliver(actor: Actor[Msg], envelope: Envelope[Msg]) -> Exception | None:
    """Hand one envelope to ``actor``; return the exception that crashes it, if any."""
    reply = envelope.reply
    try:
        result = await actor.receive(envelope.message)
    except Exception as error:
        if reply is None:
            return error
        error.add_note(f"raised by actor {actor.name!r} handling {type(envelope.message).__name__}")
        reply.fail(error)
        return None
    except BaseException:
        if reply is not None:
            reply.fail(
                ActorStopped(
                    actor.name,
                    f"stopped while handling {type(envelope.message).__name__}",
                )
            )
        raise
    if reply is not None:
        reply.succeed(result)
    return None
