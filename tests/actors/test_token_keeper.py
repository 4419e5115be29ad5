"""The TokenKeeper under a real supervisor and a ManualClock, with a scripted token source.

The source here is a stand-in for a system's authentication, not an HTTP mock: the keeper only
sees the TokenSource protocol. The same keeper runs against the Anaplan emulator over real HTTP
in tests/clients/anaplan.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

from actors.token_keeper import (
    KeeperAuthenticator,
    KeeperSettings,
    TokenKeeper,
    TokenUnavailable,
    run_token_timer,
)
from mlc.errors import MlcError
from mlc.messages import (
    GetToken,
    GetTokenHealth,
    Token,
    TokenHealth,
    TokenKeeperMessage,
    TokenRejected,
)
from mlc.metrics import CONNECTION_UP, TOKEN_REFRESHES
from mlc.runtime import ActorRef, ManualClock, Supervisor

pytestmark = pytest.mark.anyio

WaitUntil = Callable[[Callable[[], bool]], Awaitable[None]]

_names = itertools.count(1)

LIFETIME = 2100.0


class ScriptedSource:
    """Issues ``token-1``, ``token-2``, …; can be made to fail or to block until released."""

    def __init__(self, clock: ManualClock, lifetime: float = LIFETIME) -> None:
        self.connection = f"test.keeper{next(_names)}"
        self.clock = clock
        self.lifetime = lifetime
        self.calls: list[str] = []
        self.revoked: list[Token] = []
        self.failure: MlcError | None = None
        self.gate: anyio.Event | None = None
        self._serial = itertools.count(1)

    async def _issue(self, kind: str) -> Token:
        self.calls.append(kind)
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return Token("Bearer", f"token-{next(self._serial)}", self.clock.time() + self.lifetime)

    async def acquire(self) -> Token:
        return await self._issue("acquire")

    async def refresh(self, token: Token) -> Token:
        return await self._issue("refresh")

    async def revoke(self, token: Token) -> None:
        self.revoked.append(token)


@asynccontextmanager
async def running_keeper(
    source: ScriptedSource,
    clock: ManualClock,
    settings: KeeperSettings | None = None,
    *,
    timer: bool = False,
) -> AsyncIterator[ActorRef[TokenKeeperMessage]]:
    supervisor = Supervisor(clock=clock)
    ref = supervisor.add(
        "token." + source.connection, lambda: TokenKeeper(source, clock, settings), mailbox_size=8
    )
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(supervisor.run)
            try:
                async with anyio.create_task_group() as timers:
                    if timer:
                        timers.start_soon(run_token_timer, ref, clock)
                    yield ref
                    timers.cancel_scope.cancel()
            finally:
                supervisor.request_stop()


async def get_token(ref: ActorRef[TokenKeeperMessage]) -> Token:
    token: Token = await ref.ask(GetToken())
    return token


async def health(ref: ActorRef[TokenKeeperMessage]) -> TokenHealth:
    answer: TokenHealth = await ref.ask(GetTokenHealth())
    return answer


async def test_the_first_ask_acquires_and_later_asks_reuse_the_token(clock: ManualClock) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock) as keeper:
        first = await get_token(keeper)
        await clock.advance(600)
        second = await get_token(keeper)

    assert first.value == "token-1"
    assert second == first
    assert source.calls == ["acquire"]


async def test_a_hundred_concurrent_askers_during_a_refresh_cause_one_refresh(
    clock: ManualClock, wait_until: WaitUntil
) -> None:
    source = ScriptedSource(clock)
    source.gate = anyio.Event()
    received: list[Token] = []

    async def ask() -> None:
        received.append(await get_token(keeper))

    async with running_keeper(source, clock) as keeper, anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(ask)
        await wait_until(lambda: source.calls == ["acquire"])
        source.gate.set()

    assert source.calls == ["acquire"]
    assert len(received) == 100
    assert {token.value for token in received} == {"token-1"}


async def test_the_timer_refreshes_ahead_of_expiry_without_anyone_asking(
    clock: ManualClock, wait_until: WaitUntil
) -> None:
    source = ScriptedSource(clock)
    settings = KeeperSettings(refresh_margin=300)
    async with running_keeper(source, clock, settings, timer=True) as keeper:
        await wait_until(lambda: source.calls == ["acquire"])
        first = await get_token(keeper)

        await clock.advance(LIFETIME - 301)
        await wait_until(lambda: clock.sleepers > 0)
        assert source.calls == ["acquire"], "refreshed before the margin"

        await clock.advance(2)
        await wait_until(lambda: source.calls == ["acquire", "refresh"])
        second = await get_token(keeper)

    assert second.value != first.value
    assert second.expires_at > first.expires_at
    assert first.remaining(clock.time()) > 0, "the refresh happened while the old token was valid"


async def test_a_short_lived_token_is_refreshed_at_half_its_life_not_continuously(
    clock: ManualClock, wait_until: WaitUntil
) -> None:
    source = ScriptedSource(clock, lifetime=60)
    settings = KeeperSettings(refresh_margin=300)
    async with running_keeper(source, clock, settings, timer=True):
        await wait_until(lambda: source.calls == ["acquire"] and clock.sleepers > 0)
        await clock.advance(29)
        await wait_until(lambda: clock.sleepers > 0)
        assert source.calls == ["acquire"]
        await clock.advance(1)
        await wait_until(lambda: source.calls == ["acquire", "refresh"] and clock.sleepers > 0)


async def test_asking_inside_the_margin_refreshes_first(clock: ManualClock) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock, KeeperSettings(refresh_margin=300)) as keeper:
        first = await get_token(keeper)
        await clock.advance(LIFETIME - 200)
        second = await get_token(keeper)

    assert source.calls == ["acquire", "refresh"]
    assert second.value == "token-2" != first.value


async def test_a_rejected_token_is_replaced_once_and_stale_rejections_are_ignored(
    clock: ManualClock,
) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock) as keeper:
        old = await get_token(keeper)
        for _ in range(5):
            await keeper.tell(TokenRejected(old))
        new = await get_token(keeper)
        later = await get_token(keeper)

    assert source.calls == ["acquire", "acquire"], "a rejected token is replaced by a new login"
    assert new.value == "token-2"
    assert later == new


async def test_a_failing_refresh_keeps_handing_out_the_still_valid_token(
    clock: ManualClock,
) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock, KeeperSettings(refresh_margin=300)) as keeper:
        first = await get_token(keeper)
        source.failure = MlcError("test.keeper: POST /token/refresh → 503 Service Unavailable")
        await clock.advance(LIFETIME - 200)
        again = await get_token(keeper)
        status = await health(keeper)

    assert again == first
    assert status.status == "up"
    assert status.consecutive_failures == 1
    assert status.last_error is not None and "503" in status.last_error


async def test_consecutive_failures_mark_the_connection_down_and_back_off_until_a_success(
    clock: ManualClock,
) -> None:
    source = ScriptedSource(clock)
    source.failure = MlcError("test: POST /token/authenticate → 401 FAILURE_BAD_CREDENTIAL")
    settings = KeeperSettings(failure_threshold=3, backoff_initial=10, backoff_jitter=0)
    async with running_keeper(source, clock, settings) as keeper:
        errors: list[str] = []
        for _ in range(6):
            with pytest.raises(TokenUnavailable) as caught:
                await get_token(keeper)
            errors.append(str(caught.value))
        down = await health(keeper)
        gauge_down = CONNECTION_UP.labels(connection=source.connection).value
        calls_while_down = len(source.calls)

        await clock.advance(10)
        source.failure = None
        token = await get_token(keeper)
        up = await health(keeper)

    assert calls_while_down == 3, "no attempt while backing off"
    assert down.status == "down" and down.consecutive_failures == 3
    assert down.next_attempt_at == pytest.approx(clock.time())
    assert gauge_down == 0
    assert all(source.connection in error for error in errors)
    assert "FAILURE_BAD_CREDENTIAL" in errors[-1] and "next in 10s" in errors[-1]
    assert token.value == "token-1"
    assert up.status == "up" and up.consecutive_failures == 0
    assert CONNECTION_UP.labels(connection=source.connection).value == 1
    assert TOKEN_REFRESHES.labels(connection=source.connection).value == 1


async def test_the_backoff_doubles_while_failures_continue(clock: ManualClock) -> None:
    source = ScriptedSource(clock)
    source.failure = MlcError("test: boom")
    settings = KeeperSettings(failure_threshold=1, backoff_initial=10, backoff_jitter=0)
    waits = []
    async with running_keeper(source, clock, settings) as keeper:
        for _ in range(4):
            with pytest.raises(TokenUnavailable):
                await get_token(keeper)
            status = await health(keeper)
            assert status.next_attempt_at is not None
            waits.append(status.next_attempt_at - clock.time())
            await clock.advance(waits[-1])

    assert waits == [10, 20, 40, 80]
    assert len(source.calls) == 4


async def test_tokens_the_server_keeps_rejecting_put_the_connection_down(
    clock: ManualClock,
) -> None:
    source = ScriptedSource(clock)
    settings = KeeperSettings(failure_threshold=3, backoff_initial=30, backoff_jitter=0)
    async with running_keeper(source, clock, settings) as keeper:
        for _ in range(4):
            await keeper.tell(TokenRejected(await get_token(keeper)))
        with pytest.raises(TokenUnavailable, match="rejected by the server"):
            await get_token(keeper)
        status = await health(keeper)

    assert source.calls == ["acquire"] * 4, "the fourth rejection within a minute stops logins"
    assert status.status == "down"


async def test_the_authenticator_signs_and_reports_the_token_it_sent(
    clock: ManualClock,
) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock) as keeper:
        auth = KeeperAuthenticator(keeper, {"x-api-key": "key-123"})
        sent = await auth.headers()
        await auth.on_rejected(sent)
        await auth.on_rejected(sent)
        retried = await auth.headers()

    assert sent == {"x-api-key": "key-123", "Authorization": "Bearer token-1"}
    assert retried["Authorization"] == "Bearer token-2"
    assert source.calls == ["acquire", "acquire"]


async def test_an_orderly_stop_logs_the_token_out(clock: ManualClock) -> None:
    source = ScriptedSource(clock)
    async with running_keeper(source, clock) as keeper:
        token = await get_token(keeper)

    assert source.revoked == [token]


async def test_the_token_value_never_shows_in_its_repr(clock: ManualClock) -> None:
    token = Token("AnaplanAuthToken", "very-secret-value", clock.time())

    assert "very-secret-value" not in repr(token)
    assert token.authorization == "AnaplanAuthToken very-secret-value"


def test_settings_refuse_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        KeeperSettings(failure_threshold=0)
    with pytest.raises(ValueError, match="expiry_skew"):
        KeeperSettings(expiry_skew=-1)
