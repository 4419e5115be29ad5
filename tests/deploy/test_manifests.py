"""Rules for the Kubernetes manifests in deploy/k8s.

The rules come from how the service works (docs in deploy/README.md): one SQLite writer on a
ReadWriteOnce volume, a drain within service.shutdown_grace_seconds after SIGTERM, secrets and
config reloaded on SIGHUP from whole-volume mounts, a read-only root filesystem. The manifests are
also validated against the Kubernetes API schemas (kubernetes-validate, offline, strict) and the
embedded config.toml is loaded with the service's own config loader.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from mlc.config import load_config

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
#: Schemas bundled with kubernetes-validate (no network); a version current clusters run.
KUBERNETES_VERSION = "1.33.0"
SECRET_EXAMPLE = "secret.example.yaml"


def volume(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    found = [v for v in pod_spec["volumes"] if v["name"] == name]
    assert len(found) == 1, f"volume {name}: found {len(found)}"
    first: dict[str, Any] = found[0]
    return first


def mount(container: dict[str, Any], path: str) -> dict[str, Any]:
    found = [m for m in container["volumeMounts"] if m["mountPath"] == path]
    assert len(found) == 1, f"mount at {path}: found {len(found)}"
    first: dict[str, Any] = found[0]
    return first


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def test_objects_present_and_namespace_free(manifests: dict[str, Any]) -> None:
    assert set(manifests) == {
        "Deployment/mlc",
        "PersistentVolumeClaim/mlc-state",
        "ConfigMap/mlc-config",
        "Secret/mlc-secrets",
        "Secret/mlc-vault-key",
        "Service/mlc",
    }
    for key, obj in manifests.items():
        assert "namespace" not in obj["metadata"], f"{key}: namespace is chosen at apply time"
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "mlc", key


def test_single_replica_recreated(deployment: dict[str, Any]) -> None:
    """One SQLite writer: a rolling update would start the new pod while the old one holds the
    ReadWriteOnce volume (Multi-Attach hang, or two writers on one node)."""
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_pod_security_context(pod_spec: dict[str, Any]) -> None:
    context = pod_spec["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == context["runAsGroup"] == context["fsGroup"] == 10001
    assert context["fsGroupChangePolicy"] == "OnRootMismatch"
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec["automountServiceAccountToken"] is False
    assert not pod_spec.get("hostNetwork") and not pod_spec.get("hostPID")


def test_container_security_context(container: dict[str, Any]) -> None:
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "add" not in context["capabilities"]
    assert context.get("privileged", False) is False


def test_tmp_is_a_bounded_memory_emptydir(
    pod_spec: dict[str, Any], container: dict[str, Any]
) -> None:
    tmp = volume(pod_spec, mount(container, "/tmp")["name"])
    assert tmp["emptyDir"]["medium"] == "Memory"
    assert tmp["emptyDir"]["sizeLimit"]
    assert env(container)["TMPDIR"] == "/tmp"
    assert env(container)["HOME"] == "/tmp"


def test_config_and_secrets_are_whole_volume_mounts(
    pod_spec: dict[str, Any], container: dict[str, Any]
) -> None:
    """subPath mounts never see updates, so SIGHUP would reload stale files."""
    for m in container["volumeMounts"]:
        assert "subPath" not in m and "subPathExpr" not in m, m["name"]
    kinds = {v["name"]: next(k for k in v if k != "name") for v in pod_spec["volumes"]}
    mounted = {m["name"] for m in container["volumeMounts"]}
    assert mounted == set(kinds), "every volume is mounted exactly where it is used"
    for m in container["volumeMounts"]:
        if kinds[m["name"]] in {"configMap", "secret"}:
            assert m.get("readOnly") is True, m["name"]
    for v in pod_spec["volumes"]:
        if "secret" in v:
            assert v["secret"]["defaultMode"] == 0o400, v["name"]
            assert "items" not in v["secret"], v["name"]
        if "configMap" in v:
            assert "items" not in v["configMap"], v["name"]


def test_probes_on_the_named_port(container: dict[str, Any]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080}
    startup = container["startupProbe"]
    liveness = container["livenessProbe"]
    readiness = container["readinessProbe"]
    for probe, path in ((startup, "/livez"), (liveness, "/livez"), (readiness, "/readyz")):
        assert probe["httpGet"] == {"path": path, "port": "http"}
    assert startup["failureThreshold"] == 30
    assert startup["periodSeconds"] == 5
    assert liveness["failureThreshold"] > readiness.get("failureThreshold", 3)


def test_grace_period_outlasts_the_drain(
    pod_spec: dict[str, Any], cluster_config: dict[str, Any]
) -> None:
    """SIGKILL comes terminationGracePeriodSeconds after SIGTERM; the service must be done first."""
    grace = pod_spec["terminationGracePeriodSeconds"]
    drain = cluster_config["service"]["shutdown_grace_seconds"]
    assert grace == 30
    assert drain < grace


def test_resources_requested_and_limited(container: dict[str, Any]) -> None:
    resources = container["resources"]
    for bound in ("requests", "limits"):
        assert set(resources[bound]) >= {"cpu", "memory"}, bound


def test_config_paths_match_the_mounts(
    pod_spec: dict[str, Any],
    container: dict[str, Any],
    cluster_config: dict[str, Any],
    manifests: dict[str, Any],
) -> None:
    service = cluster_config["service"]
    assert service["http_port"] == 8080
    assert service["http_host"] == "0.0.0.0"

    state = volume(pod_spec, mount(container, service["state_dir"])["name"])
    assert state["persistentVolumeClaim"]["claimName"] == "mlc-state"

    secrets = volume(pod_spec, mount(container, service["secrets_dir"])["name"])
    assert secrets["secret"]["secretName"] == "mlc-secrets"

    key_file = Path(cluster_config["vault"]["key_file"])
    assert Path(service["secrets_dir"]) not in key_file.parents, (
        "the config loader reads every file in secrets_dir as a config key path"
    )
    vault = volume(pod_spec, mount(container, str(key_file.parent))["name"])
    vault_secret = manifests[f"Secret/{vault['secret']['secretName']}"]
    assert key_file.name in vault_secret["stringData"]

    config_dir = mount(container, "/etc/mlc")
    config_map = volume(pod_spec, config_dir["name"])["configMap"]["name"]
    assert "config.toml" in manifests[f"ConfigMap/{config_map}"]["data"]
    assert container["args"] == ["--config", "/etc/mlc/config.toml"]
    assert env(container)["MLC_CONFIG"] == "/etc/mlc/config.toml"


def kubelet_projection(directory: Path, files: dict[str, str]) -> Path:
    """Lay ``files`` out as the kubelet does for a Secret volume: a timestamped directory, the
    ``..data`` symlink to it, and one symlink per key into ``..data``."""
    payload = directory / "..2026_01_01_00_00_00.000000001"
    payload.mkdir(parents=True)
    for name, text in files.items():
        (payload / name).write_text(text, encoding="utf-8")
    (directory / "..data").symlink_to(payload.name)
    for name in files:
        (directory / name).symlink_to(f"..data/{name}")
    return directory


def test_cluster_config_loads_with_the_example_secret(
    manifests: dict[str, Any], tmp_path: Path
) -> None:
    """The ConfigMap's config.toml passes the service's own loader with the example Secret mounted
    as the kubelet mounts it, and every example key lands on a credential of a connection."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(manifests["ConfigMap/mlc-config"]["data"]["config.toml"])
    credentials = manifests["Secret/mlc-secrets"]["stringData"]
    secrets_dir = kubelet_projection(tmp_path / "secrets", credentials)

    config = load_config(config_file, {"MLC_SECRETS_DIR": str(secrets_dir)})

    assert config.service.state_dir == "/var/lib/mlc"
    assert config.service.pid_path == Path("/var/lib/mlc/mlc.pid")
    assert config.vault.key_file == "/var/run/secrets/mlc-vault/vault.key"
    assert {"coa-align", "gl-actuals"} <= set(config.flows)
    for key_path, value in credentials.items():
        section, _, credential = key_path.partition(".")
        assert section == "connections", key_path
        assert config.configured_secret(credential) == value, key_path
        assert credential in config.required_credentials(), key_path


def test_example_secrets_hold_only_placeholders(manifests: dict[str, Any]) -> None:
    for key in ("Secret/mlc-secrets", "Secret/mlc-vault-key"):
        secret = manifests[key]
        assert "data" not in secret, f"{key}: use stringData placeholders, never encoded values"
        for name, value in secret["stringData"].items():
            assert value.startswith("<REPLACE"), f"{key}: {name} does not look like a placeholder"


def test_pvc_is_read_write_once(manifests: dict[str, Any]) -> None:
    pvc = manifests["PersistentVolumeClaim/mlc-state"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"]
    text = (K8S / "pvc.yaml").read_text(encoding="utf-8")
    assert "ReadWriteOncePod" in text and "NFS" in text


def test_service_exposes_the_metrics_port(
    manifests: dict[str, Any], deployment: dict[str, Any]
) -> None:
    service = manifests["Service/mlc"]["spec"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_kustomization_applies_everything_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    others = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_EXAMPLE}
    assert sorted(kustomization["resources"]) == sorted(others)


def kubernetes_validate(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "kubernetes-validate"
    assert script.is_file(), f"{script}: install the dev extras (kubernetes-validate)"
    return subprocess.run(
        [str(script), "--strict", "-k", KUBERNETES_VERSION, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_manifests_pass_strict_schema_validation(manifests: dict[str, Any]) -> None:
    files = sorted(str(p) for p in K8S.glob("*.yaml"))
    assert any(f.endswith(SECRET_EXAMPLE) for f in files)
    result = kubernetes_validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if " passed for resource " in line]
    assert len(passed) == len(manifests), result.stdout


def test_strict_validation_catches_a_misspelled_field(tmp_path: Path) -> None:
    original = (K8S / "deployment.yaml").read_text(encoding="utf-8")
    typo = original.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem")
    assert typo != original
    broken = tmp_path / "deployment.yaml"
    broken.write_text(typo, encoding="utf-8")
    result = kubernetes_validate(str(broken))
    assert result.returncode != 0
    assert "readOnlyRootFileSystem" in result.stdout + result.stderr
