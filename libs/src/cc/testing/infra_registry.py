"""Apicurio Registry 3.3.3 (Confluent-compatible API) from Maven Central, as a plain JVM process.

Optional: not in `infra.ALL`, started only when asked for (``up(["schema-registry"])``,
``--only schema-registry``). The Confluent-compatible API is at ``<url>/apis/ccompat/v7``.
Schemas are stored in an H2 file database under the run dir, so schema ids stay valid for the
messages kept in Kafka across restarts (``down --wipe`` resets them).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path

from cc.testing.infra_common import (
    HOST,
    Component,
    InfraError,
    Settings,
    parse_port,
    run_checked,
    say,
    spawn,
)
from cc.testing.infra_process import (
    http_get,
    rotate_log,
)

REGISTRY_VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{REGISTRY_VERSION}:tar.gz:all"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CCOMPAT_PATH = "/apis/ccompat/v7"
DEFAULT_PORT = 18085
#: Quarkus' management interface (health, metrics); it cannot be switched off at run time and
#: would otherwise listen on 0.0.0.0:9000
DEFAULT_MANAGEMENT_PORT = 18087  # 18086 is the notifier's
DEFAULT_JAVA_HOME = "/usr/lib/jvm/temurin-25-jdk-amd64"
#: the application classes are class file version 65
MIN_JAVA = 21
HEAP = "-Xmx384m"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return parse_port(env, name) if env.get(name, "").strip() else default


@dataclasses.dataclass(frozen=True)
class RegistrySettings:
    """The registry's own settings (environment), next to the shared `Settings`."""

    port: int
    management_port: int
    java_home: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RegistrySettings:
        env = os.environ if env is None else env
        return cls(
            port=_port(env, "CC_REGISTRY_PORT", DEFAULT_PORT),
            management_port=_port(env, "CC_REGISTRY_MANAGEMENT_PORT", DEFAULT_MANAGEMENT_PORT),
            java_home=Path(env.get("CC_REGISTRY_JAVA_HOME") or DEFAULT_JAVA_HOME),
        )

    def check_ports(self, s: Settings) -> None:
        """No collision with each other nor with the other components' ports."""
        ports = {
            "CC_REGISTRY_PORT": self.port,
            "CC_REGISTRY_MANAGEMENT_PORT": self.management_port,
            "CC_KAFKA_PORT": s.kafka_port,
            "CC_KAFKA_CONTROLLER_PORT": s.kafka_controller_port,
            "CC_ES_PORT": s.es_port,
            "CC_ES_TRANSPORT_PORT": s.es_transport_port,
            "CC_AM_PORT": s.am_port,
        }
        if len(set(ports.values())) != len(ports):
            raise InfraError(f"port settings collide: {ports}")


def base_url(rs: RegistrySettings) -> str:
    return f"http://{HOST}:{rs.port}"


def registry_url(rs: RegistrySettings | None = None) -> str:
    """The Confluent-compatible base URL (what `HttpRegistryClient` takes)."""
    return base_url(rs or RegistrySettings.from_env()) + CCOMPAT_PATH


def java_major(java_home: Path) -> int | None:
    """Feature version from the JDK's ``release`` file (None if it cannot be read)."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^JAVA_VERSION="(?:1\.)?(\d+)', text, re.MULTILINE)
    return int(found.group(1)) if found else None


class SchemaRegistry(Component):
    name = "schema-registry"
    launch_order = 1

    def ports(self, s: Settings) -> dict[str, int]:
        rs = RegistrySettings.from_env()
        rs.check_ports(s)
        return {"CC_REGISTRY_PORT": rs.port, "CC_REGISTRY_MANAGEMENT_PORT": rs.management_port}

    def home(self, s: Settings) -> Path:
        return s.cache_dir / f"apicurio-registry-{REGISTRY_VERSION}"

    def java(self) -> str:
        java_home = RegistrySettings.from_env().java_home
        java = java_home / "bin" / "java"
        if not java.is_file():
            raise InfraError(
                f"Apicurio Registry {REGISTRY_VERSION} needs JDK {MIN_JAVA}+: no {java}; "
                "set CC_REGISTRY_JAVA_HOME"
            )
        major = java_major(java_home)
        if major is not None and major < MIN_JAVA:
            raise InfraError(
                f"Apicurio Registry {REGISTRY_VERSION} needs JDK {MIN_JAVA}+, {java_home} is "
                f"JDK {major} (UnsupportedClassVersionError); set CC_REGISTRY_JAVA_HOME"
            )
        return str(java)

    def fetch(self, s: Settings) -> None:
        home = self.home(s)
        if (home / ".fetched").is_file():
            return
        if not shutil.which("mvn"):
            raise InfraError("Apicurio Registry comes from Maven Central: install Maven")
        tmp = s.cache_dir / "apicurio-registry.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        say(f"schema-registry: fetching {ARTIFACT} with Maven")
        run_checked(
            ["mvn", "-B", "-q", f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={ARTIFACT}",
             f"-DoutputDirectory={tmp}"],
            "mvn dependency:copy (Apicurio Registry)",
            cwd=tmp,
        )  # fmt: skip
        archive = tmp / f"apicurio-registry-app-{REGISTRY_VERSION}-all.tar.gz"
        unpacked = tmp / "app"
        with tarfile.open(archive) as tar:  # no top-level folder: quarkus-run.jar, lib/, app/...
            tar.extractall(unpacked, filter="data")
        if not (unpacked / "quarkus-run.jar").is_file():
            raise InfraError(f"{archive.name} has no quarkus-run.jar (layout changed?)")
        shutil.rmtree(home, ignore_errors=True)
        unpacked.rename(home)
        shutil.rmtree(tmp)
        (home / ".fetched").write_text(ARTIFACT + "\n")

    def launch(self, s: Settings) -> int:
        rs = RegistrySettings.from_env()
        rs.check_ports(s)
        java = self.java()
        state = s.state_dir(self.name)
        tmp = state / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # vert.x file cache, unpacked native libs
        tmp.mkdir(parents=True)
        (state / "data").mkdir(parents=True, exist_ok=True)
        rotate_log(s.log_file(self.name))
        cmd = [
            java,
            HEAP,
            f"-Djava.io.tmpdir={tmp}",  # also marks the process as ours (run dir in cmdline)
            f"-Dquarkus.http.host={HOST}",
            f"-Dquarkus.http.port={rs.port}",
            f"-Dquarkus.management.host={HOST}",
            f"-Dquarkus.management.port={rs.management_port}",
            f"-Dapicurio.datasource.url=jdbc:h2:file:{state / 'data' / 'registry'}",
            f"-Dapicurio.storage.snapshot.location={tmp}",
            f"-Dapicurio.import.work-dir={tmp}",
            "-jar",
            str(self.home(s) / "quarkus-run.jar"),
        ]
        return spawn(s, self.name, cmd, os.environ, cwd=state)

    def probe(self, s: Settings) -> bool:
        return http_get(f"{registry_url()}/subjects")[0] == 200
