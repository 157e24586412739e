"""Fast unit tests of the pure parts of cc.testing.infra. No server is started."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from cc.testing import infra
from cc.testing.infra_am import render_alertmanager_yml
from cc.testing.infra_common import (
    DEFAULT_AM_WEBHOOK_URL,
    InfraError,
    Settings,
    owned_pid,
    parse_port,
)
from cc.testing.infra_es import extract_zip, health_ok, render_elasticsearch_yml
from cc.testing.infra_kafka import CLUSTER_ID, api_versions_ok, render_server_properties
from cc.testing.infra_process import tail

REPO_ROOT = Path(__file__).resolve().parents[2]


def settings(tmp_path: Path, **env: str) -> Settings:
    base = {"CC_REPO_ROOT": str(REPO_ROOT), "CC_RUN_DIR": str(tmp_path / "run")}
    return Settings.from_env({**base, **env})


# --- env parsing ---------------------------------------------------------------------------------


def test_ports_default_to_the_loopback_plan(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert (s.kafka_port, s.kafka_controller_port) == (19092, 19093)
    assert (s.es_port, s.es_transport_port, s.am_port) == (19200, 19300, 19095)
    assert s.run_dir == tmp_path / "run"
    assert s.log_file("kafka") == tmp_path / "run" / "logs" / "kafka.log"
    assert s.am_webhook_url == DEFAULT_AM_WEBHOOK_URL
    assert s.am_webhook_token == ""


def test_ports_and_webhook_come_from_env(tmp_path: Path) -> None:
    s = settings(tmp_path, CC_KAFKA_PORT="29092", CC_AM_PORT=" 29095 ", CC_AM_WEBHOOK_TOKEN="tok")  # noqa: S106
    assert (s.kafka_port, s.am_port, s.am_webhook_token) == (29092, 29095, "tok")


@pytest.mark.parametrize("raw", ["abc", "0", "65536", "-1", "19092.5"])
def test_bad_port_is_a_clear_error(raw: str) -> None:
    with pytest.raises(InfraError, match="CC_ES_PORT"):
        parse_port({"CC_ES_PORT": raw}, "CC_ES_PORT")


def test_colliding_ports_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match="collide"):
        settings(tmp_path, CC_AM_PORT="19092")


def test_repo_root_is_found_from_the_module() -> None:
    s = Settings.from_env({})
    assert (s.repo_root / "pyproject.toml").is_file()
    assert (s.infra_dir / "kafka" / "pom.xml").is_file()


def test_endpoints_follow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_INFRA", "local")
    monkeypatch.setenv("CC_ES_PORT", "29200")
    ep = infra.endpoints()
    assert ep.kafka_bootstrap == "127.0.0.1:19092"
    assert ep.elasticsearch_url == "http://127.0.0.1:29200"
    assert ep.alertmanager_url == "http://127.0.0.1:19095"


def test_unknown_component_and_canonical_order() -> None:
    assert infra._select(["alertmanager", "kafka"]) == ["kafka", "alertmanager"]
    with pytest.raises(InfraError, match="unknown component"):
        infra._select(["kafka", "zookeeper"])


# --- config rendering ----------------------------------------------------------------------------


def test_kafka_properties(tmp_path: Path) -> None:
    s = settings(tmp_path, CC_KAFKA_PORT="29092", CC_KAFKA_CONTROLLER_PORT="29093")
    text = render_server_properties(s, tmp_path / "data")
    props = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "1"
    assert props["offsets.topic.replication.factor"] == "1"


def test_kafka_cluster_id_is_a_valid_uuid() -> None:
    assert len(CLUSTER_ID) == 22
    assert len(base64.urlsafe_b64decode(CLUSTER_ID + "==")) == 16


@pytest.mark.parametrize("with_security", [True, False])
def test_elasticsearch_yml(tmp_path: Path, with_security: bool) -> None:
    home = tmp_path / "es-home"
    (home / "modules" / "transport-netty4").mkdir(parents=True)
    if with_security:
        (home / "modules" / "x-pack-security").mkdir()
    s = settings(tmp_path, CC_ES_PORT="29200", CC_ES_TRANSPORT_PORT="29300")
    conf = yaml.safe_load(render_elasticsearch_yml(s, home, tmp_path / "state"))
    assert conf["http.port"] == 29200
    assert conf["transport.port"] == 29300
    assert conf["network.host"] == "127.0.0.1"
    assert conf["discovery.type"] == "single-node"
    assert conf["path.data"] == str(tmp_path / "state" / "data")
    assert conf["cluster.routing.allocation.disk.threshold_enabled"] is False
    # an unknown setting stops ES, so only set it when the module exists
    assert ("xpack.security.enabled" in conf) is with_security


def test_alertmanager_yml_with_token(tmp_path: Path) -> None:
    token = 'we"ird: tok#en'  # noqa: S105 (a test value)
    url = "http://127.0.0.1:18099/hook"
    s = settings(tmp_path, CC_AM_WEBHOOK_URL=url, CC_AM_WEBHOOK_TOKEN=token)
    conf = yaml.safe_load(render_alertmanager_yml(s))
    route = conf["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "0s",
        "1s",
        "1h",
    )
    (receiver,) = conf["receivers"]
    assert receiver["name"] == route["receiver"]
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == "http://127.0.0.1:18099/hook"
    assert hook["send_resolved"] is True
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": token}


def test_alertmanager_yml_without_token(tmp_path: Path) -> None:
    conf = yaml.safe_load(render_alertmanager_yml(settings(tmp_path)))
    (hook,) = conf["receivers"][0]["webhook_configs"]
    assert hook["url"] == DEFAULT_AM_WEBHOOK_URL
    assert "http_config" not in hook


def test_alertmanager_rejects_non_http_webhook(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match="http"):
        render_alertmanager_yml(settings(tmp_path, CC_AM_WEBHOOK_URL="ftp://x/y"))


# --- small helpers -------------------------------------------------------------------------------


def test_health_ok() -> None:
    assert health_ok(b'{"status":"yellow"}')
    assert health_ok(b'{"status":"green"}')
    assert not health_ok(b'{"status":"red"}')
    assert not health_ok(b"not json")
    assert not health_ok(b"[]")


def test_extract_zip_keeps_exec_bit(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("pkg/bin/run")
        info.external_attr = 0o755 << 16
        zf.writestr(info, "#!/bin/sh\n")
        zf.writestr("pkg/README", "x")
    extract_zip(archive, tmp_path / "out")
    assert (tmp_path / "out" / "pkg" / "bin" / "run").stat().st_mode & 0o111
    assert (tmp_path / "out" / "pkg" / "README").read_text() == "x"


def test_tail_gives_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "missing.log") == "(no log)"


def test_stale_pid_file_is_removed(tmp_path: Path) -> None:
    s = settings(tmp_path)
    pid_file = s.pid_file("kafka")
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("999999999\n")  # no such process
    assert owned_pid(s, "kafka") is None
    assert not pid_file.exists()


def test_api_versions_probe_against_a_fake_broker() -> None:
    """The hand-rolled ApiVersions v0 request, checked against a fake broker socket."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        seen: list[tuple[int, int, int]] = []

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                (size,) = struct.unpack(">i", conn.recv(4))
                request = conn.recv(size)
                api_key, version, correlation_id = struct.unpack(">hhi", request[:8])
                seen.append((api_key, version, correlation_id))
                body = struct.pack(">ihi", correlation_id, 0, 0)  # no error, empty api list
                conn.sendall(struct.pack(">i", len(body)) + body)

        thread = threading.Thread(target=answer)
        thread.start()
        assert api_versions_ok(port)
        thread.join(5)
    assert [req[:2] for req in seen] == [(18, 0)]
    assert not api_versions_ok(port)  # nothing listens any more
