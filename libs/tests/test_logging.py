"""JSON logs: one object per line, trace ids included, secrets never written."""

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from cc.platform.logging import JsonFormatter


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("t", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_a_log_line_is_one_json_object_with_service_level_and_extras() -> None:
    doc = json.loads(
        JsonFormatter("notifier").format(record("slack rate limited", retry_after_s=3))
    )
    assert doc["service.name"] == "notifier"
    assert doc["log.level"] == "warning"
    assert doc["message"] == "slack rate limited"
    assert doc["retry_after_s"] == 3


@pytest.mark.parametrize(
    "key", ["token", "slack_webhook_url", "Authorization", "api_key", "password"]
)
def test_fields_named_like_secrets_are_redacted(key: str) -> None:
    doc = json.loads(JsonFormatter("x").format(record("m", **{key: "hunter2"})))
    assert doc[key] == "[redacted]"


def test_credentials_inside_messages_are_redacted() -> None:
    line = JsonFormatter("x").format(record("got header Authorization: Bearer abc.def-ghi"))
    assert "abc.def-ghi" not in line
    assert "Bearer [redacted]" in line


def test_the_current_trace_id_is_on_the_line() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        doc = json.loads(JsonFormatter("x").format(record("inside a span")))
    assert doc["trace.id"] == format(span.get_span_context().trace_id, "032x")
