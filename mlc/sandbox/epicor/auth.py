"""Who may call: the API key, Basic credentials, and bearer tokens from either token endpoint.

REST v2 wants the API key on every call — header ``x-api-key`` (header names are
case-insensitive) or query ``api-key`` — together with HTTP Basic or a bearer token [KB, ALE,
PRAC, PYP]. A missing or wrong key, wrong credentials and an expired or forged token are all 401
[KL, AMIT, KB]. The exact messages are unverified ([KB] marks the key case "TODO verify"); the
emulator answers with Epicor's error body, ``ErrorType`` ``…ApiException`` (the REST layer) and a
message naming the problem, and checks the key before the credentials.

Tokens are signed JWTs (HS256, a key the emulator draws at start), so a client can read ``exp``
as it can from Epicor's tokens (which carry ``username`` and ``exp`` [NGT]). Their lifetime runs on
the sandbox clock: advancing the clock expires them.

User names compare case-insensitively (Epicor user IDs are not case-sensitive); passwords,
secrets and keys exactly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.errors import api_error


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenError(Exception):
    pass


class Tokens:
    """Issues and verifies the emulator's bearer tokens."""

    def __init__(self, clock: SandboxClock, lifetime: Callable[[], float]) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._key = secrets.token_bytes(32)

    def issue(self, claims: Mapping[str, Any], lifetime: float | None = None) -> tuple[str, int]:
        seconds = int(lifetime if lifetime is not None else self._lifetime())
        now = int(self._clock.time())
        payload = {
            **claims,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "jti": secrets.token_hex(8),
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}", seconds

    def verify(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("The bearer token is not valid.")
        head, body, signature = parts
        expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        try:
            given = _unb64(signature)
            claims: dict[str, Any] = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            raise TokenError("The bearer token is not valid.") from None
        if not hmac.compare_digest(expected, given):
            raise TokenError("The bearer token is not valid.")
        if float(claims.get("exp", 0)) <= self._clock.time():
            raise TokenError("The bearer token has expired.")
        return claims


@dataclass(frozen=True)
class Principal:
    user: str
    via: str  # "basic" | "token" | "idp"


def same_user(given: str, options: EpicorOptions) -> bool:
    return given.casefold() == options.user.casefold()


def check_api_key(request: web.Request, options: EpicorOptions) -> None:
    given = request.headers.get("x-api-key")
    if given is None:
        given = request.query.get("api-key")
    if not given:
        raise api_error(
            401,
            "An API key is required for REST v2: send it in the x-api-key header or the api-key "
            "query parameter.",
        )
    if not hmac.compare_digest(given.encode(), options.api_key.encode()):
        raise api_error(401, "Invalid API key.")


def authenticate(request: web.Request, options: EpicorOptions, tokens: Tokens) -> Principal:
    """The caller of a v2 request, or a 401 in Epicor's error body."""
    check_api_key(request, options)
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise api_error(401, "The Basic authorization header is not valid.") from None
        if same_user(user, options) and hmac.compare_digest(
            password.encode(), options.password.encode()
        ):
            return Principal(options.user, "basic")
        raise api_error(401, "Invalid user name or password.")
    if scheme.lower() == "bearer":
        try:
            claims = tokens.verify(value.strip())
        except TokenError as exc:
            raise api_error(401, str(exc)) from None
        if claims.get("token_use") == "refresh":
            raise api_error(401, "A refresh token is not an access token.")
        if "client_id" in claims:
            return Principal(options.user, "idp")
        return Principal(str(claims.get("username", options.user)), "token")
    raise api_error(
        401, "Authorization is required: send HTTP Basic credentials or a bearer token."
    )
