"""A version's report takes over the article pages of the previous version's report that would read
the same (factledger/report/reuse.py): they are not rewritten, still say which version's findings
they show, and the rest of the report reads exactly as if every page had been rendered again."""
from __future__ import annotations

import os
import shutil

import duckdb
import pytest
from extruct.jsonld import JsonLdExtractor

from factledger import diff, lake, versions
from factledger.report import build, reuse
from tests.conftest import copy_warehouse, run_pipeline
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


@pytest.fixture(scope="module")
def third(built, tmp_path_factory):
    """Version 3, on a copy of the shared warehouse: since version 2, one article deleted and
    another's text changed (version 2 added one and changed one). Its report as the pipeline wrote
    it (taking pages over from version 2's), and the same version rendered whole (nothing taken over)."""
    root = tmp_path_factory.mktemp("third")
    raw = shutil.copytree(built.raw, root / "raw")
    warehouse = copy_warehouse(built.warehouse, root / "warehouse")
    paths = dict(published(built, 2, "SELECT article_id, source_path FROM articles"))
    deleted, changed, *_ = _unchanged_ids(built)
    (raw / paths[deleted]).unlink()
    path = raw / paths[changed]
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\nOne more sentence, with 1,234 people in it.\n",
                    encoding="utf-8")
    assert run_pipeline(raw, warehouse).success
    whole = copy_warehouse(warehouse, root / "whole")
    (whole / "exports" / "v2" / "report" / reuse.MANIFEST).unlink()
    with lake.connect(whole, read_only=True) as con:
        assert build.write_report(con, whole, versions.resolve(con, 3), force=True).regenerated
    return warehouse / "exports" / "v3" / "report", whole / "exports" / "v3" / "report", deleted, changed


def test_after_a_deletion_and_a_change_the_report_reads_as_one_rendered_whole(built, third):
    taken, whole, deleted, changed = third
    pages = sorted(p.relative_to(whole) for p in whole.rglob("*.html"))
    assert pages == sorted(p.relative_to(taken) for p in taken.rglob("*.html"))
    assert f"articles/{deleted}.html" not in map(str, pages) and f"articles/{changed}.html" in map(str, pages)
    previous = taken.parent.parent / "v2" / "report"  # version 2's report in the same (copied) warehouse
    kept = 0
    for rel in pages:
        if (taken / rel).read_bytes() != (whole / rel).read_bytes():  # only pages taken over from version 2's report differ
            assert str(rel).startswith("articles/") and os.path.samefile(taken / rel, previous / rel), rel
            kept += 1
    assert kept == len(manifest_pages(taken)) - 1  # every page but the changed one
    assert "findings of dataset version 3" in (taken / f"articles/{changed}.html").read_text()
    lists = "".join(p.read_text() for p in taken.glob("articles*.html"))
    assert f"articles/{deleted}.html" not in lists and f"articles/{changed}.html" in lists
    ours, rendered = manifest_pages(taken), manifest_pages(whole)
    assert set(ours) == set(rendered) and deleted not in ours
    assert {a: p[3] for a, p in ours.items()} == {a: p[3] for a, p in rendered.items()}  # the article list's rows
    assert {a: p[2] for a, p in ours.items()} == {a: (taken / p[0]).stat().st_size for a, p in ours.items()}
    assert ours[changed][1] == 3 and {p[1] for a, p in ours.items() if a != changed} <= {1, 2}


def test_a_page_missing_from_the_earlier_report_is_rendered_again(built, tmp_path):
    copy = tmp_path / "warehouse"
    shutil.copytree(built.warehouse, copy, symlinks=True)
    gone, *others = _unchanged_ids(built)
    (copy / "exports" / "v1" / "report" / "articles" / f"{gone}.html").unlink()
    with lake.connect(copy, read_only=True) as con:
        written = build.write_report(con, copy, versions.resolve(con, 2), force=True)
    report = copy / "exports" / "v2" / "report"
    assert "findings of dataset version 2" in (report / "articles" / f"{gone}.html").read_text()
    assert all(os.path.samefile(report / "articles" / f"{a}.html", copy / "exports" / "v1" / "report" / "articles" / f"{a}.html")
               for a in others)
    assert manifest_pages(report)[gone][1] == 2 and written.pages == len(list(report.rglob("*.html")))
