"""Pure pieces of publishing: content hashes, the diff SQL, check summaries, CLI output."""
import duckdb

from factledger import catalog, checkrecords, diff, provenance
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
    h = lambda rel: con.execute(provenance.table_hash_sql(rel, ["k", "s"])).fetchone()[0]  # noqa: E731
    assert h("t") == h("u") != h("w")
    assert h("(SELECT * FROM t WHERE FALSE)") == h("(SELECT * FROM u WHERE FALSE)")


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
