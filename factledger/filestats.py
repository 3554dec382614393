"""Which article files hold the bytes they held when last read, told from their stat alone.

A rerun used to read and hash every article file to find the few that changed: 700 MB at 100,000
articles, 18 s when the page cache had let them go. Git's rule for an unchanged work-tree file
serves here too. A file is taken as unchanged, without reading it, when its size, modification
time, status-change time and inode are the ones recorded when its bytes were last hashed, and
that status change was more than RACY_NS before the recording. A write after the reading always
moves the status-change time on, and no program can set it back (`touch -d` sets the modification
time only). The margin covers file systems whose clocks tick coarsely (FAT: 2 s): a file changed
within a tick of its reading could keep both times. Such a file is read again next time.

FACTLEDGER_REHASH=1 reads and hashes every file (for a raw folder on a file system whose times
cannot be trusted: some network mounts).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from factledger.tables import ARROW_ROWS, execute_over
from schemas.articles import ArticleFileStats

REHASH_ENV = "FACTLEDGER_REHASH"
# A file whose status changed less than this before its stat was recorded is read again next time.
RACY_NS = 2_000_000_000

TABLE = ArticleFileStats.table_name()
_STATS = pa.schema([("source_path", pa.string()), ("n_bytes", pa.int64()), ("mtime_ns", pa.int64()),
                    ("ctime_ns", pa.int64()), ("inode", pa.int64())])


@dataclass(frozen=True)
class FileStat:
    n_bytes: int
    mtime_ns: int
    ctime_ns: int
    inode: int


def stat_of(path: str) -> FileStat | None:
    """The file's stat (following a link, as reading it does), or None when it cannot be taken."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def rehash_everything() -> bool:
    return os.environ.get(REHASH_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def unchanged_digests(con: duckdb.DuckDBPyConnection, stats: dict[str, FileStat], max_bytes: int) -> dict[str, str]:
    """{path relative to raw: SHA-256 of its bytes} for the files of `stats` whose stat is the one
    recorded when their bytes were last hashed, that status change being more than RACY_NS older
    than the recording (no file is read). Empty when FACTLEDGER_REHASH asks for every file to be
    read."""
    if rehash_everything() or not stats:
        return {}
    listing = _table(stats)
    return dict(execute_over(con, f"""
        SELECT s.source_path, s.sha256 FROM {ARROW_ROWS} l JOIN {TABLE} s USING (source_path)
        WHERE s.n_bytes = l.n_bytes AND s.mtime_ns = l.mtime_ns AND s.ctime_ns = l.ctime_ns AND s.inode = l.inode
          AND s.ctime_ns + {RACY_NS} < s.read_ns AND l.n_bytes <= {int(max_bytes)}""", listing).fetchall())


def record(con: duckdb.DuckDBPyConnection, hashed: dict[str, tuple[FileStat, str]], present: list[str], read_ns: int) -> None:
    """Remember the stat and digest of each file just hashed ({path: (stat taken before reading,
    SHA-256)}), all taken after `read_ns`, and forget the files no longer present. Nothing is
    written when nothing changed (no lake snapshot)."""
    listed = pa.table({"source_path": pa.array(present, pa.string())})
    gone = f"FROM {TABLE} WHERE source_path NOT IN (SELECT source_path FROM {ARROW_ROWS})"
    if execute_over(con, f"SELECT count(*) {gone}", listed).fetchone()[0]:  # (a DELETE of nothing is a snapshot too)
        execute_over(con, f"DELETE {gone}", listed)
    if not hashed:
        return
    rows = _table({rel: stat for rel, (stat, _) in hashed.items()})
    rows = rows.append_column("sha256", pa.array([digest for _, digest in hashed.values()], pa.string()))
    execute_over(con, f"DELETE FROM {TABLE} WHERE source_path IN (SELECT source_path FROM {ARROW_ROWS})", rows)
    execute_over(con, f"INSERT INTO {TABLE} BY NAME SELECT *, {int(read_ns)}::BIGINT AS read_ns FROM {ARROW_ROWS}", rows)


def _table(stats: dict[str, FileStat]) -> pa.Table:
    values = list(stats.values())
    return pa.table([pa.array(list(stats), pa.string()), pa.array([s.n_bytes for s in values], pa.int64()),
                     pa.array([s.mtime_ns for s in values], pa.int64()), pa.array([s.ctime_ns for s in values], pa.int64()),
                     pa.array([s.inode for s in values], pa.int64())], schema=_STATS)
