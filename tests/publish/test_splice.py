"""A sorted CSV written in key-range chunks, then spliced after a change: always byte for byte the
one COPY of the whole query (factledger/splice.py)."""
import json

import duckdb
import pytest

from factledger import export, splice
from tests.publish.conftest import joined

TEXTS = ["plain", "a, comma", 'a "quote"', "line\nbreak", "=1+1", "-3", "", None, "é ü", "tab\there"]


def table(con, rows):
    con.execute("CREATE OR REPLACE TABLE t (k VARCHAR, n INTEGER, s VARCHAR, x DOUBLE)")
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)


def initial_rows():
    # Keys in groups ('a03' has rows 0..3), with texts that need quoting and neutralising.
    return [(f"a{i:02d}", j, TEXTS[(i + j) % len(TEXTS)], i / 3) for i in range(1, 40) for j in range(i % 4 + 1)]


def query(con, key=("k", "n")):
    return splice.CsvQuery(export.neutralised_select(con, "t"), "t", key, "DELIMITER ','")


def whole(con, q, path):
    con.execute(q.whole_sql().format(path=f"'{path}'"))
    return path.read_bytes()


def keys_between(con, before, after, columns):
    """The keys of rows that differ between two copies of t (what DuckLake's change feed lists)."""
    cols = ", ".join(columns)
    return con.execute(f"SELECT DISTINCT {cols} FROM ((SELECT * FROM {before} EXCEPT SELECT * FROM {after}) "
                       f"UNION ALL (SELECT * FROM {after} EXCEPT SELECT * FROM {before}))").fetchall()


CHANGES = {
    "add at the start": ["INSERT INTO t VALUES ('a00', 0, '=start', 0)"],
    "add before everything, a new first key": ["INSERT INTO t VALUES ('0', 5, 'x', 0)"],
    "change at the start": ["UPDATE t SET s = 'new' WHERE k = 'a01'"],
    "delete at the start": ["DELETE FROM t WHERE k = 'a01'"],
    "add in the middle": ["INSERT INTO t VALUES ('a20x', 1, 'mid', 1)"],
    "change in the middle": ["UPDATE t SET s = 'line\nnew, \"q\"' WHERE k = 'a20' AND n = 0"],
    "delete in the middle": ["DELETE FROM t WHERE k = 'a20'"],
    "delete a whole chunk's range": ["DELETE FROM t WHERE k BETWEEN 'a10' AND 'a16'"],
    "add at the end": ["INSERT INTO t SELECT 'z' || i, i, 'end', 1 FROM range(30) r(i)"],
    "change at the end": ["UPDATE t SET x = -1 WHERE k = 'a39'"],
    "delete at the end": ["DELETE FROM t WHERE k >= 'a38'"],
    "everything deleted": ["DELETE FROM t"],
    "several places": ["DELETE FROM t WHERE k = 'a05'", "UPDATE t SET s = '@x' WHERE k = 'a25'", "INSERT INTO t VALUES ('a33', 9, 'n', 0)"],
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("key, prefix", [(("k", "n"), False), (("k", "n"), True), (("k",), False)])
def test_a_spliced_file_is_the_whole_copy_byte_for_byte(tmp_path, change, key, prefix):
    con = duckdb.connect()
    rows = initial_rows()
    if key == ("k",):
        rows = [r for r in rows if r[1] == 0]
    table(con, rows)
    q = query(con, key)
    first = tmp_path / "v1" / "t.csv"
    first.parent.mkdir()
    written = splice.write_csv(con, q, first, chunk_rows=7)
    assert first.read_bytes() == whole(con, q, tmp_path / "whole1.csv")
    assert written.chunks > 3 and not written.spliced
    con.execute("CREATE TABLE before AS SELECT * FROM t")
    for statement in CHANGES[change]:
        con.execute(statement)
    changed = keys_between(con, "before", "t", ["k"] if prefix else list(key))
    second = tmp_path / "v2" / "t.csv"
    second.parent.mkdir()
    before = first.read_bytes()
    written = splice.write_csv(con, q, second, previous=first, changed=changed)
    assert second.read_bytes() == whole(con, q, tmp_path / "whole2.csv")
    assert first.read_bytes() == before  # the previous file is never edited
    assert written.spliced and (written.rewritten < written.chunks or written.chunks <= 2)
    # ... and its index is good for the next change.
    con.execute("CREATE OR REPLACE TABLE before AS SELECT * FROM t")
    con.execute("INSERT INTO t VALUES ('a21b', 7, 'again', 2)")
    third = tmp_path / "v3.csv"
    splice.write_csv(con, q, third, previous=second, changed=keys_between(con, "before", "t", list(key)))
    assert third.read_bytes() == whole(con, q, tmp_path / "whole3.csv")


def test_a_key_at_a_chunk_boundary_rewrites_the_chunk_it_starts(tmp_path):
    con = duckdb.connect()
    table(con, [(f"k{i:03d}", 0, "v", 0) for i in range(100)])
    q = query(con, ("k",))
    first = tmp_path / "a.csv"
    splice.write_csv(con, q, first, chunk_rows=10)
    index = json.loads(splice.index_path(first).read_text())
    assert [c[0] for c in index["chunks"]] == [[f"k{i:03d}"] for i in range(0, 100, 10)]
    for statement, changed in [("DELETE FROM t WHERE k = 'k030'", [("k030",)]),
                               ("UPDATE t SET s = 'w' WHERE k = 'k040'", [("k040",)]),
                               ("INSERT INTO t VALUES ('k049a', 0, 'v', 0)", [("k049a",)])]:
        con.execute(statement)
        out = tmp_path / "b.csv"
        written = splice.write_csv(con, q, out, previous=first, changed=changed)
        assert out.read_bytes() == whole(con, q, tmp_path / "w.csv")
        assert written.rewritten == 1
        first = tmp_path / "a.csv"
        out.replace(first)
        splice.index_path(out).replace(splice.index_path(first))


def test_chunks_touched_by_keys_and_by_key_prefixes():
    firsts = [("a", 0), ("c", 5), ("c", 9), ("e", 0)]
    touched = lambda *keys: splice.touched_chunks(firsts, keys)  # noqa: E731
    assert touched(("0", 1)) == {0}  # before the first key: the first chunk
    assert touched(("c", 5)) == {1} and touched(("c", 7)) == {1} and touched(("c", 9)) == {2}
    assert touched(("z", 0)) == {3}
    assert touched(("c",)) == {0, 1, 2}  # every chunk that can hold a row of 'c'
    assert touched(("b",)) == {0} and touched(("e",)) == {2, 3} and touched(("f",)) == {3}
    assert touched() == set()
    assert touched((None, 1)) is None and touched((1, 1)) is None  # a NULL key, another type
    assert splice.touched_chunks([None], [("a", 1)]) is None
    assert splice.runs({5, 1, 2, 7, 8}) == [(1, 2), (5, 5), (7, 8)]


def test_python_and_duckdb_order_text_keys_alike():
    words = ["B", "a", "é", "z", "a:1", "a1", "", "~", "Z", "ü", "\u2028", "𝄞"]
    assert [r[0] for r in duckdb.execute("SELECT w FROM unnest(?) t(w) ORDER BY w", [words]).fetchall()] == sorted(words)


def test_the_file_is_written_whole_when_the_previous_one_cannot_be_spliced(tmp_path):
    con = duckdb.connect()
    table(con, initial_rows())
    q = query(con)
    first = tmp_path / "a.csv"
    splice.write_csv(con, q, first, chunk_rows=5)
    out = tmp_path / "b.csv"
    con.execute("UPDATE t SET s = 'new' WHERE k = 'a02'")
    expected = whole(con, q, tmp_path / "w.csv")
    cases = {
        "no changes known": dict(previous=first, changed=None),
        "no previous file": dict(previous=tmp_path / "missing.csv", changed=[("a02",)]),
        "another query": dict(previous=first, changed=[("a02",)], q=splice.CsvQuery("k, n", "t", ("k", "n"), "DELIMITER ','")),
        "too many changes": dict(previous=first, changed=[(f"a{i}", 0) for i in range(splice.MAX_CHANGED_KEYS + 1)]),
    }
    for name, case in cases.items():
        qq = case.pop("q", q)
        written = splice.write_csv(con, qq, out, **case)
        assert not written.spliced, name
        assert out.read_bytes() == (expected if qq is q else whole(con, qq, tmp_path / "w2.csv")), name
    index = splice.index_path(first)
    good = index.read_text()
    for broken in ("{", json.dumps({"format": 0}), good.replace('"header": ', '"header": 1')):
        index.write_text(broken)
        assert not splice.write_csv(con, q, out, previous=first, changed=[("a02",)]).spliced
        assert out.read_bytes() == expected
    index.write_text(good)
    with open(first, "ab") as f:  # the file is not the one the index describes
        f.write(b"x")
    assert not splice.write_csv(con, q, out, previous=first, changed=[("a02",)]).spliced


def test_keys_the_index_cannot_hold_make_one_chunk(tmp_path):
    con = duckdb.connect()
    table(con, initial_rows() + [(None, 1, "null key", 0)])
    q = query(con)
    first = tmp_path / "a.csv"
    written = splice.write_csv(con, q, first, chunk_rows=5)
    assert written.chunks == 1 and first.read_bytes() == whole(con, q, tmp_path / "w.csv")
    con.execute("UPDATE t SET s = 'new' WHERE k = 'a02'")
    assert not splice.write_csv(con, q, tmp_path / "b.csv", previous=first, changed=[("a02",)]).spliced
    con.execute("CREATE TABLE d AS SELECT DATE '2024-01-01' + i::INTEGER AS day, i FROM range(20) r(i)")
    dq = splice.CsvQuery("*", "d", ("day",), "DELIMITER ','")
    assert splice.write_csv(con, dq, tmp_path / "d.csv", chunk_rows=3).chunks == 1
    assert (tmp_path / "d.csv").read_bytes() == whole(con, dq, tmp_path / "dw.csv")


def test_an_empty_table_is_its_header(tmp_path):
    con = duckdb.connect()
    table(con, [])
    q = query(con)
    out = tmp_path / "a.csv"
    splice.write_csv(con, q, out, chunk_rows=5)
    assert out.read_bytes() == whole(con, q, tmp_path / "w.csv") == b"k,n,s,x\n"
    con.execute("INSERT INTO t VALUES ('a', 1, 'x', 0)")
    splice.write_csv(con, q, tmp_path / "b.csv", previous=out, changed=[("a", 1)])
    assert (tmp_path / "b.csv").read_bytes() == whole(con, q, tmp_path / "w.csv")


def test_bytes_are_copied_without_copy_file_range_where_it_fails(tmp_path, monkeypatch):
    con = duckdb.connect()
    table(con, initial_rows())
    q = query(con)
    first = tmp_path / "a.csv"
    splice.write_csv(con, q, first, chunk_rows=5)
    con.execute("DELETE FROM t WHERE k = 'a20'")

    def refuse(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(splice.os, "copy_file_range", refuse)
    out = tmp_path / "b.csv"
    assert splice.write_csv(con, q, out, previous=first, changed=[("a20",)]).spliced
    assert out.read_bytes() == whole(con, q, tmp_path / "w.csv")


def test_chunks_are_sized_by_the_bytes_of_the_rows_written_before_them(tmp_path, monkeypatch):
    for name, value in (("CHUNK_BYTES", 600), ("UNIT_ROWS", 2), ("FIRST_CHUNK_ROWS", 4)):
        monkeypatch.setattr(splice, name, value)
    con = duckdb.connect()
    table(con, [(f"k{i:03d}", 0, "x" * (10 if i < 50 else 100), 0) for i in range(100)])
    q = query(con, ("k",))
    out = tmp_path / "a.csv"
    splice.write_csv(con, q, out)
    assert out.read_bytes() == whole(con, q, tmp_path / "w.csv")
    chunks = splice.read_index(out, q).chunks
    assert chunks[0].rows == 4 and len(chunks) > 5
    # After the first (4 rows): short rows, then long ones; each chunk near 600 bytes but the two
    # where the rows' length changes.
    assert sum(not 600 / 2 < c.length < 2 * 600 for c in chunks[1:]) <= 2
    assert chunks[-1].length > 600 / 2  # no small last chunk
    assert sum(c.rows for c in chunks) == 100


# --- the same file as a folder of parts ---------------------------------------------------------

@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("prefix", [False, True])
def test_parts_read_in_order_are_the_whole_copy_and_unchanged_parts_are_links(tmp_path, change, prefix):
    con = duckdb.connect()
    table(con, initial_rows())
    q = query(con)
    first = tmp_path / "v1" / "t.csv"
    written = splice.write_csv_parts(con, q, first, chunk_rows=7)
    parts = splice.part_paths(first)
    assert written.chunks == len(parts) > 3 and not written.spliced
    assert all(p.read_bytes().startswith(b"k,n,s,x\n") for p in parts)  # each part reads on its own
    assert joined(first) == whole(con, q, tmp_path / "whole1.csv")
    con.execute("CREATE TABLE before AS SELECT * FROM t")
    for statement in CHANGES[change]:
        con.execute(statement)
    before = {p.name: p.read_bytes() for p in parts}
    second = tmp_path / "v2" / "t.csv"
    written = splice.write_csv_parts(con, q, second, previous=first, changed=keys_between(con, "before", "t", ["k"] if prefix else ["k", "n"]))
    assert joined(second) == whole(con, q, tmp_path / "whole2.csv")
    assert {p.name: p.read_bytes() for p in splice.part_paths(first)} == before  # the previous folder is never edited
    assert written.spliced and written.rewritten < written.chunks or written.chunks <= 2
    linked = {p.stat().st_ino for p in splice.part_paths(first)}
    assert sum(p.stat().st_ino in linked for p in splice.part_paths(second)) == sum(r is not None for r in written.reused)
    # ... and its index is good for the next change.
    con.execute("CREATE OR REPLACE TABLE before AS SELECT * FROM t")
    con.execute("INSERT INTO t VALUES ('a21b', 7, 'again', 2)")
    third = tmp_path / "v3" / "t.csv"
    splice.write_csv_parts(con, q, third, previous=second, changed=keys_between(con, "before", "t", ["k", "n"]))
    assert joined(third) == whole(con, q, tmp_path / "whole3.csv")


def test_a_parts_folder_is_written_whole_when_its_index_does_not_fit(tmp_path):
    con = duckdb.connect()
    table(con, initial_rows())
    q = query(con)
    first = tmp_path / "v1" / "t.csv"
    splice.write_csv_parts(con, q, first, chunk_rows=7)
    con.execute("UPDATE t SET s = 'new' WHERE k = 'a20'")
    splice.part_paths(first)[-1].write_bytes(b"k,n,s,x\n")  # a part that is not what the index says
    again = splice.write_csv_parts(con, q, tmp_path / "v2" / "t.csv", previous=first, changed=[("a20",)])
    assert not again.spliced and joined(tmp_path / "v2" / "t.csv") == whole(con, q, tmp_path / "w.csv")


def test_an_empty_table_is_one_part_holding_its_header(tmp_path):
    con = duckdb.connect()
    table(con, [])
    q = query(con)
    written = splice.write_csv_parts(con, q, tmp_path / "t.csv")
    assert written.chunks == 0 and [p.name for p in splice.part_paths(tmp_path / "t.csv")] == ["part-00000.csv"]
    assert joined(tmp_path / "t.csv") == whole(con, q, tmp_path / "w.csv") == b"k,n,s,x\n"
