"""Anaplan's identifier schemes, as observed on the live API.

Sources (reference/anaplan.md §2 "IDs"): workspace and user ids are 32 lowercase hex characters,
model ids 32 *uppercase* hex; model objects are 12-digit strings with a type prefix — list 101,
module 102, import 112, file 113, export 116 (an export's output file has the export's id), action
117, process 118; versions 107 (``versionMetadata`` example); line items 206 (community OpenAPI
``LineItem.id``). The Time dimension is ``20000000003`` and Versions ``20000000020`` (anaplan-sdk).
Task ids are 32 uppercase hex; token and refresh-token ids hyphenated UUIDs; GUIDs on
``/token/validate`` 32 lowercase hex. Ids are always JSON strings.

Deterministic ids (workspaces, models, list members) come from a seeded RNG so that a sandbox
built twice with the same seed answers with the same ids; runtime ids (tasks, tokens) are random.
"""

from __future__ import annotations

import random
import secrets
import uuid

LIST_PREFIX = 101
MODULE_PREFIX = 102
VERSION_PREFIX = 107
IMPORT_PREFIX = 112
FILE_PREFIX = 113
EXPORT_PREFIX = 116
ACTION_PREFIX = 117
PROCESS_PREFIX = 118
LINE_ITEM_PREFIX = 206

TIME_DIMENSION_ID = "20000000003"
VERSION_DIMENSION_ID = "20000000020"


def object_id(prefix: int, index: int) -> str:
    """``object_id(112, 7)`` → ``"112000000007"``."""
    return f"{prefix}{index:09d}"


def object_prefix(value: str) -> int | None:
    """The type prefix of a 12-digit model-object id, or None if ``value`` is not one."""
    if len(value) != 12 or not value.isdigit():
        return None
    return int(value[:3])


def member_id(list_index: int, index: int) -> str:
    """List member ids: a per-list 3-digit prefix (200 + list index) and a running number."""
    return f"{200 + list_index}{index:09d}"


def time_item_id(index: int) -> str:
    """Time period ids, 12 digits under prefix 300 (unverified scheme; opaque to clients)."""
    return f"300{index:09d}"


class SeededIds:
    """Hex ids derived from the sandbox seed, so rebuilding the sandbox gives the same ids."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def hex32(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def workspace_id(self) -> str:
        return self.hex32()

    def model_id(self) -> str:
        return self.hex32().upper()

    def user_guid(self) -> str:
        return self.hex32()


def task_id() -> str:
    return uuid.uuid4().hex.upper()


def hyphenated_uuid() -> str:
    return str(uuid.uuid4())


def lower_hex32() -> str:
    return uuid.uuid4().hex


def opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
