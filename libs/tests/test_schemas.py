"""The contracts: loading, fingerprints, generated classes, evolution check."""

import json
import shutil
from pathlib import Path

import pytest
from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from cc.events import EVENT_TYPES, codegen, compat
from cc.events.schemas import SchemaError, load, schema_dir


def test_fingerprint_matches_the_single_object_test_vector() -> None:
    schema = parse_schema(
        {
            "type": "record",
            "name": "Deploy",
            "namespace": "ex",
            "fields": [{"name": "app", "type": "string"}, {"name": "rev", "type": "long"}],
        }
    )
    assert fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO") == "37a1978900c36128"


def test_every_event_in_the_design_has_a_schema_and_a_class() -> None:
    names = {n.rsplit(".", 1)[-1] for n in EVENT_TYPES}
    assert {
        "AlertReceived",
        "DeploymentObserved",
        "MetricSamplesReceived",
        "AnomalyDetected",
        "IncidentOpened",
        "IncidentResolved",
        "RemediationPlanned",
        "RemediationDecided",
        "RemediationExecuted",
        "RemediationVerified",
        "ComplianceViolationFound",
        "NotificationSent",
    } <= names


def test_every_event_embeds_the_shared_metadata_record() -> None:
    for name, schema in load().items():
        if name in EVENT_TYPES:
            first = schema.expanded["fields"][0]
            assert first["name"] == "metadata"
            assert first["type"]["name"] == "EventMetadata"


def test_generated_classes_have_not_drifted_from_the_schemas() -> None:
    assert codegen.main(["--check"]) == 0


def test_current_schemas_read_all_recorded_versions() -> None:
    assert compat.check(schema_dir()) == []


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(schema_dir(), target)
    return target


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_adding_a_field_without_default_is_caught(schema_copy: Path) -> None:
    _edit(
        schema_copy / "AlertReceived.avsc",
        lambda d: d["fields"].append({"name": "team", "type": "string"}),
    )
    problems = compat.check(schema_copy)
    assert any("AlertReceived" in p and "unreadable" in p for p in problems)


def test_adding_a_field_with_default_passes_once_snapshotted(schema_copy: Path) -> None:
    _edit(
        schema_copy / "AlertReceived.avsc",
        lambda d: d["fields"].append({"name": "team", "type": "string", "default": ""}),
    )
    assert any("has no snapshot" in p for p in compat.check(schema_copy))
    compat.snapshot(schema_copy)
    assert compat.check(schema_copy) == []


def test_a_reference_to_an_unknown_type_names_the_record(schema_copy: Path) -> None:
    _edit(
        schema_copy / "IncidentOpened.avsc",
        lambda d: d["fields"].append({"name": "x", "type": "commandcenter.Nope"}),
    )
    with pytest.raises(SchemaError, match="IncidentOpened: unknown type"):
        load(schema_copy)
