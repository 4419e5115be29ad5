from __future__ import annotations

import base64
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlc.logs import redact
from mlc.store import Store
from mlc.vault import Vault, key_id

pytestmark = pytest.mark.slow

RunMlc = Callable[..., subprocess.CompletedProcess[str]]

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
OLD = {"MLC_VAULT_KEY": base64.b64encode(OLD_KEY).decode()}
NEW = {"MLC_VAULT_KEY": base64.b64encode(NEW_KEY).decode()}
SECRET = "Pa55-word-for-the-creds-cli-test-9c1e"


def store_secret(run_mlc: RunMlc, config: Path, name: str, value: str, env: dict[str, str]) -> None:
    result = run_mlc("creds", "set", name, "--config", str(config), env=env, stdin=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"stored {name} (key id {key_id(OLD_KEY if env == OLD else NEW_KEY)})\n"
    assert value.strip() not in result.stdout + result.stderr


async def read_back(db: Path, key: bytes, name: str) -> str:
    async with await Store.open(db) as store:
        return await Vault(store, key).get(name)


@pytest.mark.anyio
async def test_a_stored_secret_never_appears_in_the_database_files_or_the_output(
    tmp_path: Path, run_mlc: RunMlc, config_file: Path
) -> None:
    db = tmp_path / "state" / "mlc.db"
    store_secret(run_mlc, config_file, "epicor.main.api_key", "first-api-key-value", OLD)
    # An open reader keeps the writer from checkpointing and deleting the WAL on exit, so the
    # next write is still in mlc.db-wal when we read it.
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT COUNT(*) FROM credentials").fetchone()
        store_secret(run_mlc, config_file, "epicor.main.password", SECRET + "\n", OLD)
        wal = db.with_name("mlc.db-wal").read_bytes()
        main = db.read_bytes()
    finally:
        reader.close()
    assert b"epicor.main.password" in wal
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        assert SECRET.encode(encoding) not in wal
        assert SECRET.encode(encoding) not in main
    assert b"first-api-key-value" not in wal + main

    listing = run_mlc("creds", "list", "--config", str(config_file), env=OLD)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KEY", "ID", "UPDATED", "(UTC)"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["epicor.main.api_key", key_id(OLD_KEY)],
        ["epicor.main.password", key_id(OLD_KEY)],
    ]
    assert SECRET not in listing.stdout + listing.stderr

    assert redact(f"pw={SECRET}") == f"pw={SECRET}"
    assert await read_back(db, OLD_KEY, "epicor.main.password") == SECRET
    assert redact(f"pw={SECRET}") == "pw=***"


@pytest.mark.anyio
async def test_rotate_key_then_read_back_with_the_new_key_only(
    tmp_path: Path, run_mlc: RunMlc, config_file: Path
) -> None:
    db = tmp_path / "state" / "mlc.db"
    store_secret(run_mlc, config_file, "epicor.main.password", SECRET, OLD)
    store_secret(run_mlc, config_file, "epicor.main.api_key", "api-key-before-rotation", OLD)
    new_key_file = tmp_path / "new.key"
    new_key_file.write_text(NEW_KEY.hex() + "\n")

    rotated = run_mlc(
        "creds",
        "rotate-key",
        "--new-key-file",
        str(new_key_file),
        "--config",
        str(config_file),
        env=OLD,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith(
        f"re-encrypted 2 credential(s) from key id {key_id(OLD_KEY)} to {key_id(NEW_KEY)}"
    )
    assert await read_back(db, NEW_KEY, "epicor.main.password") == SECRET
    assert await read_back(db, NEW_KEY, "epicor.main.api_key") == "api-key-before-rotation"

    check = run_mlc("check", "--config", str(config_file), env=NEW)
    assert f"ok   vault: key id {key_id(NEW_KEY)}, 2 credential(s) decrypted" in check.stdout
    stale = run_mlc("check", "--config", str(config_file), env=OLD)
    assert stale.returncode == 1
    assert (
        f"FAIL vault: credential epicor.main.api_key was encrypted with key id {key_id(NEW_KEY)}, "
        f"the configured key is {key_id(OLD_KEY)}; credential epicor.main.password was encrypted "
        f"with key id {key_id(NEW_KEY)}, the configured key is {key_id(OLD_KEY)}"
    ) in stale.stdout.splitlines()

    back = run_mlc(
        "creds", "rotate-key", "--config", str(config_file),
        env={**NEW, "MLC_NEW_VAULT_KEY": OLD["MLC_VAULT_KEY"]},
    )  # fmt: skip
    assert back.returncode == 0, back.stderr
    assert await read_back(db, OLD_KEY, "epicor.main.password") == SECRET
    missing = run_mlc("creds", "rotate-key", "--config", str(config_file), env=OLD)
    assert missing.returncode == 2
    assert missing.stderr == (
        "mlc creds: no new key: pass --new-key-file FILE or set MLC_NEW_VAULT_KEY\n"
    )
    for result in (rotated, check, stale, back):
        assert SECRET not in result.stdout + result.stderr


def test_a_flipped_ciphertext_byte_is_reported_as_tampering(
    tmp_path: Path, run_mlc: RunMlc, config_file: Path
) -> None:
    store_secret(run_mlc, config_file, "epicor.main.password", SECRET, OLD)
    with sqlite3.connect(tmp_path / "state" / "mlc.db") as conn:
        (ciphertext,) = conn.execute("SELECT ciphertext FROM credentials").fetchone()
        flipped = bytearray(ciphertext)
        flipped[0] ^= 0x80
        conn.execute("UPDATE credentials SET ciphertext = ?", (bytes(flipped),))
    result = run_mlc("check", "--config", str(config_file), env=OLD)
    assert result.returncode == 1
    assert (
        "FAIL vault: credential epicor.main.password failed authentication: the stored "
        "ciphertext was altered or belongs to another key"
    ) in result.stdout.splitlines()


def test_a_missing_key_is_reported_and_nothing_is_stored(
    tmp_path: Path, run_mlc: RunMlc, config_file: Path
) -> None:
    result = run_mlc(
        "creds", "set", "epicor.main.password", "--config", str(config_file), stdin=SECRET
    )
    assert result.returncode == 1
    assert result.stderr == "mlc creds: no vault key: set MLC_VAULT_KEY or vault.key_file\n"
    listing = run_mlc("creds", "list", "--config", str(config_file))
    assert (listing.returncode, listing.stdout) == (0, "no credentials stored\n")


def test_secrets_are_never_taken_from_the_command_line(run_mlc: RunMlc, config_file: Path) -> None:
    result = run_mlc(
        "creds", "set", "epicor.main.password", SECRET, "--config", str(config_file), env=OLD
    )
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
    empty = run_mlc(
        "creds", "set", "epicor.main.password", "--config", str(config_file), env=OLD, stdin="\n"
    )
    assert (empty.returncode, empty.stderr) == (
        2, "mlc creds: empty value for epicor.main.password; nothing stored\n"
    )  # fmt: skip
    listing = run_mlc("creds", "list", "--config", str(config_file), env=OLD)
    assert listing.stdout == "no credentials stored\n"


def test_delete_and_unexpected_names(run_mlc: RunMlc, config_file: Path) -> None:
    stored = run_mlc(
        "creds",
        "set",
        "epicor.mian.password",
        "--config",
        str(config_file),
        env=OLD,
        stdin="x-value",
    )
    assert stored.returncode == 0
    assert stored.stderr.startswith(
        "warning: epicor.mian.password is not a credential of a configured connection"
    )
    deleted = run_mlc("creds", "delete", "epicor.mian.password", "--config", str(config_file))
    assert (deleted.returncode, deleted.stdout) == (0, "deleted epicor.mian.password\n")
    again = run_mlc("creds", "delete", "epicor.mian.password", "--config", str(config_file))
    assert (again.returncode, again.stderr) == (
        1,
        "mlc creds: no credential epicor.mian.password\n",
    )


def test_gen_key_prints_or_writes_a_private_key_file(tmp_path: Path, run_mlc: RunMlc) -> None:
    printed = run_mlc("creds", "gen-key")
    assert printed.returncode == 0
    assert len(base64.b64decode(printed.stdout.strip(), validate=True)) == 32

    out = tmp_path / "vault.key"
    written = run_mlc("creds", "gen-key", "--out", str(out))
    assert written.returncode == 0, written.stderr
    key = base64.b64decode(out.read_text().strip(), validate=True)
    assert written.stdout == f"wrote a new vault key to {out} (key id {key_id(key)})\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = run_mlc("creds", "gen-key", "--out", str(out))
    assert (again.returncode, again.stderr) == (
        2,
        f"mlc creds: {out} exists; not overwriting a key\n",
    )
    assert base64.b64decode(out.read_text().strip()) == key
