"""Parse an official source folder: `source.yaml` (what the document is) plus figures CSVs.

A new letter or table is a new folder in this format, not new code (see docs/raw_formats.md).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from factledger.articles import sha256_hex
from factledger.rejections import Rejection
from schemas._base import DIMENSIONS, QUALIFIERS

DESCRIPTOR = "source.yaml"
REQUIRED_COLUMNS = ("measure", "value")
OPTIONAL_COLUMNS = (*DIMENSIONS, "period_start", "period_end", "qualifier", "basis", "reported_by", "note")
SOURCE_DATES = ("request_date", "as_of_date", "document_date")
WHOLE_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+$")


@dataclass
class ParsedSource:
    source: dict | None = None
    reactions: list[dict] = field(default_factory=list)
    people: list[dict] = field(default_factory=list)
    dimensions: list[dict] = field(default_factory=list)
    measures: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class DescriptorError(ValueError):
    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.line = line


def parse_source_folder(folder: Path, raw_root: Path) -> ParsedSource:
    """Parse one source folder. A broken descriptor refuses the whole folder; a bad CSV row
    refuses that row only; a CSV with a missing or unknown column refuses that file."""
    out = ParsedSource()
    rel = lambda p: p.relative_to(raw_root).as_posix()  # noqa: E731
    descriptor_path = folder / DESCRIPTOR
    if not descriptor_path.is_file():
        out.rejections.append(Rejection("sources", rel(folder), None, f"no {DESCRIPTOR} descriptor in the folder"))
        return out
    descriptor_bytes = descriptor_path.read_bytes()
    try:
        descriptor = _load_descriptor(descriptor_bytes, folder.name)
    except DescriptorError as err:
        out.rejections.append(Rejection("sources", rel(descriptor_path), err.line, str(err)))
        return out

    source_id = descriptor["id"]
    csv_paths = sorted(folder.glob("*.csv"))
    if not csv_paths:
        out.rejections.append(Rejection("sources", rel(folder), None, "no figures CSV in the folder"))
    all_bytes = descriptor_bytes
    vocab = {d: set(spec["values"]) | {spec["total"]} for d, spec in descriptor["dimensions"].items()}
    seen: dict[str, int] = {}
    for csv_path in csv_paths:
        data = csv_path.read_bytes()
        all_bytes += data
        rows, rejections = _parse_figures_csv(data, rel(csv_path), source_id, descriptor["measures"], vocab, seen)
        out.figures += rows
        out.rejections += rejections

    dates = descriptor["dates"]
    out.source = {
        "source_id": source_id,
        **{k: _text(descriptor.get(k)) for k in ("title", "issuer", "sender", "recipient", "url")},
        **{k: dates.get(k) for k in SOURCE_DATES},
        "descriptor_path": rel(descriptor_path),
        "sha256": sha256_hex(all_bytes),
    }
    out.reactions = [
        {"source_id": source_id, "event": str(r["event"]), "date": r["date"], "reported_by": _text(r.get("reported_by"))}
        for r in descriptor["reactions"]
    ]
    out.people = [{"source_id": source_id, "name": str(p["name"]), "role": str(p.get("role", ""))} for p in descriptor["people"]]
    out.dimensions = [
        {"source_id": source_id, "dimension": d, "value": v, "is_total": v == spec["total"], "additive": bool(spec.get("additive"))}
        for d, spec in descriptor["dimensions"].items()
        for v in [spec["total"], *spec["values"]]
    ]
    out.measures = [
        {
            "source_id": source_id,
            "measure": m,
            "description": _text(spec.get("description")),
            "unit": _text(spec.get("unit")),
            "dimensions": ", ".join(spec.get("dimensions", [])),
        }
        for m, spec in descriptor["measures"].items()
    ]
    return out


def _text(value) -> str | None:
    return None if value is None else str(value).strip() or None


def _load_descriptor(data: bytes, folder_name: str) -> dict:
    try:
        descriptor = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DescriptorError(f"not UTF-8 (byte offset {err.start})", data[: err.start].count(b"\n") + 1) from err
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise DescriptorError(f"not valid YAML: {err.problem or err}", mark.line + 1 if mark else None) from err
    except (yaml.YAMLError, ValueError) as err:
        raise DescriptorError(f"not valid YAML: {err}") from err
    if not isinstance(descriptor, dict):
        raise DescriptorError("must be a mapping of field: value", 1)
    descriptor.setdefault("id", folder_name)
    if descriptor["id"] != folder_name:
        raise DescriptorError(f"id {descriptor['id']!r} differs from the folder name {folder_name!r}")
    dates = descriptor.get("dates") or {}
    for key in SOURCE_DATES:
        value = dates.get(key)
        if value is not None and not isinstance(value, dt.date):
            raise DescriptorError(f"dates.{key} {value!r} is not a date (YYYY-MM-DD)")
    if dates.get("document_date") is None:
        raise DescriptorError("dates.document_date is required")
    descriptor["dates"] = dates
    descriptor.setdefault("reactions", [])
    descriptor.setdefault("people", [])
    for i, reaction in enumerate(descriptor["reactions"]):
        if not isinstance(reaction, dict) or not isinstance(reaction.get("date"), dt.date) or not reaction.get("event"):
            raise DescriptorError(f"reactions[{i}] needs an event and a date (YYYY-MM-DD)")
    for i, person in enumerate(descriptor["people"]):
        if not isinstance(person, dict) or not person.get("name"):
            raise DescriptorError(f"people[{i}] needs a name")
    dimensions = descriptor.setdefault("dimensions", {})
    unknown = sorted(set(dimensions) - set(DIMENSIONS))
    if unknown:
        raise DescriptorError(f"unknown dimension(s) {', '.join(unknown)}; known: {', '.join(DIMENSIONS)}")
    for name, spec in dimensions.items():
        if not isinstance(spec, dict) or "total" not in spec or not isinstance(spec.get("values"), list):
            raise DescriptorError(f"dimensions.{name} needs `total` and a list of `values`")
    measures = descriptor.get("measures")
    if not isinstance(measures, dict) or not measures:
        raise DescriptorError("measures: declare at least one measure")
    for name, spec in measures.items():
        spec = measures[name] = spec or {}
        missing = sorted(set(spec.get("dimensions", [])) - set(dimensions))
        if missing:
            raise DescriptorError(f"measures.{name} uses undeclared dimension(s) {', '.join(missing)}")
    return descriptor


def _parse_figures_csv(data: bytes, rel_path: str, source_id: str, measures: dict, vocab: dict, seen: dict):
    rows: list[dict] = []
    rejections: list[Rejection] = []

    def reject(reason: str, line: int | None) -> None:
        rejections.append(Rejection("sources", rel_path, line, reason))

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        reject(f"not UTF-8 (byte offset {err.start})", data[: err.start].count(b"\n") + 1)
        return rows, rejections
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = [f"missing column(s) {', '.join(missing)}"] * bool(missing) + [f"unknown column(s) {', '.join(unknown)}"] * bool(unknown)
        reject("; ".join(parts) + f" (expected {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})", 1)
        return rows, rejections

    for record in reader:
        line = reader.line_num
        cells = {k: (v or "").strip() for k, v in record.items() if k is not None}
        if None in record:
            reject(f"{len(record[None])} more cell(s) than the header has columns", line)
            continue
        problem, row = _figure_row(cells, measures, vocab)
        if problem:
            reject(problem, line)
            continue
        key = (row["measure"], *(row[d] for d in DIMENSIONS), row["period_start"], row["period_end"])
        if key in seen:
            reject(f"states the same figure (measure, dimensions, period) as {seen[key]}", line)
            continue
        seen[key] = f"{rel_path}:{line}"
        rows.append({"source_id": source_id, **row, "source_file": rel_path, "source_line": line})
    return rows, rejections


def _figure_row(cells: dict, measures: dict, vocab: dict) -> tuple[str | None, dict]:
    measure = cells.get("measure", "")
    if measure not in measures:
        return f"unknown measure {measure!r}; the descriptor declares {', '.join(measures)}", {}
    value_text = cells.get("value", "")
    if not WHOLE_NUMBER.match(value_text):
        return f"value {value_text!r} is not a whole number", {}
    row: dict = {"measure": measure, "value": int(value_text.replace(",", ""))}
    measure_dims = measures[measure].get("dimensions", [])
    for dim in DIMENSIONS:
        cell = cells.get(dim, "")
        if dim in measure_dims:
            if cell not in vocab[dim]:
                allowed = ", ".join(sorted(vocab[dim]))
                return f"{dim} {cell!r} is not a declared value (allowed: {allowed})", {}
            row[dim] = cell
        elif cell:
            return f"measure {measure} has no {dim} dimension, but the row gives {cell!r}", {}
        else:
            row[dim] = None
    for key in ("period_start", "period_end"):
        cell = cells.get(key, "")
        try:
            row[key] = dt.date.fromisoformat(cell) if cell else None
        except ValueError:
            return f"{key} {cell!r} is not a date (YYYY-MM-DD)", {}
    qualifier = cells.get("qualifier") or "none"
    if qualifier not in QUALIFIERS:
        return f"qualifier {qualifier!r} is not one of {', '.join(QUALIFIERS)}", {}
    row["qualifier"] = qualifier
    row["basis"] = cells.get("basis") or None
    row["reported_by"] = cells.get("reported_by") or None
    return None, row

