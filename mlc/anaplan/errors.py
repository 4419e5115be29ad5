"""Anaplan failures as exceptions that name the connection and the call, and say what Anaplan said.

Error bodies differ per API (reference §1, §2, §4):

* Integration and CloudWorks: ``{"status": {"code": 404, "message": "Not Found"}, "path": …}``;
* Authentication: ``{"status": "FAILURE_BAD_CREDENTIAL", "statusMessage": "…"}``;
* OAuth: ``{"error": "invalid_grant", "error_description": "…"}`` (RFC 6749 §5.2).

Anything else is quoted, shortened. Every message passes through :func:`mlc.logs.redact`.

Families, by what the caller can do: :class:`AnaplanAuthError` (credentials or token refused),
:class:`AnaplanNotFound` (404: a wrong id, or no access — Anaplan masks NO ACCESS as 404),
:class:`AnaplanBusy` (409/423: the model is locked or busy; wait and try again later),
:class:`AnaplanRequestError` (other 4xx), :class:`AnaplanProtocolError` (a 2xx this client cannot
use). A 401 on an API call, 429, 5xx and transport failures stay :mod:`mlc.http` errors
(``AuthenticationFailed``, ``RateLimited``, ``HttpServerError``, ``ConnectionFailed``,
``OutcomeUnknown``): the HTTP layer has already retried what it could.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mlc.errors import MlcError
from mlc.logs import redact

_MAX_BODY_QUOTE = 300


class AnaplanError(MlcError):
    """A failed Anaplan call: ``call`` is ``METHOD /path``, ``status`` the HTTP status (0: none)."""

    def __init__(self, message: str, *, call: str = "", status: int = 0, code: str = "") -> None:
        super().__init__(redact(message))
        self.call = call
        self.status = status
        self.code = code


class AnaplanAuthError(AnaplanError):
    """Credentials refused, or a token could not be obtained or renewed."""


class AnaplanNotFound(AnaplanError):
    """404: the id does not exist, or the user has no access to it."""


class AnaplanBusy(AnaplanError):
    """409 or 423: the model is locked or busy with another action."""


class AnaplanRequestError(AnaplanError):
    """Anaplan refused the request (400, 403, 405, 422, …)."""


class AnaplanProtocolError(AnaplanError):
    """Anaplan answered 2xx with something this client cannot use."""


class _EnvelopeStatus(msgspec.Struct):
    code: int = 0
    message: str = ""


class _ErrorBody(msgspec.Struct):
    status: _EnvelopeStatus | str | None = None
    statusMessage: str = ""
    error: str = ""
    error_description: str = ""


_DECODER = msgspec.json.Decoder(_ErrorBody)


def _family(status: int) -> type[AnaplanError]:
    if status == 401:
        return AnaplanAuthError
    if status == 404:
        return AnaplanNotFound
    if status in (409, 423):
        return AnaplanBusy
    return AnaplanRequestError


def _quote(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text[:_MAX_BODY_QUOTE] + "…" if len(text) > _MAX_BODY_QUOTE else text


def _explain(status: int, reason: str, body: bytes) -> tuple[str, str]:
    """``(summary, code)``: what to print after the arrow, and Anaplan's error code if any."""
    try:
        parsed: Any = _DECODER.decode(body)
    except msgspec.DecodeError:
        parsed = None
    if isinstance(parsed, _ErrorBody):
        if isinstance(parsed.status, str) and parsed.status:
            detail = f" ({parsed.statusMessage})" if parsed.statusMessage else ""
            return f"{status} {parsed.status}{detail}", parsed.status
        if parsed.error:
            detail = f" ({parsed.error_description})" if parsed.error_description else ""
            return f"{status} {parsed.error}{detail}", parsed.error
        if isinstance(parsed.status, _EnvelopeStatus) and parsed.status.message:
            return f"{status} {parsed.status.message}", ""
    quoted = _quote(body)
    head = f"{status} {reason}".rstrip()
    return (f"{head}: {quoted}" if quoted and quoted != reason else head), ""


def error_from_response(
    connection: str, call: str, status: int, reason: str, body: bytes
) -> AnaplanError:
    """The exception for Anaplan's error answer to ``call`` (``GET /2/0/…/imports``)."""
    summary, code = _explain(status, reason, body)
    return _family(status)(f"{connection}: {call} → {summary}", call=call, status=status, code=code)


def auth_error(
    connection: str, call: str, status: int, reason: str, body: bytes
) -> AnaplanAuthError:
    """A refused authentication call (``POST /token/authenticate → 401 FAILURE_BAD_CREDENTIAL``),
    whatever its status: a 400 or 403 from the identity provider is an auth failure too."""
    summary, code = _explain(status, reason, body)
    return AnaplanAuthError(
        f"{connection}: {call} → {summary}", call=call, status=status, code=code
    )
