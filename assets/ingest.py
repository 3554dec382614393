"""Ingest: articles and official sources from raw/ into the lake, and the derived figures."""

import dagster as dg

from assets._lake import LAKE_WRITER, row_count, table_metadata, table_spec
from factledger import figures as figure_logic
from factledger import ingest
from orchestration.resources import LakeResource, RawFilesResource
from schemas import Articles, Figures, OfficialFigures, RejectedInputs, Sources

INGEST_GROUP = "ingest"


def _log_rejections(context, rejections) -> None:
    for rejection in rejections:
        context.log.warning(f"rejected {rejection}")


@dg.asset(
    group_name=INGEST_GROUP,
    metadata=table_metadata(Articles),
    description="One row per article file under raw/articles/: front matter, body, SHA-256 of the raw "
    "bytes. Incremental: unchanged files are not re-parsed, changed ones replace their row, removed "
    "ones are retired. Refused files go to rejected_inputs.",
    **LAKE_WRITER,
)
def articles(context: dg.AssetExecutionContext, raw: RawFilesResource, lake: LakeResource) -> dg.MaterializeResult:
    with lake.transaction() as con:
        sync = ingest.sync_articles(con, raw.root, progress=context.log.info)
        present = row_count(con, Articles, "retired_at IS NULL")
        total = row_count(con, Articles)
    _log_rejections(context, sync.rejections)
    context.log.info(
        f"articles: {len(sync.added)} new, {len(sync.replaced)} changed, {sync.unchanged} unchanged, "
        f"{len(sync.retired)} retired, {len(sync.rejections)} rejected; {present} present"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "present": present,
            "added": sync.added,
            "replaced": sync.replaced,
            "retired": sync.retired,
            "unchanged": sync.unchanged,
            "rejected": [str(r) for r in sync.rejections],
        }
    )


@dg.multi_asset(
    specs=[
        table_spec(
            Sources,
            INGEST_GROUP,
            "One row per official source folder under raw/sources/ (its descriptor: issuer, "
            "sender, recipient, dates), with its reactions, named people, dimension vocabularies and "
            "measures in source_reactions, source_people, source_dimensions and source_measures.",
        ),
        table_spec(
            OfficialFigures,
            INGEST_GROUP,
            "Every figure a source states, one per CSV row, long form, with basis and "
            "reported_by as provenance. Bad rows go to rejected_inputs, never to zero.",
        ),
    ],
    pool=LAKE_WRITER["pool"],
)
def official_sources(context: dg.AssetExecutionContext, raw: RawFilesResource, lake: LakeResource):
    with lake.transaction() as con:
        parsed = ingest.sync_sources(con, raw.root)
        n_sources = row_count(con, Sources)
        n_figures = row_count(con, OfficialFigures)
        n_rejected = row_count(con, RejectedInputs, "stage = 'sources'")
    _log_rejections(context, [r for p in parsed for r in p.rejections])
    context.log.info(f"sources: {n_sources} loaded with {n_figures} stated figures; {n_rejected} rejected inputs")
    yield dg.MaterializeResult(asset_key="sources", metadata={"dagster/row_count": n_sources})
    yield dg.MaterializeResult(
        asset_key="official_figures", metadata={"dagster/row_count": n_figures, "rejected": n_rejected}
    )


@dg.asset(
    group_name=INGEST_GROUP,
    deps=["official_figures", "sources"],
    metadata=table_metadata(Figures),
    description="Stated figures plus every cell that follows from them by arithmetic: totals over an "
    "additive dimension, changes between consecutive periods (change_of measures), shares of a total; "
    "each derived cell with its formula and the figure_ids it came from. Also writes figure_dimensions "
    "(long form) and figure_derivations (stated cells beside their derivation).",
    **LAKE_WRITER,
)
def figures(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    with lake.connect() as con:
        before = figure_logic.build_state(con)
        built_in = figure_logic.built_before(con, before)
        if built_in is not None:
            counts = figure_logic.counts(con)
    if built_in is not None:
        context.log.info(f"figures: skipped, the stated figures and sources ({', '.join(figure_logic.INPUTS)}) are unchanged "
                         f"since run {built_in} derived them; {counts['stated']} stated, {counts['derived']} derived")
    else:
        with lake.transaction() as con:
            counts = figure_logic.rebuild_figures(con)
        with lake.transaction() as con:
            figure_logic.remember(con, before, context.run.run_id)
        written = ", ".join(counts["changed"]) or "nothing: the derived cells are unchanged"
        context.log.info(f"figures: {counts['stated']} stated, {counts['derived']} derived in {counts['rounds']} rounds; rewritten: {written}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": counts["stated"] + counts["derived"], "stated": counts["stated"], "derived": counts["derived"],
                  "skipped_as_built_in_run": built_in}
    )
