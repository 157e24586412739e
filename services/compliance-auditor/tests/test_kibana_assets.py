"""deploy/kibana/*.ndjson: Kibana saved-objects import format, references resolved within the file,
and every field a saved object names exists in the audit index template (or, under the
`flattened` commandcenter.payload, in an event schema)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cc.events.schemas import load

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted((ROOT / "deploy" / "kibana").glob("*.ndjson"))
TEMPLATE = json.loads((ROOT / "deploy/elasticsearch/audit-index-template.json").read_text())
TYPES = {"index-pattern", "search", "visualization", "dashboard", "lens", "tag"}
PAYLOAD = "commandcenter.payload."
KQL_FIELD = re.compile(r"([A-Za-z_@][\w.@]*)\s*:")


def template_fields(properties: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for name, spec in properties.items():
        found.add(prefix + name)
        found |= template_fields(spec.get("properties", {}), f"{prefix}{name}.")
    return found


FIELDS = template_fields(TEMPLATE["template"]["mappings"]["properties"])


def schema_paths() -> set[str]:
    """Every field path of every event schema (what the flattened payload may hold)."""
    paths: set[str] = set()

    def walk(schema: Any, prefix: str) -> None:
        if isinstance(schema, list):
            for branch in schema:
                walk(branch, prefix)
        elif isinstance(schema, dict):
            if schema.get("type") == "record":
                for field in schema["fields"]:
                    paths.add(prefix + field["name"])
                    walk(field["type"], f"{prefix}{field['name']}.")
            elif schema.get("type") in ("array", "map"):
                walk(schema.get("items") or schema.get("values"), prefix)

    for loaded in load().values():
        walk(loaded.expanded, "")
    return paths


PAYLOAD_PATHS = schema_paths()


def objects() -> list[dict[str, Any]]:
    result = []
    for path in FILES:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert line.strip(), f"{path.name}:{number}: empty line"
            obj = json.loads(line)
            assert isinstance(obj, dict), f"{path.name}:{number}: one JSON object per line"
            result.append(obj)
    return result


def named_fields(obj: dict[str, Any]) -> Iterator[str]:
    """Fields a saved object refers to: columns, sorts, time field, KQL, aggregation fields."""
    attrs = obj["attributes"]
    yield from attrs.get("columns", [])
    yield from (field for field, _ in attrs.get("sort", []))
    if "timeFieldName" in attrs:
        yield attrs["timeFieldName"]
    yield from json.loads(attrs.get("fieldFormatMap", "{}"))
    texts = []
    source = json.loads(attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
    texts.append(source.get("query", {}).get("query", ""))
    if "visState" in attrs:
        for agg in json.loads(attrs["visState"])["aggs"]:
            if "field" in agg["params"]:
                yield agg["params"]["field"]
            texts += [f["input"]["query"] for f in agg["params"].get("filters", [])]
    for text in texts:
        yield from KQL_FIELD.findall(re.sub(r'"[^"]*"', '""', text))


def known(field: str) -> bool:
    if field in FIELDS or field.startswith("labels."):
        return True
    return field.startswith(PAYLOAD) and field.removeprefix(PAYLOAD) in PAYLOAD_PATHS


def test_there_are_saved_objects() -> None:
    assert FILES, "deploy/kibana/*.ndjson"


def test_objects_are_kibana_import_shaped_with_references_inside_the_file() -> None:
    found = objects()
    keys = [(o["type"], o["id"]) for o in found]
    assert len(keys) == len(set(keys)), "type + id unique"
    for obj in found:
        assert obj["type"] in TYPES, obj["id"]
        assert isinstance(obj["attributes"], dict) and obj["attributes"]["title"], obj["id"]
        names = [ref["name"] for ref in obj["references"]]
        assert len(names) == len(set(names)), f"{obj['id']}: reference names unique"
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in keys, f"{obj['id']} refers to missing {ref}"
        attrs = obj["attributes"]
        source = json.loads(attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
        if "indexRefName" in source:
            assert source["indexRefName"] in names, obj["id"]
        for panel in json.loads(attrs.get("panelsJSON", "[]")):
            assert panel["panelRefName"] in names, obj["id"]


def test_the_data_view_is_the_audit_alias() -> None:
    views = [o for o in objects() if o["type"] == "index-pattern"]
    assert [v["attributes"]["title"] for v in views] == list(TEMPLATE["template"]["aliases"])
    assert views[0]["attributes"]["timeFieldName"] == "@timestamp"


def test_the_promised_searches_and_the_kpi_dashboard_exist() -> None:
    titles = {o["attributes"]["title"].lower() for o in objects()}
    for words in (
        "production changes",
        "approvals and decisions",
        "violations",
        "remediation",
        "incident's timeline",
    ):
        assert any(words in t for t in titles), words
    dashboards = [o for o in objects() if o["type"] == "dashboard"]
    assert dashboards and len(dashboards[0]["references"]) >= 5


@pytest.mark.parametrize("obj", objects(), ids=lambda o: o["id"])
def test_every_field_a_saved_object_names_is_in_the_template(obj: dict[str, Any]) -> None:
    unknown = sorted({f for f in named_fields(obj) if not known(f)})
    assert unknown == [], f"{obj['id']}: not in the index template: {unknown}"


def test_the_field_check_can_fail() -> None:
    assert not known("commandcenter.payload.no_such_field")
    assert not known("event.no_such_field")
    assert known("commandcenter.payload.suspect.deployment_event_id")
