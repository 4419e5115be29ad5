"""ml-connector: polled, audited, replayable finance syncs between Epicor, Anaplan and Workday."""

__version__ = "0.1.0"
