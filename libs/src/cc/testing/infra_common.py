"""Shared plumbing for `cc.testing.infra`: settings, paths, processes, probes.

Stdlib only. See `infra.py` for the front door and `infra/README.md` for what was verified.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from cc.testing.infra_process import cmdline, pid_alive, proc_stat, read_pid

DEFAULT_PORTS = {
    "CC_KAFKA_PORT": 19092,
    "CC_KAFKA_CONTROLLER_PORT": 19093,
    "CC_ES_PORT": 19200,
    "CC_ES_TRANSPORT_PORT": 19300,
    "CC_AM_PORT": 19095,
}
DEFAULT_AM_WEBHOOK_URL = "http://127.0.0.1:18080/webhooks/alertmanager"
DEFAULT_CACHE_DIR = "/var/cache/command-center"
HOST = "127.0.0.1"


class InfraError(RuntimeError):
    """Any failure to fetch, start, probe or stop a local server."""


def say(message: str) -> None:
    """One progress line on stderr, e.g. ``[infra] elasticsearch ready in 14.2s``."""
    sys.stderr.write(f"[infra] {message}\n")
    sys.stderr.flush()


def since(t0: float) -> str:
    return f"{time.monotonic() - t0:.1f}s"


def find_repo_root(start: Path) -> Path:
    """The nearest directory above `start` holding a ``pyproject.toml`` with a uv workspace."""
    candidates = [p for p in start.resolve().parents if (p / "pyproject.toml").is_file()]
    for p in candidates:
        if "[tool.uv.workspace]" in (p / "pyproject.toml").read_text(encoding="utf-8"):
            return p
    if candidates:
        return candidates[-1]
    raise InfraError(f"no pyproject.toml above {start}; set CC_REPO_ROOT")


def parse_port(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_PORTS[name]
    try:
        port = int(raw)
    except ValueError:
        raise InfraError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise InfraError(f"{name}={port} is outside 1..65535")
    return port


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that is decided by the environment, resolved once."""

    repo_root: Path
    cache_dir: Path
    run_dir: Path
    kafka_port: int
    kafka_controller_port: int
    es_port: int
    es_transport_port: int
    am_port: int
    am_webhook_url: str
    am_webhook_token: str
    es_user: str
    kafka_java_home: Path
    es_java_home: Path
    timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        root_raw = env.get("CC_REPO_ROOT")
        root = Path(root_raw).resolve() if root_raw else find_repo_root(Path(__file__))
        ports = {k: parse_port(env, k) for k in DEFAULT_PORTS}
        if len(set(ports.values())) != len(ports):
            raise InfraError(f"port settings collide: {ports}")
        try:
            timeout = float(env.get("CC_INFRA_TIMEOUT", "120"))
        except ValueError:
            raise InfraError("CC_INFRA_TIMEOUT must be a number of seconds") from None
        return cls(
            repo_root=root,
            cache_dir=Path(env.get("CC_CACHE_DIR") or DEFAULT_CACHE_DIR).absolute(),
            run_dir=Path(env.get("CC_RUN_DIR") or root / ".run").absolute(),
            kafka_port=ports["CC_KAFKA_PORT"],
            kafka_controller_port=ports["CC_KAFKA_CONTROLLER_PORT"],
            es_port=ports["CC_ES_PORT"],
            es_transport_port=ports["CC_ES_TRANSPORT_PORT"],
            am_port=ports["CC_AM_PORT"],
            am_webhook_url=env.get("CC_AM_WEBHOOK_URL") or DEFAULT_AM_WEBHOOK_URL,
            am_webhook_token=env.get("CC_AM_WEBHOOK_TOKEN", ""),
            es_user=env.get("CC_ES_USER") or "cc-es",
            kafka_java_home=Path(
                env.get("CC_KAFKA_JAVA_HOME") or "/usr/lib/jvm/java-17-openjdk-amd64"
            ),
            es_java_home=Path(env.get("CC_ES_JAVA_HOME") or "/usr/lib/jvm/temurin-25-jdk-amd64"),
            timeout=timeout,
        )

    @property
    def infra_dir(self) -> Path:
        """The checked-in templates (``<repo>/infra``)."""
        return self.repo_root / "infra"

    def state_dir(self, component: str) -> Path:
        return self.run_dir / component

    def log_file(self, component: str) -> Path:
        return self.run_dir / "logs" / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.run_dir / "pids" / f"{component}.pid"


def render(template: Path, **values: object) -> str:
    """Fill ``${name}`` placeholders; a missing value is an error, not an empty string."""
    text = template.read_text(encoding="utf-8")
    try:
        return string.Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise InfraError(f"{template}: no value for placeholder {exc}") from None
    except ValueError as exc:  # a lone "$": write "$$" in templates
        raise InfraError(f"{template}: {exc}") from None


def write_if_changed(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def run_checked(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    """Run a short helper command (mvn, apt-get...); on failure raise with its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise InfraError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n" + "\n".join(out)
        )


# --- processes ---------------------------------------------------------------------------------


def owned_pid(s: Settings, component: str) -> int | None:
    """The pid in the component's pid file if that process is alive and really ours.

    Ours = it leads its own process group and its command line mentions our run dir. A pid
    file that fails the test is stale and is removed.
    """
    path = s.pid_file(component)
    pid = read_pid(path)
    if pid is None:
        path.unlink(missing_ok=True)
        return None
    st = proc_stat(pid) if pid_alive(pid) else None
    if st is None or st[1] != pid or str(s.run_dir) not in cmdline(pid):
        say(f"{component}: removing stale pid file {path} (pid {pid})")
        path.unlink(missing_ok=True)
        return None
    return pid


@contextlib.contextmanager
def locked(s: Settings) -> Iterator[None]:
    """Serialise `up`/`down` across processes (e.g. parallel pytest workers, `make run`)."""
    s.run_dir.mkdir(parents=True, exist_ok=True)
    with (s.run_dir / "infra.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def spawn(s: Settings, component: str, cmd: list[str], env: Mapping[str, str], cwd: Path) -> int:
    """Start `cmd` in its own session, output appended to the component's log; write pid file."""
    log = s.log_file(component)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"[infra] $ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    pid_file = s.pid_file(component)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def traversable_by_others(path: Path) -> bool:
    """Can an unprivileged user reach `path`: every existing ancestor is world-executable?"""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


class Component:
    """One local server. Subclasses live in infra_kafka / infra_es / infra_am."""

    name = ""
    #: launch the slow ones first so their start-up overlaps the others'
    launch_order = 0

    def ports(self, s: Settings) -> dict[str, int]:
        """Ports it binds, env var that sets it -> port; the first is the one `status` shows."""
        raise NotImplementedError

    def fetch(self, s: Settings) -> None:
        """Download and unpack the binaries into the cache dir (no-op when cached)."""
        raise NotImplementedError

    def launch(self, s: Settings) -> int:
        """Render configs, start the process (own session), write the pid file; return pid."""
        raise NotImplementedError

    def probe(self, s: Settings) -> bool:
        """One quick readiness check."""
        raise NotImplementedError

    def term_pid(self, s: Settings, pid: int) -> int:
        """Which process gets the SIGTERM on `down` (default: the group leader)."""
        return pid

    def reconfigure(self, s: Settings) -> None:
        """Called by `up` when already running; apply config changes if it can."""

    def wipe(self, s: Settings) -> None:
        """Delete its state (data, rendered config) under the run dir."""
        shutil.rmtree(s.state_dir(self.name), ignore_errors=True)
