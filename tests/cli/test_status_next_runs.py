"""`mlc status` shows each flow's next fire times from the shipped close calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mlc.cli.status import collect, next_runs
from mlc.config import load_config

SHIPPED = Path(__file__).resolve().parents[2] / "config.toml"


def test_gl_actuals_fires_on_the_first_and_third_business_day_after_month_end() -> None:
    config = load_config(SHIPPED, environ={})
    sunday = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    upcoming = next_runs(config, sunday)
    # November ends on Monday the 30th: Tuesday 1 December is the first business day after it,
    # Thursday the 3rd the third; December ends on a Thursday, so Friday 1 January is the first.
    assert upcoming["gl-actuals"] == [
        "2026-12-01T06:00:00+00:00",
        "2026-12-03T06:00:00+00:00",
        "2027-01-01T06:00:00+00:00",
    ]
    assert upcoming["coa-align"] == [
        "2026-11-23T05:00:00+00:00",
        "2026-11-24T05:00:00+00:00",
        "2026-11-25T05:00:00+00:00",
    ]
    assert upcoming["budget-to-gl"] == []


@pytest.mark.anyio
async def test_status_report_carries_next_runs_without_a_state_database(tmp_path: Path) -> None:
    config = load_config(SHIPPED, environ={"MLC_SERVICE__STATE_DIR": str(tmp_path / "state")})
    report = await collect(config, now=dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC))
    assert report["flows"]["ap-spend"]["next_runs"][0] == "2026-11-23T06:30:00+00:00"
    assert report["flows"]["gl-actuals"]["last_run"] is None
