"""Mapping Anaplan members back to Epicor: natural account, cost center, then the GL account.

One mapping table serves both directions. The inbound flows store ``Epicor code → Anaplan code``
rows per Anaplan list (kind ``anaplan.fpa:Accounts``, see :func:`mlc.flows.mapping.mapping_kind`);
read backwards, a row says which Epicor code an Anaplan member stands for. An Anaplan code
resolves, in order:

1. through the table read backwards: exactly one Epicor code maps to it → that code; several →
   ambiguous, the record is quarantined (the plan value cannot be split);
2. to itself, when it is an active Epicor segment value (codes are shared by ``coa-align``);
3. otherwise the record is quarantined, naming the code and the mapping that would fix it.

The GL account (``natural|cost center|site`` in Epicor's internal form) needs the remaining
segments, by ``site_rule``:

* ``gl-accounts`` — the one active GL account of the chart with this natural account and cost
  center; Epicor itself is the authority on valid combinations (the AccountBudget and journal
  services refuse any other). A row of kind ``<epicor connection>:Site`` keyed
  ``natural|cost center`` (or just ``cost center``) pins the site where several accounts match;
* ``mapping`` — only that table;
* ``fixed`` — the ``site`` option for every row.

The result must be an active GL account of the chart: nothing is ever sent to an account Epicor
would refuse, so a missing account is a quarantine (retried by ``mlc replay`` once fixed), not a
failed write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from mlc.flows.mapping import mapping_kind
from mlc.flows.outbound.options import OutboundFlowSpec, OutboundOptions
from mlc.messages import TargetChart


def site_mapping_kind(target: str) -> str:
    """The mapping-table kind pinning GL account sites: ``epicor.main:Site``."""
    return f"{target}:Site"


def mapping_kinds(spec: OutboundFlowSpec) -> tuple[str, str, str]:
    """The three mapping-table kinds an outbound flow reads (accounts, cost centers, sites)."""
    options = spec.options
    return (
        mapping_kind(spec.source, options.accounts_list),
        mapping_kind(spec.source, options.cost_centers_list),
        site_mapping_kind(spec.target),
    )


class Unmapped(NamedTuple):
    """Why a value cannot be sent: ``reason`` for people, ``missing_code`` for the audit."""

    reason: str
    missing_code: str


class GLTarget(NamedTuple):
    """Where a value lands in Epicor."""

    gl_account: str
    natural: str
    cost_center: str
    credit_account: bool


@dataclass(frozen=True)
class ReverseCodes:
    """Anaplan codes of one list → Epicor segment values."""

    what: str
    kind: str
    epicor_codes: frozenset[str]
    backwards: Mapping[str, tuple[str, ...]]

    @classmethod
    def build(
        cls, what: str, kind: str, epicor_codes: Iterable[str], table: Mapping[str, str]
    ) -> ReverseCodes:
        backwards: dict[str, list[str]] = defaultdict(list)
        for epicor, anaplan in sorted(table.items()):
            backwards[anaplan].append(epicor)
        return cls(
            what,
            kind,
            frozenset(epicor_codes),
            {code: tuple(found) for code, found in backwards.items()},
        )

    def resolve(self, anaplan_code: str) -> str | Unmapped:
        found = self.backwards.get(anaplan_code, ())
        if len(found) > 1:
            return Unmapped(
                f"Anaplan {self.what} {anaplan_code!r} is mapped from several Epicor codes "
                f"({', '.join(found)}; mapping kind {self.kind!r}): the value cannot be split",
                anaplan_code,
            )
        code = found[0] if found else anaplan_code
        if code in self.epicor_codes:
            return code
        if found:
            return Unmapped(
                f"Anaplan {self.what} {anaplan_code!r} maps to Epicor {code!r} (mapping kind "
                f"{self.kind!r}), which is not an active Epicor {self.what}",
                code,
            )
        return Unmapped(
            f"Anaplan {self.what} {anaplan_code!r} has no Epicor {self.what}: add a mapping "
            f"(kind {self.kind!r}, Epicor code → {anaplan_code!r}) or the code in Epicor",
            anaplan_code,
        )


@dataclass(frozen=True)
class OutboundMapper:
    options: OutboundOptions
    target: str
    accounts: ReverseCodes
    cost_centers: ReverseCodes
    #: ``(natural, cost center)`` → active GL accounts with those segments.
    combinations: Mapping[tuple[str, str], tuple[str, ...]]
    gl_accounts: frozenset[str]
    credit_accounts: frozenset[str]
    sites: Mapping[str, str]
    site_kind: str

    @classmethod
    def build(
        cls,
        spec: OutboundFlowSpec,
        chart: TargetChart,
        tables: Mapping[str, Mapping[str, str]],
    ) -> OutboundMapper:
        """``tables``: mapping-table rows per kind (:func:`mapping_kinds`); absent = empty."""
        options = spec.options
        account_kind, center_kind, site_kind = mapping_kinds(spec)
        combinations: dict[tuple[str, str], list[str]] = defaultdict(list)
        for account in chart.gl_accounts:
            segments = account.split("|")
            natural = _segment(segments, options.account_segment)
            center = _segment(segments, options.cost_center_segment)
            if natural and center:
                combinations[(natural, center)].append(account)
        return cls(
            options=options,
            target=spec.target,
            accounts=ReverseCodes.build(
                "natural account",
                account_kind,
                chart.natural_accounts,
                tables.get(account_kind, {}),
            ),
            cost_centers=ReverseCodes.build(
                "cost center", center_kind, chart.cost_centers, tables.get(center_kind, {})
            ),
            combinations={pair: tuple(found) for pair, found in combinations.items()},
            gl_accounts=frozenset(chart.gl_accounts),
            credit_accounts=frozenset(chart.credit_accounts),
            sites=dict(tables.get(site_kind, {})),
            site_kind=site_kind,
        )

    def map(self, account: str, cost_center: str) -> GLTarget | Unmapped:
        natural = self.accounts.resolve(account)
        if isinstance(natural, Unmapped):
            return natural
        center = self.cost_centers.resolve(cost_center)
        if isinstance(center, Unmapped):
            return center
        gl_account = self._gl_account(natural, center)
        if isinstance(gl_account, Unmapped):
            return gl_account
        return GLTarget(gl_account, natural, center, natural in self.credit_accounts)

    def _pinned_site(self, natural: str, center: str) -> str | None:
        return self.sites.get(f"{natural}|{center}") or self.sites.get(center)

    def _gl_account(self, natural: str, center: str) -> str | Unmapped:
        options = self.options
        pinned = self._pinned_site(natural, center)
        rule = options.site_rule
        if rule == "fixed" or pinned is not None:
            site = options.site if rule == "fixed" else pinned
            assert site is not None
            account = self._compose(natural, center, site)
            if account in self.gl_accounts:
                return account
            source = "the site option" if rule == "fixed" else f"mapping kind {self.site_kind!r}"
            return Unmapped(
                f"GL account {account!r} (site {site!r} from {source}) is not an active "
                f"Epicor GL account of chart {options.coa!r}",
                account,
            )
        pair = f"{natural}|{center}"
        hint = (
            f"add a mapping (kind {self.site_kind!r}, {pair!r} → site) or the GL account in "
            "Epicor"
        )
        if rule == "mapping":
            return Unmapped(f"no site for natural account and cost center {pair!r}: {hint}", pair)
        found = self.combinations.get((natural, center), ())
        if len(found) == 1:
            return found[0]
        if not found:
            return Unmapped(
                f"no active Epicor GL account with natural account {natural!r} and cost center "
                f"{center!r} in chart {options.coa!r}: {hint}",
                pair,
            )
        return Unmapped(
            f"several Epicor GL accounts combine natural account {natural!r} and cost center "
            f"{center!r} ({', '.join(found)}): pin one with a mapping (kind "
            f"{self.site_kind!r}, {pair!r} → site)",
            pair,
        )

    def _compose(self, natural: str, center: str, site: str) -> str:
        options = self.options
        size = max(options.account_segment, options.cost_center_segment, options.site_segment)
        segments = [""] * size
        segments[options.account_segment - 1] = natural
        segments[options.cost_center_segment - 1] = center
        segments[options.site_segment - 1] = site
        return "|".join(segments)


def _segment(segments: list[str], position: int) -> str:
    return segments[position - 1] if position <= len(segments) else ""
