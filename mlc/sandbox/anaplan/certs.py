"""A demo certificate authority and a user certificate for CA-certificate authentication.

Generated at build time (nothing secret ships with the code). The user certificate carries the
user's e-mail as subject ``emailAddress`` and as an RFC 822 subject-alternative name, which is how
the emulator maps a presented certificate to a user — on the real service the customer registers
the certificate in Anaplan Administration. Demo material only: the private key is handed out by
``describe()`` so that clients can sign.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class DemoCertificates:
    ca_certificate: x509.Certificate
    user_certificate: x509.Certificate
    user_certificate_pem: str
    user_key_pem: str
    ca_certificate_pem: str
    user_certificate_path: Path
    user_key_path: Path
    ca_certificate_path: Path


def _name(common_name: str, email: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ml-connector sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attributes)


def issue_demo_certificates(email: str, now: float, directory: Path) -> DemoCertificates:
    """A CA and a certificate for ``email`` valid from a day before ``now`` for a year."""
    directory.mkdir(parents=True, exist_ok=True)
    not_before = datetime.datetime.fromtimestamp(now - 86_400, datetime.UTC)
    not_after = not_before + datetime.timedelta(days=366)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("ml-connector sandbox demo CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    user_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    user_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(email, email))
        .issuer_name(ca_name)
        .public_key(user_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_pem = user_cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = user_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    paths = (directory / "demo-ca.pem", directory / "user-cert.pem", directory / "user-key.pem")
    for path, text in zip(paths, (ca_pem, cert_pem, key_pem), strict=True):
        path.write_text(text)
    paths[2].chmod(0o600)
    return DemoCertificates(
        ca_certificate=ca_cert,
        user_certificate=user_cert,
        user_certificate_pem=cert_pem,
        user_key_pem=key_pem,
        ca_certificate_pem=ca_pem,
        user_certificate_path=paths[1],
        user_key_path=paths[2],
        ca_certificate_path=paths[0],
    )


def certificate_email(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        emails = san.value.get_values_for_type(x509.RFC822Name)
        if emails:
            return emails[0]
    except x509.ExtensionNotFound:
        pass
    values = cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)
    return str(values[0].value) if values else None
