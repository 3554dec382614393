"""Jobs: what a run materialises."""
import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest raw/, extract and reconcile claims, run every check, and publish a new dataset version when anything changed.",
)
