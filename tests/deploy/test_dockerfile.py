"""Rules for deploy/Dockerfile and the build context filter /.dockerignore.

No Docker engine runs here, so the Dockerfile is checked as text against the rules the cluster
depends on (PID 1 gets SIGTERM, non-root, bytecode precompiled for a read-only root), and the
.dockerignore is evaluated with Docker's matching rules against the real repository tree.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for shell form."""
        try:
            value = json.loads(self.args)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


def parse_dockerfile(text: str) -> list[list[Instruction]]:
    """Split a Dockerfile into build stages of instructions.

    Follows the Dockerfile reference: a trailing backslash continues the line, and full-line
    comments (also inside a continued instruction) are dropped. Heredocs are not handled; the
    Dockerfile does not use them."""
    stages: list[list[Instruction]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        pending = ""
        instruction = Instruction(keyword.upper(), args.strip(), start)
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, f"Dockerfile line {start}: {instruction.keyword} before FROM"
        stages[-1].append(instruction)
    assert not pending, "Dockerfile ends inside a continued line"
    return stages


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(stages: list[list[Instruction]]) -> list[Instruction]:
    return stages[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"runtime stage: expected one {keyword}, found {len(found)}"
    return found[0]


def runs(stage: list[Instruction]) -> str:
    return "\n".join(i.args for i in stage if i.keyword == "RUN")


def test_parser_joins_continuations_and_drops_comments() -> None:
    stages = parse_dockerfile(
        'FROM a AS one\nRUN x \\\n# inside\n    && y\nFROM b\nCMD ["c", "d"]\nCMD c d\n'
    )
    assert [[i.keyword for i in s] for s in stages] == [["FROM", "RUN"], ["FROM", "CMD", "CMD"]]
    assert stages[0][1].args == "x && y"
    assert stages[1][1].exec_form() == ["c", "d"]
    assert stages[1][2].exec_form() is None


def test_multi_stage_build_on_python_311_slim(stages: list[list[Instruction]]) -> None:
    bases = [s[0].args.split() for s in stages]
    assert len(stages) == 2
    assert [b[0] for b in bases] == ["python:3.11-slim", "python:3.11-slim"]
    assert bases[0][1:] == ["AS", "builder"]
    assert "pip wheel" in runs(stages[0])
    runtime = stages[1]
    assert any("from=builder" in i.args for i in runtime if i.keyword in {"RUN", "COPY"}), (
        "the runtime stage must install what the builder stage built"
    )
    assert re.search(r"pip install .*--no-index", runs(runtime)), "runtime install must be offline"


def test_entrypoint_is_exec_form_mlc_run(
    runtime: list[Instruction], container: dict[str, Any]
) -> None:
    """A shell-form ENTRYPOINT would make /bin/sh PID 1 and SIGTERM would never reach mlc."""
    assert only(runtime, "ENTRYPOINT").exec_form() == ["mlc", "run"]
    cmd = only(runtime, "CMD").exec_form()
    assert cmd == ["--config", "/etc/mlc/config.toml"]
    assert container.get("args") == cmd
    assert "command" not in container, "the Deployment must keep the image's ENTRYPOINT"
    assert only(runtime, "STOPSIGNAL").args == "SIGTERM"


def test_entrypoint_names_the_console_script() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["mlc"] == "mlc.cli:main"


def test_runs_as_the_pod_user(runtime: list[Instruction], pod_spec: dict[str, Any]) -> None:
    """Numeric, so the kubelet can verify runAsNonRoot against the image itself."""
    user, _, group = only(runtime, "USER").args.partition(":")
    assert user.isdigit() and group.isdigit()
    assert int(user) != 0 and int(group) != 0
    context = pod_spec["securityContext"]
    assert (int(user), int(group)) == (context["runAsUser"], context["runAsGroup"])
    assert f"--uid {user}" in runs(runtime)
    user_at = next(n for n, i in enumerate(runtime) if i.keyword == "USER")
    assert all(i.keyword != "RUN" for i in runtime[user_at:]), "RUN after USER cannot install"


def test_bytecode_compiled_after_install(runtime: list[Instruction]) -> None:
    """With a read-only root filesystem Python cannot cache .pyc files at run time."""
    commands = runs(runtime)
    assert "compileall" in commands
    assert 'get_path("purelib")' in commands and 'get_path("stdlib")' in commands
    assert commands.index("pip install") < commands.index("compileall")


def test_kill_is_installed(runtime: list[Instruction]) -> None:
    assert re.search(r"apt-get install .*\bprocps\b", runs(runtime))
    assert "rm -rf /var/lib/apt/lists" in runs(runtime)


def test_environment_ports_and_no_healthcheck(
    stages: list[list[Instruction]], runtime: list[Instruction], container: dict[str, Any]
) -> None:
    env = " ".join(i.args for i in runtime if i.keyword == "ENV").split()
    assert "PYTHONUNBUFFERED=1" in env
    exposed = only(runtime, "EXPOSE").args
    assert [exposed] == [str(p["containerPort"]) for p in container["ports"]]
    assert "WORKDIR" in {i.keyword for i in runtime}
    labels = " ".join(i.args for i in runtime if i.keyword == "LABEL")
    assert "org.opencontainers.image.title=" in labels
    assert all(i.keyword != "HEALTHCHECK" for stage in stages for i in stage)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore glob: ``*`` and ``?`` stay within a path segment, ``**`` spans any
    number of segments (moby/patternmatcher)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        cleaned = line.lstrip("!").strip().strip("/")
        rules.append((negated, _pattern_regex(cleaned)))
    return rules


def excluded(rules: list[tuple[bool, re.Pattern[str]]], path: str) -> bool:
    """The last rule matching the path or one of its parent directories decides, as in Docker."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negated, regex in rules:
        if any(regex.match(p) for p in prefixes):
            verdict = not negated
    return verdict


def test_dockerignore_matcher_follows_docker_semantics() -> None:
    rules = dockerignore_rules("*\n!src\n**/__pycache__\n*.md\n!KEEP.md\n")
    assert excluded(rules, "notes.txt")
    assert excluded(rules, "docs/guide.txt")
    assert not excluded(rules, "src/pkg/mod.py")
    assert excluded(rules, "src/pkg/__pycache__/mod.cpython-311.pyc")
    assert excluded(rules, "README.md")
    assert not excluded(rules, "KEEP.md")


def test_build_context_holds_the_packages_and_nothing_private() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert not excluded(rules, "pyproject.toml")
    readme = project["project"].get("readme")
    if isinstance(readme, str):
        assert not excluded(rules, readme), "the wheel build reads the readme"
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [
        d.name
        for d in REPO.iterdir()
        if (d / "__init__.py").is_file()
        and any(re.fullmatch(p.replace("*", ".*"), d.name) for p in patterns)
    ]
    assert sorted(packages) == ["actors", "mlc"]
    sources = [
        p.relative_to(REPO).as_posix()
        for pkg in packages
        for p in (REPO / pkg).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert sources
    assert [s for s in sources if excluded(rules, s)] == []
    for private in [
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "deploy/k8s/secret.example.yaml",
        "state/mlc.db",
        "mlc/__pycache__/cli.cpython-311.pyc",
        "mlc.db-wal",
        "vault.key",
        "ml_connector.egg-info/PKG-INFO",
    ]:
        assert excluded(rules, private), private
