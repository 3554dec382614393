"""The claims assets and their checks, materialised in-process with the real Definitions."""
import csv

from tests.conftest import INGEST_ASSETS, run_pipeline

CLAIM_ASSETS = ("claims", "date_findings", "name_findings", "claims_export")


def test_claims_assets_materialise_and_export(raw, warehouse):
    result = run_pipeline(raw, warehouse, (*INGEST_ASSETS, *CLAIM_ASSETS))
    assert result.success
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for key in [("claims", "claims_schema"), ("claims", "phrases_at_offsets"), ("date_findings", "date_findings_schema"),
                ("name_findings", "name_findings_schema"), ("claims", "claim_extractions_schema")]:
        assert checks.get(key) is True, key
    assert checks[("name_findings", "no_name_variants")] is False  # a misspelt recipient in the raw articles: warns
    with open(warehouse / "reports" / "claims.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {"article_id", "start", "end", "value", "qualifier", "verdict", "figure_value"} <= set(rows[0])

    again = run_pipeline(raw, warehouse, (*INGEST_ASSETS, *CLAIM_ASSETS))
    metadata = next(e for e in again.get_asset_materialization_events() if e.asset_key.to_user_string() == "claims")
    assert metadata.materialization.metadata["extracted"].value == []
