"""The claims assets and their checks, materialised in-process with the real Definitions (the
session's one real run of the whole pipeline, then a second run on a copy of its folders)."""
import csv
import shutil

from tests.conftest import INGEST_ASSETS, copy_warehouse, run_pipeline

CLAIM_ASSETS = ("claims", "date_findings", "name_findings", "claims_export")


def test_claims_assets_materialise_and_export(published_lake, tmp_path):
    result, warehouse = published_lake.result, published_lake.warehouse
    assert result.success
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for key in [("claims", "claims_schema"), ("claims", "phrases_at_offsets"), ("date_findings", "date_findings_schema"),
                ("name_findings", "name_findings_schema"), ("claims", "claim_extractions_schema")]:
        assert checks.get(key) is True, key
    assert checks[("name_findings", "no_name_variants")] is False  # a misspelt recipient in the raw articles: warns
    with open(warehouse / "reports" / "claims.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {"article_id", "start", "end", "value", "qualifier", "verdict", "figure_value"} <= set(rows[0])

    raw = shutil.copytree(published_lake.raw, tmp_path / "raw")
    again = run_pipeline(raw, copy_warehouse(warehouse, tmp_path / "warehouse"), (*INGEST_ASSETS, *CLAIM_ASSETS))
    metadata = next(e for e in again.get_asset_materialization_events() if e.asset_key.to_user_string() == "claims")
    assert metadata.materialization.metadata["extracted"].value == []
