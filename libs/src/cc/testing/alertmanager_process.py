"""A second, private Alertmanager with a config of the test's own (routes, max_alerts).

Uses the binary `cc.testing.infra` fetched; the shared instance stays as it is.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cc.testing import infra
from cc.testing.infra_am import Alertmanager
from cc.testing.infra_common import Settings


@contextmanager
def running_alertmanager(config_yaml: str, port: int, workdir: Path) -> Iterator[str]:
    """Start Alertmanager with this config on 127.0.0.1:port; yields its URL; stops it after."""
    infra.fetch(["alertmanager"])
    settings = Settings.from_env()
    component = Alertmanager()
    component.ensure_templates(settings)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config_yaml)
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            str(component.binary(settings)),
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"alertmanager exited: {(workdir / 'alertmanager.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"alertmanager on {port} not ready in 30s")
            time.sleep(0.05)  # an outside process: nothing to wait on but its port
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()
