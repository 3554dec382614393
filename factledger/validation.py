"""Run a pandera.ibis schema inside DuckDB and keep the failing rows, not just a count."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import ibis
import pandas as pd
import pandera.ibis as pa

from schemas._base import LakeTable

MAX_ROWS_SHOWN = 50


@dataclass
class Validation:
    schema: str
    passed: bool
    rows_checked: int
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failure_count(self) -> int:
        return len(self.failures)

    def failing_checks(self) -> list[str]:
        return sorted(self.failures["check"].astype(str).unique()) if len(self.failures) else []


def validate(con: duckdb.DuckDBPyConnection, model: type[LakeTable], sql: str | None = None) -> Validation:
    """Validate the model's lake table, or the rows of `sql` (a check view), with pandera in DuckDB."""
    backend = ibis.duckdb.from_connection(con)
    table = backend.sql(sql) if sql else backend.table(model.table_name())
    rows = int(table.count().execute())
    if rows == 0:
        # pandera.ibis reports not-null failures on an empty table; check only columns and types.
        return Validation(model.table_name(), *_shape_only(model, table))
    try:
        model.validate(table, lazy=True)
    except pa.errors.SchemaErrors as err:
        return Validation(model.table_name(), False, rows, _tidy(err.failure_cases))
    except pa.errors.SchemaError as err:  # a schema-level problem (missing column, wrong type)
        frame = pd.DataFrame([{"check": str(err.check or err.reason_code), "column": None, "failure_case": str(err)}])
        return Validation(model.table_name(), False, rows, frame)
    return Validation(model.table_name(), True, rows)


def _shape_only(model: type[LakeTable], table: ibis.Table) -> tuple[bool, int, pd.DataFrame]:
    actual = table.schema()
    problems = [
        {"check": "column present" if name not in actual else f"dtype('{col.dtype}')", "column": name,
         "failure_case": "missing" if name not in actual else str(actual[name])}
        for name, col in model.columns().items()
        if name not in actual or actual[name].copy(nullable=True) != col.dtype.type.copy(nullable=True)
    ]
    return not problems, 0, pd.DataFrame(problems)


def _tidy(cases: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("check", "column", "failure_case", "index") if c in cases.columns]
    frame = cases[keep].copy()
    frame["check"] = frame["check"].astype(str)
    frame["failure_case"] = frame["failure_case"].map(_plain)
    return frame.reset_index(drop=True)


def _plain(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return "null"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def failures_markdown(result: Validation, limit: int = MAX_ROWS_SHOWN) -> str:
    shown = result.failures.head(limit)
    lines = ["| check | column | failing row |", "|---|---|---|"]
    lines += [f"| {r.check} | {r.column or ''} | {str(r.failure_case).replace('|', '/')} |" for r in shown.itertuples()]
    if len(result.failures) > limit:
        lines.append(f"| … | | {len(result.failures) - limit} more |")
    return "\n".join(lines)
