"""Publishing: bring `lake.published` up to date with the cleaned tables as a new dataset version,
when the inputs or the published content changed.

A version is two DuckLake commits. The first updates every `published.<table>` and appends the
run's check results (one snapshot: the version's data). The second appends the `dataset_versions`
row pointing at that snapshot; only then is the version current. A crash in between leaves an
orphan snapshot that no version points to, and the previous version stays current; the next
attempt at that version number replaces (never adds to) the orphan's check results, so a
recovered version has exactly one run's checks.

The published tables are updated in place, by difference: rows that are no longer in the working
table (or differ from it in any column) are deleted, rows that are new (or differ) are inserted,
unchanged rows are not touched. DuckLake keeps every snapshot, so a version's tables read
`AT (VERSION => snapshot_id)` are exactly what was published then, and a one-article change
writes one article's rows. A table published for the first time, or whose columns changed, is
written whole.

The pieces: catalog.py (the published tables), provenance.py (hashes and code version),
versions.py (finding versions), diff.py (comparing them), checkrecords.py (checks in words).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from factledger.catalog import (PUBLISHED_SCHEMA, PublishedTable, compared_columns, lake_tables, plan, quote, row_key,
                                source_sql)
from factledger.checkrecords import checks_summary
from factledger.diff import TableDiff, changes_summary, diff
from factledger.provenance import code_sha256, content_hash, git_commit, input_hashes, table_hash, updated_table_hash
from factledger import sql, tables
from factledger.versions import current_version, version_row
from schemas._base import LakeTable, duckdb_type
from schemas.published import CheckResults, DatasetVersions


@dataclass
class Outcome:
    published: bool
    version: int
    snapshot_id: int
    summary: str
    skipped: dict[str, str] = field(default_factory=dict)
    diffs: list[TableDiff] = field(default_factory=list)  # counts per table (no rows fetched)
    row_counts: dict[str, int] = field(default_factory=dict)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _stage_checks(con: duckdb.DuckDBPyConnection, checks: list[dict]) -> None:
    """The run's check results as temp table run_checks (CheckResults' columns less version)."""
    check_names = [c for c in CheckResults.column_names() if c != "version"]
    staged = [{n: c.get(n) for n in check_names} for c in checks]
    con.execute("CREATE OR REPLACE TEMP TABLE run_checks AS SELECT * FROM (SELECT "
                + ", ".join(f"NULL::{_type(CheckResults, n)} AS {n}" for n in check_names) + ") WHERE FALSE")
    if staged:
        import pyarrow as pa  # local: only needed here

        tables.execute_over(con, f"INSERT INTO run_checks BY NAME SELECT {', '.join(check_names)} FROM {tables.ARROW_ROWS}",
                            pa.Table.from_pylist(staged))


def _source(table: PublishedTable, model: type[LakeTable], version_sql: str = "NULL::BIGINT") -> str:
    if table.name == "check_results":
        return f"(SELECT {version_sql} AS version, * FROM temp.main.run_checks)"
    return source_sql(table, model)


def _described(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], str(r[1])) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def size_row_groups(con: duckdb.DuckDBPyConnection, relation: str) -> tables.Measured:
    """Have DuckLake write the published tables' Parquet in row groups sized for `relation`'s rows
    (tables.parquet_group_rows), before a sorted write of many of them: a group of DuckLake's
    default 122,880 rows of articles is ~860 MB held at once. Returns what was measured."""
    measured = tables.measure(con, relation)
    con.execute(f"CALL lake.set_option('parquet_row_group_size', {measured.group_rows}, "
                f"schema => {sql.literal(PUBLISHED_SCHEMA)})")
    return measured


# A table written whole is written in key ranges of about this many bytes of values, each sorted on
# its own: one sort of every claim (1.5 million rows at 100,000 articles) took DuckDB's whole memory
# limit on top of what the run's process held (the run's peak, 1.6 GB).
SORTED_RANGE_BYTES = 64 * 2**20


def write_sorted(con: duckdb.DuckDBPyConnection, target: str, relation: str, key: tuple[str, ...],
                 measured: tables.Measured) -> int:
    """Replace table `target` by the rows of `relation` sorted by the columns of `key`, in ranges of its first column of about SORTED_RANGE_BYTES each, so that no sort holds the whole
    table; the table is the same, row for row and in order, as one sorted write. Returns the
    number of ranges written."""
    order = sql.identifiers(key)
    ranges = max(1, round(measured.bytes / SORTED_RANGE_BYTES))
    if ranges == 1:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {relation} ORDER BY {order}")
        return 1
    first = quote(key[0])
    cuts = sorted(set(con.execute(
        f"SELECT quantile_disc({first}, {[i / ranges for i in range(1, ranges)]}) FROM {relation}").fetchone()[0] or []))
    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {relation} WHERE FALSE")
    bounds = [None, *cuts, None]
    for low, high in zip(bounds, bounds[1:]):
        where = " AND ".join([*([f"{first} >= ?"] if low is not None else []), *([f"{first} < ?"] if high is not None else [])])
        if high is None:  # NULLs sort last: the last range holds them
            where = f"({where}) OR {first} IS NULL" if where else "TRUE"
        con.execute(f"INSERT INTO {target} SELECT * FROM {relation} WHERE {where} ORDER BY {order}",
                    [b for b in (low, high) if b is not None])
    return len(bounds) - 1


def update_table(con: duckdb.DuckDBPyConnection, name: str, relation: str, key: tuple[str, ...], existing: set[str]) -> str:
    """Make `lake.published.<name>` hold exactly the rows of `relation`, in the order of `key` (its
    row key's columns); returns how ('created', 'replaced', 'updated' or 'unchanged'). Rows are
    matched on every column (the published tables' keys are unique, so no row is duplicated)."""
    order = sql.identifiers(key)
    target = f"lake.{PUBLISHED_SCHEMA}.{quote(name)}"
    measured = size_row_groups(con, relation)
    if name not in existing or _described(con, target) != _described(con, relation):
        write_sorted(con, target, relation, key, measured)
        return "replaced" if name in existing else "created"
    columns = [c for c, _ in _described(con, target)]
    same = " AND ".join(f"p.{quote(c)} IS NOT DISTINCT FROM s.{quote(c)}" for c in columns)
    # New (or differing) rows first, then whatever the working table no longer has: the rows just
    # inserted are in it, the ones they replace are not.
    added = con.execute(f"INSERT INTO {target} SELECT * FROM {relation} s "
                        f"WHERE NOT EXISTS (SELECT 1 FROM {target} p WHERE {same}) ORDER BY {order}").fetchone()[0]
    removed = con.execute(f"DELETE FROM {target} p WHERE NOT EXISTS (SELECT 1 FROM {relation} s WHERE {same})").fetchone()[0]
    return "updated" if removed or added else "unchanged"


# The commit message of a version's first commit (its data); the latest such snapshot is where the
# published tables were last brought up to date.
DATA_COMMIT = "factledger: publish tables of dataset version {version} (run {run_id})"
DATA_COMMIT_LIKE = "factledger: publish tables of dataset version %"


def last_data_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The snapshot of the last commit that wrote the published tables (a killed attempt's too)."""
    return con.execute("SELECT max(snapshot_id) FROM lake.snapshots() WHERE commit_message LIKE ?", [DATA_COMMIT_LIKE]).fetchone()[0]


def _created_at(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> int | None:
    """The snapshot that created the live table `schema.name` (None when the catalog cannot say)."""
    try:
        row = con.execute(
            "SELECT max(t.begin_snapshot) FROM __ducklake_metadata_lake.ducklake_table t "
            "JOIN __ducklake_metadata_lake.ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL "
            "WHERE s.schema_name = ? AND t.table_name = ? AND t.end_snapshot IS NULL", [schema, name]).fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


@dataclass(frozen=True)
class RowKey:
    """A published table's row key (catalog.row_key) and which of its columns may be NULL."""
    columns: tuple[str, ...]
    nullable: frozenset[str] = frozenset()

    @classmethod
    def of(cls, model: type[LakeTable], table: PublishedTable) -> "RowKey":
        key = row_key(model, table)
        return cls(key, frozenset(c for c in key if model.columns()[c].nullable))

    def match(self, a: str, b: str) -> str:
        """SQL: rows `a` and `b` have the same key. `=` where a column cannot be NULL: DuckDB
        pushes an equality join's keys into the other side's scan (one article's row groups are
        read), where `IS NOT DISTINCT FROM` read every row (1.9 s for the digests of one article's
        claims at 100,000 articles, against 0.07 s)."""
        return " AND ".join(f"{a}.{quote(k)} {'IS NOT DISTINCT FROM' if k in self.nullable else '='} {b}.{quote(k)}"
                            for k in self.columns)


def _keyed(relation: str, key: RowKey, keys: str) -> str:
    """SQL: the rows of `relation` whose key is in temp table `keys`. A semi join, so that DuckDB
    selects the rows before it computes anything over them: with `WHERE EXISTS` it computed the
    digests of all 1.5 million claims at 100,000 articles (15 s) to keep one article's, and an
    INSERT read every row's columns (10 s)."""
    return f"(SELECT r.* FROM {relation} r SEMI JOIN {keys} k ON {key.match('k', 'r')})"


def stage_changed_keys(con: duckdb.DuckDBPyConnection, work, base: int | None) -> dict[str, str]:
    """For each published table whose change since snapshot `base` (when the published tables were
    last written from the working tables) can be told from DuckLake's change feed: a temp table
    of the keys whose rows may differ, by name. The keys are those of the working table's rows
    inserted or deleted since `base`, plus every row of an article that changed or entered or left
    the published articles (retired, quarantined, back). Tables missing here are compared whole."""
    if base is None:
        return {}
    current = con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
    published = lake_tables(con, PUBLISHED_SCHEMA)
    feed = lambda name: f"ducklake_table_changes('lake', 'main', {sql.literal(name)}, {int(base) + 1}, {int(current)})"  # noqa: E731
    usable = {}
    for table, model in work.tables:
        created = _created_at(con, "main", table.name)
        if table.name == "check_results" or table.name not in published or created is None or created > base:
            continue
        usable[table.name] = (table, model)
    if "articles" not in usable:
        return {}
    staged = {}
    try:
        articles_table, articles_model = usable["articles"]
        if current > base:
            changed_articles = f"SELECT article_id FROM {feed('articles')}"
        else:
            changed_articles = "SELECT NULL::VARCHAR AS article_id WHERE FALSE"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE publish_changed_articles AS
            {changed_articles}
            UNION (SELECT article_id FROM lake.{PUBLISHED_SCHEMA}.articles EXCEPT SELECT article_id FROM {source_sql(articles_table, articles_model)})
            UNION (SELECT article_id FROM {source_sql(articles_table, articles_model)} EXCEPT SELECT article_id FROM lake.{PUBLISHED_SCHEMA}.articles)""")
        for name, (table, model) in usable.items():
            key = row_key(model, table)
            cols = sql.identifiers(key)
            parts = [f"SELECT {cols} FROM {feed(name)}"] if current > base else []
            if "article_id" in model.column_names():
                parts.append(f"SELECT {cols} FROM lake.main.{quote(name)} WHERE article_id IN (SELECT article_id FROM temp.main.publish_changed_articles)")
                parts.append(f"SELECT {cols} FROM lake.{PUBLISHED_SCHEMA}.{quote(name)} WHERE article_id IN (SELECT article_id FROM temp.main.publish_changed_articles)")
            keys = f"temp.main.publish_keys_{name}"
            body = " UNION ".join(parts) if parts else f"SELECT {cols} FROM lake.main.{quote(name)} WHERE FALSE"
            con.execute(f"CREATE OR REPLACE TEMP TABLE publish_keys_{name} AS {body}")
            staged[name] = keys
    except duckdb.Error:
        return {}
    return staged


def update_by_keys(con: duckdb.DuckDBPyConnection, name: str, relation: str, key: RowKey, keys: str) -> str:
    """Replace the rows of `lake.published.<name>` whose key is in temp table `keys` by those of
    `relation`; then check that the published table has as many rows as `relation` (else it is
    compared whole: never a wrong table). Returns how, like update_table; '... by key' when only
    the rows of `keys` can differ from before."""
    target = f"lake.{PUBLISHED_SCHEMA}.{quote(name)}"
    if _described(con, target) != _described(con, relation):
        return update_table(con, name, relation, key.columns, {name})
    n_keys = con.execute(f"SELECT count(*) FROM {keys}").fetchone()[0]
    if not n_keys:
        return "unchanged by key"
    if n_keys > tables.MIN_GROUP_ROWS:  # (fewer rows are one group whatever the setting)
        size_row_groups(con, relation)
    con.execute(f"DELETE FROM {target} p WHERE EXISTS (SELECT 1 FROM {keys} k WHERE {key.match('k', 'p')})")
    con.execute(f"INSERT INTO {target} SELECT * FROM {_keyed(relation, key, keys)} ORDER BY {sql.identifiers(key.columns)}")
    if con.execute(f"SELECT count(*) FROM {target}").fetchone()[0] != con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]:
        return update_table(con, name, relation, key.columns, {name})
    return "updated by key"


def publish(con: duckdb.DuckDBPyConnection, checks: list[dict], run_id: str | None = None,
            log=lambda message: None) -> Outcome:
    """Publish a new dataset version when the inputs or the published content changed.

    `checks`: the run's check results as dicts keyed by CheckResults' columns (without version).
    `con`: a read-write connection with the lake attached as `lake`.
    """
    for path in remove_orphaned_files(con, ORPHAN_GRACE):
        log(f"publish: removed {path}, a data file no snapshot references (left by a killed writer)")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS lake.{PUBLISHED_SCHEMA}")
    work = plan(con)
    for name, why in work.skipped.items():
        log(f"publish: skipping {name}: {why}")
    _stage_checks(con, checks)

    current = current_version(con)
    base = last_data_snapshot(con)
    changed_keys = stage_changed_keys(con, work, base)
    # A table none of whose rows can have changed since the current version's data was written
    # keeps that version's hash; one with changed keys has it updated from those keys' rows (the
    # published rows before, the working rows after): only what changed is hashed again.
    known = json.loads(version_row(con, current.version)["table_hashes"]) if current is not None and base == current.snapshot_id else {}
    hashes = {}
    for t, m in work.tables:
        keys = changed_keys.get(t.name)
        published = f"lake.{PUBLISHED_SCHEMA}.{quote(t.name)}"
        updated = None
        if t.name in known and keys is not None and _described(con, published) == _described(con, _source(t, m)):
            if not con.execute(f"SELECT count(*) FROM {keys}").fetchone()[0]:
                updated = known[t.name]
            else:  # the published rows are those the known hash counted: only the changed keys' rows are hashed
                key = RowKey.of(m, t)
                updated = updated_table_hash(con, known[t.name], _keyed(published, key, keys),
                                             _keyed(_source(t, m), key, keys), compared_columns(m, t))
        hashes[t.name] = updated or table_hash(con, _source(t, m), compared_columns(m, t))
    inputs = input_hashes(con)
    new_hash = content_hash(inputs, hashes)
    if current is not None and current.content_hash == new_hash:
        return Outcome(False, current.version, current.snapshot_id,
                       f"no change: version {current.version} stays current", work.skipped, row_counts=current.row_counts)

    version = (current.version if current else 0) + 1
    n_passed, n_failed, checks_text = checks_summary(checks)
    counts = {}
    existing = lake_tables(con, PUBLISHED_SCHEMA)
    by_key = set(changed_keys)
    con.execute("BEGIN")
    try:
        for table, model in work.tables:
            if table.name == "check_results":
                # Rows already numbered `version` come from an attempt killed before its version row
                # was committed (that version never became current): replace them, never add to them.
                con.execute(f"DELETE FROM lake.main.check_results WHERE version = {version}")
                con.execute(f"INSERT INTO lake.main.check_results BY NAME {_source(table, model, str(version))}")
                relation = f"(SELECT * FROM lake.main.check_results WHERE version = {version})"
            else:
                relation = _source(table, model)
            key = RowKey.of(model, table)
            if table.name in changed_keys:
                if not update_by_keys(con, table.name, relation, key, changed_keys[table.name]).endswith("by key"):
                    by_key.discard(table.name)  # compared whole after all: so is its diff
            else:
                update_table(con, table.name, relation, key.columns, existing)
            counts[table.name] = con.execute(f"SELECT count(*) FROM lake.{PUBLISHED_SCHEMA}.{quote(table.name)}").fetchone()[0]
        # A table published before but not buildable now leaves the published set.
        for stale in lake_tables(con, PUBLISHED_SCHEMA) - {t.name for t, _ in work.tables}:
            con.execute(f"DROP TABLE lake.{PUBLISHED_SCHEMA}.{quote(stale)}")
        message = DATA_COMMIT.format(version=version, run_id=run_id)
        con.execute("CALL lake.set_commit_message('factledger', ?)", [message])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    snapshot_id = con.execute(
        "SELECT max(snapshot_id) FROM lake.snapshots() WHERE commit_message = ?", [message]).fetchone()[0]

    # Rows outside the changed keys are the same in both versions when the published tables were
    # last written by the current version (not by an attempt killed since).
    only = {n: k for n, k in changed_keys.items() if n in by_key} if current is not None and base == current.snapshot_id else None
    diffs = diff(con, current.snapshot_id if current else None, snapshot_id, limit=0, only=only)
    changes = changes_summary(diffs)
    row = {
        "version": version, "snapshot_id": snapshot_id, "created_at": utc_now(), "run_id": run_id,
        "code_version": git_commit(), "code_sha256": code_sha256(), "fingerprint": new_hash,
        "input_hashes": json.dumps(inputs, sort_keys=True), "table_hashes": json.dumps(hashes, sort_keys=True),
        "row_counts": json.dumps(counts), "checks_passed": n_passed, "checks_failed": n_failed,
        "checks_summary": checks_text, "changes": changes,
    }
    con.execute("BEGIN")
    try:
        tables.insert_rows(con, DatasetVersions, [row])
        con.execute("CALL lake.set_commit_message('factledger', ?)", [f"factledger: dataset version {version} is current"])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    changed_tables = sum(1 for d in diffs if d.changed)
    summary = f"published version {version} ({changed_tables} table{'s' if changed_tables != 1 else ''} changed: {changes})"
    return Outcome(True, version, snapshot_id, summary, work.skipped, diffs, counts)


# A data file no snapshot references is removed once it is this old: a writer killed mid-commit
# leaves its Parquet files behind; a live writer's uncommitted files are younger than this.
ORPHAN_GRACE = dt.timedelta(minutes=15)


def remove_orphaned_files(con: duckdb.DuckDBPyConnection, older_than: dt.timedelta = ORPHAN_GRACE) -> list[str]:
    """Delete the lake's data files that no snapshot references and that are older than
    `older_than` (DuckLake's own ducklake_delete_orphaned_files); returns their paths."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    try:
        rows = con.execute("SELECT * FROM ducklake_delete_orphaned_files('lake', older_than => ?)", [cutoff]).fetchall()
    except duckdb.Error:  # a catalog or storage that cannot list its files: nothing to clean here
        return []
    return [r[0] for r in rows]


def remove_stale_exports(exports_root: Path) -> list[Path]:
    """Delete export staging folders (`v<N>.tmp`) a killed run left behind; the caller holds the
    lake writer slot, so no export is in progress. Returns what was removed."""
    removed = []
    root = Path(exports_root)
    if root.is_dir():
        for staging in sorted(root.glob("v*.tmp")):
            if staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging, ignore_errors=True)
                removed.append(staging)
    return removed


def _type(model: type[LakeTable], column: str) -> str:
    return duckdb_type(model.columns()[column].dtype.type)
