"""What a sandbox Anaplan tenant looks like and how it behaves; faithful defaults throughout."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnaplanOptions:
    #: Seed for every generated id and value: the same seed gives the same tenant.
    seed: int = 20260
    #: The current fiscal year (= calendar year); None = the sandbox clock's year at build time.
    fiscal_year: int | None = None
    #: Authentication and OAuth access token lifetime (35 minutes on the real service).
    token_lifetime_seconds: float = 2100.0
    #: Task duration = base + seconds per row x rows, in sandbox seconds.
    task_base_seconds: float = 1.0
    task_seconds_per_row: float = 0.00002
    #: How long a cancelled running task stays CANCELLING while it rolls back.
    cancel_seconds: float = 1.0
    #: How long a CloudWorks run started through the API holds the model lock.
    cloudworks_run_seconds: float = 30.0
    #: Requests per rolling minute per tenant, across all hosts (0 disables the limit).
    rate_limit_per_minute: int = 600
    #: Send ``Retry-After`` with 429 answers (unverified on the real service; off by default).
    rate_limit_retry_after: bool = False
    #: Chunk limits of the bulk API.
    max_chunk_bytes: int = 50 * 1024 * 1024
    #: Export output chunk size: unverified (Anaplan documents 10 MB only for dump chunks; the
    #: same size is used for export output).
    export_chunk_bytes: int = 10 * 1024 * 1024
    dump_chunk_bytes: int = 10 * 1024 * 1024
    #: The demo users.
    user: str = "integration@demo.example"
    password: str = "Demo-Integration-2026!"
    other_user: str = "planner@demo.example"
    other_password: str = "Demo-Planner-2026!"
    #: OAuth device-grant client and whether its refresh tokens rotate.
    oauth_client_id: str = "5a1d0c7e9b2f4e3a8c6d1f0e2b4a6c8d"
    oauth_rotate_refresh_tokens: bool = True
    oauth_refresh_lifetime_seconds: float = 43_000.0
    #: Minimum seconds between device-code polls (``interval``).
    oauth_poll_interval_seconds: int = 5
