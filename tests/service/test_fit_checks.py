"""`mlc check`'s fit checks against the sandbox over real HTTP: a fitting config passes every
line; a wrong column, model name or password fails the line that names it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlc.config import Config, load_config
from mlc.errors import MlcError
from mlc.ops.fit_checks import fit_checks
from mlc.sandbox import RunningSandbox, open_sandbox
from tests.service.process import SHIPPED_CONFIG, service_environment

pytestmark = pytest.mark.anyio


@dataclass
class Context:
    config: Config
    stack: AsyncExitStack

    async def vault(self) -> Any:
        raise MlcError("no vault in this test: every credential comes from the environment")


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with open_sandbox() as running:
        yield running


def _config(tmp_path: Path, sandbox: RunningSandbox, text: str | None = None, **env: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text if text is not None else SHIPPED_CONFIG.read_text())
    environ = service_environment(sandbox.urls, tmp_path / "state", **env)
    return load_config(path, environ={k: v for k, v in environ.items() if k.startswith("MLC_")})


async def _report(config: Config) -> dict[str, str]:
    """name → "ok: detail" / "FAIL: message" / "skip", as mlc check runs them."""
    lines: dict[str, str] = {}
    passed = {"credentials"}  # the foundation's checks run first; here every secret is in env
    async with AsyncExitStack() as stack:
        ctx = Context(config, stack)
        for check in fit_checks(config):
            if any(name not in passed for name in check.requires):
                lines[check.name] = "skip"
                continue
            try:
                detail = await check.run(ctx)
            except MlcError as exc:
                lines[check.name] = f"FAIL: {exc}"
            else:
                passed.add(check.name)
                lines[check.name] = f"ok: {detail}"
    return lines


async def test_the_shipped_config_fits_the_sandbox(tmp_path: Path, sandbox: RunningSandbox) -> None:
    enable_all = {
        f"MLC_FLOWS__{flow}__ENABLED": "true"
        for flow in ("AP_SPEND", "BUDGET_TO_GL", "FORECAST_TO_GL")
    }
    report = await _report(_config(tmp_path, sandbox, **enable_all))
    assert {name for name, line in report.items() if not line.startswith("ok")} == set(), report
    assert set(report) >= {
        "auth epicor.main",
        "auth anaplan.fpa",
        "anaplan anaplan.fpa",
        "columns coa-align",
        "columns gl-actuals",
        "columns ap-spend",
        "columns budget-to-gl",
        "epicor gl-actuals",
        "epicor ap-spend",
        "epicor budget-to-gl",
    }
    assert "model 'Operating Plan' = " in report["anaplan anaplan.fpa"]
    assert "GLPeriodBalSearches" in report["epicor gl-actuals"]


async def test_misfits_fail_the_line_that_names_them(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    text = SHIPPED_CONFIG.read_text().replace('"Amount" = "amount"', '"Amount USD" = "amount"', 1)
    report = await _report(_config(tmp_path, sandbox, text))
    assert report["columns gl-actuals"].startswith("FAIL: flows.gl-actuals.columns:")
    assert "'Amount USD'" in report["columns gl-actuals"]
    assert report["columns coa-align"].startswith("ok")

    (tmp_path / "other").mkdir()
    wrong = _config(
        tmp_path / "other",
        sandbox,
        MLC_CONNECTIONS__ANAPLAN__FPA__MODEL="Operating Plam",
        MLC_CONNECTIONS__EPICOR__MAIN__PASSWORD="not-the-password",
    )
    report = await _report(wrong)
    assert report["auth epicor.main"].startswith("FAIL: ")
    assert "not-the-password" not in report["auth epicor.main"]
    assert report["epicor gl-actuals"] == "skip"
    assert report["auth anaplan.fpa"].startswith("ok")
    assert report["anaplan anaplan.fpa"].startswith("FAIL: ")
    assert "Operating Plan" in report["anaplan anaplan.fpa"]  # the near miss is suggested
    assert report["columns gl-actuals"] == "skip"
