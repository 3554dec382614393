"""Bring raw files into the lake: articles incrementally by content hash, sources whole."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from factledger.figures import FIGURE_ID_SQL
from factledger.articles import ARTICLE_SUFFIXES, ParsedArticle, article_id_for, parse_article, sha256_hex
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
    folder = raw_root / ARTICLES_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in ARTICLE_SUFFIXES)


def sync_articles(con: duckdb.DuckDBPyConnection, raw_root: Path, now: dt.datetime | None = None) -> ArticleSync:
    """Make `articles` match raw/articles/: parse only new or changed files (by SHA-256 of the
    bytes), retire rows whose file is gone, and record refused files in `rejected_inputs`."""
    now = now or utc_now()
    result = ArticleSync()
    listing, contents = [], {}
    for path in article_files(raw_root):
        rel = path.relative_to(raw_root).as_posix()
        try:
            data = path.read_bytes()
        except OSError as err:
            result.rejections.append(Rejection("articles", rel, None, f"unreadable: {err.strerror or err}"))
            continue
        contents[rel] = data
        listing.append({"article_id": article_id_for(rel), "source_path": rel, "sha256": sha256_hex(data)})
    listing_table = pa.Table.from_pylist(listing, schema=pa.schema([("article_id", pa.string()), ("source_path", pa.string()), ("sha256", pa.string())]))
    con.register("listing", listing_table)
    try:
        # One id per article: a second file with the same name (x.md beside x.txt) is refused.
        for article_id, rel, first in con.execute("""
                SELECT article_id, source_path, first_value(source_path) OVER w FROM listing
                WINDOW w AS (PARTITION BY article_id ORDER BY source_path)
                QUALIFY row_number() OVER w > 1""").fetchall():
            result.rejections.append(Rejection("articles", rel, None, f"article id {article_id} is already used by {first}"))
        duplicate_names = {r.file for r in result.rejections}
        to_parse = [r[0] for r in con.execute("""
            SELECT l.source_path FROM listing l LEFT JOIN articles a USING (article_id)
            WHERE a.sha256 IS DISTINCT FROM l.sha256 OR a.retired_at IS NOT NULL ORDER BY l.source_path""").fetchall()]
        result.unchanged = len(listing) - len(to_parse)
        gone = [r[0] for r in con.execute("""
            SELECT article_id FROM articles WHERE retired_at IS NULL
            AND article_id NOT IN (SELECT article_id FROM listing) ORDER BY article_id""").fetchall()]
    finally:
        con.unregister("listing")

    parsed: list[ParsedArticle] = []
    for rel in to_parse:
        if rel in duplicate_names:
            continue
        outcome = parse_article(contents[rel], rel)
        (result.rejections if isinstance(outcome, Rejection) else parsed).append(outcome)

    accepted = _drop_duplicate_bodies(con, parsed, result)
    if accepted:
        ids = [a.article_id for a in accepted]
        # Only the incoming ids: reading every article id would make a one-file run scale with the corpus.
        existing = {r[0] for r in con.execute("SELECT article_id FROM articles WHERE list_contains(?, article_id)", [ids]).fetchall()}
        con.execute("DELETE FROM articles WHERE list_contains(?, article_id)", [ids])
        insert_rows(con, Articles, [{**a.__dict__, "ingested_at": now} for a in accepted])
        result.added = [i for i in ids if i not in existing]
        result.replaced = [i for i in ids if i in existing]
    if gone:
        con.execute("UPDATE articles SET retired_at = ? WHERE list_contains(?, article_id)", [now, gone])
        result.retired = gone
    record_rejections(con, "articles", result.rejections, now)
    return result


def _drop_duplicate_bodies(con, parsed: list[ParsedArticle], result: ArticleSync) -> list[ParsedArticle]:
    """Refuse an incoming article whose text another present article (or an earlier file of this
    batch, by path) already has."""
    if not parsed:
        return []
    batch = pa.Table.from_pylist([{"article_id": a.article_id, "source_path": a.source_path, "body_sha256": a.body_sha256} for a in parsed])
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
    refused = dict(dupes)
    for rel, original in dupes:
        result.rejections.append(Rejection("articles", rel, None, f"duplicate article: same text as {original}"))
    return [a for a in parsed if a.source_path not in refused]


def sync_sources(con: duckdb.DuckDBPyConnection, raw_root: Path, now: dt.datetime | None = None) -> list[ParsedSource]:
    """Reload every source folder. A folder refused whole keeps its previously loaded rows."""
    now = now or utc_now()
    folder = raw_root / SOURCES_DIR
    parsed = [parse_source_folder(p, raw_root) for p in sorted(folder.iterdir()) if p.is_dir()] if folder.is_dir() else []
    loaded = [p for p in parsed if p.source is not None]
    present_ids = [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    replaced_ids = [p.source["source_id"] for p in loaded]
    tables = ((Sources, "source"), (SourceReactions, "reactions"), (SourcePeople, "people"),
              (SourceDimensions, "dimensions"), (SourceMeasures, "measures"), (OfficialFigures, "figures"))
    for model, attr in tables:
        con.execute(
            f"DELETE FROM {model.table_name()} WHERE list_contains(?, source_id) OR NOT list_contains(?, source_id)",
            [replaced_ids, present_ids],
        )
        rows = [row for p in loaded for row in ([p.source] if attr == "source" else getattr(p, attr))]
        insert_rows(con, model, [{**r, "ingested_at": now} if model is Sources else r for r in rows])
    con.execute(f"UPDATE official_figures SET figure_id = {FIGURE_ID_SQL} WHERE figure_id IS NULL")
    record_rejections(con, "sources", [r for p in parsed for r in p.rejections], now)
    return parsed


def record_rejections(con, stage: str, rejections: list[Rejection], now: dt.datetime) -> None:
    con.execute("DELETE FROM rejected_inputs WHERE stage = ?", [stage])
    insert_rows(con, RejectedInputs, [{**r.__dict__, "detected_at": now} for r in rejections])



