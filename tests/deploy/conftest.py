"""Fixtures shared by the deploy tests: the Kubernetes manifests under deploy/k8s and the cluster
config embedded in the ConfigMap."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

Manifest = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


def load_documents(path: Path) -> list[Manifest]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path.name}: no YAML document"
    return docs


def load_manifests() -> dict[str, Manifest]:
    """Every Kubernetes object under deploy/k8s, keyed "Kind/name". kustomization.yaml is
    kustomize's input, not an object, and is left out."""
    objects: dict[str, Manifest] = {}
    for path in manifest_files():
        for doc in load_documents(path):
            if doc.get("kind") == "Kustomization":
                continue
            key = f"{doc['kind']}/{doc['metadata']['name']}"
            assert key not in objects, f"{path.name}: {key} defined twice"
            objects[key] = doc
    return objects


@pytest.fixture(scope="session")
def manifests() -> dict[str, Manifest]:
    return load_manifests()


@pytest.fixture(scope="session")
def deployment(manifests: dict[str, Manifest]) -> Manifest:
    return manifests["Deployment/mlc"]


@pytest.fixture(scope="session")
def pod_spec(deployment: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="session")
def container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec["containers"]
    assert [c["name"] for c in containers] == ["mlc"]
    first: dict[str, Any] = containers[0]
    return first


@pytest.fixture(scope="session")
def cluster_config(manifests: dict[str, Manifest]) -> dict[str, Any]:
    """The config.toml the ConfigMap mounts at /etc/mlc, parsed with the stdlib TOML reader."""
    return tomllib.loads(manifests["ConfigMap/mlc-config"]["data"]["config.toml"])
