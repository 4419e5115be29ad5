"""Outbound options: the shipped config validates; every mistake is named by its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlc.config import FlowConfig, load_config
from mlc.errors import UsageError
from mlc.flows.outbound.options import outbound_spec

REPO = Path(__file__).resolve().parents[2]


def _flow(**options: object) -> FlowConfig:
    return FlowConfig(
        kind="budget-to-gl", source="anaplan.fpa", target="epicor.main", options=options  # type: ignore[arg-type]
    )


def _problems(flow: FlowConfig) -> list[str]:
    with pytest.raises(UsageError) as caught:
        outbound_spec("budget-to-gl", flow)
    return str(caught.value).splitlines()


def test_the_shipped_config_has_valid_outbound_flows() -> None:
    config = load_config(REPO / "config.toml", environ={})
    budget = outbound_spec("budget-to-gl", config.flows["budget-to-gl"])
    forecast = outbound_spec("forecast-to-gl", config.flows["forecast-to-gl"])
    assert budget.options.export == "Export Approved Budget"
    assert (forecast.options.version, forecast.options.budget_code) == ("Forecast", "FCST")
    assert forecast.options.period_from == "current"
    assert budget.columns["cost_center"] == "Cost Center"


def test_defaults_export_the_version_and_allow_only_it() -> None:
    spec = outbound_spec("budget-to-gl", _flow(version="Forecast"))
    assert spec.options.export == "Export Approved Forecast"
    assert spec.options.versions == frozenset({"Forecast"})


def test_every_problem_is_reported_once_with_its_key_path() -> None:
    problems = _problems(
        _flow(
            verison="Budget",
            period_from="2026-13",
            closed_periods=["2026/01"],
            journal=True,
            site_rule="fixed",
        )
    )
    assert problems[0] == (
        "flows.budget-to-gl.options.verison: unknown option (did you mean version?)"
    )
    assert len(problems) == 1, "type errors stop the semantic checks of the same table"
    problems = _problems(
        _flow(period_from="2026-13", closed_periods=["2026/01"], journal=True, site_rule="fixed")
    )
    where = "flows.budget-to-gl.options"
    assert problems == [
        f"{where}.period_from: fiscal period '2026-13': the period must be 01..12",
        (
            f"{where}.closed_periods[0]: expected a fiscal period YYYY-PP (e.g. 2026-03), got "
            "'2026/01'"
        ),
        (
            f"{where}.journal_offset_account: required when journal = true (the GL account of "
            "each journal's balancing line, e.g. '3100|11|00')"
        ),
        f"{where}.site: required when site_rule = 'fixed'",
    ]


def test_a_version_outside_the_allowed_ones_is_a_configuration_error() -> None:
    expected = (
        "flows.budget-to-gl.options.version: 'Actual' may not flow back into Epicor "
        "(allowed_versions: Budget, Forecast)"
    )
    assert _problems(_flow(version="Actual", allowed_versions=["Budget", "Forecast"])) == [
        expected
    ]


def test_wrong_types_and_connections_are_named() -> None:
    flow = FlowConfig(
        kind="budget-to-gl",
        source="epicor.main",
        target="anaplan.fpa",
        options={"dry_run": "yes", "batch_size": 0},
        columns={"acount": "Acct", "amount": ""},
    )
    problems = _problems(flow)
    assert problems[:2] == [
        "flows.budget-to-gl.source: budget-to-gl reads an Anaplan connection, got 'epicor.main'",
        "flows.budget-to-gl.target: budget-to-gl writes an Epicor connection, got 'anaplan.fpa'",
    ]
    assert "flows.budget-to-gl.options.dry_run: expected bool, got str" in problems
    assert "flows.budget-to-gl.options.batch_size: expected int >= 1" in problems
    unknown = "flows.budget-to-gl.columns.acount: unknown record field"
    assert any(problem.startswith(unknown) for problem in problems)
    assert "flows.budget-to-gl.columns.amount: empty header name" in problems


def test_the_window_must_not_end_before_it_starts() -> None:
    assert _problems(_flow(period_from="2026-06", period_to="2026-05")) == [
        "flows.budget-to-gl.options.period_to: 2026-05 is before period_from"
    ]
