"""Materialise the ingest assets and their checks in-process against a temporary warehouse.

The real data is read from the session's one real run (`published_lake`); each corrupted input
is one Dagster run of the ingest assets, shared by the tests that read the same scenario."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from factledger.commands.run import steps_not_run
from tests.check_rows import failing_rows, outcome
from tests.conftest import INGEST_ASSETS, check_evaluations, copy_raw, copy_warehouse, query, run_pipeline

SOURCE_DIR = Path("sources/ice-letter-2024-09-25")
FIGURES_CSV = SOURCE_DIR / "figures.csv"


def test_real_data_ingests_and_every_check_passes(published_lake):
    raw, warehouse, result = published_lake.raw, published_lake.warehouse, published_lake.result
    assert result.success
    evaluations = published_lake.evaluations(INGEST_ASSETS)
    assert {"derivations_agree", "dates_coherent", "articles_schema", "figures_schema"} <= set(evaluations)
    assert all(e.passed for e in evaluations.values()), [n for n, e in evaluations.items() if not e.passed]
    assert all(outcome(e).rows == () for e in evaluations.values())  # every check: the same shape
    files = sorted(p.stem for p in (raw / "articles").iterdir())
    assert [r[0] for r in query(warehouse, "SELECT article_id FROM articles ORDER BY 1")] == files
    csv_rows = (raw / FIGURES_CSV).read_text().count("\n") - 1
    assert query(warehouse, "SELECT count(*) FROM official_figures")[0][0] == csv_rows


def test_derived_cells_follow_from_stated_ones(published_lake):
    warehouse = published_lake.warehouse
    cells = dict(query(warehouse, "SELECT dims, value FROM figures WHERE measure = 'noncitizens_on_docket'"))
    derived = dict(query(warehouse, "SELECT figure_id, formula FROM figures WHERE derived"))

    def cell(offense, custody, status):
        return cells[f"criminal_status={status}, custody={custody}, offense={offense}"]

    assert cell("all", "detained", "convicted") == cell("all", "all", "convicted") - cell("all", "non_detained", "convicted")
    assert cell("homicide", "all", "convicted") == cell("homicide", "detained", "convicted") + cell("homicide", "non_detained", "convicted")
    # The long form names the same cells.
    long_form = query(warehouse, "SELECT count(DISTINCT figure_id) FROM figure_dimensions WHERE dimension = 'custody'")[0][0]
    assert long_form == query(warehouse, "SELECT count(*) FROM figures WHERE dims LIKE '%custody=%'")[0][0]
    assert all(formula for formula in derived.values())
    stated = query(warehouse, "SELECT count(*) FROM figures WHERE NOT derived")[0][0]
    assert stated == query(warehouse, "SELECT count(*) FROM official_figures")[0][0]


def _replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_totals_check_fails_on_a_corrupted_figure_and_blocks_downstream(raw, warehouse):
    _replace_in(raw / FIGURES_CSV, ",435719,", ",435718,")
    result = run_pipeline(raw, warehouse, INGEST_ASSETS)
    assert not result.success
    totals = check_evaluations(result)["derivations_agree"]
    assert not totals.passed
    rows = failing_rows(totals)
    total = [r for r in rows if "criminal_status=all, custody=all, offense=all" in r["figure_id"] and r["rule"] == "total"]
    assert total and "435,718" in json.dumps(rows)  # the corrupted part, in the failing derivation's formula
    assert {r["check"] for r in rows} == {"stated cells agree with their derivation"}
    assert totals.metadata["failing_rules"].value == ["stated cells agree with their derivation"]
    # A stated cell's failing row names the CSV and the line it came from.
    assert total[0]["file"] == FIGURES_CSV.as_posix()
    stated_line = (raw / FIGURES_CSV).read_text().splitlines()[total[0]["line"] - 1]
    assert f",{int(total[0]['stated_value'])}," in stated_line


def test_dates_check_fails_when_as_of_follows_the_letter_and_stops_figures(raw, warehouse):
    _replace_in(raw / SOURCE_DIR / "source.yaml", "as_of_date: 2024-07-21", "as_of_date: 2024-10-21")
    result = run_pipeline(raw, warehouse, INGEST_ASSETS)
    dates = check_evaluations(result)["dates_coherent"]
    assert not dates.passed
    rows = failing_rows(dates)
    assert "as_of_date <= document_date" in {r["rule"] for r in rows}
    assert {r["file"] for r in rows} == {(SOURCE_DIR / "source.yaml").as_posix()}
    assert "figures" not in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "figures" in steps_not_run(result)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    """One ingest run on raw/ with an article dated before the letter it cites and with bad input
    files beside the good ones (neither changes what the other asserts)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    raw, warehouse = copy_raw(root / "raw"), root / "warehouse"
    _replace_in(raw / "articles" / "001_3055ad8304499099.md", "published: 2024-09-27", "published: 2024-09-01")
    articles = raw / "articles"
    good_ids = sorted(p.stem for p in articles.iterdir())
    (articles / "empty.md").write_bytes(b"")
    (articles / "latin1.md").write_bytes("Caf\xe9 owners said 1,200 people came.".encode("latin-1"))
    (articles / "broken.md").write_text("---\noutlet: [unclosed\n---\nText with 12 numbers.\n")
    (articles / "copy.md").write_bytes((articles / f"{good_ids[0]}.md").read_bytes().replace(b"published:", b"title: a copy\npublished:"))
    csv_path = raw / FIGURES_CSV
    lines = csv_path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",226847,", ",about 226k,")
    lines[4] = lines[4].replace(",non_detained,", ",released,")
    csv_path.write_text("".join(lines))
    (raw / SOURCE_DIR / "extra.csv").write_text("measure,custody\nnoncitizens_on_docket,all\n")
    return raw, warehouse, good_ids, run_pipeline(raw, warehouse, INGEST_ASSETS)


def test_article_published_before_the_letter_is_quarantined_not_blocking(bad_inputs):
    _, _, _, result = bad_inputs
    evaluations = check_evaluations(result)
    assert evaluations["dates_coherent"].passed  # the source's own dates are fine
    quarantine = evaluations["articles_dates_coherent"]
    assert not quarantine.passed and quarantine.severity.value == "WARN"
    [row] = failing_rows(quarantine)
    assert (row["file"], row["line"]) == ("articles/001_3055ad8304499099.md", 4)
    assert row["reason"].startswith("quarantined: published >= document_date")


def test_bad_inputs_are_rejected_by_name_and_line_while_good_files_load(bad_inputs):
    raw, warehouse, good_ids, result = bad_inputs
    csv_path = raw / FIGURES_CSV
    rejected = {(f, ln): reason for f, ln, reason in query(warehouse, "SELECT file, line, reason FROM rejected_inputs")}
    assert "empty file" in rejected[("articles/empty.md", None)]
    assert "not UTF-8" in rejected[("articles/latin1.md", 1)]
    assert "not valid YAML" in rejected[("articles/broken.md", 3)]
    assert f"same text as articles/{good_ids[0]}.md" in rejected[("articles/copy.md", None)]
    assert "'about 226k' is not a number" in rejected[(FIGURES_CSV.as_posix(), 4)]
    assert "custody 'released' is not a declared value" in rejected[(FIGURES_CSV.as_posix(), 5)]
    assert "missing column(s) value" in rejected[((SOURCE_DIR / "extra.csv").as_posix(), 1)]
    assert len(rejected) == 7

    assert [r[0] for r in query(warehouse, "SELECT article_id FROM articles ORDER BY 1")] == good_ids
    csv_rows = csv_path.read_text().count("\n") - 1
    assert query(warehouse, "SELECT count(*) FROM official_figures")[0][0] == csv_rows - 2
    assert query(warehouse, "SELECT count(*) FROM official_figures WHERE value = 0")[0][0] == 0
    warning = check_evaluations(result)["no_rejected_inputs"]
    assert not warning.passed and warning.metadata["failure_count"].value == 7
    assert {(r["file"], r["line"]) for r in failing_rows(warning)} == set(rejected)


def test_ingestion_is_incremental_by_hash(raw, warehouse):
    first = run_pipeline(raw, warehouse, ("articles",))
    assert len(first.asset_materializations_for_node("articles")[0].metadata["added"].value) == 5
    again = run_pipeline(raw, warehouse, ("articles",)).asset_materializations_for_node("articles")[0].metadata
    assert (again["unchanged"].value, again["added"].value, again["replaced"].value) == (5, [], [])

    changed, removed = sorted((raw / "articles").iterdir())[:2]
    changed.write_text(changed.read_text() + "\nA correction was appended.\n")
    removed.unlink()
    meta = run_pipeline(raw, warehouse, ("articles",)).asset_materializations_for_node("articles")[0].metadata
    assert meta["replaced"].value == [changed.stem] and meta["retired"].value == [removed.stem]
    assert meta["unchanged"].value == 3
    body, retired_at = query(warehouse, "SELECT body, retired_at FROM articles WHERE article_id = ?", [changed.stem])[0]
    assert body.endswith("A correction was appended.\n") and retired_at is None
    assert query(warehouse, "SELECT retired_at IS NOT NULL FROM articles WHERE article_id = ?", [removed.stem]) == [(True,)]


NEW_SOURCE_YAML = """\
# Test data, not a real document: a second official table, added as a folder and nothing else.
id: test-budget-2025
title: A detention budget table
issuer: A test agency
dates:
  document_date: 2025-03-03
measures:
  detention_capacity_beds:
    description: Detention beds funded for the fiscal year
    unit: beds
    cues: ["beds?", "bed space"]   # the words articles use for it (without cues: its name read as words)
"""
NEW_SOURCE_CSV = """\
measure,period_start,period_end,value,basis
detention_capacity_beds,2024-10-01,2025-09-30,"50,000",table row 1
"""
NEW_ARTICLE = """\
---
outlet: Test Outlet
published: 2025-03-05
cites: test-budget-2025
---
The budget table released on Monday funds 50,000 detention beds in fiscal year 2025. It plans nearly 52,000 beds in fiscal year 2026.
"""


def test_a_new_official_table_is_a_folder_not_code(raw, warehouse):
    folder = raw / "sources" / "test-budget-2025"
    folder.mkdir()
    (folder / "source.yaml").write_text(NEW_SOURCE_YAML)
    (folder / "figures.csv").write_text(NEW_SOURCE_CSV)
    (raw / "articles" / "900_budget.md").write_text(NEW_ARTICLE)
    result = run_pipeline(raw, warehouse)
    assert result.success, [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert query(warehouse, "SELECT count(*) FROM sources")[0][0] == 2
    figure_id, value = query(warehouse, "SELECT figure_id, value FROM figures WHERE source_id = 'test-budget-2025'")[0]
    assert value == 50000
    claims = query(warehouse, "SELECT phrase, verdict, figure_id FROM claims WHERE article_id = '900_budget' ORDER BY start")
    assert claims[0] == ("50,000", "exact", figure_id)
    # Beds, but for a year the table does not cover: not checked against the FY2025 figure.
    assert claims[1][:2] == ("nearly 52,000", "not_in_source")
    # The letter's articles still reconcile against the letter only.
    assert not query(warehouse, "SELECT count(*) FROM claims WHERE article_id <> '900_budget' AND figure_id LIKE 'test-budget-2025%'")[0][0]


# Written by the steps after ingest (claims, publish): their keys are checked by their own schema
# checks in every run; this test is about the tables the ingest assets write.
LATER_TABLES = {"claims", "claim_extractions", "date_findings", "name_findings", "dataset_versions", "check_results"}


def test_every_keyed_table_refuses_a_duplicate_key(published_lake, tmp_path):
    from factledger import lake
    from factledger.validation import validate
    from schemas import LAKE_TABLES

    warehouse = copy_warehouse(published_lake.warehouse, tmp_path / "warehouse")  # it is changed below
    keyed = [m for m in LAKE_TABLES if m.key()]
    assert {"articles", "figures", "official_figures", "sources"} <= {m.table_name() for m in keyed}
    with lake.connect(warehouse) as con:
        for model in keyed:
            table = model.table_name()
            if table in LATER_TABLES or not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                continue
            assert validate(con, model).passed, table
            con.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
            failed = validate(con, model)
            assert not failed.passed and "key_is_unique" in failed.rules(), table


def test_the_run_summary_counts_from_the_steps_what_the_lake_holds(bad_inputs):
    """The summary's counts come from what the steps and checks reported (no lake opened after the
    run), and read as the lake's: quarantined and refused inputs included."""
    from factledger.commands import run as run_command

    raw, warehouse, _, result = bad_inputs
    reported = run_command.ingested_from_run(result)
    assert reported is not None and reported == run_command.ingested_from_lake(warehouse)
    assert reported.quarantined == 1 and reported.rejected_total >= 4
    summary = run_command.summarise(result, warehouse)
    assert "1 quarantined (not published: see articles_dates_coherent)" in summary
    assert "  rejected inputs: " + str(reported.rejected_total) in summary and "empty.md" in summary


def test_the_run_summary_reads_the_lake_for_what_no_step_reported(raw, warehouse):
    from factledger.commands import run as run_command

    result = run_pipeline(raw, warehouse, ("articles", "sources", "official_figures"))  # figures not run
    assert run_command.ingested_from_run(result) is None
    assert "articles ingested: 5 present" in run_command.summarise(result, warehouse)


def test_a_run_imports_the_definitions_without_hypothesis_plugins_and_leaves_the_environment_alone():
    import subprocess
    import sys

    code = ("import os, sys\nfrom factledger.commands import run\nwith run._without_hypothesis_plugins():\n"
            "    import hypothesis\nprint('trio' in sys.modules, os.environ.get('HYPOTHESIS_NO_PLUGINS'))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "HYPOTHESIS_NO_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.split() == ["False", "None"], done.stderr
