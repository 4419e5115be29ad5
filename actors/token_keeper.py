"""The TokenKeeper: one actor per connection that owns its token, and the timer that keeps it fresh.

The keeper is system-agnostic: it holds a :class:`mlc.messages.TokenSource` (Anaplan basic,
certificate or OAuth; Epicor; Workday) and answers the conversation in :mod:`mlc.messages`:

* ``GetToken`` → a token that is valid now. A token inside its refresh margin is refreshed first.
  The mailbox is the single flight: while one refresh runs, every other ``GetToken`` waits in the
  mailbox and is answered with the new token, so a hundred callers cause one refresh.
* ``TokenRejected(token)`` (the server answered 401) → the token is replaced once, by a fresh
  ``acquire`` (a rejected token cannot be refreshed). A rejection of a token that was already
  replaced is ignored: every request that was in flight with the old token reports it.
* ``RefreshIfDue`` → sent by :func:`run_token_timer`, the background loop that refreshes ahead of
  expiry on the injected clock even when nobody is asking.

Failures: each failed attempt is recorded (``last_error``); after ``failure_threshold`` in a row
the connection is *down* (``mlc_connection_up`` 0) and the keeper backs off exponentially before
trying again, whoever asks, so a wrong password does not hammer the identity provider. While the
current token is still valid it keeps being handed out; without one, ``GetToken`` fails at once
with :class:`TokenUnavailable`, naming the connection and the last error. The first success
brings the connection back up.

Why the timer is a separate coroutine and not a task inside the actor: the runtime gives an actor
one task, and a task group opened in ``on_start`` cannot be closed safely when the supervisor
cancels the actor at its shutdown deadline. The timer talks to the keeper only through its
:class:`~mlc.runtime.ActorRef`, which survives restarts, and ends when the keeper stops. Start it
next to the supervisor: ``tg.start_soon(run_token_timer, ref, clock)``.
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus

from mlc.errors import MlcError
from mlc.logs import redact
from mlc.messages import (
    GetToken,
    GetTokenHealth,
    RefreshIfDue,
    Token,
    TokenHealth,
    TokenKeeperMessage,
    TokenRejected,
    TokenSource,
)
from mlc.metrics import CONNECTION_UP, TOKEN_REFRESHES
from mlc.runtime import Actor, ActorRef, ActorStopped, Clock

log = logging.getLogger("mlc.auth")


class TokenUnavailable(MlcError):
    """No valid token can be handed out now; the message names the connection and the cause."""

    def __init__(self, connection: str, detail: str) -> None:
        super().__init__(redact(f"{connection}: no valid token: {detail}"))
        self.connection = connection


@dataclass(frozen=True)
class KeeperSettings:
    """Timing of one keeper (``[connections.*]`` config feeds the margin)."""

    #: Refresh this long before expiry (Anaplan: ≥ 300 s of its 35 minutes; Epicor: before its
    #: hour). Capped at half the token's lifetime, so a short-lived token is not refreshed
    #: continuously.
    refresh_margin: float = 300.0
    #: A token with less than this left is not handed out: the request would arrive expired.
    expiry_skew: float = 10.0
    #: Failed attempts in a row after which the connection is down and attempts back off.
    failure_threshold: int = 3
    #: First wait once down; doubles per further failure up to ``backoff_max``.
    backoff_initial: float = 5.0
    backoff_max: float = 300.0
    #: Upward jitter, as a fraction of the wait, so keepers that failed together spread out.
    backoff_jitter: float = 0.1
    #: More than ``failure_threshold`` rejections (401) within this window put the connection
    #: down: tokens the identity provider issues and the API refuses must not cause a storm of
    #: logins.
    rejection_window: float = 60.0
    #: Log out the current token when the keeper stops, so sessions do not linger.
    revoke_on_stop: bool = True

    #: Longest wait for the logout when the keeper stops (on the keeper's clock).
    revoke_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.refresh_margin < 0 or self.expiry_skew < 0:
            raise ValueError("refresh_margin and expiry_skew must be >= 0")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("backoff_initial must be > 0 and <= backoff_max")


class TokenKeeper(Actor[TokenKeeperMessage]):
    """Owns one connection's token; see the module docs for the conversation."""

    def __init__(
        self,
        source: TokenSource,
        clock: Clock,
        settings: KeeperSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._source = source
        self._clock = clock
        self._settings = settings or KeeperSettings()
        self._rng = rng or random.Random()
        self._token: Token | None = None
        self._obtained_at = 0.0
        self._failures = 0
        self._last_error: str | None = None
        self._down = False
        self._attempted = False
        self._next_attempt_at: float | None = None
        self._rejections: deque[float] = deque()

    @property
    def connection(self) -> str:
        return self._source.connection

    async def receive(self, msg: TokenKeeperMessage) -> Any:
        match msg:
            case GetToken():
                return await self._get_token()
            case TokenRejected(token=token):
                await self._rejected(token)
                return None
            case RefreshIfDue():
                if self._due(self._clock.time()):
                    await self._renew(rejected=False)
                return self._next_due()
            case GetTokenHealth():
                return self.health()

    async def on_stop(self) -> None:
        token = self._token
        if not self._settings.revoke_on_stop or token is None:
            return
        if token.remaining(self._clock.time()) <= self._settings.expiry_skew:
            return
        async with anyio.create_task_group() as tg:

            async def give_up() -> None:
                await self._clock.sleep(self._settings.revoke_timeout)
                log.warning("token_revoke_timed_out", extra={"connection": self.connection})
                tg.cancel_scope.cancel()

            tg.start_soon(give_up)
            try:
                await self._source.revoke(token)
            except MlcError as error:
                log.warning(
                    "token_revoke_failed",
                    extra={"connection": self.connection, "error": redact(str(error))},
                )
            tg.cancel_scope.cancel()

    def health(self) -> TokenHealth:
        if not self._attempted:
            status = "unknown"
        else:
            status = "down" if self._down else "up"
        return TokenHealth(
            connection=self.connection,
            status=status,
            consecutive_failures=self._failures,
            last_error=self._last_error,
            expires_at=self._token.expires_at if self._token is not None else None,
            next_attempt_at=self._next_attempt_at if self._down else None,
        )

    # --- handlers ------------------------------------------------------------------------

    async def _get_token(self) -> Token:
        if self._due(self._clock.time()):
            await self._renew(rejected=False)
        token = self._token
        if token is not None and self._usable(token):
            return token
        if self._next_attempt_at is not None and self._down:
            wait = max(0.0, self._next_attempt_at - self._clock.time())
            raise TokenUnavailable(
                self.connection,
                f"{self._failures} failed attempts in a row, next in {wait:.0f}s; "
                f"last: {self._last_error}",
            )
        raise TokenUnavailable(self.connection, self._last_error or "no token obtained")

    async def _rejected(self, token: Token) -> None:
        if token != self._token:
            log.info("token_rejection_ignored", extra={"connection": self.connection})
            return
        now = self._clock.time()
        self._token = None
        window = self._settings.rejection_window
        while self._rejections and self._rejections[0] <= now - window:
            self._rejections.popleft()
        self._rejections.append(now)
        log.warning("token_rejected", extra={"connection": self.connection})
        if len(self._rejections) > self._settings.failure_threshold:
            self._record_failure(
                f"{len(self._rejections)} fresh tokens rejected by the server within {window:g}s",
                down=True,
            )
            return
        await self._renew(rejected=True)

    # --- state -------------------------------------------------------------------------------

    def _usable(self, token: Token) -> bool:
        return token.remaining(self._clock.time()) > self._settings.expiry_skew

    def _refresh_at(self, token: Token) -> float:
        """When to refresh: ``refresh_margin`` ahead of expiry, but no earlier than half-way
        through the token's life, and no later than the moment it stops being handed out."""
        lifetime = max(0.0, token.expires_at - self._obtained_at)
        ahead = min(self._settings.refresh_margin, lifetime / 2)
        return token.expires_at - max(ahead, self._settings.expiry_skew)

    def _in_backoff(self, now: float) -> bool:
        return self._down and self._next_attempt_at is not None and now < self._next_attempt_at

    def _due(self, now: float) -> bool:
        if self._in_backoff(now):
            return False
        token = self._token
        return token is None or now >= self._refresh_at(token)

    def _next_due(self) -> float:
        now = self._clock.time()
        if self._in_backoff(now) and self._next_attempt_at is not None:
            return self._next_attempt_at
        retry_at = now + self._settings.backoff_initial if self._failures else now
        token = self._token
        if token is None:
            return retry_at
        return max(self._refresh_at(token), retry_at)

    async def _renew(self, *, rejected: bool) -> None:
        """One attempt at a new token; failures are recorded, never raised (see module docs)."""
        now = self._clock.time()
        if self._in_backoff(now):
            return
        current = self._token
        self._attempted = True
        try:
            if current is not None and not rejected and self._usable(current):
                token = await self._source.refresh(current)
            else:
                token = await self._source.acquire()
        except MlcError as error:
            self._record_failure(str(error))
            return
        self._token = token
        self._obtained_at = self._clock.time()
        self._failures = 0
        self._next_attempt_at = None
        TOKEN_REFRESHES.labels(connection=self.connection).inc()
        CONNECTION_UP.labels(connection=self.connection).set(1)
        if self._down:
            log.info("connection_up", extra={"connection": self.connection})
        self._down = False
        log.info(
            "token_renewed",
            extra={
                "connection": self.connection,
                "expires_in_seconds": round(token.remaining(self._obtained_at)),
                "reason": "rejected" if rejected else ("due" if current else "none"),
            },
        )

    def _record_failure(self, message: str, *, down: bool = False) -> None:
        if down:
            self._failures = max(self._failures, self._settings.failure_threshold - 1)
        self._failures += 1
        self._last_error = redact(message)
        settings = self._settings
        log.warning(
            "token_renewal_failed",
            extra={
                "connection": self.connection,
                "failures": self._failures,
                "error": self._last_error,
            },
        )
        if self._failures < settings.failure_threshold:
            return
        step = self._failures - settings.failure_threshold
        try:
            wait = min(settings.backoff_max, settings.backoff_initial * 2.0**step)
        except OverflowError:
            wait = settings.backoff_max
        wait += wait * settings.backoff_jitter * self._rng.random()
        self._next_attempt_at = self._clock.time() + wait
        if not self._down:
            log.error(
                "connection_down",
                extra={"connection": self.connection, "failures": self._failures},
            )
        self._down = True
        CONNECTION_UP.labels(connection=self.connection).set(0)


async def run_token_timer(
    keeper: ActorRef[TokenKeeperMessage],
    clock: Clock,
    *,
    max_sleep: float = 60.0,
    min_sleep: float = 1.0,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``keeper``'s token fresh ahead of expiry; returns when the keeper stops.

    Sleeps until the keeper's next due time, but never longer than ``max_sleep``, so a due time
    that moved earlier (a rejected token, a backoff ending) is noticed within that bound.
    """
    task_status.started()
    while True:
        try:
            due: float = await keeper.ask(RefreshIfDue())
        except ActorStopped:
            return
        await clock.sleep(min(max_sleep, max(min_sleep, due - clock.time())))


class KeeperAuthenticator:
    """:class:`mlc.http.Authenticator` over a TokenKeeper: asks it for the token of every attempt,
    and tells it which token the server rejected.

    A 401 names the token that was *sent*, not whatever is current by then: the keeper ignores a
    rejection of a token it has already replaced, so a burst of requests that all failed with
    the old token causes one renewal. Tokens are matched by their header value (an Anaplan
    refresh keeps the value and moves the expiry, and a 401 on that value concerns the current
    token); the last few issued are remembered for that.

    :param static_headers: headers sent with every request besides ``Authorization`` (Epicor's
        ``x-api-key``).
    """

    _REMEMBERED = 8

    def __init__(
        self,
        keeper: ActorRef[TokenKeeperMessage],
        static_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._keeper = keeper
        self._static = dict(static_headers or {})
        self._issued: OrderedDict[str, Token] = OrderedDict()

    async def headers(self) -> Mapping[str, str]:
        token: Token = await self._keeper.ask(GetToken())
        authorization = token.authorization
        self._issued[authorization] = token
        self._issued.move_to_end(authorization)
        while len(self._issued) > self._REMEMBERED:
            self._issued.popitem(last=False)
        return {**self._static, "Authorization": authorization}

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        sent = next(
            (value for name, value in sent_headers.items() if name.lower() == "authorization"),
            None,
        )
        token = self._issued.get(sent) if sent is not None else None
        if token is not None:
            await self._keeper.tell(TokenRejected(token))
