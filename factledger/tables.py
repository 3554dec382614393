"""Create lake tables from their schemas and write Python rows into them."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

import schemas
from factledger import sql
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
    not_inlined = {f"main.{m.table_name()}" for m in schemas.LAKE_TABLES if not m._inlined}
    already = {scope for name, _, value, _, scope in con.execute("SELECT * FROM lake.options()").fetchall()
               if name == "data_inlining_row_limit" and str(value) == "0"}
    for table in sorted(not_inlined - already):
        con.execute(f"CALL lake.set_option('data_inlining_row_limit', 0, table_name => {sql.literal(table.split('.', 1)[1])})")


def insert_rows(con: duckdb.DuckDBPyConnection, model: type[LakeTable], rows: list[dict]) -> int:
    """Append rows (dicts keyed by column) to the model's table; columns a row omits are null."""
    if not rows:
        return 0
    names = model.column_names()
    incoming = pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows])
    execute_over(con, f"INSERT INTO {model.table_name()} BY NAME SELECT * FROM {ARROW_ROWS}", incoming)
    return len(rows)


# The name a statement given to `execute_over` reads its Arrow rows by.
ARROW_ROWS = "factledger_arrow_rows"


def execute_over(con: duckdb.DuckDBPyConnection, statement: str, rows: pa.Table) -> duckdb.DuckDBPyConnection:
    """Run `statement`, in which the table named ARROW_ROWS is `rows`.

    The rows are found by DuckDB's replacement scan (a Python variable of that name in this frame),
    not by `con.register`: a view registered and unregistered inside a transaction keeps its Arrow
    data alive until the commit, so a run writing a million rows in batches in one transaction
    held every batch (measured: +470 bytes per claim row, 1.5 GB more at 100,000 articles)."""
    factledger_arrow_rows = rows  # noqa: F841 - read by DuckDB's replacement scan, by name
    return con.execute(statement)


# Parquet row groups of about this many bytes of values, for the exports' COPY and the published
# tables DuckLake writes. Both size groups in rows (122,880 by default), and a sorted write holds
# a whole group in memory: 122,880 articles of ~7 KB of text each (860 MB) ran out of a 1 GB memory
# limit at 100,000 articles; groups of 16 MB fit.
PARQUET_GROUP_BYTES = 16 * 2**20
MIN_GROUP_ROWS, MAX_GROUP_ROWS = 1_024, 122_880


def group_rows(rows: int, text_bytes: int, columns: int, target: int = PARQUET_GROUP_BYTES) -> int:
    """Rows per Parquet row group for a table of `rows` rows whose text columns hold `text_bytes`
    in all: about `target` bytes a group (8 bytes counted per value besides the text)."""
    width = 8 * columns + (text_bytes / rows if rows else 0)
    return max(MIN_GROUP_ROWS, min(MAX_GROUP_ROWS, int(target / width)))


@dataclass(frozen=True)
class Measured:
    """A relation's size: rows, bytes of values (text bytes plus 8 a value of another type) and
    the Parquet row group `group_rows` gives it."""
    rows: int
    bytes: int
    group_rows: int


def measure(con: duckdb.DuckDBPyConnection, relation: str) -> Measured:
    """`relation`'s size, its text measured in one pass over its text columns only."""
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    text = [sql.identifier(name) for name, type_, *_ in described if str(type_).upper() == "VARCHAR"]
    total = " + ".join(f"coalesce(sum(strlen({c})), 0)" for c in text) or "0"
    rows, text_bytes = con.execute(f"SELECT count(*), {total} FROM {relation}").fetchone()
    return Measured(rows, int(text_bytes) + 8 * rows * (len(described) - len(text)),
                    group_rows(rows, int(text_bytes), len(described)))


def parquet_group_rows(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    """`group_rows` for `relation` (see `measure`)."""
    return measure(con, relation).group_rows
