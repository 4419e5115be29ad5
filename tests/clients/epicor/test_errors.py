"""Epicor error bodies become exceptions that name the call and say what Epicor said."""

from __future__ import annotations

import json

import pytest

from mlc.epicor.errors import (
    EpicorAuthError,
    EpicorConflict,
    EpicorLicenseUnavailable,
    EpicorNotFound,
    EpicorRequestError,
    EpicorServerError,
    error_from_response,
)
from mlc.logs import register_secret

CALL = "epicor.test: GET /ERP11/api/v2/odata/EPIC06/Erp.BO.GLAccountSvc/GLAccounts"


def epicor_body(status: int, message: str, error_type: str, **extra: object) -> bytes:
    body = {
        "HttpStatus": status,
        "ReasonPhrase": "REST API Exception",
        "ErrorMessage": message,
        "ErrorType": error_type,
        "ErrorDetails": [{"Message": message, "Type": "Error", "Table": "", "Field": ""}],
        "CorrelationId": "abc-123",
        **extra,
    }
    return json.dumps(body).encode()


def test_epicor_body_names_call_message_type_and_correlation() -> None:
    body = epicor_body(
        400,
        "Could not find a property named 'Nope' on type 'Erp.Tablesets.GLAccountRow'.",
        "Microsoft.OData.ODataException",
    )
    error = error_from_response(CALL, 400, "Bad Request", body, note="$filter=Nope eq 1")
    assert isinstance(error, EpicorRequestError)
    assert str(error) == (
        f"{CALL} → 400 Bad Request: Could not find a property named 'Nope' on type "
        "'Erp.Tablesets.GLAccountRow'. [Microsoft.OData.ODataException] correlation id abc-123 "
        "($filter=Nope eq 1)"
    )
    assert error.status == 400
    assert error.error_type == "Microsoft.OData.ODataException"
    assert error.correlation_id == "abc-123"


def test_details_name_table_and_field() -> None:
    body = epicor_body(
        400,
        "Order 123 not found.",
        "Ice.Common.BusinessObjectException",
        ErrorDetails=[
            {"Message": "Order 123 not found.", "Table": "OrderHed", "Field": "OrderNum"},
            {"Message": "Second problem.", "Table": "OrderDtl", "Field": ""},
        ],
    )
    error = error_from_response(CALL, 400, "Bad Request", body)
    assert error.details == ("OrderHed.OrderNum", "OrderDtl: Second problem.")
    assert "(OrderHed.OrderNum; OrderDtl: Second problem.)" in str(error)


@pytest.mark.parametrize(
    ("status", "error_type", "message", "family"),
    [
        (401, "Epicor.RESTApi.ErrorHandling.ApiException", "Invalid API key.", EpicorAuthError),
        (403, "Ice.Common.UnauthorizedAccessException", "Not in scope.", EpicorAuthError),
        (404, "Ice.Common.RecordNotFoundException", "Record not found.", EpicorNotFound),
        (400, "Ice.Common.RecordNotFoundException", "Record not found.", EpicorNotFound),
        (409, "Ice.Common.DuplicateRecordException", "Already exists.", EpicorConflict),
        (
            400,
            "Ice.Common.LicenseAccessException",
            "Maximum users exceeded",
            EpicorLicenseUnavailable,
        ),
        (503, "ConversionsPendingException", "Conversions pending.", EpicorServerError),
    ],
)
def test_families_follow_status_and_error_type(
    status: int, error_type: str, message: str, family: type[Exception]
) -> None:
    error = error_from_response(CALL, status, "", epicor_body(status, message, error_type))
    assert type(error) is family
    assert message in str(error)


def test_odata_standard_error_shape_is_read() -> None:
    body = b'{"error": {"code": "BadRequest", "message": "The query is malformed."}}'
    error = error_from_response(CALL, 400, "Bad Request", body)
    assert isinstance(error, EpicorRequestError)
    assert str(error) == f"{CALL} → 400 Bad Request: The query is malformed. [BadRequest]"


def test_other_bodies_are_quoted_shortened_and_redacted() -> None:
    register_secret("hunter2-secret-value")
    body = b"<html><body>Proxy says no: hunter2-secret-value " + b"x" * 1000 + b"</body></html>"
    error = error_from_response(CALL, 502, "Bad Gateway", body)
    assert isinstance(error, EpicorServerError)
    text = str(error)
    assert "hunter2-secret-value" not in text
    assert "Proxy says no: ***" in text
    assert len(text) < len(CALL) + 400
    assert str(error_from_response(CALL, 500, "Internal Server Error", b"")) == (
        f"{CALL} → 500 Internal Server Error"
    )


def test_oauth_error_with_kind_override_for_token_endpoints() -> None:
    body = b'{"error": "invalid_client", "error_description": "Unknown client."}'
    error = error_from_response(CALL, 400, "Bad Request", body, kind=EpicorAuthError, note="n")
    assert isinstance(error, EpicorAuthError)
    assert str(error) == f"{CALL} → 400 Bad Request: invalid_client: Unknown client. (n)"
