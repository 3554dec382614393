"""factledger.watch: the file states, the diff, the run key and the cursor, without Dagster."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from factledger import watch


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "articles/a.md", "alpha")
    write(tmp_path, "articles/b.md", "beta")
    write(tmp_path, "sources/s1/figures.csv", "x,y\n1,2\n")
    return tmp_path


def test_scan_lists_relative_paths_with_content_hashes(folder: Path) -> None:
    write(folder, "articles/.hidden.md", "ignored")
    write(folder, "articles/c.md.part", "ignored")
    fp = watch.scan(folder)
    assert sorted(fp) == ["articles/a.md", "articles/b.md", "sources/s1/figures.csv"]
    assert fp["articles/a.md"].sha256 == watch.sha256_file(folder / "articles/a.md")


def test_unchanged_files_are_not_rehashed(folder: Path) -> None:
    first = watch.scan(folder)
    stats = watch.ScanStats()
    again = watch.scan(folder, first, stats)
    assert again == first and stats.files == 3 and stats.hashed == 0


def test_touched_but_identical_file_is_no_change(folder: Path) -> None:
    first = watch.scan(folder)
    path = folder / "articles/a.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    stats = watch.ScanStats()
    second = watch.scan(folder, first, stats)
    assert stats.hashed == 1
    assert not watch.diff(first, second)
    assert watch.state_digest(first) == watch.state_digest(second)


def test_diff_reports_added_changed_removed(folder: Path) -> None:
    first = watch.scan(folder)
    write(folder, "articles/a.md", "alpha, edited")
    write(folder, "articles/new.md", "gamma")
    (folder / "articles/b.md").unlink()
    changes = watch.diff(first, watch.scan(folder, first))
    assert changes == watch.Changes(added=("articles/new.md",), changed=("articles/a.md",), removed=("articles/b.md",))
    assert changes.summary() == "1 added, 1 changed, 1 removed"


def test_same_size_edit_within_the_same_mtime_is_missed_only_by_the_prefilter(folder: Path) -> None:
    """The size+mtime pre-filter trusts the file system: document the case it cannot see."""
    first = watch.scan(folder)
    path = folder / "articles/a.md"
    stat = path.stat()
    path.write_text("ALPHA")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and mtime forced back
    assert not watch.diff(first, watch.scan(folder, first))
    assert watch.diff(first, watch.scan(folder))  # a full rehash (empty previous) sees it


def test_run_key_is_stable_for_one_change_and_new_for_the_next(folder: Path) -> None:
    start = watch.WatchState(watch.scan(folder))
    write(folder, "articles/a.md", "alpha v2")
    one = watch.observe(folder, start)
    again = watch.observe(folder, start)  # the same tick evaluated twice (cursor not stored)
    assert one.run_key and one.run_key == again.run_key
    # A -> B -> A -> B: each transition is a new change with a new key.
    write(folder, "articles/a.md", "alpha")
    two = watch.observe(folder, one.state)
    write(folder, "articles/a.md", "alpha v2")
    three = watch.observe(folder, two.state)
    keys = [one.run_key, two.run_key, three.run_key]
    assert None not in keys and len(set(keys)) == 3
    assert watch.observe(folder, three.state).run_key is None


def test_cursor_round_trip(folder: Path) -> None:
    state = watch.WatchState(watch.scan(folder), seq=7)
    cursor = watch.encode_cursor(state)
    back = watch.decode_cursor(cursor)
    assert back.files == state.files and back.seq == 7
    assert watch.decode_cursor(None) == watch.WatchState()


def test_corrupt_cursor_is_refused_not_silently_reset() -> None:
    with pytest.raises(ValueError):
        watch.decode_cursor("not-a-cursor")


def test_cursor_is_compact(tmp_path: Path) -> None:
    for i in range(2000):
        write(tmp_path, f"articles/{i:06d}_x.md", f"body {i}")
    cursor = watch.encode_cursor(watch.WatchState(watch.scan(tmp_path)))
    # ~50 bytes per file once compressed (a SHA-256 does not compress): see docs/operations.md.
    assert len(cursor) < 2000 * 80
