"""Claims: number phrases of the articles reconciled against the figures, date mentions and name
variants checked against the sources, and the claims.csv export. Thin: the logic is in
factledger.claims (pure functions) and factledger.claims.store (lake reads and writes)."""

import dagster as dg

from assets._checks import check_result
from assets._lake import LAKE_WRITER, column_schema, row_count, table_spec
from factledger.claims import lexicon, store
from factledger.validation import offending_rows
from orchestration.resources import LakeResource
from schemas.claims import Claims, DateFindings, NameFindings

CLAIMS_GROUP = "claims"


@dg.multi_asset(
    specs=[
        table_spec(
            Claims,
            CLAIMS_GROUP,
            deps=("articles", "figures", "sources"),
            description="One row per number phrase in a present article: value, hedge, what it counts in the "
            "source's dimensions with the cue words that decided it, and its verdict against the cited "
            "source's figures (exact, rounded, wrong_scope, contradicted, not_in_source) with the matched "
            "figure and a one-line explanation. Incremental: only articles whose sha256 changed are "
            "re-extracted; verdicts are recomputed for all claims only when the figures change.",
        ),
        table_spec(
            DateFindings,
            CLAIMS_GROUP,
            deps=("articles", "sources"),
            description="Every date mention ('on Friday', 'Sept. 25', 'as of July 21') resolved against the "
            "article's publication date and checked against the source date its sentence ties it to; "
            "`flagged` marks a contradiction (the letter 'sent' on a day that is not its date).",
        ),
        table_spec(
            NameFindings,
            CLAIMS_GROUP,
            deps=("articles", "sources"),
            description="Variant spellings of the people a source names, with article, span and evidence.",
        ),
    ],
    pool=LAKE_WRITER["pool"],
)
def claims_tables(context: dg.AssetExecutionContext, lake: LakeResource):
    with lake.transaction() as con:
        result = store.sync_claims(con, lexicon.load(), progress=context.log.info)
        verdicts = dict(con.execute("SELECT verdict, count(*) FROM claims GROUP BY verdict ORDER BY verdict").fetchall())
        n_claims = row_count(con, Claims)
        n_dates, n_flagged = con.execute("SELECT count(*), count(*) FILTER (flagged) FROM date_findings").fetchone()
        n_names = row_count(con, NameFindings)
    summary = (
        f"{n_claims} claims ({', '.join(f'{v} {n}' for v, n in verdicts.items())}) from "
        f"{len(result.extracted)} (re)extracted article(s); {n_flagged} of {n_dates} date mentions flagged; "
        f"{n_names} name variant(s)"
    )
    context.log.info(f"claims: {summary}; {len(result.dropped)} dropped, "
                     f"{'all re-reconciled' if result.rereconciled else 'verdicts current'}")
    yield dg.MaterializeResult(asset_key="claims", metadata={
        "summary": summary, "dagster/row_count": n_claims, "verdicts": verdicts, "extracted": result.extracted, "dropped": result.dropped,
        "rereconciled": result.rereconciled, "sources_hash": result.sources_hash,
    })
    yield dg.MaterializeResult(asset_key="date_findings", metadata={"dagster/row_count": n_dates, "flagged": n_flagged})
    yield dg.MaterializeResult(asset_key="name_findings", metadata={"dagster/row_count": n_names})


@dg.asset(
    group_name=CLAIMS_GROUP,
    deps=["claims"],
    kinds={"csv"},
    owners=LAKE_WRITER["owners"],
    metadata={"dagster/column_schema": column_schema(Claims, only=store.EXPORT_COLUMNS)},
    description=f"The claims table as CSV at <warehouse>/{store.EXPORT_RELATIVE_PATH.as_posix()}, rewritten on every "
    "run, with at least the columns ../shared/eval/score.py reads (article_id, start, end, value, qualifier, "
    "verdict, figure_value). See docs/claims.md.",
)
def claims_export(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    with lake.connect() as con:
        path = store.export_claims(con, lake.warehouse)
        n = row_count(con, Claims)
    context.log.info(f"claims export: {n} rows -> {path}")
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "path": dg.MetadataValue.path(str(path))})


@dg.asset_check(
    asset="date_findings",
    description="No article contradicts a source's dates (a letter 'sent' on a day that is not its date). "
    "Warns, does not block: flagged mentions are listed.",
)
def no_flagged_dates(lake: LakeResource) -> dg.AssetCheckResult:
    with lake.connect() as con:
        outcome = offending_rows(con, """SELECT article_id, phrase, event, source_date, explanation
                                         FROM date_findings WHERE flagged ORDER BY article_id, start""")
    return check_result(outcome, dg.AssetCheckSeverity.WARN)


@dg.asset_check(
    asset="name_findings",
    description="No article misspells a person the source names. Warns, does not block: variants are listed with their span.",
)
def no_name_variants(lake: LakeResource) -> dg.AssetCheckResult:
    with lake.connect() as con:
        outcome = offending_rows(con, """SELECT article_id, phrase, person, start, evidence
                                         FROM name_findings ORDER BY article_id, start""")
    return check_result(outcome, dg.AssetCheckSeverity.WARN)

