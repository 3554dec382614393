"""Shared pieces of the table schemas: the DuckDB type of each column and reusable checks.

Every lake table is declared once, as a pandera.ibis model in this package; the DDL, the Dagster
column schema and the data dictionary are all generated from it, so they cannot drift apart.
"""
from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import DataFrameModel
from factledger.sql import identifier

# Dimension and measure names are data, declared by each source's descriptor
# (raw/sources/<id>/source.yaml); a cell's identity is defined once, in factledger/cells.py.

QUALIFIERS = ("none", "more_than", "at_least", "nearly", "about", "less_than", "at_most")

# A measure declared with `change_of` is the difference or the percent change of another measure
# between consecutive periods of the same length.
CHANGE_KINDS = ("difference", "percent")
# How a claim that names no value of a dimension is read: at the dimension's total, or left open.
WHEN_UNNAMED = ("total", "any")
DIMS_DESCRIPTION = ("The cell's dimension values as one key: name=value pairs sorted and joined by ', ' "
                    "(e.g. drug=all, jurisdiction=US); empty when the measure has no dimensions.")

SHA256_PATTERN = r"^[0-9a-f]{64}$"

# DuckDB's TIMESTAMP is microseconds; ibis reads it as timestamp(6), so declare it that way.
Timestamp = dt.Timestamp(scale=6)


class LakeTable(DataFrameModel):
    """A table of the lake. Subclasses set `Config.name` (the table's name), a docstring, and
    `_key`: the columns that identify a row (checked unique; publishing diffs versions by it)."""

    _key: tuple[str, ...] = ()
    # A check view sets the SQL of the rows it checks; a table's rows are the table itself.
    _rows_sql: str | None = None
    # An input table says where each row came from: SQL over its rows (aliased t) for the raw
    # file, and for the line in it (a field's line is looked up when only the file is known).
    _file_sql: str | None = None
    _line_sql: str | None = None
    # Columns a failing row shows beside its rule: the key by default (every column without one).
    _shown: tuple[str, ...] = ()
    # A column that every table the check reads has, by which a check after a change can be
    # narrowed: the rows whose value of it is in the tables' change feeds since the last pass are
    # evaluated again, the others passed then and are unchanged. Only valid when a row's outcome
    # depends on the rows of its own value alone, which factledger/validation.py makes sure of for
    # the rules (a rule reads one row, or whole partitions of a window by plain columns: the rows
    # sharing a partition with a changed row are added) but not for a check view's query: it must
    # join its tables on this column (a narrowed pass reads each of them restricted to the changed
    # values: validation.CompiledModel.narrowed).
    _narrow_by: str | None = None
    # False: the table's rows are never inlined in the catalog (DuckLake keeps a small insert's rows
    # in the catalog database, and their min and max values whole beside them: a dataset version's
    # row of input hashes, 10 MB at 100,000 articles, grew the catalog by 30 MB per version).
    _inlined: bool = True

    @classmethod
    def shown(cls) -> tuple[str, ...]:
        return cls._shown or cls._key or tuple(cls.columns())

    @classmethod
    def key(cls) -> tuple[str, ...]:
        return cls._key

    # Inherited checks are reported by their method's name, so the name is the message.
    @pa.dataframe_check
    def key_is_unique(cls, data):
        return unique_key(data.table, *cls._key) if cls._key else ibis.literal(True)

    @classmethod
    def table_name(cls) -> str:
        return cls.Config.name

    @classmethod
    def columns(cls) -> dict:
        return cls.to_schema().columns

    @classmethod
    def ddl(cls, catalog: str = "lake") -> str:
        # Quoted: column names such as `end` are SQL keywords.
        cols = ", ".join(f"{identifier(name)} {duckdb_type(col.dtype.type)}" for name, col in cls.columns().items())
        return f"CREATE TABLE IF NOT EXISTS {catalog}.main.{cls.table_name()} ({cols})"

    @classmethod
    def column_names(cls) -> list[str]:
        return list(cls.columns())


def duckdb_type(ibis_type: dt.DataType) -> str:
    if ibis_type.is_timestamp():
        return "TIMESTAMP"
    return {
        dt.Int64: "BIGINT",
        dt.Int32: "INTEGER",
        dt.String: "VARCHAR",
        dt.Date: "DATE",
        dt.Boolean: "BOOLEAN",
        dt.Float64: "DOUBLE",
    }[type(ibis_type)]


def unique_key(table: ibis.Table, *columns: str) -> dict:
    """A dataframe check output: True where no other row shares the key.

    pandera.ibis's `Field(unique=True)` does not flag duplicates on DuckDB, and a window in a
    plain boolean check is aggregated into invalid SQL; returning a named column avoids both.
    """
    window = ibis.window(group_by=[table[c] for c in columns])
    return {f"{'_'.join(columns)}_unique": table.count().over(window) == 1}
