"""A check is skipped only when it passed before on the same SQL and the same state of every table
it reads; any write to one of those tables, or another SQL, runs it again."""
import pytest

from factledger import checkmemo, lake, tables, validation
from schemas import ClaimPhrases, Claims


def test_inputs_change_with_the_tables_a_check_reads_and_only_those(tmp_path):
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        sql = validation.compile_model(ClaimPhrases).failures_sql()  # reads claims and articles
        first = checkmemo.inputs_key(con, sql)
        assert first is not None and checkmemo.inputs_key(con, sql) == first
        con.execute("INSERT INTO rejected_inputs VALUES ('articles', 'articles/x.md', 1, 'why', now()::TIMESTAMP)")
        assert checkmemo.inputs_key(con, sql) == first  # a table it does not read
        con.execute("INSERT INTO articles (article_id, source_path, body, body_start, sha256, body_sha256, n_bytes, ingested_at) "
                    "VALUES ('a', 'articles/a.md', 'b', 0, repeat('0', 64), repeat('0', 64), 1, now()::TIMESTAMP)")
        second = checkmemo.inputs_key(con, sql)
        assert second != first
        con.execute("DELETE FROM articles")
        assert checkmemo.inputs_key(con, sql) not in (first, second)  # deleting is a change too
        other = validation.compile_model(Claims).failures_sql()
        assert checkmemo.inputs_key(con, other) != checkmemo.inputs_key(con, sql)


def test_a_pass_is_remembered_per_check_and_a_failure_forgets_it(tmp_path):
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        key = checkmemo.inputs_key(con, validation.compile_model(Claims).failures_sql())
        assert checkmemo.passed_before(con, "claims.claims_schema", key) is None
        checkmemo.record(con, "claims.claims_schema", key, True, 0, "run-1")
        assert checkmemo.passed_before(con, "claims.claims_schema", key) == (0, "run-1")
        assert checkmemo.passed_before(con, "claims.other", key) is None
        assert checkmemo.passed_before(con, "claims.claims_schema", None) is None  # inputs unknown: never skipped
        checkmemo.record(con, "claims.claims_schema", key, False, 0, "run-2")
        assert checkmemo.passed_before(con, "claims.claims_schema", key) is None


def test_a_rerun_skips_the_checks_of_unchanged_tables_and_says_so(tmp_path):
    import shutil

    from factledger.paths import PROJECT_ROOT
    from tests.conftest import check_evaluations, run_pipeline

    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    warehouse = tmp_path / "warehouse"
    first = check_evaluations(run_pipeline(raw, warehouse, ("articles",)))["articles_schema"]
    assert first.passed and first.metadata["reused_from_run"].value is None
    again = check_evaluations(run_pipeline(raw, warehouse, ("articles",)))["articles_schema"]
    assert again.passed and again.metadata["reused_from_run"].value is not None
    assert again.metadata["rows_checked"].value == first.metadata["rows_checked"].value == 5
    path = next((raw / "articles").iterdir())
    path.write_text(path.read_text().replace("published:", "title: changed\npublished:", 1))
    changed = check_evaluations(run_pipeline(raw, warehouse, ("articles",)))["articles_schema"]
    assert changed.passed and changed.metadata["reused_from_run"].value is None  # evaluated again


# --- a check evaluated again on what changed since it passed ---------------------------------------

@pytest.fixture(scope="module")
def claims_lake(tmp_path_factory):
    """The checkout's corpus through the pipeline's plain functions, once per module."""
    from tests.conftest import build_lake, copy_raw

    root = tmp_path_factory.mktemp("claims-lake")
    build_lake(copy_raw(root / "raw"), root / "warehouse")
    return root / "warehouse"


def _lake_with_claims(tmp_path, claims_lake):
    from tests.conftest import copy_warehouse

    return copy_warehouse(claims_lake, tmp_path / "warehouse")


def _pass(con, model, check="claims.check"):
    """Evaluate `model`'s check as the asset does (narrowed when it can be) and record the outcome."""
    sql = validation.compile_model(model).failures_sql()
    states = checkmemo.input_states(con, sql)
    outcome = validation.validate(con, model, since=checkmemo.passed_states(con, check, sql), states=states)
    checkmemo.record(con, check, checkmemo.inputs_key(con, sql, states), outcome.passed, outcome.rows_checked, "run", sql, states)
    return outcome


def test_a_check_is_evaluated_again_only_on_the_changed_articles_and_finds_what_a_whole_pass_finds(tmp_path, claims_lake):
    from schemas import DateFindings

    warehouse = _lake_with_claims(tmp_path, claims_lake)
    with lake.connect(warehouse) as con:
        for model in (Claims, ClaimPhrases, DateFindings):
            first = _pass(con, model, model.table_name())
            assert first.passed and first.narrowed is None  # no earlier pass: every row
        article = con.execute("SELECT min(article_id) FROM claims").fetchone()[0]
        n = con.execute("SELECT count(*) FROM claims").fetchone()[0]
        # one article's claims rewritten, one of them broken: a negative value and a phrase off its offsets
        con.execute("UPDATE claims SET value = -1, phrase = phrase || 'x', \"end\" = \"end\" + 1 "
                    "WHERE claim_id = (SELECT min(claim_id) FROM claims WHERE article_id = ?)", [article])
        for model in (Claims, ClaimPhrases):
            again = _pass(con, model, model.table_name())
            whole = validation.validate(con, model)
            assert again.narrowed == 1 and whole.narrowed is None
            assert (again.rows, again.failure_count, again.rows_checked) == (whole.rows, whole.failure_count, whole.rows_checked)
            assert not again.passed and again.rows_checked == n
        assert _pass(con, DateFindings, DateFindings.table_name()).narrowed == 0  # its table did not change: no row again
        assert checkmemo.passed_states(con, "claims", validation.compile_model(Claims).failures_sql()) is None  # failed: forgotten


def test_a_duplicate_key_in_another_article_is_found_by_a_narrowed_pass(tmp_path, claims_lake):
    warehouse = _lake_with_claims(tmp_path, claims_lake)
    with lake.connect(warehouse) as con:
        assert _pass(con, Claims).passed
        first, second = con.execute("SELECT min(article_id), max(article_id) FROM claims").fetchone()
        # a row of `second` given a claim id `first` already has: the key rule must see both articles' rows
        con.execute("INSERT INTO claims SELECT * REPLACE ((SELECT min(claim_id) FROM claims WHERE article_id = ?) AS claim_id) "
                    "FROM claims WHERE claim_id = (SELECT max(claim_id) FROM claims WHERE article_id = ?)", [first, second])
        again = _pass(con, Claims)
        assert again.narrowed == 1 and validation.KEY_RULE in again.rules()
        assert again.rules() == validation.validate(con, Claims).rules()


def test_a_changed_row_without_a_key_is_found_by_a_narrowed_pass(tmp_path, claims_lake):
    """The rows sharing a key with the changed ones are found by their key; a changed row whose key
    is missing shares none, and is checked all the same."""
    warehouse = _lake_with_claims(tmp_path, claims_lake)
    with lake.connect(warehouse) as con:
        assert _pass(con, Claims).passed
        con.execute("UPDATE claims SET claim_id = NULL WHERE claim_id = (SELECT min(claim_id) FROM claims)")
        again = _pass(con, Claims)
        assert again.narrowed == 1 and not again.passed
        assert ("not_nullable", "claim_id") in {(r["check"], r["column"]) for r in again.records()}
        assert (again.rows, again.failure_count) == (validation.validate(con, Claims).rows, validation.validate(con, Claims).failure_count)


def test_only_models_whose_rules_read_one_row_are_narrowed():
    from schemas import Articles

    assert validation.compile_model(Claims).narrow_by == "article_id"
    assert validation.compile_model(Articles).narrow_by == "article_id"  # windows over whole partitions (key, bodies)

    class Windowed(Claims):
        @validation.pa.dataframe_check(name="a window over the table")
        def _window(cls, data):
            t = data.table
            return t.value <= t.value.max()

        class Config:
            name = "claims"

    compiled = validation.compile_model(Windowed)
    assert compiled.narrow_by is None and not next(r for r in compiled.rules if r.name == "a window over the table").row_wise


def test_too_many_changed_values_or_an_unreadable_feed_evaluate_every_row(tmp_path, claims_lake, monkeypatch):
    warehouse = _lake_with_claims(tmp_path, claims_lake)
    with lake.connect(warehouse) as con:
        assert _pass(con, Claims).passed
        con.execute("UPDATE claims SET explanation = explanation || '.'")  # every article
        monkeypatch.setattr(validation, "MAX_NARROWED", 2)
        assert _pass(con, Claims).narrowed is None
        con.execute("UPDATE claims SET explanation = explanation || '.' WHERE article_id = (SELECT min(article_id) FROM claims)")
        sql = validation.compile_model(Claims).failures_sql()
        states = checkmemo.input_states(con, sql)
        assert validation.changed_since(con, validation.compile_model(Claims), {"claims": 10**9}, states) is None
        assert validation.changed_since(con, validation.compile_model(Claims), {"articles": 1}, states) is None


def test_a_check_view_joining_with_using_is_skipped_when_its_tables_are_unchanged(tmp_path):
    """DuckDB's get_table_names fails on `JOIN ... USING` inside the check's CTEs (dates_coherent):
    its tables are read from the parsed SQL instead, so the check can be skipped, and a write to
    either table it reads still runs it again."""
    from schemas import DateOrder

    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        sql = validation.compile_model(DateOrder).failures_sql()
        assert checkmemo.tables_read(con, sql) == {"sources", "source_reactions"}
        first = checkmemo.inputs_key(con, sql)
        assert first is not None and checkmemo.inputs_key(con, sql) == first
        con.execute("INSERT INTO rejected_inputs VALUES ('articles', 'articles/x.md', 1, 'why', now()::TIMESTAMP)")
        assert checkmemo.inputs_key(con, sql) == first  # a table it does not read
        con.execute("INSERT INTO source_reactions (source_id, event, date) VALUES ('s', 'reply', DATE '2024-01-01')")
        assert checkmemo.inputs_key(con, sql) not in (None, first)


def test_a_cte_named_like_a_lake_table_leaves_the_inputs_unknown(tmp_path):
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        sql = "WITH sources AS (SELECT 1 AS x) SELECT * FROM sources r JOIN claims c USING (x)"
        assert checkmemo.inputs_key(con, sql) is None  # evaluated whole, never skipped on a guess


def test_a_window_over_a_nullable_partition_is_narrowed_to_the_rows_sharing_it(tmp_path, claims_lake):
    """A body copied into another article: the narrowed pass (one article changed) sees the unchanged
    article holding the same body (both present: retired_at null in both), as a whole pass does."""
    from schemas import Articles

    model = Articles
    compiled = validation.compile_model(model)
    assert compiled.narrow_by == "article_id"
    assert (("body_sha256", "retired_at"), True) in compiled.partitions and (("article_id",), False) in compiled.partitions
    warehouse = _lake_with_claims(tmp_path, claims_lake)
    with lake.connect(warehouse) as con:
        assert _pass(con, model, "articles.articles_schema").passed
        first, second = con.execute("SELECT min(article_id), max(article_id) FROM articles").fetchone()
        con.execute("UPDATE articles SET body_sha256 = (SELECT body_sha256 FROM articles WHERE article_id = ?) WHERE article_id = ?",
                    [first, second])
        again = _pass(con, model, "articles.articles_schema")
        whole = validation.validate(con, model)
        assert again.narrowed == 1 and whole.narrowed is None
        assert (again.rows, again.failure_count) == (whole.rows, whole.failure_count)
        assert again.rules() == ["no two present articles share a body"] and again.failure_count == 2  # the two articles
        # Retiring one of them ends the clash: only a retired row changed, and the narrowed pass passes.
        con.execute("UPDATE articles SET retired_at = now()::TIMESTAMP WHERE article_id = ?", [second])
        assert validation.validate(con, model).passed


def test_recall_says_in_one_query_what_passed_before_and_passed_states_say(tmp_path):
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        sql = validation.compile_model(Claims).failures_sql()
        states = checkmemo.input_states(con, sql)
        key = checkmemo.inputs_key(con, sql, states)
        assert checkmemo.recall(con, "claims.claims_schema", key, sql) == (None, None)
        checkmemo.record(con, "claims.claims_schema", key, True, 3, "run-1", sql, states)
        assert checkmemo.recall(con, "claims.claims_schema", key, sql) == ((3, "run-1"), states)
        assert checkmemo.recall(con, "claims.claims_schema", "other inputs", sql) == (None, states)
        assert checkmemo.recall(con, "claims.claims_schema", key, "other sql") == ((3, "run-1"), None)
        for other in ("other inputs", key):
            assert checkmemo.recall(con, "claims.claims_schema", other, sql) == \
                (checkmemo.passed_before(con, "claims.claims_schema", other), checkmemo.passed_states(con, "claims.claims_schema", sql))
