"""Fuzzing (hypothesis) of the article parser, the claims extractor and the figures parser: none
may raise, and nothing they return may be out of range (no inf or NaN claim values).

CI runs a small, fixed-seed sample. The big run of the issue (10,000 examples each):

    FACTLEDGER_FUZZ_EXAMPLES=10000 .venv/bin/pytest tests/hostile/test_fuzz.py -q
"""
from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from factledger import articles, sources
from factledger.articles import ParsedArticle, parse_article
from factledger.claims import lexicon, pipeline
from factledger.claims.numbers import MAX_CLAIM_VALUE
from factledger.paths import PROJECT_ROOT
from factledger.rejections import Rejection

EXAMPLES = int(os.environ.get("FACTLEDGER_FUZZ_EXAMPLES", "150"))
SEED = int(os.environ.get("FACTLEDGER_FUZZ_SEED", "20261201"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
LEXICON = lexicon.load()

# Pieces that reach the interesting code paths far more often than random characters do.
FRONT = ["---\n", "---\r\n", "outlet: ", "title: ", "url: ", "published: ", "cites: ", "2024-09-30", "2099-01-01",
         "[a, b]", "{a: 1}", "&a ", "*a", "!!binary ", "!!python/object ", "'", '"', "\n", ": ", "- ", "\ufeff", "null", "~"]
NUMBERS = ["435,000", "7.5 million", "13,099", "1" + "0" * 40, "9" * 400, "0.000001", "10%", "$5", "5m", "1.2bn",
           "hundred", "hundred ", "dozen ", "thousand", "a million", "half a dozen", "thirteen thousand", "two-hundred",
           "and", "-", "more than ", "nearly ", "up from ", "between 10,000 and 12,000", "1/3", "2:1", "[12]",
           "§ 1226", "1226(c)", "x@y.com", "a@", "@", "https://e.com/1", "Sept. 25", "on Friday", "July 21, 2024",
           "FY2024", "\u0663\u0664\u0665", "\uff11\uff12", "1\u202f000", "1 000", "\u00a0", "\u200b", "\t", ". ", "\n\n"]


def pieces(*groups: list[str]) -> st.SearchStrategy[str]:
    fragment = st.one_of(st.sampled_from([p for g in groups for p in g]), st.text(max_size=8))
    return st.lists(fragment, max_size=40).map("".join)


def check_article(data: bytes) -> None:
    outcome = parse_article(data, "articles/fuzz.md")
    assert isinstance(outcome, (ParsedArticle, Rejection))
    if isinstance(outcome, Rejection):
        assert outcome.reason and "\n" not in outcome.reason and len(outcome.reason) < 1000
    else:
        for name in articles.TEXT_FIELDS:
            assert getattr(outcome, name) is None or isinstance(getattr(outcome, name), str)
        assert outcome.published is None or outcome.published <= articles.today()


@seed(SEED)
@FUZZ
@given(st.one_of(st.binary(max_size=400), pieces(FRONT, NUMBERS).map(str.encode),
                 st.builds(lambda fm, body: ("---\n" + fm + "\n---\n" + body).encode(), pieces(FRONT), pieces(NUMBERS))))
def test_article_parser_never_raises(data: bytes):
    check_article(data)


@seed(SEED)
@FUZZ
@given(pieces(NUMBERS), st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))))
def test_claims_extractor_never_raises_and_values_are_finite(body: str, published):
    out = pipeline.extract_article("fuzz", body, published, "0" * 64, LEXICON)
    for claim in out.claims:
        value = claim.get("value")
        assert value is None or (math.isfinite(value) and abs(value) <= MAX_CLAIM_VALUE), claim
        assert 0 <= claim["start"] <= claim["end"] <= len(body)


FIGURE_VALUES = ["435,719", "435719", "-3", "+3", "1.5", "1,2,3", "00012", "1" * 20, "9" * 5000, "1e9", "inf", "nan",
                 "NaN", "\u0663\u0664\u0665", "\uff11\uff12", " 12 ", "12\u00a0000", "", ",", ".", "1.", ".5", "0x10"]


@seed(SEED)
@FUZZ
@given(st.one_of(st.sampled_from(FIGURE_VALUES), pieces(FIGURE_VALUES, ["0", "1", ",", ".", "-", " "])))
def test_figure_value_parser_never_raises(text: str):
    parsed = sources.parse_number(text)
    if parsed is not None:
        value = parsed[0]
        assert math.isfinite(value) and abs(value) <= 10**16, parsed


_SOURCE = next((PROJECT_ROOT / "raw" / "sources").iterdir())
_HEADER = (_SOURCE / "figures.csv").read_text(encoding="utf-8").splitlines()[0] if (_SOURCE / "figures.csv").exists() else "measure,value"
_ROWS = (_SOURCE / "figures.csv").read_text(encoding="utf-8").splitlines()[1:6] if (_SOURCE / "figures.csv").exists() else []


@seed(SEED)
@settings(FUZZ, max_examples=max(10, EXAMPLES // 5))
@given(st.lists(st.one_of(st.sampled_from(_ROWS or ["x,1"]), pieces(FIGURE_VALUES, [",", '"', "\n", "measure", "all"])),
                max_size=8))
def test_figures_csv_parser_never_raises(tmp_path_factory, rows: list[str]):
    raw = tmp_path_factory.mktemp("raw")
    folder = raw / "sources" / _SOURCE.name
    shutil.copytree(_SOURCE, folder)
    (folder / "fuzz.csv").write_text("\n".join([_HEADER, *rows]) + "\n", encoding="utf-8")
    parsed = sources.parse_source_folder(folder, raw)
    for figure in parsed.figures:
        assert math.isfinite(figure["value"]), figure
    for rejection in parsed.rejections:
        assert rejection.reason
    shutil.rmtree(raw)


# --- the read-only guard of `factledger sql` ------------------------------------------------------

SQL_PIECES = ["SELECT ", "* ", "FROM ", "claims ", "articles ", "dataset_versions ", "lake.main.articles ",
              "lake.published.claims ", "__ducklake_metadata_lake.ducklake_snapshot ", "; ", "ATTACH ", "DETACH ",
              "COPY ", "TO ", "'{wh}/x.csv' ", "'{wh}/lake/catalog.sqlite' ", "'/etc/passwd' ", "(TYPE sqlite) ",
              "AS rw ", "INSERT INTO ", "DELETE ", "UPDATE ", "SET ", "enable_external_access ", "= true ",
              "PRAGMA ", "CALL ", "INSTALL ", "LOAD ", "EXPORT DATABASE ", "IMPORT DATABASE ", "CREATE ", "DROP ",
              "read_text(", "read_blob(", "sqlite_query(", "sqlite_scan(", "query(", "glob(", "ducklake_expire_snapshots(",
              "ducklake_cleanup_old_files(", "'lake'", ", ", "cleanup_all => true", ") ", "(", "WITH x AS ", "UNION ",
              "WHERE ", "1 ", "= ", "(SELECT ", "LIMIT 1 ", "--", "/*", "*/", "\n", "\"", "'"]


@seed(SEED)
@settings(FUZZ, max_examples=max(20, EXAMPLES // 2))
@given(st.lists(st.sampled_from(SQL_PIECES), min_size=1, max_size=14).map("".join))
def test_sql_guard_never_lets_a_statement_change_the_lake(sql_lake, statement: str):
    import duckdb

    from factledger.commands import query

    con, warehouse = sql_lake
    text = statement.replace("{wh}", str(warehouse))
    try:
        query.check_statement(con, text)
        con.execute(text).fetchmany(5)
    except (query.RefusedQuery, duckdb.Error):
        pass
    assert not (warehouse / "x.csv").exists()


@pytest.fixture(scope="module")
def sql_lake(tmp_path_factory):
    """A published lake (plain functions, no Dagster) and one `factledger sql` connection on it,
    locked down as the command does; the lake's bytes are compared when the module ends."""
    import hashlib

    from factledger import figures, ingest, lake, tables
    from factledger.claims import store
    from factledger.commands import query
    from tests.hostile import kill_publish

    root = tmp_path_factory.mktemp("sqlfuzz")
    raw, warehouse = root / "raw", root / "warehouse"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        ingest.sync_articles(con, raw)
        ingest.sync_sources(con, raw)
        figures.rebuild_figures(con)
        store.sync_claims(con, LEXICON)
    kill_publish.publish_and_export(warehouse, "fuzz")

    def lake_bytes():
        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((warehouse / "lake").rglob("*")) if p.is_file()}

    before = lake_bytes()
    with query.reader(str(warehouse)) as con:
        query.open_version(con, None)
        query.lock_down(con, [])
        yield con, warehouse
    assert lake_bytes() == before
