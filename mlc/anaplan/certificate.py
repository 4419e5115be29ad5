"""CA-certificate authentication: the header and the signed body of ``POST /token/authenticate``.

Protocol (reference §1 "CA certificate auth", Anaplan help 1493b16d and 465aed3f):

* header ``Authorization: CACertificate <base64 of the PEM certificate>``;
* body ``{"encodedData": b64(data), "encodedSignedData": b64(signature)}`` where ``data`` is at
  least 100 random bytes, fresh for every request, and the signature is SHA512withRSA
  (RSA PKCS#1 v1.5 over SHA-512), as anaplan-sdk and Anaplan Connect compute it;
* the **v2** scheme adds ``"encodedDataFormat": "v2"`` and prefixes ``data`` with an 8-byte
  timestamp. The byte order and unit are read from the decoded example in the docs
  (``00000000685a1fba`` = big-endian Unix seconds); Anaplan does not state them. v2 becomes
  mandatory in 2026; v1 is kept for tenants that have not switched.
"""

from __future__ import annotations

import base64
import secrets
import struct
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mlc.errors import UsageError

#: anaplan-sdk signs 150 random bytes; Anaplan asks for at least 100.
RANDOM_BYTES = 150

CertificateFormat = Literal["v2", "v1"]


class CertificateSigner:
    """Holds a certificate and its RSA private key; builds one fresh login body per call.

    :raises UsageError: the certificate or key cannot be read (the message names the
        connection, never the key material).
    """

    def __init__(
        self,
        connection: str,
        certificate_pem: bytes,
        private_key_pem: bytes,
        key_password: bytes | None = None,
        data_format: CertificateFormat = "v2",
    ) -> None:
        try:
            x509.load_pem_x509_certificate(certificate_pem)
        except ValueError:
            raise UsageError(
                f"{connection}: the certificate is not a PEM X.509 certificate"
            ) from None
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=key_password)
        except (ValueError, TypeError):
            raise UsageError(
                f"{connection}: the private key is not a PEM private key, "
                "or its password is wrong or missing"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UsageError(f"{connection}: the private key must be an RSA key")
        if data_format not in ("v2", "v1"):
            raise UsageError(f"{connection}: certificate format must be 'v2' or 'v1'")
        self._key = key
        self._format: CertificateFormat = data_format
        self._header = "CACertificate " + base64.b64encode(certificate_pem).decode("ascii")

    @property
    def authorization(self) -> str:
        return self._header

    def login_body(self, now: float) -> dict[str, str]:
        """The JSON body of one authenticate call, signed at epoch second ``now``."""
        data = secrets.token_bytes(RANDOM_BYTES)
        if self._format == "v2":
            data = struct.pack(">Q", int(now)) + data
        signature = self._key.sign(data, padding.PKCS1v15(), hashes.SHA512())
        body = {
            "encodedData": base64.b64encode(data).decode("ascii"),
            "encodedSignedData": base64.b64encode(signature).decode("ascii"),
        }
        if self._format == "v2":
            body["encodedDataFormat"] = "v2"
        return body
