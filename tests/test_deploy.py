"""The container image and the compose deployment agree with the code and with each other.

No container runtime runs here, so these checks read the files: the Dockerfile's instructions,
compose.yaml and every configuration file it mounts, against the CLI's real commands, the
README's table of variables and the package's version.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from tether.cli.app import app
from tether.workers.metrics import metrics_endpoint

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
REQUIRED = {"postgres", "redis", "api-1", "api-2", "worker", "balancer"}
REQUIRED |= {"prometheus", "grafana", "otel-collector"}
API = ("api-1", "api-2")
SECRET_LIKE = re.compile(r"(^|/)(\.env|secrets?)(/|$)|\.(key|pem)$|(^|/)\.tether(/|$)")


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def cli() -> Any:
    """The command group `tether` runs (typer's own click), by command name."""
    group = typer.main.get_command(app)
    assert {"serve", "worker"} <= set(group.commands)  # type: ignore[attr-defined]
    return group


def version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> repository file, for the mounts of files from deploy/."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[target] = source
    return found


def tether_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s["image"].startswith("tether:")}


def api_port(compose: dict[str, Any], cli: Any) -> int:
    ports = set()
    for name in API:
        ctx = cli.commands["serve"].make_context("serve", compose["services"][name]["command"][1:])
        ports.add(ctx.params["port"])
    assert len(ports) == 1
    return ports.pop()


# -- the image -------------------------------------------------------------------------------


def test_image_runs_as_a_fixed_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = [args for word, args in final_stage(dockerfile) if word == "USER"]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, users[-1]


def test_image_installs_the_hashed_lock_then_the_package_alone(
    dockerfile: list[tuple[str, str]],
) -> None:
    runs = [args for word, args in dockerfile if word == "RUN"]
    installs = [shlex.split(r) for r in runs if "pip install" in r]
    assert any("--require-hashes" in a and "requirements.lock" in a for a in installs)
    assert any("--no-deps" in a and "." in a for a in installs)
    for args in installs:
        assert "--require-hashes" in args or "--no-deps" in args, args
    assert sum(1 for w, _ in dockerfile if w == "FROM") >= 2, "not a multi-stage build"


def test_image_base_is_pinned(dockerfile: list[tuple[str, str]]) -> None:
    args = dict(a.split("=", 1) for w, a in dockerfile if w == "ARG" and "=" in a)
    for word, rest in dockerfile:
        if word == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
            name, _, tag = image.partition(":")
            assert re.fullmatch(r"python", name) and re.match(r"3\.1[1-9]\.\d+-slim", tag), image


def test_image_checks_its_health_and_serves_on_the_exposed_port(
    dockerfile: list[tuple[str, str]],
) -> None:
    stage = final_stage(dockerfile)
    health = [a for w, a in stage if w == "HEALTHCHECK"]
    assert len(health) == 1 and "urllib" in health[0] and "curl" not in health[0]
    probe = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", health[0])
    assert probe is not None
    exposed = [p for w, a in stage if w == "EXPOSE" for p in a.split()]
    assert exposed[0] == probe.group(1)
    assert [json.loads(a) for w, a in stage if w == "ENTRYPOINT"] == [["tether"]]
    cmd = json.loads(next(a for w, a in stage if w == "CMD"))
    assert cmd[0] == "serve" and cmd[cmd.index("--port") + 1] == probe.group(1)


def test_image_serves_worker_metrics_on_every_address_at_an_exposed_port(
    dockerfile: list[tuple[str, str]],
) -> None:
    stage = final_stage(dockerfile)
    env = dict(p.split("=", 1) for w, a in stage if w == "ENV" for p in shlex.split(a))
    endpoint = metrics_endpoint(environ=env)  # how `tether worker` reads them
    assert endpoint is not None and endpoint.host == "0.0.0.0"
    exposed = [p for w, a in stage if w == "EXPOSE" for p in a.split()]
    assert exposed == [exposed[0], str(endpoint.port)]  # the API's port, then the worker's


def test_image_copies_no_secrets(dockerfile: list[tuple[str, str]]) -> None:
    for word, rest in dockerfile:
        if word in ("COPY", "ADD") and not rest.startswith("--from="):
            sources = rest.split()[:-1]
            for source in sources:
                assert source not in (".", "./", "*"), "the whole context is copied"
                assert not SECRET_LIKE.search(source), source
                assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".git", ".venv", ".tether", "**/.env", "**/*.key", "**/*.pem"):
        assert pattern in ignored, pattern


# -- the services ----------------------------------------------------------------------------


def test_every_service_is_there_on_a_pinned_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= REQUIRED
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest" and "/" not in tag, f"{name}: {service['image']}"
    for name, service in tether_services(compose).items():
        assert service["image"] == f"tether:{version()}", name
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


def test_api_and_worker_run_real_tether_commands(compose: dict[str, Any], cli: Any) -> None:
    services = compose["services"]
    for name in API:
        command = services[name]["command"]
        assert command[0] == "serve"
        ctx = cli.commands["serve"].make_context("serve", command[1:])  # rejects unknown options
        assert ctx.params["host"] == "0.0.0.0"
        assert environment(services[name])["TETHER_WORKERS"] == "0"
    worker = services["worker"]
    assert worker["command"][0] == "worker"
    cli.commands["worker"].make_context("worker", worker["command"][1:])
    assert worker["deploy"]["replicas"] == 2
    assert worker["healthcheck"] == {"disable": True}  # it serves no /healthz
    for name, service in tether_services(compose).items():
        assert service["command"][0] in cli.commands, name


def test_tether_services_wait_for_a_healthy_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name, service in tether_services(compose).items():
        env = environment(service)
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert re.fullmatch(
            r"postgresql://tether:\$\{[^}]+\}@postgres:5432/tether", env["TETHER_DATABASE_URL"]
        )
        assert env["TETHER_REDIS_URL"].startswith("redis://redis:6379/")


def test_replicas_and_workers_share_one_audit_volume(compose: dict[str, Any]) -> None:
    mounts = set()
    for name, service in tether_services(compose).items():
        audit_dir = environment(service)["TETHER_AUDIT_DIR"]
        named = [v for v in service["volumes"] if v.split(":")[1] == audit_dir]
        assert len(named) == 1 and not named[0].startswith("."), name
        mounts.add(named[0])
    assert len(mounts) == 1
    assert mounts.pop().split(":")[0] in compose["volumes"]


def test_every_tether_variable_is_documented(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(TETHER_[A-Z0-9_]+)`", table))
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\b(TETHER_[A-Z0-9_]+)\b", text))
    for service in compose["services"].values():
        used |= {k for k in environment(service) if k.startswith("TETHER_")}
    assert used
    assert sorted(used - documented) == []


def test_every_interpolated_variable_is_in_the_example_env_file() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    assert interpolated <= listed
    assert all(line.endswith("=") for line in re.findall(r"^\w+=.*$", example, re.M))  # no values


def test_mounted_configuration_files_exist(compose: dict[str, Any]) -> None:
    mounted = 0
    for name, service in compose["services"].items():
        for source in bind_mounts(service).values():
            assert (DEPLOY / source).exists(), f"{name}: {source}"
            mounted += 1
    assert mounted >= 6


# -- the observability and the balancer ------------------------------------------------------


def test_prometheus_scrapes_every_api_replica_with_a_key(compose: dict[str, Any], cli: Any) -> None:
    service = compose["services"]["prometheus"]
    mounts = bind_mounts(service)
    config = yaml.safe_load((DEPLOY / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    for rules in config["rule_files"]:
        assert f"/etc/prometheus/{rules}" in mounts
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"tether", "tether-worker"}
    job = jobs["tether"]
    assert job["metrics_path"] == "/metrics"
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{api_port(compose, cli)}" for name in API}
    secret = job["authorization"]["credentials_file"]
    targets_of_secrets = {f"/run/secrets/{s['target']}" for s in service["secrets"]}
    assert secret in targets_of_secrets
    assert set(compose["secrets"]) == {s["source"] for s in service["secrets"]}


def test_prometheus_scrapes_every_worker_replica_where_it_serves_metrics(
    compose: dict[str, Any], cli: Any
) -> None:
    worker = compose["services"]["worker"]
    ctx = cli.commands["worker"].make_context("worker", worker["command"][1:])
    endpoint = metrics_endpoint(ctx.params["metrics_port"], None, environment(worker))
    assert endpoint is not None and endpoint.host == "0.0.0.0"
    assert not worker.get("ports")  # its metrics need no key, so they stay on the network
    mounts = bind_mounts(compose["services"]["prometheus"])
    config = yaml.safe_load((DEPLOY / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "tether-worker"]
    assert job["metrics_path"] == "/metrics" and "authorization" not in job
    (found,) = job["dns_sd_configs"]  # every replica, however many `--scale` makes
    assert found["names"] == ["worker"] and found["type"] == "A"
    assert found["port"] == endpoint.port


def test_balancer_routes_to_ready_replicas(compose: dict[str, Any], cli: Any) -> None:
    service = compose["services"]["balancer"]
    caddyfile = (DEPLOY / bind_mounts(service)["/etc/caddy/Caddyfile"]).read_text()
    proxy = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert proxy is not None
    port = api_port(compose, cli)
    assert set(proxy.group(1).split()) == {f"{name}:{port}" for name in API}
    assert re.search(r"^\s*health_uri /readyz$", caddyfile, re.M)
    listen = re.search(r"^:(\d+) \{", caddyfile, re.M)
    assert listen is not None
    assert all(p.endswith(f":{listen.group(1)}") for p in service["ports"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    mounts = bind_mounts(compose["services"]["grafana"])
    provisioning = DEPLOY / mounts["/etc/grafana/provisioning"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "tether.yaml").read_text())[
        "providers"
    ]
    folder = provider["options"]["path"]
    dashboards = [t for t in mounts if t.startswith(folder + "/")]
    assert dashboards
    for target in dashboards:
        assert json.loads((DEPLOY / mounts[target]).read_text())["uid"] == "tether-runtime"


def test_traces_go_to_the_collector_over_otlp_http(compose: dict[str, Any]) -> None:
    mounts = bind_mounts(compose["services"]["otel-collector"])
    config = yaml.safe_load((DEPLOY / mounts["/etc/otelcol/config.yaml"]).read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"] and "debug" in traces["exporters"]
    for name, service in tether_services(compose).items():
        env = environment(service)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
