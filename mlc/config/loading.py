"""Loading ``config.toml``: layering, validation of every key at once, decoding.

See the :mod:`mlc.config` docstring for the layers and the error format.
"""

from __future__ import annotations

import datetime as dt
import difflib
import operator
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import msgspec
import msgspec.inspect as mi

from mlc.config.schema import (
    BARE_KEY_PATTERN,
    CONNECTION_KINDS,
    ENV_PREFIX,
    NAME_PATTERN,
    SECRETS_DIR_ENV,
    Config,
    ConfigError,
    Section,
)
from mlc.logs import register_secret

_ROOT = mi.type_info(Config)
_Path = tuple[str | int, ...]


def _show(path: _Path) -> str:
    """``connections.epicor.main.base_url``, ``flows.x.schedule[0]``; odd keys TOML-quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = part if BARE_KEY_PATTERN.match(part) else f'"{part}"'
            out += f".{shown}" if out else shown
    return out


def _value_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dt.datetime):
        return "datetime"
    return type(value).__name__


def _expected(t: mi.Type) -> str:
    if isinstance(t, mi.StructType | mi.DictType):
        return "table"
    if isinstance(t, mi.ListType):
        return f"array of {_expected(t.item_type)}"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in t.values)
    if isinstance(t, mi.UnionType):
        return " or ".join(_expected(m) for m in t.types if not isinstance(m, mi.NoneType))
    return {
        mi.StrType: "str",
        mi.IntType: "int",
        mi.FloatType: "float",
        mi.BoolType: "bool",
    }.get(type(t), type(t).__name__)


_COMPARISONS = (
    ("ge", ">=", operator.ge),
    ("gt", ">", operator.gt),
    ("le", "<=", operator.le),
    ("lt", "<", operator.lt),
)


def _bounds(t: mi.IntType | mi.FloatType, value: float) -> str | None:
    for attribute, symbol, holds in _COMPARISONS:
        bound = getattr(t, attribute)
        if bound is not None and not holds(value, bound):
            return f"must be {symbol} {bound}, got {value}"
    return None


def _non_null(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            return members[0]
    return t


def _takes_str(t: mi.Type) -> bool:
    t = _non_null(t)
    if isinstance(t, mi.StrType):
        return True
    if isinstance(t, mi.LiteralType):
        return all(isinstance(v, str) for v in t.values)
    if isinstance(t, mi.UnionType):
        return any(_takes_str(m) for m in t.types)
    return False


class _Validator:
    """Walks raw TOML data against the Struct types and collects every error with its source."""

    def __init__(self, label: str, origins: dict[_Path, str], file_paths: set[_Path]) -> None:
        self.label = label
        self.origins = origins
        self.file_paths = file_paths
        self.errors: list[str] = []

    def source(self, path: _Path) -> str:
        for end in range(len(path), 0, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return self.label

    def error(self, path: _Path, message: str) -> None:
        self.errors.append(f"{self.source(path)}: {_show(path) or '(top level)'}: {message}")

    def check(self, value: Any, t: mi.Type, path: _Path) -> bool:
        """Record the errors of ``value`` at ``path``; True if it had none."""
        before = len(self.errors)
        self._check(value, t, path)
        return len(self.errors) == before

    def _check(self, value: Any, t: mi.Type, path: _Path) -> None:
        if isinstance(t, mi.StructType):
            self._struct(value, t, path)
        elif isinstance(t, mi.DictType):
            if not isinstance(value, dict):
                self.error(path, f"expected table, got {_value_type(value)}")
                return
            for key, item in value.items():
                self.check(item, t.value_type, (*path, key))
        elif isinstance(t, mi.ListType):
            if not isinstance(value, list):
                self.error(path, f"expected {_expected(t)}, got {_value_type(value)}")
                return
            for index, item in enumerate(value):
                self.check(item, t.item_type, (*path, index))
        elif isinstance(t, mi.UnionType):
            self._union(value, t, path)
        else:
            problem = self._scalar(value, t)
            if problem:
                self.error(path, problem)

    def _union(self, value: Any, t: mi.UnionType, path: _Path) -> None:
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            self._check(value, members[0], path)
            return
        probe = _Validator(self.label, {}, set())
        if not any(probe.check(value, member, path) for member in members):
            self.error(path, f"expected {_expected(t)}, got {_value_type(value)}")

    @staticmethod
    def _scalar(value: Any, t: mi.Type) -> str | None:
        got = _value_type(value)
        if isinstance(t, mi.LiteralType):
            if not any(type(value) is type(v) and value == v for v in t.values):
                shown = repr(value) if isinstance(value, str | int) else got
                return f"expected {_expected(t)}, got {shown}"
        elif isinstance(t, mi.StrType):
            if not isinstance(value, str):
                return f"expected str, got {got}"
        elif isinstance(t, mi.BoolType):
            if not isinstance(value, bool):
                return f"expected bool, got {got}"
        elif isinstance(t, mi.IntType):
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected int, got {got}"
            return _bounds(t, value)
        elif isinstance(t, mi.FloatType):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected float, got {got}"
            return _bounds(t, value)
        return None

    def _struct(self, value: Any, t: mi.StructType, path: _Path) -> None:
        if not isinstance(value, dict):
            self.error(path, f"expected table, got {_value_type(value)}")
            return
        before = len(self.errors)
        cls = cast(type[Section], t.cls)
        fields = {f.encode_name: f for f in t.fields}
        for key in value:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.error((*path, key), f"unknown key{hint}")
        for key, field in fields.items():
            here = (*path, key)
            if key in value:
                self.check(value[key], field.type, here)
                if field.name in cls.SECRET_FIELDS and here in self.file_paths:
                    self.errors.append(
                        f"{self.label}: {_show(here)}: secrets do not belong in the config file; "
                        f"store it with `mlc creds set {_show(here[1:])}` or mount a secret file"
                    )
            elif field.required:
                self.error(here, "missing required key")
        if len(self.errors) == before:
            self._semantics(value, cls, path)

    def _semantics(self, value: dict[str, Any], cls: type[Section], path: _Path) -> None:
        try:
            section = msgspec.convert(value, cls)
        except msgspec.ValidationError:
            return
        for field, message in section.problems():
            here: _Path = path
            if field:
                match = re.fullmatch(r"(\w+)\[(\d+)\]", field)
                here = (*path, match[1], int(match[2])) if match else (*path, field)
            self.error(here, message)


def _paths(value: Any, prefix: _Path = ()) -> Iterator[_Path]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))


def _same_name(a: str, b: str) -> bool:
    return a.lower().replace("-", "_") == b.lower().replace("-", "_")


class _Layering:
    """Applies environment and secret-file overrides to the raw TOML tree, typed by the schema."""

    def __init__(self, label: str, raw: dict[str, Any], origins: dict[_Path, str]) -> None:
        self.label = label
        self.raw = raw
        self.origins = origins
        self.errors: list[str] = []

    def assign(self, keys: list[str], text: str, source: str) -> None:
        t: mi.Type = _ROOT
        node = self.raw
        path: _Path = ()
        for position, key in enumerate(keys):
            t = _non_null(t)
            if isinstance(t, mi.StructType):
                names = [f.encode_name for f in t.fields]
                found = next((n for n in names if n == key), None) or next(
                    (n for n in names if n == key.lower()), None
                )
                if found is None:
                    close = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.6)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    self.errors.append(f"{source}: {_show((*path, key))}: unknown key{hint}")
                    return
                child = next(f.type for f in t.fields if f.encode_name == found)
            elif isinstance(t, mi.DictType):
                found = key if key in node else next((k for k in node if _same_name(k, key)), key)
                child = t.value_type
            else:
                raise AssertionError(f"unexpected container type {t!r}")
            path = (*path, found)
            if position < len(keys) - 1 and not isinstance(
                _non_null(child), mi.StructType | mi.DictType
            ):
                self.errors.append(
                    f"{source}: {_show(path)}: expected {_expected(child)}, not a table"
                )
                return
            if position == len(keys) - 1:
                node[found] = _decode_text(text, child)
                self.origins[path] = source
                return
            if not isinstance(node.get(found), dict):
                node[found] = {}
                self.origins[path] = source
            node = node[found]
            t = child

    def environment(self, environ: Mapping[str, str]) -> None:
        for name in sorted(environ):
            rest = name[len(ENV_PREFIX) :]
            if not name.startswith(ENV_PREFIX) or "__" not in rest:
                continue
            keys = rest.lower().split("__")
            source = f"environment variable {name}"
            if not all(keys):
                self.errors.append(f"{source}: empty key between '__' separators")
                continue
            self.assign(keys, environ[name], source)

    def secret_files(self, directory: Path) -> None:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            source = self.origins.get(("service", "secrets_dir"), self.label)
            problem = exc.strerror or str(exc)
            self.errors.append(f"{source}: service.secrets_dir: {directory}: {problem}")
            return
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            source = f"secret file {entry}"
            try:
                text = entry.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.errors.append(f"{source}: cannot read: {exc}")
                continue
            keys = entry.name.split(".")
            if not all(keys):
                self.errors.append(f"{source}: the file name is not a dotted key path")
                continue
            self.assign(keys, text.rstrip("\r\n"), source)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _decode_text(text: str, t: mi.Type) -> Any:
    """Text from the environment or a secret file as a value of type ``t``."""
    target = _non_null(t)
    if isinstance(target, mi.StrType | mi.LiteralType) and _takes_str(target):
        return text
    if isinstance(target, mi.BoolType) and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if _takes_str(target) and not _Validator("", {}, set()).check(value, target, ()):
        return text
    return value


def _cross_check(raw: dict[str, Any], v: _Validator) -> None:
    """Checks spanning sections: names usable in key paths, flows pointing at connections."""
    refs: set[str] = set()
    connections = raw.get("connections")
    if isinstance(connections, dict):
        for kind in CONNECTION_KINDS:
            table = connections.get(kind)
            if isinstance(table, dict):
                for name in table:
                    if NAME_PATTERN.match(name):
                        refs.add(f"{kind}.{name}")
                    else:
                        v.error(("connections", kind, name), "names use letters, digits, - and _")
    flows = raw.get("flows")
    if not isinstance(flows, dict):
        return
    known = ", ".join(sorted(refs)) or "none"
    for name, flow in flows.items():
        if not NAME_PATTERN.match(name):
            v.error(("flows", name), "names use letters, digits, - and _")
        if not isinstance(flow, dict):
            continue
        for role in ("source", "target"):
            ref = flow.get(role)
            if isinstance(ref, str) and ref not in refs:
                v.error(("flows", name, role), f"no connection {ref!r} (configured: {known})")
        if isinstance(flow.get("source"), str) and flow.get("source") == flow.get("target"):
            v.error(("flows", name, "target"), "must differ from source")


def _absolute(section: Any, base: Path) -> Any:
    """``section`` with every relative path field resolved against ``base``."""
    if isinstance(section, dict):
        return {key: _absolute(item, base) for key, item in section.items()}
    if isinstance(section, list):
        return [_absolute(item, base) for item in section]
    if not isinstance(section, Section):
        return section
    changes: dict[str, Any] = {}
    for name in section.__struct_fields__:
        value = getattr(section, name)
        if name in section.PATH_FIELDS and isinstance(value, str):
            changes[name] = str(base / Path(value).expanduser())
        elif isinstance(value, Section | dict | list):
            changes[name] = _absolute(value, base)
    return msgspec.structs.replace(section, **changes)


def _register_secrets(section: Any) -> None:
    if isinstance(section, dict | list):
        for item in section.values() if isinstance(section, dict) else section:
            _register_secrets(item)
    elif isinstance(section, Section):
        for name in section.__struct_fields__:
            value = getattr(section, name)
            if name in section.SECRET_FIELDS and isinstance(value, str):
                register_secret(value)
            else:
                _register_secrets(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path`` with its overrides; :class:`ConfigError` lists every problem."""
    environ = os.environ if environ is None else environ
    label = str(path)
    raw = _read_toml(path)
    file_paths = set(_paths(raw))
    origins: dict[_Path, str] = {}
    layers = _Layering(label, raw, origins)
    layers.environment(environ)
    base = path.absolute().parent
    if environ.get(SECRETS_DIR_ENV):
        source = f"environment variable {SECRETS_DIR_ENV}"
        layers.assign(["service", "secrets_dir"], environ[SECRETS_DIR_ENV], source)
    service = raw.get("service")
    secrets_dir = service.get("secrets_dir") if isinstance(service, dict) else None
    if isinstance(secrets_dir, str):
        layers.secret_files(base / Path(secrets_dir).expanduser())
    validator = _Validator(label, origins, file_paths)
    validator.errors.extend(layers.errors)
    validator.check(raw, _ROOT, ())
    _cross_check(raw, validator)
    if validator.errors:
        raise ConfigError(validator.errors)
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError([f"{label}: {exc}"]) from None
    _register_secrets(config)
    resolved: Config = _absolute(config, base)
    return _default_timezones(resolved)


def _default_timezones(config: Config) -> Config:
    zone = config.service.timezone
    flows = {
        name: msgspec.structs.replace(
            flow,
            schedule=[
                rule if rule.timezone else msgspec.structs.replace(rule, timezone=zone)
                for rule in flow.schedule
            ],
        )
        for name, flow in config.flows.items()
    }
    return msgspec.structs.replace(config, flows=flows)
