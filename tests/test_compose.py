"""Static checks of the production stack (docker-compose.yml, Dockerfile, .dockerignore).

No Docker engine is needed: the files are parsed and cross-checked against the code they deploy.
``docker compose config`` runs only where the compose plugin is installed (it needs no daemon).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML comes with uvicorn[standard]

from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEYS?$|TOKEN")

REQUIRED_SERVICES = {"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"}
APP_SERVICES = ("migrate", "api", "worker")
SHARED_APP_SETTINGS = ("CONNECTDESK_DATABASE_URL", "CONNECTDESK_TEMPORAL_ADDRESS")
TOP_LEVEL_FILES = ("worker.py", "settings.py", "alembic.ini")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "no services: mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """depends_on as {service: condition}; the short list form means service_started."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def command_text(service: dict[str, Any]) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if value is not None:
            parts.append(value if isinstance(value, str) else "\n".join(map(str, value)))
    return "\n".join(parts)


def setup_service(services: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The one-shot service that registers the search attributes."""
    found = [(name, svc) for name, svc in services.items() if "search-attribute create" in command_text(svc)]
    assert len(found) == 1, f"expected one service running 'search-attribute create', found {len(found)}"
    return found[0]


def sa_type_name(key: Any) -> str:
    """'Keyword', 'Int', ... as the temporal CLI spells the type (same rule as cli_flags())."""
    return str(key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_").title())


def with_defaults(value: object) -> str:
    """Resolve each ``${VAR:-default}`` to its default: what compose uses when VAR is unset."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", str(value))


# --- docker-compose.yml -------------------------------------------------------------------------


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert services.keys() >= REQUIRED_SERVICES, f"missing: {sorted(REQUIRED_SERVICES - services.keys())}"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_app_waits_for_migrations_and_temporal(services: dict[str, dict[str, Any]], name: str) -> None:
    deps = depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully", deps
    assert deps.get("temporal") == "service_healthy", deps
    setup_name, _ = setup_service(services)
    assert deps.get(setup_name) == "service_completed_successfully", (
        f"{name} must not start before the search attributes exist: {deps}"
    )


def test_migrate_is_one_shot_after_postgres(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert str(migrate.get("restart", "no")) == "no"
    assert "migrate" in command_text(migrate).split()
    assert depends_on(migrate).get("postgres") == "service_healthy"


def test_every_search_attribute_is_registered(services: dict[str, dict[str, Any]]) -> None:
    name, svc = setup_service(services)
    assert with_defaults(svc["image"]).startswith("temporalio/admin-tools:"), svc["image"]
    assert depends_on(svc).get("temporal") == "service_healthy"
    assert str(svc.get("restart", "no")) == "no", f"{name} is a one-shot"
    registered = dict(re.findall(r"--name\s+(\w+)\s+--type\s+(\w+)", command_text(svc)))
    expected = {key.name: sa_type_name(key) for key in search_attributes.ALL}
    missing = {k: v for k, v in expected.items() if registered.get(k) != v}
    assert not missing, f"{name} does not create (with this type): {missing}; it creates {registered}"


def test_app_services_share_database_and_temporal(services: dict[str, dict[str, Any]]) -> None:
    envs = {name: environment(services[name]) for name in APP_SERVICES}
    for setting in SHARED_APP_SETTINGS:
        values = {name: env.get(setting) for name, env in envs.items()}
        assert None not in values.values(), f"{setting} unset in some app service: {values}"
        assert len(set(values.values())) == 1, f"{setting} differs between app services: {values}"

    db_url = envs["api"]["CONNECTDESK_DATABASE_URL"]
    assert db_url.startswith("postgresql+asyncpg://"), db_url
    assert "@postgres:" in db_url or "@postgres/" in db_url, f"app must reach the postgres service: {db_url}"
    host, _, port = envs["api"]["CONNECTDESK_TEMPORAL_ADDRESS"].rpartition(":")
    assert host in services and port == "7233", envs["api"]["CONNECTDESK_TEMPORAL_ADDRESS"]


def test_api_listens_on_all_interfaces_with_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert environment(api).get("CONNECTDESK_API_HOST") == "0.0.0.0"
    assert any(with_defaults(p).endswith(":8000") for p in api.get("ports", [])), api.get("ports")
    assert "/healthz" in " ".join(map(str, api["healthcheck"]["test"]))


def test_worker_runs_two_replicas(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert "container_name" not in worker, "replicas cannot share a container_name"
    assert command_text(worker).split()[-1] == "worker"


def test_temporal_runs_on_postgres(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    assert re.fullmatch(r"temporalio/auto-setup:1\.2\d\.\d+", with_defaults(temporal["image"])), temporal[
        "image"
    ]
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert depends_on(temporal).get("postgres") == "service_healthy"
    assert "cluster health" in " ".join(map(str, temporal["healthcheck"]["test"]))
    assert "pg_isready" in " ".join(map(str, services["postgres"]["healthcheck"]["test"]))

    ui = services["temporal-ui"]
    assert environment(ui).get("TEMPORAL_ADDRESS") == "temporal:7233"
    assert any(with_defaults(p) == "8233:8080" for p in ui.get("ports", [])), ui.get("ports")


def test_compose_config_validates() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed: `docker compose config` not run")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(
            "the docker compose plugin is not installed here (`docker compose version` failed: "
            f"{' '.join((probe.stderr or probe.stdout).split())[:200]}); `docker compose config` not run"
        )
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


# --- secrets ---------------------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose_variables() -> dict[str, set[tuple[str, str]]]:
    """Every ${VAR...} the compose file reads (comments aside), with its (operator, default or message)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for line in COMPOSE_FILE.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        for name, operator, rest in VARIABLE.findall(line):
            found.setdefault(name, set()).add((operator, rest))
    return found


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.lstrip().startswith("#")}


def test_no_secret_has_a_default_value() -> None:
    secrets = {name: uses for name, uses in compose_variables().items() if SECRET_NAME.search(name)}
    assert {"POSTGRES_PASSWORD", "CONNECTDESK_JWT_SECRET"} <= secrets.keys(), secrets
    for name, uses in secrets.items():
        for operator, default in uses:
            # ${VAR:?message} makes it required; ${VAR:-} leaves an optional one empty.
            assert operator in (":?", "?") or default == "", f"{name} has a usable default: {default!r}"
    for name in ("POSTGRES_PASSWORD", "CONNECTDESK_JWT_SECRET"):
        assert {operator for operator, _ in secrets[name]} == {":?"}, (
            f"{name} must be required: {secrets[name]}"
        )


def test_only_the_api_holds_the_signing_key(services: dict[str, dict[str, Any]]) -> None:
    holders = {name for name, svc in services.items() if "CONNECTDESK_JWT_SECRET" in environment(svc)}
    assert holders == {"api"}, holders
    assert "CONNECTDESK_JWT_KEYS" in environment(services["api"])


def test_env_example_documents_every_variable_without_a_working_secret() -> None:
    documented = env_example()
    missing = sorted(compose_variables().keys() - documented.keys())
    assert not missing, f".env.example does not document {missing}"
    for name, value in documented.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value; leave secrets empty"
    assert "CONNECTDESK_JWT_SECRET" in documented and "CONNECTDESK_JWT_KEYS" in documented


def test_no_published_secret_is_left_in_the_repository_files() -> None:
    from settings import PUBLISHED_SECRETS

    for path in (
        COMPOSE_FILE,
        ENV_EXAMPLE,
        DOCKERFILE,
        ROOT / "README.md",
    ):  # settings.py lists them to refuse
        leaked = [secret for secret in PUBLISHED_SECRETS if secret in path.read_text()]
        assert not leaked, f"{path.name} still holds {leaked}"


# --- Dockerfile / .dockerignore -----------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest of line) pairs, with comments dropped and continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def exec_or_shell_form(rest: str) -> list[str]:
    """Arguments of CMD/ENTRYPOINT/COPY, in JSON (exec) form or shell form."""
    if rest.startswith("["):
        return [str(arg) for arg in json.loads(rest)]
    return shlex.split(rest)


def copied_sources() -> set[str]:
    sources: set[str] = set()
    for keyword, rest in dockerfile_instructions():
        if keyword in {"COPY", "ADD"}:
            paths = [arg for arg in exec_or_shell_form(rest) if not arg.startswith("--")]
            sources.update(path.removeprefix("./").rstrip("/") for path in paths[:-1])
    return sources


def packaged_top_level_dirs() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.split(".")[0].rstrip("*") for pattern in include})


def test_dockerfile_copies_every_packaged_source() -> None:
    sources = copied_sources()
    wanted = [*packaged_top_level_dirs(), *TOP_LEVEL_FILES]
    missing = [path for path in wanted if path not in sources]
    assert not missing, f"Dockerfile does not COPY {missing} (copies {sorted(sources)})"


def test_dockerfile_runs_as_non_root_and_serves_the_api() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    assert ("EXPOSE", "8000") in instructions
    cmds = [exec_or_shell_form(rest) for keyword, rest in instructions if keyword == "CMD"]
    assert cmds and cmds[-1] == ["connectdesk", "api"], cmds
    installs = [rest for keyword, rest in instructions if keyword == "RUN" and "pip install" in rest]
    # dependencies from the hashed lock, then the project itself without resolving anything again
    assert any("pip install --no-cache-dir -c requirements.lock -r" in rest for rest in installs), installs
    assert any("pip install --no-cache-dir --no-deps ." in rest for rest in installs), installs
    assert all("-c requirements.lock" in rest or "--no-deps" in rest for rest in installs)


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", "tests/artifacts", ".git", ".env"} <= patterns, patterns


# --- settings, images, observability (issue 19, point 4) ------------------------------------------


def _settings_fields() -> dict[str, Any]:
    from settings import Settings

    return {f"CONNECTDESK_{name.upper()}": field for name, field in Settings.model_fields.items()}


def test_every_connectdesk_variable_in_compose_is_a_setting_the_app_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    known = _settings_fields()
    for name in APP_SERVICES:
        unknown = [v for v in environment(services[name]) if v.startswith("CONNECTDESK_") and v not in known]
        assert not unknown, f"{name} sets {unknown}, which no setting reads (a typo?)"


def test_each_app_service_gets_what_it_cannot_start_without(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])
        for var in SHARED_APP_SETTINGS:
            assert with_defaults(env.get(var, "")).strip(), f"{name} has no {var}"
    api = environment(services["api"])
    assert ":?" in api["CONNECTDESK_JWT_SECRET"]  # required: compose refuses to start without it
    assert int(with_defaults(api["CONNECTDESK_API_WORKERS"])) >= 2 and api["PROMETHEUS_MULTIPROC_DIR"]
    worker = environment(services["worker"])
    assert worker["CONNECTDESK_WORKER_METRICS_ADDRESS"].endswith(":9464")


def test_every_third_party_image_is_pinned_to_a_version(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = with_defaults(svc.get("image", ""))
        if not image or image.startswith("connectdesk"):
            continue  # ours: built from this checkout
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} names no minor version"


@pytest.mark.parametrize("name", ["postgres", "temporal", "api", "worker", "prometheus", "grafana"])
def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]], name: str) -> None:
    assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_observability_profile_scrapes_the_api_and_every_worker(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("prometheus", "grafana"):
        assert services[name].get("profiles") == ["observability"], name
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["connectdesk-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["connectdesk-worker"]["dns_sd_configs"][0] == {"names": ["worker"], "type": "A", "port": 9464}
    mounted = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    for path in (
        "deploy/prometheus/prometheus.yml",
        "deploy/grafana/provisioning",
        "deploy/grafana/dashboards",
    ):
        assert f"./{path}" in mounted and (ROOT / path).exists(), path


def test_the_dashboard_charts_the_metrics_the_app_exports() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/connectdesk.json").read_text())
    exprs = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
    for metric in (
        "http_requests_total", "http_request_duration_seconds_bucket",  # the API
        "temporal_workflow_task_execution_latency_bucket",  # the worker (the SDK)
        "connectdesk_requests_created_total", "connectdesk_sla_breaches_total", "connectdesk_escalations_total",
    ):  # fmt: skip
        assert metric in exprs, metric
    readme = (ROOT / "README.md").read_text()
    for metric in re.findall(r"connectdesk_[a-z_]+_total", exprs):
        assert metric in readme, f"{metric} is charted but not documented in the README"


def test_env_example_lists_every_setting_with_its_default() -> None:
    from pydantic import SecretStr

    listed = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        text = line.lstrip("# ").strip()
        if text.startswith("CONNECTDESK_") and "=" in text:
            name, _, value = text.partition("=")
            listed.setdefault(name, value)
    for var, field in _settings_fields().items():
        assert var in listed, f".env.example does not list {var}"
        default = field.default
        if isinstance(default, SecretStr | Path) or var in compose_variables():
            continue  # secrets are empty; paths are machine-specific; compose's own values are deliberate
        assert listed[var] == str(default), (
            f"{var}: .env.example says {listed[var]!r}, the default is {default!r}"
        )
