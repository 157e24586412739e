"""The deploy artifacts, checked without Docker or a cluster: Dockerfile, docker-compose.yml, chart.

Compose and the chart are held against the services' own Settings classes (env names, required
fields, default ports), so a renamed setting or a moved port fails here, not in a container.
The chart is rendered with `helm template` when a `helm` binary is found (built with
`go install helm.sh/helm/v3/cmd/helm@v3.22.0`, see deploy/helm/README.md); without one that test
is skipped locally and fails in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from ipaddress import ip_address
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, SecretStr

from anomaly_detector.config import Settings as AnomalyDetectorSettings
from cc.platform.settings import ServiceSettings
from compliance_auditor.config import Settings as ComplianceAuditorSettings
from ingestor.config import Settings as IngestorSettings
from notifier.config import Settings as NotifierSettings
from remediation_planner.config import Settings as RemediationPlannerSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
MAKEFILE = ROOT / "Makefile"
CHART = ROOT / "deploy" / "helm" / "command-center"

# compose / chart service name -> (module run with `python -m`, its Settings class)
SERVICES: dict[str, tuple[str, type[ServiceSettings]]] = {
    "ingestor": ("ingestor", IngestorSettings),
    "anomaly-detector": ("anomaly_detector", AnomalyDetectorSettings),
    "remediation-planner": ("remediation_planner", RemediationPlannerSettings),
    "compliance-auditor": ("compliance_auditor", ComplianceAuditorSettings),
    "notifier": ("notifier", NotifierSettings),
}
# Secrets compose must refuse to start without: service -> env var -> host variable guarded.
GUARDED_SECRETS = {
    "ingestor": {"INGESTOR_ALERTMANAGER_TOKEN": "INGESTOR_ALERTMANAGER_TOKEN"},
    "notifier": {"NOTIFIER_SLACK_WEBHOOK_URL": "SLACK_WEBHOOK_URL"},
}
# What a person exports before `docker compose up` (and nothing else: no host env leaks in).
HOST_ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/services/T0/B0/x",
    "INGESTOR_ALERTMANAGER_TOKEN": "compose-test-token",
}
TOPICS_MODULE = "cc.kafka.topics"
TEMPLATE_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)
COMPOSE_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


# --- helpers ---------------------------------------------------------------------------------


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (YAML merge keys allowed)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [
            self.construct_object(key, deep=True)
            for key, _ in node.value
            if key.tag != "tag:yaml.org,2002:merge"
        ]
        duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
        if duplicates:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate keys {duplicates}", node.start_mark
            )
        return super().construct_mapping(node, deep)


def load_yaml_documents(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=UniqueKeyLoader))


def load_yaml(path: Path) -> Any:
    (document,) = load_yaml_documents(path.read_text())
    return document


def settings_env_names(cls: type[ServiceSettings]) -> dict[str, str]:
    """Environment variable -> field, as the class reads them: prefix + name, or the alias."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update({c.upper(): field_name for c in alias.choices if isinstance(c, str)})
        elif isinstance(alias, str):
            names[alias.upper()] = field_name
        else:
            names[f"{prefix}{field_name}".upper()] = field_name
    return names


def interpolate(value: str, host_env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` (the forms this file uses)."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        if host_env.get(name) or (name in host_env and not op.startswith(":")):
            return host_env[name]
        if op.endswith("-"):
            return arg
        if op.endswith("?"):
            raise LookupError(f"{name} is required: {arg}")
        return ""

    return COMPOSE_VAR.sub(substitute, value)


def compose_env(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as written (map or list form), values not interpolated."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def published_ports(service: Mapping[str, Any]) -> list[tuple[str | None, int, int]]:
    """(host ip, host port, container port) of each `ports:` entry, short or long syntax."""
    result: list[tuple[str | None, int, int]] = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result.append((entry.get("host_ip"), int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        if len(parts) == 3:
            result.append((parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            result.append((None, int(parts[0]), int(parts[1])))
        else:
            result.append((None, int(parts[0]), int(parts[0])))  # random host port in fact
    return result


def http_port_setting(name: str) -> str:
    prefix = SERVICES[name][1].model_config.get("env_prefix", "")
    return f"{prefix}HTTP_PORT"


def default_http_port(name: str) -> int:
    default = SERVICES[name][1].model_fields["http_port"].default
    assert isinstance(default, int)
    return default


def service_module_main(module: str) -> Path | None:
    """The `__main__.py` that `python -m module` runs, if a service package has one."""
    for src in sorted(ROOT.glob("services/*/src")):
        candidate = src.joinpath(*module.split("."), "__main__.py")
        if candidate.is_file():
            return candidate
    return None


def assert_settings_read(
    name: str, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Load the service's Settings from exactly this env; every non-OTEL variable must land."""
    cls = SERVICES[name][1]
    names = settings_env_names(cls)
    for variable in names:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    settings = cls()
    for variable, value in env.items():
        if variable.startswith("OTEL_"):
            continue
        loaded = getattr(settings, names[variable])
        if isinstance(loaded, SecretStr):
            loaded = loaded.get_secret_value()
        assert str(loaded) == value, f"{name}: {variable}={value!r} was read as {loaded!r}"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines()]
    return [
        (ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
        for ln in lines
        if ln and not ln.startswith("#")
    ]


def dockerfile_workdir() -> PurePosixPath:
    (workdir,) = [args for op, args in dockerfile_instructions() if op == "WORKDIR"]
    return PurePosixPath(workdir)


def dockerfile_copied(image_path: str) -> bool:
    """Whether a COPY puts the repository file behind this absolute image path into the image."""
    relative = PurePosixPath(image_path).relative_to(dockerfile_workdir())
    if not (ROOT / relative).exists():
        return False
    for op, args in dockerfile_instructions():
        if op == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for src in map(PurePosixPath, sources):
                if relative == src or src in relative.parents:
                    return True
    return False


# --- docker-compose.yml -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = load_yaml(COMPOSE_FILE)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def compose_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def project_image_services(services: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Services built from (or running the image of) the repository's Dockerfile."""
    ours = {str(s["image"]) for s in services.values() if "build" in s and "image" in s}
    return {n: s for n, s in services.items() if "build" in s or s.get("image") in ours}


def test_compose_has_the_five_services_and_the_topics_job(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    assert set(SERVICES) <= set(compose_services)
    ours = project_image_services(compose_services)
    assert set(ours) == {*SERVICES, "topics"}
    for name, service in ours.items():
        context = service["build"]["context"] if isinstance(service["build"], dict) else "."
        assert (ROOT / context / "Dockerfile").resolve() == DOCKERFILE, name
    assert len({s["image"] for s in ours.values()}) == 1, "one image for all services"


def test_each_service_runs_its_own_module(compose_services: dict[str, dict[str, Any]]) -> None:
    for name, service in project_image_services(compose_services).items():
        command = service["command"]
        assert isinstance(command, list), f"{name}: exec form, the image's ENTRYPOINT is python -m"
        if name == "topics":
            assert command[0] == TOPICS_MODULE
            assert (ROOT / "libs/src/cc/kafka/topics.py").is_file()
            continue
        assert command == [SERVICES[name][0]], name
        main = service_module_main(command[0])
        assert main is not None, f"{name}: no services/*/src/{command[0]}/__main__.py"
        assert main.parts[-4] == name, f"{name} runs the module of {main.parts[-4]}"


def test_compose_env_vars_are_settings_of_the_service(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    for name, (_, cls) in SERVICES.items():
        known = settings_env_names(cls)
        unknown = [
            var
            for var in compose_env(compose_services[name])
            if var not in known and not var.startswith("OTEL_")
        ]
        assert not unknown, f"{name}: {unknown} are not fields of {cls.__module__}.Settings"


def test_compose_sets_every_required_setting(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    for name, (_, cls) in SERVICES.items():
        names = settings_env_names(cls)
        set_fields = {names[v] for v in compose_env(compose_services[name]) if v in names}
        required = {f for f, info in cls.model_fields.items() if info.is_required()}
        assert required <= set_fields, f"{name}: required {required - set_fields} not set"


def test_compose_env_loads_into_each_settings_class(
    compose_services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SERVICES:
        env = {k: interpolate(v, HOST_ENV) for k, v in compose_env(compose_services[name]).items()}
        with monkeypatch.context() as patch:
            assert_settings_read(name, env, patch)
        assert env.get("OTEL_SERVICE_NAME") == name
        assert ip_address(env["CC_HTTP_HOST"]).is_unspecified, f"{name}: listen beyond loopback"


def test_published_port_is_the_services_http_port(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    for name in SERVICES:
        service = compose_services[name]
        env = compose_env(service)
        port = int(env.get(http_port_setting(name), default_http_port(name)))
        assert published_ports(service) == [("127.0.0.1", port, port)], name
        probe = json.dumps(service.get("healthcheck", {}).get("test", []))
        for probed in re.findall(r"127\.0\.0\.1:(\d+)/", probe):
            assert int(probed) == port, f"{name}: healthcheck probes {probed}, serves {port}"


def test_every_published_port_is_on_loopback(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in compose_services.items():
        for host_ip, _, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes on {host_ip or 'all interfaces'}"


def test_required_secrets_are_guarded(compose_services: dict[str, dict[str, Any]]) -> None:
    for name, secrets in GUARDED_SECRETS.items():
        env = compose_env(compose_services[name])
        for variable, host_variable in secrets.items():
            assert re.fullmatch(rf"\$\{{{host_variable}:\?[^}}]+\}}", env.get(variable, "")), (
                f"{name}: {variable} must be ${{{host_variable}:?message}}"
            )
            without = {k: v for k, v in HOST_ENV.items() if k != host_variable}
            with pytest.raises(LookupError, match=host_variable):
                interpolate(env[variable], without)


def test_every_compose_variable_has_a_default_or_a_guard() -> None:
    for match in COMPOSE_VAR.finditer(COMPOSE_FILE.read_text()):
        assert match["op"] in {":-", ":?"}, f"{match[0]} is empty when unset: add :-default or :?"


def test_services_start_after_kafka_topics_and_their_backends(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in compose_services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in compose_services, f"{name} depends on unknown {target}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in compose_services[target], f"{target} has no healthcheck"
    for name in SERVICES:
        depends = compose_services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully", name
        assert depends["kafka"]["condition"] == "service_healthy", name
    auditor = compose_services["compliance-auditor"]["depends_on"]
    assert auditor["elasticsearch"]["condition"] == "service_healthy"
    assert compose_services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_topics_job_and_services_use_the_advertised_kafka_listener(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    command = compose_services["topics"]["command"]
    assert command[:2] == [TOPICS_MODULE, "create"]
    bootstrap = command[command.index("--bootstrap") + 1]
    for name in SERVICES:
        assert compose_env(compose_services[name])["CC_KAFKA_BOOTSTRAP"] == bootstrap, name
    kafka = compose_env(compose_services["kafka"])
    assert f"//{bootstrap}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert {"broker", "controller"} <= set(kafka["KAFKA_PROCESS_ROLES"].split(",")), "KRaft"
    assert bootstrap.split(":")[0] in compose_services


def test_backends_match_what_the_services_are_given(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    es = compose_services["elasticsearch"]
    kibana = compose_services["kibana"]
    assert es["image"].rsplit(":", 1)[1] == kibana["image"].rsplit(":", 1)[1], "same version"
    es_env = compose_env(es)
    assert es_env["discovery.type"] == "single-node"
    auditor_env = compose_env(compose_services["compliance-auditor"])
    es_url = auditor_env["COMPLIANCE_AUDITOR_ELASTICSEARCH_URL"]
    assert es_url == "http://elasticsearch:9200"
    assert es_env["xpack.security.enabled"] == "false", "plain http needs security off"
    assert "-Xmx1g" in es_env["ES_JAVA_OPTS"]
    for name in SERVICES:
        endpoint = compose_env(compose_services[name])["OTEL_EXPORTER_OTLP_ENDPOINT"]
        host, port = endpoint.removeprefix("http://").split(":")
        assert host in compose_services and port == "4318", f"{name}: OTLP/HTTP to {endpoint}"


def test_auditor_template_and_schemas_are_in_the_image(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    template = compose_env(compose_services["compliance-auditor"])[
        "COMPLIANCE_AUDITOR_INDEX_TEMPLATE"
    ]
    assert dockerfile_copied(template), f"{template} is not copied by the Dockerfile"
    schema_env = [a for op, a in dockerfile_instructions() if op == "ENV" and "CC_SCHEMA_DIR" in a]
    assert schema_env, "the Dockerfile sets CC_SCHEMA_DIR"
    schema_dir = re.search(r"CC_SCHEMA_DIR=(\S+)", schema_env[0])
    assert schema_dir is not None
    assert dockerfile_copied(f"{schema_dir[1]}/topics.yaml")
    assert dockerfile_copied(f"{schema_dir[1]}/EventMetadata.avsc")


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_builds_the_locked_workspace_and_runs_a_module_as_non_root() -> None:
    instructions = dockerfile_instructions()
    froms = [args for op, args in instructions if op == "FROM"]
    assert froms == ["python:3.11-slim"]
    runs = " ".join(args for op, args in instructions if op == "RUN")
    uv_pin = re.search(r"uv==([\d.]+)", runs)
    make_pin = re.search(r"uv==([\d.]+)", MAKEFILE.read_text())
    assert uv_pin is not None and make_pin is not None
    assert uv_pin[1] == make_pin[1], "the image and `make setup` pin the same uv"
    assert re.search(r"uv sync --frozen --all-packages --no-dev\b", runs)
    users = [args for op, args in instructions if op == "USER"]
    assert users, "USER is set"
    assert users[-1].split(":")[0] not in {"root", "0"}
    (entrypoint,) = [json.loads(args) for op, args in instructions if op == "ENTRYPOINT"]
    assert entrypoint == ["python", "-m"]
    (cmd,) = [json.loads(args) for op, args in instructions if op == "CMD"]
    assert service_module_main(cmd[0]) is not None


# --- Helm chart -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    doc = load_yaml(CHART / "values.yaml")
    assert isinstance(doc, dict)
    return doc


def test_chart_metadata() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == CHART.name
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(chart["version"]))


def test_values_list_the_five_services_with_their_settings(
    values: dict[str, Any], compose_services: dict[str, dict[str, Any]]
) -> None:
    services = values["services"]
    assert set(services) == set(SERVICES)
    for name, (module, cls) in SERVICES.items():
        svc = services[name]
        assert svc["module"] == module
        assert service_module_main(module) is not None
        assert svc["envPrefix"] == cls.model_config.get("env_prefix")
        assert svc["port"] == default_http_port(name)
        assert published_ports(compose_services[name])[0][2] == svc["port"], "compose agrees"
        known = settings_env_names(cls)
        plain, secret = set(svc.get("env") or {}), set(svc.get("secretEnv") or {})
        assert not (plain | secret) - set(known), f"{name}: not Settings fields"
        for key in (svc.get("secretEnv") or {}).values():
            assert {"name", "key"} <= set(values["secrets"][key]), f"secrets.{key}"
        required = {f for f, info in cls.model_fields.items() if info.is_required()}
        assert required <= {known[v] for v in plain | secret}, f"{name}: required not set"
    for name, secrets in GUARDED_SECRETS.items():
        assert set(secrets) <= set(services[name]["secretEnv"]), f"{name}: from a Secret"


def template_blocks_balanced(text: str) -> bool:
    depth = 0
    for action in TEMPLATE_ACTION.findall(text):
        word = action.split(None, 1)[0] if action and not action.startswith("/*") else ""
        if word in {"if", "range", "with", "define", "block"}:
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def test_templates_are_structurally_sound() -> None:
    templates = {p.name: p.read_text() for p in (CHART / "templates").iterdir()}
    assert {"_helpers.tpl", "deployment.yaml", "service.yaml"} <= set(templates)
    for file, text in templates.items():
        assert template_blocks_balanced(text), f"{file}: unbalanced {{{{ if/range/end }}}}"
        for include in re.findall(r'include "([^"]+)"', text):
            assert f'define "{include}"' in templates["_helpers.tpl"], f"{file}: {include}"
    loop = re.compile(r"{{-?\s*range\s+\$\w+,\s*\$\w+\s*:=\s*\.Values\.services\b")
    for file in ("deployment.yaml", "service.yaml"):
        assert loop.search(templates[file]), f"{file}: one object per entry of .Values.services"
    deployment = templates["deployment.yaml"]
    assert "path: /healthz" in deployment and "path: /readyz" in deployment
    assert "secretKeyRef" in deployment
    assert not template_blocks_balanced("{{ if .x }}{{ range .y }}{{ end }}")


def find_helm() -> str | None:
    if configured := os.environ.get("HELM_BIN"):
        return configured
    if found := shutil.which("helm"):
        return found
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0] or str(Path.home() / "go")
    for candidate in (Path(os.environ.get("GOBIN", gopath + "/bin")), Path(gopath) / "bin"):
        if (candidate / "helm").is_file():
            return str(candidate / "helm")
    return None


@pytest.fixture(scope="module")
def helm() -> str:
    found = find_helm()
    if found is None:
        message = "helm not found: go install helm.sh/helm/v3/cmd/helm@v3.22.0 (deploy/helm)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def rendered(helm: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [helm, "template", "command-center", str(CHART), "--set", "otlpEndpoint=http://otel:4318"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in load_yaml_documents(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in docs if d["kind"] == kind}


def test_chart_lints(helm: str) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_deployments(
    rendered: list[dict[str, Any]], values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == set(SERVICES)
    secrets = {(s["name"], s["key"]) for s in values["secrets"].values()}
    for name, (module, _) in SERVICES.items():
        port = values["services"][name]["port"]
        spec = deployments[name]["spec"]
        pod = spec["template"]
        assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        assert container["args"] == [module]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["resources"]["requests"]
        plain: dict[str, str] = {}
        for item in container["env"]:
            if "valueFrom" in item:
                ref = item["valueFrom"]["secretKeyRef"]
                assert (ref["name"], ref["key"]) in secrets, item
                plain[item["name"]] = "from-a-secret"
            else:
                plain[item["name"]] = item["value"]
        assert len(plain) == len(container["env"]), f"{name}: a variable is set twice"
        assert plain[http_port_setting(name)] == str(port)
        assert plain["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel:4318"
        with monkeypatch.context() as patch:
            assert_settings_read(name, plain, patch)
        secret_refs = {e["name"] for e in container["env"] if "valueFrom" in e}
        assert set(GUARDED_SECRETS.get(name, {})) <= secret_refs


def test_rendered_services_route_to_their_deployment(
    rendered: list[dict[str, Any]], values: dict[str, Any]
) -> None:
    deployments = by_kind(rendered, "Deployment")
    services = by_kind(rendered, "Service")
    assert set(services) == set(SERVICES)
    for name, service in services.items():
        (port,) = service["spec"]["ports"]
        assert port["port"] == values["services"][name]["port"]
        assert port["targetPort"] == "http"
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert service["metadata"]["name"] == deployments[name]["metadata"]["name"]
