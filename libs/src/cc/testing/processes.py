"""Start the services as real processes (for end-to-end tests and `make run`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

RUN_MARKER = "=== process started"
SERVICES = ("ingestor", "anomaly-detector", "remediation-planner", "notifier", "compliance-auditor")


@dataclass
class ServiceProcess:
    """One running service: its process, HTTP port and log file."""

    name: str
    port: int
    log_file: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        """Launch `python -m <package>` with the given environment, logging to a file."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        log.write(f"{RUN_MARKER} {time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n".encode())
        log.flush()
        module = self.name.replace("-", "_")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module], env={**os.environ, **self.env}, stdout=log, stderr=log
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until /readyz answers 200; fails early, with the log's tail, if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.tail()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling an outside process: there is no event to wait on
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Send a signal and wait for the exit code (SIGKILL after the timeout)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def tail(self, lines: int = 30) -> str:
        """The end of the service's log."""
        if not self.log_file.exists():
            return "(no log)"
        text = self.log_file.read_text(errors="replace")
        this_run = text.rsplit(RUN_MARKER, 1)[-1]
        return "\n".join(this_run.splitlines()[-lines:])
