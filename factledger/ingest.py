"""Bring raw files into the lake: articles incrementally by content hash, sources whole."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from factledger.cells import FIGURE_ID_SQL
from factledger.articles import (
    ARTICLE_SUFFIXES,
    MAX_ARTICLE_BYTES,
    article_id_for,
    STAGED_COLUMNS,
    read_limited,
    sha256_hex,
    stage_articles,
)
from factledger.progress import Progress
from factledger.rawfiles import refusal as _refusal
from factledger.rejections import Rejection
from factledger.sources import ParsedSource, parse_source_folder
from factledger import filestats, sql
from factledger.tables import ARROW_ROWS, execute_over, insert_rows
from schemas import (
    Articles,
    OfficialFigures,
    RejectedInputs,
    SourceDimensions,
    SourceMeasures,
    SourcePeople,
    SourceReactions,
    Sources,
)

ARTICLES_DIR = "articles"
SOURCES_DIR = "sources"


@dataclass
class ArticleSync:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def article_files(raw_root: Path) -> list[Path]:
    """The article files `sync_articles` would read (regular files and links to regular files
    inside the raw folder), sorted."""
    return [Path(path) for _, path, refusal in scan_articles(raw_root) if refusal is None]


def scan_articles(raw_root: Path) -> list[tuple[str, str, str | None]]:
    """Every candidate article under raw/articles/ as (path relative to raw, path, why it is not
    read or None), sorted by path. raw/ is confined to itself: a symbolic link is followed only
    to a regular file inside the raw folder; links leaving it, dangling links, link loops, linked
    folders and special files (FIFOs, devices) are listed with the reason, never read.

    The folders are read with `os.scandir`: a regular file is known as one from its folder entry
    (no `lstat` per file); anything else is judged by `rawfiles.refusal`."""
    root = Path(raw_root).resolve()
    folder = Path(raw_root) / ARTICLES_DIR
    if not folder.is_dir():
        return []
    if not folder.resolve().is_relative_to(root):
        return [(ARTICLES_DIR, str(folder), f"the articles folder is a link leaving the raw folder (to {folder.resolve()}); not read")]
    skip = len(str(Path(raw_root))) + 1  # a path under raw/ minus "raw/": the relative path
    found: list[tuple[str, str, str | None]] = []
    pending = [str(folder)]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as listing:
                entries = list(listing)
        except OSError as err:
            where = os.fsdecode(err.filename) if err.filename else here
            found.append((where[skip:], where, f"folder unreadable: {err.strerror or err}"))
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            elif entry.is_symlink() and _is_dir(entry):  # never followed: say so
                found.append((entry.path[skip:], entry.path, "symbolic link to a folder; linked folders are not followed"))
            elif _suffix(entry.name) in ARTICLE_SUFFIXES:
                regular = entry.is_file(follow_symlinks=False)
                found.append((entry.path[skip:], entry.path, None if regular else _refusal(Path(entry.path), root)))
    return sorted(found, key=lambda f: f[0])


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _suffix(name: str) -> str:
    """`Path(name).suffix`, without making a Path."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def sync_articles(con: duckdb.DuckDBPyConnection, raw_root: Path, now: dt.datetime | None = None,
                  progress: Callable[[str], None] | None = None) -> ArticleSync:
    """Make `articles` match raw/articles/: parse only new or changed files (by SHA-256 of the
    bytes), retire rows whose file is gone, and record refused files in `rejected_inputs`.
    `progress` gets a line with the rate and the time left every few seconds of a long pass.

    A file that is refused (link leaving raw/, too big, an id clash, unparsable) keeps its id's
    last good row, if any: one bad file never changes what was published for its id."""
    now = now or utc_now()
    result = ArticleSync()
    listing: dict[str, list] = {"article_id": [], "source_path": [], "sha256": []}
    readable: dict[str, str] = {}  # path relative to raw -> file; bytes are hashed and let go, never held
    by_id: dict[str, list[str]] = {}
    found = scan_articles(raw_root)
    # A file whose stat is the one recorded when it was last hashed is not read (filestats).
    read_ns = time.time_ns()
    stats = {rel: stat for rel, path, refusal in found if refusal is None and (stat := filestats.stat_of(path))}
    digests = filestats.unchanged_digests(con, stats, MAX_ARTICLE_BYTES)
    hashed: dict[str, tuple[filestats.FileStat, str]] = {}
    for rel, path, refusal in Progress("articles: hashing", len(found) - len(digests), progress, unit="files").over(
            [f for f in found if f[0] not in digests]):
        if refusal is not None and os.path.isdir(path):  # a linked folder: reported, holds no id
            result.rejections.append(Rejection("articles", rel, None, refusal))
            continue
        data = read_limited(path) if refusal is None else refusal
        if isinstance(data, str):
            result.rejections.append(Rejection("articles", rel, None, data))
            digests[rel] = None
        else:
            digests[rel] = sha256_hex(data)
            if rel in stats:
                hashed[rel] = (stats[rel], digests[rel])
    for rel, path, refusal in found:
        if rel not in digests:  # a linked folder
            continue
        digest = digests[rel]
        article_id = article_id_for(rel)
        by_id.setdefault(article_id, []).append(rel)
        if digest is not None:
            readable[rel] = path
        for column, value in (("article_id", article_id), ("source_path", rel), ("sha256", digest)):
            listing[column].append(value)
    # One id per article, wherever the file sits: x.md beside x.txt, or beside sub/x.md, is refused
    # for every file of that id (the order files are found in never decides which is genuine).
    clashing = set()
    for article_id, rels in by_id.items():
        if len(rels) > 1:
            clashing.update(rels)
            for rel in rels:
                others = ", ".join(r for r in rels if r != rel)
                result.rejections.append(Rejection(
                    "articles", rel, None, f"article id {article_id} is also used by {others}: none of them is read; rename all but one"))
    listed = pa.table(listing, schema=_LISTING)
    to_parse = [(rel, known) for rel, known in execute_over(con, f"""
        SELECT l.source_path, a.article_id IS NOT NULL FROM {ARROW_ROWS} l LEFT JOIN articles a USING (article_id)
        WHERE l.sha256 IS NOT NULL AND (a.sha256 IS DISTINCT FROM l.sha256 OR a.retired_at IS NOT NULL)
        ORDER BY l.source_path""", listed).fetchall() if rel not in clashing]
    gone = [r[0] for r in execute_over(con, f"""
        SELECT article_id FROM articles WHERE retired_at IS NULL
        AND article_id NOT IN (SELECT article_id FROM {ARROW_ROWS}) ORDER BY article_id""", listed).fetchall()]
    result.unchanged = sum(1 for rel in readable if rel not in clashing) - len(to_parse)

    # One parse per new or changed file. Its row is staged on disk a batch at a time (texts are
    # never all held), duplicate bodies are judged on all of them together, and the accepted
    # rows go from the staged files into `articles`.
    with tempfile.TemporaryDirectory(prefix="factledger-articles-") as staging:
        staged, incoming = _stage([(rel, readable[rel]) for rel, _ in to_parse], Path(staging), result, progress)
        refused = _duplicate_bodies(con, incoming, result)
        known = {rel for rel, was_known in to_parse if was_known}
        accepted = [(rel, article_id) for rel, article_id in zip(incoming["source_path"], incoming["article_id"]) if rel not in refused]
        writing = Progress("articles: writing", len(accepted), progress, unit="articles")
        replaced = [article_id for rel, article_id in accepted if rel in known]
        if replaced:
            execute_over(con, f"DELETE FROM articles WHERE article_id IN (SELECT article_id FROM {ARROW_ROWS})",
                         pa.table({"article_id": pa.array(replaced, pa.string())}))
        refused_paths = pa.table({"source_path": pa.array(sorted(refused), pa.string())})
        start = 0
        for file, count in staged:  # the staged files hold the incoming rows in order
            execute_over(con, f"""
                INSERT INTO articles BY NAME
                SELECT *, {_timestamp(now)} AS ingested_at FROM read_parquet({sql.literal(file)})
                WHERE source_path NOT IN (SELECT source_path FROM {ARROW_ROWS})""", refused_paths)
            writing.advance(sum(1 for rel in incoming["source_path"][start:start + count] if rel not in refused))
            start += count
        writing.finish()
        result.added = [article_id for rel, article_id in accepted if rel not in known]
        result.replaced = replaced
    if gone:
        execute_over(con, f"UPDATE articles SET retired_at = {_timestamp(now)} WHERE article_id IN (SELECT article_id FROM {ARROW_ROWS})",
                     pa.table({"article_id": pa.array(gone, pa.string())}))
        result.retired = gone
    record_rejections(con, "articles", result.rejections, now)
    filestats.record(con, hashed, [rel for rel, _, _ in found], read_ns)
    return result


_LISTING = pa.schema([("article_id", pa.string()), ("source_path", pa.string()), ("sha256", pa.string())])
_STAGED = pa.schema([(name, col.dtype.type.to_pyarrow()) for name, col in Articles.columns().items() if name in STAGED_COLUMNS])
assert _STAGED.names == list(STAGED_COLUMNS), "ParsedArticle's fields are the articles table's columns, in order"

# Parsed articles are staged on disk a batch at a time: up to STAGE_BYTES of files, or STAGE_FILES files.
STAGE_BYTES = 8_000_000
STAGE_FILES = 20_000


def _timestamp(moment: dt.datetime) -> str:
    return f"CAST({sql.literal(moment.isoformat(sep=' '))} AS TIMESTAMP)"


def _stage(files: list[tuple[str, str]], staging: Path, result: ArticleSync,
           progress: Callable[[str], None] | None) -> tuple[list[tuple[Path, int]], dict[str, list[str]]]:
    """Parse each (path relative to raw, file) once and stage the rows in Parquet files in `staging`
    (`articles.stage_articles`). Returns the staged files with their row counts and (article_id,
    source_path, body_sha256) of every row as columns, both in the order of `files`; refused files
    are added to `result.rejections`, in that order too.

    One process: spread over two spawned workers, 20,000 files took twice the wall time and twice
    the CPU (each worker imports the run's main module again, ~2.4 s; docs/performance.md)."""
    parsing = Progress("articles: parsing", len(files), progress, unit="new or changed files")
    staged = stage_articles(files, staging / "batch", _STAGED, STAGE_BYTES, STAGE_FILES, advance=parsing.advance)
    parsing.finish()
    result.rejections += staged.rejections
    return staged.staged, staged.incoming


def _duplicate_bodies(con, incoming: dict[str, list[str]], result: ArticleSync) -> set[str]:
    """The incoming articles (columns article_id, source_path, body_sha256) refused because another
    present article (or an earlier file of this run, by path) already has their text; each is
    recorded as a rejection."""
    if not incoming["source_path"]:
        return set()
    batch = pa.table(incoming, schema=pa.schema([("article_id", pa.string()), ("source_path", pa.string()),
                                                  ("body_sha256", pa.string())]))
    dupes = execute_over(con, f"""
        WITH ranked AS (
            SELECT *, row_number() OVER w AS rn, first_value(source_path) OVER w AS first_path FROM {ARROW_ROWS}
            WINDOW w AS (PARTITION BY body_sha256 ORDER BY source_path))
        SELECT r.source_path, coalesce(a.source_path, r.first_path)
        FROM ranked r
        LEFT JOIN articles a ON a.body_sha256 = r.body_sha256 AND a.retired_at IS NULL
             AND a.article_id NOT IN (SELECT article_id FROM {ARROW_ROWS})
        WHERE a.article_id IS NOT NULL OR r.rn > 1""", batch).fetchall()
    for rel, original in dupes:
        result.rejections.append(Rejection("articles", rel, None, f"duplicate article: same text as {original}"))
    return {rel for rel, _ in dupes}


def sync_sources(con: duckdb.DuckDBPyConnection, raw_root: Path, now: dt.datetime | None = None) -> list[ParsedSource]:
    """Reload every source folder whose bytes changed (its sha256), and drop the rows of folders
    that are gone. An unchanged folder's rows stay as they are (no new lake snapshot, so what is
    derived from them can tell it is current); a folder refused whole keeps its previous rows."""
    now = now or utc_now()
    folder = raw_root / SOURCES_DIR
    parsed = [parse_source_folder(p, raw_root) for p in sorted(folder.iterdir()) if p.is_dir()] if folder.is_dir() else []
    present_ids = [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    stored = dict(con.execute("SELECT source_id, sha256 FROM sources").fetchall())
    changed = [p for p in parsed if p.source is not None and stored.get(p.source["source_id"]) != p.source["sha256"]]
    replaced_ids = [p.source["source_id"] for p in changed]
    if replaced_ids or any(source_id not in present_ids for source_id in stored):
        tables = ((Sources, "source"), (SourceReactions, "reactions"), (SourcePeople, "people"),
                  (SourceDimensions, "dimensions"), (SourceMeasures, "measures"), (OfficialFigures, "figures"))
        for model, attr in tables:
            con.execute(
                f"DELETE FROM {model.table_name()} WHERE list_contains(?, source_id) OR NOT list_contains(?, source_id)",
                [replaced_ids, present_ids],
            )
            rows = [row for p in changed for row in ([p.source] if attr == "source" else getattr(p, attr))]
            insert_rows(con, model, [{**r, "ingested_at": now} if model is Sources else r for r in rows])
        con.execute(f"UPDATE official_figures SET figure_id = {FIGURE_ID_SQL} WHERE figure_id IS NULL")
    record_rejections(con, "sources", [r for p in parsed for r in p.rejections], now)
    return parsed


def record_rejections(con, stage: str, rejections: list[Rejection], now: dt.datetime) -> None:
    con.execute("DELETE FROM rejected_inputs WHERE stage = ?", [stage])
    insert_rows(con, RejectedInputs, [{**r.__dict__, "detected_at": now} for r in rejections])



