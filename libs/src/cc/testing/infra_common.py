"""Shared plumbing for `cc.testing.infra`: settings, paths, processes, probes.

Stdlib only. See `infra.py` for the front door and `infra/README.md` for what was verified.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

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


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def reap(pid: int, timeout: float = 0.0) -> None:
    """Collect `pid` if it is our own exited child (pytest started and stops it).

    With `timeout`, keep trying that long: a multi-threaded leader shows up as a zombie in /proc
    before its other threads are gone, and only then can it be collected.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child, or already collected
        if done or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    reap(pid)
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    reap(pgid)
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _proc_stat(int(entry.name))
            if st is not None and st[1] == pgid and st[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


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
    st = _proc_stat(pid) if pid_alive(pid) else None
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


def rotate_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_suffix(".log.prev"))


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


def terminate(pgid: int, term_pid: int, grace: float = 30.0) -> bool:
    """SIGTERM `term_pid`, wait for the whole group `pgid` to exit, SIGKILL after `grace`.

    Returns True if it exited cleanly, False if it had to be killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(term_pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    clean = True
    while group_alive(pgid):
        if clean and time.monotonic() > deadline:
            clean = False
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        time.sleep(0.1)
    reap(pgid, timeout=5.0)  # it may have exited between the last reap and the /proc scan
    return clean


# --- probes ------------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    """Can we bind 127.0.0.1:`port`? (Also catches listeners on 0.0.0.0.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_owner(port: int) -> str:
    """Best effort: which process listens on `port` (needs `ss` from iproute2)."""
    try:
        out = subprocess.run(
            ["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "unknown process"
    return out.split("users:", 1)[-1] if "users:" in out else (out or "unknown process")


def http_get(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    """(status, body) of a GET; status 0 if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback URL we built)
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ValueError):
        return 0, b""


def http_post(url: str, timeout: float = 5.0) -> int:
    req = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 (loopback URL)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (loopback URL)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def log_contains(path: Path, needle: str) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return any(needle in line for line in fh)
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(data.splitlines()[-lines:])


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
