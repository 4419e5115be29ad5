"""``mlc check``: is this installation fit to run? One line per check, ``ok`` or ``FAIL``.

The configuration is validated first; if it is invalid every error is printed, one per line
naming the file and key path, and the exit code is 2. Then the checks in :data:`CHECKS` run in
order, each an async function of a :class:`CheckContext` returning a short detail for its ``ok``
line or raising for ``FAIL``. A check whose prerequisite failed is skipped. Exit code 0 when all
pass, 1 otherwise. Nothing printed contains a secret: every line goes through
:func:`mlc.logs.redact`, and the vault registers each value it decrypts.

To add a check (connections, Anaplan ids, import columns …), write ``async def
_my_check(ctx) -> str`` and call :func:`register_check` — or add it to :data:`CHECKS` here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlc.cli.creds import add_config_option

if TYPE_CHECKING:
    from mlc.config import Config
    from mlc.store import Store
    from mlc.vault import Vault

HELP = "validate the configuration and the stored credentials"


@dataclass
class CheckContext:
    """What checks share: the loaded config, and the store and vault opened once, on demand."""

    config_path: Path
    config: Config
    environ: Mapping[str, str]
    stack: AsyncExitStack
    _store: Store | None = field(default=None, init=False)
    _vault: Vault | None = field(default=None, init=False)

    async def store(self) -> Store:
        if self._store is None:
            from mlc.store import Store

            self._store = await self.stack.enter_async_context(
                await Store.open(self.config.service.db_path)
            )
        return self._store

    async def vault(self) -> Vault:
        if self._vault is None:
            from mlc.vault import Vault, load_key

            key = load_key(self.config.vault.key_file, self.environ)
            self._vault = Vault(await self.store(), key)
        return self._vault


CheckFunction = Callable[[CheckContext], Awaitable[str]]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunction
    #: Checks that must have passed for this one to mean anything.
    requires: tuple[str, ...] = ()


async def _store(ctx: CheckContext) -> str:
    store = await ctx.store()
    mode = (await store.settings())["journal_mode"]
    return f"{store.path} (schema version {store.schema_version}, journal {mode})"


async def _vault(ctx: CheckContext) -> str:
    from mlc.vault import VaultError

    vault = await ctx.vault()
    problems = await vault.verify()
    if problems:
        raise VaultError("; ".join(problems))
    count = len(await vault.names())
    return f"key id {vault.key_id}, {count} credential(s) decrypted"


async def _credentials(ctx: CheckContext) -> str:
    from mlc.vault import VaultError

    required = ctx.config.required_credentials()
    stored = {info.name for info in await (await ctx.vault()).names()}
    overridden = [name for name in required if ctx.config.configured_secret(name)]
    missing = [name for name in required if name not in stored and name not in overridden]
    if missing:
        raise VaultError(
            f"missing {', '.join(missing)}: store each with `mlc creds set NAME` "
            "or mount it as a secret file"
        )
    detail = f"{len(required)} required, all present"
    return detail + (f" ({len(overridden)} from environment or secret files)" if overridden else "")


CHECKS: list[Check] = [
    Check("store", _store),
    Check("vault", _vault, requires=("store",)),
    Check("credentials", _credentials, requires=("vault",)),
]


def register_check(check: Check) -> None:
    """Add ``check`` after the existing ones, or replace the check of the same name."""
    for index, existing in enumerate(CHECKS):
        if existing.name == check.name:
            CHECKS[index] = check
            return
    CHECKS.append(check)


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)


def _line(text: str) -> None:
    from mlc.logs import redact

    print(redact(text), flush=True)


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for error in exc.errors:
            _line(f"FAIL config: {error}")
        return exc.exit_code
    flows = len(config.flows)
    connections = sum(1 for _ in config.connections.items())
    _line(f"ok   config: {args.config} ({connections} connection(s), {flows} flow(s))")
    passed: bool = anyio.run(_run_checks, args.config, config, backend="asyncio")
    return 0 if passed else 1


def _fit_checks(config: Config) -> list[Check]:
    """One check per connection and flow: authenticate, resolve names, compare columns."""
    from mlc.ops.fit_checks import fit_checks

    return [Check(c.name, c.run, c.requires) for c in fit_checks(config)]


async def _run_checks(config_path: Path, config: Config) -> bool:
    from mlc.errors import MlcError

    passed: set[str] = set()
    failed = False
    async with AsyncExitStack() as stack:
        ctx = CheckContext(config_path, config, os.environ, stack)
        for check in (*CHECKS, *_fit_checks(config)):
            unmet = [name for name in check.requires if name not in passed]
            if unmet:
                _line(f"skip {check.name}: needs {', '.join(unmet)}")
                failed = True
                continue
            try:
                detail = await check.run(ctx)
            except MlcError as exc:
                _line(f"FAIL {check.name}: {exc}")
                failed = True
            except Exception as exc:  # a check's bug must not hide the other checks' results
                _line(f"FAIL {check.name}: {type(exc).__name__}: {exc}")
                failed = True
            else:
                passed.add(check.name)
                _line(f"ok   {check.name}" + (f": {detail}" if detail else ""))
    return not failed
