"""A check is skipped only when it passed before on the same SQL and the same state of every table
it reads; any write to one of those tables, or another SQL, runs it again."""
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
