"""The root of the connector's own errors.

Every error a user can see derives from :class:`MlcError` and carries a message that names what
went wrong and where (config key path, record key, HTTP call). The CLI prints the message on one
line and exits with :attr:`MlcError.exit_code`; it never prints a traceback for these.
"""

from __future__ import annotations


class MlcError(Exception):
    """An error with a message fit for an operator."""

    exit_code: int = 1


class UsageError(MlcError):
    """The command line or the configuration is wrong; nothing was done."""

    exit_code = 2
