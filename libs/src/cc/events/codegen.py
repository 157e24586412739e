"""Generate the typed event classes in `cc/events/generated/` from `schemas/`.

`python -m cc.events.codegen` rewrites them; `python -m cc.events.codegen --check` fails when the
committed classes differ from what the schemas give (run by `make lint` and the test suite).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from cc.events.schemas import LoadedSchema, load, read_raw, schema_dir

OUT_DIR = Path(__file__).parent / "generated"
HEADER = '"""Generated from schemas/{src} by `python -m cc.events.codegen`; do not edit."""\n'
SIMPLE = {
    "string": "str",
    "int": "int",
    "long": "int",
    "double": "float",
    "float": "float",
    "boolean": "bool",
    "bytes": "bytes",
    "null": "None",
}


def snake(name: str) -> str:
    """AlertReceived -> alert_received."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class RecordWriter:
    """Turns one record schema (unexpanded, references by name) into a dataclass module."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.imports: set[str] = set()
        self.typing: set[str] = set()
        self.literals: list[str] = []

    def py_type(self, t: Any) -> str:
        if isinstance(t, str):
            if t in SIMPLE:
                return SIMPLE[t]
            short = t.rsplit(".", 1)[-1]
            self.imports.add(short)
            return short
        if isinstance(t, list):
            parts = [self.py_type(x) for x in t if x != "null"]
            opt = " | None" if "null" in t else ""
            return " | ".join(parts) + opt
        if t.get("logicalType") in ("timestamp-micros", "timestamp-millis"):
            self.typing.add("datetime")
            return "datetime"
        if t["type"] == "map":
            return f"dict[str, {self.py_type(t['values'])}]"
        if t["type"] == "array":
            return f"list[{self.py_type(t['items'])}]"
        if t["type"] == "enum":
            self.typing.add("Literal")
            symbols = ", ".join(repr(s) for s in t["symbols"])
            self.literals.append(f"{t['name']} = Literal[{symbols}]")
            return str(t["name"])
        return self.py_type(t["type"])

    def is_record_ref(self, t: Any) -> bool:
        return isinstance(t, str) and t not in SIMPLE

    def to_expr(self, name: str, t: Any) -> str:
        v = f"self.{name}"
        if self.is_record_ref(t):
            return f"{v}.to_avro()"
        if isinstance(t, list) and any(self.is_record_ref(x) for x in t):
            return f"None if {v} is None else {v}.to_avro()"
        if isinstance(t, dict) and t.get("type") == "array" and self.is_record_ref(t["items"]):
            return f"[item.to_avro() for item in {v}]"
        if isinstance(t, dict) and t.get("type") == "map":
            return f"dict({v})"
        if isinstance(t, dict) and t.get("type") == "array":
            return f"list({v})"
        return v

    def from_expr(self, name: str, t: Any) -> str:
        v = f'data["{name}"]'
        if isinstance(t, dict) and t.get("logicalType") == "uuid":
            return f"str({v})"  # fastavro reads the uuid logical type as uuid.UUID
        if self.is_record_ref(t):
            return f"{t.rsplit('.', 1)[-1]}.from_avro({v})"
        if isinstance(t, list):
            refs = [x for x in t if self.is_record_ref(x)]
            if refs:
                cls = refs[0].rsplit(".", 1)[-1]
                return f"None if {v} is None else {cls}.from_avro({v})"
        if isinstance(t, dict) and t.get("type") == "array" and self.is_record_ref(t["items"]):
            cls = t["items"].rsplit(".", 1)[-1]
            return f"[{cls}.from_avro(item) for item in {v}]"
        return v

    def render(self, source: str) -> str:
        name = self.doc["name"]
        fields = self.doc["fields"]
        lines = [
            "@dataclass(frozen=True, slots=True, kw_only=True)",
            f"class {name}:",
            f'    """{self.doc.get("doc", name)}"""',
            "",
            f'    SCHEMA: ClassVar[str] = "{self.doc.get("namespace", "commandcenter")}.{name}"',
            "",
        ]
        for f in fields:
            annotation = self.py_type(f["type"])
            default = ""
            if "default" in f:
                default = f" = {f['default']!r}"
            lines.append(f"    {f['name']}: {annotation}{default}")
            lines.append(f'    """{f.get("doc", "")}"""')
        lines += [
            "",
            "    def to_avro(self) -> dict[str, Any]:",
            '        """The record as fastavro writes it."""',
            "        return {",
        ]
        lines += [
            f'            "{f["name"]}": {self.to_expr(f["name"], f["type"])},' for f in fields
        ]
        lines += [
            "        }",
            "",
            "    @classmethod",
            f"    def from_avro(cls, data: dict[str, Any]) -> {name}:",
            '        """Build from a record as fastavro reads it."""',
            "        return cls(",
        ]
        lines += [
            f"            {f['name']}={self.from_expr(f['name'], f['type'])}," for f in fields
        ]
        lines += ["        )", ""]
        head = [HEADER.format(src=source), "from __future__ import annotations", ""]
        head.append("from dataclasses import dataclass")
        if "datetime" in self.typing:
            head.append("from datetime import datetime")
        literal = ", Literal" if "Literal" in self.typing else ""
        head += [f"from typing import Any, ClassVar{literal}", ""]
        head += [f"from cc.events.generated.{snake(i)} import {i}" for i in sorted(self.imports)]
        body = (
            "\n".join(head)
            + "\n\n"
            + "\n".join(self.literals)
            + ("\n\n" if self.literals else "\n")
        )
        return body + "\n".join(lines)


def render_all(directory: Path) -> dict[str, str]:
    """File name -> source for every generated module, including the package index."""
    raw = read_raw(directory)
    loaded = load(directory)
    out: dict[str, str] = {}
    names = []
    for _full, (path, doc) in raw.items():
        out[f"{snake(doc['name'])}.py"] = RecordWriter(doc).render(path.name)
        names.append(doc["name"])
    events = sorted(n for n in names if _is_event(loaded[f"commandcenter.{n}"]))
    index = [HEADER.format(src="*.avsc"), "from typing import Any", ""]
    index += [f"from cc.events.generated.{snake(n)} import {n}" for n in sorted(names)]
    index += ["", "EVENT_TYPES: dict[str, Any] = {"]
    index += [f"    {n}.SCHEMA: {n}," for n in events]
    index += [
        "}",
        '"""Every event class (records that embed EventMetadata), by Avro full name."""',
        "",
    ]
    index += ["__all__ = [", '    "EVENT_TYPES",', *[f'    "{n}",' for n in sorted(names)], "]", ""]
    out["__init__.py"] = "\n".join(index)
    return out


def _is_event(schema: LoadedSchema) -> bool:
    return any(f["name"] == "metadata" for f in schema.expanded["fields"])


def main(argv: list[str] | None = None) -> int:
    """Write or check the generated modules."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code drifted")
    args = parser.parse_args(argv)
    wanted = {name: _format(src) for name, src in render_all(schema_dir()).items()}
    if args.check:
        present = {p.name: p.read_text() for p in OUT_DIR.glob("*.py")}
        if present != wanted:
            drift = sorted(
                set(present) ^ set(wanted) | {n for n in wanted if present.get(n) != wanted[n]}
            )
            sys.stderr.write(
                f"generated event classes drifted from schemas/: {drift}\n"
                "run: uv run python -m cc.events.codegen\n"
            )
            return 1
        return 0
    OUT_DIR.mkdir(exist_ok=True)
    for stale in set(p.name for p in OUT_DIR.glob("*.py")) - set(wanted):
        (OUT_DIR / stale).unlink()
    for name, src in wanted.items():
        (OUT_DIR / name).write_text(src)
    return 0


def _format(source: str) -> str:
    """Sort imports and format with ruff, so the check compares like with like."""
    sort = ["ruff", "check", "--select", "I", "--fix", "--quiet", "--stdin-filename", "gen.py", "-"]
    sorted_src = subprocess.run(sort, input=source, capture_output=True, text=True, check=False)
    fmt = ["ruff", "format", "--stdin-filename", "gen.py", "-"]
    return subprocess.run(
        fmt, input=sorted_src.stdout, capture_output=True, text=True, check=True
    ).stdout


if __name__ == "__main__":
    raise SystemExit(main())
