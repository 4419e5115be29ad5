"""Typed rows of the state store.

Persisted shapes evolve by adding fields with defaults, never by changing a field's type
(msgspec's schema-evolution rule), so rows written by an older version still decode.
"""

from __future__ import annotations

from typing import Literal

import msgspec

#: ``running`` until finished; ``interrupted`` when the process died first (set on restart).
RunStatus = Literal["running", "succeeded", "partial", "failed", "cancelled", "interrupted"]


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every row type."""


class RunCounts(Row, frozen=True, kw_only=True):
    """Records of a run at each step."""

    read: int = 0
    mapped: int = 0
    quarantined: int = 0
    loaded: int = 0
    failed: int = 0


class Run(Row, frozen=True, kw_only=True):
    """One execution of a flow."""

    id: int
    flow: str
    #: What started it: ``schedule``, ``signal``, ``manual``, ``replay``, …
    trigger: str
    #: The run a replay re-executes.
    parent_run_id: int | None
    started_at: float
    finished_at: float | None
    status: RunStatus
    counts: RunCounts
    error: str | None


class RecordEvent(Row, frozen=True, kw_only=True):
    """The latest state of one business record in one run, as written by the audit."""

    run_id: int
    flow: str
    #: Stable business key (e.g. ``EPIC06|1000-200|2026-01``).
    record_key: str
    #: Hash of the record's content, to tell a changed record from a repeat.
    content_hash: str
    #: Where the record got to: ``read``, ``mapped``, ``loaded``, ``posted``, …
    stage: str
    #: ``ok``, ``quarantined``, ``failed``, ``skipped``, …
    status: str
    error: str | None = None
    #: What a replay needs to send the record again; ``None`` keeps a payload stored earlier.
    payload: bytes | None = None


class Record(RecordEvent, frozen=True, kw_only=True):
    """A stored :class:`RecordEvent`."""

    id: int
    updated_at: float


class Watermark(Row, frozen=True, kw_only=True):
    flow: str
    value: str
    updated_at: float


class Trigger(Row, frozen=True, kw_only=True):
    """A request to run a flow, from ``mlc trigger``, a replay or the status API."""

    id: int
    flow: str
    requested_at: float
    source: str
    consumed_at: float | None


class AnaplanTask(Row, frozen=True, kw_only=True):
    """An Anaplan action task the connector started, kept to reattach after a restart."""

    model_id: str
    action_id: str
    task_id: str
    run_id: int | None
    flow: str | None
    #: Anaplan's ``taskState``: ``NOT_STARTED``, ``IN_PROGRESS``, ``COMPLETE``, ``CANCELLED``, …
    state: str
    created_at: float
    finished_at: float | None


class StoredCredential(Row, frozen=True, kw_only=True):
    """One vault entry exactly as stored: AES-256-GCM output and the id of its key."""

    name: str
    key_id: str
    nonce: bytes
    ciphertext: bytes
    updated_at: float


class CredentialInfo(Row, frozen=True, kw_only=True):
    """What may be shown about a credential: never its value."""

    name: str
    key_id: str
    updated_at: float


class Posting(Row, frozen=True, kw_only=True):
    """Proof that an outbound write with a deterministic key happened (exactly-once posting)."""

    posting_key: str
    run_id: int
    flow: str
    #: What the target system calls the written object (journal number, budget row key, …).
    target_ref: str | None
    posted_at: float
