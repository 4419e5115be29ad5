"""Credential encryption at rest: AES-256-GCM, one key, key rotation.

The key is 32 bytes, read from ``vault.key_file`` when configured, else from ``$MLC_VAULT_KEY``.
Either holds it as base64 (standard or URL-safe alphabet, 44 characters, as printed by
``mlc creds gen-key``) or as 64 hex digits; a key file may also hold the 32 raw bytes.

Each credential is stored as ``(key_id, nonce, ciphertext)``: a fresh random 96-bit nonce per
encryption (NIST SP 800-38D's recommended IV length; random nonces are safe far beyond the number
of credentials we will ever write under one key), the GCM ciphertext with its 16-byte tag, and the
key id, the first 8 hex digits of SHA-256 of the key, so a wrong key is named as such rather than
reported as corruption. The credential's name is the associated data: a ciphertext copied onto
another name fails authentication, so rows cannot be swapped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlc.config import Config
from mlc.errors import MlcError
from mlc.logs import register_secret
from mlc.store import CredentialInfo, Store, StoredCredential

KEY_ENV = "MLC_VAULT_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_AAD_PREFIX = b"mlc-credential-v1:"
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class VaultError(MlcError):
    """A credential cannot be stored or read; the message never holds a secret."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def generate_key() -> str:
    """A new random key, base64-encoded."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def parse_key(data: bytes, source: str) -> bytes:
    """The 32-byte key held in ``data`` (raw, base64 or hex); ``source`` names it in errors."""
    if len(data) == KEY_BYTES:
        return data
    text = data.decode("ascii", errors="replace").strip()
    if _HEX_KEY.match(text):
        return bytes.fromhex(text)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            key = decode(text.encode("ascii", errors="replace"))
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise VaultError(
        f"the vault key in {source} is not {KEY_BYTES} bytes as base64 or 64 hex digits "
        "(generate one with `mlc creds gen-key`)"
    )


def read_key_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VaultError(f"cannot read the vault key file {path}: {exc.strerror or exc}") from None
    return parse_key(data, str(path))


def load_key(key_file: str | None, environ: Mapping[str, str] | None = None) -> bytes:
    """The configured key: ``key_file`` if set, else ``$MLC_VAULT_KEY``."""
    if key_file:
        return read_key_file(Path(key_file))
    environ = os.environ if environ is None else environ
    text = environ.get(KEY_ENV, "")
    if not text.strip():
        raise VaultError(f"no vault key: set {KEY_ENV} or vault.key_file")
    return parse_key(text.encode(), KEY_ENV)


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise VaultError(
            f"invalid credential name {name!r}: use dotted words of letters, digits, - and _ "
            "(e.g. epicor.main.password)"
        )


def _aad(name: str) -> bytes:
    return _AAD_PREFIX + name.encode()


class Vault:
    """Encrypted credentials in the :class:`~mlc.store.Store`."""

    def __init__(self, store: Store, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise VaultError(f"a vault key must be {KEY_BYTES} bytes, got {len(key)}")
        self._store = store
        self._key = key
        self._aes = AESGCM(key)
        self.key_id = key_id(key)

    def _seal(self, name: str, value: str) -> tuple[str, bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.key_id, nonce, self._aes.encrypt(nonce, value.encode(), _aad(name))

    def _open(self, row: StoredCredential) -> str:
        if row.key_id != self.key_id:
            raise VaultError(
                f"credential {row.name} was encrypted with key id {row.key_id}, "
                f"the configured key is {self.key_id}"
            )
        try:
            plain = self._aes.decrypt(row.nonce, row.ciphertext, _aad(row.name))
        except InvalidTag:
            raise VaultError(
                f"credential {row.name} failed authentication: the stored ciphertext was "
                "altered or belongs to another key"
            ) from None
        return plain.decode()

    async def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value:
            raise VaultError(f"credential {name}: the value is empty")
        register_secret(value)
        key, nonce, ciphertext = self._seal(name, value)
        await self._store.put_credential(name, key_id=key, nonce=nonce, ciphertext=ciphertext)

    async def get(self, name: str) -> str:
        """The decrypted value, registered for redaction before it is returned."""
        row = await self._store.get_credential(name)
        if row is None:
            raise VaultError(f"no credential {name}: store it with `mlc creds set {name}`")
        value = self._open(row)
        register_secret(value)
        return value

    async def names(self) -> list[CredentialInfo]:
        return await self._store.list_credentials()

    async def delete(self, name: str) -> bool:
        return await self._store.delete_credential(name)

    async def verify(self) -> list[str]:
        """Decrypt every stored credential; one message per credential that fails."""
        problems = []
        for info in await self._store.list_credentials():
            try:
                await self.get(info.name)
            except VaultError as exc:
                problems.append(str(exc))
        return problems

    async def rotate(self, new_key: bytes) -> int:
        """Re-encrypt every credential under ``new_key`` in one transaction, then use it.

        If any credential fails to decrypt under the current key nothing changes. The number of
        credentials re-encrypted.
        """
        successor = Vault(self._store, new_key)
        if successor.key_id == self.key_id:
            raise VaultError(f"the new key is the configured key (key id {self.key_id})")

        def reseal(row: StoredCredential) -> tuple[str, bytes, bytes]:
            value = self._open(row)
            register_secret(value)
            return successor._seal(row.name, value)

        count = await self._store.rewrite_credentials(reseal)
        self._key, self._aes, self.key_id = new_key, successor._aes, successor.key_id
        return count


async def resolve_credential(config: Config, vault: Vault | None, name: str) -> str:
    """A credential's value: the environment or a mounted secret file (already registered for
    redaction when the config loaded) wins over the vault, where it is looked up otherwise.

    ``vault`` may be None when no key is configured: an error only if the vault is needed.
    """
    value = config.configured_secret(name)
    if value:
        return value
    if vault is None:
        raise VaultError(f"no vault key: set {KEY_ENV} or vault.key_file (needed for {name})")
    return await vault.get(name)
