"""Finding published dataset versions again: `lake.main.dataset_versions`, and the published
tables as of a version's snapshot."""
from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from factledger.catalog import PUBLISHED_SCHEMA, PUBLISHED_TABLES, lake_tables, quote


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


def relation_at(name: str, snapshot_id: int) -> str:
    """SQL naming published table `name` as of a snapshot."""
    return f"lake.{PUBLISHED_SCHEMA}.{quote(name)} AT (VERSION => {int(snapshot_id)})"


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
