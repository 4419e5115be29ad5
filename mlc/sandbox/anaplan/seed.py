"""The demo tenant: workspace ``FP&A``, model ``Operating Plan``, seeded deterministically.

* Lists ``Accounts`` (parent list ``Account Categories``, property ``Normal Balance``) and
  ``Cost Centers`` whose codes are the Epicor sandbox's natural accounts and cost-center segment
  values (``mlc.sandbox.common.chart``), minus the members in ``ANAPLAN_LAGS_BEHIND`` — so
  ``coa-align`` has work to do on a fresh sandbox.
* Versions Actual, Budget, Forecast.
* Monthly time for the **previous**, current and next fiscal year. The issue asked for the current
  and next year; the previous year is added because the Epicor sandbox serves current *and previous*
  year actuals, and a GL load of last year's periods must find its time periods.
* Modules ``GL Actuals`` (Amount), ``AP Spend`` (Spend, Invoice Count) and ``Budget`` (Amount), all
  dimensioned by Accounts x Cost Centers x Time x Versions. GL Actuals and AP Spend start empty;
  Budget holds plausible approved values for the Budget version (current and next year) and the
  Forecast version (current year), generated from the seed.
* Imports ``Load Accounts``, ``Load Cost Centers`` (HIERARCHY_DATA), ``Load GL Actuals``,
  ``Load AP Spend`` (MODULE_DATA); exports ``Export Approved Budget``, ``Export Approved Forecast``,
  ``Export GL Actuals``.
* Two CloudWorks integrations on the model, each with one successful run the day before.
"""

from __future__ import annotations

import datetime
import math
import random
from pathlib import Path

from mlc.sandbox.anaplan import actions, ids
from mlc.sandbox.anaplan.auth import Directory, TokenStore, User
from mlc.sandbox.anaplan.certs import DemoCertificates, issue_demo_certificates
from mlc.sandbox.anaplan.cloudworks import Integration, Run
from mlc.sandbox.anaplan.files import FileStore
from mlc.sandbox.anaplan.model import Model, Module, TimeDim, Version, VersionDim
from mlc.sandbox.anaplan.oauth import DEVICE_GRANT, OAuthClient, OAuthServer
from mlc.sandbox.anaplan.options import AnaplanOptions
from mlc.sandbox.anaplan.state import ModelState, Tenant, Workspace
from mlc.sandbox.anaplan.tasks import Job, ModelQueue, Timing
from mlc.sandbox.common import chart
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.counters import RequestCounters

WORKSPACE_NAME = "FP&A"
MODEL_NAME = "Operating Plan"
IMPORT_FILES = {
    "Load Accounts": "Accounts.csv",
    "Load Cost Centers": "Cost Centers.csv",
    "Load GL Actuals": "GL Actuals.csv",
    "Load AP Spend": "AP Spend.csv",
}
DIMENSION_HEADERS = {"Accounts": "Account", "Cost Centers": "Cost Center"}

#: Annual approved amount per account x cost center, on the scale of the Epicor sandbox's monthly
#: activity: an account x cost center sums about two Epicor GL accounts (sites) of 2k-60k a
#: month for expenses, five times that for cost of goods, twelve times for revenue.
_ANNUAL_RANGE = {
    "Revenue": (600_000.0, 16_000_000.0),
    "COGS": (200_000.0, 5_800_000.0),
    "Expense": (40_000.0, 1_150_000.0),
}


def fiscal_year_of(options: AnaplanOptions, now: float) -> int:
    if options.fiscal_year is not None:
        return options.fiscal_year
    return datetime.datetime.fromtimestamp(now, datetime.UTC).year


def build_tenant(
    options: AnaplanOptions,
    clock: SandboxClock,
    counters: RequestCounters,
    root: Path,
    certificates: DemoCertificates | None = None,
) -> Tenant:
    """A fresh tenant from the seed; ``certificates`` are reused across resets when given."""
    now = clock.time()
    seeded = ids.SeededIds(options.seed)
    customer_guid = seeded.hex32()
    users = [
        User(options.user, options.password, seeded.user_guid(), "Demo", "Integration"),
        User(options.other_user, options.other_password, seeded.user_guid(), "Pat", "Planner"),
    ]
    if certificates is None:
        certificates = issue_demo_certificates(options.user, now, root / "certificates")
    tokens = TokenStore(options.token_lifetime_seconds)
    client = OAuthClient(
        client_id=options.oauth_client_id,
        name="ml-connector sandbox device client",
        grants=frozenset({DEVICE_GRANT, "refresh_token"}),
        rotate=options.oauth_rotate_refresh_tokens,
        refresh_lifetime_seconds=options.oauth_refresh_lifetime_seconds,
    )
    oauth = OAuthServer(
        clients={client.client_id: client},
        tokens=tokens,
        interval_seconds=options.oauth_poll_interval_seconds,
    )
    tenant = Tenant(
        options=options,
        clock=clock,
        counters=counters,
        root=root,
        customer_guid=customer_guid,
        directory=Directory(users, certificates.ca_certificate),
        tokens=tokens,
        oauth=oauth,
        certificates=certificates,
    )
    workspace = Workspace(seeded.workspace_id(), WORKSPACE_NAME, 10 * 1024**3, 2 * 1024**3)
    tenant.workspaces[workspace.id] = workspace
    state = _operating_plan(tenant, seeded, workspace, fiscal_year_of(options, now), now)
    tenant.models[state.model.id] = state
    _integrations(tenant, state, now)
    return tenant


def _operating_plan(
    tenant: Tenant, seeded: ids.SeededIds, workspace: Workspace, fiscal_year: int, now: float
) -> ModelState:
    options = tenant.options
    model = Model(
        seeded.model_id(), MODEL_NAME, workspace.id, TimeDim(fiscal_year - 1, fiscal_year + 1)
    )
    model.created = now - 400 * 86_400
    model.last_modified = now - 86_400
    model.last_modified_by = options.other_user
    model.versions = VersionDim(
        [
            Version(ids.object_id(ids.VERSION_PREFIX, 1), "Actual", True, False),
            Version(ids.object_id(ids.VERSION_PREFIX, 2), "Budget", False, False),
            Version(ids.object_id(ids.VERSION_PREFIX, 3), "Forecast", False, True),
        ]
    )
    categories = model.add_list("Account Categories")
    for category in ("Asset", "Liability", "Equity", "Revenue", "COGS", "Expense"):
        categories.add(category, category)
    accounts = model.add_list("Accounts", parent=categories, properties=("Normal Balance",))
    lagging = chart.ANAPLAN_LAGS_BEHIND
    for natural in chart.NATURAL_ACCOUNTS:
        if natural.code in lagging["Accounts"]:
            continue
        parent = categories.by_code(natural.category)
        accounts.add(
            natural.name,
            natural.code,
            parent.id if parent is not None else None,
            {"Normal Balance": natural.normal_balance},
        )
    cost_centers = model.add_list("Cost Centers")
    for center in chart.COST_CENTERS:
        if center.code not in lagging["Cost Centers"]:
            cost_centers.add(center.name, center.code)

    dims = (accounts, cost_centers, model.time, model.versions)
    line_item_index = iter(range(1, 1000))

    def line_item_id() -> str:
        return ids.object_id(ids.LINE_ITEM_PREFIX, next(line_item_index))

    gl = model.add_module("GL Actuals", dims)
    gl.add_line_item(line_item_id(), "Amount")
    ap = model.add_module("AP Spend", dims)
    ap.add_line_item(line_item_id(), "Spend")
    ap.add_line_item(line_item_id(), "Invoice Count")
    budget = model.add_module("Budget", dims)
    budget.add_line_item(line_item_id(), "Amount")
    _seed_budget(model, budget, fiscal_year, tenant.options.seed)

    timing = Timing(options.task_base_seconds, options.task_seconds_per_row, options.cancel_seconds)

    def started(job: Job, running: int) -> None:
        tenant.counters.bump("tasks_started")
        tenant.counters.high_water("max_concurrent_tasks", running)
        tenant.counters.high_water(f"max_concurrent_tasks:{model.name}", running)

    state = ModelState(
        model=model,
        files=FileStore(tenant.root / "models" / model.id, options.max_chunk_bytes),
        queue=ModelQueue(timing, started),
    )
    targets = {"Load Accounts": accounts, "Load Cost Centers": cost_centers}
    modules = {"Load GL Actuals": gl, "Load AP Spend": ap}
    for index, (name, file_name) in enumerate(IMPORT_FILES.items(), start=1):
        file_id = ids.object_id(ids.FILE_PREFIX, index)
        import_id = ids.object_id(ids.IMPORT_PREFIX, index)
        if name in targets:
            definition = actions.hierarchy_import(import_id, name, file_id, targets[name])
        else:
            definition = actions.module_import(
                import_id, name, file_id, modules[name], DIMENSION_HEADERS
            )
        state.imports[import_id] = definition
        stored = state.files.add(file_id, file_name, "import")
        header = ",".join(_quote(h) for h in definition.header_names) + "\n"
        state.files.set_default(stored, header.encode())
    exports = (
        ("Export Approved Budget", budget, "Budget"),
        ("Export Approved Forecast", budget, "Forecast"),
        ("Export GL Actuals", gl, "Actual"),
    )
    for index, (name, module, version_name) in enumerate(exports, start=1):
        version = model.versions.find(version_name)
        assert version is not None
        export_id = ids.object_id(ids.EXPORT_PREFIX, index)
        state.exports[export_id] = actions.module_export(
            export_id, name, module, version, DIMENSION_HEADERS
        )
        state.files.add(export_id, f"{name}.csv", "export")
    return state


def _quote(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def _seed_budget(model: Model, budget: Module, fiscal_year: int, seed: int) -> None:
    rng = random.Random(seed * 7919 + fiscal_year)
    accounts = model.list_named("Accounts")
    centers = model.list_named("Cost Centers")
    categories = {n.code: n.category for n in chart.NATURAL_ACCOUNTS}
    pairs = dict.fromkeys((gl.natural, gl.cost_center) for gl in chart.GL_ACCOUNTS)
    budget_version = model.versions.find("Budget")
    forecast_version = model.versions.find("Forecast")
    assert budget_version is not None and forecast_version is not None
    for natural, center_code in pairs:
        low_high = _ANNUAL_RANGE.get(categories.get(natural, ""))
        account = accounts.by_code(natural)
        center = centers.by_code(center_code)
        if low_high is None or account is None or center is None:
            continue
        annual = rng.uniform(*low_high)
        growth = rng.uniform(1.02, 1.08)
        for year, version, scale in (
            (fiscal_year, budget_version, 1.0),
            (fiscal_year + 1, budget_version, growth),
            (fiscal_year, forecast_version, rng.uniform(0.94, 1.07)),
        ):
            for month in range(1, 13):
                season = 1.0 + 0.12 * math.sin((month - 1) / 12 * 2 * math.pi + rng.uniform(0, 0.3))
                value = round(annual * scale * season / 12.0, 2)
                period = model.time.find(chart.anaplan_period_name(year, month))
                assert period is not None
                budget.write((account.id, center.id, period.id, version.id), "Amount", value)


def _integrations(tenant: Tenant, state: ModelState, now: float) -> None:
    seeded = ids.SeededIds(tenant.options.seed + 1)
    load = next(d for d in state.imports.values() if d.name == "Load GL Actuals")
    export = next(d for d in state.exports.values() if d.name == "Export Approved Budget")
    user = tenant.user.display_name
    for name, kind, action_id, action_name in (
        ("Nightly GL Actuals from S3", "Import", load.id, load.name),
        ("Approved Budget to S3", "Export", export.id, export.name),
    ):
        integration = Integration(
            id=seeded.hex32(),
            name=name,
            integration_type=kind,
            workspace_id=state.model.workspace_id,
            model_id=state.model.id,
            action_id=action_id,
            action_name=action_name,
            created_by=user,
            created=now - 90 * 86_400,
        )
        start = now - 86_400 + 3_600 * (1 + len(tenant.integrations))
        run = Run(
            seeded.hex32(), integration.id, user, "scheduled", start, start=start, end=start + 75
        )
        run.success, run.message = True, "Success"
        integration.runs.append(run)
        tenant.integrations[integration.id] = integration
        tenant.runs[run.id] = run
