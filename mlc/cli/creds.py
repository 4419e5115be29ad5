"""``mlc creds``: manage the encrypted credentials in the state database.

Secrets are read from standard input when it is not a terminal (``printf %s "$PW" | mlc creds set
epicor.main.password``), else prompted for without echo; never from the command line, where they
would land in shell history and ``ps``. Nothing this command prints contains a stored secret.

Key rotation: ``mlc creds gen-key --out new.key``, then ``mlc creds rotate-key --new-key-file
new.key`` (or the new key in ``$MLC_NEW_VAULT_KEY``) re-encrypts every credential in one
transaction; after it succeeds, point ``vault.key_file`` or ``$MLC_VAULT_KEY`` at the new key.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlc.errors import UsageError

if TYPE_CHECKING:
    from mlc.config import Config
    from mlc.store import Store

HELP = "store, list, delete and re-key the encrypted credentials"

NEW_KEY_ENV = "MLC_NEW_VAULT_KEY"
CONFIG_ENV = "MLC_CONFIG"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get(CONFIG_ENV, "config.toml")),
        metavar="FILE",
        help=f"configuration file (default: ${CONFIG_ENV} or ./config.toml)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    store = sub.add_parser("set", help="store a credential (the value is read from stdin)")
    store.add_argument("name", help="credential name, <kind>.<connection>.<field>")
    listing = sub.add_parser("list", help="list credential names and when they were set")
    delete = sub.add_parser("delete", help="delete a credential")
    delete.add_argument("name")
    rotate = sub.add_parser("rotate-key", help="re-encrypt every credential under a new key")
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        metavar="FILE",
        help=f"file holding the new key (default: ${NEW_KEY_ENV})",
    )
    for command in (store, listing, delete, rotate):
        add_config_option(command)
    gen = sub.add_parser("gen-key", help="print a new random vault key (base64)")
    gen.add_argument("--out", type=Path, metavar="FILE", help="write it to FILE (mode 0600)")


def run(args: argparse.Namespace) -> int:
    if args.action == "gen-key":
        return _gen_key(args.out)
    import anyio

    actions: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
        "set": _set,
        "list": _list,
        "delete": _delete,
        "rotate-key": _rotate,
    }
    code: int = anyio.run(actions[args.action], args, backend="asyncio")
    return code


def _gen_key(out: Path | None) -> int:
    from mlc.vault import generate_key, key_id, parse_key

    key = generate_key()
    if out is None:
        print(key)
        return 0
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{out} exists; not overwriting a key") from None
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    print(f"wrote a new vault key to {out} (key id {key_id(parse_key(key.encode(), str(out)))})")
    return 0


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{name}: ")
        if getpass.getpass(f"{name} (again): ") != value:
            raise UsageError("the two entries differ; nothing stored")
    else:
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value.removesuffix("\n")
    if not value:
        raise UsageError(f"empty value for {name}; nothing stored")
    return value


def _load(args: argparse.Namespace) -> Config:
    from mlc.config import load_config

    return load_config(args.config)


async def _open_store(config: Config) -> Store:
    from mlc.store import Store

    return await Store.open(config.service.db_path)


async def _set(args: argparse.Namespace) -> int:
    from mlc.vault import Vault, check_name, load_key

    config = _load(args)
    check_name(args.name)
    key = load_key(config.vault.key_file)
    expected = config.required_credentials()
    known = {f"{ref}.{field}" for ref, c in config.connections.items() for field in c.SECRET_FIELDS}
    secret = _read_secret(args.name)
    async with await _open_store(config) as store:
        vault = Vault(store, key)
        await vault.set(args.name, secret)
    print(f"stored {args.name} (key id {vault.key_id})")
    if args.name not in known:
        print(
            f"warning: {args.name} is not a credential of a configured connection "
            f"(needed: {', '.join(expected) or 'none'})",
            file=sys.stderr,
        )
    return 0


async def _list(args: argparse.Namespace) -> int:
    config = _load(args)
    async with await _open_store(config) as store:
        infos = await store.list_credentials()
    if not infos:
        print("no credentials stored")
        return 0
    width = max(len(info.name) for info in infos)
    print(f"{'NAME':<{width}}  KEY ID    UPDATED (UTC)")
    for info in infos:
        updated = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(info.updated_at))
        print(f"{info.name:<{width}}  {info.key_id}  {updated}")
    return 0


async def _delete(args: argparse.Namespace) -> int:
    from mlc.vault import VaultError

    config = _load(args)
    async with await _open_store(config) as store:
        deleted = await store.delete_credential(args.name)
    if not deleted:
        raise VaultError(f"no credential {args.name}")
    print(f"deleted {args.name}")
    return 0


async def _rotate(args: argparse.Namespace) -> int:
    from mlc.vault import Vault, load_key, parse_key, read_key_file

    config = _load(args)
    current = load_key(config.vault.key_file)
    if args.new_key_file is not None:
        new_key = read_key_file(args.new_key_file)
    elif os.environ.get(NEW_KEY_ENV, "").strip():
        new_key = parse_key(os.environ[NEW_KEY_ENV].encode(), NEW_KEY_ENV)
    else:
        raise UsageError(f"no new key: pass --new-key-file FILE or set {NEW_KEY_ENV}")
    async with await _open_store(config) as store:
        vault = Vault(store, current)
        old_id = vault.key_id
        count = await vault.rotate(new_key)
    print(
        f"re-encrypted {count} credential(s) from key id {old_id} to {vault.key_id}; now point "
        "vault.key_file or MLC_VAULT_KEY at the new key"
    )
    return 0
