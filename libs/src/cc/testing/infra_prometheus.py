"""A real Prometheus for tests that need one remote-writing: the Debian package, never installed.

`apt-get download prometheus` + `dpkg -x` into ``$CC_CACHE_DIR/prometheus`` (installing would
run the postinst, which starts a system service on :9090). `running_prometheus` then runs it on
loopback with a generated config, scraping the given targets (or itself) every second and
remote-writing to the given URL; its log goes to ``<run dir>/logs/prometheus.log``.
Verified with Debian 12's 2.42.0+ds. Stdlib only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path

from cc.testing.infra_common import HOST, InfraError, Settings, run_checked, say
from cc.testing.infra_process import http_get, rotate_log, tail

PACKAGE = "prometheus"
COMPONENT = "prometheus"


def home(s: Settings) -> Path:
    """Where the package is unpacked."""
    return s.cache_dir / PACKAGE


def binary(s: Settings) -> Path:
    return home(s) / "usr" / "bin" / "prometheus"


def fetch(s: Settings | None = None) -> Path:
    """The prometheus binary, downloaded and unpacked on first use (serialised by a lock)."""
    s = s or Settings.from_env()
    s.cache_dir.mkdir(parents=True, exist_ok=True)
    with (s.cache_dir / f".{PACKAGE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home(s) / ".fetched").is_file():
            unpack(s)
    return binary(s)


def unpack(s: Settings) -> None:
    for tool in ("apt-get", "dpkg"):
        if not shutil.which(tool):
            raise InfraError(f"Prometheus comes from the Debian package: no {tool} here")
    tmp = s.cache_dir / f"{PACKAGE}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    say(f"prometheus: apt-get download {PACKAGE}")
    download = ["apt-get", "download", "-q", PACKAGE]
    if subprocess.run(download, cwd=tmp, capture_output=True, check=False).returncode != 0:
        say("prometheus: download failed, running apt-get update first")
        run_checked(["apt-get", "update", "-q"], "apt-get update")
        run_checked(download, f"apt-get download {PACKAGE}", cwd=tmp)
    (deb,) = tmp.glob(f"{PACKAGE}_*.deb")
    root = tmp / "root"
    run_checked(["dpkg", "-x", str(deb), str(root)], f"dpkg -x {deb.name}")
    shutil.rmtree(home(s), ignore_errors=True)
    root.rename(home(s))
    (home(s) / ".fetched").write_text(deb.name + "\n")
    shutil.rmtree(tmp)


def version(s: Settings | None = None) -> str:
    """First line of `prometheus --version`, e.g. ``prometheus, version 2.42.0+ds ...``."""
    out = subprocess.run([str(fetch(s)), "--version"], capture_output=True, text=True, check=False)
    text = out.stdout or out.stderr
    return text.splitlines()[0] if text else "?"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def scrape_job(name: str, url: str) -> str:
    """One scrape_configs entry for a target URL like ``http://127.0.0.1:8000/metrics``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InfraError(f"scrape target must be an http(s) URL: {url!r}")
    return (
        f"  - job_name: {json.dumps(name)}\n"
        f"    scheme: {parts.scheme}\n"
        f"    metrics_path: {json.dumps(parts.path or '/metrics')}\n"
        f"    static_configs:\n"
        f"      - targets: [{json.dumps(parts.netloc)}]\n"
    )


def render_config(
    remote_write_url: str,
    bearer_token: str,
    scrape_targets: Sequence[str],
    *,
    interval: str = "1s",
) -> str:
    """prometheus.yml: scrape every `interval`, remote_write within about a second."""
    jobs = "".join(scrape_job(f"target-{i}", url) for i, url in enumerate(scrape_targets))
    auth = ""
    if bearer_token:
        auth = (
            "    authorization:\n"
            "      type: Bearer\n"
            f"      credentials: {json.dumps(bearer_token)}\n"
        )
    # JSON strings are valid YAML scalars: no quoting surprises from URLs or tokens
    return (
        "global:\n"
        f"  scrape_interval: {interval}\n"
        f"  scrape_timeout: {interval}\n"
        f"  evaluation_interval: {interval}\n"
        "scrape_configs:\n"
        f"{jobs}"
        "remote_write:\n"
        f"  - url: {json.dumps(remote_write_url)}\n"
        f"{auth}"
        "    queue_config:\n"
        "      batch_send_deadline: 1s\n"
        "      min_backoff: 100ms\n"
        "      max_backoff: 1s\n"
        "    metadata_config:\n"
        "      send: false\n"
    )


@contextlib.contextmanager
def running_prometheus(
    remote_write_url: str,
    bearer_token: str,
    scrape_targets: Sequence[str] = (),
    *,
    config: str | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    """Prometheus on a free loopback port until the block ends; yields its base URL.

    Scrapes `scrape_targets` (URLs), or itself when there are none; `config` replaces the
    generated prometheus.yml entirely.
    """
    s = Settings.from_env()
    exe = fetch(s)
    port = free_port()
    url = f"http://{HOST}:{port}"
    s.run_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prometheus-", dir=s.run_dir) as tmp:
        targets = list(scrape_targets) or [f"{url}/metrics"]
        config_file = Path(tmp) / "prometheus.yml"
        config_file.write_text(config or render_config(remote_write_url, bearer_token, targets))
        log_file = s.log_file(COMPONENT)
        rotate_log(log_file)
        cmd = [
            str(exe),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={Path(tmp) / 'data'}",
            f"--web.listen-address={HOST}:{port}",
            f"--web.external-url={url}",
        ]
        with log_file.open("ab") as log:
            log.write(f"[infra] $ {' '.join(cmd)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
            )
        try:
            wait_ready(url, process, log_file, timeout)
            say(f"prometheus: ready at {url} ({version(s)})")
            yield url
        finally:
            stop(process)


def wait_ready(url: str, process: subprocess.Popen[bytes], log_file: Path, timeout: float) -> None:
    """Until /-/ready answers 200; fails early, with the log's tail, if Prometheus exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise InfraError(f"prometheus exited ({process.returncode}):\n{tail(log_file)}")
        if http_get(f"{url}/-/ready", timeout=1)[0] == 200:
            return
        time.sleep(0.1)  # polling an outside process: there is no event to wait on
    raise InfraError(f"prometheus not ready after {timeout}s:\n{tail(log_file)}")


def stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM and wait; SIGKILL if it does not exit within `grace`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def main() -> None:
    """`python -m cc.testing.infra_prometheus`: fetch (if needed) and print the version."""
    say(version())


if __name__ == "__main__":
    main()
