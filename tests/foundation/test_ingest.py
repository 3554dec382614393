"""Article ingest (factledger/ingest.py) with plain functions: one parse per new or changed file,
rows staged on disk a batch at a time, duplicates judged on all of them together; the outcome
(rows, rejections, what was added, replaced, retired) does not depend on the batches."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from factledger import articles, filestats, ingest, lake, progress, tables
from factledger.paths import PROJECT_ROOT

NOW = dt.datetime(2026, 12, 1, 12, 0, 0)


def article(body: str, title: str = "A probe") -> bytes:
    return f"---\ntitle: {title}\npublished: 2024-09-30\ncites: ice-letter-2024-09-25\n---\n{body}\n".encode()


def corpus(raw: Path) -> Path:
    """The checkout's articles plus files that meet every rule of a second pass."""
    shutil.copytree(PROJECT_ROOT / "raw" / "articles", raw / "articles")
    folder = raw / "articles"
    genuine = sorted(folder.glob("*.md"))[0]
    head, fence, body = genuine.read_bytes().partition(b"\n---\n")
    (folder / "a_copy.md").write_bytes(head + fence + body.replace(b"\n", b"  \n"))  # a duplicate of a corpus article
    for i in range(6):
        (folder / f"probe_{i}.md").write_bytes(article(f"Officials said {1000 + i} people were held."))
    (folder / "probe_twin.md").write_bytes(article("Officials said 1003 people were held.", title="Other title"))
    (folder / "sub").mkdir()
    (folder / "sub" / "probe_1.txt").write_bytes(article("An id clash with 17 people."))
    (folder / "bad.md").write_bytes(b"---\ntitle: &a x\n---\nBody 5.\n")
    (folder / "empty.md").write_bytes(b"")
    return raw


def sync(warehouse: Path, raw: Path, **kwargs) -> ingest.ArticleSync:
    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        con.execute("BEGIN")
        result = ingest.sync_articles(con, raw, NOW, **kwargs)
        con.execute("COMMIT")
        return result


def table(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    with lake.connect(warehouse, read_only=True) as con:
        rows = con.execute("SELECT * EXCLUDE (ingested_at, retired_at), retired_at IS NULL FROM articles ORDER BY article_id").fetchall()
        rejected = con.execute("SELECT file, line, reason FROM rejected_inputs WHERE stage = 'articles' ORDER BY ALL").fetchall()
    return rows, rejected


def outcome(result: ingest.ArticleSync) -> tuple:
    return (result.added, result.replaced, result.retired, result.unchanged,
            sorted((r.file, r.line, r.reason) for r in result.rejections))


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return corpus(tmp_path / "raw")


def test_the_outcome_does_not_depend_on_the_staged_batches(raw, tmp_path, monkeypatch):
    whole = sync(tmp_path / "whole", raw)
    monkeypatch.setattr(ingest, "STAGE_FILES", 2)  # duplicates and their originals in different batches
    batched = sync(tmp_path / "batched", raw)
    assert outcome(batched) == outcome(whole)
    assert table(tmp_path / "batched") == table(tmp_path / "whole")
    rows, rejected = table(tmp_path / "whole")
    assert {r[0] for r in rows} == {p.stem for p in (PROJECT_ROOT / "raw" / "articles").glob("*.md")} | {
        "probe_0", "probe_2", "probe_3", "probe_4", "probe_5"}
    reasons = {file: reason for file, _, reason in rejected}
    assert reasons["articles/probe_twin.md"] == "duplicate article: same text as articles/probe_3.md"
    assert reasons["articles/a_copy.md"].startswith("duplicate article: same text as articles/000_")
    assert "also used by articles/sub/probe_1.txt" in reasons["articles/probe_1.md"]
    assert "anchors and aliases" in reasons["articles/bad.md"] and reasons["articles/empty.md"] == "empty file"


def test_a_second_pass_replaces_retires_and_keeps_refused_changes_out(raw, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    first = sync(warehouse, raw)
    assert first.replaced == [] and "probe_0" in first.added
    rows_before = {r[0]: r for r in table(warehouse)[0]}
    folder = raw / "articles"
    (folder / "probe_0.md").write_bytes(article("A correction: 2000 people were held."))  # changed
    (folder / "probe_2.md").write_bytes((folder / "probe_4.md").read_bytes())  # changed into a duplicate: refused
    (folder / "probe_5.md").unlink()  # gone
    (folder / "probe_new.md").write_bytes(article("A new count of 3000."))
    monkeypatch.setattr(ingest, "STAGE_FILES", 1)
    second = sync(warehouse, raw)
    assert (second.added, second.replaced, second.retired) == (["probe_new"], ["probe_0"], ["probe_5"])
    rows = {r[0]: r for r in table(warehouse)[0]}
    assert "2000 people" in rows["probe_0"][7]
    assert rows["probe_2"] == rows_before["probe_2"]  # the refused change keeps the last good row
    assert rows["probe_5"][-1] is False and rows["probe_4"] == rows_before["probe_4"]
    assert ("articles/probe_2.md", None, "duplicate article: same text as articles/probe_4.md") in table(warehouse)[1]
    third = sync(warehouse, raw)  # nothing changed since
    assert (third.added, third.replaced, third.retired) == ([], [], [])
    assert third.unchanged == second.unchanged + 1 + len(second.added)  # probe_0 now unchanged too
    assert table(warehouse)[0] == list(rows.values())


def counting_reads(monkeypatch) -> list[str]:
    """The files sync_articles reads, in the order read."""
    read = []
    real = ingest.read_limited

    def spy(path):
        read.append(os.path.relpath(path))
        return real(path)

    monkeypatch.setattr(ingest, "read_limited", spy)
    return read


def stat_rows(warehouse: Path) -> dict[str, str]:
    with lake.connect(warehouse, read_only=True) as con:
        return dict(con.execute(f"SELECT source_path, sha256 FROM {filestats.TABLE}").fetchall())


def test_a_rerun_reads_no_file_whose_stat_is_unchanged(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(filestats, "RACY_NS", 0)  # the files were just written: trust them at once
    warehouse = tmp_path / "warehouse"
    first = sync(warehouse, raw)
    recorded = stat_rows(warehouse)
    # every file hashed, refused ones too (an empty file, an id clash, a duplicate)
    assert set(recorded) == {rel for rel, _, refusal in ingest.scan_articles(raw) if refusal is None}
    reads = counting_reads(monkeypatch)
    again = sync(warehouse, raw)
    assert reads == []
    assert outcome(again)[:3] == ([], [], []) and again.unchanged == len(first.added)
    assert sorted(r.reason for r in again.rejections) == sorted(r.reason for r in first.rejections)
    monkeypatch.setenv(filestats.REHASH_ENV, "1")  # every file read: the same outcome
    assert outcome(sync(warehouse, raw)) == outcome(again) and len(reads) == len(recorded)


def test_a_file_rewritten_with_its_old_size_and_time_is_read_again(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(filestats, "RACY_NS", 0)
    warehouse = tmp_path / "warehouse"
    sync(warehouse, raw)
    path = raw / "articles" / "probe_0.md"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"1000 people", b"9000 people"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # `touch -d`: only the status-change time tells
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    reads = counting_reads(monkeypatch)
    again = sync(warehouse, raw)
    assert reads == [os.path.relpath(path)] and again.replaced == ["probe_0"]
    assert "9000 people" in {r[0]: r for r in table(warehouse)[0]}["probe_0"][7]


def test_a_file_changed_close_to_its_reading_is_read_again(raw, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    monkeypatch.setattr(filestats, "RACY_NS", 10**15)  # every file changed "within a clock tick" of its reading
    sync(warehouse, raw)
    reads = counting_reads(monkeypatch)
    sync(warehouse, raw)
    assert len(reads) == len(stat_rows(warehouse))


def test_the_recorded_stats_follow_added_and_removed_files(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(filestats, "RACY_NS", 0)
    warehouse = tmp_path / "warehouse"
    sync(warehouse, raw)
    (raw / "articles" / "probe_5.md").unlink()
    (raw / "articles" / "probe_new.md").write_bytes(article("A new count of 3000."))
    reads = counting_reads(monkeypatch)
    result = sync(warehouse, raw)
    assert reads == [os.path.relpath(raw / "articles" / "probe_new.md")]
    assert (result.added, result.retired) == (["probe_new"], ["probe_5"])
    recorded = stat_rows(warehouse)
    assert "articles/probe_5.md" not in recorded
    assert recorded["articles/probe_new.md"] == articles.sha256_hex((raw / "articles" / "probe_new.md").read_bytes())


def test_the_staging_folder_is_removed(raw, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    monkeypatch.setattr(ingest, "STAGE_FILES", 2)
    staged = []
    real = ingest._stage

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        staged.extend(file for file, _ in out[0])
        return out

    monkeypatch.setattr(ingest, "_stage", spy)
    sync(tmp_path / "warehouse", raw)
    assert len(staged) > 2 and all(f.is_relative_to(scratch) for f in staged)
    assert list(scratch.iterdir()) == []


def test_writing_reports_progress_per_staged_batch(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "EVERY", 0.0)
    monkeypatch.setattr(ingest, "STAGE_FILES", 3)
    lines = []
    result = sync(tmp_path / "warehouse", raw, progress=lines.append)
    n = len(result.added)
    writing = [line.split(",")[0] for line in lines if line.startswith("articles: writing")]
    assert writing[0] == "articles: writing 3/" + f"{n} articles" and writing[-1] == f"articles: writing {n}/{n} articles"


@pytest.mark.parametrize(("size", "refused"), [(articles.MAX_ARTICLE_BYTES, False), (articles.MAX_ARTICLE_BYTES + 1, True)])
def test_read_limited_reads_up_to_the_limit(tmp_path, size, refused):
    path = tmp_path / "a.md"
    path.write_bytes(b"x" * size)
    data = articles.read_limited(path)
    assert isinstance(data, str) is refused
    if not refused:
        assert data == path.read_bytes()


@pytest.mark.parametrize(("size", "told", "refused"), [
    (5000, 2000, False),  # grew after its size was taken: read on
    (5000, 9000, False),  # shrank: read to its end
    (articles.MAX_ARTICLE_BYTES + 10, 100, True),  # grew past the limit
    (articles.MAX_ARTICLE_BYTES, 100, False),
])
def test_read_limited_reads_the_file_as_it_is_whatever_its_size_said(tmp_path, monkeypatch, size, told, refused):
    path = tmp_path / "a.md"
    path.write_bytes(b"y" * size)

    class Told:
        st_size = told

    monkeypatch.setattr(articles.os, "fstat", lambda fd: Told)
    data = articles.read_limited(path)
    assert data == (f"file is over {articles.MAX_ARTICLE_BYTES:,} bytes, the limit for an article; not read" if refused else b"y" * size)


def test_read_limited_says_why_a_file_cannot_be_read(tmp_path):
    assert articles.read_limited(tmp_path / "gone.md") == "unreadable: No such file or directory"
    assert articles.read_limited(tmp_path) == "unreadable: Is a directory"


def test_scan_lists_links_folders_and_special_files_with_their_reasons(tmp_path):
    raw = tmp_path / "raw"
    folder = raw / "articles"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / "x.md").write_bytes(article("One of 12."))
    (folder / "notes.pdf").write_bytes(b"%PDF")
    (folder / "..md").write_bytes(article("A name Path gives the suffix .md: 13."))
    (folder / "linked").symlink_to(raw)
    (folder / "dangling.md").symlink_to("nowhere.md")
    (folder / "inside.md").symlink_to(folder / "deep" / "er" / "x.md")
    (folder / "outside.md").symlink_to("/etc/hostname")
    os.mkfifo(folder / "pipe.txt")
    found = {rel: reason for rel, _, reason in ingest.scan_articles(raw)}
    assert list(found) == sorted(found)
    assert found == {
        "articles/..md": None,
        "articles/dangling.md": "dangling symbolic link (to 'nowhere.md', which does not exist); not read",
        "articles/deep/er/x.md": None,
        "articles/inside.md": None,
        "articles/linked": "symbolic link to a folder; linked folders are not followed",
        "articles/outside.md": f"symbolic link leaving the raw folder (to {str(Path('/etc/hostname').resolve())!r}); not read",
        "articles/pipe.txt": "not a regular file (a FIFO, socket or device); not read",
    }
    assert [p.name for p in ingest.article_files(raw)] == ["..md", "x.md", "inside.md"]



@pytest.mark.parametrize(("max_bytes", "max_files", "sizes"), [(10**9, 2, [2, 2, 1]), (1, 10**9, [1, 1, 1, 1, 1]), (10**9, 10**9, [5])])
def test_stage_articles_writes_batches_bounded_by_bytes_and_files(tmp_path, max_bytes, max_files, sizes):
    import pyarrow.parquet as pq

    files = []
    for i, data in enumerate([article(f"Count {i}.") for i in range(3)] + [b""] + [article("Count 3.") + b"x" * 100] * 2):
        path = tmp_path / f"a{i}.md"
        path.write_bytes(data)
        files.append((f"articles/a{i}.md", str(path)))
    (tmp_path / "stage").mkdir()
    out = articles.stage_articles(files, tmp_path / "stage" / "b", ingest._STAGED, max_bytes, max_files)
    assert [n for _, n in out.staged] == sizes
    assert [(r.file, r.reason) for r in out.rejections] == [("articles/a3.md", "empty file")]
    rows = [row for file, _ in out.staged for row in pq.read_table(file).to_pylist()]
    expected = [articles.parse_article(Path(p).read_bytes(), rel) for rel, p in files if rel != "articles/a3.md"]
    assert rows == [a.__dict__ for a in expected]
    assert out.incoming["source_path"] == [a.source_path for a in expected]
    assert out.incoming["body_sha256"] == [a.body_sha256 for a in expected]
