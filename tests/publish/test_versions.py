"""One warehouse through a life: first run, unchanged rerun, one article edited (while analysts
read from another process), and a run stopped by a failing blocking check."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factledger import catalog, export, lake, paths, provenance, splice
from factledger import versions as versions_module
from tests.conftest import copy_warehouse
from tests.publish.conftest import CHANGED_ARTICLE, Cli, change_article, factledger

FACTLEDGER = str(Path(sys.executable).parent / "factledger")
READ = "SELECT count(*) AS n, count(DISTINCT sha256) AS files FROM articles"


def subprocess_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env[paths.RAW_ENV] = env[paths.WAREHOUSE_ENV] = ""
    return env


def read_while(writer: subprocess.Popen, warehouse: Path) -> list[dict]:
    """Run `factledger sql` in fresh processes, one after another, for as long as `writer` runs."""
    reads = []
    while writer.poll() is None:
        version = ["--version", "1"] if len(reads) % 2 else []
        started = time.monotonic()
        done = subprocess.run([FACTLEDGER, "sql", "--csv", "--warehouse", str(warehouse), *version, READ],
                              capture_output=True, text=True, env=subprocess_env(), timeout=120)
        reads.append({"rc": done.returncode, "out": done.stdout, "err": done.stderr, "version": version,
                      "seconds": time.monotonic() - started, "writer_still_running": writer.poll() is None})
        time.sleep(0.5)  # an analyst's pace: the reads must not starve the writer of the machine's cores
    return reads


@pytest.fixture(scope="module")
def history(tmp_path_factory, published_lake):
    # The first run is the session's `factledger run` on a copy of raw/ (tests/conftest.py), copied.
    root = tmp_path_factory.mktemp("publish")
    raw = shutil.copytree(published_lake.raw, root / "raw")
    warehouse = copy_warehouse(published_lake.warehouse, root / "warehouse")
    run = ("run", "--raw", raw, "--warehouse", warehouse)
    h = {"raw": raw, "warehouse": warehouse}
    h["first"] = Cli(published_lake.code, published_lake.out, published_lake.err)
    h["versions_after_first"] = factledger("versions", "--csv", "--warehouse", warehouse)
    h["second"] = factledger(*run)
    h["versions_after_second"] = factledger("versions", "--csv", "--warehouse", warehouse)

    # Third run in its own process, analysts querying from other processes meanwhile.
    change_article(raw)
    writer = subprocess.Popen([FACTLEDGER, *map(str, run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=subprocess_env())
    started = time.monotonic()
    h["reads"] = read_while(writer, warehouse)
    out, err = writer.communicate(timeout=300)
    h["third"] = {"rc": writer.returncode, "out": out, "err": err, "seconds": time.monotonic() - started}

    # Fourth run: a source whose as-of date follows its own document date fails the blocking
    # dates_coherent check. (An article with bad dates is quarantined instead: tests/hostile.)
    descriptor = next((raw / "sources").glob("*/source.yaml"))
    original = descriptor.read_text()
    assert "as_of_date: 2024-07-21" in original
    descriptor.write_text(original.replace("as_of_date: 2024-07-21", "as_of_date: 2024-10-21", 1))
    h["gated"] = factledger(*run)
    descriptor.write_text(original)
    return h


def versions(result) -> list[dict]:
    return list(csv.DictReader(io.StringIO(result.out)))


def sql(warehouse, query, *flags):
    result = factledger("sql", "--csv", "--warehouse", warehouse, *flags, query)
    assert result.rc == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def test_first_run_publishes_version_1(history):
    assert history["first"].rc == 0, history["first"].err[-3000:]
    assert "dataset_version: published version 1" in history["first"].out
    [v1] = versions(history["versions_after_first"])
    assert v1["version"] == "1"


def test_second_run_on_same_inputs_publishes_nothing(history):
    assert history["second"].rc == 0
    assert "dataset_version: no change: version 1 stays current" in history["second"].out
    assert len(versions(history["versions_after_second"])) == 1


def test_changed_article_publishes_version_2(history):
    third = history["third"]
    assert third["rc"] == 0, third["err"][-3000:]
    assert "dataset_version: published version 2" in third["out"]


def test_diff_names_exactly_the_changed_article(history):
    result = factledger("diff", "1", "2", "--csv", "--warehouse", history["warehouse"])
    assert result.rc == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    articles = [r for r in rows if r["table"] == "articles"]
    assert [(r["change"], r["key"]) for r in articles] == [("changed", CHANGED_ARTICLE)]
    assert articles[0]["columns"].split(", ") == ["title", "body_start", "sha256", "n_bytes"]
    # Anything else that changed (claims and findings re-extracted from the edited file) concerns it.
    assert {r["article_id"] for r in rows} == {CHANGED_ARTICLE}
    assert not [r for r in rows if r["table"] in ("figures", "sources", "check_results")]
    report = factledger("diff", "1", "2", "--warehouse", history["warehouse"]).out
    assert "articles: 1 changed" in report and "figures: unchanged" in report
    assert f"changed  {CHANGED_ARTICLE}: title, body_start, sha256, n_bytes" in report


def test_every_earlier_version_stays_queryable(history):
    query = f"SELECT title FROM articles WHERE article_id = '{CHANGED_ARTICLE}'"
    [old] = sql(history["warehouse"], query, "--version", "1")
    [new] = sql(history["warehouse"], query)
    assert new["title"].startswith("(updated) ") and old["title"] in new["title"] and "(updated)" not in old["title"]
    assert sql(history["warehouse"], "SELECT count(*) AS n FROM figures", "--version", "1") == [{"n": "111"}]
    listed = sql(history["warehouse"], "SELECT version FROM dataset_versions", "--version", "1")
    assert listed == [{"version": "1"}]


def test_failing_blocking_check_leaves_the_current_version(history):
    gated = history["gated"]
    assert gated.rc == 1
    assert "FAILED sources.dates_coherent [blocking]" in gated.out
    assert "dataset_version" in gated.out.split("not run, because a blocking check failed upstream:")[1]
    assert "previous published version stays current" in gated.out
    listed = versions(factledger("versions", "--csv", "--warehouse", history["warehouse"]))
    assert [v["version"] for v in listed] == ["1", "2"]
    assert (history["warehouse"] / "exports" / "latest").resolve().name == "v2"
    # The bad date the failing run ingested is in the lake, not in the published version.
    query = "SELECT CAST(as_of_date AS VARCHAR) AS as_of_date FROM sources"
    assert sql(history["warehouse"], query) == [{"as_of_date": "2024-07-21"}]
    with lake.connect(history["warehouse"], read_only=True) as con:
        assert con.execute(query.replace("FROM sources", "FROM lake.main.sources")).fetchone() == ("2024-10-21",)


def test_reader_in_another_process_answers_during_a_write(history):
    reads = history["reads"]
    during = [r for r in reads if r["writer_still_running"]]
    print(f"{len(reads)} reads ({len(during)} finished while the writer ran), "
          f"{max(r['seconds'] for r in reads):.2f} s slowest, during a {history['third']['seconds']:.1f} s run")
    assert len(during) >= 2, f"only {len(reads)} reads during a {history['third']['seconds']:.0f} s run"
    for read in reads:
        assert read["rc"] == 0, read["err"]
        assert "lock" not in read["err"].lower()
        assert read["out"] == "n,files\n5,5\n"


def test_sql_cannot_change_the_lake(history):
    for statement in ("DELETE FROM lake.published.articles", "DROP TABLE lake.main.figures", "DELETE FROM articles"):
        result = factledger("sql", "--warehouse", history["warehouse"], statement)
        assert result.rc == 2
    assert "read-only" in factledger("sql", "--warehouse", history["warehouse"], "DELETE FROM lake.published.articles").err
    assert sql(history["warehouse"], "SELECT count(*) AS n FROM articles") == [{"n": "5"}]


def test_versions_rows_record_snapshot_inputs_code_counts_and_checks(history):
    with lake.connect(history["warehouse"], read_only=True) as con:
        rows = con.execute("SELECT version, snapshot_id, input_hashes, code_sha256, row_counts, checks_summary, changes "
                           "FROM dataset_versions ORDER BY version").fetchall()
    (v1, s1, in1, code1, counts1, checks1, _), (v2, s2, in2, _, counts2, _, changes2) = rows
    assert s1 < s2
    assert json.loads(in1)[f"articles/{CHANGED_ARTICLE}.md"] != json.loads(in2)[f"articles/{CHANGED_ARTICLE}.md"]
    assert len(code1) == 64
    assert json.loads(counts1)["articles"] == 5 and json.loads(counts1)["figures"] == 111
    assert re.match(r"\d+ passed", checks1) and "not evaluated" not in checks1
    assert changes2.startswith("articles: 1 changed")


def test_each_versions_table_hashes_are_those_of_its_published_rows(history):
    # Version 2 changed one article: its claims' hash was updated from that article's rows alone;
    # it must equal the hash of every row of the version, computed whole.
    with lake.connect(history["warehouse"], read_only=True) as con:
        for version, snapshot, recorded in con.execute("SELECT version, snapshot_id, table_hashes FROM dataset_versions").fetchall():
            for name, text in json.loads(recorded).items():
                if name == "check_results":  # the run's check rows, not a lake table's
                    continue
                model = catalog.model_for(name)
                columns = catalog.compared_columns(model, catalog.published_table(name))
                relation = versions_module.relation_at(name, snapshot)
                assert text == provenance.table_hash(con, relation, columns), (version, name)


def test_clear_errors_and_the_warehouse_variable(history, tmp_path):
    missing = factledger("versions", "--warehouse", tmp_path / "nothing")
    assert missing.rc == 2 and "run `factledger run` first" in missing.err
    unknown = factledger("sql", "--version", "9", "--warehouse", history["warehouse"], "SELECT 1")
    assert unknown.rc == 2 and "unknown version 9" in unknown.err
    via_env = factledger("versions", warehouse_env=str(history["warehouse"]))
    assert via_env.rc == 0 and via_env.out.splitlines()[-1] == "(2 rows)"


def test_export_of_every_version_validates_with_frictionless(history):
    from frictionless import validate

    exports = history["warehouse"] / "exports"
    assert (exports / "latest").resolve() == (exports / "v2").resolve()
    assert (exports / "LATEST").read_text() == "v2\n"
    for folder in ("v1", "v2"):
        report = validate(str(exports / folder / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    package = json.loads((exports / "latest" / "datapackage.json").read_text())
    assert package["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert package["version"] == "2.0.0"
    assert any(s.get("path", "").startswith("http") for s in package["sources"])
    resources = {r["name"]: r for r in package["resources"]}
    assert {"articles", "sources", "figures", "check_results"} <= set(resources)
    for resource in resources.values():
        # A multipart resource: the table's CSV parts, in order, each with the header line.
        assert resource["path"] and all((exports / "v2" / part).is_file() for part in resource["path"])
        parts = export.csv_parts(resource["name"])
        assert resource["path"] == [f"{parts}/{p.name}" for p in splice.part_paths(exports / "v2" / parts)]
        assert (exports / "v2" / f"{resource['name']}.parquet").is_dir()
        assert all(f["description"] for f in resource["schema"]["fields"])
    reviews = json.loads((exports / "latest" / "claim_reviews.jsonld").read_text())
    assert reviews["@context"] == "https://schema.org"
    with lake.connect(history["warehouse"], read_only=True) as con:
        # Rated: an assertive verdict, on an article with an http(s) address and a publication date.
        rated = con.execute("""
            SELECT count(*) FROM lake.published.claims c JOIN lake.published.articles a USING (article_id)
            WHERE c.verdict <> 'not_in_source' AND a.url SIMILAR TO 'https?://.*' AND a.published IS NOT NULL""").fetchone()[0]
    assert len(reviews["@graph"]) == rated > 0
    for review in reviews["@graph"]:
        assert review["@type"] == "ClaimReview" and review["reviewRating"]["alternateName"]
        assert review["itemReviewed"]["@type"] == "Claim"


def test_documented_plain_duckdb_lines_work(history):
    """The ATTACH block of docs/publishing.md, run as written (paths made absolute)."""
    import re

    import duckdb

    from factledger.paths import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "publishing.md").read_text()
    block = re.search(r"```sql\n(.*?)```", doc, re.S).group(1)
    venv = Path(sys.executable).parent.parent
    statements = [s.strip() for s in "\n".join(line.split("--")[0] for line in block.splitlines()).split(";")]
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    with lake.connect(history["warehouse"], read_only=True) as check:
        [(snapshot_1,)] = check.execute("SELECT snapshot_id FROM dataset_versions WHERE version = 1").fetchall()
    results = []
    for statement in filter(None, statements):
        statement = (statement.replace("'.venv/", f"'{venv}/").replace("'warehouse/", f"'{history['warehouse']}/").replace(":warehouse/", f":{history['warehouse']}/")
                     .replace("VERSION => 16", f"VERSION => {snapshot_1}"))
        results.append(con.execute(statement).fetchall())
    assert len(results) == 6
    assert [r[0] for r in results[3]] == [1, 2]  # the versions
    assert len(results[4]) == len(results[5]) > 0  # claims now and at version 1 (same article count)
