"""Bring raw files into the lake: articles incrementally by content hash, sources whole."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from factledger.cells import FIGURE_ID_SQL
from factledger.articles import (
    ARTICLE_SUFFIXES,
    MAX_ARTICLE_BYTES,
    ParsedArticle,
    article_id_for,
    parse_article,
    sha256_hex,
)
from factledger.progress import Progress
from factledger.rawfiles import refusal as _refusal
from factledger.rejections import Rejection
from factledger.sources import ParsedSource, parse_source_folder
from factledger.tables import insert_rows
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
    return [path for _, path, refusal in scan_articles(raw_root) if refusal is None]


def scan_articles(raw_root: Path) -> list[tuple[str, Path, str | None]]:
    """Every candidate article under raw/articles/ as (path relative to raw, path, why it is not
    read or None), sorted by path. raw/ is confined to itself: a symbolic link is followed only
    to a regular file inside the raw folder; links leaving it, dangling links, link loops, linked
    folders and special files (FIFOs, devices) are listed with the reason, never read."""
    root = Path(raw_root).resolve()
    folder = Path(raw_root) / ARTICLES_DIR
    if not folder.is_dir():
        return []
    if not folder.resolve().is_relative_to(root):
        return [(ARTICLES_DIR, folder, f"the articles folder is a link leaving the raw folder (to {folder.resolve()}); not read")]
    found: list[tuple[str, Path, str | None]] = []

    def refuse_walk(err: OSError) -> None:
        path = Path(err.filename or folder)
        found.append((_rel(path, raw_root), path, f"folder unreadable: {err.strerror or err}"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=refuse_walk, followlinks=False):
        here = Path(dirpath)
        for name in dirnames:
            if (here / name).is_symlink():  # os.walk does not descend into it: say so
                found.append((_rel(here / name, raw_root), here / name, "symbolic link to a folder; linked folders are not followed"))
        for name in filenames:
            path = here / name
            if path.suffix not in ARTICLE_SUFFIXES:
                continue
            found.append((_rel(path, raw_root), path, _refusal(path, root)))
    return sorted(found, key=lambda f: f[0])


def _rel(path: Path, raw_root: Path) -> str:
    return path.relative_to(raw_root).as_posix()


def _read_limited(path: Path) -> bytes | str:
    """The file's bytes, or why not (too big: never read whole)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_ARTICLE_BYTES + 1)
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
    if len(data) > MAX_ARTICLE_BYTES:
        return f"file is over {MAX_ARTICLE_BYTES:,} bytes, the limit for an article; not read"
    return data


def sync_articles(con: duckdb.DuckDBPyConnection, raw_root: Path, now: dt.datetime | None = None,
                  progress: Callable[[str], None] | None = None) -> ArticleSync:
    """Make `articles` match raw/articles/: parse only new or changed files (by SHA-256 of the
    bytes), retire rows whose file is gone, and record refused files in `rejected_inputs`.
    `progress` gets a line with the rate and the time left every few seconds of a long pass.

    A file that is refused (link leaving raw/, too big, an id clash, unparsable) keeps its id's
    last good row, if any: one bad file never changes what was published for its id."""
    now = now or utc_now()
    result = ArticleSync()
    listing = []
    readable: dict[str, Path] = {}  # path relative to raw -> file; bytes are hashed and let go, never held
    by_id: dict[str, list[str]] = {}
    found = scan_articles(raw_root)
    for rel, path, refusal in Progress("articles: hashing", len(found), progress, unit="files").over(found):
        if refusal is not None and path.is_dir():  # a linked folder: reported, holds no id
            result.rejections.append(Rejection("articles", rel, None, refusal))
            continue
        by_id.setdefault(article_id_for(rel), []).append(rel)
        data = _read_limited(path) if refusal is None else refusal
        if isinstance(data, str):
            result.rejections.append(Rejection("articles", rel, None, data))
            digest = None
        else:
            readable[rel] = path
            digest = sha256_hex(data)
        listing.append({"article_id": article_id_for(rel), "source_path": rel, "sha256": digest})
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
    listing_table = pa.Table.from_pylist(listing, schema=pa.schema([("article_id", pa.string()), ("source_path", pa.string()), ("sha256", pa.string())]))
    con.register("listing", listing_table)
    try:
        to_parse = [r[0] for r in con.execute("""
            SELECT l.source_path FROM listing l LEFT JOIN articles a USING (article_id)
            WHERE l.sha256 IS NOT NULL AND (a.sha256 IS DISTINCT FROM l.sha256 OR a.retired_at IS NOT NULL)
            ORDER BY l.source_path""").fetchall() if r[0] not in clashing]
        gone = [r[0] for r in con.execute("""
            SELECT article_id FROM articles WHERE retired_at IS NULL
            AND article_id NOT IN (SELECT article_id FROM listing) ORDER BY article_id""").fetchall()]
    finally:
        con.unregister("listing")
    result.unchanged = sum(1 for entry in listing if entry["source_path"] in readable and entry["source_path"] not in clashing) - len(to_parse)

    # Two passes over the new and changed files, so that their texts are never all held at once:
    # the first parses each file to learn its id and body hash (duplicates are judged on all of
    # them together), the second parses the accepted ones again a batch at a time and writes them.
    incoming: list[dict] = []
    for rel in Progress("articles: parsing", len(to_parse), progress, unit="new or changed files").over(to_parse):
        outcome = _parse(readable[rel], rel)
        if isinstance(outcome, Rejection):
            result.rejections.append(outcome)
        else:
            incoming.append({"article_id": outcome.article_id, "source_path": rel, "body_sha256": outcome.body_sha256})
    refused = _duplicate_bodies(con, incoming, result)
    accepted = [entry["source_path"] for entry in incoming if entry["source_path"] not in refused]
    writing = Progress("articles: writing", len(accepted), progress, unit="articles")
    for start in range(0, len(accepted), INGEST_BATCH):
        batch = []
        for rel in accepted[start:start + INGEST_BATCH]:
            outcome = _parse(readable[rel], rel)  # read again: a file edited meanwhile is taken as it is now
            (result.rejections if isinstance(outcome, Rejection) else batch).append(outcome)
        writing.advance(len(accepted[start:start + INGEST_BATCH]))
        if not batch:
            continue
        ids = [a.article_id for a in batch]
        # Only the incoming ids: reading every article id would make a one-file run scale with the corpus.
        existing = {r[0] for r in con.execute("SELECT article_id FROM articles WHERE list_contains(?, article_id)", [ids]).fetchall()}
        con.execute("DELETE FROM articles WHERE list_contains(?, article_id)", [ids])
        insert_rows(con, Articles, [{**a.__dict__, "ingested_at": now} for a in batch])
        result.added += [i for i in ids if i not in existing]
        result.replaced += [i for i in ids if i in existing]
    writing.finish()
    if gone:
        con.execute("UPDATE articles SET retired_at = ? WHERE list_contains(?, article_id)", [now, gone])
        result.retired = gone
    record_rejections(con, "articles", result.rejections, now)
    return result


# New and changed articles parsed and written at a time.
INGEST_BATCH = 1000


def _parse(path: Path, rel: str) -> ParsedArticle | Rejection:
    data = _read_limited(path)
    return Rejection("articles", rel, None, data) if isinstance(data, str) else parse_article(data, rel)


def _duplicate_bodies(con, incoming: list[dict], result: ArticleSync) -> set[str]:
    """The incoming articles (article_id, source_path, body_sha256) refused because another present
    article (or an earlier file of this run, by path) already has their text; each is recorded
    as a rejection."""
    if not incoming:
        return set()
    batch = pa.Table.from_pylist(incoming, schema=pa.schema([("article_id", pa.string()), ("source_path", pa.string()),
                                                             ("body_sha256", pa.string())]))
    con.register("batch", batch)
    try:
        dupes = con.execute("""
            WITH ranked AS (
                SELECT *, row_number() OVER w AS rn, first_value(source_path) OVER w AS first_path FROM batch
                WINDOW w AS (PARTITION BY body_sha256 ORDER BY source_path))
            SELECT r.source_path, coalesce(a.source_path, r.first_path)
            FROM ranked r
            LEFT JOIN articles a ON a.body_sha256 = r.body_sha256 AND a.retired_at IS NULL
                 AND a.article_id NOT IN (SELECT article_id FROM batch)
            WHERE a.article_id IS NOT NULL OR r.rn > 1""").fetchall()
    finally:
        con.unregister("batch")
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



