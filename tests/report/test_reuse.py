"""A version's report takes over the article pages of the previous version's report that would read
the same (factledger/report/reuse.py): they are not rewritten, still say which version's findings
they show, and the rest of the report reads exactly as if every page had been rendered again."""
from __future__ import annotations

import os
import shutil

import duckdb
from extruct.jsonld import JsonLdExtractor

from factledger import diff, lake, versions
from factledger.report import build, reuse
from tests.report.conftest import HOSTILE_ID
from tests.report.test_report import published


def manifest_pages(folder) -> dict[str, tuple]:
    """article_id -> (file, version, bytes, list_row) of a report's reuse.PAGES."""
    rows = duckdb.connect().execute(f"SELECT * FROM read_parquet('{folder / reuse.PAGES}') ORDER BY article_id").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _unchanged_ids(built) -> list[str]:
    ids = {r[0] for r in published(built, 2, "SELECT article_id FROM articles")}
    return sorted(ids - {built.edited_article, HOSTILE_ID})


def test_an_unchanged_article_page_is_not_rewritten_and_names_its_version(built, tmp_path):
    unchanged = _unchanged_ids(built)
    assert unchanged
    for article_id in unchanged:  # what the pipeline wrote
        old, new = (built.report(v) / "articles" / f"{article_id}.html" for v in (1, 2))
        assert old.read_bytes() == new.read_bytes()
        assert "findings of dataset version 1, published" in new.read_text()
    # Version 2's report written again (on a copy: other tests rewrite version 1's): the same files.
    copy = tmp_path / "warehouse"
    shutil.copytree(built.warehouse, copy, symlinks=True)
    with lake.connect(copy, read_only=True) as con:
        build.write_report(con, copy, versions.resolve(con, 2), force=True)
    for article_id in unchanged:
        old, new = (copy / "exports" / f"v{v}" / "report" / "articles" / f"{article_id}.html" for v in (1, 2))
        assert os.path.samefile(old, new), article_id  # a hard link, not a copy
    edited = built.report(2) / "articles" / f"{built.edited_article}.html"
    assert built.new_phrase in edited.read_text() and "findings of dataset version 2, published" in edited.read_text()
    manifest = manifest_pages(built.report(2))
    assert {a: p[1] for a, p in manifest.items() if a in unchanged} == dict.fromkeys(unchanged, 1)
    assert manifest[built.edited_article][1] == 2
    for article_id, (file, _, n_bytes, row) in manifest.items():
        assert (built.report(2) / file).stat().st_size == n_bytes and f'<a href="{file}">' in row


def test_a_taken_over_pages_reviews_keep_its_versions_address_and_date(built):
    created = dict(published(built, 2, "SELECT version, strftime(created_at, '%Y-%m-%d') FROM dataset_versions"))
    extractor = JsonLdExtractor()
    seen = 0
    for article_id in _unchanged_ids(built):
        path = built.report(2) / "articles" / f"{article_id}.html"
        for node in extractor.extract(path.read_text()):
            assert "/v1/articles/" in node["url"] and node["datePublished"] == created[1]
            seen += 1
    for node in extractor.extract((built.report(2) / "articles" / f"{built.edited_article}.html").read_text()):
        assert "/v2/articles/" in node["url"] and node["datePublished"] == created[2]
    assert seen  # the checkout's articles have addresses and dates: their reviews are there


def test_the_report_reads_the_same_as_one_rendered_whole(built, tmp_path):
    """Version 2's report written with nothing to take over (no earlier manifest) has the same
    overview, lists, diff, source pages and changed article pages as the one the pipeline wrote."""
    copy = tmp_path / "warehouse"
    shutil.copytree(built.warehouse, copy, symlinks=True)
    (copy / "exports" / "v1" / "report" / reuse.MANIFEST).unlink()
    with lake.connect(copy, read_only=True) as con:
        written = build.write_report(con, copy, versions.resolve(con, 2), force=True)
    assert written.regenerated
    whole, taken = copy / "exports" / "v2" / "report", built.report(2)
    pages = sorted(p.relative_to(whole) for p in whole.rglob("*.html"))
    assert pages == sorted(p.relative_to(taken) for p in taken.rglob("*.html"))
    unchanged = {f"articles/{a}.html" for a in _unchanged_ids(built)}
    for rel in pages:
        if str(rel) not in unchanged:
            assert (whole / rel).read_text() == (taken / rel).read_text(), rel
    assert manifest_pages(whole)[_unchanged_ids(built)[0]][1] == 2
    assert {a: p[3] for a, p in manifest_pages(whole).items()} == {a: p[3] for a, p in manifest_pages(taken).items()}


def test_a_diff_from_the_change_feed_equals_the_whole_comparison(built, monkeypatch):
    with lake.connect(built.warehouse, read_only=True) as con:
        old, new = (versions.resolve(con, v).snapshot_id for v in (1, 2))
        fast = diff.diff(con, old, new)
        monkeypatch.setattr(diff, "feed_keys", lambda *a: None)
        slow = diff.diff(con, old, new)
    assert [(d.table, d.rows, d.counts) for d in fast] == [(d.table, d.rows, d.counts) for d in slow]
    assert any(d.changed for d in fast) and any(not d.changed for d in fast)


def test_changed_articles_come_from_the_change_feed(built):
    with lake.connect(built.warehouse, read_only=True) as con:
        old, new = (versions.resolve(con, v).snapshot_id for v in (1, 2))
        changed = reuse.changed_articles(con, old, new)
        assert reuse.changed_articles(con, new, new) == set()
    present = {r[0] for r in published(built, 2, "SELECT article_id FROM articles")}
    assert built.edited_article in changed and not changed & set(_unchanged_ids(built))
    assert HOSTILE_ID in changed or HOSTILE_ID not in present


def test_worker_processes_write_the_same_pages(built, tmp_path, monkeypatch):
    """Version 2's report with its article pages rendered by two spawned worker processes (each
    with its own read-only connection) reads byte for byte as the one rendered in this process."""
    copy = tmp_path / "warehouse"
    shutil.copytree(built.warehouse, copy, symlinks=True)
    (copy / "exports" / "v1" / "report" / reuse.MANIFEST).unlink()  # nothing taken over: every page rendered
    monkeypatch.setattr(build, "POOL_MIN", 1)
    monkeypatch.setattr(build, "POOL_CHUNK", 2)
    monkeypatch.setenv(build.REPORT_WORKERS_ENV, "2")
    calls = []
    real = build._render_in_workers
    monkeypatch.setattr(build, "_render_in_workers", lambda *a: calls.append(a[-1]) or real(*a))
    with lake.connect(copy, read_only=True) as con:
        pooled = build.write_report(con, copy, versions.resolve(con, 2), force=True)
    assert calls == [2]
    sequential = tmp_path / "sequential"
    shutil.copytree(copy, sequential, symlinks=True)
    monkeypatch.delenv(build.REPORT_WORKERS_ENV)
    with lake.connect(sequential, read_only=True) as con:
        alone = build.write_report(con, sequential, versions.resolve(con, 2), force=True)
    assert (pooled.pages, pooled.bytes) == (alone.pages, alone.bytes)
    a, b = copy / "exports" / "v2" / "report", sequential / "exports" / "v2" / "report"
    for page in sorted(a.rglob("*.html")):
        assert page.read_bytes() == (b / page.relative_to(a)).read_bytes(), page
    assert manifest_pages(a) == manifest_pages(b)
    assert reuse.read_manifest(a) == reuse.read_manifest(b)
