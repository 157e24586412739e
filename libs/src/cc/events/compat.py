"""Schema evolution check: every schema must read data written with its earlier versions.

`schemas/compat/<Record>/<fingerprint>.avro` are Avro container files written with a released
version of a record's schema (the writer schema is inside the file). The check reads every one of
them with the current schema (Avro schema resolution, BACKWARD) and into the generated class, and
insists the current version has a snapshot of its own, so the next change is checked against it.

    python -m cc.events.compat check      # CI (make lint, make test)
    python -m cc.events.compat snapshot   # after changing a schema: record the new version
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastavro import reader, writer

from cc.events.generated import EVENT_TYPES
from cc.events.schemas import LoadedSchema, load, parse, schema_dir

BASE_TIME = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def sample_records(schema: dict[str, Any], count: int = 3) -> list[dict[str, Any]]:
    """Deterministic records exercising every field; union branches alternate by index."""
    return [_value(schema, i, {}) for i in range(count)]


def _value(t: Any, i: int, named: dict[str, Any]) -> Any:
    if isinstance(t, str):
        return _primitive(t, i, named)
    if isinstance(t, list):
        branches = [b for b in t if b != "null"]
        if "null" in t and i % 2 == 0:
            return None
        return _value(branches[i % len(branches)], i, named)
    kind = t["type"]
    logical = t.get("logicalType")
    if logical in ("timestamp-micros", "timestamp-millis"):
        return BASE_TIME + timedelta(seconds=i)
    if logical == "uuid":
        return f"00000000-0000-4000-8000-{i:012d}"
    if kind == "record":
        named[t["name"]] = t
        named[f"{t.get('namespace', 'commandcenter')}.{t['name']}"] = t
        return {f["name"]: _value(f["type"], i, named) for f in t["fields"]}
    if kind == "enum":
        named[t["name"]] = t
        return t["symbols"][i % len(t["symbols"])]
    if kind == "array":
        return [_value(t["items"], i + j, named) for j in range(i % 3)]
    if kind == "map":
        return {f"key{j}": _value(t["values"], i + j, named) for j in range(i % 3)}
    return _value(kind, i, named)


def _primitive(t: str, i: int, named: dict[str, Any]) -> Any:
    simple: dict[str, Any] = {
        "string": f"value-{i}",
        "int": i,
        "long": 1_000_000_000_000 + i,
        "double": i + 0.5,
        "float": i + 0.25,
        "boolean": i % 2 == 1,
        "bytes": bytes([i % 256]),
        "null": None,
    }
    if t in simple:
        return simple[t]
    return _value(named[t], i, named)


def event_schemas(schemas: dict[str, LoadedSchema]) -> list[LoadedSchema]:
    """The schemas that are events (top-level records with a generated event class)."""
    return [s for name, s in schemas.items() if name in EVENT_TYPES]


def snapshot(directory: Path) -> list[Path]:
    """Write a container file of samples for each event schema version not yet recorded."""
    written = []
    for schema in event_schemas(load(directory)):
        path = directory / "compat" / schema.short_name / f"{schema.fingerprint.hex()}.avro"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            writer(out, schema.parsed, sample_records(schema.expanded), codec="null")
        written.append(path)
    return written


def check(directory: Path) -> list[str]:
    """Problems found: unreadable old data, or a current version with no snapshot."""
    problems = []
    schemas = load(directory)
    for schema in event_schemas(schemas):
        folder = directory / "compat" / schema.short_name
        if not (folder / f"{schema.fingerprint.hex()}.avro").exists():
            problems.append(
                f"{schema.short_name}: current version {schema.fingerprint.hex()} has no snapshot; "
                "run `uv run python -m cc.events.compat snapshot` and commit schemas/compat/"
            )
        for old in sorted(folder.glob("*.avro")):
            problems += _read_with_current(old, schema)
    return problems


def _read_with_current(path: Path, schema: LoadedSchema) -> list[str]:
    cls = EVENT_TYPES[schema.name]
    try:
        with path.open("rb") as f:
            for record in reader(f, reader_schema=schema.parsed):
                cls.from_avro(record)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding we report
        return [f"{schema.short_name}: data written with {path.name} is unreadable now: {exc}"]
    return []


def older_writers(directory: Path | None = None) -> dict[bytes, tuple[str, dict[str, Any]]]:
    """Released writer schemas by fingerprint, so single-object messages from them decode."""
    directory = directory or schema_dir()
    found: dict[bytes, tuple[str, dict[str, Any]]] = {}
    for path in (directory / "compat").glob("*/*.avro"):
        with path.open("rb") as f:
            writer_schema = reader(f).writer_schema
        if isinstance(writer_schema, dict):
            parsed = parse(writer_schema)
            found[bytes.fromhex(path.stem)] = (f"commandcenter.{path.parent.name}", parsed)
    return found


def main(argv: list[str] | None = None) -> int:
    """CLI: check or snapshot."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=["check", "snapshot"])
    parser.add_argument("--schemas", type=Path, default=None)
    args = parser.parse_args(argv)
    directory = args.schemas or schema_dir()
    if args.command == "snapshot":
        for path in snapshot(directory):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    problems = check(directory)
    for problem in problems:
        sys.stderr.write(problem + "\n")
    if not problems:
        sys.stdout.write("schemas: every event schema reads all its recorded earlier versions\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
