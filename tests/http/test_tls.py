"""TLS is verified by default; a failed verification is not retried."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mlc.http import ConnectionFailed, HttpConnection
from tests.http.support import RecordingClock

pytestmark = pytest.mark.anyio


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@asynccontextmanager
async def https_server(cert: Path, key: Path) -> AsyncIterator[str]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="secure")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_untrusted_certificate_fails_without_retry(tmp_path: Path) -> None:
    clock = RecordingClock()
    cert, key = self_signed(tmp_path)
    async with (
        https_server(cert, key) as url,
        HttpConnection("epicor.onprem", url, clock=clock) as http,
    ):
        with pytest.raises(ConnectionFailed, match="TLS certificate not accepted") as caught:
            await http.request("GET", "/hello", route="/hello")

    assert clock.sleeps == []
    assert caught.value.attempts == 1


async def test_a_private_ca_can_be_trusted_and_verification_can_be_disabled(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    async with https_server(cert, key) as url:
        async with HttpConnection("epicor.onprem", url, ssl_context=trusted) as http:
            assert (await http.request("GET", "/hello", route="/hello")).body == b"secure"
        async with HttpConnection("epicor.onprem", url, verify_tls=False) as http:
            assert (await http.request("GET", "/hello", route="/hello")).body == b"secure"
