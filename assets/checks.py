"""Asset checks: every lake table validated against its pandera schema inside DuckDB, the check
views (derivations agree, dates in order, phrases at their offsets), and the warnings.

Every check is one query for its offending rows (factledger/validation.py) and reports them in the
one result shape of assets/_checks.py. A failing blocking check stops what depends on its asset
in the same run; its metadata carries the failing rows themselves, each input-table row with the
raw file and line it came from.
"""

from dataclasses import dataclass

import dagster as dg

from assets._checks import check_result
from factledger import checkmemo
from factledger.validation import CheckOutcome, compile_model, offending_rows, validate, with_lines
from orchestration.resources import LakeResource, RawFilesResource
from schemas import (
    Articles,
    DateOrder,
    FigureDerivations,
    Figures,
    OfficialFigures,
    RejectedInputs,
    SourceDimensions,
    SourceMeasures,
    SourcePeople,
    SourceReactions,
    Sources,
)
from schemas._base import LakeTable
from schemas.articles import QUARANTINED_ARTICLES_SQL
from schemas.claims import ClaimExtractions, ClaimPhrases, Claims, DateFindings, NameFindings

WARN = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class SchemaCheck:
    """A pandera model validated against its lake table (or its check view's rows), attached to `asset`."""

    asset: str
    model: type[LakeTable]
    name: str | None = None
    description: str | None = None
    additional_deps: tuple[str, ...] = ()

    @property
    def check_name(self) -> str:
        return self.name or f"{self.model.table_name()}_schema"


SCHEMA_CHECKS: list[SchemaCheck] = [
    SchemaCheck("articles", Articles),
    SchemaCheck("articles", RejectedInputs),
    SchemaCheck("sources", Sources),
    SchemaCheck("sources", SourceReactions),
    SchemaCheck("sources", SourcePeople),
    SchemaCheck("sources", SourceDimensions),
    SchemaCheck("sources", SourceMeasures),
    SchemaCheck("official_figures", OfficialFigures),
    SchemaCheck("figures", Figures),
    SchemaCheck(
        "figures",
        FigureDerivations,
        name="derivations_agree",
        description="Every stated cell that also follows from other cells agrees with that derivation at its "
        "own rounding and hedge: a total with the sum of its additive parts, a stated change with the "
        "change between the two periods' cells.",
    ),
    SchemaCheck(
        "sources",
        DateOrder,
        name="dates_coherent",
        description="A source's own dates are in order: request <= as-of <= document date <= every reaction. "
        "(An article's dates are checked by articles_dates_coherent, which quarantines the article instead.)",
    ),
    SchemaCheck("claims", Claims),
    SchemaCheck("claims", ClaimExtractions),
    SchemaCheck("claims", ClaimPhrases, name="phrases_at_offsets", additional_deps=("articles",),
                description="Every claim's offsets point at its phrase: body[start:end] of its article equals the stored phrase."),
    SchemaCheck("date_findings", DateFindings),
    SchemaCheck("name_findings", NameFindings),
]


def build_check(spec: SchemaCheck) -> dg.AssetChecksDefinition:
    description = spec.description or f"{spec.model.table_name()} conforms to its pandera schema: {(spec.model.__doc__ or '').strip().splitlines()[0]}"

    @dg.asset_check(
        asset=spec.asset,
        name=spec.check_name,
        blocking=True,
        description=description,
        additional_deps=list(spec.additional_deps),
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource, raw: RawFilesResource) -> dg.AssetCheckResult:
        key = f"{spec.asset}.{spec.check_name}"
        sql = compile_model(spec.model).failures_sql()
        with lake.connect() as con:
            states = checkmemo.input_states(con, sql)
            inputs = checkmemo.inputs_key(con, sql, states)
            before, since = checkmemo.recall(con, key, inputs, sql)
            if before is not None:
                rows_checked, run_id = before
                context.log.info(f"check {spec.check_name}: skipped, its inputs are unchanged since it passed "
                                 f"on {rows_checked} rows in run {run_id}")
                outcome = CheckOutcome(compile_model(spec.model).columns, (), 0, rows_checked)
                return check_result(outcome, reused_from_run=run_id)
            outcome = validate(con, spec.model, line_of=raw.line_of, since=since, states=states)
        with lake.transaction() as con:
            checkmemo.record(con, key, inputs, outcome.passed, outcome.rows_checked, context.run.run_id, sql, states)
        if outcome.passed and outcome.narrowed is not None:
            context.log.info(f"check {spec.check_name}: passed on {outcome.rows_checked} rows (evaluated again on the rows "
                             f"of the {outcome.narrowed} {spec.model._narrow_by} value(s) changed since its last pass)")
        elif outcome.passed:
            context.log.info(f"check {spec.check_name}: passed on {outcome.rows_checked} rows")
        else:
            context.log.error(f"check {spec.check_name}: FAILED on {outcome.failure_count} rows\n{outcome.markdown(10)}")
        return check_result(outcome)

    return _check


@dg.asset_check(
    asset="articles",
    additional_deps=["official_figures"],
    # blocking + WARN: never stops anything, but publishing waits for it and records its result.
    blocking=True,
    description="No input was refused. Warns (does not block): refused files and rows are listed in "
    "rejected_inputs and the rest of the run carries on.",
)
def no_rejected_inputs(lake: LakeResource) -> dg.AssetCheckResult:
    with lake.connect() as con:
        outcome = offending_rows(con, "SELECT stage, file, line, reason FROM rejected_inputs ORDER BY stage, file, line")
    return check_result(outcome, WARN)


@dg.asset_check(
    asset="articles",
    additional_deps=["sources"],
    blocking=True,  # + WARN: never stops anything, but publishing waits for it
    description="No article is published before the document it cites, or in the future. Warns (does not "
    "block): such an article is quarantined (left out of the published tables with its claims and "
    "findings) and listed here with its file and the line of its `published:` field.",
)
def articles_dates_coherent(lake: LakeResource, raw: RawFilesResource) -> dg.AssetCheckResult:
    with lake.connect() as con:
        outcome = offending_rows(con, f"""
            SELECT source_path AS file, NULL::BIGINT AS line,
                   'quarantined: ' || rule || ' (' || earlier || ' > ' || later || ')' AS reason
            FROM ({QUARANTINED_ARTICLES_SQL}) ORDER BY source_path, rule""")
    return check_result(with_lines(outcome, raw.line_of, field="published"), WARN)


schema_checks = [build_check(spec) for spec in SCHEMA_CHECKS]
