"""Article pages a version's report takes over unchanged from the previous version's report.

An article page shows its article's published rows (the article, its claims, its date and name
findings), the sources and figures, the wording and verdicts' legend, the publisher, and the dataset
version it was written for. When nothing but the version changed since the previous version's
report was written, that report's page is hard-linked into the new report instead of being rendered
again (a one-article change renders one page, not every page). Such a page keeps saying the
version it was written for, "findings of dataset version K", which is the version whose findings
it shows (they are the same in every later version that links it), and its ClaimReviews keep
version K's address and date: a review that did not change keeps one address. The export's
claim_reviews.jsonld holds the same nodes (`review_versions`).

Each report folder lists its article pages in PAGES, a Parquet table DuckDB writes and reads
(article_id, file, the version each page was written for, its bytes, and its row of the article
list, `list_row`), and the key of what they all depend on in MANIFEST. Which pages are taken over is
decided in SQL: the previous report's PAGES, less the articles DuckLake's change feed names, joined
with the new version's page files. No article is read to decide it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from factledger import diff, export, sql, versions

MANIFEST = ".pages.json"  # {"key": ...}
PAGES = ".pages.parquet"  # one row per article page: PAGE_COLUMNS
PAGE_COLUMNS = ("article_id", "file", "version", "bytes", "list_row")
# The published tables an article page shows rows of (each has an article_id column).
PAGE_TABLES = ("articles", "claims", "date_findings", "name_findings")


@dataclass
class Reuse:
    """What a report can take over: the pages of `folder` (the previous version's report, its
    PAGES) but those of the articles in `changed` (their rows changed since it was written)."""

    key: str | None
    folder: Path | None = None
    changed: list[str] = field(default_factory=list)

    def pages(self) -> tuple[str, list] | None:
        """SQL and its parameters: the previous report's pages that can be taken over
        (PAGE_COLUMNS); None when there is no previous report to take pages from."""
        if self.folder is None:
            return None
        return (f"(SELECT {', '.join(PAGE_COLUMNS)} FROM read_parquet({sql.literal(str(self.folder / PAGES))}) "
                "WHERE article_id NOT IN (SELECT unnest(?::VARCHAR[])))", [self.changed])


def page_key(con: duckdb.DuckDBPyConnection, version: versions.Version, publisher: export.Publisher,
             legend: list[str], code: str, vrow: dict | None = None, present: list[str] | None = None) -> str | None:
    """What every article page of `version` depends on besides its own rows; None when it cannot be
    told (no table hashes recorded). `vrow`, `present`: the version's row and its published tables,
    when read before."""
    row = (vrow if vrow is not None else versions.version_row(con, version.version)) or {}
    hashes = json.loads(row.get("table_hashes") or "{}")
    if not all(t in hashes for t in ("sources", "figures")):
        return None
    claims = versions.relation_at("claims", version.snapshot_id)
    present = present if present is not None else versions.tables_at(con, version.snapshot_id)
    columns = versions.columns_at(con, claims) if "claims" in present else []
    return json.dumps({"code": code, "publisher": [publisher.name, publisher.url, publisher.report_url],
                       "sources": hashes["sources"], "figures": hashes["figures"], "claim_columns": columns,
                       "legend": legend}, sort_keys=True)


def changed_articles(con: duckdb.DuckDBPyConnection, old_snapshot: int, new_snapshot: int,
                     feeds: diff.Feeds | None = None) -> set[str] | None:
    """The articles any of whose published rows (PAGE_TABLES) were inserted or deleted between two
    snapshots, from DuckLake's change feed (`feeds`: as read before); None when that cannot be told
    (a table created, replaced or altered in between)."""
    feeds = feeds if feeds is not None and (feeds.old, feeds.new) == (old_snapshot, new_snapshot) else \
        diff.Feeds(con, old_snapshot, new_snapshot)
    changed: set[str] = set()
    for name in PAGE_TABLES:
        found = feeds.values(name, "article_id")
        if found is None:
            return None
        changed |= found
    return changed


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_manifest(con: duckdb.DuckDBPyConnection, folder: Path, key: str | None, pages_sql: str) -> None:
    """Write a report's PAGES (the rows of `pages_sql`: PAGE_COLUMNS) and MANIFEST (`key`) into `folder`."""
    con.execute(f"COPY ({pages_sql}) TO {sql.literal(str(folder / PAGES))} (FORMAT parquet)")
    (folder / MANIFEST).write_text(json.dumps({"key": key}), encoding="utf-8")


def plan(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, key: str | None,
         feeds: diff.Feeds | None = None, earlier: list[versions.Version] | None = None) -> Reuse:
    """The pages of the previous version's report that `version`'s report can take over. `feeds`:
    the change feeds from the previous version, as read before; `earlier`: the versions before it."""
    earlier = earlier if earlier is not None else [v for v in versions.versions(con) if v.version < version.version]
    if key is None or not earlier:
        return Reuse(key)
    previous = earlier[-1]
    folder = export.version_dir(warehouse, previous.version) / "report"
    if read_manifest(folder).get("key") != key or not (folder / PAGES).is_file():
        return Reuse(key)
    changed = changed_articles(con, previous.snapshot_id, version.snapshot_id, feeds)
    if changed is None:
        return Reuse(key)
    return Reuse(key, folder, sorted(changed))
