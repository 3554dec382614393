"""When each lake table last changed, read from DuckLake's own snapshot list (which tables each
snapshot inserted into or deleted from): exact, and no pass over any table's rows."""
from __future__ import annotations

import datetime as dt

import duckdb

from factledger.lake import LAKE
from factledger.sql import literal


def _changes_sql(schema: str, snapshots: str, alive: str) -> str:
    """Per table of `schema` alive as `alive` says (a condition on t, its ducklake_table row), the
    last of the snapshots matching `snapshots` that changed it (inserted, deleted, created, altered
    it), and when; tables no such snapshot changed are left out."""
    return f"""
WITH changed AS (
    SELECT snapshot_id, snapshot_time, unnest(flatten(map_values(changes))) AS touched FROM {LAKE}.snapshots() WHERE {snapshots}
)
SELECT t.table_name, max(c.snapshot_id), max(c.snapshot_time)
FROM __ducklake_metadata_{LAKE}.ducklake_table t
JOIN __ducklake_metadata_{LAKE}.ducklake_schema s ON s.schema_id = t.schema_id AND s.schema_name = {literal(schema)} AND s.end_snapshot IS NULL
JOIN changed c ON c.touched IN (CAST(t.table_id AS VARCHAR), {literal(schema + '.')} || t.table_name)
WHERE {alive}
GROUP BY t.table_name
"""


# Per table of the lake's main schema: the last snapshot that changed it, and when.
TABLE_STATES_SQL = _changes_sql("main", "TRUE", "t.end_snapshot IS NULL")


def table_states(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, dt.datetime]]:
    """table -> (the last snapshot that changed it, that snapshot's time)."""
    return {name: (snapshot, at) for name, snapshot, at in con.execute(TABLE_STATES_SQL).fetchall()}


def last_changed_at(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dt.datetime | None:
    """When the last of `tables` last changed; None when one of them is not in the lake."""
    states = table_states(con)
    if any(t not in states for t in tables):
        return None
    return max(states[t][1] for t in tables)


def changed_between(con: duckdb.DuckDBPyConnection, schema: str, after: int, upto: int) -> set[str]:
    """The tables of `schema` that exist at snapshot `upto` and that a snapshot after `after` up to
    `upto` changed (inserted into, deleted from, created, altered). A table of `upto` not among them
    is the same table, holding the same rows, at `after`."""
    alive = f"t.begin_snapshot <= {int(upto)} AND (t.end_snapshot IS NULL OR t.end_snapshot > {int(upto)})"
    rows = con.execute(_changes_sql(schema, f"snapshot_id > {int(after)} AND snapshot_id <= {int(upto)}", alive)).fetchall()
    return {name for name, _, _ in rows}
