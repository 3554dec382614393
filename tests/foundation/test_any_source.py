"""Any official source is a folder, not code: a third domain written here (a budget by agency and
fiscal year), the overdose release of ../shared, cell identity, and a warehouse of an older layout.

Plain functions on a lake built once per scenario; no Dagster (the wiring is tested elsewhere)."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from factledger import cells, lake, tables
from factledger.paths import PROJECT_ROOT
from factledger.sources import parse_number, parse_source_folder
from factledger.validation import validate
from schemas import Claims, FigureDerivations, Figures
from tests.conftest import build_lake

OVERDOSE = PROJECT_ROOT.parent / "shared" / "overdose"

# Test data, not a real document: a budget table broken down by agency, with an additive agency
# dimension (the agencies partition the department), two fiscal years and a stated percent change.
BUDGET_YAML = """\
id: test-budget-fy2025
title: Department budget request by agency (test data)
issuer: A test department
dates:
  document_date: 2024-03-11
dimensions:
  agency:
    total: department
    additive: true
    values:
      department: {label: the whole department, cues: ["department(?:'s)? budget", "department-wide"]}
      parks: {label: Parks Agency, cues: ["parks agency", "parks"]}
      roads: {label: Roads Agency, cues: ["roads agency", "roads"]}
measures:
  budget_musd:
    description: budget authority in millions of dollars for the fiscal year
    unit: million dollars
    dimensions: [agency]
    cues: ["budget", "funding", "allocat(?:ed|ion)"]
  budget_pct_change:
    unit: percent
    dimensions: [agency]
    change_of: budget_musd
    change: percent
"""
BUDGET_CSV = """\
measure,agency,period_start,period_end,value,qualifier,basis
budget_musd,parks,2023-10-01,2024-09-30,400,,table 1
budget_musd,roads,2023-10-01,2024-09-30,"1,100",,table 1
budget_musd,parks,2024-10-01,2025-09-30,420,,table 1
budget_musd,roads,2024-10-01,2025-09-30,"1,180",,table 1
budget_musd,department,2024-10-01,2025-09-30,"1,600",,table 1
budget_pct_change,department,2024-10-01,2025-09-30,6.7,about,summary
"""
BUDGET_ARTICLE = """\
---
outlet: Test Daily
published: 2024-03-12
title: Roads win in the new budget
cites: [test-budget-fy2025]
---
The department's budget rises to 1,600 in fiscal year 2025. The roads agency gets 1,180, up from 1,100.
Parks funding grows 5% to 420. Roads funding rose 9% in fiscal year 2025, while the parks agency is allocated 445.
"""


def _source_folder(raw: Path, folder: str, descriptor: str, csv_text: str) -> Path:
    target = raw / "sources" / folder
    target.mkdir(parents=True)
    (target / "source.yaml").write_text(descriptor, encoding="utf-8")
    (target / "figures.csv").write_text(csv_text, encoding="utf-8")
    return target


build = build_lake


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with lake.connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def budget(tmp_path_factory):
    root = tmp_path_factory.mktemp("budget")
    raw = root / "raw"
    (raw / "articles").mkdir(parents=True)
    _source_folder(raw, "test-budget-fy2025", BUDGET_YAML, BUDGET_CSV)
    (raw / "articles" / "b01_daily.md").write_text(BUDGET_ARTICLE, encoding="utf-8")
    build(raw, root / "warehouse")
    return root / "warehouse"


def test_a_third_domain_loads_with_no_rejections_and_derives_its_cells(budget):
    assert rows(budget, "SELECT count(*) FROM rejected_inputs") == [(0,)]
    values = dict(rows(budget, "SELECT figure_id, value FROM figures"))
    fy24 = "2023-10-01..2024-09-30"
    # A missing total follows from its additive parts; a change from two consecutive fiscal years.
    assert values[f"test-budget-fy2025:budget_musd:agency=department:{fy24}"] == 1500
    assert values["test-budget-fy2025:budget_pct_change:agency=roads:2024-10-01..2025-09-30"] == pytest.approx(7.272727, abs=1e-5)
    formula = rows(budget, "SELECT formula FROM figures WHERE figure_id LIKE '%budget_pct_change:agency=parks%'")[0][0]
    assert "420" in formula and "400" in formula
    # The stated department change (about 6.7%) agrees with (1,600 - 1,500) / 1,500 = 6.67%.
    derivations = rows(budget, "SELECT rule, stated_value, round(derived_value, 2), agrees FROM figure_derivations ORDER BY rule")
    assert ("change", 6.7, 6.67, True) in derivations and ("total", 1600.0, 1600.0, True) in derivations
    with lake.connect(budget, read_only=True) as con:
        assert validate(con, FigureDerivations).passed and validate(con, Figures).passed


def test_an_article_citing_it_reconciles_with_no_code(budget):
    verdicts = rows(budget, "SELECT phrase, direction, verdict, figure_value FROM claims ORDER BY start")
    by_phrase = {p: (d, v, f) for p, d, v, f in verdicts}
    assert by_phrase["1,600"] == (None, "exact", 1600)
    assert by_phrase["1,180"] == (None, "exact", 1180)
    assert by_phrase["1,100"][1] == "exact"               # 'up from 1,100': the roads agency's earlier year
    assert by_phrase["5%"] == ("up", "exact", 5.0)        # parks: (420 - 400) / 400 = 5.0
    assert by_phrase["9%"][:2] == ("up", "contradicted")  # roads rose 7.27%, not 9%
    assert by_phrase["445"][1] == "contradicted"          # parks has 420
    with lake.connect(budget, read_only=True) as con:
        assert validate(con, Claims).passed


def test_a_stated_cell_disagreeing_with_its_derivation_fails_with_its_rows(tmp_path):
    raw = tmp_path / "raw"
    (raw / "articles").mkdir(parents=True)
    _source_folder(raw, "test-budget-fy2025", BUDGET_YAML, BUDGET_CSV.replace('department,2024-10-01,2025-09-30,"1,600"', 'department,2024-10-01,2025-09-30,"1,650"'))
    build(raw, tmp_path / "warehouse")
    with lake.connect(tmp_path / "warehouse", read_only=True) as con:
        result = validate(con, FigureDerivations)
    assert not result.passed
    failing = result.records()
    assert failing and all(r["check"] == "stated cells agree with their derivation" for r in failing)
    assert any("agency=department" in r["figure_id"] and r["stated_value"] == 1650 and "1,650" not in r["formula"] for r in failing)


@pytest.mark.skipif(not OVERDOSE.is_dir(), reason="../shared/overdose is absent")
def test_the_overdose_release_loads_as_it_is_and_its_stated_change_agrees(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(OVERDOSE / "sources", raw / "sources")
    (raw / "articles").mkdir()
    build(raw, tmp_path / "warehouse")
    assert rows(tmp_path / "warehouse", "SELECT count(*) FROM rejected_inputs") == [(0,)]
    stated = rows(tmp_path / "warehouse", """
        SELECT stated_value, round(derived_value, 2), agrees FROM figure_derivations
        WHERE figure_id LIKE '%pct_change:drug=all, jurisdiction=US%'""")
    assert stated == [(-3.0, -3.14, True)]


@pytest.mark.skipif(not OVERDOSE.is_dir(), reason="../shared/overdose is absent")
def test_a_stated_change_of_minus_five_would_fail(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(OVERDOSE / "sources", raw / "sources")
    (raw / "articles").mkdir()
    csv_path = next((raw / "sources").glob("*/figures.csv"))
    text = csv_path.read_text(encoding="utf-8")
    assert "overdose_deaths_pct_change,all,US,2023-01-01,2023-12-31,-3," in text
    csv_path.write_text(text.replace("overdose_deaths_pct_change,all,US,2023-01-01,2023-12-31,-3,",
                                     "overdose_deaths_pct_change,all,US,2023-01-01,2023-12-31,-5,"), encoding="utf-8")
    build(raw, tmp_path / "warehouse")
    with lake.connect(tmp_path / "warehouse", read_only=True) as con:
        result = validate(con, FigureDerivations)
    assert not result.passed and [r["stated_value"] for r in result.records()] == [-5]


def test_cell_keys_are_one_definition_in_python_and_sql():
    dims = {"jurisdiction": "US", "drug-class": "x", "drug": "all", "unset": None}
    key = cells.dims_key(dims)
    assert key == "drug-class=x, drug=all, jurisdiction=US" and cells.parse_dims(key) == {k: v for k, v in dims.items() if v}
    con = duckdb.connect()
    cells.install_macros(con)
    assert con.execute("SELECT dims_value(?, 'drug'), dims_value(?, 'nope')", [key, key]).fetchone() == ("all", None)
    without = con.execute("SELECT dims_without(?, 'drug')", [key]).fetchone()[0]
    assert without == cells.dims_key({"jurisdiction": "US", "drug-class": "x"})
    assert con.execute("SELECT dims_with(?, 'drug', 'all')", [without]).fetchone()[0] == key
    assert con.execute("SELECT dims_with('', 'a', 'b')").fetchone()[0] == "a=b"


@pytest.mark.parametrize("text,expected", [
    ("107,543", (107543.0, 0)), ("-3", (-3.0, 0)), ("3.14", (3.14, 2)), ("+27", (27.0, 0)), ("-3,098", (-3098.0, 0)),
    ("0", (0.0, 0)), ("1" + "0" * 20, None), ("3,0", None), ("１２", None), ("٣", None), ("3e5", None), ("", None), ("about 3", None),
])
def test_figure_values_as_a_document_states_them(text, expected):
    assert parse_number(text) == expected


BAD_DESCRIPTORS = [
    ("dimensions:\n  place:\n    total: all\n    values: [all, x]\nmeasures:\n  m:\n    dimensions: [region]\n", "undeclared dimension(s) region"),
    ("measures:\n  m:\n    cues: ['(unclosed']\n", "is not a valid regular expression"),
    ("measures:\n  m: {change: percent}\n", "change needs change_of"),
    ("measures:\n  m: {change_of: n}\n", "change_of 'n' is not a declared measure"),
    ("dimensions:\n  'a b':\n    total: all\n    values: [all]\nmeasures:\n  m: {}\n", "a dimension name is letters"),
]


@pytest.mark.parametrize("body,reason", BAD_DESCRIPTORS)
def test_a_broken_descriptor_is_refused_whole_with_the_reason(tmp_path, body, reason):
    folder = _source_folder(tmp_path, "s1", "id: s1\ndates: {document_date: 2024-01-01}\n" + body, "measure,value\nm,1\n")
    parsed = parse_source_folder(folder, tmp_path)
    assert parsed.source is None and len(parsed.rejections) == 1
    assert reason in parsed.rejections[0].reason and parsed.rejections[0].file == "sources/s1/source.yaml"


def test_a_cell_stated_twice_keeps_one_when_equal_and_none_when_not(tmp_path):
    descriptor = "id: s1\ndates: {document_date: 2024-01-01}\nmeasures:\n  m: {}\n  n: {}\n"
    folder = _source_folder(tmp_path, "s1", descriptor, "measure,value\nm,1\nn,2\n")
    (folder / "more.csv").write_text("measure,value\nm,1\nn,3\n", encoding="utf-8")
    parsed = parse_source_folder(folder, tmp_path)
    assert [(f["measure"], f["value"]) for f in parsed.figures] == [("m", 1.0)]
    reasons = {(r.file, r.line): r.reason for r in parsed.rejections}
    assert "same value; kept once" in reasons[("sources/s1/more.csv", 2)]
    assert "none of them is loaded" in reasons[("sources/s1/figures.csv", 3)]
    assert "none of them is loaded" in reasons[("sources/s1/more.csv", 3)]


def test_a_warehouse_of_an_older_layout_stops_with_what_to_do(tmp_path):
    warehouse = tmp_path / "warehouse"
    with lake.connect(warehouse) as con:
        con.execute("CREATE TABLE lake.main.figures (figure_id VARCHAR, offense VARCHAR, value BIGINT)")
        with pytest.raises(tables.WarehouseSchemaError, match=r"figures \(lacks .*dims.*has offense\).*move the warehouse folder aside"):
            tables.ensure_tables(con)
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'lake'").fetchone()[0] == 1


def test_a_source_folder_is_confined_to_raw(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("measure,value\nm,7\n", encoding="utf-8")
    raw = tmp_path / "raw"
    folder = _source_folder(raw, "s1", "id: s1\ndates: {document_date: 2024-01-01}\nmeasures:\n  m: {}\n", "measure,value\nm,1\n")
    (folder / "leak.csv").symlink_to(outside / "secret.csv")
    (raw / "sources" / "s2").symlink_to(outside, target_is_directory=True)
    parsed = {p.name: parse_source_folder(p, raw) for p in sorted((raw / "sources").iterdir())}
    assert [f["value"] for f in parsed["s1"].figures] == [1.0]
    assert "symbolic link leaving the raw folder" in parsed["s1"].rejections[0].reason
    assert parsed["s2"].source is None and "symbolic link" in parsed["s2"].rejections[0].reason
