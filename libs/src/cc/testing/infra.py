"""Real Kafka, Elasticsearch and Alertmanager as plain local processes on loopback.

Front door for pytest fixtures, `make run` and the command line::

    python -m cc.testing.infra up [--only kafka,elasticsearch,alertmanager,schema-registry]
    python -m cc.testing.infra status
    python -m cc.testing.infra down [--only ...] [--wipe]
    python -m cc.testing.infra fetch [--only ...]

The schema registry (Apicurio, Confluent-compatible API) is optional: `up`/`fetch` without
`--only` leave it out; `down` without `--only` stops it too, `status` always lists it.

Binaries are cached under ``$CC_CACHE_DIR`` (default /var/cache/command-center); configs, data,
pid files and logs live under ``$CC_RUN_DIR`` (default <repo>/.run), logs in
``<run dir>/logs/<component>.log``. Ports and everything else: see ``infra_common.Settings`` and
infra/README.md. With ``CC_INFRA=testcontainers``, `up`/`down` use containers instead
(`up_with_testcontainers`). Stdlib only (apart from that optional path).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from cc.testing import infra_containers
from cc.testing.infra_am import Alertmanager
from cc.testing.infra_common import (
    HOST,
    Component,
    InfraError,
    Settings,
    locked,
    owned_pid,
    say,
    since,
)
from cc.testing.infra_es import Elasticsearch
from cc.testing.infra_kafka import Kafka
from cc.testing.infra_process import (
    pid_alive,
    port_free,
    port_owner,
    tail,
    terminate,
)
from cc.testing.infra_registry import (
    SchemaRegistry,
    registry_url,
)

__all__ = [
    "ALL",
    "KNOWN",
    "OPTIONAL",
    "ComponentStatus",
    "Endpoints",
    "InfraError",
    "down",
    "endpoints",
    "fetch",
    "registry_url",
    "status",
    "up",
    "up_with_testcontainers",
]

#: what `up()`, `fetch()` and `make infra-up` start/fetch by default
ALL: tuple[str, ...] = ("kafka", "elasticsearch", "alertmanager")
#: started only when named (`up(["schema-registry"])`, `--only schema-registry`)
OPTIONAL: tuple[str, ...] = ("schema-registry",)
#: every component, in canonical order; `down()` and `status()` cover all of them
KNOWN: tuple[str, ...] = ALL + OPTIONAL
COMPONENTS: dict[str, Component] = {
    c.name: c for c in (Kafka(), Elasticsearch(), Alertmanager(), SchemaRegistry())
}
POLL_INTERVAL = 0.25


@dataclasses.dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    elasticsearch_url: str
    alertmanager_url: str
    #: Confluent-compatible API of the (optional) schema registry, ``.../apis/ccompat/v7``
    registry_url: str


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
    """Validated names, in canonical order (kafka, elasticsearch, alertmanager, schema-registry)."""
    wanted = {c.strip() for c in components if c.strip()}
    unknown = wanted - set(KNOWN)
    if unknown:
        raise InfraError(f"unknown component(s) {sorted(unknown)}; choose from {', '.join(KNOWN)}")
    return [c for c in KNOWN if c in wanted]


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
        registry_url=registry_url(),
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


def down(components: Sequence[str] = KNOWN, *, wipe: bool = False) -> None:
    """Stop in reverse order (SIGTERM, SIGKILL after 30 s); `wipe` also deletes their data.

    The default includes the optional schema registry: whatever runs is stopped.
    """
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
    for name in KNOWN:
        comp, pid = COMPONENTS[name], owned_pid(s, name)
        port = next(iter(comp.ports(s).values()))
        ready = pid is not None and comp.probe(s)
        result.append(ComponentStatus(name, pid, port, ready, s.log_file(name)))
    return result


# --- testcontainers (CC_INFRA=testcontainers) ---------------------------------------------------
# Needs a Docker engine, which the build machines do not have: written, never run here.

_TC_ENDPOINTS: Endpoints | None = None


def up_with_testcontainers(
    components: Sequence[str] = ALL,
    *,
    am_webhook_url: str | None = None,
    am_webhook_token: str | None = None,
) -> Endpoints:
    """Same servers in containers (the containers die with this Python process)."""
    global _TC_ENDPOINTS
    s = _settings(am_webhook_url, am_webhook_token)
    found = dataclasses.asdict(_TC_ENDPOINTS or _local_endpoints(s))
    found.update(infra_containers.start(_select(components), s))
    _TC_ENDPOINTS = Endpoints(**found)
    return _TC_ENDPOINTS


def _down_testcontainers(components: Sequence[str]) -> None:
    infra_containers.stop(_select(components))


# --- command line -------------------------------------------------------------------------------


def _print_status(rows: list[ComponentStatus]) -> None:
    width = max([len("component"), *(len(r.component) for r in rows)])
    print(f"{'component':<{width}} {'pid':>8} {'port':>6}  {'ready':<5}  log")
    for r in rows:
        pid = str(r.pid) if r.pid is not None else "-"
        ready = "yes" if r.ready else "no"
        print(f"{r.component:<{width}} {pid:>8} {r.port:>6}  {ready:<5}  {r.log_file}")


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
            default = KNOWN if cmd == "down" else ALL
            p.add_argument(
                "--only",
                default=",".join(default),
                help=f"comma-separated, from {','.join(KNOWN)} (default {','.join(default)})",
            )
        if cmd == "down":
            p.add_argument("--wipe", action="store_true", help="also delete data dirs")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.command != "status" else list(KNOWN)
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


@contextlib.contextmanager
def paused(component: str) -> Iterator[None]:
    """Freeze a running server (SIGSTOP to its process group) and thaw it afterwards: an outage
    that keeps its data and comes back on the same port, for fault-injection tests."""
    s = _settings()
    pid = owned_pid(s, component)
    if pid is None:
        raise InfraError(f"{component} is not running: nothing to pause")
    os.killpg(pid, signal.SIGSTOP)
    say(f"{component} paused (SIGSTOP to process group {pid})")
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)
        say(f"{component} resumed")
