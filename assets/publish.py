"""Publish: the cleaned tables as a new dataset version, when anything changed, plus its export.

`dataset_version` depends on every table asset, so a failing blocking check on any of them skips
it: nothing is published and the previous version stays current.
"""

import datetime as dt

import dagster as dg

from assets._lake import LAKE_WRITER, table_metadata
from factledger import export, publish, versions
from orchestration.resources import LakeResource
from schemas import DatasetVersions

PUBLISH_GROUP = "publish"

# Every table asset: a failing blocking check on any of them skips publishing.
UPSTREAM = ("articles", "sources", "official_figures", "figures", "claims", "date_findings", "name_findings")


def run_checks(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """Every asset check planned in this run, with its evaluation when there is one."""
    planned, evaluated = {}, {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED).records:
        data = record.event_log_entry.dagster_event.event_specific_data
        planned[(data.asset_key.to_user_string(), data.check_name)] = None
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
        entry = record.event_log_entry
        evaluation = entry.dagster_event.event_specific_data
        evaluated[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = (evaluation, entry.timestamp)
    rows = []
    for asset_key, check_name in sorted(planned.keys() | evaluated.keys()):
        row = {"run_id": run_id, "asset_key": asset_key, "check_name": check_name, "passed": None}
        if (asset_key, check_name) in evaluated:
            evaluation, timestamp = evaluated[(asset_key, check_name)]
            metadata = evaluation.metadata or {}
            count = metadata.get("failure_count")
            rows_checked = metadata.get("rows_checked")
            row |= {
                "passed": evaluation.passed,
                "severity": evaluation.severity.value,
                "blocking": evaluation.blocking,
                "failure_count": None if count is None else int(count.value),
                "rows_checked": None if rows_checked is None or rows_checked.value is None else int(rows_checked.value),
                "description": evaluation.description,
                "evaluated_at": dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None),
            }
        rows.append(row)
    return rows


@dg.asset(
    group_name=PUBLISH_GROUP,
    deps=list(UPSTREAM),
    metadata=table_metadata(DatasetVersions),
    description="Publish the cleaned dataset as a new version when the inputs or the published content "
    "changed: lake.published.<table> (present articles, sources, figures, claims, findings, the run's "
    "check results) in one DuckLake snapshot, a dataset_versions row, and an export under "
    "warehouse/exports/v<N>/ (CSV, Parquet, Frictionless datapackage.json, ClaimReview JSON-LD) with "
    "exports/latest pointing at it. Unchanged: nothing is published.",
    **LAKE_WRITER,
)
def dataset_version(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    checks = run_checks(context.instance, context.run_id)
    for stale in publish.remove_stale_exports(export.exports_dir(lake.warehouse)):
        context.log.info(f"removed {stale}, left by an interrupted export")
    with lake.connect() as con:
        outcome = publish.publish(con, checks, run_id=context.run_id, log=context.log.info)
        version = versions.resolve(con, outcome.version)
        created_at = con.execute(
            "SELECT strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') FROM lake.main.dataset_versions WHERE version = ?",
            [version.version]).fetchone()[0]
        folder = export.version_dir(lake.warehouse, version.version)
        if outcome.published or not (folder / "datapackage.json").exists():
            folder = export.export_version(con, lake.warehouse, version, created_at)
            context.log.info(f"exported version {version.version} to {folder}")
        export.point_latest(lake.warehouse, version.version)
    context.log.info(outcome.summary)
    for diff in outcome.diffs:
        if diff.changed:
            context.log.info(f"  {diff.summary()}")
    return dg.MaterializeResult(
        metadata={
            "summary": outcome.summary,
            "version": outcome.version,
            "published": outcome.published,
            "snapshot_id": outcome.snapshot_id,
            "row_counts": dg.MetadataValue.json(outcome.row_counts),
            "skipped_tables": dg.MetadataValue.json(outcome.skipped),
            "export": dg.MetadataValue.path(str(folder)),
        }
    )
