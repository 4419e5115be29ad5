"""Epicor's REST error body, and the exceptions that produce it.

Shape [ALE test fixture, KB]::

    {"HttpStatus": 400, "ReasonPhrase": "REST API Exception", "ErrorMessage": "…",
     "ErrorType": "Ice.Common.BusinessObjectException",
     "ErrorDetails": [{"Message": "…", "Type": "Error", "Table": "…", "Field": "…"}],
     "CorrelationId": "…"}

``ReasonPhrase`` is spelt "REST API Exception" as in the [ALE] fixture ([KB] writes "REST Api
Exception"; clients should not depend on either). The body is XML with the same element names when
the request's ``Accept`` asks for XML and not JSON [ALE, KB].

Error types by layer [KB]: ``Epicor.RESTApi.ErrorHandling.ApiException`` for the REST layer (bad
URL, unknown service, API key), ``Ice.Common.BusinessObjectException`` for business logic,
``Microsoft.OData.ODataException`` for a malformed query (the reference names it
``ODataException``; the namespace is that of the Microsoft OData library the v2 layer is built on —
a decision, unverified).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from aiohttp import web

API_EXCEPTION = "Epicor.RESTApi.ErrorHandling.ApiException"
BO_EXCEPTION = "Ice.Common.BusinessObjectException"
ODATA_EXCEPTION = "Microsoft.OData.ODataException"
NOT_FOUND_EXCEPTION = "Ice.Common.RecordNotFoundException"
DUPLICATE_EXCEPTION = "Ice.Common.DuplicateRecordException"
LICENSE_EXCEPTION = "Ice.Common.LicenseAccessException"
REASON_PHRASE = "REST API Exception"


@dataclass(frozen=True)
class Detail:
    message: str
    table: str = ""
    field: str = ""


@dataclass
class EpicorError(Exception):
    """Raised anywhere in a handler; the error middleware turns it into Epicor's body."""

    status: int
    message: str
    error_type: str = BO_EXCEPTION
    details: Sequence[Detail] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"


def bad_query(message: str) -> EpicorError:
    return EpicorError(400, message, ODATA_EXCEPTION)


def business(message: str, table: str = "", field_name: str = "") -> EpicorError:
    return EpicorError(400, message, BO_EXCEPTION, (Detail(message, table, field_name),))


def not_found(message: str, table: str = "") -> EpicorError:
    return EpicorError(404, message, NOT_FOUND_EXCEPTION, (Detail(message, table),))


def api_error(status: int, message: str) -> EpicorError:
    return EpicorError(status, message, API_EXCEPTION)


def _wants_xml(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "").lower()
    return "xml" in accept and "json" not in accept


def error_response(request: web.Request, error: EpicorError) -> web.Response:
    details = [
        {"Message": d.message, "Type": "Error", "Table": d.table, "Field": d.field}
        for d in error.details
    ] or [{"Message": error.message, "Type": "Error", "Table": "", "Field": ""}]
    correlation = str(uuid.uuid4())
    if _wants_xml(request):
        items = "".join(
            "<ErrorDetail>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items())
            + "</ErrorDetail>"
            for item in details
        )
        text = (
            "<ErrorResponse>"
            f"<HttpStatus>{error.status}</HttpStatus>"
            f"<ReasonPhrase>{REASON_PHRASE}</ReasonPhrase>"
            f"<ErrorMessage>{escape(error.message)}</ErrorMessage>"
            f"<ErrorType>{escape(error.error_type)}</ErrorType>"
            f"<ErrorDetails>{items}</ErrorDetails>"
            f"<CorrelationId>{correlation}</CorrelationId>"
            "</ErrorResponse>"
        )
        return web.Response(status=error.status, text=text, content_type="application/xml")
    body = {
        "HttpStatus": error.status,
        "ReasonPhrase": REASON_PHRASE,
        "ErrorMessage": error.message,
        "ErrorType": error.error_type,
        "ErrorDetails": details,
        "CorrelationId": correlation,
    }
    return web.json_response(body, status=error.status)
