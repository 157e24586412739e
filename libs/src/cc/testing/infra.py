"""Real Kafka, Elasticsearch and Alertmanager as plain local processes on loopback.

Front door for pytest fixtures, `make run` and the command line::

    python -m cc.testing.infra up [--only kafka,elasticsearch,alertmanager]
    python -m cc.testing.infra status
    python -m cc.testing.infra down [--only ...] [--wipe]
    python -m cc.testing.infra fetch [--only ...]

Binaries are cached under ``$CC_CACHE_DIR`` (default /var/cache/command-center); configs, data,
pid files and logs live under ``$CC_RUN_DIR`` (default <repo>/.run), logs in
``<run dir>/logs/<component>.log``. Ports and everything else: see ``infra_common.Settings`` and
infra/README.md. With ``CC_INFRA=testcontainers``, `up`/`down` use containers instead
(`up_with_testcontainers`). Stdlib only (apart from that optional path).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cc.testing.infra_am import Alertmanager, render_alertmanager_yml
from cc.testing.infra_common import (
    HOST,
    Component,
    InfraError,
    Settings,
    locked,
    owned_pid,
    pid_alive,
    port_free,
    port_owner,
    say,
    since,
    tail,
    terminate,
)
from cc.testing.infra_es import Elasticsearch
from cc.testing.infra_kafka import Kafka

__all__ = [
    "ALL",
    "ComponentStatus",
    "Endpoints",
    "InfraError",
    "down",
    "endpoints",
    "fetch",
    "status",
    "up",
    "up_with_testcontainers",
]

ALL: tuple[str, ...] = ("kafka", "elasticsearch", "alertmanager")
COMPONENTS: dict[str, Component] = {c.name: c for c in (Kafka(), Elasticsearch(), Alertmanager())}
POLL_INTERVAL = 0.25


@dataclasses.dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    elasticsearch_url: str
    alertmanager_url: str


@dataclasses.dataclass(frozen=True)
class ComponentStatus:
    component: str
    pid: int | None
    port: int
    ready: bool
    log_file: Path


def _settings(am_webhook_url: str | None = None, am_webhook_token: str | None = None) -> Settings:
    s = Settings.from_env()
    if am_webhook_url is not None:
        s = dataclasses.replace(s, am_webhook_url=am_webhook_url)
    if am_webhook_token is not None:
        s = dataclasses.replace(s, am_webhook_token=am_webhook_token)
    return s


def _select(components: Iterable[str]) -> list[str]:
    """Validated names, in canonical order (kafka, elasticsearch, alertmanager)."""
    wanted = {c.strip() for c in components if c.strip()}
    unknown = wanted - set(ALL)
    if unknown:
        raise InfraError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(ALL)}")
    return [c for c in ALL if c in wanted]


def _use_testcontainers() -> bool:
    mode = os.environ.get("CC_INFRA", "local")
    if mode not in ("local", "testcontainers"):
        raise InfraError(f"CC_INFRA={mode!r}: expected 'local' or 'testcontainers'")
    return mode == "testcontainers"


def _local_endpoints(s: Settings) -> Endpoints:
    return Endpoints(
        kafka_bootstrap=f"{HOST}:{s.kafka_port}",
        elasticsearch_url=f"http://{HOST}:{s.es_port}",
        alertmanager_url=f"http://{HOST}:{s.am_port}",
    )


def endpoints() -> Endpoints:
    """Where the servers are (or will be): no process is started or checked."""
    if _use_testcontainers() and _TC_ENDPOINTS is not None:
        return _TC_ENDPOINTS
    return _local_endpoints(_settings())


def fetch(components: Sequence[str] = ALL) -> None:
    """Download and unpack the binaries into the cache (a no-op when already cached)."""
    s = _settings()
    for name in _select(components):
        t0 = time.monotonic()
        COMPONENTS[name].fetch(s)
        say(f"{name} binaries ready in {s.cache_dir} ({since(t0)})")


def _check_ports(s: Settings, comp: Component) -> None:
    for env_var, port in comp.ports(s).items():
        if not port_free(port):
            raise InfraError(
                f"port {port} ({env_var}, needed by {comp.name}) is already in use by "
                f"{port_owner(port)}, and it is not ours (no live pid file in "
                f"{s.run_dir / 'pids'}). Stop that process, or set {env_var} to a free port."
            )


def _await_ready(s: Settings, pending: dict[str, int], t0: float) -> None:
    """Poll every pending component until ready; fail fast if one exits or the deadline hits."""
    deadline = t0 + s.timeout
    while pending:
        for name, pid in list(pending.items()):
            comp, log = COMPONENTS[name], s.log_file(name)
            if comp.probe(s):
                say(f"{name} ready in {since(t0)}")
                del pending[name]
            elif not pid_alive(pid):
                s.pid_file(name).unlink(missing_ok=True)
                raise InfraError(f"{name} exited during start-up; log {log}:\n{tail(log)}")
            elif time.monotonic() > deadline:
                last_lines = tail(log)
                terminate(pid, comp.term_pid(s, pid), grace=10)
                s.pid_file(name).unlink(missing_ok=True)
                raise InfraError(
                    f"{name} not ready after {s.timeout:.0f}s (stopped it); "
                    f"log {log}:\n{last_lines}"
                )
        if pending:
            time.sleep(POLL_INTERVAL)


def up(
    components: Sequence[str] = ALL,
    *,
    am_webhook_url: str | None = None,
    am_webhook_token: str | None = None,
) -> Endpoints:
    """Start what is not running yet, wait until all of `components` are ready.

    Idempotent: healthy servers are left alone. Only when `am_webhook_url`/`am_webhook_token`
    are passed explicitly and differ from the running Alertmanager's config, it is rewritten and
    reloaded. The processes outlive the caller; stop them with `down`.
    """
    if _use_testcontainers():
        return up_with_testcontainers(
            components, am_webhook_url=am_webhook_url, am_webhook_token=am_webhook_token
        )
    s, t0 = _settings(am_webhook_url, am_webhook_token), time.monotonic()
    explicit = am_webhook_url is not None or am_webhook_token is not None
    with locked(s):
        _up_locked(s, _select(components), t0, reconfigure=explicit)
    return _local_endpoints(s)


def _up_locked(s: Settings, names: list[str], t0: float, *, reconfigure: bool) -> None:
    pending: dict[str, int] = {}
    to_start: list[Component] = []
    for name in names:
        comp, pid = COMPONENTS[name], owned_pid(s, name)
        if pid is None:
            _check_ports(s, comp)
            to_start.append(comp)
        elif comp.probe(s):
            if reconfigure:
                comp.reconfigure(s)
            say(f"{name} already up (pid {pid})")
        else:
            say(f"{name} running (pid {pid}) but not ready yet: waiting for it")
            pending[name] = pid
    for comp in to_start:
        comp.fetch(s)
    for comp in sorted(to_start, key=lambda c: c.launch_order):
        pending[comp.name] = comp.launch(s)
        log = s.log_file(comp.name)
        say(f"{comp.name} launched (pid {pending[comp.name]}) at {since(t0)}, log {log}")
    _await_ready(s, pending, t0)
    if to_start:
        say(f"up: {', '.join(c.name for c in to_start)} ready in {since(t0)}")


def down(components: Sequence[str] = ALL, *, wipe: bool = False) -> None:
    """Stop in reverse order (SIGTERM, SIGKILL after 30 s); `wipe` also deletes their data."""
    if _use_testcontainers():
        _down_testcontainers(components)
        return
    s = _settings()
    with locked(s):
        for name in reversed(_select(components)):
            comp, pid = COMPONENTS[name], owned_pid(s, name)
            if pid is not None:
                t0 = time.monotonic()
                clean = terminate(pid, comp.term_pid(s, pid))
                s.pid_file(name).unlink(missing_ok=True)
                say(f"{name} stopped in {since(t0)}" + ("" if clean else " (SIGKILL after 30s)"))
            if wipe:
                comp.wipe(s)
                say(f"{name} data wiped")


def status() -> list[ComponentStatus]:
    s = _settings()
    result = []
    for name in ALL:
        comp, pid = COMPONENTS[name], owned_pid(s, name)
        port = next(iter(comp.ports(s).values()))
        ready = pid is not None and comp.probe(s)
        result.append(ComponentStatus(name, pid, port, ready, s.log_file(name)))
    return result


# --- testcontainers (CC_INFRA=testcontainers) ---------------------------------------------------
# Needs a Docker engine, which the build machines do not have: written, never run here.

_TC_CONTAINERS: dict[str, Any] = {}
_TC_ENDPOINTS: Endpoints | None = None


def up_with_testcontainers(
    components: Sequence[str] = ALL,
    *,
    am_webhook_url: str | None = None,
    am_webhook_token: str | None = None,
) -> Endpoints:
    """Same servers in containers (the containers die with this Python process)."""
    global _TC_ENDPOINTS
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    s = _settings(am_webhook_url, am_webhook_token)
    found = dataclasses.asdict(_TC_ENDPOINTS or _local_endpoints(s))
    names = [n for n in _select(components) if n not in _TC_CONTAINERS]
    if "kafka" in names:
        image = os.environ.get("CC_TC_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")
        kafka = KafkaContainer(image).with_kraft()
        kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false").start()
        _TC_CONTAINERS["kafka"] = kafka
        found["kafka_bootstrap"] = kafka.get_bootstrap_server()
    if "elasticsearch" in names:
        image = "docker.elastic.co/elasticsearch/elasticsearch:9.3.2"
        es = ElasticSearchContainer(image, mem_limit="2g").with_env("ES_JAVA_OPTS", "-Xms1g -Xmx1g")
        es.with_env("cluster.routing.allocation.disk.threshold_enabled", "false").start()
        _TC_CONTAINERS["elasticsearch"] = es
        found["elasticsearch_url"] = (
            f"http://{es.get_container_host_ip()}:{es.get_exposed_port(9200)}"
        )
    if "alertmanager" in names:
        # the webhook receiver runs on the host: reach it through the Docker host gateway
        for local in ("//127.0.0.1:", "//localhost:"):
            s = dataclasses.replace(
                s, am_webhook_url=s.am_webhook_url.replace(local, "//host.docker.internal:")
            )
        config = s.run_dir / "alertmanager-tc" / "alertmanager.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(render_alertmanager_yml(s), encoding="utf-8")
        am = (
            DockerContainer("prom/alertmanager:v0.25.0")
            .with_exposed_ports(9093)
            .with_volume_mapping(str(config), "/etc/alertmanager/alertmanager.yml")
            .with_kwargs(extra_hosts={"host.docker.internal": "host-gateway"})
            .with_command(
                [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/alertmanager",
                    "--cluster.listen-address=",
                    "--web.external-url=http://127.0.0.1:9093",
                ]
            )
            .waiting_for(HttpWaitStrategy(9093, "/-/ready"))
            .start()
        )
        _TC_CONTAINERS["alertmanager"] = am
        found["alertmanager_url"] = (
            f"http://{am.get_container_host_ip()}:{am.get_exposed_port(9093)}"
        )
    _TC_ENDPOINTS = Endpoints(**found)
    return _TC_ENDPOINTS


def _down_testcontainers(components: Sequence[str]) -> None:
    for name in reversed(_select(components)):
        container = _TC_CONTAINERS.pop(name, None)
        if container is not None:
            container.stop()


# --- command line -------------------------------------------------------------------------------


def _print_status(rows: list[ComponentStatus]) -> None:
    print(f"{'component':<14} {'pid':>8} {'port':>6}  {'ready':<5}  log")
    for r in rows:
        pid = str(r.pid) if r.pid is not None else "-"
        print(
            f"{r.component:<14} {pid:>8} {r.port:>6}  {'yes' if r.ready else 'no':<5}  {r.log_file}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cc.testing.infra", description=(__doc__ or "").split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd, help_ in [
        ("up", "start (if needed) and wait until ready; prints the endpoints"),
        ("down", "stop"),
        ("status", "table of component, pid, port, ready, log"),
        ("fetch", "download binaries into the cache only"),
    ]:
        p = sub.add_parser(cmd, help=help_)
        if cmd != "status":
            p.add_argument("--only", default=",".join(ALL), help="comma-separated components")
        if cmd == "down":
            p.add_argument("--wipe", action="store_true", help="also delete data dirs")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.command != "status" else list(ALL)
    try:
        if args.command == "up":
            for key, value in dataclasses.asdict(up(only)).items():
                print(f"{key}={value}")
        elif args.command == "down":
            down(only, wipe=args.wipe)
        elif args.command == "status":
            _print_status(status())
        else:
            fetch(only)
    except InfraError as exc:
        say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
