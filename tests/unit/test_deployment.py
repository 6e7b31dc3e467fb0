"""The deployment files, checked without a container engine: every SUPPORTHUB_* variable that
deploy/compose.yaml, deploy/.env.example and the Dockerfile set is a real setting and
loads; the image probes /readyz and runs as a user; the proxy forwards the widget's socket;
the locks `make install`, CI and the image install pin every dependency of pyproject.toml.

pydantic-settings ignores an environment variable that names no field, so a misspelt one
would be dropped without a word: each name is mapped to a field here, by hand."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from pydantic import BaseModel, SecretStr

from core.settings import Settings, settings_class

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PREFIX = "SUPPORTHUB_"
PLACEHOLDER = "placeholder-secret"
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def interpolate(value: str) -> str:
    """A value as compose would pass it, with ${NAME:-default} taking its default and a
    required ${NAME:?…} a placeholder (the operator's secret)."""

    def one(match: re.Match[str]) -> str:
        return match.group(3) if match.group(2) == "-" else PLACEHOLDER

    return INTERPOLATION.sub(one, value).replace("$$", "$")


def compose_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for service in compose()["services"].values():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        found |= {name: interpolate(str(value)) for name, value in environment.items() if name.startswith(PREFIX)}
    return found


def env_file_variables() -> dict[str, str]:
    """Its assignments, the commented-out examples too; empty ones are secrets to fill in."""
    found: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"#?\s*(SUPPORTHUB_\w+)=(.*)", line.strip()):
            found[match.group(1)] = match.group(2) or PLACEHOLDER
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (words[0].upper(), words[1].strip() if len(words) > 1 else "")
        for line in joined.splitlines()
        if (words := line.strip().split(None, 1))
    ]


def runtime_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    return instructions[last_from:]


def dockerfile_variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            found |= {name: value for name, value in re.findall(r"(\w+)=(\S+)", arguments) if name.startswith(PREFIX)}
    return found


def field_path(name: str) -> list[str] | None:
    """SUPPORTHUB_<KEY> or SUPPORTHUB_<SECTION>__<KEY> as the field names it reaches, or None
    when a part names no field."""
    model: type[BaseModel] = settings_class()  # with each installed channel's section
    path = name.removeprefix(PREFIX).lower().split("__")
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return None
        if depth < len(path) - 1:
            if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
                return None
            model = field.annotation
    return path


def plain(value: object) -> object:
    """A loaded setting as the JSON or text it was given as."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, (dict, str)) else str(value)


SOURCES = {
    "deploy/compose.yaml": compose_variables,
    "deploy/.env.example": env_file_variables,
    "Dockerfile": dockerfile_variables,
}


@pytest.mark.parametrize("source", SOURCES)
def test_every_variable_names_a_setting(source: str) -> None:
    variables = SOURCES[source]()
    assert variables, f"{source} sets no {PREFIX}* variable"
    assert sorted(name for name in variables if field_path(name) is None) == []


def test_the_variables_together_load_and_reach_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = dockerfile_variables() | env_file_variables() | compose_variables()  # compose's win, as in a container
    for name in [name for name in os.environ if name.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    for name, value in variables.items():
        path = field_path(name)
        assert path is not None
        reached: object = settings
        for part in path:
            reached = getattr(reached, part)
        expected = json.loads(value) if value.startswith(("[", "{")) else value
        assert plain(reached) == expected, name


def test_the_compose_file_wires_the_hubs_behind_the_proxy() -> None:
    services = compose()["services"]
    hub = services["hub"]
    assert hub["deploy"]["replicas"] == 2
    assert hub["depends_on"]["reindex"]["condition"] == "service_completed_successfully"
    assert "--no-progress" in services["reindex"]["command"] and "reindex" in services["reindex"]["command"]
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            if how["condition"] == "service_healthy":  # compose refuses to start on a dependency without a check
                target = services[dependency]
                assert "healthcheck" in target or "build" in target, f"{name} waits for {dependency}'s healthcheck"
    assert [mount for mount in hub["volumes"] if mount.endswith(":/knowledge:ro")]
    for service in services.values():
        for mount in service.get("volumes", []):
            source = interpolate(mount).split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{mount}: {source} does not exist"
    assert compose_variables()["SUPPORTHUB_LIMITS__PER_IP"] == ""


def test_the_image_checks_readiness_runs_as_a_user_and_stays_offline() -> None:
    stage = runtime_stage()
    assert len([i for i, _ in dockerfile_instructions() if i == "FROM"]) >= 2  # multi-stage
    assert any(i == "COPY" and arguments.startswith("--from=builder") for i, arguments in stage)
    healthchecks = [arguments for instruction, arguments in stage if instruction == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/readyz" in healthchecks[0]
    users = [arguments for instruction, arguments in stage if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    environment = " ".join(arguments for instruction, arguments in stage if instruction == "ENV")
    assert "HF_HUB_OFFLINE=1" in environment and "TRANSFORMERS_OFFLINE=1" in environment
    assert json.loads(next(arguments for instruction, arguments in stage if instruction == "CMD")) == [
        "supporthub",
        "serve",
    ]


def test_the_proxy_forwards_the_widget_socket_and_the_client_address() -> None:
    config = re.sub(r"#[^\n]*", "", (DEPLOY / "nginx.conf").read_text(encoding="utf-8"))
    socket = re.search(r"location\s*=\s*/widget/ws\s*\{(?P<body>[^}]*)\}", config)
    assert socket is not None
    directives = {" ".join(line.split()) for line in socket["body"].split(";")}
    assert {
        "proxy_http_version 1.1",
        "proxy_set_header Upgrade $http_upgrade",
        "proxy_set_header Connection $connection_upgrade",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for",
        "proxy_set_header X-Forwarded-Proto $scheme",
    } <= directives
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", config)
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in compose()["services"]["proxy"]["volumes"]


LOCK = ROOT / "requirements.lock"  # .[test,docs]: make install, and so CI
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"  # the [project] dependencies: the Dockerfile
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;[^\\]*)?\s*\\?")


def pins(lock: Path) -> dict[str, Version]:
    """Each `name==version` line of a lock (its marker and the hash lines under it dropped)."""
    found: dict[str, Version] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := PIN.fullmatch(line.strip()):
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def pyproject() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return loaded


def declared(*extras: str) -> list[Requirement]:
    """The [project] dependencies and those of the extras named, as apply on this platform (the
    locks are resolved on Linux)."""
    project = pyproject()["project"]
    texts = project["dependencies"] + [text for extra in extras for text in project["optional-dependencies"][extra]]
    requirements = [Requirement(text) for text in texts]
    return [requirement for requirement in requirements if requirement.marker is None or requirement.marker.evaluate()]


def unlocked(requirements: list[Requirement], locked: dict[str, Version]) -> list[str]:
    """The requirements the lock does not pin, or pins outside their specifier."""
    found = []
    for requirement in requirements:
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{requirement} (locked: {version})")
    return found


@pytest.mark.parametrize(("lock", "extras"), [(LOCK, ("test", "docs")), (RUNTIME_LOCK, ())], ids=["full", "runtime"])
def test_the_lock_pins_every_dependency_of_pyproject(lock: Path, extras: tuple[str, ...]) -> None:
    """A dependency added to or changed in pyproject.toml without `make lock` is not installed
    (make install and the image install the lock with --no-deps)."""
    assert unlocked(declared(*extras), pins(lock)) == [], "pyproject.toml and the lock differ: run `make lock`"


def test_the_locks_take_the_cpu_torch_and_nothing_of_cuda() -> None:
    for lock in (LOCK, RUNTIME_LOCK):
        locked = pins(lock)
        assert locked["torch"] == Version("2.13.0+cpu"), lock.name
        assert [name for name in locked if name.startswith(("nvidia-", "cuda-")) or name == "triton"] == [], lock.name


def test_the_runtime_lock_has_the_full_locks_versions_and_no_test_or_docs_tools() -> None:
    runtime, full = pins(RUNTIME_LOCK), pins(LOCK)
    assert {name: str(version) for name, version in runtime.items() if full.get(name) != version} == {}
    assert sorted(runtime.keys() & {"pytest", "hypothesis", "playwright", "mypy", "ruff", "sphinx", "furo"}) == []
    # the project is built from the lock's setuptools (--no-build-isolation), in make install and in the image
    build = [Requirement(text) for text in pyproject()["build-system"]["requires"]]
    assert unlocked(build, full) == [] and unlocked(build, runtime) == []


def test_make_install_and_the_image_install_the_locks_and_resolve_nothing() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^LOCK := requirements\.lock$", makefile, re.MULTILINE)
    assert re.search(r"^RUNTIME_LOCK := requirements-runtime\.lock$", makefile, re.MULTILINE)
    stamp = re.search(r"^\$\(STAMP\):(?P<prerequisites>.*)\n(?P<recipe>(?:\t.*\n)+)", makefile, re.MULTILINE)
    assert stamp is not None
    assert {"$(LOCK)", "pyproject.toml"} <= set(stamp["prerequisites"].split())  # a new lock reinstalls
    installs = [line for line in stamp["recipe"].splitlines() if " pip install " in line]
    assert any("--no-deps --require-hashes -r $(LOCK)" in line for line in installs)
    assert [line for line in installs if "$(PIP)" not in line and "--no-deps" not in line] == []

    runs = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN"]
    installs = [arguments for arguments in runs if "pip install" in arguments and "pip==" not in arguments]
    torch, lock = installs[0], installs[1]
    assert f"torch=={pins(RUNTIME_LOCK)['torch']}" in torch
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch
    assert "--no-deps --require-hashes -r requirements-runtime.lock" in lock
    assert [arguments for arguments in installs if "--no-deps" not in arguments] == []
