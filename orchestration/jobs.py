"""Jobs: what a run materialises."""
import dagster as dg

# Every run of the refresh job writes the lake: the instance's run-tag limit on this tag queues a
# second writer (sensor, schedule and UI launches alike, since the tags are the job's own).
WRITER_TAGS = {"factledger/lake": "writer"}

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    tags=WRITER_TAGS,
    description="Ingest raw/, extract and reconcile claims, run every check, and publish a new dataset version when anything changed.",
)
