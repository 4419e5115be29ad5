"""OData v4 query options, paging, keys and error shapes, over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.epicor.support import BALANCES, FISCAL_YEAR, Epicor, options, served

pytestmark = pytest.mark.anyio

ACCOUNTS = "Erp.BO.GLAccountSvc/GLAccounts"
VENDORS = "Erp.BO.VendorSvc/Vendors"
INVOICES = "Erp.BO.APInvoiceSvc/APInvoices"


async def test_collection_shape_select_and_context(epicor: Epicor) -> None:
    body = await epicor.ok(ACCOUNTS, **{"$select": "GLAccount1,AccountDesc", "$top": "3"})
    assert set(body) == {"@odata.context", "value"}
    assert body["@odata.context"].endswith(
        "/api/v2/odata/EPIC06/Erp.BO.GLAccountSvc/$metadata#GLAccounts(GLAccount1,AccountDesc)"
    )
    assert [set(row) for row in body["value"]] == [{"GLAccount1", "AccountDesc"}] * 3
    full = await epicor.ok(ACCOUNTS, **{"$top": "1"})
    row = full["value"][0]
    assert {
        "Company",
        "COACode",
        "GLAccount1",
        "SegValue1",
        "SegValue20",
        "SysRevID",
        "SysRowID",
        "RowMod",
    } <= set(row)
    assert "GLAccount" not in row
    assert row["GLAccount1"] == "|".join([row["SegValue1"], row["SegValue2"], row["SegValue3"]])


async def test_default_page_is_100_and_top_is_capped_without_next_link(epicor: Epicor) -> None:
    unpaged = await epicor.ok(BALANCES, **{"$select": "BalanceAcct"})
    assert len(unpaged["value"]) == 100
    assert "@odata.nextLink" not in unpaged
    big = await epicor.ok(BALANCES, **{"$select": "BalanceAcct", "$top": "500"})
    assert len(big["value"]) == 100


async def test_next_link_switch() -> None:
    async with served(options(next_link=True, page_cap=50)) as epicor:
        last = await epicor.ok(VENDORS, **{"$select": "VendorNum"})
        assert len(last["value"]) == 40
        assert "@odata.nextLink" not in last
        first = await epicor.ok(BALANCES, **{"$select": "SysRevID", "$top": "20"})
        link = first["@odata.nextLink"]
        assert "%24skip=20" in link or "$skip=20" in link
        reply = await epicor.call("GET", link)
        assert reply.status == 200
        assert reply.body["value"][0]["SysRevID"] == first["value"][-1]["SysRevID"] + 1


async def test_top_skip_paging_to_the_end_with_stable_orderby(epicor: Epicor) -> None:
    params = {"$select": "VendorNum,Name", "$orderby": "Name asc,VendorNum"}
    paged = await epicor.all_rows(VENDORS, 7, **params)
    assert len(paged) == 40
    names = [row["Name"] for row in paged]
    assert names == sorted(names, key=str.casefold)
    assert len({row["VendorNum"] for row in paged}) == 40
    every = await epicor.all_rows(
        BALANCES,
        100,
        **{
            "$select": "BalanceAcct,FiscalYear,FiscalPeriod",
            "$orderby": "BalanceAcct,FiscalYear,FiscalPeriod",
        },
    )
    keys = [(r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]) for r in every]
    assert len(keys) == len(set(keys)) == epicor.section["balance_rows"]
    assert keys == sorted(keys)


async def test_descending_orderby_and_count(epicor: Epicor) -> None:
    body = await epicor.ok(
        INVOICES,
        **{
            "$select": "InvoiceNum,InvoiceAmt",
            "$orderby": "InvoiceAmt desc",
            "$top": "5",
            "$count": "true",
        },
    )
    assert body["@odata.count"] == 400
    amounts = [Decimal(str(row["InvoiceAmt"])) for row in body["value"]]
    assert amounts == sorted(amounts, reverse=True)
    everything = await epicor.all_rows(INVOICES, **{"$select": "InvoiceAmt"})
    assert amounts[0] == max(Decimal(str(row["InvoiceAmt"])) for row in everything)


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["BalanceAcct"], row["FiscalYear"], row["FiscalPeriod"])


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        ("FiscalYear eq 2025", lambda r: r["FiscalYear"] == FISCAL_YEAR),
        ("FiscalYear ne 2025", lambda r: r["FiscalYear"] != FISCAL_YEAR),
        ("FiscalPeriod gt 10", lambda r: r["FiscalPeriod"] > 10),
        ("FiscalPeriod ge 10 and FiscalPeriod le 11", lambda r: 10 <= r["FiscalPeriod"] <= 11),
        ("FiscalPeriod lt 1 or FiscalPeriod eq 12", lambda r: r["FiscalPeriod"] in (0, 12)),
        ("BalanceAcct eq '6100|22|10'", lambda r: r["BalanceAcct"] == "6100|22|10"),
        ("BalanceAcct ge '6' and BalanceAcct lt '7'", lambda r: "6" <= r["BalanceAcct"] < "7"),
        ("BalanceAmt gt 250000.5", lambda r: Decimal(str(r["BalanceAmt"])) > Decimal("250000.5")),
        (
            "SegValue2 eq '22' and not (FiscalPeriod eq 0)",
            lambda r: r["SegValue2"] == "22" and r["FiscalPeriod"] != 0,
        ),
        ("startswith(BalanceAcct,'40')", lambda r: r["BalanceAcct"].startswith("40")),
    ],
)
async def test_filter_operators_match_a_client_side_filter(
    epicor: Epicor, expression: str, check: Any
) -> None:
    select = {"$select": "BalanceAcct,FiscalYear,FiscalPeriod,BalanceAmt,SegValue2"}
    everything = await epicor.all_rows(BALANCES, **select)
    expected = [_key(r) for r in everything if check(r)]
    assert expected, "the filter must select something for the test to mean anything"
    got = await epicor.all_rows(BALANCES, **select, **{"$filter": expression})
    assert [_key(r) for r in got] == expected


async def test_datetime_filters_with_and_without_zone(epicor: Epicor) -> None:
    rows = await epicor.all_rows(INVOICES, **{"$select": "InvoiceNum,ChangeDate"})
    stamps = sorted(row["ChangeDate"] for row in rows)
    pivot = stamps[len(stamps) // 2]
    expected = {row["InvoiceNum"] for row in rows if row["ChangeDate"] > pivot}
    for literal in (pivot, pivot + "Z", pivot + "+00:00"):
        got = await epicor.all_rows(
            INVOICES, **{"$select": "InvoiceNum", "$filter": f"ChangeDate gt {literal}"}
        )
        assert {row["InvoiceNum"] for row in got} == expected
    shifted = await epicor.all_rows(
        INVOICES, **{"$select": "InvoiceNum", "$filter": f"ChangeDate gt {pivot}+02:00"}
    )
    assert len(shifted) > len(expected)


async def test_string_filters_ignore_case_and_quotes_double(epicor: Epicor) -> None:
    body = await epicor.ok(VENDORS, **{"$filter": "VendorID eq 'acmestl'", "$select": "VendorID"})
    assert [row["VendorID"] for row in body["value"]] == ["ACMESTL"]
    quoted = await epicor.ok(VENDORS, **{"$filter": "Name eq 'Box ''n'' Pallet'"})
    assert quoted["value"] == []


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("FiscalYear eq", "Expression expected"),
        ("FiscalYear eq 2025 and", "Expression expected"),
        ("BalanceAcct eq 5", "incompatible types"),
        ("ChangeDate gt 2025-01-01T00:00:00Z", "Could not find a property named 'ChangeDate'"),
        ("FiscalYear eq datetime'2025-01-01T00:00:00'", "typed string literals"),
        ("FiscalYear eq 'unterminated", "unterminated string"),
        ("FiscalYear", "single boolean value"),
        ("FiscalYear add 1 eq 2", "Syntax error"),
    ],
)
async def test_malformed_filter_is_400_with_the_odata_error(
    epicor: Epicor, expression: str, fragment: str
) -> None:
    reply = await epicor.get(BALANCES, **{"$filter": expression})
    assert reply.status == 400
    assert reply.body["HttpStatus"] == 400
    assert reply.body["ErrorType"] == "Microsoft.OData.ODataException"
    assert fragment in reply.body["ErrorMessage"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$Filter": "FiscalYear eq 2025"}, "'$Filter' is not supported"),
        ({"$top": "-1"}, "$top"),
        ({"$skip": "x"}, "$skip"),
        ({"$count": "yes"}, "count"),
        ({"$select": "NoSuchField"}, "NoSuchField"),
        ({"$orderby": "BalanceAcct sideways"}, "$orderby"),
        ({"$expand": "Nothing"}, "Nothing"),
    ],
)
async def test_bad_query_options_are_400(
    epicor: Epicor, params: dict[str, str], fragment: str
) -> None:
    reply = await epicor.get(BALANCES, **params)
    assert reply.status == 400
    assert fragment in reply.body["ErrorMessage"]


async def test_names_are_case_sensitive(epicor: Epicor) -> None:
    reply = await epicor.get("Erp.BO.GLAccountSvc/glaccounts")
    assert reply.status == 404
    assert reply.body["ErrorType"] == "Epicor.RESTApi.ErrorHandling.ApiException"


async def test_entity_by_key_positional_and_named(epicor: Epicor) -> None:
    positional = await epicor.ok(f"{ACCOUNTS}('EPIC06','MAIN','6100|22|10')")
    assert positional["GLAccount1"] == "6100|22|10"
    assert positional["@odata.context"].endswith("#GLAccounts/$entity")
    named = await epicor.ok(
        f"{ACCOUNTS}(Company='EPIC06',COACode='MAIN',GLAccount1='6100|22|10')",
        **{"$select": "AccountDesc"},
    )
    assert named == {
        "@odata.context": named["@odata.context"],
        "AccountDesc": positional["AccountDesc"],
    }
    missing = await epicor.get(f"{ACCOUNTS}('EPIC06','MAIN','9999|99|99')")
    assert missing.status == 404
    wrong_count = await epicor.get(f"{ACCOUNTS}('EPIC06','MAIN')")
    assert wrong_count.status == 400
    assert "number of keys" in wrong_count.body["ErrorMessage"]
    balance = await epicor.ok(f"{BALANCES}('EPIC06','MAIN','6100|22|10','D',2025,'',3,'MAIN')")
    assert (balance["BalanceAcct"], balance["FiscalPeriod"]) == ("6100|22|10", 3)


async def test_purchase_orders_keep_the_poes_and_ponum_quirks(epicor: Epicor) -> None:
    header = (await epicor.ok("Erp.BO.POSvc/POes", **{"$top": "1"}))["value"][0]
    lines = await epicor.ok(f"Erp.BO.POSvc/POes('EPIC06',{header['PONum']})/PODetails")
    assert lines["value"] and all(line["PONUM"] == header["PONum"] for line in lines["value"])
    first = lines["value"][0]
    line = await epicor.ok(f"Erp.BO.POSvc/PODetails('EPIC06',{first['PONUM']},{first['POLine']})")
    assert line["LineDesc"] == first["LineDesc"]
    assert "PONum" not in line


async def test_expand_invoice_lines(epicor: Epicor) -> None:
    body = await epicor.ok(
        INVOICES,
        **{"$top": "3", "$select": "VendorNum,InvoiceNum,InvoiceAmt", "$expand": "APInvDtls"},
    )
    for invoice in body["value"]:
        lines = invoice["APInvDtls"]
        assert lines and all(line["InvoiceNum"] == invoice["InvoiceNum"] for line in lines)
        total = sum(Decimal(str(line["ExtCost"])) for line in lines)
        assert total == Decimal(str(invoice["InvoiceAmt"]))
        assert all(line["GLAccount"].count("|") == 2 for line in lines)


async def test_cost_centers_are_values_of_segment_two(epicor: Epicor) -> None:
    segments = await epicor.ok("Erp.BO.COASvc/COAs('EPIC06','MAIN')/COASegments")
    names = {row["SegmentNbr"]: row["SegmentName"] for row in segments["value"]}
    assert names == {1: "Account", 2: "Cost Center", 3: "Site"}
    centers = await epicor.ok(
        "Erp.BO.COASegValuesSvc/COASegValues",
        **{"$filter": "SegmentNbr eq 2", "$select": "SegmentCode,SegmentName"},
    )
    assert len(centers["value"]) == 30
    assert {row["SegmentCode"] for row in centers["value"]} == {str(n) for n in range(10, 40)}


async def test_count_segment_and_service_document(epicor: Epicor) -> None:
    count = await epicor.get(f"{VENDORS}/$count", **{"$filter": "Inactive eq true"})
    assert (count.status, count.text) == (200, "2")
    document = await epicor.ok("Erp.BO.APInvoiceSvc/")
    assert {item["name"] for item in document["value"]} == {"APInvoices", "APInvDtls"}


async def test_metadata_declares_keys_and_types(epicor: Epicor) -> None:
    reply = await epicor.get("Erp.BO.GLAccountSvc/$metadata")
    assert reply.status == 200
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    root = ET.fromstring(reply.text)
    entity = root.find(".//edm:EntityType[@Name='GLAccountRow']", ns)
    assert entity is not None
    keys = [ref.get("Name") for ref in entity.findall("edm:Key/edm:PropertyRef", ns)]
    assert keys == ["Company", "COACode", "GLAccount1"]
    revision = entity.find("edm:Property[@Name='SysRevID']", ns)
    assert revision is not None and revision.get("Type") == "Edm.Int64"
    balances = await epicor.get("Erp.BO.GLPeriodBalSearchSvc/$metadata")
    bal = ET.fromstring(balances.text).find(".//edm:EntityType[@Name='GLPeriodBalRow']", ns)
    assert bal is not None
    assert bal.find("edm:Property[@Name='ChangeDate']", ns) is None
    amount = bal.find("edm:Property[@Name='BalanceAmt']", ns)
    assert amount is not None and amount.get("Type") == "Edm.Decimal"


async def test_child_set_filter_applies_to_the_parent_type(epicor: Epicor) -> None:
    lines = "Erp.BO.APInvoiceSvc/APInvDtls"
    child_only = await epicor.get(lines, **{"$filter": "ExtCost gt 100"})
    assert child_only.status == 400
    assert "on type 'Erp.Tablesets.APInvHedRow'" in child_only.body["ErrorMessage"]
    invoice = (await epicor.ok(INVOICES, **{"$top": "1", "$expand": "APInvDtls"}))["value"][0]
    by_parent = await epicor.ok(lines, **{"$filter": f"InvoiceNum eq '{invoice['InvoiceNum']}'"})
    assert [row["InvoiceLine"] for row in by_parent["value"]] == [
        row["InvoiceLine"] for row in invoice["APInvDtls"]
    ]
    watermark = max(
        r["ChangeDate"] for r in await epicor.all_rows(lines, **{"$select": "ChangeDate"})
    )
    await epicor.control("POST", "clock", {"advance": 10})
    touched = await epicor.control("POST", "epicor/mutate", {"set": "APInvoices", "count": 1})
    header = touched["changed"][0]
    found = await epicor.ok(lines, **{"$filter": f"ChangeDate gt {watermark}"})
    assert found["value"], "lines of a changed header come back although no line changed"
    assert {row["InvoiceNum"] for row in found["value"]} == {header["InvoiceNum"]}
    assert all(row["ChangeDate"] <= watermark for row in found["value"])
    navigated = await epicor.ok(
        f"{INVOICES}('EPIC06',{invoice['VendorNum']},'{invoice['InvoiceNum']}')/APInvDtls",
        **{"$filter": "InvoiceLine eq 1"},
    )
    assert [row["InvoiceLine"] for row in navigated["value"]] == [1]


async def test_child_set_filter_without_the_quirk() -> None:
    async with served(options(parent_filter_quirk=False)) as epicor:
        body = await epicor.ok("Erp.BO.APInvoiceSvc/APInvDtls", **{"$filter": "ExtCost gt 100000"})
        assert body["value"] and all(row["ExtCost"] > 100000 for row in body["value"])


async def test_budget_codes_and_vendors_read(epicor: Epicor) -> None:
    codes = await epicor.ok("Erp.BO.BudgetCodeSvc/BudgetCodes")
    assert {(c["BudgetCodeID"], c["IsDefault"], c["Inactive"]) for c in codes["value"]} == {
        ("MAIN", True, False),
        ("FCST", False, False),
        ("OLD", False, True),
    }
    vendor = await epicor.ok(f"{VENDORS}('EPIC06',1)")
    assert vendor["VendorID"] == "ACMESTL" and vendor["SysRowID"].count("-") == 4
    assert "ChangeDate" not in vendor, "Vendor has no ChangeDate in Epicor's schema"


async def test_generic_writes_create_update_delete(epicor: Epicor) -> None:
    url = f"{epicor.odata}/{VENDORS}"
    created = await epicor.call(
        "POST", url, json={"VendorNum": 900, "VendorID": "NEWCO", "Name": "New Co"}
    )
    assert created.status == 201, created.text
    assert created.body["Company"] == "EPIC06" and created.body["SysRevID"] > 0
    assert created.body["@odata.context"].endswith("#Vendors/$entity")
    duplicate = await epicor.call("POST", url, json={"VendorNum": 900, "VendorID": "AGAIN"})
    assert duplicate.status == 409
    patched = await epicor.call("PATCH", f"{url}('EPIC06',900)", json={"Name": "New Co Inc"})
    assert patched.status == 204 and patched.text == ""
    after = await epicor.ok(f"{VENDORS}('EPIC06',900)")
    assert after["Name"] == "New Co Inc" and after["SysRevID"] > created.body["SysRevID"]
    rekey = await epicor.call("PATCH", f"{url}('EPIC06',900)", json={"VendorNum": 901})
    assert rekey.status == 400
    wrong_type = await epicor.call("PATCH", f"{url}('EPIC06',900)", json={"Name": 5})
    assert wrong_type.status == 400
    assert wrong_type.body["ErrorMessage"] == "Unable to deserialize entity."
    assert (await epicor.call("DELETE", f"{url}('EPIC06',900)")).status == 204
    assert (await epicor.get(f"{VENDORS}('EPIC06',900)")).status == 404
    assert (await epicor.call("DELETE", f"{url}('EPIC06',900)")).status == 404
    refused = await epicor.call("POST", f"{epicor.odata}/{BALANCES}", json={"BalanceAcct": "x"})
    assert refused.status == 400
    assert refused.body["ErrorType"] == "Ice.Common.BusinessObjectException"
    verb = await epicor.call("PUT", f"{url}('EPIC06',1)", json={})
    assert verb.status == 405
