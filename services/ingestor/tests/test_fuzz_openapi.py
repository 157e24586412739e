"""Property-based fuzzing of the ingestor's OpenAPI: no input gives a 5xx or a crash."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from schemathesis.checks import not_a_server_error

from ingestor.api import create_app
from ingestor.config import Settings

TOKEN = "fuzz-token"


class AcceptingProducer:
    """Kafka that always acknowledges: any 5xx would then be the ingestor's own fault."""

    def ready(self) -> bool:
        return True

    async def send_batch_async(self, records: list[tuple[str, str, Any]], **_: Any) -> None:
        return None


app = create_app(
    Settings(
        alertmanager_token=TOKEN, argocd_token=TOKEN, prometheus_token=TOKEN, generic_token=TOKEN
    ),
    AcceptingProducer(),  # type: ignore[arg-type]
    CollectorRegistry(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# valid bodies (which must be accepted or refused with a 4xx) and invalid ones alike
schema.config.generation.update(modes=list(schemathesis.GenerationMode))


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("CC_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CC_FUZZ_RANDOM") != "1",  # CI: the same inputs every run
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.parametrize("auth", ["token", "none"])
def test_no_input_makes_the_ingestor_fail(case: schemathesis.Case, auth: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"} if auth == "token" else {}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
