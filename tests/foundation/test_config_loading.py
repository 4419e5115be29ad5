from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlc.config import ConfigError, load_config
from mlc.errors import UsageError
from mlc.logs import redact

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    return list(caught.value.errors)


def test_repository_config_runs_against_the_sandbox_defaults() -> None:
    config = load_config(REPO_CONFIG, {})
    fpa = config.connections.anaplan["fpa"]
    assert (fpa.auth_url, fpa.api_url, fpa.oauth_url, fpa.cloudworks_url) == (
        "http://127.0.0.1:8601",
        "http://127.0.0.1:8602",
        "http://127.0.0.1:8603",
        "http://127.0.0.1:8604",
    )
    assert (fpa.workspace, fpa.model, fpa.user) == (
        "FP&A",
        "Operating Plan",
        "integration@demo.example",
    )
    epicor = config.connections.epicor["main"]
    assert epicor.base_url == "http://127.0.0.1:8701/ERP11"
    assert (epicor.company, epicor.user, epicor.idp_url) == (
        "EPIC06",
        "mlc-integration",
        "http://127.0.0.1:8702",
    )
    assert config.connections.workday == {}
    assert Path(config.service.state_dir) == REPO_CONFIG.parent / "var"
    assert config.service.db_path == REPO_CONFIG.parent / "var" / "mlc.db"
    assert set(config.flows) == {
        "coa-align",
        "gl-actuals",
        "ap-spend",
        "budget-to-gl",
        "forecast-to-gl",
    }
    for flow in config.flows.values():
        config.connection(flow.source)
        config.connection(flow.target)
        assert all(rule.timezone == "UTC" for rule in flow.schedule)


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[service]\nstate_dir = "s"\n'), {})
    service = config.service
    assert (service.http_port, service.shutdown_grace_seconds, service.timezone) == (
        8080,
        25.0,
        "UTC",
    )
    assert service.pid_path == tmp_path / "s" / "mlc.pid"
    supervisor = config.supervisor
    assert (
        supervisor.max_restarts,
        supervisor.restart_window_seconds,
        supervisor.backoff_initial_seconds,
        supervisor.backoff_max_seconds,
        supervisor.mailbox_size,
    ) == (5, 60.0, 0.5, 30.0, 64)
    assert config.vault.key_file is None
    assert config.flows == {}


def test_relative_paths_follow_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    path = write(
        tmp_path / "etc", '[service]\nstate_dir = "../state"\n[vault]\nkey_file = "vault.key"\n'
    )
    monkeypatch.chdir("/")
    config = load_config(Path(os.path.relpath(path, "/")), {})
    assert Path(config.service.state_dir) == (tmp_path / "etc" / ".." / "state").absolute()
    assert config.vault.key_file == str(tmp_path / "etc" / "vault.key")


def test_three_kinds_of_mistake_are_all_reported_with_file_and_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[service]
state_dir = "s"
http_prot = 9090

[connections.anaplan.fpa]
workspace = 42

[connections.epicor.main]
base_url = "http://127.0.0.1:8701/ERP11"
""",
    )
    assert errors_of(path) == [
        f"{path}: service.http_prot: unknown key (did you mean http_port?)",
        f"{path}: connections.epicor.main.company: missing required key",
        f"{path}: connections.anaplan.fpa.workspace: expected str, got int",
        f"{path}: connections.anaplan.fpa.model: missing required key",
    ]


def test_type_range_choice_and_nested_errors_are_collected_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[service]
state_dir = "s"
http_port = 70000
log_level = "loud"
shutdown_grace_seconds = "soon"

[supervisor]
mailbox_size = 0
backoff_initial_seconds = 10.0
backoff_max_seconds = 1.0

[flows.gl-actuals]
kind = "gl-actuals"
source = "epicor.main"
target = "anaplan.fpa"
enabled = "yes"
schedule = [{ cron = "0 6 * * *" }, { cron = "61 * * * *" }, { at = "6am" }]
options = { limit = 5, nested = { a = 1 } }
""",
    )
    errors = errors_of(path)
    expected = [
        f"{path}: service.http_port: must be <= 65535, got 70000",
        f"{path}: service.shutdown_grace_seconds: expected float, got str",
        (
            f"{path}: service.log_level: "
            "expected one of 'debug', 'error', 'info', 'warning', got 'loud'"
        ),
        f"{path}: supervisor.mailbox_size: must be >= 1, got 0",
        f"{path}: flows.gl-actuals.enabled: expected bool, got str",
        (
            f"{path}: flows.gl-actuals.options.nested: "
            "expected str or int or float or bool or array of str, got table"
        ),
        f"{path}: flows.gl-actuals.source: no connection 'epicor.main' (configured: none)",
        f"{path}: flows.gl-actuals.target: no connection 'anaplan.fpa' (configured: none)",
    ]
    for message in expected:
        assert message in errors
    assert any(
        e.startswith(f"{path}: flows.gl-actuals.schedule[1].cron: invalid cron") for e in errors
    )
    assert (
        f"{path}: flows.gl-actuals.schedule[2]: needs exactly one of cron, "
        "business_day_after_period_end, dates" in errors
    )
    assert (
        f"{path}: flows.gl-actuals.schedule[2].at: expected HH:MM (00:00 to 23:59), got '6am'"
        in errors
    )
    # The supervisor table had a type error, so its cross-field check waits for a clean table.
    assert not any("backoff_max_seconds" in e for e in errors)
    assert len(errors) == len(expected) + 3


def test_semantic_checks_of_a_well_typed_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[service]
state_dir = "s"
timezone = "Mars/Olympus"

[supervisor]
backoff_initial_seconds = 10.0
backoff_max_seconds = 1.0

[connections.epicor.main]
base_url = "127.0.0.1:8701/ERP11"
company = "EPIC06"
auth = "idp"
idp_url = "http://127.0.0.1:8702"

[connections.anaplan.fpa]
auth = "certificate"
workspace = "FP&A"
model = "Operating Plan"

[flows.close]
kind = "gl-actuals"
source = "epicor.main"
target = "epicor.main"
schedule = [
  { business_day_after_period_end = 3 },
  { cron = "0 6 * * *", business_day_after_period_end = 1, at = "06:00" },
  { dates = ["2026-02-30"], at = "07:00", timezone = "Nowhere/City", holidays = ["2026-01-01"] },
]
""",
    )
    assert errors_of(path) == [
        f"{path}: service.timezone: unknown time zone 'Mars/Olympus'",
        f"{path}: supervisor.backoff_max_seconds: must be >= backoff_initial_seconds",
        (
            f"{path}: connections.epicor.main.base_url: "
            "expected an http:// or https:// URL, got '127.0.0.1:8701/ERP11'"
        ),
        f"{path}: connections.epicor.main.client_id: required when auth = 'idp'",
        f"{path}: connections.anaplan.fpa.certificate_file: required when auth = 'certificate'",
        f"{path}: flows.close.schedule[0].at: required with business_day_after_period_end",
        (
            f"{path}: flows.close.schedule[1]: needs exactly one of cron, "
            "business_day_after_period_end, dates; got cron, business_day_after_period_end"
        ),
        f"{path}: flows.close.schedule[1].at: not used with cron (the expression holds the time)",
        f"{path}: flows.close.schedule[2].holidays: only used with business_day_after_period_end",
        f"{path}: flows.close.schedule[2].timezone: unknown time zone 'Nowhere/City'",
        f"{path}: flows.close.schedule[2].dates[0]: expected a date YYYY-MM-DD, got '2026-02-30'",
        f"{path}: flows.close.target: must differ from source",
    ]


def test_flows_must_name_configured_connections(tmp_path: Path, minimal_toml: str) -> None:
    path = write(
        tmp_path,
        minimal_toml
        + """
[flows.budget]
kind = "budget-to-gl"
source = "anaplan.fp"
target = "epicor.main"

[connections.workday."prod.eu"]
base_url = "http://127.0.0.1:8801"
tenant = "t"
isu_user = "u"
""",
    )
    assert errors_of(path) == [
        f'{path}: connections.workday."prod.eu": names use letters, digits, - and _',
        (
            f"{path}: flows.budget.source: no connection 'anaplan.fp' "
            "(configured: anaplan.fpa, epicor.main)"
        ),
    ]


def test_secrets_in_the_config_file_are_refused_without_echoing_them(
    tmp_path: Path, minimal_toml: str
) -> None:
    text = minimal_toml.replace(
        'user = "mlc-integration"', 'user = "x"\npassword = "pw-in-file-77"'
    )
    path = write(tmp_path, text)
    errors = errors_of(path, {"MLC_CONNECTIONS__EPICOR__MAIN__PASSWORD": "from-env-99"})
    assert errors == [
        (
            f"{path}: connections.epicor.main.password: secrets do not belong in the config file; "
            "store it with `mlc creds set epicor.main.password` or mount a secret file"
        )
    ]


def test_invalid_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[service]\nstate_dir = \n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: invalid TOML: ") and "line 2" in error
    missing = tmp_path / "absent.toml"
    assert errors_of(missing) == [f"{missing}: cannot read: No such file or directory"]
    with pytest.raises(UsageError) as caught:
        load_config(missing, {})
    assert caught.value.exit_code == 2


def test_environment_overrides_are_decoded_to_the_field_type(
    tmp_path: Path, minimal_toml: str
) -> None:
    config = load_config(
        write(tmp_path, minimal_toml),
        {
            "MLC_SERVICE__HTTP_PORT": "9090",
            "MLC_SERVICE__SHUTDOWN_GRACE_SECONDS": "7.5",
            "MLC_SUPERVISOR__MAILBOX_SIZE": "8",
            "MLC_CONNECTIONS__EPICOR__MAIN__PAGE_SIZE": "250",
            "MLC_CONNECTIONS__EPICOR__MAIN__COMPANY": "007",
            "MLC_CONNECTIONS__EPICOR__MAIN__PASSWORD": "12345",
            "MLC_FLOWS__GL_ACTUALS__ENABLED": "false",
            "MLC_FLOWS__GL_ACTUALS__COLUMNS__ACCOUNT": "GLAccount",
            "MLC_FLOWS__GL_ACTUALS__OPTIONS__LIMIT": "5",
            "MLC_FLOWS__GL_ACTUALS__OPTIONS__VERSION": "Actual",
            "MLC_FLOWS__GL_ACTUALS__OPTIONS__MODULES": '["A", "B"]',
            "MLC_CONNECTIONS__WORKDAY__PROD__BASE_URL": "http://127.0.0.1:8801",
            "MLC_CONNECTIONS__WORKDAY__PROD__TENANT": "t",
            "MLC_CONNECTIONS__WORKDAY__PROD__ISU_USER": "u",
            "MLC_VAULT_KEY": "not-a-config-key",
            "MLC_CONFIG": "ignored.toml",
        },
    )
    assert config.service.http_port == 9090
    assert config.service.shutdown_grace_seconds == 7.5
    assert config.supervisor.mailbox_size == 8
    epicor = config.connections.epicor["main"]
    assert (epicor.page_size, epicor.company) == (250, "007")
    assert config.configured_secret("epicor.main.password") == "12345"
    flow = config.flows["gl-actuals"]
    assert flow.enabled is False
    assert flow.columns == {"account": "GLAccount"}
    assert flow.options == {"limit": 5, "version": "Actual", "modules": ["A", "B"]}
    assert config.connections.workday["prod"].tenant == "t"


def test_environment_errors_name_the_variable(tmp_path: Path, minimal_toml: str) -> None:
    path = write(tmp_path, minimal_toml)
    errors = errors_of(
        path,
        {
            "MLC_SERVICE__HTTP_PORT": "eighty",
            "MLC_SERVICE__PORT": "80",
            "MLC_SERVICE__STATE_DIR__X": "y",
            "MLC_CONNECTIONS__EPICOR__SPARE__COMPANY": "EPIC07",
        },
    )
    assert errors == [
        (
            "environment variable MLC_SERVICE__PORT: service.port: "
            "unknown key (did you mean http_port?)"
        ),
        (
            "environment variable MLC_SERVICE__STATE_DIR__X: service.state_dir: "
            "expected str, not a table"
        ),
        "environment variable MLC_SERVICE__HTTP_PORT: service.http_port: expected int, got str",
        (
            "environment variable MLC_CONNECTIONS__EPICOR__SPARE__COMPANY: "
            "connections.epicor.spare.base_url: missing required key"
        ),
    ]


def test_secret_files_override_environment_and_file(tmp_path: Path, minimal_toml: str) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "..2026_01_01").mkdir(parents=True)
    (secrets / "..2026_01_01" / "service.http_port").write_text("1")
    (secrets / ".hidden").write_text("ignored")
    (secrets / "connections.epicor.main.api_key").write_text("api-key-from-file-3141\n")
    (secrets / "connections.epicor.main.password").write_text("pw with spaces \r\n")
    (secrets / "service.http_port").write_text("9191\n")
    path = write(
        tmp_path,
        minimal_toml.replace('state_dir = "state"', 'state_dir = "state"\nsecrets_dir = "secrets"'),
    )
    config = load_config(path, {"MLC_SERVICE__HTTP_PORT": "9090"})
    assert config.service.http_port == 9191
    assert config.service.secrets_dir == str(secrets)
    assert config.configured_secret("epicor.main.api_key") == "api-key-from-file-3141"
    assert config.configured_secret("epicor.main.password") == "pw with spaces "
    assert config.configured_secret("epicor.main.client_secret") is None
    assert config.configured_secret("anaplan.fpa.password") is None
    assert redact("key=api-key-from-file-3141") == "key=***"


def test_secrets_dir_from_the_environment_and_its_errors(tmp_path: Path, minimal_toml: str) -> None:
    secrets = tmp_path / "mounted"
    secrets.mkdir()
    (secrets / "connections.anaplan.fpa.password").write_text("anaplan-pw-2718")
    (secrets / "connections.anaplan.fpa.pasword").write_text("typo")
    path = write(tmp_path, minimal_toml)
    typo = secrets / "connections.anaplan.fpa.pasword"
    assert errors_of(path, {"MLC_SECRETS_DIR": str(secrets)}) == [
        f"secret file {typo}: connections.anaplan.fpa.pasword: unknown key (did you mean password?)"
    ]
    typo.unlink()
    config = load_config(path, {"MLC_SECRETS_DIR": str(secrets)})
    assert config.configured_secret("anaplan.fpa.password") == "anaplan-pw-2718"
    assert errors_of(path, {"MLC_SECRETS_DIR": str(tmp_path / "nope")}) == [
        (
            f"environment variable MLC_SECRETS_DIR: service.secrets_dir: {tmp_path / 'nope'}: "
            "No such file or directory"
        )
    ]


def test_required_credentials_follow_each_connection_auth_mode(
    tmp_path: Path, minimal_toml: str
) -> None:
    config = load_config(write(tmp_path, minimal_toml), {})
    assert config.required_credentials() == [
        "epicor.main.api_key",
        "epicor.main.password",
        "anaplan.fpa.password",
    ]
    config = load_config(
        write(tmp_path, minimal_toml),
        {
            "MLC_CONNECTIONS__EPICOR__MAIN__AUTH": "idp",
            "MLC_CONNECTIONS__EPICOR__MAIN__IDP_URL": "http://127.0.0.1:8702",
            "MLC_CONNECTIONS__EPICOR__MAIN__CLIENT_ID": "mlc",
            "MLC_CONNECTIONS__ANAPLAN__FPA__AUTH": "oauth",
            "MLC_CONNECTIONS__ANAPLAN__FPA__CLIENT_ID": "c",
        },
    )
    assert config.required_credentials() == [
        "epicor.main.api_key",
        "epicor.main.client_secret",
        "anaplan.fpa.refresh_token",
    ]


def test_schedule_timezone_defaults_to_the_service_zone(tmp_path: Path, minimal_toml: str) -> None:
    text = minimal_toml.replace(
        'state_dir = "state"', 'state_dir = "state"\ntimezone = "Europe/Berlin"'
    )
    text += (
        'schedule = [{ cron = "0 6 * * 1-5" }, '
        '{ business_day_after_period_end = 2, at = "07:30", timezone = "America/Chicago" }]\n'
    )
    config = load_config(write(tmp_path, text), {})
    zones = [rule.timezone for rule in config.flows["gl-actuals"].schedule]
    assert zones == ["Europe/Berlin", "America/Chicago"]
