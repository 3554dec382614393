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

Each report folder lists its article pages, with the version each was written for and the key of
what they all depend on, in MANIFEST.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from factledger import export, versions

MANIFEST = ".pages.json"
# The published tables an article page shows rows of (each has an article_id column).
PAGE_TABLES = ("articles", "claims", "date_findings", "name_findings")


@dataclass
class Reuse:
    """What a report can take over: `pages` article_id -> (file, version it was written for), the
    pages of `folder` (the previous version's report) whose article did not change."""

    key: str | None
    folder: Path | None = None
    pages: dict[str, tuple[str, int]] = field(default_factory=dict)

    def reusable(self, article_id: str, file: str) -> bool:
        found = self.pages.get(article_id)
        return found is not None and found[0] == file


def page_key(con: duckdb.DuckDBPyConnection, version: versions.Version, publisher: export.Publisher,
             legend: list[str], code: str) -> str | None:
    """What every article page of `version` depends on besides its own rows; None when it cannot be
    told (no table hashes recorded)."""
    row = versions.version_row(con, version.version) or {}
    hashes = json.loads(row.get("table_hashes") or "{}")
    if not all(t in hashes for t in ("sources", "figures")):
        return None
    claims = versions.relation_at("claims", version.snapshot_id)
    columns = versions.columns_at(con, claims) if "claims" in versions.tables_at(con, version.snapshot_id) else []
    return json.dumps({"code": code, "publisher": [publisher.name, publisher.url, publisher.report_url],
                       "sources": hashes["sources"], "figures": hashes["figures"], "claim_columns": columns,
                       "legend": legend}, sort_keys=True)


def changed_articles(con: duckdb.DuckDBPyConnection, old_snapshot: int, new_snapshot: int) -> set[str] | None:
    """The articles any of whose published rows (PAGE_TABLES) were inserted or deleted between two
    snapshots, from DuckLake's change feed; None when that cannot be told (a table created,
    replaced or altered in between)."""
    changed: set[str] = set()
    for name in PAGE_TABLES:
        found = versions.changed_values(con, name, "article_id", old_snapshot, new_snapshot)
        if found is None:
            return None
        changed |= found
    return changed


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def manifest_text(key: str | None, pages) -> str:
    """MANIFEST's text: `key` and `pages`, (article_id, (file, version)) in article_id order (an
    iterator: the entries are written as they come; the text is what json.dumps(sort_keys=True) gives)."""
    entries = ", ".join(f"{json.dumps(a)}: {json.dumps(list(p))}" for a, p in pages)
    return f'{{"key": {json.dumps(key)}, "pages": {{{entries}}}}}'


def plan(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, key: str | None) -> Reuse:
    """The pages of the previous version's report that `version`'s report can take over."""
    earlier = [v for v in versions.versions(con) if v.version < version.version]
    if key is None or not earlier:
        return Reuse(key)
    previous = earlier[-1]
    folder = export.version_dir(warehouse, previous.version) / "report"
    manifest = read_manifest(folder)
    if manifest.get("key") != key:
        return Reuse(key)
    changed = changed_articles(con, previous.snapshot_id, version.snapshot_id)
    if changed is None:
        return Reuse(key)
    pages = {a: (f, int(k)) for a, (f, k) in manifest.get("pages", {}).items() if a not in changed and (folder / f).is_file()}
    return Reuse(key, folder, pages)


def review_versions(con: duckdb.DuckDBPyConnection, reuse: Reuse) -> dict[str, tuple[int, str]]:
    """article_id -> (version, its created_at as the export writes it) for the pages `reuse` takes
    over: their ClaimReviews carry that version's address and date."""
    if not reuse.pages:
        return {}
    created = dict(con.execute("SELECT version, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') FROM lake.main.dataset_versions").fetchall())
    return {a: (k, created.get(k, "")) for a, (_, k) in reuse.pages.items()}
