"""When each lake table last changed, read from DuckLake's own snapshot list (which tables each
snapshot inserted into or deleted from): exact, and no pass over any table's rows."""
from __future__ import annotations

import datetime as dt

import duckdb

from factledger.lake import LAKE

# Per table of the lake's main schema: the last snapshot that changed it, and when.
TABLE_STATES_SQL = f"""
WITH changed AS (
    SELECT snapshot_id, snapshot_time, unnest(flatten(map_values(changes))) AS touched FROM {LAKE}.snapshots()
)
SELECT t.table_name, max(c.snapshot_id), max(c.snapshot_time)
FROM __ducklake_metadata_{LAKE}.ducklake_table t
JOIN __ducklake_metadata_{LAKE}.ducklake_schema s ON s.schema_id = t.schema_id AND s.schema_name = 'main' AND s.end_snapshot IS NULL
JOIN changed c ON c.touched IN (CAST(t.table_id AS VARCHAR), 'main.' || t.table_name)
WHERE t.end_snapshot IS NULL
GROUP BY t.table_name
"""


def table_states(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, dt.datetime]]:
    """table -> (the last snapshot that changed it, that snapshot's time)."""
    return {name: (snapshot, at) for name, snapshot, at in con.execute(TABLE_STATES_SQL).fetchall()}


def last_changed_at(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dt.datetime | None:
    """When the last of `tables` last changed; None when one of them is not in the lake."""
    states = table_states(con)
    if any(t not in states for t in tables):
        return None
    return max(states[t][1] for t in tables)
