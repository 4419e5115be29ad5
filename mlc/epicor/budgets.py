"""Writing account budgets: ``Erp.BO.AccountBudgetSvc/UpdateExt``, and reading them back.

``UpdateExt {ds, continueProcessingOnError, rollbackParentOnChildError}`` is Epicor's upsert
[SNO, ALE]: a row whose key exists is updated, otherwise added; it answers
``returnObj.BOUpdError`` and ``parameters.errorsOccurred``. The writer sends the headers
(``GLBudgetHd``, one per account, year and budget code) and their periods (``GLBudgetDtl``,
``BudgetAmt`` debit-positive, credit-negative) with ``continueProcessingOnError = false``: one bad
row fails the call and nothing is written, so a batch is all or nothing. Rows go with
``RowMod = "A"``; whether UpdateExt on a live server looks at ``RowMod`` at all is unverified (the
sandbox upserts by key either way).

The values are absolute, so a repeat would write the same amounts; the call still goes out with
``idempotent=False``, because Epicor runs business logic and BPMs on every update. After an
unknown outcome the caller reads back with :func:`pending_amounts` and writes only what is not
there yet; :func:`stored_amounts` is the same read, for a caller that checks before writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorRequestError
from mlc.epicor.lookups import MAX_FILTERED_ACCOUNTS, budget_details

SERVICE = "Erp.BO.AccountBudgetSvc"


@dataclass(frozen=True)
class BudgetAmount:
    """One period's budget for one account."""

    account: str
    fiscal_year: int
    fiscal_period: int
    amount: Decimal
    budget_code: str
    book_id: str = "MAIN"
    balance_type: str = "D"
    fiscal_year_suffix: str = ""
    fiscal_calendar_id: str = "MAIN"

    @property
    def header_key(self) -> tuple[str, str, str, int, str, str, str]:
        return (
            self.book_id,
            self.account,
            self.balance_type,
            self.fiscal_year,
            self.fiscal_year_suffix,
            self.fiscal_calendar_id,
            self.budget_code,
        )

    @property
    def key(self) -> tuple[Any, ...]:
        return (*self.header_key, self.fiscal_period)


class BudgetUpdateError(msgspec.Struct):
    TableName: str = ""
    ErrorType: str = ""
    ErrorText: str = ""


class _ReturnObj(msgspec.Struct):
    BOUpdError: list[BudgetUpdateError] = []


async def upsert_budgets(client: EpicorClient, amounts: Sequence[BudgetAmount]) -> None:
    """Write ``amounts`` in one all-or-nothing ``UpdateExt`` call.

    :raises EpicorRequestError: Epicor refused a row (the message names it).
    :raises mlc.http.OutcomeUnknown: the outcome is unknown; read back before writing again.
    """
    if not amounts:
        return
    headers: dict[tuple[Any, ...], dict[str, Any]] = {}
    details: list[dict[str, Any]] = []
    for amount in amounts:
        head = _key_columns(client.settings.company, amount)
        headers.setdefault(amount.header_key, {**head, "RowMod": "A"})
        details.append(
            {
                **head,
                "FiscalPeriod": amount.fiscal_period,
                "BudgetAmt": amount.amount,
                "RowMod": "A",
            }
        )
    result = await client.call(
        SERVICE,
        "UpdateExt",
        {
            "ds": {"GLBudgetHd": list(headers.values()), "GLBudgetDtl": details},
            "continueProcessingOnError": False,
            "rollbackParentOnChildError": True,
        },
        idempotent=False,
        returns=_ReturnObj,
    )
    errors = result.returnObj.BOUpdError if result.returnObj is not None else []
    if errors:
        described = "; ".join(f"{e.TableName}: {e.ErrorText}" for e in errors[:5])
        raise EpicorRequestError(
            f"{client.connection}: AccountBudgetSvc/UpdateExt refused {len(errors)} rows: "
            f"{described}"
        )


async def stored_amounts(
    client: EpicorClient, amounts: Iterable[BudgetAmount]
) -> dict[tuple[Any, ...], Decimal]:
    """What Epicor holds for the periods of the headers of ``amounts``, by :attr:`BudgetAmount.key`.

    Read per book, budget code and year, :data:`~mlc.epicor.lookups.MAX_FILTERED_ACCOUNTS`
    accounts a request, so the server filters every request by account.
    """
    stored: dict[tuple[Any, ...], Decimal] = {}
    for (book, code, year), group in _groups(amounts):
        accounts = list(dict.fromkeys(amount.account for amount in group))
        for start in range(0, len(accounts), MAX_FILTERED_ACCOUNTS):
            rows = await budget_details(
                client,
                book_id=book,
                budget_code=code,
                fiscal_year=year,
                accounts=accounts[start : start + MAX_FILTERED_ACCOUNTS],
            )
            for row in rows:
                key = (
                    row.BookID,
                    row.BalanceAcct,
                    row.BalanceType,
                    row.FiscalYear,
                    row.FiscalYearSuffix,
                    row.FiscalCalendarID,
                    row.BudgetCodeID,
                    row.FiscalPeriod,
                )
                stored[key] = row.BudgetAmt
    return stored


async def pending_amounts(
    client: EpicorClient, amounts: Sequence[BudgetAmount]
) -> list[BudgetAmount]:
    """The ``amounts`` Epicor does not hold yet (missing, or a different ``BudgetAmt``)."""
    stored = await stored_amounts(client, amounts)
    return [amount for amount in amounts if stored.get(amount.key) != amount.amount]


def _groups(
    amounts: Iterable[BudgetAmount],
) -> list[tuple[tuple[str, str, int], list[BudgetAmount]]]:
    grouped: dict[tuple[str, str, int], list[BudgetAmount]] = {}
    for amount in amounts:
        grouped.setdefault((amount.book_id, amount.budget_code, amount.fiscal_year), []).append(
            amount
        )
    return list(grouped.items())


def _key_columns(company: str, amount: BudgetAmount) -> dict[str, Any]:
    return {
        "Company": company,
        "BookID": amount.book_id,
        "BalanceAcct": amount.account,
        "BalanceType": amount.balance_type,
        "FiscalYear": amount.fiscal_year,
        "FiscalYearSuffix": amount.fiscal_year_suffix,
        "FiscalCalendarID": amount.fiscal_calendar_id,
        "BudgetCodeID": amount.budget_code,
    }
