"""Parse an official source folder: `source.yaml` (what the document is) plus figures CSVs.

A new letter or table is a new folder in this format, not new code (see docs/raw_formats.md).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from factledger.articles import sha256_hex
from factledger.cells import dims_key, valid_name
from factledger.rawfiles import refusal
from factledger.rejections import Rejection
from schemas._base import CHANGE_KINDS, QUALIFIERS, WHEN_UNNAMED

DESCRIPTOR = "source.yaml"
REQUIRED_COLUMNS = ("measure", "value")
FIXED_OPTIONAL_COLUMNS = ("period_start", "period_end", "qualifier", "basis", "reported_by", "note")
SOURCE_DATES = ("request_date", "as_of_date", "document_date")
# A number as a document states it: plain ASCII digits, an optional sign, thousands separators, decimals.
NUMBER = re.compile(r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$")
# Values beyond this are not statistics a document states (and would lose precision as doubles).
MAX_DIGITS = 15
MAX_CUE_LENGTH = 200


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
    root = Path(raw_root).resolve()
    if folder.is_symlink() or not folder.resolve().is_relative_to(root):
        out.rejections.append(Rejection("sources", rel(folder), None, "the source folder is a symbolic link; linked folders are not followed"))
        return out
    descriptor_path = folder / DESCRIPTOR
    if not descriptor_path.is_file() and not descriptor_path.is_symlink():
        out.rejections.append(Rejection("sources", rel(folder), None, f"no {DESCRIPTOR} descriptor in the folder"))
        return out
    if (why := refusal(descriptor_path, root)) is not None:
        out.rejections.append(Rejection("sources", rel(descriptor_path), None, why))
        return out
    descriptor_bytes = descriptor_path.read_bytes()
    try:
        descriptor = _load_descriptor(descriptor_bytes, folder.name)
    except DescriptorError as err:
        out.rejections.append(Rejection("sources", rel(descriptor_path), err.line, str(err)))
        return out

    source_id = descriptor["id"]
    csv_paths = []
    for path in sorted(folder.glob("*.csv")):
        if (why := refusal(path, root)) is not None:
            out.rejections.append(Rejection("sources", rel(path), None, why))
        else:
            csv_paths.append(path)
    if not csv_paths:
        out.rejections.append(Rejection("sources", rel(folder), None, "no figures CSV in the folder"))
    all_bytes = descriptor_bytes
    vocab = {d: set(spec["values"]) for d, spec in descriptor["dimensions"].items()}
    stated: list[dict] = []
    for csv_path in csv_paths:
        data = csv_path.read_bytes()
        all_bytes += data
        rows, rejections = _parse_figures_csv(data, rel(csv_path), source_id, descriptor["measures"], vocab)
        stated += rows
        out.rejections += rejections
    out.figures, repeated = _one_row_per_cell(stated)
    out.rejections += repeated

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
        {"source_id": source_id, "dimension": d, "value": v, "is_total": v == spec["total"],
         "additive": bool(spec.get("additive")), "label": value["label"], "cues": json.dumps(value["cues"]),
         "when_unnamed": spec["when_unnamed"], "shared_from": ", ".join(spec["shared_from"]),
         "not_cues": json.dumps(spec["not_cues"])}
        for d, spec in descriptor["dimensions"].items()
        for v, value in spec["values"].items()
    ]
    out.measures = [
        {
            "source_id": source_id,
            "measure": m,
            "description": _text(spec.get("description")),
            "unit": _text(spec.get("unit")) or "count",
            "dimensions": ", ".join(spec["dimensions"]),
            "cues": json.dumps(spec["cues"]),
            "not_cues": json.dumps(spec["not_cues"]),
            "implied_by": ", ".join(spec["implied_by"]),
            "priority": spec["priority"],
            "change_of": spec.get("change_of"),
            "change": spec.get("change"),
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
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        raise DescriptorError(f"not valid YAML: {err}") from err
    if not isinstance(descriptor, dict):
        raise DescriptorError("must be a mapping of field: value", 1)
    descriptor.setdefault("id", folder_name)
    if descriptor["id"] != folder_name:
        raise DescriptorError(f"id {descriptor['id']!r} differs from the folder name {folder_name!r}")
    dates = descriptor.get("dates") or {}
    if not isinstance(dates, dict):
        raise DescriptorError("dates must be a mapping (document_date: YYYY-MM-DD, ...)")
    for key in SOURCE_DATES:
        value = dates.get(key)
        if value is not None and not isinstance(value, dt.date):
            raise DescriptorError(f"dates.{key} {value!r} is not a date (YYYY-MM-DD)")
    if dates.get("document_date") is None:
        raise DescriptorError("dates.document_date is required")
    descriptor["dates"] = dates
    descriptor["reactions"] = descriptor.get("reactions") or []
    descriptor["people"] = descriptor.get("people") or []
    for i, reaction in enumerate(descriptor["reactions"]):
        if not isinstance(reaction, dict) or not isinstance(reaction.get("date"), dt.date) or not reaction.get("event"):
            raise DescriptorError(f"reactions[{i}] needs an event and a date (YYYY-MM-DD)")
    for i, person in enumerate(descriptor["people"]):
        if not isinstance(person, dict) or not person.get("name"):
            raise DescriptorError(f"people[{i}] needs a name")
    dimensions = descriptor.get("dimensions") or {}
    if not isinstance(dimensions, dict):
        raise DescriptorError("dimensions must be a mapping of name: {total, additive, values}")
    descriptor["dimensions"] = {str(name): _dimension(str(name), spec) for name, spec in dimensions.items()}
    measures = descriptor.get("measures")
    if not isinstance(measures, dict) or not measures:
        raise DescriptorError("measures: declare at least one measure")
    descriptor["measures"] = {str(name): _measure(str(name), spec, descriptor["dimensions"]) for name, spec in measures.items()}
    for name, spec in descriptor["measures"].items():
        base = spec.get("change_of")
        if base is not None and (base not in descriptor["measures"] or descriptor["measures"][base].get("change_of")):
            raise DescriptorError(f"measures.{name}.change_of {base!r} is not a declared measure that is itself no change")
    return descriptor


def _dimension(name: str, spec) -> dict:
    where = f"dimensions.{name}"
    if not valid_name(name):
        raise DescriptorError(f"{where}: a dimension name is letters, digits, '_', '.' or '-'")
    if not isinstance(spec, dict) or "total" not in spec or not isinstance(spec.get("values"), (list, dict)):
        raise DescriptorError(f"{where} needs `total` and `values` (a list of names, or a mapping name: {{label, cues}})")
    total = str(spec["total"])
    raw_values = spec["values"] if isinstance(spec["values"], dict) else {v: None for v in spec["values"]}
    values: dict[str, dict] = {}
    for value, about in {total: raw_values.get(total), **raw_values}.items():
        value = str(value)
        if not valid_name(value):
            raise DescriptorError(f"{where}.values: {value!r} is not a name (letters, digits, '_', '.' or '-')")
        if about is not None and not isinstance(about, dict):
            raise DescriptorError(f"{where}.values.{value} must be a mapping {{label, cues}} or empty")
        about = about or {}
        values[value] = {"label": _text(about.get("label")) or value.replace("_", " "),
                         "cues": _patterns(about.get("cues"), f"{where}.values.{value}.cues")}
    when_unnamed = str(spec.get("when_unnamed", "total"))
    if when_unnamed not in WHEN_UNNAMED:
        raise DescriptorError(f"{where}.when_unnamed must be one of {', '.join(WHEN_UNNAMED)}")
    shared_from = [str(s) for s in (spec.get("shared_from") or ["earlier"])]
    if not set(shared_from) <= {"earlier", "later"}:
        raise DescriptorError(f"{where}.shared_from takes earlier and/or later")
    return {"total": total, "additive": bool(spec.get("additive")), "values": values, "when_unnamed": when_unnamed,
            "shared_from": shared_from, "not_cues": _patterns(spec.get("not_cues"), f"{where}.not_cues")}


def _measure(name: str, spec, dimensions: dict) -> dict:
    where = f"measures.{name}"
    if not valid_name(name):
        raise DescriptorError(f"{where}: a measure name is letters, digits, '_', '.' or '-'")
    spec = dict(spec or {})
    if not isinstance(spec, dict):
        raise DescriptorError(f"{where} must be a mapping")
    spec["dimensions"] = [str(d) for d in (spec.get("dimensions") or [])]
    missing = sorted(set(spec["dimensions"]) - set(dimensions))
    if missing:
        raise DescriptorError(f"{where} uses undeclared dimension(s) {', '.join(missing)}")
    spec["cues"] = _patterns(spec.get("cues"), f"{where}.cues")
    spec["not_cues"] = _patterns(spec.get("not_cues"), f"{where}.not_cues")
    # Dimensions whose cues alone say a number counts this measure. Undeclared: the measure's own
    # dimensions ("Nearly 30,000 victims had cocaine"), except for a change measure (a change needs a direction).
    default = [] if spec.get("change_of") is not None else spec["dimensions"]
    spec["implied_by"] = [str(d) for d in (spec["implied_by"] or [])] if "implied_by" in spec else default
    unknown = sorted(set(spec["implied_by"]) - set(dimensions))
    if unknown:
        raise DescriptorError(f"{where}.implied_by names undeclared dimension(s) {', '.join(unknown)}")
    try:
        spec["priority"] = int(spec.get("priority", 1))
    except (TypeError, ValueError):
        raise DescriptorError(f"{where}.priority must be a whole number") from None
    if spec.get("change_of") is not None:
        spec["change_of"] = str(spec["change_of"])
        spec["change"] = str(spec.get("change") or "difference")
        if spec["change"] not in CHANGE_KINDS:
            raise DescriptorError(f"{where}.change must be one of {', '.join(CHANGE_KINDS)}")
    elif spec.get("change") is not None:
        raise DescriptorError(f"{where}.change needs change_of: the measure it is a change of")
    return spec


def _patterns(value, where: str) -> list[str]:
    """A list of cue patterns (case-insensitive regular expressions), each checked to compile."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise DescriptorError(f"{where} must be a list of patterns")
    out = []
    for pattern in value:
        pattern = str(pattern)
        if not pattern.strip() or len(pattern) > MAX_CUE_LENGTH:
            raise DescriptorError(f"{where}: a pattern must be 1 to {MAX_CUE_LENGTH} characters")
        try:
            re.compile(pattern)
        except re.error as err:
            raise DescriptorError(f"{where}: {pattern!r} is not a valid regular expression ({err})") from None
        out.append(pattern)
    return out


def parse_number(text: str) -> tuple[float, int] | None:
    """A figure value as stated ('-3', '107,543', '3.14') -> (value, decimals); None when it is not one."""
    if not NUMBER.match(text):
        return None
    plain = text.replace(",", "").lstrip("+")
    digits = plain.lstrip("-").replace(".", "").lstrip("0")
    if len(digits) > MAX_DIGITS:
        return None
    value = float(plain)
    if not math.isfinite(value):
        return None
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return (0.0 if value == 0 else value), decimals


def _parse_figures_csv(data: bytes, rel_path: str, source_id: str, measures: dict, vocab: dict):
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
    try:
        header = reader.fieldnames or []
    except csv.Error as err:
        reject(f"not valid CSV: {err}", 1)
        return rows, rejections
    known = (*REQUIRED_COLUMNS, *vocab, *FIXED_OPTIONAL_COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in known]
    if missing or unknown:
        parts = [f"missing column(s) {', '.join(missing)}"] * bool(missing) + [f"unknown column(s) {', '.join(unknown)}"] * bool(unknown)
        reject("; ".join(parts) + f" (expected {', '.join(known)})", 1)
        return rows, rejections

    try:
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
            rows.append({"source_id": source_id, **row, "source_file": rel_path, "source_line": line})
    except csv.Error as err:
        reject(f"not valid CSV: {err}", reader.line_num)
    return rows, rejections


def _one_row_per_cell(rows: list[dict]) -> tuple[list[dict], list[Rejection]]:
    """A cell stated twice keeps one row when the values agree, and neither when they differ: the
    order in which files are read never decides what the source says."""
    by_cell: dict[tuple, list[dict]] = {}
    for row in rows:
        by_cell.setdefault((row["measure"], row["dims"], row["period_start"], row["period_end"]), []).append(row)
    kept, rejections = [], []
    for same in by_cell.values():
        first, *rest = same
        where = lambda r: f"{r['source_file']}:{r['source_line']}"  # noqa: E731
        if all((r["value"], r["qualifier"]) == (first["value"], first["qualifier"]) for r in rest):
            kept.append(first)
            rejections += [Rejection("sources", r["source_file"], r["source_line"],
                                     f"states the same figure as {where(first)} again (same value; kept once)") for r in rest]
        else:
            others = lambda r: ", ".join(where(o) for o in same if o is not r)  # noqa: E731
            rejections += [Rejection("sources", r["source_file"], r["source_line"],
                                     f"states the same figure (measure, dimensions, period) as {others(r)} with another value; "
                                     "none of them is loaded") for r in same]
    return kept, rejections


def _figure_row(cells: dict, measures: dict, vocab: dict) -> tuple[str | None, dict]:
    measure = cells.get("measure", "")
    if measure not in measures:
        return f"unknown measure {measure[:80]!r}; the descriptor declares {', '.join(measures)}", {}
    value_text = cells.get("value", "")
    parsed = parse_number(value_text)
    if parsed is None:
        return (f"value {value_text[:40]!r} is not a number as a document states it (digits, optional sign, "
                f"thousands commas, decimals; at most {MAX_DIGITS} digits)"), {}
    value, decimals = parsed
    row: dict = {"measure": measure, "value": value, "decimals": decimals}
    measure_dims = measures[measure]["dimensions"]
    dims: dict[str, str] = {}
    for dim in vocab:
        cell = cells.get(dim, "")
        if dim in measure_dims:
            if cell not in vocab[dim]:
                allowed = ", ".join(sorted(vocab[dim]))
                return f"{dim} {cell[:40]!r} is not a declared value (allowed: {allowed})", {}
            dims[dim] = cell
        elif cell:
            return f"measure {measure} has no {dim} dimension, but the row gives {cell[:40]!r}", {}
    row["dims"] = dims_key(dims)
    for key in ("period_start", "period_end"):
        cell = cells.get(key, "")
        try:
            row[key] = dt.date.fromisoformat(cell) if cell else None
        except ValueError:
            return f"{key} {cell[:40]!r} is not a date (YYYY-MM-DD)", {}
    if (row["period_start"] is None) != (row["period_end"] is None):
        return "period_start and period_end go together: give both or neither", {}
    qualifier = cells.get("qualifier") or "none"
    if qualifier not in QUALIFIERS:
        return f"qualifier {qualifier[:40]!r} is not one of {', '.join(QUALIFIERS)}", {}
    row["qualifier"] = qualifier
    row["unit"] = measures[measure].get("unit") or "count"
    for key in ("basis", "reported_by", "note"):
        row[key] = cells.get(key) or None
    return None, row
