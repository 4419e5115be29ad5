"""Users, tokens and the Authentication API's credential checks (reference/anaplan.md §1).

Tokens: ``POST /token/authenticate`` issues a token that lives ``token_lifetime_seconds`` of
sandbox time (35 minutes by default — help 9e31aab4, OAuth ``expires_in`` 2100); ``/token/refresh``
extends it and keeps ``tokenValue`` and ``refreshTokenId`` (community spec, live); ``/token/logout``
revokes it at once. OAuth access tokens live in the same store so both header schemes work for
both kinds on the Integration and CloudWorks hosts.

CA certificate authentication (help 1493b16d, 465aed3f; community 156606): header
``CACertificate <base64 certificate>``, JSON body ``encodedData`` / ``encodedSignedData``, signature
SHA512withRSA (PKCS#1 v1.5 + SHA-512) over the *decoded* ``encodedData``. Decisions:

* the header's base64 may wrap the PEM text (what anaplan-sdk sends) or the DER bytes (the PEM body,
  what Anaplan's own examples show, ``MIIF…``): both are accepted;
* the certificate must chain to the sandbox's demo CA, be within its validity period on the sandbox
  clock, and name a known user by e-mail — the stand-in for "registered in Anaplan Administration";
* v1: ``encodedData`` must decode to at least 100 bytes;
* v2 (``"encodedDataFormat": "v2"``): ``encodedData`` is 8 bytes of big-endian Unix **seconds**
  (decoded from Anaplan's own example, ``00000000685a1fba`` = 2025-06-24) followed by at least 100
  random bytes; the timestamp must be within ``CERT_V2_WINDOW_SECONDS`` (5 minutes, either side) of
  the sandbox clock, and a payload cannot be used twice ("each authentication request must generate
  a fresh payload"). Anaplan publishes no window; 5 minutes is the usual signed-request skew;
* any other ``encodedDataFormat`` value, a body that is not JSON, missing fields or bad base64 →
  400 ``FAILURE_BAD_HEADER``; a bad signature, unknown or expired certificate, stale v2 timestamp or
  replayed payload → 401 ``FAILURE_BAD_CREDENTIAL``.

The community spec's body fields ``certificateChain``/``signature`` contradict Anaplan's own
documentation and are not accepted (reference §1: "treat as wrong").

Basic: a missing or malformed ``Authorization`` header → 400 ``FAILURE_BAD_HEADER``; unknown user
or wrong password → 401 ``FAILURE_BAD_CREDENTIAL`` (community spec ErrorResponse; message wording
unverified).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mlc.sandbox.anaplan import ids
from mlc.sandbox.anaplan.certs import certificate_email

CERT_V2_WINDOW_SECONDS = 300.0
MIN_RANDOM_BYTES = 100


class AuthFailure(Exception):
    def __init__(self, http_status: int, status: str, message: str) -> None:
        self.http_status = http_status
        self.status = status
        self.message = message
        super().__init__(message)


def bad_header(message: str = "Invalid header. Verify the header.") -> AuthFailure:
    return AuthFailure(400, "FAILURE_BAD_HEADER", message)


def bad_credential(message: str = "Invalid credentials. Verify the credentials.") -> AuthFailure:
    return AuthFailure(401, "FAILURE_BAD_CREDENTIAL", message)


@dataclass
class User:
    email: str
    password: str
    guid: str
    first_name: str
    last_name: str

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Token:
    value: str
    token_id: str
    refresh_token_id: str
    user: User
    expires_at: float
    kind: str  # "session" (Authentication API) or "oauth"
    revoked: bool = False
    refresh_token: str = field(default_factory=lambda: ids.opaque_token(24))

    def valid(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


class TokenStore:
    def __init__(self, lifetime_seconds: float) -> None:
        self.lifetime = lifetime_seconds
        self._tokens: dict[str, Token] = {}

    def issue(self, user: User, now: float, kind: str = "session") -> Token:
        token = Token(
            value=f"{ids.opaque_token(18)}.{ids.opaque_token(30)}",
            token_id=ids.hyphenated_uuid(),
            refresh_token_id=ids.hyphenated_uuid(),
            user=user,
            expires_at=now + self.lifetime,
            kind=kind,
        )
        self._tokens[token.value] = token
        return token

    def lookup(self, value: str, now: float) -> Token | None:
        token = self._tokens.get(value)
        if token is None or not token.valid(now):
            return None
        return token

    def refresh(self, token: Token, now: float) -> None:
        token.expires_at = now + self.lifetime

    def revoke(self, token: Token) -> None:
        token.revoked = True

    def clear(self) -> None:
        self._tokens.clear()


class Directory:
    """The tenant's users and the credential checks of ``/token/authenticate``."""

    def __init__(self, users: list[User], ca_certificate: x509.Certificate | None) -> None:
        self.users = {u.email: u for u in users}
        self.ca_certificate = ca_certificate
        self._seen_v2: dict[bytes, float] = {}

    def by_email(self, email: str) -> User | None:
        return self.users.get(email)

    def basic(self, header: str) -> User:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic" or not credentials.strip():
            raise bad_header()
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise bad_header() from None
        email, colon, password = decoded.partition(":")
        if not colon:
            raise bad_header()
        user = self.users.get(email)
        if user is None or not hmac.compare_digest(user.password, password):
            raise bad_credential()
        return user

    def certificate(self, header_value: str, body: object, now: float) -> User:
        cert = _parse_certificate(header_value)
        if not isinstance(body, dict):
            raise bad_header("Invalid request body. Expected encodedData and encodedSignedData.")
        fmt = body.get("encodedDataFormat", "v1")
        data = _b64_field(body, "encodedData")
        signature = _b64_field(body, "encodedSignedData")
        if fmt not in ("v1", "v2"):
            raise bad_header(f"Unsupported encodedDataFormat '{fmt}'.")
        self._check_registered(cert, now)
        public_key = cert.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise bad_credential("Certificate key is not RSA.")
        try:
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA512())
        except InvalidSignature:
            raise bad_credential("Signature verification failed.") from None
        if fmt == "v2":
            self._check_fresh(data, now)
        elif len(data) < MIN_RANDOM_BYTES:
            raise bad_credential(f"encodedData must be at least {MIN_RANDOM_BYTES} bytes.")
        email = certificate_email(cert)
        user = self.users.get(email or "")
        if user is None:
            raise bad_credential("Certificate is not registered to a user.")
        return user

    def _check_registered(self, cert: x509.Certificate, now: float) -> None:
        ca = self.ca_certificate
        if ca is None or cert.issuer != ca.subject:
            raise bad_credential("Certificate is not registered.")
        ca_key = ca.public_key()
        hash_algorithm = cert.signature_hash_algorithm
        if not isinstance(ca_key, rsa.RSAPublicKey) or hash_algorithm is None:
            raise bad_credential("Certificate is not registered.")
        try:
            ca_key.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_algorithm
            )
        except InvalidSignature:
            raise bad_credential("Certificate is not registered.") from None
        if not (
            cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp()
        ):
            raise bad_credential("Certificate has expired or is not yet valid.")

    def _check_fresh(self, data: bytes, now: float) -> None:
        if len(data) < 8 + MIN_RANDOM_BYTES:
            raise bad_credential(
                f"encodedData (v2) must be an 8-byte timestamp and {MIN_RANDOM_BYTES} random bytes."
            )
        stamp = int.from_bytes(data[:8], "big")
        if abs(now - stamp) > CERT_V2_WINDOW_SECONDS:
            raise bad_credential("encodedData timestamp is not current.")
        for digest, seen in list(self._seen_v2.items()):
            if now - seen > 2 * CERT_V2_WINDOW_SECONDS:
                del self._seen_v2[digest]
        digest = hashlib.sha256(data).digest()
        if digest in self._seen_v2:
            raise bad_credential("encodedData has already been used.")
        self._seen_v2[digest] = now


def _b64_field(body: dict[object, object], name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise bad_header(f"Missing {name}.")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise bad_header(f"{name} is not valid base64.") from None


def _parse_certificate(header_value: str) -> x509.Certificate:
    try:
        raw = base64.b64decode("".join(header_value.split()), validate=True)
    except binascii.Error:
        raise bad_header("Invalid CACertificate header.") from None
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        raise bad_header("Invalid CACertificate header.") from None
