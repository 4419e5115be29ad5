"""The state store: one SQLite file in WAL mode under ``service.state_dir``.

It holds everything that must survive a restart: runs and their records (the audit trail and
what replays need), watermarks, pending triggers, in-flight Anaplan tasks, encrypted credentials,
mapping tables and the posting keys that make outbound writes exactly-once.
"""

from __future__ import annotations

from mlc.store.errors import StoreError
from mlc.store.migrations import MIGRATIONS, Migration
from mlc.store.rows import (
    AnaplanTask,
    CredentialInfo,
    Posting,
    Record,
    RecordEvent,
    Run,
    RunCounts,
    RunStatus,
    StoredCredential,
    Trigger,
    Watermark,
)
from mlc.store.store import Store

__all__ = [
    "MIGRATIONS",
    "AnaplanTask",
    "CredentialInfo",
    "Migration",
    "Posting",
    "Record",
    "RecordEvent",
    "Run",
    "RunCounts",
    "RunStatus",
    "Store",
    "StoreError",
    "StoredCredential",
    "Trigger",
    "Watermark",
]
