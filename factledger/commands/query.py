"""`factledger sql`, `factledger versions`, `factledger diff`: read published dataset versions.

All three attach the lake READ_ONLY (a SQLite catalog: they answer while a run writes, and no
statement can change the lake). `sql` creates views with the published tables' plain names over
`lake.published.<table> AT (VERSION => <the version's snapshot>)`.
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

import duckdb

from factledger import lake, paths, publish
from factledger.commands import add_warehouse_flag

MAX_CELL = 80


def register(sub: argparse._SubParsersAction) -> None:
    sql = sub.add_parser("sql", help="query a published version with SQL (tables by plain name)")
    sql.add_argument("query", help='SQL, e.g. "SELECT * FROM figures WHERE derived"')
    sql.add_argument("--version", type=int, metavar="N", help="dataset version to query (default: the current one)")
    sql.add_argument("--csv", action="store_true", help="print CSV (full values) instead of an aligned table")
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


def open_version(con: duckdb.DuckDBPyConnection, version: int | None) -> publish.Version:
    """Views named like the published tables, as of `version`; plus dataset_versions."""
    chosen = publish.resolve(con, version)
    for name in publish.tables_at(con, chosen.snapshot_id):
        con.execute(f"CREATE OR REPLACE VIEW memory.main.{publish.quote(name)} AS "
                    f"SELECT * FROM {publish.relation_at(name, chosen.snapshot_id)}")
    con.execute("CREATE OR REPLACE VIEW memory.main.dataset_versions AS "
                f"SELECT * FROM lake.main.dataset_versions WHERE version <= {chosen.version}")
    return chosen


def run_sql(args: argparse.Namespace) -> int:
    with reader(args.warehouse) as con:
        open_version(con, args.version)
        try:
            cursor = con.execute(args.query)
        except duckdb.Error as err:
            raise ValueError(str(err).splitlines()[0]) from None
        if cursor.description is None:
            return 0
        header = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    emit(header, rows, args.csv)
    return 0


def run_versions(args: argparse.Namespace) -> int:
    with reader(args.warehouse) as con:
        publish.resolve(con, None)  # a clear error when nothing is published yet
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
        old, new = publish.resolve(con, args.old), publish.resolve(con, args.new)
        diffs = publish.diff(con, old.snapshot_id, new.snapshot_id)
    if args.csv:
        emit(["table", "change", "key", "article_id", "figure_id", "columns"],
             [(d.table, *r) for d in diffs for r in d.rows], True)
        return 0
    print(f"version {old.version} (snapshot {old.snapshot_id}) -> version {new.version} (snapshot {new.snapshot_id})")
    for d in diffs:
        print(d.summary())
        for change, key, article_id, figure_id, columns in d.rows:
            about = [f"{label} {value}" for label, value in (("article", article_id), ("figure", figure_id))
                     if value and value != key]
            detail = f" [{', '.join(about)}]" if about else ""
            cols = f": {columns}" if columns else ""
            print(f"  {change:<8} {key}{detail}{cols}")
    return 0


# --- output ------------------------------------------------------------------------------------


def text(value, max_cell: int | None = MAX_CELL) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, Decimal)):
        value = str(value)
    value = str(value)
    if max_cell is not None:
        value = " ".join(value.split())
        if len(value) > max_cell:
            value = value[: max_cell - 1] + "…"
    return value


def emit(header: Sequence[str], rows: Sequence[Sequence], as_csv: bool, max_cell: int | None = MAX_CELL) -> None:
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[text(v, None) for v in row] for row in rows])
        return
    cells = [[text(v, max_cell) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float, Decimal)) and not isinstance(row[i], bool) or row[i] is None for row in rows)
               for i in range(len(header))]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
