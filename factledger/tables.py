"""Create lake tables from their schemas and write Python rows into them."""
from __future__ import annotations

import duckdb
import pyarrow as pa

import schemas
from schemas._base import LakeTable


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create any missing table, all in one lake snapshot (none when nothing is missing)."""
    con.execute("BEGIN")
    for model in schemas.LAKE_TABLES:
        con.execute(model.ddl())
    con.execute("COMMIT")


def insert_rows(con: duckdb.DuckDBPyConnection, model: type[LakeTable], rows: list[dict]) -> int:
    """Append rows (dicts keyed by column) to the model's table; columns a row omits are null."""
    if not rows:
        return 0
    names = model.column_names()
    incoming = pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows])
    con.register("incoming_rows", incoming)
    try:
        con.execute(f"INSERT INTO {model.table_name()} BY NAME SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")
    return len(rows)
