"""`factledger lake migrate --to <catalog> [--data-path ...]`: move a SQLite-catalog lake, with its
whole history, to another catalog (Postgres) and data path (object storage).

A DuckLake catalog is a set of plain `ducklake_*` tables whose file paths are relative to the data
path. So the move copies those tables row for row (snapshot ids, file ids, inlined rows and all:
every `dataset_versions.snapshot_id` still names the same snapshot), copies the data files byte for
byte under the new data path, and points the catalog's `data_path` at it. Then it checks the
result: every published table of every dataset version hashes the same on both sides.

The source is only read. The target catalog must be empty (a new database): nothing is merged.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from factledger import catalog, lake, paths, provenance, versions
from factledger.commands import add_warehouse_flag


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lake", help="manage the lake's backends (migrate to Postgres + object storage)")
    actions = parser.add_subparsers(dest="lake_command", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="copy a SQLite-catalog lake, with every version, to another catalog and data path",
        description="Copy a SQLite-catalog lake with its whole history to another catalog (e.g. Postgres) "
                    "and data path (e.g. s3://bucket/prefix/); every published version stays queryable.")
    migrate.add_argument("--to", required=True, metavar="CATALOG",
                         help="target catalog: postgres:<conninfo> (an empty database) or sqlite:<path>")
    migrate.add_argument("--data-path", metavar="PATH",
                         help=f"target data path: a folder or s3://bucket/prefix/ (default: ${lake.DATA_PATH_ENV}, "
                              "else the source's data files stay where they are)")
    migrate.add_argument("--from", dest="source", metavar="CATALOG",
                         help="source catalog sqlite:<path> (default: the warehouse's lake/catalog.sqlite)")
    add_warehouse_flag(migrate)
    migrate.set_defaults(func=run_migrate, command="lake migrate")


def run_migrate(args: argparse.Namespace) -> int:
    warehouse = paths.warehouse_dir(args.warehouse)
    source_catalog = args.source or f"sqlite:{lake.catalog_path(warehouse)}"
    source_data = None if args.source else str(lake.data_path(warehouse))
    report = migrate(source_catalog, args.to, args.data_path, log=lambda m: print(m, file=sys.stderr, flush=True),
                     source_data_path=source_data)
    print(report.summary())
    return 0 if report.verified else 1


class Report:
    def __init__(self, source: lake.LakeConfig, target: lake.LakeConfig) -> None:
        self.source, self.target = source, target
        self.tables: dict[str, int] = {}
        self.files = 0
        self.bytes = 0
        self.versions: list[int] = []
        self.checked = 0
        self.mismatches: list[str] = []
        self.seconds = 0.0

    @property
    def verified(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        lines = [
            "lake migrate",
            f"  from: {self.source.describe()}",
            f"  to:   {self.target.describe()}",
            f"  catalog: {sum(self.tables.values())} rows in {len(self.tables)} tables copied",
            f"  data: {self.files} files ({self.bytes / 1e6:.1f} MB) copied",
            f"  versions: {len(self.versions)} ({', '.join(map(str, self.versions)) or 'none'}); "
            f"{self.checked} published tables compared across every version",
        ]
        if self.mismatches:
            lines.append(f"  MISMATCH in {len(self.mismatches)}: " + "; ".join(self.mismatches[:10]))
            lines.append("Migration FAILED verification: keep using the source lake.")
        else:
            lines.append(f"Migrated and verified in {self.seconds:.1f} s. Point {lake.CATALOG_ENV} and "
                         f"{lake.DATA_PATH_ENV} at the target to use it.")
        return "\n".join(lines)


def migrate(source_catalog: str, target_catalog: str, target_data_path: str | None = None,
            log=lambda message: None, source_data_path: str | None = None) -> Report:
    """Copy the lake of `source_catalog` (its data under `source_data_path` if given, as for a
    warehouse folder, which may have been moved or copied since its catalog recorded a data path;
    else under the recorded path) to `target_catalog` and `target_data_path`, and verify it."""
    started = time.monotonic()
    source_catalog = lake._catalog(source_catalog)
    if not source_catalog.startswith("sqlite:"):
        raise ValueError(f"the source must be a SQLite catalog (sqlite:<path>), not {lake.redact_conninfo(source_catalog)}")
    source_file = Path(source_catalog.split(":", 1)[1])
    if not source_file.exists():
        raise FileNotFoundError(f"no lake at {source_file}: nothing to migrate")
    if source_data_path:  # a warehouse's own lake: its data folder, wherever the catalog says it was
        source = replace(lake.resolve(catalog=source_catalog, data_path_=source_data_path), in_warehouse=True)
    else:
        source = lake.resolve(catalog=source_catalog, data_path_=_recorded_data_path(source_file))
    chosen = target_data_path or os.environ.get(lake.DATA_PATH_ENV) or source.data_path
    target = lake.resolve(catalog=target_catalog, data_path_=chosen)
    if target.catalog == source.catalog:
        raise ValueError("--to names the source catalog itself")
    report = Report(source, target)

    with lake.connect(source, read_only=True) as con:  # a readable lake, and what to compare later
        report.versions = [v.version for v in versions.versions(con)]
    log(f"source: {source.describe()} ({len(report.versions)} published versions)")

    # An empty target, initialised by DuckLake itself (its metadata tables, with their types).
    with lake.connect(target) as con:
        [(snapshots,)] = con.execute("SELECT count(*) FROM lake.snapshots()").fetchall()
        tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake'").fetchone()[0]
    if snapshots > 1 or tables:
        raise ValueError(f"target catalog {lake.redact_conninfo(target.catalog)} already holds a lake "
                         f"({snapshots} snapshots, {tables} tables): migrate into an empty database")

    if source.data_path != target.data_path:
        report.files, report.bytes = copy_files(source, target, log)
    report.tables = copy_catalog(source, target, log)
    compare(source, target, report, log)
    report.seconds = time.monotonic() - started
    return report


def _recorded_data_path(catalog_file: Path) -> str:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        lake.load_extensions(con)
        con.execute(f"ATTACH {lake._literal(str(catalog_file))} AS src (TYPE sqlite, READ_ONLY)")
        row = con.execute("SELECT value FROM src.ducklake_metadata WHERE key = 'data_path' AND scope IS NULL").fetchone()
    finally:
        con.close()
    if row is None:
        raise ValueError(f"{catalog_file} is not a DuckLake catalog (no data_path in ducklake_metadata)")
    path = row[0]
    if not path.startswith("s3://") and not Path(path).is_absolute():
        path = str((catalog_file.parent / path).resolve()) + "/"
    return path


def copy_files(source: lake.LakeConfig, target: lake.LakeConfig, log) -> tuple[int, int]:
    """Every file under the source data path, byte for byte, to the same relative path under the target."""
    import pyarrow.fs as pafs

    src_fs, src_root = lake.filesystem(source, source.data_path)
    dst_fs, dst_root = lake.filesystem(target, target.data_path)
    infos = [i for i in src_fs.get_file_info(pafs.FileSelector(src_root.rstrip("/"), recursive=True, allow_not_found=True))
             if i.type == pafs.FileType.File]
    total = 0
    for i, info in enumerate(infos, 1):
        relative = info.path[len(src_root.rstrip("/")) + 1:]
        destination = dst_root.rstrip("/") + "/" + relative
        try:
            dst_fs.create_dir(destination.rsplit("/", 1)[0], recursive=True)  # a no-op on object storage
            pafs.copy_files(info.path, destination, source_filesystem=src_fs, destination_filesystem=dst_fs)
        except OSError as err:
            raise lake.LakeConfigError(f"copying data files to {target.data_path} failed: "
                                       f"{lake.scrub(str(err), target).splitlines()[0][:300]}") from None
        total += info.size or 0
        if i % 200 == 0:
            log(f"  copied {i}/{len(infos)} files")
    log(f"data: {len(infos)} files copied to {target.data_path}")
    return len(infos), total


def copy_catalog(source: lake.LakeConfig, target: lake.LakeConfig, log) -> dict[str, int]:
    """Every `ducklake_*` table, row for row, in one transaction on the target; then its data_path."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    copied = {}
    try:
        lake.load_extensions(con, target)
        lake.load_extensions(con, source)
        con.execute(f"ATTACH {lake._literal(source.catalog_target)} AS src (TYPE sqlite, READ_ONLY)")
        kind = "postgres" if target.backend == "postgres" else "sqlite"
        con.execute(f"ATTACH {lake._literal(target.catalog_target)} AS dst (TYPE {kind})")
        schema = "public" if kind == "postgres" else "main"
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND table_name LIKE 'ducklake%' ORDER BY 1"
        ).fetchall()]
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'dst' AND schema_name = ?", [schema]).fetchall()}
        con.execute("BEGIN")
        for name in names:
            columns = [r[0] for r in con.execute(f"SELECT * FROM src.{catalog.quote(name)} LIMIT 0").description]
            cols = ", ".join(catalog.quote(c) for c in columns)
            if name in present:
                con.execute(f"DELETE FROM dst.{schema}.{catalog.quote(name)}")
                con.execute(f"INSERT INTO dst.{schema}.{catalog.quote(name)} ({cols}) SELECT {cols} FROM src.{catalog.quote(name)}")
            else:  # inlined-data tables exist per table and schema version: create them like the source's
                con.execute(f"CREATE TABLE dst.{schema}.{catalog.quote(name)} AS SELECT * FROM src.{catalog.quote(name)}")
            copied[name] = con.execute(f"SELECT count(*) FROM src.{catalog.quote(name)}").fetchone()[0]
        con.execute(f"UPDATE dst.{schema}.ducklake_metadata SET value = ? WHERE key = 'data_path' AND scope IS NULL",
                    [target.data_path])
        con.execute("COMMIT")
    except duckdb.Error as err:
        raise lake.LakeConfigError(f"copying the catalog to {lake.redact_conninfo(target.catalog)} failed: "
                                   f"{lake.scrub(str(err), target).splitlines()[0][:300]}") from None
    finally:
        con.close()
    log(f"catalog: {sum(copied.values())} rows in {len(copied)} tables copied")
    return copied


def compare(source: lake.LakeConfig, target: lake.LakeConfig, report: Report, log) -> None:
    """Every published table at every version's snapshot, the versions themselves, and the snapshot
    list: the same on both sides (order-independent SHA-256 of all columns)."""
    def hashes(config: lake.LakeConfig) -> dict:
        out = {}
        with lake.connect(config, read_only=True) as con:
            out["snapshots"] = con.execute(
                "SELECT list(snapshot_id ORDER BY snapshot_id), list(coalesce(commit_message, '') ORDER BY snapshot_id) "
                "FROM lake.snapshots()").fetchone()
            out["dataset_versions"] = _hash(con, "lake.main.dataset_versions") if report.versions else None
            for v in versions.versions(con):
                for name in versions.tables_at(con, v.snapshot_id):
                    out[(v.version, name)] = _hash(con, versions.relation_at(name, v.snapshot_id))
            for name in sorted(catalog.lake_tables(con, "main")):
                out[("current", name)] = _hash(con, f"lake.main.{catalog.quote(name)}")
        return out

    before, after = hashes(source), hashes(target)
    for key in sorted(before.keys() | after.keys(), key=str):
        if before.get(key) != after.get(key):
            report.mismatches.append(str(key))
    report.checked = sum(1 for k in before if isinstance(k, tuple) and k[0] != "current")
    log(f"verified: {report.checked} published tables across {len(report.versions)} versions, "
        f"{len(before['snapshots'][0])} snapshots, {len(report.mismatches)} mismatches")


def _hash(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    columns = [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]
    [(count,)] = con.execute(f"SELECT count(*) FROM {relation}").fetchall()
    return count, provenance.table_hash(con, relation, columns)
