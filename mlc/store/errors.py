"""Errors of the state store."""

from __future__ import annotations

from mlc.errors import MlcError


class StoreError(MlcError):
    """The state database cannot be used as it is (wrong version, not WAL-capable, unreadable)."""
