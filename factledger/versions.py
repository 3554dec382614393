"""Finding published dataset versions again: `lake.main.dataset_versions`, and the published
tables as of a version's snapshot."""
from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from factledger.catalog import PUBLISHED_SCHEMA, PUBLISHED_TABLES, lake_tables, quote
from factledger.lake import LAKE
from factledger.sql import identifiers, literal


@dataclass(frozen=True)
class Version:
    version: int
    snapshot_id: int
    content_hash: str  # the `fingerprint` column: inputs and published content, hashed together
    row_counts: dict[str, int]


def versions(con: duckdb.DuckDBPyConnection) -> list[Version]:
    if "dataset_versions" not in lake_tables(con, "main"):
        return []
    return [
        Version(v, s, f, json.loads(c))
        for v, s, f, c in con.execute(
            "SELECT version, snapshot_id, fingerprint, row_counts FROM lake.main.dataset_versions ORDER BY version"
        ).fetchall()
    ]


def current_version(con: duckdb.DuckDBPyConnection) -> Version | None:
    rows = versions(con)
    return rows[-1] if rows else None


def resolve(con: duckdb.DuckDBPyConnection, version: int | None) -> Version:
    """The given version, or the current one; ValueError when there is none."""
    known = versions(con)
    if not known:
        raise ValueError("no dataset version has been published yet: run `factledger run` first")
    if version is None:
        return known[-1]
    for v in known:
        if v.version == version:
            return v
    raise ValueError(f"unknown version {version}: published versions are {known[0].version}..{known[-1].version}")


def version_row(con: duckdb.DuckDBPyConnection, version: int) -> dict | None:
    """The version's `dataset_versions` row as a dict."""
    cur = con.execute("SELECT * FROM lake.main.dataset_versions WHERE version = ?", [version])
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row))


def relation_at(name: str, snapshot_id: int, schema: str = PUBLISHED_SCHEMA) -> str:
    """SQL naming published table `name` (or a table of `schema`) as of a snapshot."""
    return f"lake.{schema}.{quote(name)} AT (VERSION => {int(snapshot_id)})"


def tables_at(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> list[str]:
    """Published tables that exist at a snapshot, in PUBLISHED_TABLES order."""
    found = []
    for table in PUBLISHED_TABLES:
        try:
            con.execute(f"SELECT 1 FROM {relation_at(table.name, snapshot_id)} LIMIT 0")
        except duckdb.Error:
            continue
        found.append(table.name)
    return found


def columns_at(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]


def table_ids_at(con: duckdb.DuckDBPyConnection, name: str, *snapshot_ids: int, schema: str = PUBLISHED_SCHEMA) -> list[int | None]:
    """The DuckLake table id of published table `name` (or a table of `schema`) at each snapshot
    (None: absent then). A table written whole (`CREATE OR REPLACE`) gets a new id."""
    at = lambda s: f"t.begin_snapshot <= {int(s)} AND (t.end_snapshot IS NULL OR t.end_snapshot > {int(s)})"  # noqa: E731
    row = con.execute(
        "SELECT " + ", ".join(f"max(t.table_id) FILTER ({at(s)})" for s in snapshot_ids) + " "
        f"FROM __ducklake_metadata_{LAKE}.ducklake_table t "
        f"JOIN __ducklake_metadata_{LAKE}.ducklake_schema s ON s.schema_id = t.schema_id "
        "WHERE s.schema_name = ? AND t.table_name = ?", [schema, name]).fetchone()
    return list(row)


def change_feed(name: str, old_snapshot: int, new_snapshot: int, schema: str = PUBLISHED_SCHEMA) -> str:
    """SQL: the rows of published table `name` (or a table of `schema`) inserted or deleted after
    `old_snapshot` up to `new_snapshot` (DuckLake's change feed; meaningful when same_table says so)."""
    return (f"ducklake_table_changes({literal(LAKE)}, {literal(schema)}, {literal(name)}, "
            f"{int(old_snapshot) + 1}, {int(new_snapshot)})")


def same_table(con: duckdb.DuckDBPyConnection, name: str, old_snapshot: int, new_snapshot: int,
               schema: str = PUBLISHED_SCHEMA) -> bool:
    """Whether published table `name` (or a table of `schema`) is one table with the same columns at both snapshots (not
    created, replaced or altered in between), so that its change feed says every row that differs;
    False when the catalog cannot say."""
    try:
        old_id, new_id = table_ids_at(con, name, old_snapshot, new_snapshot, schema=schema)
        if old_id is None or old_id != new_id:
            return False
        described = [con.execute(f"DESCRIBE SELECT * FROM {relation_at(name, s, schema)}").fetchall() for s in (old_snapshot, new_snapshot)]
    except duckdb.Error:
        return False
    return described[0] == described[1]


def changed_keys(con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...] | list[str], old_snapshot: int,
                 new_snapshot: int, schema: str = PUBLISHED_SCHEMA, limit: int | None = None) -> list[tuple] | None:
    """The distinct `columns` of the rows of published table `name` (or a table of `schema`)
    inserted or deleted between two snapshots (the change feed: no table is read): [] when none
    (or the table is absent at both); None when that cannot be told (see same_table), or when
    there are more than `limit`."""
    if old_snapshot == new_snapshot:
        return []
    try:
        if table_ids_at(con, name, old_snapshot, new_snapshot, schema=schema) == [None, None]:
            return []
        if not same_table(con, name, old_snapshot, new_snapshot, schema):
            return None
        cap = f" LIMIT {int(limit) + 1}" if limit is not None else ""
        rows = con.execute(f"SELECT DISTINCT {identifiers(columns)} "
                           f"FROM {change_feed(name, old_snapshot, new_snapshot, schema)}{cap}").fetchall()
    except duckdb.Error:
        return None
    return None if limit is not None and len(rows) > limit else [tuple(r) for r in rows]


def changed_values(con: duckdb.DuckDBPyConnection, name: str, column: str, old_snapshot: int, new_snapshot: int,
                   schema: str = PUBLISHED_SCHEMA, limit: int | None = None) -> set | None:
    """`changed_keys` of one column, as a set of its values."""
    keys = changed_keys(con, name, (column,), old_snapshot, new_snapshot, schema, limit)
    return None if keys is None else {k[0] for k in keys}
