"""`factledger sql`, `factledger versions`, `factledger diff`: read published dataset versions.

All three attach the lake READ_ONLY (a SQLite catalog: they answer while a run writes). `sql`
creates views with the published tables' plain names over
`lake.published.<table> AT (VERSION => <the version's snapshot>)`, then locks the connection down
before the analyst's statement runs (see `guard`): READ_ONLY alone does not stop a statement from
ATTACHing the catalog again read-write, reading any file, or COPYing anywhere.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import duckdb

from factledger import catalog, diff, lake, paths, versions
from factledger.catalog import PUBLISHED_TABLES
from factledger.commands import add_warehouse_flag
from factledger import sql

MAX_CELL = 80


def register(sub: argparse._SubParsersAction) -> None:
    sql = sub.add_parser("sql", help="query a published version with SQL (tables by plain name)")
    sql.add_argument("query", help='SQL, e.g. "SELECT * FROM figures WHERE derived"')
    sql.add_argument("--version", type=int, metavar="N", help="dataset version to query (default: the current one)")
    sql.add_argument("--csv", action="store_true", help="print CSV (full values) instead of an aligned table")
    sql.add_argument("--wide", action="store_true", help="aligned table without cutting long cells")
    sql.add_argument("--allow-files", action="append", default=[], metavar="DIR",
                     help="let the query read local files under DIR (read_csv, read_parquet, ...); repeatable. "
                          "Without it the query can read the published tables only")
    add_warehouse_flag(sql)
    sql.set_defaults(func=run_sql)

    versions = sub.add_parser("versions", help="list the published dataset versions")
    versions.add_argument("--csv", action="store_true", help="print CSV instead of an aligned table")
    add_warehouse_flag(versions)
    versions.set_defaults(func=run_versions)

    diff = sub.add_parser("diff", help="what changed between two published versions, per table")
    diff.add_argument("old", type=int, metavar="A", help="the earlier version")
    diff.add_argument("new", type=int, metavar="B", help="the later version")
    diff.add_argument("--csv", action="store_true", help="one CSV row per changed row instead of a report")
    add_warehouse_flag(diff)
    diff.set_defaults(func=run_diff)


@contextlib.contextmanager
def reader(warehouse_flag: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake attached read-only (current snapshot), the in-memory database selected."""
    with lake.connect(paths.warehouse_dir(warehouse_flag), read_only=True) as con:
        con.execute("USE memory")
        yield con


def open_version(con: duckdb.DuckDBPyConnection, version: int | None) -> versions.Version:
    """Views named like the published tables, as of `version`; plus dataset_versions."""
    chosen = versions.resolve(con, version)
    for name in versions.tables_at(con, chosen.snapshot_id):
        con.execute(f"CREATE OR REPLACE VIEW memory.main.{catalog.quote(name)} AS "
                    f"SELECT * FROM {versions.relation_at(name, chosen.snapshot_id)}")
    con.execute("CREATE OR REPLACE VIEW memory.main.dataset_versions AS "
                f"SELECT * FROM lake.main.dataset_versions WHERE version <= {chosen.version}")
    return chosen


# --- the read-only guard of `factledger sql` -----------------------------------------------------

class RefusedQuery(ValueError):
    """An analyst's statement that `factledger sql` will not run."""


# Table functions that write, manage the lake, run other SQL, or reach a database by name. The
# lake is attached READ_ONLY and external access is off, so most would fail anyway; refusing them
# by name gives a clear message and does not depend on each extension honouring READ_ONLY.
REFUSED_FUNCTIONS = frozenset({
    "query", "query_table", "json_execute_serialized_sql", "sqlite_query", "sqlite_attach", "sqlite_scan",
    "postgres_query", "postgres_execute", "postgres_scan", "postgres_attach", "mysql_query", "mysql_execute",
    "checkpoint", "force_checkpoint", "enable_logging", "disable_logging", "truncate_duckdb_logs",
    "enable_profiling", "disable_profiling", "pandas_scan", "arrow_scan", "arrow_scan_dumb", "python_map_function",
    "ducklake_add_data_files", "ducklake_cleanup_old_files", "ducklake_delete_orphaned_files", "ducklake_commit",
    "ducklake_expire_snapshots", "ducklake_flush_inlined_data", "ducklake_merge_adjacent_files",
    "ducklake_rewrite_data_files", "ducklake_set_commit_message", "ducklake_set_option",
})
# Table functions that read files. DuckDB keeps the attached catalog readable even with external
# access off, so these are refused outright unless --allow-files opened reading deliberately.
FILE_FUNCTIONS = frozenset({
    "read_blob", "read_text", "read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_json_objects",
    "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_parquet",
    "parquet_scan", "parquet_metadata", "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata",
    "parquet_full_metadata", "parquet_bloom_probe", "glob", "sniff_csv", "read_duckdb", "read_xlsx", "st_read",
})
# Databases a statement may name: the views `open_version` made live in `memory`.
ALLOWED_CATALOGS = frozenset({"", "memory", "system", "temp"})


def check_statement(con: duckdb.DuckDBPyConnection, query: str, files_allowed: bool = False) -> None:
    """Refuse (RefusedQuery) anything but exactly one SELECT-like statement over the published
    tables (and, when `files_allowed`, files): the statement type comes from DuckDB's own parser,
    not from reading the text. Run it on a locked-down connection: parsing IMPORT DATABASE reads files."""
    try:
        statements = con.extract_statements(query)
    except duckdb.PermissionException as err:  # IMPORT DATABASE reads its files while being parsed
        raise RefusedQuery(f"read-only: only SELECT queries are allowed ({_first_line(err)})") from None
    except duckdb.Error as err:
        raise RefusedQuery(f"cannot parse the query: {_first_line(err)}") from None
    if not statements:
        raise RefusedQuery("the query is empty")
    if len(statements) != 1:
        raise RefusedQuery(f"one statement only: the query has {len(statements)} (separated by ';')")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise RefusedQuery(f"read-only: only SELECT queries are allowed, not {kind.name}"
                           " (no ATTACH, COPY, EXPORT, SET, PRAGMA, INSTALL/LOAD, CALL, CREATE, INSERT, ...)")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()[0])
    if tree.get("error"):  # e.g. a PRAGMA, which the parser turns into a SELECT of a pragma function
        raise RefusedQuery(f"read-only: only plain SELECT queries are allowed ({tree.get('error_message')})")
    for node in _nodes(tree):
        if node.get("type") == "TABLE_FUNCTION" or node.get("class") == "FUNCTION":
            function = node.get("function") if node.get("type") == "TABLE_FUNCTION" else node
            name = str((function or {}).get("function_name", "")).lower()
            if name in REFUSED_FUNCTIONS or f"ducklake_{name}" in REFUSED_FUNCTIONS:
                raise RefusedQuery(f"read-only: function {name}() is not allowed in `factledger sql`")
            if name in FILE_FUNCTIONS and not files_allowed:
                raise RefusedQuery(f"{name}() reads files: `factledger sql` reads the published tables only; "
                                   "pass --allow-files DIR to let it read files under DIR")
        elif node.get("type") == "BASE_TABLE":
            catalog, schema = str(node.get("catalog_name", "")).lower(), str(node.get("schema_name", "")).lower()
            if any(c in str(node.get("table_name", "")) for c in "/\\.:") and not files_allowed:  # FROM 'x.csv'
                raise RefusedQuery(f"FROM {node.get('table_name')!r} reads a file: `factledger sql` reads the published "
                                   "tables only; pass --allow-files DIR to let it read files under DIR")
            named = catalog or schema  # `x.t` is schema x or database x: refuse both readings
            if catalog == "lake" and schema == "published":
                continue
            if catalog not in ALLOWED_CATALOGS or (not catalog and schema not in {"", "main", "information_schema", "pg_catalog"}):
                raise RefusedQuery(
                    f"only the published tables can be queried, by their plain names "
                    f"({', '.join(t.name for t in PUBLISHED_TABLES)}, dataset_versions): "
                    f"{named}.{node.get('table_name')} is not one of them")


def _nodes(tree) -> Iterator[dict]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def lock_down(con: duckdb.DuckDBPyConnection, allow_files: Sequence[str | Path] = ()) -> None:
    """After the lake is attached and the views exist: no file, network or extension access except
    the published tables' own data files and reading under `allow_files`, and no setting can be
    changed back. (The working tables' files under <data path>/main/ stay out of reach.)"""
    row = con.execute("SELECT options FROM duckdb_databases() WHERE database_name = ?", [lake.LAKE]).fetchone()
    data = str(((row[0] if row else None) or {}).get("data_path") or "").rstrip("/")
    folders = [f"{data}/{catalog.PUBLISHED_SCHEMA}/", f"{data}/main/dataset_versions/"] if data else []
    for folder in allow_files:
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(f"--allow-files {folder}: no such directory")
        folders.append(path.as_posix().rstrip("/") + "/")
    con.execute("SET allowed_directories = ?", [folders])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def run_sql(args: argparse.Namespace) -> int:
    with reader(args.warehouse) as con:
        open_version(con, args.version)
        lock_down(con, args.allow_files)
        check_statement(con, args.query, files_allowed=bool(args.allow_files))
        try:
            cursor = con.execute(args.query)
        except duckdb.PermissionException as err:
            raise RefusedQuery(f"{_first_line(err)}: `factledger sql` reads the published tables only; "
                               "pass --allow-files DIR to let it read files under DIR") from None
        except duckdb.Error as err:
            raise ValueError(_first_line(err)) from None
        if cursor.description is None:
            return 0
        header = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    emit(header, rows, args.csv, max_cell=None if args.wide else MAX_CELL)
    return 0


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def run_versions(args: argparse.Namespace) -> int:
    with reader(args.warehouse) as con:
        versions.resolve(con, None)  # a clear error when nothing is published yet
        cursor = con.execute("""
            SELECT version, snapshot_id AS snapshot, strftime(created_at, '%Y-%m-%d %H:%M:%S') AS created_at_utc,
                   coalesce(left(code_version, 12) || CASE WHEN code_version LIKE '%-dirty' THEN '-dirty' ELSE '' END, '') AS code,
                   row_counts, checks_summary AS checks, changes
            FROM lake.main.dataset_versions ORDER BY version""")
        header = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    if not args.csv:
        current = rows[-1][0]
        header = ["", *header]
        rows = [("*" if r[0] == current else "", *r[:4], _counts(r[4]), *r[5:]) for r in rows]
    emit(header, rows, args.csv, max_cell=None)
    return 0


def _counts(row_counts: str) -> str:
    return ", ".join(f"{k} {v}" for k, v in json.loads(row_counts).items())


def run_diff(args: argparse.Namespace) -> int:
    with reader(args.warehouse) as con:
        old, new = versions.resolve(con, args.old), versions.resolve(con, args.new)
        diffs = diff.diff(con, old.snapshot_id, new.snapshot_id)
        if args.csv:
            emit(["table", "change", "key", "article_id", "figure_id", "columns"],
                 [(d.table, *r) for d in diffs for r in d.rows], True)
            return 0
        values = {d.table: changed_values(con, d, old.snapshot_id, new.snapshot_id) for d in diffs if d.count("changed")}
    print(f"version {old.version} (snapshot {old.snapshot_id}) -> version {new.version} (snapshot {new.snapshot_id})")
    for d in diffs:
        print(d.summary())
        for change, key, article_id, figure_id, columns in d.rows:
            about = [f"{label} {value}" for label, value in (("article", article_id), ("figure", figure_id))
                     if value and value != key]
            detail = f" [{', '.join(about)}]" if about else ""
            cols = f": {columns}" if columns else ""
            print(f"  {change:<8} {key}{detail}{cols}")
            for column, before, after in values.get(d.table, {}).get(key, []):
                print(f"             {column}: {_shown(before)} -> {_shown(after)}")
    return 0


def changed_values(con: duckdb.DuckDBPyConnection, d: diff.TableDiff, old_snapshot: int, new_snapshot: int) -> dict[str, list]:
    """For the changed rows of one table: key text -> [(column, old value, new value)] as text."""
    table = catalog.published_table(d.table)
    model = catalog.model_for(d.table)
    if model is None:
        return {}
    a, b = versions.relation_at(d.table, old_snapshot), versions.relation_at(d.table, new_snapshot)
    available = set(versions.columns_at(con, a)) & set(versions.columns_at(con, b))
    key = [k for k in catalog.row_key(model, table) if k in available]
    others = [c for c in catalog.compared_columns(model, table) if c in available and c not in key]
    if not key or not others:
        return {}
    q = catalog.quote
    key_text = " || ' / ' || ".join(f"coalesce(CAST(b.{q(k)} AS VARCHAR), 'NULL')" for k in key)
    cells = ", ".join(f"CASE WHEN a.{q(c)} IS DISTINCT FROM b.{q(c)} THEN [{_literal(c)}, CAST(a.{q(c)} AS VARCHAR), "
                      f"CAST(b.{q(c)} AS VARCHAR)] END" for c in others)
    join = " AND ".join(f"a.{q(k)} IS NOT DISTINCT FROM b.{q(k)}" for k in key)
    rows = con.execute(f"SELECT {key_text}, list_filter([{cells}], lambda x: x IS NOT NULL) "
                       f"FROM (SELECT * FROM {a}) a JOIN (SELECT * FROM {b}) b ON {join} "
                       f"WHERE {' OR '.join(f'a.{q(c)} IS DISTINCT FROM b.{q(c)}' for c in others)}").fetchall()
    return {k: [tuple(v) for v in changes] for k, changes in rows}


_literal = sql.literal  # the one literal quoting (factledger/sql.py)


def _shown(value: str | None, limit: int = 60) -> str:
    if value is None:
        return "null"
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


# --- output ------------------------------------------------------------------------------------


def text(value, max_cell: int | None = MAX_CELL, fold: bool | None = None) -> str:
    """A cell as text; for the aligned table (`fold`, default: when cutting) newlines and runs of
    spaces are folded, and cells longer than `max_cell` are cut with an ellipsis."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, Decimal)):
        value = str(value)
    value = str(value)
    if fold or (fold is None and max_cell is not None):
        value = " ".join(value.split())
    if max_cell is not None and len(value) > max_cell:
        value = value[: max_cell - 1] + "…"
    return value


def emit(header: Sequence[str], rows: Sequence[Sequence], as_csv: bool, max_cell: int | None = MAX_CELL) -> None:
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[text(v, None) for v in row] for row in rows])
        return
    cells = [[text(v, max_cell, fold=True) for v in row] for row in rows]
    cut = max_cell is not None and any(len(text(v, None, fold=True)) > max_cell for row in rows for v in row)
    numeric = [all(isinstance(row[i], (int, float, Decimal)) and not isinstance(row[i], bool) or row[i] is None for row in rows)
               for i in range(len(header))]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))
    note = f"; cells longer than {max_cell} characters are cut (…): --wide or --csv shows them whole" if cut else ""
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{note})")
