"""Hostile cells and links in the export: CSV text cells that a spreadsheet would run as a formula
are neutralised (OWASP), Parquet keeps the raw values, only http(s) URLs are linked."""
from __future__ import annotations

import csv

import duckdb
import pyarrow.parquet as pq
import pytest

from factledger import export, splice
from tests.report.conftest import HOSTILE_ID, HOSTILE_OUTLET


@pytest.mark.parametrize("url, ok", [
    ("https://example.com/a?b=1#c", True), ("http://example.com", True), ("HTTPS://EXAMPLE.COM/x", True),
    ("javascript:alert(1)", False), (" JavaScript:alert(1)", False), ("data:text/html,<script>", False),
    ("vbscript:x", False), ("//example.com/x", False), ("/relative", False), ("https://", False),
    ("https://exa mple.com", False), ('https://example.com/"onmouseover="x', False), ("https://e.com/\nx", False),
    ("ftp://example.com/f", False), ("", False), (None, False),
])
def test_only_http_urls_are_safe(url, ok):
    assert (export.safe_url(url) is not None) is ok


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_formula_like_cells_are_prefixed(cell):
    assert export.neutralise_cell(cell) == "'" + cell


def test_other_cells_are_left_alone():
    for cell in ("plain", " =not first", "1-2", "", None, -5, 3.5):
        assert export.neutralise_cell(cell) == cell


def test_the_sql_neutralisation_matches_the_python_one():
    cells = ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", "a=b", "", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (s VARCHAR, n DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(c, -1.5) for c in cells])
    got = con.execute(f"SELECT {export.neutralised_select(con, 't')} FROM t").fetchall()
    assert [g[0] for g in got] == [export.neutralise_cell(c) for c in cells]
    assert {g[1] for g in got} == {-1.5}


def test_the_exported_csv_is_neutralised_and_the_parquet_raw(built):
    folder = built.exports / "v2"
    rows = {}
    for part in splice.part_paths(folder / export.csv_parts("articles")):
        with open(part, newline="", encoding="utf-8") as f:
            rows |= {r["article_id"]: r for r in csv.DictReader(f)}
    raw = {r["article_id"]: r for r in pq.read_table(folder / "articles.parquet").to_pylist()}
    for article_id, row in rows.items():
        for column, value in row.items():
            assert not value.startswith(export.FORMULA_PREFIXES), (article_id, column)
    if HOSTILE_ID in raw and raw[HOSTILE_ID]["outlet"] == HOSTILE_OUTLET:  # ingestion kept it as written
        assert rows[HOSTILE_ID]["outlet"] == "'" + HOSTILE_OUTLET


def test_the_neutralised_export_still_validates(built):
    """Neutralised cells and empty (but required) text cells keep the Data Package valid."""
    from frictionless import validate

    report = validate(str(built.exports / "v2" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
