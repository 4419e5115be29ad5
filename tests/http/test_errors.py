"""Error messages name the call and never carry secrets; logs neither."""

from __future__ import annotations

import logging

import pytest

from mlc.http import HttpClientError, HttpConnection, InvalidResponse, OutcomeUnknown
from mlc.logs import register_secret
from tests.http.support import RawServer, RecordingClock, Script, TokenAuth, drop, reply, serve

pytestmark = pytest.mark.anyio

REGISTERED = "vault-secret-client-credential-9f2c"
API_KEY = "api-key-never-registered-7781"


async def test_secrets_in_headers_urls_and_echoed_bodies_never_reach_the_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret(REGISTERED)
    auth = TokenAuth(prefix="bearer-token-value")
    echo = (
        f"bad request: Authorization=Bearer {auth.token} x-api-key={API_KEY} "
        f"client_secret={REGISTERED}"
    )
    script = Script([reply(503, "retry me"), reply(400, echo)])
    caplog.set_level(logging.DEBUG, logger="mlc.http")
    async with serve(script) as url:
        async with HttpConnection("epicor.main", url, clock=RecordingClock()) as http:
            with pytest.raises(HttpClientError) as caught:
                await http.request(
                    "GET",
                    "/api/v2/odata/EPIC06/GLAccts",
                    route="/api/v2/odata/{company}/GLAccts",
                    params={"password": "hunter2-query-secret", "token": REGISTERED},
                    headers={"x-api-key": API_KEY},
                    auth=auth,
                )

    text = f"{caught.value} {caught.value.body_excerpt} {caught.value.path}"
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert caplog.records
    for secret in (auth.token, API_KEY, REGISTERED, "hunter2-query-secret"):
        assert secret not in text
        assert secret not in logged
    assert str(caught.value).startswith(
        "epicor.main: GET /api/v2/odata/EPIC06/GLAccts → 400 Bad Request: bad request:"
    )
    assert "***" in caught.value.body_excerpt
    assert script.seen[0].query.startswith("password=hunter2")  # the server did receive it
    retry_logs = [r for r in caplog.records if r.getMessage() == "http_retry"]
    assert [(r.route, r.status, r.attempt) for r in retry_logs] == [  # type: ignore[attr-defined]
        ("/api/v2/odata/{company}/GLAccts", 503, 1)
    ]


async def test_a_secret_in_the_path_is_masked() -> None:
    register_secret(REGISTERED)
    server = RawServer([drop])
    async with server.running() as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http:
            with pytest.raises(OutcomeUnknown) as caught:
                await http.request("POST", f"/token/{REGISTERED}/refresh", route="/token/refresh")

    assert REGISTERED not in str(caught.value)
    assert caught.value.path == "/token/***/refresh"


async def test_body_excerpt_is_one_line_and_bounded() -> None:
    body = "line one\n\n   line two " + "x" * 5000
    script = Script([reply(422, body)])
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http:
            with pytest.raises(HttpClientError) as caught:
                await http.request("POST", "/x", route="/x")

    excerpt = caught.value.body_excerpt
    assert excerpt.startswith("line one line two xxx")
    assert len(excerpt) == 500
    assert excerpt.endswith("…")
    assert "\n" not in str(caught.value)


async def test_unexpected_redirects_are_not_followed() -> None:
    script = Script([reply(302, "", {"Location": "http://elsewhere.invalid/steal"})])
    async with serve(script) as url:
        async with HttpConnection("workday.prod", url, clock=RecordingClock()) as http:
            with pytest.raises(Exception, match="→ 302 Found") as caught:
                await http.request("GET", "/ccx/x", route="/ccx/x", auth=TokenAuth())

    assert type(caught.value).__name__ == "HttpError"
    assert len(script.seen) == 1


async def test_invalid_json_names_the_call() -> None:
    script = Script([reply(200, "<html>maintenance</html>")])
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http:
            response = await http.request("GET", "/2/0/workspaces", route="/2/0/workspaces")

    with pytest.raises(InvalidResponse, match=r"^anaplan.fpa: GET /2/0/workspaces → 200 OK"):
        response.json()
