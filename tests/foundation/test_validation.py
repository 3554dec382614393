"""pandera models compiled to one SQL pass find exactly what pandera.ibis finds, and every failing
row says which rule, column and value, and the row's key (and, for input tables, file and line)."""
from __future__ import annotations

from collections import Counter

import duckdb
import ibis
import pandera.ibis as pa
import pytest

from factledger import validation
from schemas import Claims, OfficialFigures
from schemas._base import LakeTable

GOOD_CLAIM = {
    "claim_id": "a:0", "article_id": "a", "article_sha256": "0" * 64, "start": 0, "end": 3, "phrase": "435",
    "sentence_start": 0, "sentence": "435 people.", "value": 435.0, "qualifier": "none", "kind": "count",
    "rounding_unit": 1.0, "significant_digits": 3, "dims": "", "scope": "{}", "verdict": "exact",
    "figure_id": "s:m", "figure_value": 435.0, "explanation": "matches", "figures_fingerprint": "f",
}


def _table(con: duckdb.DuckDBPyConnection, model: type[LakeTable], rows: list[dict]) -> None:
    con.execute(model.ddl(catalog="memory"))
    for row in rows:
        names = list(row)
        con.execute(f"INSERT INTO {model.table_name()} ({', '.join(repr(n).replace(chr(39), chr(34)) for n in names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})", [row[n] for n in names])


def _pandera_failures(con, model) -> Counter:
    """How many failure cases pandera.ibis itself reports per check."""
    table = ibis.duckdb.from_connection(con).table(model.table_name())
    try:
        model.validate(table, lazy=True)
    except pa.errors.SchemaErrors as err:
        return Counter(str(c) for c in err.failure_cases["check"])
    return Counter()


BAD_CLAIMS = [
    GOOD_CLAIM,
    GOOD_CLAIM | {"claim_id": "a:1", "start": -1},                              # ge(0), and the span
    GOOD_CLAIM | {"claim_id": "a:2", "verdict": "maybe"},                       # isin
    GOOD_CLAIM | {"claim_id": "a:3", "article_sha256": "xyz"},                  # str_matches
    GOOD_CLAIM | {"claim_id": "a:4", "explanation": None},                      # not nullable
    GOOD_CLAIM | {"claim_id": "a:5", "value": 436.0},                           # exact but value != figure
    GOOD_CLAIM | {"claim_id": "a:5"},                                           # duplicate key
    GOOD_CLAIM | {"claim_id": "a:7", "verdict": "not_in_source"},               # names a figure anyway
]


def test_the_compiled_checks_find_what_pandera_finds():
    con = duckdb.connect()
    _table(con, Claims, BAD_CLAIMS)
    outcome = validation.validate(con, Claims)
    assert Counter(r["check"] for r in outcome.records()) == _pandera_failures(con, Claims)
    assert outcome.rows_checked == len(BAD_CLAIMS) and not outcome.passed
    by_rule = {(r["check"], r["claim_id"]): r for r in outcome.records()}
    assert by_rule[("greater_than_or_equal_to(0)", "a:1")]["value"] == "-1"
    assert by_rule[("not_nullable", "a:4")]["column"] == "explanation"
    assert {k for k in by_rule if k[0] == "key_is_unique"} == {("key_is_unique", "a:5")}
    assert outcome.failure_count == len(outcome.rows)


def test_a_table_costs_one_pass_and_an_empty_one_passes():
    con = duckdb.connect()
    _table(con, Claims, [GOOD_CLAIM])
    seen = []
    traced = _Tracing(con, seen)
    assert validation.validate(traced, Claims).passed
    passes = [q for q in seen if not q.lstrip().upper().startswith(("DESCRIBE", "SELECT COUNT(*) FROM"))]
    assert len(passes) == 1  # one pass over the rows (the shape and the row count come from metadata)
    con.execute("DELETE FROM claims")
    assert validation.validate(con, Claims) == validation.CheckOutcome(validation.validate(con, Claims).columns, (), 0, 0)


def test_a_missing_column_or_another_type_is_a_failing_row_not_an_error():
    con = duckdb.connect()
    con.execute("CREATE TABLE claims AS SELECT 'a:0' AS claim_id, 'x' AS start")
    outcome = validation.validate(con, Claims)
    rows = {(r["check"], r["column"]) for r in outcome.records()}
    assert ("dtype('BIGINT')", "start") in rows and ("column present", "verdict") in rows


def test_an_input_tables_failing_row_names_its_file_and_line():
    con = duckdb.connect()
    figure = {"figure_id": "s:m", "source_id": "s", "measure": "m", "dims": "", "value": 3.0, "decimals": -1,
              "unit": "people", "qualifier": "none", "source_file": "sources/s/figures.csv", "source_line": 7}
    _table(con, OfficialFigures, [figure])
    [row] = validation.validate(con, OfficialFigures).records()
    assert (row["check"], row["column"], row["value"], row["file"], row["line"]) == (
        "greater_than_or_equal_to(0)", "decimals", "-1", "sources/s/figures.csv", 7)


def test_a_field_without_a_line_gets_it_from_line_of():
    outcome = validation.CheckOutcome(("check", "column", "value", "id", "file", "line"),
                                      (("not_nullable", "published", None, "a", "articles/a.md", None),), 1, 1)
    [row] = validation.with_lines(outcome, lambda file, field: {"published": 4}[field]).records()
    assert row["line"] == 4


def test_a_query_check_returns_its_rows_and_counts_them_all():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS n FROM range(500)")
    outcome = validation.offending_rows(con, "SELECT n FROM t WHERE n % 2 = 0 ORDER BY n")
    assert outcome.failure_count == 250 and len(outcome.rows) == validation.MAX_ROWS_KEPT and outcome.rows[0] == (0,)
    assert validation.offending_rows(con, "SELECT n FROM t WHERE n < 0").passed
    assert "| … |" in outcome.markdown(limit=3) and outcome.markdown(limit=3).count("\n") == 5


class _Tracing:
    """A connection that records the statements it runs."""

    def __init__(self, con, seen):
        self._con, self._seen = con, seen

    def execute(self, sql, *args):
        self._seen.append(sql)
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.mark.parametrize("model", [m for m in __import__("schemas").LAKE_TABLES])
def test_every_model_compiles(model):
    compiled = validation.compile_model(model)
    assert compiled.rules and all(r.name for r in compiled.rules)


def test_a_model_compiles_to_the_same_sql_in_every_process():
    """The check memo keys on a check's SQL: it must not depend on the process (pandera keeps isin's
    values as a set, whose order follows the string hash seed)."""
    import os
    import subprocess
    import sys

    program = ("import hashlib; from factledger.validation import compile_model; from schemas import LAKE_TABLES; "
               "print({m.__name__: hashlib.sha256(compile_model(m).failures_sql().encode()).hexdigest() for m in LAKE_TABLES})")
    runs = [subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]
    outputs = {run.communicate(timeout=120)[0] for run in runs}
    assert len(outputs) == 1 and "Claims" in outputs.pop()
