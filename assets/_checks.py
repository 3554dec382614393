"""The one shape of every asset check's result, written and read back.

Every check, blocking or warning, pandera model or plain query, returns a CheckOutcome (its
offending rows, factledger/validation.py) and reports it here as an AssetCheckResult with the
same metadata keys: `rows_checked`, `failure_count`, `failing_rules`, `failing_rows` (a table
with real columns, empty when the check passes) and `reused_from_run` (the run whose pass was
reused when the check's inputs were unchanged, else null). The run summary, the report and the published
check results read them back with `outcome_of`.
"""
from __future__ import annotations

import datetime as dt

import dagster as dg

from factledger.validation import CheckOutcome

METADATA_KEYS = ("rows_checked", "failure_count", "failing_rules", "failing_rows", "reused_from_run")


def check_result(outcome: CheckOutcome, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
                 reused_from_run: str | None = None) -> dg.AssetCheckResult:
    """The AssetCheckResult of an outcome: passed when no row breaks the check. `reused_from_run`:
    the run whose passing result this is, when the check was skipped (its inputs unchanged)."""
    rules = outcome.rules()
    described = f"{outcome.failure_count} failing row{'s' if outcome.failure_count != 1 else ''}"
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        metadata={
            "rows_checked": outcome.rows_checked,
            "failure_count": outcome.failure_count,
            "failing_rules": dg.MetadataValue.json(rules),
            "failing_rows": _table(outcome),
            "reused_from_run": reused_from_run,
        },
        description=None if outcome.passed else described + (f": {', '.join(rules)}" if rules else ""),
    )


def _table(outcome: CheckOutcome) -> dg.TableMetadataValue:
    records = [{c: _plain(v) for c, v in zip(outcome.columns, row)} for row in outcome.rows]
    columns = [dg.TableColumn(c, _column_type([r[c] for r in records])) for c in outcome.columns]
    return dg.MetadataValue.table(records=[dg.TableRecord(r) for r in records], schema=dg.TableSchema(columns=columns))


def _plain(value):
    """A cell as a table record holds it: numbers and booleans as they are, dates as ISO text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _column_type(values: list) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return "bool"
    if kinds and kinds <= {int}:
        return "int"
    if kinds and kinds <= {int, float}:
        return "float"
    return "string"


def outcome_of(evaluation: dg.AssetCheckEvaluation) -> CheckOutcome | None:
    """The outcome a check reported (None for an evaluation without this shape)."""
    metadata = evaluation.metadata or {}
    table = metadata.get("failing_rows")
    if not isinstance(table, dg.TableMetadataValue):
        return None
    columns = tuple(c.name for c in table.schema.columns)
    rows = tuple(tuple(record.data.get(c) for c in columns) for record in table.records)
    count = metadata.get("failure_count")
    checked = metadata.get("rows_checked")
    return CheckOutcome(columns, rows, int(count.value) if count is not None else len(rows),
                        None if checked is None or checked.value is None else int(checked.value))
