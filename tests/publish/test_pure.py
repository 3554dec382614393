"""Pure pieces of publishing: content hashes, the diff SQL, check summaries, CLI output."""
import duckdb

from factledger import catalog, checkrecords, diff, export, provenance, tables
from factledger.commands.query import emit


def test_content_hash_ignores_key_order_and_sees_any_change():
    a = provenance.content_hash({"x.md": "1", "y.md": "2"}, {"articles": "h"})
    assert a == provenance.content_hash({"y.md": "2", "x.md": "1"}, {"articles": "h"})
    assert a != provenance.content_hash({"x.md": "1", "y.md": "3"}, {"articles": "h"})
    assert a != provenance.content_hash({"x.md": "1", "y.md": "2"}, {"articles": "h2"})


def test_table_hash_is_row_order_independent_and_content_sensitive():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(k, s)")
    con.execute("CREATE TABLE u AS SELECT * FROM (VALUES (2, 'b'), (1, 'a')) v(k, s)")
    con.execute("CREATE TABLE w AS SELECT * FROM (VALUES (2, 'b'), (1, 'A')) v(k, s)")
    h = lambda rel: provenance.table_hash(con, rel, ["k", "s"])  # noqa: E731
    assert h("t") == h("u") != h("w")
    assert h("(SELECT * FROM t WHERE FALSE)") == h("(SELECT * FROM u WHERE FALSE)") != h("t")
    # A multiset: a repeated row is not the row once, nor are two rows swapping a value the same.
    assert h("(SELECT * FROM t UNION ALL SELECT * FROM t WHERE k = 1)") not in (h("t"), h("(SELECT * FROM t WHERE k = 2)"))
    assert h("(SELECT * FROM (VALUES (1, 'b'), (2, 'a')) v(k, s))") != h("t")


def test_a_table_hash_follows_a_change_from_the_changed_rows_alone():
    con = duckdb.connect()
    con.execute("CREATE TABLE before AS SELECT i AS k, 'v' || i AS s FROM range(1000) r(i)")
    con.execute("CREATE TABLE after AS SELECT * FROM before WHERE k NOT IN (3, 7) UNION ALL VALUES (7, 'changed'), (1000, 'new')")
    h = lambda rel: provenance.table_hash(con, rel, ["k", "s"])  # noqa: E731
    changed = "WHERE k IN (3, 7, 1000)"
    updated = provenance.updated_table_hash(con, h("before"), f"(SELECT * FROM before {changed})", f"(SELECT * FROM after {changed})", ["k", "s"])
    assert updated == h("after") != h("before")
    assert provenance.parse_table_hash(updated)[0] == 1000  # 3 gone, 7 changed, 1000 new
    # An earlier version's hash (a SHA-256) cannot be updated: the table is hashed whole.
    assert provenance.updated_table_hash(con, "ab" * 32, "before", "after", ["k", "s"]) is None


def test_table_hash_runs_in_bounded_memory():
    # A million rows' hash within 64 MB (the sorted-digests form needed a sort and a 32 MB string).
    con = duckdb.connect(config={"memory_limit": "64MB"})
    rel = "(SELECT i AS k, repeat('x', 50) || i AS s FROM range(1000000) r(i))"
    assert provenance.parse_table_hash(provenance.table_hash(con, rel, ["k", "s"]))[0] == 1_000_000


def test_diff_sql_names_added_removed_and_changed_rows_with_columns():
    con = duckdb.connect()
    con.execute("CREATE TABLE old AS SELECT * FROM (VALUES ('f1', 'a1', 10, 'x'), ('f2', 'a1', 20, 'y'), ('f3', 'a2', 30, 'z')) v(figure_id, article_id, value, note)")
    con.execute("CREATE TABLE new AS SELECT * FROM (VALUES ('f1', 'a1', 10, 'x'), ('f2', 'a1', 21, 'y'), ('f4', 'a3', 40, NULL)) v(figure_id, article_id, value, note)")
    rows = con.execute(diff.diff_sql("old", "new", ["figure_id"], ["figure_id", "article_id", "value", "note"], ["article_id", "figure_id"])).fetchall()
    assert rows == [
        ("added", "f4", "a3", "f4", ""),
        ("changed", "f2", "a1", "f2", "value"),
        ("removed", "f3", "a2", "f3", ""),
    ]
    # A table absent on one side: every row added (or removed).
    only_new = con.execute(diff.diff_sql(None, "new", ["figure_id"], ["figure_id", "value"], [])).fetchall()
    assert [r[0] for r in only_new] == ["added"] * 3


def test_checks_summary_counts_failures_warnings_and_pending():
    checks = [
        {"asset_key": "articles", "check_name": "a", "passed": True, "severity": "ERROR"},
        {"asset_key": "articles", "check_name": "no_rejected_inputs", "passed": False, "severity": "WARN"},
        {"asset_key": "figures", "check_name": "derivations_agree", "passed": False, "severity": "ERROR"},
        {"asset_key": "claims", "check_name": "c", "passed": None, "severity": None},
    ]
    assert checkrecords.checks_summary(checks) == (
        1, 2, "1 passed, 1 failed (figures.derivations_agree), 1 warning (articles.no_rejected_inputs), 1 not evaluated before publishing")


def test_published_tables_are_declared_once_with_keys():
    names = [t.name for t in catalog.PUBLISHED_TABLES]
    assert len(names) == len(set(names))
    assert {"articles", "figures", "claims", "date_findings", "name_findings", "check_results"} <= set(names)
    # Each is keyed by its model's declared key (less the columns that change every version).
    keys = {t.name: catalog.row_key(catalog.model_for(t.name), t) for t in catalog.PUBLISHED_TABLES}
    assert keys["claims"] == ("claim_id",) and keys["check_results"] == ("asset_key", "check_name")
    assert all(set(key) < set(catalog.model_for(name).column_names()) for name, key in keys.items())


def test_emit_aligns_columns_and_csv_keeps_full_values(capsys):
    emit(["id", "n"], [("a", 1), ("long-name", 22), (None, None)], as_csv=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id          n"
    assert lines[2] == "a           1"
    assert lines[3] == "long-name  22"
    assert lines[-1] == "(3 rows)"
    emit(["body"], [("x" * 200,)], as_csv=True)
    assert capsys.readouterr().out == "body\n" + "x" * 200 + "\n"


def test_claim_reviews_file_is_byte_for_byte_the_json_of_the_whole_graph(tmp_path, monkeypatch):
    import json

    from factledger import export

    samples = [{"@type": "ClaimReview", "url": "https://r.example/v1/a.html#claim-1", "reviewRating": {"ratingValue": 5},
                "itemReviewed": {"text": "line\nbreak \u2028 \"quoted\" é"}},
               {"@type": "ClaimReview", "empty": [], "nested": {"list": [1, 2.5, None, True]}}]
    for n in range(len(samples) + 1):
        monkeypatch.setattr(export, "iter_review_groups", lambda *a, n=n, **k: iter([("a", samples[:n])]))
        path = tmp_path / f"{n}.jsonld"
        assert export.write_claim_reviews(None, None, [], "2026-12-01T00:00:00Z", path) == n
        whole = {"@context": "https://schema.org", "@graph": samples[:n]}
        assert path.read_text(encoding="utf-8") == json.dumps(whole, indent=2) + "\n"


def test_claim_reviews_of_articles_taken_over_are_copied_from_the_earlier_file(tmp_path, monkeypatch):
    import json

    from factledger import export

    review = lambda i: {"@type": "ClaimReview", "url": f"https://r.example/v1/a.html#claim-{i}", "text": "é \u2028"}  # noqa: E731
    groups = [("a", [review(1), review(2)]), ("b", []), ("c", [review(3)]), ("d", [review(4)])]
    monkeypatch.setattr(export, "iter_review_groups", lambda *a, **k: iter(groups))
    earlier = tmp_path / "v1" / "claim_reviews.jsonld"
    earlier.parent.mkdir()
    assert export.write_claim_reviews(None, None, [], "", earlier) == 4
    assert set(json.loads((tmp_path / "v1" / export.REVIEWS_INDEX).read_text())) == {"a", "b", "c", "d"}
    # The next version: b and c taken over (their reviews not built: None), a dropped, e new.
    now = [("b", None), ("c", None), ("d", [review(5)]), ("e", [review(6)])]
    seen = {}
    monkeypatch.setattr(export, "iter_review_groups", lambda *a, **k: (seen.setdefault("earlier", a[-1]), iter(now))[1])
    later = tmp_path / "v2.jsonld"
    assert export.write_claim_reviews(None, None, [], "", later, reuse=object(), earlier_file=earlier) == 3
    assert seen["earlier"] == {"a", "b", "c", "d"}
    whole = {"@context": "https://schema.org", "@graph": [review(3), review(5), review(6)]}
    assert later.read_text(encoding="utf-8") == json.dumps(whole, indent=2) + "\n"


def test_table_diff_counts_stay_complete_when_rows_are_limited():
    d = diff.TableDiff("claims", [("added", "c1", "a", None, "")], {"added": 3, "changed": 2})
    assert d.total == 5 and d.changed and d.summary() == "claims: 3 added, 2 changed"
    assert diff.TableDiff("claims", []).summary() == "claims: unchanged" and not diff.TableDiff("claims", []).changed
    assert diff.TableDiff("t", [("removed", "k", None, None, ""), ("removed", "j", None, None, "")]).counts == {"removed": 2}


def test_publishing_by_difference_writes_only_the_change_and_keeps_the_earlier_snapshot(tmp_path):
    from factledger import lake, publish

    with lake.connect(tmp_path) as con:
        con.execute("CREATE SCHEMA lake.published")
        con.execute("CREATE TABLE lake.main.src AS SELECT i AS k, 'v' || i AS s, NULL::VARCHAR AS n FROM range(1000) t(i)")
        assert publish.update_table(con, "t", "lake.main.src", ("k",), set()) == "created"
        before = con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
        con.execute("UPDATE lake.main.src SET n = 'x' WHERE k = 5")
        con.execute("DELETE FROM lake.main.src WHERE k = 7")
        con.execute("INSERT INTO lake.main.src VALUES (1000, 'new', NULL)")
        assert publish.update_table(con, "t", "lake.main.src", ("k",), {"t"}) == "updated"
        after = con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
        now = "lake.published.t"
        assert con.execute(f"SELECT * FROM {now} EXCEPT SELECT * FROM lake.main.src").fetchall() == []
        assert con.execute(f"SELECT * FROM lake.main.src EXCEPT SELECT * FROM {now}").fetchall() == []
        changes = con.execute(f"SELECT change_type, count(*) FROM ducklake_table_changes('lake', 'published', 't', {before + 1}, {after}) "
                              "GROUP BY ALL ORDER BY 1").fetchall()
        assert changes == [("delete", 2), ("insert", 2)]  # k=5 rewritten, k=7 gone, k=1000 new; nothing else touched
        old = f"lake.published.t AT (VERSION => {before})"
        assert con.execute(f"SELECT count(*), count(n) FROM {old}").fetchone() == (1000, 0)
        assert con.execute(f"SELECT s FROM {old} WHERE k = 7").fetchall() == [("v7",)]
        assert publish.update_table(con, "t", "lake.main.src", ("k",), {"t"}) == "unchanged"


def test_parquet_row_groups_are_sized_by_bytes_not_rows():
    assert tables.group_rows(1_000_000, 50_000_000, 10) == tables.MAX_GROUP_ROWS  # narrow rows: DuckDB's default
    assert tables.group_rows(100_000, 700_000_000, 10) == int(tables.PARQUET_GROUP_BYTES / 7_080)  # articles of ~7 KB
    assert tables.group_rows(10, 20_000_000, 3) == tables.MIN_GROUP_ROWS
    assert tables.group_rows(0, 0, 3) == tables.MAX_GROUP_ROWS


def test_a_sorted_parquet_export_of_long_texts_fits_a_small_memory_limit(tmp_path):
    # 40,000 texts of 7 KB (280 MB) through a 384 MB limit: DuckDB's default groups of 122,880
    # rows would hold all of it at once (and run out of memory).
    src, out = tmp_path / "src.parquet", tmp_path / "out.parquet"
    duckdb.execute(f"COPY (SELECT i, repeat('x', 7000) || i AS body FROM range(40000) r(i) ORDER BY hash(i)) "
                   f"TO '{src}' (FORMAT parquet, ROW_GROUP_SIZE 1000)")
    con = duckdb.connect(config={"memory_limit": "384MB", "temp_directory": str(tmp_path / "spill"), "threads": 2})
    relation = f"read_parquet('{src}')"
    rows = tables.parquet_group_rows(con, relation)
    assert rows == tables.group_rows(40_000, sum(7_000 + len(str(i)) for i in range(40_000)), 2) < 3_000
    con.execute(f"COPY (SELECT * FROM {relation} ORDER BY i) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE {rows})")
    assert con.execute(f"SELECT count(*), bool_and(i = n - 1) FROM (SELECT i, row_number() OVER () AS n FROM '{out}')").fetchone() == (40_000, True)


def test_a_table_written_in_sorted_ranges_is_one_sorted_write(tmp_path, monkeypatch):
    # Ranges of the first key column, each sorted on its own: the same rows in the same order as
    # one ORDER BY, with a first-column value shared by many rows (a range boundary inside an
    # article's claims must not split or reorder them) and NULLs in the first column (sorted last).
    # Keys are unique, as a row key is.
    from factledger import lake, publish

    monkeypatch.setattr(publish, "SORTED_RANGE_BYTES", 20_000)
    with lake.connect(tmp_path) as con:
        con.execute("CREATE SCHEMA lake.published")
        con.execute("""CREATE TABLE lake.main.src AS
            SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE 'a' || lpad((i * 7919 % 50)::VARCHAR, 3, '0') END AS article,
                   (i * 31) % 3001 AS start, repeat('x', 20) || i AS body
            FROM range(3000) t(i)""")
        relation, key = "lake.main.src", ("article", "start")
        measured = tables.measure(con, relation)
        assert measured.rows == 3000 and measured.bytes > 60_000
        ranges = publish.write_sorted(con, "lake.published.t", relation, key, measured)
        assert ranges > 1
        ordered = "SELECT * FROM lake.main.src ORDER BY article, start"
        got = con.execute("SELECT * FROM lake.published.t").fetchall()
        assert got == con.execute(ordered).fetchall()
        # A small table is one write, as before.
        monkeypatch.setattr(publish, "SORTED_RANGE_BYTES", 10**9)
        assert publish.write_sorted(con, "lake.published.u", relation, key, measured) == 1
        assert con.execute("SELECT * FROM lake.published.u").fetchall() == got


def test_a_row_key_matches_nulls_only_where_its_columns_may_hold_them():
    # Equality where a key column cannot be NULL (DuckDB then reads only the matching row groups);
    # IS NOT DISTINCT FROM where it can, so that a NULL key still finds its row.
    from factledger import publish

    claims = publish.RowKey.of(catalog.model_for("claims"), catalog.published_table("claims"))
    assert claims.columns == catalog.row_key(catalog.model_for("claims"), catalog.published_table("claims"))
    assert claims.nullable == frozenset() and "IS NOT DISTINCT" not in claims.match("k", "r")
    key = publish.RowKey(("a", "b"), frozenset({"b"}))
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES (1, NULL), (1, 2), (2, NULL)) t(a, b)")
    con.execute("CREATE TABLE k AS SELECT * FROM (VALUES (1, NULL)) t(a, b)")
    assert con.execute(f"SELECT * FROM {publish._keyed('r', key, 'k')}").fetchall() == [(1, None)]
