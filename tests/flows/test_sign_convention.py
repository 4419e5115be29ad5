"""gl-actuals sign conventions, the pure parts: the option, which accounts flip, the watermark."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlc.config import FlowConfig
from mlc.errors import MlcError, UsageError
from mlc.flows.gl_actuals import Signs, format_watermark, parse_watermark
from mlc.flows.options import GlActualsOptions, inbound_spec
from mlc.messages import ChartValue

COLUMNS = {"Account": "account", "Cost Center": "cost_center", "Period": "period",
           "Amount": "amount"}  # fmt: skip
CHART = (
    ChartValue(code="4000", name="Product Sales", category="REVENUE", normal_balance="C"),
    ChartValue(code="2000", name="Accounts Payable", category="LIABILITY", normal_balance="c"),
    ChartValue(code="6100", name="Rent", category="EXPENSE", normal_balance="D"),
    ChartValue(code="7300", name="Suspense", category="EXPENSE", normal_balance=""),
    ChartValue(code="7400", name="Odd", category="EXPENSE", normal_balance="X"),
)


def _spec(**options: object) -> GlActualsOptions:
    flow = msgspec.convert(
        {"kind": "gl-actuals", "source": "epicor.main", "target": "anaplan.fpa",
         "columns": COLUMNS, "options": options},
        FlowConfig,
    )  # fmt: skip
    spec = inbound_spec("gl-actuals", flow)
    assert isinstance(spec.options, GlActualsOptions)
    return spec.options


def test_the_option_defaults_to_the_ledger_sign_and_names_a_bad_value() -> None:
    assert _spec().sign_convention == "as-booked"
    assert _spec(sign_convention="credit-positive").sign_convention == "credit-positive"
    with pytest.raises(UsageError) as caught:
        _spec(sign_convention="credit")
    assert str(caught.value) == (
        "flows.gl-actuals.options.sign_convention: invalid enum value 'credit'"
    )


def test_credit_positive_negates_credit_accounts_only() -> None:
    signs = Signs.from_chart("credit-positive", CHART)
    assert signs.apply("4000", -1_250_000) == 1_250_000
    assert signs.apply("2000", -5) == 5, "NormalBalance is compared case-blind"
    assert signs.apply("6100", 3_000_000) == 3_000_000
    assert signs.apply("6100", -7) == -7, "a credit on a debit account stays negative"
    assert [signs.unknown(code) for code in ("4000", "6100", "7300", "7400", "9999")] == [
        False, False, True, True, True,
    ]  # fmt: skip
    assert signs.apply("7300", -42) == -42, "no normal balance: the ledger sign is kept"


def test_as_booked_changes_nothing_and_warns_of_nothing() -> None:
    signs = Signs.from_chart("as-booked", CHART)
    assert signs.apply("4000", -1_250_000) == -1_250_000
    assert not signs.reads_chart and not signs.unknown("9999")
    assert Signs().apply("4000", -1) == -1


@given(st.integers(min_value=0, max_value=2**62), st.sampled_from(["as-booked", "credit-positive"]))
def test_watermarks_round_trip_with_their_convention(revision: int, convention: str) -> None:
    assert parse_watermark("gl-actuals", format_watermark(revision, convention)) == (
        revision,
        convention,
    )


def test_an_as_booked_watermark_keeps_the_format_stored_before_conventions() -> None:
    assert format_watermark(48213, "as-booked") == "48213"
    assert parse_watermark("gl-actuals", "48213") == (48213, "as-booked")
    assert format_watermark(48213, "credit-positive") == "48213 credit-positive"


@pytest.mark.parametrize("text", ["", "abc", "12 debit-positive", "-4", "2026-01-01T00:00:00"])
def test_a_foreign_watermark_is_an_error_naming_the_flow_and_the_way_out(text: str) -> None:
    with pytest.raises(MlcError) as caught:
        parse_watermark("gl-actuals", text)
    message = str(caught.value)
    assert message.startswith("watermark of flow 'gl-actuals': expected '<SysRevID>'")
    assert f"got {text!r}" in message and "mlc sync gl-actuals --full" in message
