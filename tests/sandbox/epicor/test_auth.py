"""Authentication: API key with Basic or bearer; both token endpoints; expiry by sandbox clock."""

from __future__ import annotations

import base64
import json

import pytest

from tests.sandbox.epicor.support import BALANCES, Epicor, basic

pytestmark = pytest.mark.anyio

ACCOUNTS = "Erp.BO.GLAccountSvc/GLAccounts"


def assert_epicor_error(body: dict[str, object], status: int, error_type: str) -> None:
    assert body["HttpStatus"] == status
    assert body["ReasonPhrase"] == "REST API Exception"
    assert body["ErrorType"] == error_type
    assert isinstance(body["ErrorMessage"], str) and body["ErrorMessage"]
    assert isinstance(body["ErrorDetails"], list) and body["ErrorDetails"]
    assert isinstance(body["CorrelationId"], str)


async def test_401_without_the_api_key_even_with_good_credentials(epicor: Epicor) -> None:
    headers = epicor.headers()
    del headers["x-api-key"]
    reply = await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=headers)
    assert reply.status == 401
    assert_epicor_error(reply.body, 401, "Epicor.RESTApi.ErrorHandling.ApiException")
    assert "API key" in reply.body["ErrorMessage"]


async def test_wrong_api_key_is_401(epicor: Epicor) -> None:
    headers = epicor.headers(**{"x-api-key": "not-the-key"})
    reply = await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=headers)
    assert reply.status == 401
    assert reply.body["ErrorMessage"] == "Invalid API key."


async def test_api_key_as_query_parameter_and_header_name_in_any_case(epicor: Epicor) -> None:
    headers = epicor.headers()
    key = headers.pop("x-api-key")
    by_query = await epicor.call(
        "GET", f"{epicor.odata}/{ACCOUNTS}", params={"api-key": key, "$top": "1"}, headers=headers
    )
    assert by_query.status == 200
    by_header = await epicor.call(
        "GET",
        f"{epicor.odata}/{ACCOUNTS}",
        params={"$top": "1"},
        headers={**headers, "X-API-Key": key},
    )
    assert by_header.status == 200


async def test_api_key_alone_is_not_enough(epicor: Epicor) -> None:
    headers = epicor.headers()
    del headers["Authorization"]
    reply = await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=headers)
    assert reply.status == 401


async def test_wrong_password_is_401_and_user_name_case_does_not_matter(epicor: Epicor) -> None:
    user, password = epicor.section["user"], epicor.section["password"]
    wrong = epicor.headers(Authorization=basic(user, password + "x"))
    reply = await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=wrong)
    assert reply.status == 401
    assert_epicor_error(reply.body, 401, "Epicor.RESTApi.ErrorHandling.ApiException")
    upper = epicor.headers(Authorization=basic(user.upper(), password))
    assert (await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=upper)).status == 200


async def test_unknown_company_is_404_in_epicor_body(epicor: Epicor) -> None:
    url = f"{epicor.section['base_url']}/api/v2/odata/000000/{ACCOUNTS}"
    reply = await epicor.call("GET", url)
    assert reply.status == 404
    assert_epicor_error(reply.body, 404, "Epicor.RESTApi.ErrorHandling.ApiException")
    assert "000000" in reply.body["ErrorMessage"]


async def test_error_body_is_xml_when_the_client_asks_for_xml(epicor: Epicor) -> None:
    headers = epicor.headers(Accept="application/xml")
    del headers["x-api-key"]
    reply = await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=headers)
    assert reply.status == 401
    assert reply.text.startswith("<ErrorResponse><HttpStatus>401</HttpStatus>")


def _token_headers(
    epicor: Epicor, password: str | None = None, accept: bool = True
) -> dict[str, str]:
    headers = {
        "username": epicor.section["user"],
        "password": password or epicor.section["password"],
        "x-api-key": epicor.section["api_key"],
    }
    if accept:
        headers["Accept"] = "application/json"
    return headers


async def test_token_resource_bearer_works_until_the_sandbox_clock_expires_it(
    epicor: Epicor,
) -> None:
    reply = await epicor.call("POST", epicor.section["token_url"], headers=_token_headers(epicor))
    assert reply.status == 200
    assert reply.body["TokenType"] == "Bearer"
    assert reply.body["ExpiresIn"] == 3600
    token = reply.body["AccessToken"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["username"] == epicor.section["user"]
    assert claims["exp"] - claims["iat"] == 3600
    bearer = epicor.headers(Authorization=f"Bearer {token}")
    url = f"{epicor.odata}/{ACCOUNTS}"
    assert (await epicor.call("GET", url, params={"$top": "1"}, headers=bearer)).status == 200
    await epicor.control("POST", "clock", {"advance": 3599})
    assert (await epicor.call("GET", url, params={"$top": "1"}, headers=bearer)).status == 200
    await epicor.control("POST", "clock", {"advance": 2})
    expired = await epicor.call("GET", url, params={"$top": "1"}, headers=bearer)
    assert expired.status == 401
    assert "expired" in expired.body["ErrorMessage"]


async def test_token_resource_rejects_a_wrong_password_and_answers_xml_by_default(
    epicor: Epicor,
) -> None:
    url = epicor.section["token_url"]
    wrong = await epicor.call("POST", url, headers=_token_headers(epicor, password="nope"))
    assert wrong.status == 401
    xml = await epicor.call("POST", url, headers=_token_headers(epicor, accept=False))
    assert xml.status == 200
    assert xml.text.startswith("<Token") and "<AccessToken>" in xml.text


async def test_a_forged_bearer_is_401(epicor: Epicor) -> None:
    reply = await epicor.call("POST", epicor.section["token_url"], headers=_token_headers(epicor))
    head, body, _signature = reply.body["AccessToken"].split(".")
    forged = f"{head}.{body}.AAAA"
    headers = epicor.headers(Authorization=f"Bearer {forged}")
    assert (await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=headers)).status == 401


async def _idp_token(epicor: Epicor, **form: str) -> tuple[int, dict[str, object]]:
    async with epicor.http.post(f"{epicor.section['idp_token_url']}", data=form) as reply:
        return reply.status, await reply.json()


async def test_idp_client_credentials_token_reads_the_api(epicor: Epicor) -> None:
    status, body = await _idp_token(
        epicor,
        grant_type="client_credentials",
        client_id=epicor.section["client_id"],
        client_secret=epicor.section["client_secret"],
        scope="epicor_erp",
    )
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert "refresh_token" not in body
    headers = epicor.headers(Authorization=f"Bearer {body['access_token']}")
    reply = await epicor.call(
        "GET", f"{epicor.odata}/{BALANCES}", params={"$top": "2"}, headers=headers
    )
    assert reply.status == 200 and len(reply.body["value"]) == 2
    await epicor.control("POST", "clock", {"advance": 3601})
    assert (await epicor.call("GET", f"{epicor.odata}/{BALANCES}", headers=headers)).status == 401


async def test_idp_errors_follow_identity_server(epicor: Epicor) -> None:
    client = {"client_id": epicor.section["client_id"]}
    status, body = await _idp_token(
        epicor, grant_type="client_credentials", client_secret="wrong", **client
    )
    assert (status, body["error"]) == (400, "invalid_client")
    secret = {"client_secret": epicor.section["client_secret"], **client}
    status, body = await _idp_token(epicor, grant_type="authorization_code", **secret)
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body = await _idp_token(
        epicor, grant_type="client_credentials", scope="admin", **secret
    )
    assert (status, body["error"]) == (400, "invalid_scope")


async def test_idp_client_may_authenticate_with_basic(epicor: Epicor) -> None:
    header = basic(epicor.section["client_id"], epicor.section["client_secret"])
    async with epicor.http.post(
        epicor.section["idp_token_url"],
        data={"grant_type": "client_credentials"},
        headers={"Authorization": header},
    ) as reply:
        assert reply.status == 200
        assert (await reply.json())["access_token"]


async def test_idp_password_grant_refreshes_and_a_refresh_token_is_not_a_bearer(
    epicor: Epicor,
) -> None:
    secret = {
        "client_id": epicor.section["client_id"],
        "client_secret": epicor.section["client_secret"],
    }
    status, body = await _idp_token(
        epicor,
        grant_type="password",
        username=epicor.section["user"],
        password=epicor.section["password"],
        scope="openid email epicor_erp",
        **secret,
    )
    assert status == 200
    refresh = str(body["refresh_token"])
    misuse = epicor.headers(Authorization=f"Bearer {refresh}")
    assert (await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=misuse)).status == 401
    status, renewed = await _idp_token(
        epicor, grant_type="refresh_token", refresh_token=refresh, **secret
    )
    assert status == 200 and renewed["access_token"] != body["access_token"]
    status, bad = await _idp_token(
        epicor, grant_type="password", username=epicor.section["user"], password="x", **secret
    )
    assert (status, bad["error"]) == (400, "invalid_grant")


async def test_token_lifetime_fault_shortens_new_tokens(epicor: Epicor) -> None:
    await epicor.control("POST", "faults", {"kind": "token_lifetime", "seconds": 30})
    reply = await epicor.call("POST", epicor.section["token_url"], headers=_token_headers(epicor))
    assert reply.body["ExpiresIn"] == 30
    bearer = epicor.headers(Authorization=f"Bearer {reply.body['AccessToken']}")
    await epicor.control("POST", "clock", {"advance": 31})
    assert (await epicor.call("GET", f"{epicor.odata}/{ACCOUNTS}", headers=bearer)).status == 401
    await epicor.control("DELETE", "faults")
    again = await epicor.call("POST", epicor.section["token_url"], headers=_token_headers(epicor))
    assert again.body["ExpiresIn"] == 3600
