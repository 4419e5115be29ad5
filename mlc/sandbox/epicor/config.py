"""The Epicor emulator's options, with the demo tenant's credentials."""

from __future__ import annotations

from dataclasses import dataclass

from mlc.sandbox.common.chart import COMPANY

DEFAULT_BAQ = "MLC-GLBalances"


@dataclass(frozen=True)
class EpicorOptions:
    """How the emulated Epicor tenant looks and behaves.

    ``rows``: number of GL period balance rows (``None`` = the natural demo set, ~3,600 rows);
    any size up to millions is generated lazily. ``fiscal_year``: the current fiscal year (``None``
    = the sandbox clock's year); balances cover it and the previous one (more years of history
    only when ``rows`` needs them). ``as_of``: ISO date/time nothing seeded is dated after
    (``None`` = when the emulator is built). ``token_lifetime``: seconds a bearer token from
    either token endpoint lives (one hour by default, per [KL]; the reference calls the default
    unverified). ``page_cap``: the server's row limit per list call (100 [KB]); ``$top`` above it
    is cut to it. ``next_link``: send ``@odata.nextLink`` (real Epicor does not [PRAC]).
    ``closed_periods``: ``(fiscal year, period)`` pairs posting is refused for.
    ``max_sort_rows``: the largest window the sandbox sorts by a non-key ``$orderby``.
    ``baq_decimals_as_strings``: write BAQ decimals as JSON strings, as v1 did [PMN] (v2's
    encoding is unverified; numbers by default). ``parent_filter_quirk``: a ``$filter`` on a child
    set of a parent's service is applied to the parent type [PRAC] (see
    :mod:`mlc.sandbox.epicor.entities`).
    """

    seed: int = 7
    rows: int | None = None
    fiscal_year: int | None = None
    as_of: str | None = None
    instance: str = "ERP11"
    company: str = COMPANY
    plant: str = "MfgSys"
    user: str = "mlc-integration"
    password: str = "Kinetic-Sandbox-2024!"
    api_key: str = "sbx_7f3c9a1e5d2b4c8e9f0a6b1c3d5e7f90"
    client_id: str = "mlc-connector"
    client_secret: str = "sbx-idp-secret-4b9e2d7c1a"
    scope: str = "epicor_erp"
    token_lifetime: float = 3600.0
    page_cap: int = 100
    next_link: bool = False
    closed_periods: tuple[tuple[int, int], ...] = ()
    baq_id: str = DEFAULT_BAQ
    baq_decimals_as_strings: bool = False
    max_sort_rows: int = 100_000
    parent_filter_quirk: bool = True

    def __post_init__(self) -> None:
        if self.rows is not None and not 0 <= self.rows <= 50_000_000:
            raise ValueError(f"epicor rows must be between 0 and 50,000,000, got {self.rows}")
        if self.page_cap < 1:
            raise ValueError(f"epicor page_cap must be at least 1, got {self.page_cap}")
        if self.token_lifetime <= 0:
            raise ValueError(
                f"epicor token_lifetime must be a positive number of seconds, got "
                f"{self.token_lifetime}"
            )
        if self.fiscal_year is not None and not 1990 <= self.fiscal_year <= 2200:
            raise ValueError(f"epicor fiscal_year {self.fiscal_year} is out of range")
        for pair in self.closed_periods:
            if len(pair) != 2 or not 1 <= pair[1] <= 12:
                raise ValueError(
                    f"epicor closed_periods entries are (fiscal year, period 1-12), got {pair!r}"
                )
        if not self.instance or "/" in self.instance:
            raise ValueError(f"epicor instance must be one path segment, got {self.instance!r}")
