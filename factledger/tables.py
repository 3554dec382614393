"""Create lake tables from their schemas and write Python rows into them."""
from __future__ import annotations

import duckdb
import pyarrow as pa

import schemas
from schemas._base import LakeTable


class WarehouseSchemaError(RuntimeError):
    """The lake was written by a factledger whose tables have other columns."""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create any missing table, all in one lake snapshot (none when nothing is missing). A table
    that exists with other columns (a warehouse written by an earlier version) stops the run with
    what to do: rows of two layouts are never mixed."""
    existing: dict[str, list[str]] = {}
    for table, column in con.execute("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_catalog = current_database() AND table_schema = 'main' ORDER BY table_name, ordinal_position""").fetchall():
        existing.setdefault(table, []).append(column)
    stale = []
    for model in schemas.LAKE_TABLES:
        have = existing.get(model.table_name())
        if have is not None and have != model.column_names():
            missing = [c for c in model.column_names() if c not in have]
            extra = [c for c in have if c not in model.column_names()]
            stale.append(f"{model.table_name()} (lacks {', '.join(missing) or 'nothing'}; has {', '.join(extra) or 'no extra columns'})")
    if stale:
        raise WarehouseSchemaError(
            "this lake was written by an earlier factledger with other table layouts: " + "; ".join(stale)
            + ". Its published versions stay readable with that version. To rebuild from raw/ with this one, move the "
            "warehouse folder aside (or point --warehouse / FACTLEDGER_WAREHOUSE at a new folder) and run again.")
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
