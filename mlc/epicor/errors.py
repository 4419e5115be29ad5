"""Epicor failures as exceptions that name the call and carry what Epicor said.

Epicor answers errors with ``{HttpStatus, ReasonPhrase, ErrorMessage, ErrorType, ErrorDetails,
CorrelationId}`` [reference/epicor.md §3]; the OData-standard ``{"error": {"code", "message"}}``
shape is read too, defensively, as one peer client does, and so is the OAuth2 token endpoint's
``{"error", "error_description"}`` (RFC 6749 §5.2). Anything else (HTML from a proxy, an
empty body) is quoted, shortened. Every message passes through :func:`mlc.logs.redact`, so a
secret echoed by a server never reaches a log or a terminal.

The families follow the fatal / retriable split of the reference SDKs: the HTTP layer has
already retried what could be retried by the time one of these is raised, so every one of them is
final for the call that raised it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from mlc.errors import MlcError
from mlc.logs import redact

_MAX_BODY_QUOTE = 300


class EpicorError(MlcError):
    """A failed Epicor call: ``call`` is ``METHOD /path``, ``status`` the HTTP status (0: none)."""

    def __init__(
        self,
        message: str,
        *,
        call: str = "",
        status: int = 0,
        error_type: str = "",
        correlation_id: str = "",
        details: Sequence[str] = (),
    ) -> None:
        super().__init__(redact(message))
        self.call = call
        self.status = status
        self.error_type = error_type
        self.correlation_id = correlation_id
        self.details = tuple(redact(detail) for detail in details)


class EpicorAuthError(EpicorError):
    """Credentials, API key or scope rejected (401/403), or a token could not be obtained."""


class EpicorNotFound(EpicorError):
    """404, or Epicor's ``RecordNotFoundException``."""


class EpicorConflict(EpicorError):
    """409 ``DuplicateRecordException``: the row already exists."""


class EpicorRequestError(EpicorError):
    """Epicor refused the request (400: bad ``$filter``, business-logic exception, …)."""


class EpicorLicenseUnavailable(EpicorError):
    """No web-service license free: HTTP 400 ``LicenseAccessException`` / "Maximum users
    exceeded" [reference/epicor.md §2]. Transient: the run should be retried later (a
    practitioner backs off 30 s → 480 s), not the request at once."""


class EpicorServerError(EpicorError):
    """5xx after the HTTP layer's retries, or another status the client does not expect."""


class EpicorProtocolError(EpicorError):
    """Epicor answered 2xx with something this client cannot use (bad JSON, paging anomaly)."""


class _Detail(msgspec.Struct):
    Message: str = ""
    Table: str = ""
    Field: str = ""


class _EpicorBody(msgspec.Struct):
    ErrorMessage: str = ""
    ErrorType: str = ""
    ReasonPhrase: str = ""
    CorrelationId: str = ""
    ErrorDetails: list[_Detail] | None = None


class _ODataInner(msgspec.Struct):
    code: str = ""
    message: str = ""


class _ODataBody(msgspec.Struct):
    error: _ODataInner | None = None


class _OAuthErrorBody(msgspec.Struct):
    """RFC 6749 §5.2, what an identity provider's token endpoint answers."""

    error: str
    error_description: str = ""


_EPICOR_DECODER = msgspec.json.Decoder(_EpicorBody)
_ODATA_DECODER = msgspec.json.Decoder(_ODataBody)
_OAUTH_DECODER = msgspec.json.Decoder(_OAuthErrorBody)


def _family(status: int, error_type: str, message: str = "") -> type[EpicorError]:
    if error_type.endswith("LicenseAccessException") or "maximum users exceeded" in message.lower():
        return EpicorLicenseUnavailable
    if status in (401, 403) or error_type.endswith("UnauthorizedAccessException"):
        return EpicorAuthError
    if status == 404 or error_type.endswith("RecordNotFoundException"):
        return EpicorNotFound
    if status == 409 or error_type.endswith("DuplicateRecordException"):
        return EpicorConflict
    if 400 <= status < 500:
        return EpicorRequestError
    return EpicorServerError


def _describe_detail(detail: _Detail, message: str) -> str:
    """``Table.Field: message``; only ``Table.Field`` when it repeats the main message."""
    where = ".".join(part for part in (detail.Table, detail.Field) if part)
    if detail.Message == message or not detail.Message:
        return where
    return f"{where}: {detail.Message}" if where else detail.Message


def _quote_body(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())
    if len(text) > _MAX_BODY_QUOTE:
        text = text[:_MAX_BODY_QUOTE] + "…"
    return text


def error_from_response(
    call: str,
    status: int,
    reason: str,
    body: bytes,
    *,
    kind: type[EpicorError] | None = None,
    note: str = "",
) -> EpicorError:
    """The exception for an Epicor error response to ``call`` (``epicor.main: GET /…``).

    ``kind`` overrides the family chosen from the status (a token endpoint's 400 is an
    authentication failure); ``note`` is appended (the query options of a refused list call).
    """
    head = f"{call} → {status} {reason}".rstrip()
    suffix = f" ({note})" if note else ""
    epicor = _decode(_EPICOR_DECODER, body)
    if isinstance(epicor, _EpicorBody) and (epicor.ErrorMessage or epicor.ErrorType):
        described = (_describe_detail(d, epicor.ErrorMessage) for d in epicor.ErrorDetails or ())
        details = [d for d in dict.fromkeys(described) if d]
        parts = [f"{head}: {epicor.ErrorMessage or epicor.ReasonPhrase}"]
        if epicor.ErrorType:
            parts.append(f"[{epicor.ErrorType}]")
        if details:
            parts.append("(" + "; ".join(details) + ")")
        if epicor.CorrelationId:
            parts.append(f"correlation id {epicor.CorrelationId}")
        return (kind or _family(status, epicor.ErrorType, epicor.ErrorMessage))(
            " ".join(parts) + suffix,
            call=call,
            status=status,
            error_type=epicor.ErrorType,
            correlation_id=epicor.CorrelationId,
            details=details,
        )
    odata = _decode(_ODATA_DECODER, body)
    if isinstance(odata, _ODataBody) and odata.error is not None:
        code = f" [{odata.error.code}]" if odata.error.code else ""
        return (kind or _family(status, odata.error.code, odata.error.message))(
            f"{head}: {odata.error.message}{code}{suffix}",
            call=call,
            status=status,
            error_type=odata.error.code,
        )
    oauth = _decode(_OAUTH_DECODER, body)
    if isinstance(oauth, _OAuthErrorBody) and oauth.error:
        description = f": {oauth.error_description}" if oauth.error_description else ""
        return (kind or _family(status, ""))(
            f"{head}: {oauth.error}{description}{suffix}", call=call, status=status
        )
    quoted = _quote_body(body)
    message = (f"{head}: {quoted}" if quoted else head) + suffix
    return (kind or _family(status, "", quoted))(message, call=call, status=status)


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> object:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError:
        return None
