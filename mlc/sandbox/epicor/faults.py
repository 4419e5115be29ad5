"""Epicor's own failure modes, injected through ``POST /_sandbox/faults``.

``{"kind": "slow_skip", "seconds_per_1000_rows": 0.05, "min_skip": 0, "max_seconds": 30}``
    list calls sleep in proportion to ``$skip`` (real seconds: it is about client timeouts), the
    way offset paging degrades on a big table. No source describes Epicor's ``$skip`` cost (the
    reference marks it unverified); keyset paging (a ``$filter`` on the last key) avoids it.
``{"kind": "license_exhausted", "count": 3}``
    the next v2 calls fail as when every web-service license is claimed: HTTP 400, ``ErrorType``
    ``Ice.Common.LicenseAccessException``, message containing "Maximum users exceeded" — the two
    markers a production client looks for [PRAC]; the exact Epicor wording is unverified.
``{"kind": "token_lifetime", "seconds": 5}``
    tokens issued from now on live ``seconds`` (until faults are cleared or the sandbox reset).

``count`` is how many requests a fault affects (-1 = until cleared, the default for
``slow_skip``); ``route`` optionally limits it to paths matching a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlc.sandbox.common.faults import FaultError, Faults

KINDS = ("slow_skip", "license_exhausted", "token_lifetime")


@dataclass
class DomainFault:
    kind: str
    remaining: int
    spec: dict[str, Any]
    route: re.Pattern[str] | None

    def matches(self, path: str) -> bool:
        return self.remaining != 0 and (self.route is None or self.route.search(path) is not None)


def _number(spec: Mapping[str, Any], name: str, default: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultError(f"fault field '{name}' must be a non-negative number, got {value!r}")
    return float(value)


class EpicorFaults:
    def __init__(self) -> None:
        self.active: list[DomainFault] = []
        self.token_lifetime: float | None = None

    def register(self, faults: Faults) -> None:
        for kind in KINDS:
            faults.register_kind(kind, self.add)

    async def add(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        kind = str(spec["kind"])
        if kind == "token_lifetime":
            seconds = _number(spec, "seconds", 0)
            if seconds <= 0:
                raise FaultError("a 'token_lifetime' fault needs positive 'seconds'")
            self.token_lifetime = seconds
            return {"seconds": seconds}
        count = spec.get("count", -1 if kind == "slow_skip" else 1)
        if isinstance(count, bool) or not isinstance(count, int) or count == 0 or count < -1:
            raise FaultError(f"fault 'count' must be a positive integer or -1, got {count!r}")
        route = spec.get("route")
        try:
            pattern = re.compile(route) if route else None
        except re.error as exc:
            raise FaultError(f"fault route {route!r} is not a regular expression: {exc}") from exc
        if kind == "slow_skip":
            _number(spec, "seconds_per_1000_rows", 0.05)
            _number(spec, "max_seconds", 30)
            _number(spec, "min_skip", 0)
        self.active.append(DomainFault(kind, count, dict(spec), pattern))
        return {"count": count}

    def take(self, kind: str, path: str) -> DomainFault | None:
        for fault in self.active:
            if fault.kind == kind and fault.matches(path):
                if fault.remaining > 0:
                    fault.remaining -= 1
                return fault
        return None

    def skip_delay(self, path: str, skip: int) -> float:
        for fault in self.active:
            if fault.kind != "slow_skip" or not fault.matches(path):
                continue
            if skip < _number(fault.spec, "min_skip", 0):
                continue
            if fault.remaining > 0:
                fault.remaining -= 1
            rate = _number(fault.spec, "seconds_per_1000_rows", 0.05)
            return min(skip / 1000 * rate, _number(fault.spec, "max_seconds", 30))
        return 0.0

    def clear(self) -> None:
        self.active.clear()
        self.token_lifetime = None

    def snapshot(self) -> list[dict[str, Any]]:
        listed = [{"remaining": f.remaining, **f.spec} for f in self.active if f.remaining != 0]
        if self.token_lifetime is not None:
            listed.append({"kind": "token_lifetime", "seconds": self.token_lifetime})
        return listed
