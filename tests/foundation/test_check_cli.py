from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RunMlc = Callable[..., subprocess.CompletedProcess[str]]

KEY = base64.b64encode(bytes(range(32))).decode()


def test_check_lists_every_config_error_and_exits_2(tmp_path: Path, run_mlc: RunMlc) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(
        """
[service]
state_dir = "state"
http_prot = 9090

[connections.anaplan.fpa]
workspace = 42
model = "Operating Plan"
user = "integration@demo.example"

[connections.epicor.main]
base_url = "http://127.0.0.1:8701/ERP11"
user = "mlc-integration"
"""
    )
    result = run_mlc("check", "--config", str(config), env={"MLC_VAULT_KEY": KEY})
    assert result.returncode == 2, result.stderr
    assert result.stdout.splitlines() == [
        f"FAIL config: {config}: service.http_prot: unknown key (did you mean http_port?)",
        f"FAIL config: {config}: connections.epicor.main.company: missing required key",
        f"FAIL config: {config}: connections.anaplan.fpa.workspace: expected str, got int",
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()


def test_check_passes_when_the_config_and_credentials_are_complete(
    tmp_path: Path, run_mlc: RunMlc, config_file: Path
) -> None:
    env = {"MLC_VAULT_KEY": KEY}
    for name in ("epicor.main.api_key", "epicor.main.password"):
        stored = run_mlc(
            "creds", "set", name, "--config", str(config_file), env=env, stdin=f"value-of-{name}"
        )
        assert stored.returncode == 0, stored.stderr

    result = run_mlc("check", "--config", str(config_file), env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok   config: {config_file} (2 connection(s), 1 flow(s))"
    assert (
        lines[1] == f"ok   store: {tmp_path / 'state' / 'mlc.db'} (schema version 1, journal wal)"
    )
    assert lines[2].startswith("ok   vault: key id ") and lines[2].endswith(
        "2 credential(s) decrypted"
    )
    assert lines[3] == (
        "FAIL credentials: missing anaplan.fpa.password: store each with `mlc creds set NAME` "
        "or mount it as a secret file"
    )

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "connections.anaplan.fpa.password").write_text("mounted-anaplan-pw\n")
    result = run_mlc(
        "check", "--config", str(config_file), env={**env, "MLC_SECRETS_DIR": str(secrets)}
    )
    lines = result.stdout.splitlines()
    assert lines[3] == (
        "ok   credentials: 3 required, all present (1 from environment or secret files)"
    )
    # Nothing serves these connections (or a sandbox rejects the made-up credentials), so the
    # fit checks that follow the foundation's run, and fail, each on its own line.
    assert result.returncode == 1, result.stdout
    assert any(line.startswith("FAIL auth epicor.main: ") for line in lines[4:]), lines
    assert any(line.startswith("FAIL auth anaplan.fpa: ") for line in lines[4:]), lines
    assert "mounted-anaplan-pw" not in result.stdout + result.stderr
    assert "value-of-" not in result.stdout + result.stderr


def test_check_without_a_vault_key_fails_the_vault_and_skips_what_needs_it(
    run_mlc: RunMlc, config_file: Path
) -> None:
    result = run_mlc("check", "--config", str(config_file))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[2:4] == [
        "FAIL vault: no vault key: set MLC_VAULT_KEY or vault.key_file",
        "skip credentials: needs vault",
    ]
    assert lines[4:6] == [
        "skip auth epicor.main: needs credentials",
        "skip auth anaplan.fpa: needs credentials",
    ]
