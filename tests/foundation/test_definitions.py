"""The Definitions load the way Dagster's own tools load them, and describe themselves."""
from __future__ import annotations

import subprocess

import dagster as dg
import pytest

from factledger.cli import main
from factledger.paths import PROJECT_ROOT
from orchestration.definitions import defs


def test_every_asset_has_description_owner_kind_and_column_schema():
    specs = [spec for assets_def in defs.assets for spec in assets_def.specs]
    assert specs
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.description, name
        assert spec.owners, name
        assert spec.kinds, name
        if "html" in spec.kinds:  # the report is pages, not a table
            assert spec.metadata.get("dagster/uri") or spec.description, name
            continue
        assert isinstance(spec.metadata.get("dagster/column_schema"), dg.TableSchema), name


@pytest.mark.slow  # a new process loads the Definitions
def test_dg_finds_the_definitions_from_pyproject_without_flags():
    dg_cli = PROJECT_ROOT / ".venv" / "bin" / "dg"
    done = subprocess.run([str(dg_cli), "check", "defs"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_run_prints_a_summary_and_uses_the_flags(published_lake):
    """The session's one real `factledger run --raw R --warehouse W` (tests/conftest.py)."""
    code, out, raw, warehouse = published_lake.code, published_lake.out, published_lake.raw, published_lake.warehouse
    assert code == 0, out
    assert "articles ingested: 5 present" in out
    assert "checks:" in out and " 0 failed" in out
    # A real article spells the letter's recipient "Gonzalez": each mention reported, not blocking.
    variants = sum(path.read_text().count("Gonzalez") for path in (raw / "articles").glob("*.md"))
    assert variants and f"WARNING name_findings.no_name_variants ({variants} rows)" in out
    assert (warehouse / "lake" / "catalog.sqlite").exists()
    assert not (PROJECT_ROOT / "raw" / "lake").exists()


def test_cli_run_reports_a_missing_raw_folder(tmp_path, capsys):
    code = main(["run", "--raw", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_cli_run_fails_and_names_the_failing_check(raw, warehouse, capsys):
    path = raw / "sources" / "ice-letter-2024-09-25" / "figures.csv"
    path.write_text(path.read_text().replace(",435719,", ",435718,", 1))
    code = main(["run", "--raw", str(raw), "--warehouse", str(warehouse)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED figures.derivations_agree [blocking]" in out
    assert "Run FAILED" in out


def test_every_run_executes_in_one_process():
    # The sensor and schedule send no executor config, so the Definitions' executor is what runs.
    assert defs.resolve_job_def("refresh").executor_def.name == "in_process"
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
