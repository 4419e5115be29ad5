"""The /_sandbox/ control surface: injected faults, counters by route and status, reset."""

from __future__ import annotations

import aiohttp
import pytest

from tests.sandbox.epicor.support import BALANCES, Epicor

pytestmark = pytest.mark.anyio

VENDORS = "Erp.BO.VendorSvc/Vendors"
VENDORS_ROUTE = "/ERP11/api/v2/odata/{company}/Erp.BO.VendorSvc/Vendors"


def _count(snapshot: dict[str, object], route: str, status: int, host: str = "api") -> int:
    rows = snapshot["requests"]
    assert isinstance(rows, list)
    return sum(
        row["count"]
        for row in rows
        if row["route"] == route and row["status"] == status and row["host"] == host
    )


async def test_5xx_burst_then_recovery(epicor: Epicor) -> None:
    await epicor.control(
        "POST",
        "faults",
        {
            "kind": "status",
            "status": 503,
            "count": 2,
            "route": "Vendors",
            "headers": {"Retry-After": "1"},
        },
    )
    first = await epicor.get(VENDORS)
    second = await epicor.get(VENDORS)
    third = await epicor.get(VENDORS)
    assert [first.status, second.status, third.status] == [503, 503, 200]
    assert first.headers["Retry-After"] == "1"
    snapshot = await epicor.counters()
    assert _count(snapshot, VENDORS_ROUTE, 503) == 2
    assert _count(snapshot, VENDORS_ROUTE, 200) == 1


async def test_dropped_connection_after_the_action_ran(epicor: Epicor) -> None:
    await epicor.control(
        "POST", "faults", {"kind": "drop", "when": "after", "count": 1, "route": "AccountBudgets"}
    )
    header = {"BalanceAcct": "6100|11|30", "FiscalYear": 2025, "BudgetCodeID": "FCST"}
    url = f"{epicor.odata}/Erp.BO.AccountBudgetSvc/AccountBudgets"
    with pytest.raises(aiohttp.ClientError):
        async with epicor.http.post(url, json=header, headers=epicor.headers()) as reply:
            await reply.read()
    retried = await epicor.call("POST", url, json=header)
    assert retried.status == 409, "the lost response's write really happened"
    route = "/ERP11/api/v2/odata/{company}/Erp.BO.AccountBudgetSvc/AccountBudgets"
    assert _count(await epicor.counters(), route, 0) == 1


async def test_license_exhaustion_is_a_400_with_the_license_markers(epicor: Epicor) -> None:
    await epicor.control("POST", "faults", {"kind": "license_exhausted", "count": 2})
    replies = [await epicor.get(VENDORS) for _ in range(3)]
    assert [reply.status for reply in replies] == [400, 400, 200]
    body = replies[0].body
    assert body["ErrorType"] == "Ice.Common.LicenseAccessException"
    assert "Maximum users exceeded" in body["ErrorMessage"]
    assert "LicenseAccessException" in replies[0].text


async def test_license_fault_comes_after_authentication(epicor: Epicor) -> None:
    await epicor.control("POST", "faults", {"kind": "license_exhausted", "count": 1})
    headers = epicor.headers()
    del headers["x-api-key"]
    assert (await epicor.call("GET", f"{epicor.odata}/{VENDORS}", headers=headers)).status == 401
    assert (await epicor.get(VENDORS)).status == 400


async def test_slow_skip_fault_is_listed_and_cleared(epicor: Epicor) -> None:
    created = await epicor.control(
        "POST", "faults", {"kind": "slow_skip", "seconds_per_1000_rows": 0.001, "min_skip": 100}
    )
    assert created["kind"] == "slow_skip"
    state = await epicor.control("GET", "epicor/state")
    assert [fault["kind"] for fault in state["faults"]] == ["slow_skip"]
    page = await epicor.ok(BALANCES, **{"$skip": "3000", "$top": "5", "$select": "SysRevID"})
    assert len(page["value"]) == 5
    await epicor.control("DELETE", "faults")
    assert (await epicor.control("GET", "epicor/state"))["faults"] == []


async def test_bad_fault_specs_are_400(epicor: Epicor) -> None:
    for spec in (
        {"kind": "slow_skip", "seconds_per_1000_rows": -1},
        {"kind": "license_exhausted", "count": 0},
        {"kind": "token_lifetime", "seconds": 0},
        {"kind": "nonsense"},
    ):
        async with epicor.http.post(f"{epicor.api}/_sandbox/faults", json=spec) as reply:
            assert reply.status == 400, spec


async def test_counters_distinguish_routes_and_statuses_and_domain_counts(epicor: Epicor) -> None:
    await epicor.get(VENDORS)
    await epicor.get(f"{VENDORS}('EPIC06',1)")
    await epicor.get(f"{VENDORS}('EPIC06',999)")
    await epicor.get(BALANCES, **{"$filter": "nonsense eq"})
    snapshot = await epicor.counters()
    assert _count(snapshot, VENDORS_ROUTE, 200) == 1
    assert _count(snapshot, VENDORS_ROUTE + "({keys})", 200) == 1
    assert _count(snapshot, VENDORS_ROUTE + "({keys})", 404) == 1
    balances_route = "/ERP11/api/v2/odata/{company}/Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches"
    assert _count(snapshot, balances_route, 400) == 1


async def test_reset_restores_the_seed(epicor: Epicor) -> None:
    key = f"{BALANCES}('EPIC06','MAIN','6100|22|10','D',2025,'',4,'MAIN')"
    before = await epicor.ok(key)
    await epicor.control(
        "POST",
        "epicor/mutate",
        {
            "set": "GLPeriodBalSearches",
            "amount": "99.00",
            "keys": [{"BalanceAcct": "6100|22|10", "FiscalYear": 2025, "FiscalPeriod": 4}],
        },
    )
    await epicor.control("POST", "epicor/periods", {"close": [[2025, 1]]})
    await epicor.control("POST", "faults", {"kind": "license_exhausted", "count": 5})
    assert (await epicor.get(key)).status == 400
    await epicor.control("POST", "reset")
    after = await epicor.ok(key)
    assert after == before
    state = await epicor.control("GET", "epicor/state")
    assert state["closed_periods"] == [] and state["faults"] == []
    assert (await epicor.counters())["counters"] == {}


async def test_idp_host_has_its_own_control_routes_and_counters(epicor: Epicor) -> None:
    async with epicor.http.post(
        f"{epicor.idp}/connect/token", data={"grant_type": "client_credentials"}
    ) as reply:
        assert reply.status == 400
    async with epicor.http.get(f"{epicor.idp}/_sandbox/counters") as reply:
        snapshot = await reply.json()
    assert _count(snapshot, "/connect/token", 400, host="idp") == 1


async def test_mutations_pick_the_same_rows_after_a_reset(epicor: Epicor) -> None:
    def keys(reply: dict[str, list[dict[str, object]]]) -> list[tuple[object, ...]]:
        return [(r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]) for r in reply["changed"]]

    body = {"set": "GLPeriodBalSearches", "count": 3}
    first = await epicor.control("POST", "epicor/mutate", body)
    await epicor.control("POST", "reset")
    again = await epicor.control("POST", "epicor/mutate", body)
    assert keys(first) == keys(again)
    assert [r["SysRevID"] for r in first["changed"]] == [r["SysRevID"] for r in again["changed"]]
    other = await epicor.control("POST", "epicor/mutate", body)
    assert keys(other) != keys(again)
