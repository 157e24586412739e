"""Process, port, HTTP and log helpers for `cc.testing.infra` (stdlib only)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"


def proc_stat(pid: int) -> tuple[str, int] | None:
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
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    reap(pgid)
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = proc_stat(int(entry.name))
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


def rotate_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_suffix(".log.prev"))


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
