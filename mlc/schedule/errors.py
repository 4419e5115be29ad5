"""The one error a schedule raises."""

from __future__ import annotations

from mlc.errors import UsageError


class ScheduleError(UsageError):
    """A schedule rule in the configuration is invalid; the message names the rule and field."""
