"""Publishing: copy the cleaned tables into `lake.published` as a new dataset version, find
versions again, and compare two of them.

A version is two DuckLake commits. The first replaces every `published.<table>` and appends the
run's check results (one snapshot: the version's data). The second appends the `dataset_versions`
row pointing at that snapshot; only then is the version current. A crash in between leaves an
orphan snapshot that no version points to, and the previous version stays current; the next
attempt at that version number replaces (never adds to) the orphan's check results, so a
recovered version has exactly one run's checks.

Everything set-shaped (hashing tables, diffing versions) is SQL run inside DuckDB.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import schemas
from factledger import paths, sql
from schemas.articles import QUARANTINED_IDS_SQL
from factledger.tables import insert_rows
from schemas._base import LakeTable, duckdb_type
from schemas.published import CheckResults, DatasetVersions

PUBLISHED_SCHEMA = "published"


@dataclass(frozen=True)
class PublishedTable:
    """A table analysts get in every version: `lake.published.<name>`, copied from `lake.main.<name>`
    (rows matching `where`). Its model's key, less the `volatile` columns, identifies a row across
    versions (diff); a model without a key is keyed by the whole row. `volatile` columns are left
    out of hashes and diffs, as are all timestamps (they say when the pipeline ran, not what the
    data says)."""

    name: str
    where: str = "TRUE"
    volatile: tuple[str, ...] = ()


# Present and not quarantined (an article whose dates break an article-level rule: see schemas/articles.py).
PUBLISHABLE_ARTICLE = f"retired_at IS NULL AND article_id NOT IN ({QUARANTINED_IDS_SQL})"
PRESENT_ARTICLE = f"article_id IN (SELECT article_id FROM lake.main.articles WHERE {PUBLISHABLE_ARTICLE})"

# THE list of published tables. Tables whose model is not registered in schemas.LAKE_TABLES, or
# that are absent from the lake, are skipped (with a log line) and so absent from that version.
PUBLISHED_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable("articles", where=PUBLISHABLE_ARTICLE),
    PublishedTable("sources"),
    PublishedTable("figures"),
    PublishedTable("figure_dimensions"),
    PublishedTable("figure_derivations"),
    PublishedTable("claims", where=PRESENT_ARTICLE),
    PublishedTable("date_findings", where=PRESENT_ARTICLE),
    PublishedTable("name_findings", where=PRESENT_ARTICLE),
    PublishedTable("check_results", volatile=("version", "run_id")),
)

# Columns that name what a changed row is about; the diff reports them for every table that has them.
CONCERNS = ("article_id", "figure_id")

# The package source whose hash is recorded as part of the code version.
CODE_DIRS = ("factledger", "assets", "schemas", "orchestration")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".toml")


def published_table(name: str) -> PublishedTable:
    for table in PUBLISHED_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)


def model_for(name: str) -> type[LakeTable] | None:
    return next((m for m in schemas.LAKE_TABLES if m.table_name() == name), None)


def compared_columns(model: type[LakeTable], table: PublishedTable) -> list[str]:
    """The columns that say what a row is: not timestamps, not run bookkeeping."""
    return [
        name for name, col in model.columns().items()
        if name not in table.volatile and not col.dtype.type.is_timestamp()
    ]


def row_key(model: type[LakeTable], table: PublishedTable) -> tuple[str, ...]:
    """The model's key within one version, else every compared column (the whole row)."""
    return tuple(k for k in model.key() if k not in table.volatile) or tuple(compared_columns(model, table))


quote = sql.identifier  # the one identifier quoting (factledger/sql.py)


# --- fingerprints ------------------------------------------------------------------------------


def fingerprint(input_hashes: dict[str, str], table_hashes: dict[str, str]) -> str:
    """One SHA-256 over the inputs and the published content; key order does not matter."""
    payload = json.dumps({"inputs": input_hashes, "tables": table_hashes}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def table_hash_sql(relation: str, columns: list[str]) -> str:
    """SQL returning one SHA-256 of a relation's rows, independent of row order."""
    row = "md5(CAST(struct_pack(" + ", ".join(f"{quote(c)} := {quote(c)}" for c in columns) + ") AS VARCHAR))"
    return f"SELECT sha256(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT {row} AS h FROM {relation})"


def input_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SHA-256 of every raw input behind the present data: article files and source folders."""
    rows = con.execute(
        "SELECT source_path, sha256 FROM lake.main.articles WHERE retired_at IS NULL "
        "UNION ALL SELECT descriptor_path, sha256 FROM lake.main.sources"
    ).fetchall()
    return {path: sha for path, sha in sorted(rows)}


def code_sha256(root: Path = paths.PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit(root: Path = paths.PROJECT_ROOT) -> str | None:
    """`git rev-parse HEAD`, suffixed -dirty when the package source differs from it; None without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *CODE_DIRS], cwd=root, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 1 else "")


# --- what exists -------------------------------------------------------------------------------


def lake_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = ?", [schema]
    ).fetchall()}


@dataclass
class Plan:
    """The published tables this run can build, and the ones it skips (with why)."""

    tables: list[tuple[PublishedTable, type[LakeTable]]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def plan(con: duckdb.DuckDBPyConnection) -> Plan:
    present = lake_tables(con, "main")
    result = Plan()
    for table in PUBLISHED_TABLES:
        model = model_for(table.name)
        if model is None:
            result.skipped[table.name] = "no schema registered in schemas.LAKE_TABLES"
        elif table.name not in present:
            result.skipped[table.name] = "not in the lake yet"
        else:
            result.tables.append((table, model))
    return result


# --- versions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    version: int
    snapshot_id: int
    fingerprint: str
    row_counts: dict[str, int]


def current_version(con: duckdb.DuckDBPyConnection) -> Version | None:
    rows = versions(con)
    return rows[-1] if rows else None


def versions(con: duckdb.DuckDBPyConnection) -> list[Version]:
    if "dataset_versions" not in lake_tables(con, "main"):
        return []
    return [
        Version(v, s, f, json.loads(c))
        for v, s, f, c in con.execute(
            "SELECT version, snapshot_id, fingerprint, row_counts FROM lake.main.dataset_versions ORDER BY version"
        ).fetchall()
    ]


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


def tables_at(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> list[str]:
    """Published tables that exist at a snapshot, in PUBLISHED_TABLES order."""
    found = []
    for table in PUBLISHED_TABLES:
        try:
            con.execute(f"SELECT 1 FROM lake.{PUBLISHED_SCHEMA}.{quote(table.name)} AT (VERSION => {int(snapshot_id)}) LIMIT 0")
        except duckdb.Error:
            continue
        found.append(table.name)
    return found


def relation_at(name: str, snapshot_id: int) -> str:
    return f"lake.{PUBLISHED_SCHEMA}.{quote(name)} AT (VERSION => {int(snapshot_id)})"


# --- diff --------------------------------------------------------------------------------------


def columns_at(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]


def diff_sql(old: str | None, new: str | None, key: list[str], compared: list[str], concerns: list[str]) -> str:
    """SQL listing the rows added, removed and changed from relation `old` to `new` (either may be
    None: a table absent from one side), matched on `key`; for changed rows, which columns."""
    cols = list(dict.fromkeys([*key, *compared, *concerns]))
    select = ", ".join(quote(c) for c in cols)
    empty = lambda rel: f"(SELECT {select} FROM {rel} WHERE FALSE)"  # noqa: E731
    a = f"(SELECT {select}, TRUE AS __present FROM {old})" if old else f"(SELECT *, TRUE AS __present FROM {empty(new)})"
    b = f"(SELECT {select}, TRUE AS __present FROM {new})" if new else f"(SELECT *, TRUE AS __present FROM {empty(old)})"
    join = " AND ".join(f"a.{quote(k)} IS NOT DISTINCT FROM b.{quote(k)}" for k in key)
    others = [c for c in compared if c not in key]
    differs = [f"a.{quote(c)} IS DISTINCT FROM b.{quote(c)}" for c in others]
    changed_cols = "concat_ws(', ', " + ", ".join(f"CASE WHEN {d} THEN '{c}' END" for c, d in zip(others, differs)) + ")" if others else "''"
    key_text = " || ' / ' || ".join(f"coalesce(CAST(coalesce(b.{quote(k)}, a.{quote(k)}) AS VARCHAR), 'NULL')" for k in key)
    concern_cols = "".join(f", CAST(coalesce(b.{quote(c)}, a.{quote(c)}) AS VARCHAR) AS {quote(c)}" for c in CONCERNS if c in concerns)
    concern_nulls = "".join(f", NULL::VARCHAR AS {quote(c)}" for c in CONCERNS if c not in concerns)
    return f"""
        SELECT CASE WHEN a.__present IS NULL THEN 'added' WHEN b.__present IS NULL THEN 'removed' ELSE 'changed' END AS change,
               {key_text} AS key{concern_cols}{concern_nulls},
               CASE WHEN a.__present AND b.__present THEN {changed_cols} ELSE '' END AS columns
        FROM {a} a FULL OUTER JOIN {b} b ON {join}
        WHERE a.__present IS NULL OR b.__present IS NULL {('OR ' + ' OR '.join(differs)) if differs else ''}
        ORDER BY change, key"""


@dataclass
class TableDiff:
    table: str
    rows: list[tuple]  # (change, key, article_id, figure_id, columns)

    def count(self, change: str) -> int:
        return sum(1 for r in self.rows if r[0] == change)

    def summary(self) -> str:
        parts = [f"{self.count(c)} {c}" for c in ("added", "removed", "changed") if self.count(c)]
        return f"{self.table}: {', '.join(parts) or 'unchanged'}"


def diff(con: duckdb.DuckDBPyConnection, old_snapshot: int | None, new_snapshot: int) -> list[TableDiff]:
    """Per published table, the rows added, removed and changed between two snapshots (old None:
    nothing published before)."""
    old_tables = set(tables_at(con, old_snapshot)) if old_snapshot is not None else set()
    new_tables = set(tables_at(con, new_snapshot))
    result = []
    for table in PUBLISHED_TABLES:
        if table.name not in old_tables | new_tables:
            continue
        old = relation_at(table.name, old_snapshot) if table.name in old_tables else None
        new = relation_at(table.name, new_snapshot) if table.name in new_tables else None
        available = [c for c in columns_at(con, new or old) if old is None or new is None or c in columns_at(con, old)]
        model = model_for(table.name)
        if model is not None:
            compared = [c for c in compared_columns(model, table) if c in available]
            key = [k for k in row_key(model, table) if k in available]
        else:  # a table published by an older version whose schema is gone: compare what is there
            compared = [c for c in available if c not in table.volatile]
            key = compared
        concerns = [c for c in CONCERNS if c in available]
        rows = con.execute(diff_sql(old, new, key, compared, concerns)).fetchall()
        result.append(TableDiff(table.name, rows))
    return result


def changes_summary(diffs: list[TableDiff]) -> str:
    changed = [d.summary() for d in diffs if d.rows]
    return "; ".join(changed) if changed else "no row changed"


# --- publishing --------------------------------------------------------------------------------


@dataclass
class Outcome:
    published: bool
    version: int
    snapshot_id: int
    summary: str
    skipped: dict[str, str] = field(default_factory=dict)
    diffs: list[TableDiff] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)


def checks_summary(checks: list[dict]) -> tuple[int, int, str]:
    """(passed, failed, in words); a failed WARN check is named a warning (it never blocks)."""
    passed = [c for c in checks if c["passed"]]
    failed = [c for c in checks if c["passed"] is False]
    pending = [c for c in checks if c["passed"] is None]
    words = [f"{len(passed)} passed"]
    blocking = [c for c in failed if c.get("severity") != "WARN"]
    warnings = [c for c in failed if c.get("severity") == "WARN"]
    if blocking:
        words.append(f"{len(blocking)} failed ({_check_names(blocking)})")
    if warnings:
        words.append(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} ({_check_names(warnings)})")
    if pending:
        words.append(f"{len(pending)} not evaluated before publishing")
    return len(passed), len(failed), ", ".join(words)


def _check_names(checks: list[dict]) -> str:
    return ", ".join(f"{c['asset_key']}.{c['check_name']}" for c in checks)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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

    check_names = [c for c in CheckResults.column_names() if c != "version"]
    staged = [{**{n: c.get(n) for n in check_names}} for c in checks]
    con.execute("CREATE OR REPLACE TEMP TABLE run_checks AS SELECT * FROM (SELECT "
                + ", ".join(f"NULL::{_type(CheckResults, n)} AS {n}" for n in check_names) + ") WHERE FALSE")
    if staged:
        import pyarrow as pa  # local: only needed here

        con.register("incoming_checks", pa.Table.from_pylist(staged))
        con.execute(f"INSERT INTO run_checks BY NAME SELECT {', '.join(check_names)} FROM incoming_checks")
        con.unregister("incoming_checks")

    def source(table: PublishedTable, model: type[LakeTable], version_sql: str = "NULL::BIGINT") -> str:
        if table.name == "check_results":
            return f"(SELECT {version_sql} AS version, * FROM temp.main.run_checks)"
        return f"(SELECT {', '.join(quote(c) for c in model.column_names())} FROM lake.main.{quote(table.name)} WHERE {table.where})"

    hashes = {t.name: con.execute(table_hash_sql(source(t, m), compared_columns(m, t))).fetchone()[0] for t, m in work.tables}
    inputs = input_hashes(con)
    print_ = fingerprint(inputs, hashes)
    current = current_version(con)
    if current is not None and current.fingerprint == print_:
        return Outcome(False, current.version, current.snapshot_id,
                       f"no change: version {current.version} stays current", work.skipped, row_counts=current.row_counts)

    version = (current.version if current else 0) + 1
    n_passed, n_failed, checks_text = checks_summary(checks)
    counts = {}
    con.execute("BEGIN")
    try:
        for table, model in work.tables:
            if table.name == "check_results":
                # Rows already numbered `version` come from an attempt killed before its version row
                # was committed (that version never became current): replace them, never add to them.
                con.execute(f"DELETE FROM lake.main.check_results WHERE version = {version}")
                con.execute(f"INSERT INTO lake.main.check_results BY NAME {source(table, model, str(version))}")
                relation = f"(SELECT * FROM lake.main.check_results WHERE version = {version})"
            else:
                relation = source(table, model)
            order = ", ".join(quote(k) for k in row_key(model, table))
            con.execute(f"CREATE OR REPLACE TABLE lake.{PUBLISHED_SCHEMA}.{quote(table.name)} AS "
                        f"SELECT * FROM {relation} ORDER BY {order}")
            counts[table.name] = con.execute(f"SELECT count(*) FROM lake.{PUBLISHED_SCHEMA}.{quote(table.name)}").fetchone()[0]
        # A table published before but not buildable now leaves the published set.
        for stale in lake_tables(con, PUBLISHED_SCHEMA) - {t.name for t, _ in work.tables}:
            con.execute(f"DROP TABLE lake.{PUBLISHED_SCHEMA}.{quote(stale)}")
        message = f"factledger: publish tables of dataset version {version} (run {run_id})"
        con.execute("CALL lake.set_commit_message('factledger', ?)", [message])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    snapshot_id = con.execute(
        "SELECT max(snapshot_id) FROM lake.snapshots() WHERE commit_message = ?", [message]).fetchone()[0]

    diffs = diff(con, current.snapshot_id if current else None, snapshot_id)
    changes = changes_summary(diffs)
    row = {
        "version": version, "snapshot_id": snapshot_id, "created_at": utc_now(), "run_id": run_id,
        "code_version": git_commit(), "code_sha256": code_sha256(), "fingerprint": print_,
        "input_hashes": json.dumps(inputs, sort_keys=True), "table_hashes": json.dumps(hashes, sort_keys=True),
        "row_counts": json.dumps(counts), "checks_passed": n_passed, "checks_failed": n_failed,
        "checks_summary": checks_text, "changes": changes,
    }
    con.execute("BEGIN")
    try:
        insert_rows(con, DatasetVersions, [row])
        con.execute("CALL lake.set_commit_message('factledger', ?)", [f"factledger: dataset version {version} is current"])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    changed_tables = sum(1 for d in diffs if d.rows)
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
    import shutil  # local: only needed here

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
