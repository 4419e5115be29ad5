"""Authentication API host: basic, certificate (v1 and v2), refresh, validate, logout, expiry."""

from __future__ import annotations

import base64
import datetime
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sandbox.anaplan.support import Sandbox, SandboxFactory

pytestmark = pytest.mark.anyio


def _sign(key_pem: str, data: bytes) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA512())).decode()


def _cert_header(cert_pem: str, der: bool = False) -> dict[str, str]:
    if der:
        raw = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
    else:
        raw = cert_pem.encode()
    return {"Authorization": "CACertificate " + base64.b64encode(raw).decode()}


async def test_basic_authenticate_answers_201_with_token_info(sandbox: Sandbox) -> None:
    before = (await sandbox.control("GET", "/clock"))["time"]
    async with sandbox.http.post(
        f"{sandbox.auth}/token/authenticate", headers=sandbox.basic()
    ) as response:
        assert response.status == 201
        body = await response.json()
    assert body["status"] == "SUCCESS"
    assert body["statusMessage"] == "Login successful"
    assert body["meta"]["validationUrl"] == f"{sandbox.auth}/token/validate"
    info = body["tokenInfo"]
    assert set(info) >= {"tokenId", "tokenValue", "expiresAt", "refreshTokenId"}
    after = (await sandbox.control("GET", "/clock"))["time"]
    issued_at = info["expiresAt"] / 1000 - 2100
    assert before - 0.001 <= issued_at <= after + 0.001, "35 minutes of sandbox time"
    assert len(info["tokenId"]) == 36 and info["tokenId"].count("-") == 4


async def test_wrong_password_is_401_bad_credential(sandbox: Sandbox) -> None:
    headers = sandbox.basic(password="not-the-password")
    async with sandbox.http.post(f"{sandbox.auth}/token/authenticate", headers=headers) as r:
        assert r.status == 401
        assert (await r.json())["status"] == "FAILURE_BAD_CREDENTIAL"


async def test_malformed_header_is_400_bad_header(sandbox: Sandbox) -> None:
    for header in ("Basic !!!notbase64", "Token abc", ""):
        async with sandbox.http.post(
            f"{sandbox.auth}/token/authenticate", headers={"Authorization": header}
        ) as r:
            assert r.status == 400, header
            assert (await r.json())["status"] == "FAILURE_BAD_HEADER"


async def test_validate_refresh_and_logout(sandbox: Sandbox) -> None:
    token = await sandbox.login()
    anaplan = {"Authorization": f"AnaplanAuthToken {token}"}
    async with sandbox.http.get(f"{sandbox.auth}/token/validate", headers=anaplan) as r:
        assert r.status == 200
        body = await r.json()
    assert body["statusMessage"] == "Token validated"
    assert body["userInfo"]["userId"] == sandbox.info["user"]
    assert len(body["userInfo"]["userGuid"]) == 32
    first_expiry = body["tokenInfo"]["expiresAt"]

    await sandbox.advance(600)
    async with sandbox.http.post(f"{sandbox.auth}/token/refresh", headers=anaplan) as r:
        assert r.status == 200
        refreshed = await r.json()
    assert refreshed["statusMessage"] == "Token refreshed"
    assert refreshed["tokenInfo"]["tokenValue"] == token
    assert refreshed["tokenInfo"]["expiresAt"] >= first_expiry + 600_000 - 1000

    async with sandbox.http.post(f"{sandbox.auth}/token/logout", headers=anaplan) as r:
        assert r.status == 204
    async with sandbox.http.get(f"{sandbox.auth}/token/validate", headers=anaplan) as r:
        assert r.status == 401
    async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=anaplan) as r:
        assert r.status == 401
        error = await r.json()
    assert error["status"] == {"code": 401, "message": "Unauthorized"}


async def test_bearer_rejected_on_auth_host_but_accepted_on_api(sandbox: Sandbox) -> None:
    token = await sandbox.login()
    bearer = {"Authorization": f"Bearer {token}"}
    async with sandbox.http.get(f"{sandbox.auth}/token/validate", headers=bearer) as r:
        assert r.status == 400
    async with sandbox.http.post(f"{sandbox.auth}/token/refresh", headers=bearer) as r:
        assert r.status == 400
    async with sandbox.http.post(f"{sandbox.auth}/token/logout", headers=bearer) as r:
        assert r.status == 401
    async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=bearer) as r:
        assert r.status == 200
    async with sandbox.http.get(f"{sandbox.cloudworks}/integrations", headers=bearer) as r:
        assert r.status == 200


async def test_token_expires_after_its_lifetime_of_sandbox_time(
    make_sandbox: SandboxFactory,
) -> None:
    async with make_sandbox(token_lifetime_seconds=30) as sb:
        headers = await sb.headers()
        async with sb.http.get(f"{sb.api}/workspaces", headers=headers) as r:
            assert r.status == 200
        await sb.advance(29)
        async with sb.http.get(f"{sb.api}/workspaces", headers=headers) as r:
            assert r.status == 200
        await sb.advance(2)
        async with sb.http.get(f"{sb.api}/workspaces", headers=headers) as r:
            assert r.status == 401
        async with sb.http.post(f"{sb.auth}/token/refresh", headers=headers) as r:
            assert r.status == 401
            assert (await r.json())["status"] == "FAILURE_BAD_CREDENTIAL"


@pytest.mark.parametrize("der", [False, True], ids=["pem-in-header", "der-in-header"])
async def test_certificate_v1_authenticates(sandbox: Sandbox, der: bool) -> None:
    data = os.urandom(150)
    body = {
        "encodedData": base64.b64encode(data).decode(),
        "encodedSignedData": _sign(sandbox.info["private_key_pem"], data),
    }
    headers = _cert_header(sandbox.info["certificate_pem"], der)
    async with sandbox.http.post(
        f"{sandbox.auth}/token/authenticate", headers=headers, json=body
    ) as r:
        assert r.status == 201, await r.text()
        token = (await r.json())["tokenInfo"]["tokenValue"]
    async with sandbox.http.get(
        f"{sandbox.auth}/token/validate", headers={"Authorization": f"AnaplanAuthToken {token}"}
    ) as r:
        assert (await r.json())["userInfo"]["userId"] == sandbox.info["user"]


async def test_certificate_with_wrong_signature_is_rejected(sandbox: Sandbox) -> None:
    data = os.urandom(150)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = other_key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    body = {
        "encodedData": base64.b64encode(data).decode(),
        "encodedSignedData": base64.b64encode(forged).decode(),
    }
    headers = _cert_header(sandbox.info["certificate_pem"])
    async with sandbox.http.post(
        f"{sandbox.auth}/token/authenticate", headers=headers, json=body
    ) as r:
        assert r.status == 401
        assert (await r.json())["status"] == "FAILURE_BAD_CREDENTIAL"
    tampered = {
        **body,
        "encodedSignedData": _sign(sandbox.info["private_key_pem"], data[:-1] + b"x"),
    }
    async with sandbox.http.post(
        f"{sandbox.auth}/token/authenticate", headers=headers, json=tampered
    ) as r:
        assert r.status == 401


async def test_certificate_v2_needs_a_fresh_timestamp_and_no_replay(sandbox: Sandbox) -> None:
    clock = await sandbox.control("GET", "/clock")
    headers = _cert_header(sandbox.info["certificate_pem"])

    def payload(stamp: float) -> dict[str, str]:
        data = int(stamp).to_bytes(8, "big") + os.urandom(120)
        return {
            "encodedDataFormat": "v2",
            "encodedData": base64.b64encode(data).decode(),
            "encodedSignedData": _sign(sandbox.info["private_key_pem"], data),
        }

    fresh = payload(clock["time"])
    url = f"{sandbox.auth}/token/authenticate"
    async with sandbox.http.post(url, headers=headers, json=fresh) as r:
        assert r.status == 201, await r.text()
    async with sandbox.http.post(url, headers=headers, json=fresh) as r:
        assert r.status == 401, "a v2 payload must not be accepted twice"
    async with sandbox.http.post(url, headers=headers, json=payload(clock["time"] - 3600)) as r:
        assert r.status == 401, "a stale v2 timestamp must be rejected"


async def test_certificate_from_an_unknown_ca_is_rejected(sandbox: Sandbox) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, sandbox.info["user"])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    data = os.urandom(150)
    body = {
        "encodedData": base64.b64encode(data).decode(),
        "encodedSignedData": _sign(key_pem, data),
    }
    async with sandbox.http.post(
        f"{sandbox.auth}/token/authenticate", headers=_cert_header(pem), json=body
    ) as r:
        assert r.status == 401
