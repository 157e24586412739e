"""The testcontainers variant of `cc.testing.infra` (`CC_INFRA=testcontainers`).

For people with a Docker engine; none runs on the build machines, so this path is untested here.
testcontainers is imported only when this variant is chosen.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from cc.testing.infra_am import render_alertmanager_yml
from cc.testing.infra_common import Settings
from cc.testing.infra_registry import CCOMPAT_PATH, REGISTRY_VERSION

#: containers started by this process, by component name
RUNNING: dict[str, Any] = {}


def start(components: list[str], s: Settings) -> dict[str, str]:
    """Start the named components not yet running; returns the endpoints that changed."""
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    names = [n for n in components if n not in RUNNING]
    found: dict[str, str] = {}
    if "kafka" in names:
        image = os.environ.get("CC_TC_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")
        kafka = KafkaContainer(image).with_kraft()
        kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false").start()
        RUNNING["kafka"] = kafka
        found["kafka_bootstrap"] = kafka.get_bootstrap_server()
    if "elasticsearch" in names:
        image = "docker.elastic.co/elasticsearch/elasticsearch:9.3.2"
        es = ElasticSearchContainer(image, mem_limit="2g").with_env("ES_JAVA_OPTS", "-Xms1g -Xmx1g")
        es.with_env("cluster.routing.allocation.disk.threshold_enabled", "false").start()
        RUNNING["elasticsearch"] = es
        found["elasticsearch_url"] = (
            f"http://{es.get_container_host_ip()}:{es.get_exposed_port(9200)}"
        )
    if "alertmanager" in names:
        # the webhook receiver runs on the host: reach it through the Docker host gateway
        for local in ("//127.0.0.1:", "//localhost:"):
            s = dataclasses.replace(
                s, am_webhook_url=s.am_webhook_url.replace(local, "//host.docker.internal:")
            )
        config = s.run_dir / "alertmanager-tc" / "alertmanager.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(render_alertmanager_yml(s), encoding="utf-8")
        am = (
            DockerContainer("prom/alertmanager:v0.25.0")
            .with_exposed_ports(9093)
            .with_volume_mapping(str(config), "/etc/alertmanager/alertmanager.yml")
            .with_kwargs(extra_hosts={"host.docker.internal": "host-gateway"})
            .with_command(
                [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/alertmanager",
                    "--cluster.listen-address=",
                    "--web.external-url=http://127.0.0.1:9093",
                ]
            )
            .waiting_for(HttpWaitStrategy(9093, "/-/ready"))
            .start()
        )
        RUNNING["alertmanager"] = am
        found["alertmanager_url"] = (
            f"http://{am.get_container_host_ip()}:{am.get_exposed_port(9093)}"
        )
    if "schema-registry" in names:
        registry = (
            DockerContainer(f"apicurio/apicurio-registry:{REGISTRY_VERSION}")  # never run here
            .with_exposed_ports(8080)
            .waiting_for(HttpWaitStrategy(8080, f"{CCOMPAT_PATH}/subjects"))
            .start()
        )
        RUNNING["schema-registry"] = registry
        host, port = registry.get_container_host_ip(), registry.get_exposed_port(8080)
        found["registry_url"] = f"http://{host}:{port}{CCOMPAT_PATH}"
    return found


def stop(components: list[str]) -> None:
    """Stop the named containers this process started."""
    for name in reversed(components):
        container = RUNNING.pop(name, None)
        if container is not None:
            container.stop()
