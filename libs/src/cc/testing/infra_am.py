"""Prometheus Alertmanager from the Debian package, unpacked with `dpkg -x` (never installed:
the package's postinst would start a system service on :9093/:9094)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from cc.testing.infra_common import (
    HOST,
    Component,
    InfraError,
    Settings,
    render,
    run_checked,
    say,
    spawn,
    write_if_changed,
)
from cc.testing.infra_process import (
    http_get,
    http_post,
    rotate_log,
)

PACKAGE = "prometheus-alertmanager"
#: Debian's build reads its notification templates from this fixed path (no flag for it)
ASSET_DIR = Path("/usr/share/prometheus/alertmanager")
TEMPLATES = ("default.tmpl", "email.tmpl")


def webhook_http_config(token: str) -> str:
    """The `http_config` block of the webhook, or nothing when there is no token."""
    if not token:
        return ""
    return (
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        f"            credentials: {json.dumps(token)}\n"
    )


def render_alertmanager_yml(s: Settings) -> str:
    if not s.am_webhook_url.startswith(("http://", "https://")):
        raise InfraError(f"Alertmanager webhook URL must be http(s): {s.am_webhook_url!r}")
    return render(
        s.infra_dir / "alertmanager" / "alertmanager.yml",
        webhook_url=json.dumps(s.am_webhook_url),  # a JSON string is a valid YAML scalar
        webhook_http_config=webhook_http_config(s.am_webhook_token),
    )


class Alertmanager(Component):
    name = "alertmanager"
    launch_order = 1

    def ports(self, s: Settings) -> dict[str, int]:
        return {"CC_AM_PORT": s.am_port}

    def home(self, s: Settings) -> Path:
        return s.cache_dir / "alertmanager"

    def binary(self, s: Settings) -> Path:
        return self.home(s) / "usr" / "bin" / "prometheus-alertmanager"

    def url(self, s: Settings) -> str:
        return f"http://{HOST}:{s.am_port}"

    def fetch(self, s: Settings) -> None:
        if (self.home(s) / ".fetched").is_file():
            return
        for tool in ("apt-get", "dpkg"):
            if not shutil.which(tool):
                raise InfraError(f"Alertmanager comes from the Debian package: no {tool} here")
        tmp = s.cache_dir / "alertmanager.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        say(f"alertmanager: apt-get download {PACKAGE}")
        download = ["apt-get", "download", "-q", PACKAGE]
        if subprocess.run(download, cwd=tmp, capture_output=True, check=False).returncode != 0:
            say("alertmanager: download failed, running apt-get update first")
            run_checked(["apt-get", "update", "-q"], "apt-get update")
            run_checked(download, f"apt-get download {PACKAGE}", cwd=tmp)
        (deb,) = tmp.glob(f"{PACKAGE}_*.deb")
        root = tmp / "root"
        run_checked(["dpkg", "-x", str(deb), str(root)], f"dpkg -x {deb.name}")
        shutil.rmtree(self.home(s), ignore_errors=True)
        root.rename(self.home(s))
        (self.home(s) / ".fetched").write_text(deb.name + "\n")
        shutil.rmtree(tmp)

    def version(self, s: Settings) -> str:
        out = subprocess.run(
            [str(self.binary(s)), "--version"], capture_output=True, text=True, check=False
        )
        return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"

    def ensure_templates(self, s: Settings) -> None:
        """Copy the two templates to ASSET_DIR if missing (small files, nothing else there)."""
        src = self.home(s) / ASSET_DIR.relative_to("/")
        try:
            for name in TEMPLATES:
                if not (ASSET_DIR / name).is_file():
                    ASSET_DIR.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src / name, ASSET_DIR / name)
        except OSError as exc:
            raise InfraError(
                f"Debian's Alertmanager needs {ASSET_DIR}/{{{','.join(TEMPLATES)}}}; copy them "
                f"from {src} as root ({exc})"
            ) from None

    def launch(self, s: Settings) -> int:
        self.ensure_templates(s)
        state = s.state_dir(self.name)
        (state / "data").mkdir(parents=True, exist_ok=True)
        config = state / "alertmanager.yml"
        write_if_changed(config, render_alertmanager_yml(s))
        rotate_log(s.log_file(self.name))
        cmd = [
            str(self.binary(s)),
            f"--config.file={config}",
            f"--storage.path={state / 'data'}",
            f"--web.listen-address={HOST}:{s.am_port}",
            f"--web.external-url={self.url(s)}",
            "--cluster.listen-address=",  # empty: no HA gossip, no settle wait before notifying
        ]
        ui = self.home(s) / "usr" / "share" / "prometheus" / "alertmanager" / "ui"
        if ui.is_dir():
            cmd.append(f"--web.ui-path={ui}/")
        return spawn(s, self.name, cmd, os.environ, cwd=state)

    def probe(self, s: Settings) -> bool:
        return http_get(f"{self.url(s)}/-/ready")[0] == 200

    def reconfigure(self, s: Settings) -> None:
        """Already running: if the webhook URL/token changed, rewrite the config and reload."""
        config = s.state_dir(self.name) / "alertmanager.yml"
        if write_if_changed(config, render_alertmanager_yml(s)):
            status = http_post(f"{self.url(s)}/-/reload")
            if status != 200:
                raise InfraError(f"alertmanager: reload of {config} failed (HTTP {status})")
            say(f"alertmanager: webhook config changed, reloaded ({s.am_webhook_url})")
