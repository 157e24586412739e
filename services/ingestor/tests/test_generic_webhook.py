"""The generic JSON webhook: paths, status maps, times, fingerprints, file validation, the route."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from cc.events import AlertReceived
from cc.testing.fakes import RecordingProducer
from ingestor.adapters.mapping_file import MappingFileError, load_mappings, parse_mappings
from ingestor.api import create_app
from ingestor.config import Settings
from ingestor.domain.generic_mapping import (
    AlertMapping,
    UnmappableBodyError,
    alerts_from_body,
    label_fingerprint,
    parse_path,
    parse_time,
)
from ingestor.routes.generic import MAPPINGS_ENV

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "generic-webhooks" / "mappings.yaml"
TOKEN = "generic-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAPPINGS = """\
mappings:
  mon:
    alerts: $.events
    alertname: $.name
    status: {path: $.state, map: {triggered: firing, ok: resolved}}
    starts_at: {path: $.started, format: unix_seconds}
    ends_at: {path: $.ended, format: unix_seconds, optional: true}
    generator_url: {path: $.link, optional: true}
    labels:
      from: [{path: $.tags.*, optional: true}]
      set: {severity: {path: $.level, optional: true}}
    annotations:
      set:
        summary: {path: $.text, optional: true}
        origin: {path: $$.source, optional: true}
    labels_static: {source_tool: mon}
"""
BODY: dict[str, Any] = {
    "source": "mon-eu-1",
    "events": [
        {
            "name": "DiskFull",
            "state": "triggered",
            "started": 1764155158,
            "tags": {"service": "api", "replicas": 3},
            "level": "critical",
            "text": "disk 97% full",
            "link": "https://mon.example/e/1",
        },
        {"name": "HighLatency", "state": "ok", "started": "1764150000", "ended": 1764155000},
    ],
}


def mapping(text: str = MAPPINGS, name: str = "mon") -> AlertMapping:
    return parse_mappings(text, filename="test.yaml")[name]


MON = mapping()


def errors_of(body: Any, text: str = MAPPINGS) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(UnmappableBodyError) as caught:
        alerts_from_body(mapping(text), body)
    return [(e.loc, e.msg) for e in caught.value.errors]


def problems_of(text: str) -> list[str]:
    with pytest.raises(MappingFileError) as caught:
        parse_mappings(text, filename="bad.yaml")
    return caught.value.problems


# --- paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "from_body", "steps", "all_keys"),
    [
        ("$", False, (), False),
        ("$.a.b", False, ("a", "b"), False),
        ("$.a[0].b", False, ("a", 0, "b"), False),
        ("$['@timestamp']", False, ("@timestamp",), False),
        ('$.tags["tag name"]', False, ("tags", "tag name"), False),
        ("$$.commonLabels.*", True, ("commonLabels",), True),
        ("$.alert-id", False, ("alert-id",), False),
    ],
)
def test_paths_parse_into_steps(
    text: str, from_body: bool, steps: tuple[str | int, ...], all_keys: bool
) -> None:
    path = parse_path(text)
    assert (path.from_body, path.steps, path.all_keys) == (from_body, steps, all_keys)


@pytest.mark.parametrize("text", ["a.b", "$.", "$.a..b", "$.a[-1]", "$.a[*]", "$.*.b", "$..a", 3])
def test_paths_outside_the_subset_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="is not a path"):
        parse_path(text)


def test_a_path_to_a_missing_list_item_or_through_a_scalar_is_absent() -> None:
    text = MAPPINGS.replace("alertname: $.name", "alertname: $.names[2].first")
    assert errors_of({"events": [{**BODY["events"][0], "names": ["x"]}]}, text) == [
        (("events", 0, "names", 2, "first"), "field required")
    ]


# --- mapping a body ------------------------------------------------------------------------


def test_each_alert_of_the_list_becomes_an_event() -> None:
    firing, resolved = alerts_from_body(mapping(), BODY)
    assert (firing.source, firing.alertname, firing.status) == ("mon", "DiskFull", "firing")
    assert firing.labels == {
        "service": "api",
        "replicas": "3",  # JSON numbers become their JSON text
        "severity": "critical",
        "source_tool": "mon",
        "alertname": "DiskFull",
    }
    assert firing.annotations == {"summary": "disk 97% full", "origin": "mon-eu-1"}
    assert firing.starts_at == datetime(2025, 11, 26, 11, 5, 58, tzinfo=UTC)
    assert firing.generator_url == "https://mon.example/e/1"
    assert (resolved.status, resolved.ends_at) == (
        "resolved",
        datetime.fromtimestamp(1764155000, UTC),
    )
    assert resolved.labels == {"source_tool": "mon", "alertname": "HighLatency"}
    assert resolved.generator_url == ""


def test_status_map_translates_and_passes_firing_and_resolved_through() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0]["state"] = "resolved"
    assert [e.status for e in alerts_from_body(mapping(), body)] == ["resolved", "resolved"]


def test_a_status_outside_the_map_is_an_error_naming_its_path() -> None:
    body = copy.deepcopy(BODY)
    body["events"][1]["state"] = "paused"
    assert errors_of(body) == [
        (
            ("events", 1, "state"),
            "'paused' is not in the status map (firing, resolved, triggered, ok)",
        )
    ]


def test_a_status_default_covers_absent_and_unlisted_values() -> None:
    text = MAPPINGS.replace("ok: resolved}}", "ok: resolved}, default: firing}")
    body = copy.deepcopy(BODY)
    body["events"][0]["state"] = "paused"
    del body["events"][1]["state"]
    assert [e.status for e in alerts_from_body(mapping(text), body)] == ["firing", "firing"]


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        (
            "2026-11-26T11:05:58.482837889Z",
            "rfc3339",
            datetime(2026, 11, 26, 11, 5, 58, 482837, UTC),
        ),
        ("2026-11-26T12:05:58+01:00", "rfc3339", datetime(2026, 11, 26, 11, 5, 58, tzinfo=UTC)),
        ("2026-11-26 11:05:58.5z", "rfc3339", datetime(2026, 11, 26, 11, 5, 58, 500000, UTC)),
        ("1764155158", "unix_seconds", datetime(2025, 11, 26, 11, 5, 58, tzinfo=UTC)),
        ("1764155158.25", "unix_seconds", datetime(2025, 11, 26, 11, 5, 58, 250000, UTC)),
        ("1406662672123", "unix_millis", datetime(2014, 7, 29, 19, 37, 52, 123000, UTC)),
    ],
)
def test_time_formats(text: str, fmt: str, expected: datetime) -> None:
    assert parse_time(text, fmt) == expected


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("2026-11-26T11:05:58", "rfc3339"),  # no offset: which zone?
        ("2026-11-26", "rfc3339"),
        ("2026-13-40T11:05:58Z", "rfc3339"),
        ("1764155158", "rfc3339"),
        ("yesterday", "unix_seconds"),
        ("nan", "unix_millis"),
        ("true", "unix_seconds"),
        ("1e300", "unix_seconds"),
    ],
)
def test_unparseable_times_are_refused(text: str, fmt: str) -> None:
    with pytest.raises(ValueError, match=r"expected|not a valid time|out of range"):
        parse_time(text, fmt)


def test_an_unparseable_time_is_an_error_naming_its_path() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0]["started"] = "last tuesday"
    [(loc, msg)] = errors_of(body)
    assert loc == ("events", 0, "started")
    assert "unix seconds" in msg


def test_ends_at_is_null_while_firing_and_for_go_zero_time() -> None:
    text = MAPPINGS.replace("format: unix_seconds, optional: true", "optional: true")
    body = copy.deepcopy(BODY)
    body["events"][0]["ended"] = "2026-01-01T00:00:00Z"  # a firing alert has no end
    body["events"][1]["ended"] = "0001-01-01T00:00:00Z"
    assert [e.ends_at for e in alerts_from_body(mapping(text), body)] == [None, None]


def test_computed_fingerprint_is_alertmanagers_for_the_same_labels() -> None:
    # the fingerprint Alertmanager 0.25 sent for this label set (shared/reference/contracts.md)
    labels = {"alertname": "DiskFull", "service": "api", "severity": "critical"}
    assert label_fingerprint(labels) == "44ff802e930efd3f"
    assert label_fingerprint({}) == "cbf29ce484222325"  # Alertmanager's empty label set


def test_without_a_fingerprint_path_it_is_computed_from_the_final_labels() -> None:
    firing = alerts_from_body(mapping(), BODY)[0]
    assert firing.fingerprint == label_fingerprint(firing.labels)
    assert len(firing.fingerprint) == 16


def test_the_same_alert_keeps_its_fingerprint_from_firing_to_resolved() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0].update(state="ok", ended=1764159999)
    firing, resolved = alerts_from_body(mapping(), BODY)[0], alerts_from_body(mapping(), body)[0]
    assert firing.fingerprint == resolved.fingerprint
    assert firing.metadata.event_id != resolved.metadata.event_id


def test_event_ids_are_deterministic_per_alert_state() -> None:
    first = [e.metadata.event_id for e in alerts_from_body(mapping(), BODY)]
    again = [e.metadata.event_id for e in alerts_from_body(mapping(), copy.deepcopy(BODY))]
    other = [e.metadata.event_id for e in alerts_from_body(mapping(name="mon"), BODY)]
    assert first == again == other
    assert len(set(first)) == 2
    renamed = mapping(MAPPINGS.replace("  mon:", "  mon2:"), name="mon2")
    assert alerts_from_body(renamed, BODY)[0].metadata.event_id != first[0]


def test_every_failure_is_reported_with_its_body_path() -> None:
    body = copy.deepcopy(BODY)
    del body["events"][0]["name"]
    body["events"][1]["tags"] = "not-an-object"
    body["events"].append("not an alert")
    assert errors_of(body) == [
        (("events", 2), "expected an alert object or a list of them"),
        (("events", 0, "name"), "field required"),
        (("events", 1, "tags"), "expected an object"),
    ]


def test_a_missing_alert_list_is_an_error() -> None:
    assert errors_of({"source": "x"}) == [(("events",), "field required")]


def test_an_object_where_a_value_is_expected_is_an_error() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0]["name"] = {"first": "Disk"}
    assert errors_of(body) == [(("events", 0, "name"), "expected a string or a number")]


def test_a_single_alert_body_and_extract() -> None:
    text = """\
mappings:
  one:
    alerts: $
    alertname: {path: $.title, extract: '^\\[[A-Za-z ]+\\] (.+)$'}
    status: $.status
    starts_at: $.at
"""
    body = {"title": "[Triggered] CPU high", "status": "firing", "at": "2026-11-26T11:05:58Z"}
    [event] = alerts_from_body(mapping(text, "one"), body)
    assert event.alertname == "CPU high"
    [kept] = alerts_from_body(mapping(text, "one"), {**body, "title": "CPU high (no prefix)"})
    assert kept.alertname == "CPU high (no prefix)"
    assert kept.labels == {"alertname": "CPU high (no prefix)"}


def test_null_and_empty_values_are_absent_and_empty_labels_are_dropped() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0].update(level="", link=None, tags={"service": "", "team": None, "zone": "a"})
    event = alerts_from_body(mapping(), body)[0]
    assert event.labels == {"zone": "a", "source_tool": "mon", "alertname": "DiskFull"}
    assert event.generator_url == ""


def test_too_deep_nesting_in_a_copied_object_is_an_error_not_a_crash() -> None:
    body = copy.deepcopy(BODY)
    body["events"][0]["tags"]["deep"] = orjson.loads(b"[" * 1000 + b"]" * 1000)
    assert errors_of(body) == [(("events", 0, "tags", "deep"), "nested too deep to become text")]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["triggered", "ok", "1764155158", "0", "-1e400"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["name", "state", "started", "ended", "tags", "level", "text", "link"]
EVENTS = st.lists(st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES) | JSON_VALUES, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.fixed_dictionaries({"events": EVENTS, "source": JSON_VALUES}) | JSON_VALUES)
def test_no_body_makes_the_mapping_fail_other_than_with_field_errors(body: Any) -> None:
    outcome: list[AlertReceived] | UnmappableBodyError
    try:
        outcome = alerts_from_body(MON, body)
    except UnmappableBodyError as exc:
        outcome = exc
    if isinstance(outcome, UnmappableBodyError):
        assert outcome.errors
        assert all(isinstance(e.loc, tuple) and e.msg for e in outcome.errors)
    else:
        assert all(len(e.fingerprint) == 16 and e.starts_at.tzinfo is UTC for e in outcome)


# --- the mapping file ----------------------------------------------------------------------


def test_file_problems_name_file_line_and_field() -> None:
    text = """\
mappings:
  mon:
    alerts: $.events
    alertname: $.name
    status: {path: $.state, map: {triggered: burning}}
    starts_at: {path: $.started, format: unix_nanos}
    labels:
      from: [$.tags]
      set: {team-name: $.team}
    labels_static: {alertname: x}
    lables: {}
  Bad Name:
    alerts: $.x.*
"""
    assert problems_of(text) == [
        "bad.yaml:5: mappings.mon.status.map.triggered: Input should be 'firing' or 'resolved'",
        "bad.yaml:6: mappings.mon.starts_at.format: "
        "Input should be 'rfc3339', 'unix_seconds' or 'unix_millis'",
        "bad.yaml:8: mappings.mon.labels.from[0].path: "
        "$.tags: an object to copy ends in `.*`, e.g. $.labels.*",
        "bad.yaml:9: mappings.mon.labels.set.team-name: "
        "'team-name' is not a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*)",
        "bad.yaml:10: mappings.mon.labels_static.alertname: "
        "label `alertname` always comes from the `alertname` field",
        "bad.yaml:11: mappings.mon.lables: Extra inputs are not permitted",
        "bad.yaml:12: mappings.Bad Name: "
        "'Bad Name': a mapping name is [a-z0-9][a-z0-9_-]*, at most 63 chars",
        "bad.yaml:13: mappings.Bad Name.alerts: "
        "$.x.*: `.*` is only for objects listed under labels/annotations",
        "bad.yaml:12: mappings.Bad Name.alertname: Field required",
        "bad.yaml:12: mappings.Bad Name.status: Field required",
        "bad.yaml:12: mappings.Bad Name.starts_at: Field required",
    ]


def test_start_time_cannot_be_optional_and_extract_needs_a_group() -> None:
    text = MAPPINGS.replace(
        "format: unix_seconds}", "format: unix_seconds, optional: true}"
    ).replace("alertname: $.name", "alertname: {path: $.name, extract: 'x+'}")
    assert problems_of(text) == [
        "bad.yaml:4: mappings.mon.alertname.extract: "
        "extract needs a capture group, e.g. '^\\[[^]]*\\] (.*)$'",
        "bad.yaml:6: mappings.mon.starts_at.optional: "
        "starts_at cannot be optional: every alert state needs a start time",
    ]


def test_duplicate_keys_are_refused_instead_of_silently_keeping_the_last() -> None:
    text = MAPPINGS + "  mon:\n    alerts: $\n"
    assert problems_of(text) == ["bad.yaml:17: mappings.mon: duplicate key"]


def test_yaml_syntax_errors_name_their_line() -> None:
    [problem] = problems_of("mappings:\n  mon:\n    alerts: [$.a\n    status: x\n")
    assert problem.startswith("bad.yaml:4: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "bad.yaml:1: empty file; expected `mappings:`"),
        ("- a\n", "bad.yaml:1: .: Input should be a valid dictionary or instance of MappingFile"),
        ("mappings:\n  alertmanager: {}\n", "bad.yaml:2: mappings.alertmanager: 'alertmanager'"),
    ],
)
def test_whole_file_problems(text: str, expected: str) -> None:
    assert problems_of(text)[0].startswith(expected)


def test_an_unreadable_file_is_a_mapping_file_error(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match="cannot read"):
        load_mappings(tmp_path / "absent.yaml")


# --- the shipped mappings ------------------------------------------------------------------

GRAFANA_BODY: dict[str, Any] = {
    "receiver": "command-center",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighMemory", "grafana_folder": "infra", "team": "blue"},
            "annotations": {"summary": "memory above 90%", "runbook_url": "https://rb/mem"},
            "startsAt": "2026-11-26T11:05:58.157076+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example/alerting/silence/new?matcher=team%3Dblue",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 91.2, "C": 1},
            "valueString": "[ var='B' labels={team=blue} value=91.2 ]",
        }
    ],
    "groupLabels": {"alertname": "HighMemory"},
    "commonLabels": {"alertname": "HighMemory", "team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example/",
    "version": "1",
    "groupKey": '{}:{alertname="HighMemory"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] HighMemory (infra blue)",
    "state": "alerting",
    "message": "**Firing** ...",
}
DATADOG_BODY: dict[str, Any] = {
    "alert_id": "1234567",
    "alert_cycle_key": "7103573573912345678",
    "alert_title": "[Triggered on {host:web-1}] CPU usage high",
    "alert_transition": "Triggered",
    "alert_status": "system.cpu.user over host:web-1 was > 90 on average during the last 5m.",
    "alert_scope": "host:web-1",
    "alert_priority": "P2",
    "alert_type": "error",
    "hostname": "web-1",
    "date": "1764155158000",
    "link": "https://app.datadoghq.com/event/event?id=7103573573912345678",
    "tags": "env:prod,host:web-1,service:web",
}


def test_the_shipped_file_loads() -> None:
    assert set(load_mappings(SHIPPED)) == {"grafana", "datadog"}


def test_shipped_grafana_mapping_maps_a_grafana_webhook() -> None:
    grafana = load_mappings(SHIPPED)["grafana"]
    [firing] = alerts_from_body(grafana, GRAFANA_BODY)
    assert (firing.source, firing.alertname, firing.status) == ("grafana", "HighMemory", "firing")
    assert firing.fingerprint == "c6eadffa33fcdf37"
    assert firing.labels == {
        "alertname": "HighMemory",
        "grafana_folder": "infra",
        "team": "blue",
        "source_tool": "grafana",
    }
    assert firing.annotations["runbook_url"] == "https://rb/mem"
    assert firing.annotations["grafana_url"] == "https://grafana.example/"
    assert "dashboard_url" not in firing.annotations  # "" is no value
    assert firing.starts_at == datetime(2026, 11, 26, 10, 5, 58, 157076, UTC)
    assert firing.ends_at is None
    resolved_body = copy.deepcopy(GRAFANA_BODY)
    resolved_body["alerts"][0].update(status="resolved", endsAt="2026-11-26T11:20:00+01:00")
    [resolved] = alerts_from_body(grafana, resolved_body)
    assert resolved.ends_at == datetime(2026, 11, 26, 10, 20, tzinfo=UTC)
    assert resolved.fingerprint == firing.fingerprint


def test_shipped_datadog_mapping_maps_a_trigger_and_its_recovery() -> None:
    datadog = load_mappings(SHIPPED)["datadog"]
    [firing] = alerts_from_body(datadog, DATADOG_BODY)
    assert (firing.source, firing.alertname, firing.status) == (
        "datadog",
        "CPU usage high",
        "firing",
    )
    assert firing.labels == {
        "alertname": "CPU usage high",
        "monitor_id": "1234567",
        "scope": "host:web-1",
        "priority": "P2",
        "host": "web-1",
        "source_tool": "datadog",
    }
    assert firing.fingerprint == "7103573573912345678"
    assert firing.starts_at == datetime(2025, 11, 26, 11, 5, 58, tzinfo=UTC)
    assert firing.annotations["tags"] == "env:prod,host:web-1,service:web"
    recovery = {
        **DATADOG_BODY,
        "alert_title": "[Recovered on {host:web-1}] CPU usage high",
        "alert_transition": "Recovered",
        "alert_type": "success",
        "date": "1764155758000",
    }
    [resolved] = alerts_from_body(datadog, recovery)
    assert (resolved.status, resolved.alertname) == ("resolved", "CPU usage high")
    assert resolved.ends_at == datetime(2025, 11, 26, 11, 15, 58, tzinfo=UTC)
    assert resolved.fingerprint == firing.fingerprint


def test_shipped_datadog_mapping_refuses_an_unknown_transition() -> None:
    datadog = load_mappings(SHIPPED)["datadog"]
    with pytest.raises(UnmappableBodyError) as caught:
        alerts_from_body(datadog, {**DATADOG_BODY, "alert_transition": "Null"})
    assert caught.value.errors[0].loc == ("alert_transition",)


# --- the route -----------------------------------------------------------------------------


@pytest.fixture
def mappings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mappings.yaml"
    path.write_text(MAPPINGS)
    monkeypatch.setenv(MAPPINGS_ENV, str(path))
    return path


def client_for(producer: RecordingProducer, **overrides: Any) -> TestClient:
    settings = Settings(generic_token=SecretStr(TOKEN), kafka_ack_timeout_s=0.2, **overrides)
    return TestClient(create_app(settings, producer, CollectorRegistry()))  # type: ignore[arg-type]


@pytest.mark.usefixtures("mappings_file")
def test_mapped_alerts_are_accepted_once_kafka_holds_them() -> None:
    producer = RecordingProducer()
    response = client_for(producer).post("/webhooks/generic/mon", json=BODY, headers=AUTH)
    assert response.status_code == 202
    answer = response.json()
    assert (answer["mapping"], answer["accepted"]) == ("mon", 2)
    assert answer["event_ids"] == [event.metadata.event_id for _, _, event in producer.sent]
    topic, key, event = producer.sent[0]
    assert (topic, key) == ("alerts.alert-received.v1", event.fingerprint)
    assert event.source == "mon"


@pytest.mark.usefixtures("mappings_file")
def test_the_same_body_twice_gives_the_same_event_ids() -> None:
    client = client_for(RecordingProducer())
    first = client.post("/webhooks/generic/mon", json=BODY, headers=AUTH).json()
    second = client.post("/webhooks/generic/mon", json=BODY, headers=AUTH).json()
    assert first["event_ids"] == second["event_ids"]


@pytest.mark.usefixtures("mappings_file")
def test_an_unknown_mapping_is_404_naming_the_known_ones() -> None:
    response = client_for(RecordingProducer()).post(
        "/webhooks/generic/nagios", json=BODY, headers=AUTH
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "no mapping 'nagios'; known: mon"


def test_without_a_mapping_file_every_mapping_is_404(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAPPINGS_ENV, raising=False)
    response = client_for(RecordingProducer()).post(
        "/webhooks/generic/mon", json=BODY, headers=AUTH
    )
    assert response.status_code == 404
    assert MAPPINGS_ENV in response.json()["detail"]


def test_an_invalid_mapping_file_stops_the_app_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mappings.yaml"
    path.write_text(MAPPINGS.replace("alerts: $.events", "alerts: events"))
    monkeypatch.setenv(MAPPINGS_ENV, str(path))
    with pytest.raises(MappingFileError, match=rf"{path}:3: mappings.mon.alerts: 'events'"):
        client_for(RecordingProducer())


@pytest.mark.usefixtures("mappings_file")
def test_missing_credentials_are_401_and_wrong_ones_403_before_the_mapping_is_looked_up() -> None:
    producer = RecordingProducer()
    client = client_for(producer)
    missing = client.post("/webhooks/generic/nagios", json=BODY)
    wrong = client.post("/webhooks/generic/mon", json=BODY, headers={"Authorization": "Bearer x"})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 403
    assert producer.sent == []


@pytest.mark.usefixtures("mappings_file")
def test_basic_auth_is_accepted_when_configured() -> None:
    client = client_for(RecordingProducer(), generic_basic_auth="grafana:pw")
    assert (
        client.post("/webhooks/generic/mon", json=BODY, auth=("grafana", "pw")).status_code == 202
    )


@pytest.mark.usefixtures("mappings_file")
def test_wrong_content_type_is_415() -> None:
    response = client_for(RecordingProducer()).post(
        "/webhooks/generic/mon", content=b"a=1", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


@pytest.mark.usefixtures("mappings_file")
def test_body_over_the_limit_is_413() -> None:
    response = client_for(RecordingProducer(), max_body_bytes=100).post(
        "/webhooks/generic/mon", json=BODY, headers=AUTH
    )
    assert response.status_code == 413


@pytest.mark.usefixtures("mappings_file")
def test_invalid_json_is_422() -> None:
    response = client_for(RecordingProducer()).post(
        "/webhooks/generic/mon", content=b"{", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.usefixtures("mappings_file")
def test_one_bad_alert_is_422_with_its_path_and_nothing_is_published() -> None:
    producer = RecordingProducer()
    bad = copy.deepcopy(BODY)
    bad["events"][1]["state"] = "paused"
    response = client_for(producer).post("/webhooks/generic/mon", json=bad, headers=AUTH)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "events", 1, "state"]
    assert error["type"] == "status"
    assert "'paused'" in error["msg"]
    assert producer.sent == []  # the good first alert was not published either


@pytest.mark.usefixtures("mappings_file")
@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_kafka_not_acknowledging_is_503_with_retry_after(mode: str) -> None:
    response = client_for(RecordingProducer(mode)).post(
        "/webhooks/generic/mon", json=BODY, headers=AUTH
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


@pytest.mark.usefixtures("mappings_file")
def test_requests_are_counted_under_the_generic_source() -> None:
    client = client_for(RecordingProducer())
    client.post("/webhooks/generic/mon", json=BODY, headers=AUTH)
    client.post("/webhooks/generic/nagios", json=BODY, headers=AUTH)
    metrics = client.get("/metrics").text
    assert 'cc_ingest_events_total{source="generic"} 2.0' in metrics
    assert 'cc_ingest_requests_total{source="generic",status="404"} 1.0' in metrics
