"""Apache Kafka 4.1.1, one combined KRaft node, from Maven Central jars (no release tarball)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import struct
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
    log_contains,
    rotate_log,
    tail,
)

KAFKA_VERSION = "4.1.1"
#: base64url of the 16 bytes b"cc-local-kafka-1"; fixed so the data dir survives restarts
CLUSTER_ID = "Y2MtbG9jYWwta2Fma2EtMQ"
#: logged by KafkaRaftServer once the broker is unfenced and serving
STARTED_LINE = "Kafka Server started"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JVM_FLAGS = [
    "-Xms512m",
    "-Xmx512m",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def render_server_properties(s: Settings, data_dir: Path) -> str:
    return render(
        s.infra_dir / "kafka" / "server.properties",
        host=HOST,
        broker_port=s.kafka_port,
        controller_port=s.kafka_controller_port,
        data_dir=data_dir,
    )


def api_versions_ok(port: int, timeout: float = 2.0) -> bool:
    """Send an ApiVersions v0 request; True if the broker answers it.

    Request: int32 size, int16 api_key=18, int16 version=0, int32 correlation id,
    int16-length client id. Response: int32 size, int32 correlation id, int16 error code, ...
    Error 35 (UNSUPPORTED_VERSION) still proves the broker is processing requests.
    """
    client_id = b"cc-infra"
    body = struct.pack(">hhih", 18, 0, 4242, len(client_id)) + client_id
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 10:
                chunk = sock.recv(10 - len(head))
                if not chunk:
                    return False
                head += chunk
    except OSError:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", head)
    return correlation_id == 4242 and error_code in (0, 35)


class Kafka(Component):
    name = "kafka"
    launch_order = 2

    def ports(self, s: Settings) -> dict[str, int]:
        return {"CC_KAFKA_PORT": s.kafka_port, "CC_KAFKA_CONTROLLER_PORT": s.kafka_controller_port}

    def home(self, s: Settings) -> Path:
        return s.cache_dir / f"kafka-{KAFKA_VERSION}"

    def java(self, s: Settings) -> str:
        java = s.kafka_java_home / "bin" / "java"
        if java.is_file():
            return str(java)
        found = shutil.which("java")
        if not found:
            raise InfraError(f"no java at {java} nor on PATH; set CC_KAFKA_JAVA_HOME (JDK 17+)")
        return found

    def fetch(self, s: Settings) -> None:
        pom = s.infra_dir / "kafka" / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        marker = self.home(s) / ".fetched"
        if marker.is_file() and marker.read_text().strip() == digest:
            return
        if not shutil.which("mvn"):
            raise InfraError(
                "Kafka jars come from Maven Central: install Maven (apt-get install maven)"
            )
        libs, tmp = self.home(s) / "libs", self.home(s) / "libs.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        say(f"kafka: fetching {KAFKA_VERSION} jars with Maven into {libs}")
        run_checked(
            ["mvn", "-B", "-q", "-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
            "mvn copy-dependencies (Kafka)",
        )  # fmt: skip
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
        marker.write_text(digest + "\n")

    def launch(self, s: Settings) -> int:
        state = s.state_dir(self.name)
        data = state / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = state / "server.properties"
        write_if_changed(props, render_server_properties(s, data))
        log = s.log_file(self.name)
        rotate_log(log)
        base = [
            self.java(s),
            f"-Dlog4j2.configurationFile={s.infra_dir / 'kafka' / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={state / 'logs'}",
            "-cp",
            f"{self.home(s) / 'libs'}/*",
        ]
        if not (data / "meta.properties").is_file():
            fmt = [*base, "kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", str(props)]
            with log.open("ab") as out:
                rc = subprocess.run(
                    [*fmt, "--ignore-formatted"], stdout=out, stderr=subprocess.STDOUT, check=False
                ).returncode
            if rc != 0:
                raise InfraError(f"kafka storage format failed ({rc}); log {log}:\n{tail(log)}")
        cmd = [*base[:1], *JVM_FLAGS, *base[1:], "kafka.Kafka", str(props)]
        return spawn(s, self.name, cmd, os.environ, cwd=state)

    def probe(self, s: Settings) -> bool:
        return api_versions_ok(s.kafka_port) and log_contains(s.log_file(self.name), STARTED_LINE)
