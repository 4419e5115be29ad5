from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mlc.config import load_config
from mlc.store import Store
from mlc.vault import (
    Vault,
    VaultError,
    generate_key,
    key_id,
    load_key,
    parse_key,
    resolve_credential,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(32, 64))
SECRET = "vault-test-secret-Zq81"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "mlc.db") as opened:
        yield opened


def raw_row(path: Path, name: str) -> tuple[str, bytes, bytes]:
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT key_id, nonce, ciphertext FROM credentials WHERE name = ?", (name,)
        ).fetchone()
    return row[0], row[1], row[2]


def update_row(path: Path, name: str, **values: object) -> None:
    sets = ", ".join(f"{column} = ?" for column in values)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE credentials SET {sets} WHERE name = ?", (*values.values(), name))


@pytest.mark.anyio
async def test_values_are_stored_encrypted_and_read_back(store: Store) -> None:
    vault = Vault(store, KEY)
    await vault.set("epicor.main.password", SECRET)
    await vault.set("epicor.main.api_key", "another-value-1234")
    stored_key_id, nonce, ciphertext = raw_row(store.path, "epicor.main.password")
    assert stored_key_id == key_id(KEY) == vault.key_id
    assert len(stored_key_id) == 8 and len(nonce) == 12
    assert len(ciphertext) == len(SECRET) + 16
    assert SECRET.encode() not in ciphertext
    assert await vault.get("epicor.main.password") == SECRET
    assert [info.name for info in await vault.names()] == [
        "epicor.main.api_key",
        "epicor.main.password",
    ]
    await vault.set("epicor.main.password", "changed-value-5678")
    assert await vault.get("epicor.main.password") == "changed-value-5678"
    assert raw_row(store.path, "epicor.main.password")[1] != nonce
    assert await vault.delete("epicor.main.password")
    assert not await vault.delete("epicor.main.password")
    with pytest.raises(VaultError) as caught:
        await vault.get("epicor.main.password")
    assert str(caught.value) == (
        "no credential epicor.main.password: store it with `mlc creds set epicor.main.password`"
    )


@pytest.mark.anyio
async def test_a_wrong_key_is_named_by_key_id(store: Store) -> None:
    await Vault(store, KEY).set("anaplan.fpa.password", SECRET)
    with pytest.raises(VaultError) as caught:
        await Vault(store, OTHER_KEY).get("anaplan.fpa.password")
    assert str(caught.value) == (
        f"credential anaplan.fpa.password was encrypted with key id {key_id(KEY)}, "
        f"the configured key is {key_id(OTHER_KEY)}"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("column", ["ciphertext", "nonce"])
async def test_an_altered_byte_fails_authentication(store: Store, column: str) -> None:
    vault = Vault(store, KEY)
    await vault.set("anaplan.fpa.password", SECRET)
    _, nonce, ciphertext = raw_row(store.path, "anaplan.fpa.password")
    original = ciphertext if column == "ciphertext" else nonce
    altered = bytearray(original)
    altered[len(altered) // 2] ^= 0x01
    update_row(store.path, "anaplan.fpa.password", **{column: bytes(altered)})
    with pytest.raises(VaultError) as caught:
        await vault.get("anaplan.fpa.password")
    message = str(caught.value)
    assert message == (
        "credential anaplan.fpa.password failed authentication: the stored ciphertext was "
        "altered or belongs to another key"
    )
    assert await vault.verify() == [message]


@pytest.mark.anyio
async def test_ciphertexts_swapped_between_names_are_detected(store: Store) -> None:
    vault = Vault(store, KEY)
    await vault.set("epicor.main.password", "password-value-1")
    await vault.set("epicor.main.api_key", "api-key-value-22")
    _, nonce, ciphertext = raw_row(store.path, "epicor.main.password")
    update_row(store.path, "epicor.main.api_key", nonce=nonce, ciphertext=ciphertext)
    with pytest.raises(VaultError, match=r"credential epicor\.main\.api_key failed authentication"):
        await vault.get("epicor.main.api_key")
    assert await vault.get("epicor.main.password") == "password-value-1"


@pytest.mark.anyio
async def test_rotation_re_encrypts_everything_or_nothing(store: Store) -> None:
    vault = Vault(store, KEY)
    values = {f"workday.prod.secret_{i}": f"rotating-value-{i:04}" for i in range(5)}
    for name, value in values.items():
        await vault.set(name, value)
    before = {name: raw_row(store.path, name) for name in values}

    update_row(store.path, "workday.prod.secret_3", ciphertext=b"\x00" * 32)
    with pytest.raises(
        VaultError, match=r"credential workday\.prod\.secret_3 failed authentication"
    ):
        await vault.rotate(OTHER_KEY)
    assert vault.key_id == key_id(KEY)
    for name in values:
        if name != "workday.prod.secret_3":
            assert raw_row(store.path, name) == before[name]
    await vault.set("workday.prod.secret_3", values["workday.prod.secret_3"])

    assert await vault.rotate(OTHER_KEY) == 5
    assert vault.key_id == key_id(OTHER_KEY)
    assert {raw_row(store.path, name)[0] for name in values} == {key_id(OTHER_KEY)}
    fresh = Vault(store, OTHER_KEY)
    assert {name: await fresh.get(name) for name in values} == values
    with pytest.raises(VaultError, match=f"encrypted with key id {key_id(OTHER_KEY)}"):
        await Vault(store, KEY).get("workday.prod.secret_0")
    with pytest.raises(VaultError, match="the new key is the configured key"):
        await vault.rotate(OTHER_KEY)


def test_key_formats_and_sources(tmp_path: Path) -> None:
    encoded = base64.b64encode(KEY).decode()
    assert parse_key(encoded.encode(), "x") == KEY
    assert parse_key(base64.urlsafe_b64encode(KEY), "x") == KEY
    assert parse_key(KEY.hex().encode() + b"\n", "x") == KEY
    assert parse_key(KEY, "x") == KEY
    assert len(parse_key(generate_key().encode(), "x")) == 32
    short = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(VaultError) as caught:
        parse_key(short.encode(), "MLC_VAULT_KEY")
    assert short not in str(caught.value)
    assert str(caught.value) == (
        "the vault key in MLC_VAULT_KEY is not 32 bytes as base64 or 64 hex digits "
        "(generate one with `mlc creds gen-key`)"
    )

    key_file = tmp_path / "vault.key"
    key_file.write_text(encoded + "\n")
    assert load_key(str(key_file), {"MLC_VAULT_KEY": base64.b64encode(OTHER_KEY).decode()}) == KEY
    assert load_key(None, {"MLC_VAULT_KEY": encoded}) == KEY
    with pytest.raises(VaultError) as missing:
        load_key(None, {})
    assert str(missing.value) == "no vault key: set MLC_VAULT_KEY or vault.key_file"
    with pytest.raises(VaultError, match=f"cannot read the vault key file {tmp_path}/absent"):
        load_key(str(tmp_path / "absent"), {})


@pytest.mark.anyio
async def test_names_and_values_are_validated(store: Store) -> None:
    vault = Vault(store, KEY)
    for bad in ("", "epicor main", "epicor..password", "épicor.main.password"):
        with pytest.raises(VaultError, match="invalid credential name"):
            await vault.set(bad, SECRET)
    with pytest.raises(VaultError, match="the value is empty"):
        await vault.set("epicor.main.password", "")
    with pytest.raises(VaultError, match="must be 32 bytes, got 16"):
        Vault(store, KEY[:16])


@pytest.mark.anyio
async def test_mounted_secrets_win_over_the_vault(
    tmp_path: Path, store: Store, minimal_toml: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(minimal_toml)
    config = load_config(path, {"MLC_CONNECTIONS__EPICOR__MAIN__API_KEY": "env-api-key-4242"})
    vault = Vault(store, KEY)
    await vault.set("epicor.main.api_key", "vault-api-key")
    await vault.set("epicor.main.password", "vault-password")
    assert await resolve_credential(config, vault, "epicor.main.api_key") == "env-api-key-4242"
    assert await resolve_credential(config, vault, "epicor.main.password") == "vault-password"
    assert await resolve_credential(config, None, "epicor.main.api_key") == "env-api-key-4242"
    with pytest.raises(VaultError, match=r"no vault key: .* \(needed for epicor.main.password\)"):
        await resolve_credential(config, None, "epicor.main.password")
