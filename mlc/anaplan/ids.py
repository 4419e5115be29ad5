"""Anaplan identifiers: which model, which action, and the URL segment each kind lives under.

Ids are opaque strings and are kept exactly as the API returns them (reference §2 "IDs"):
workspace ids are 32 lowercase hex, model ids 32 *uppercase* hex, and the API is case-sensitive
about them, so nothing here changes their case. Model objects carry a type prefix: import 112…,
file 113…, export 116…, action 117…, process 118… (anaplan-sdk routes by the same prefixes).
"""

from __future__ import annotations

import enum

import msgspec


class ModelRef(msgspec.Struct, frozen=True):
    """A model resolved by name: the ids every model-scoped URL needs."""

    workspace_id: str
    model_id: str
    workspace_name: str = ""
    model_name: str = ""

    @property
    def path(self) -> str:
        """``/2/0/workspaces/{ws}/models/{M}``: the prefix of model-scoped calls."""
        return f"/2/0/workspaces/{self.workspace_id}/models/{self.model_id}"


class ActionKind(enum.Enum):
    """The collection an action runs under; the value is its URL segment."""

    IMPORT = "imports"
    EXPORT = "exports"
    ACTION = "actions"
    PROCESS = "processes"


_KIND_BY_PREFIX = {
    "112": ActionKind.IMPORT,
    "116": ActionKind.EXPORT,
    "117": ActionKind.ACTION,
    "118": ActionKind.PROCESS,
}


class ActionRef(msgspec.Struct, frozen=True):
    """One runnable object of a model (an import, export, action or process)."""

    kind: ActionKind
    id: str
    name: str = ""

    @classmethod
    def from_id(cls, object_id: str, name: str = "") -> ActionRef:
        """The action for a 12-digit id, its kind read from the type prefix.

        :raises ValueError: the id does not carry a runnable type prefix.
        """
        kind = _KIND_BY_PREFIX.get(object_id[:3]) if len(object_id) == 12 else None
        if kind is None:
            raise ValueError(
                f"{object_id!r} is not an import (112…), export (116…), action (117…) "
                "or process (118…) id"
            )
        return cls(kind, object_id, name)

    def describe(self) -> str:
        label = self.kind.name.lower()
        return f"{label} {self.name!r} ({self.id})" if self.name else f"{label} {self.id}"
