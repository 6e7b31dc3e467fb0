"""The deployment files, checked without a container engine: every SUPPORTHUB_* variable that
deploy/compose.yaml, deploy/.env.example and the Dockerfile set is a real setting and
loads; the image probes /readyz and runs as a user; the proxy forwards the widget's socket.

pydantic-settings ignores an environment variable that names no field, so a misspelt one
would be dropped without a word: each name is mapped to a field here, by hand."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
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
