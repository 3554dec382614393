"""Report: the static HTML report of the current dataset version, written after it is published.

warehouse/exports/v<N>/report/ (and so exports/latest/report/): an overview, one page per article
and per source, a diff page. It only reads the lake, so it takes no lake slot; in-process it reads through the run's one
connection (opening another cost ~0.6 s a run).
"""

import dagster as dg

from assets._checks import outcome_of
from assets._lake import OWNER
from factledger import export
from factledger import versions
from factledger.report import build
from orchestration.resources import LakeResource

REPORT_GROUP = "publish"


def failing_rows(instance: dg.DagsterInstance, run_id: str | None) -> dict[str, str]:
    """`asset.check` -> the failing rows a check of run `run_id` listed in its metadata (markdown)."""
    if not run_id:
        return {}
    found = {}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        outcome = outcome_of(evaluation)
        if outcome is not None:
            found[f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"] = outcome.markdown()
    return found


@dg.asset(
    group_name=REPORT_GROUP,
    deps=["dataset_version"],
    kinds={"html"},
    owners=[OWNER],
    description="The static HTML report of the current dataset version: warehouse/exports/v<N>/report/index.html "
    "(overview: sources and key figures, verdicts per outlet, most-miscited figures, the run's checks, the "
    "version's code and input hashes), one page per article (claims highlighted by verdict, scorecard, "
    "ClaimReview JSON-LD), one per source, and a diff from the previous version. Opens from file://.",
)
def report(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    with lake.connect() as con:
        version = versions.resolve(con, None)
        run_id = con.execute("SELECT run_id FROM lake.main.dataset_versions WHERE version = ?", [version.version]).fetchone()[0]
        rows = failing_rows(context.instance, run_id) or None
        written = build.write_report(con, lake.warehouse, version, check_rows=rows, progress=context.log.info)
    verb = "wrote" if written.regenerated else "kept (unchanged)"
    context.log.info(f"{verb} the report of version {version.version}: {written.path} "
                     f"({written.pages} pages, {written.bytes / 1e6:.2f} MB, {written.seconds:.2f} s)")
    mirrored = export.mirror_to_object_storage(lake.warehouse, version.version)
    if mirrored:
        context.log.info(f"copied version {version.version}'s exports and report to {mirrored}")
    return dg.MaterializeResult(metadata={
        "summary": f"{verb} the report of version {version.version} ({written.pages} pages, {written.bytes / 1e6:.2f} MB, "
                   f"{written.seconds:.1f} s): {written.path}",
        "path": dg.MetadataValue.path(str(written.path)),
        "url": dg.MetadataValue.url(written.path.as_uri()),
        "version": version.version,
        "pages": written.pages,
        "bytes": written.bytes,
        "seconds": round(written.seconds, 3),
        "regenerated": written.regenerated,
    })
