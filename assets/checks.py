"""Asset checks: every lake table validated against its pandera schema inside DuckDB, plus the
cross-row consistency views (totals add up, dates in order).

A failing blocking check stops what depends on its asset in the same run; its metadata carries
the failing rows themselves.
"""

from dataclasses import dataclass

import dagster as dg

from factledger.articles import field_line
from factledger.consistency import DATE_ORDER_SQL, QUARANTINED_ARTICLES_SQL
from factledger.validation import Validation, failures_markdown, validate
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
from schemas.claims import CLAIM_PHRASES_SQL, ClaimExtractions, ClaimPhrases, Claims, DateFindings, NameFindings


@dataclass(frozen=True)
class SchemaCheck:
    """A pandera model validated against a lake table (or the rows of `sql`), attached to `asset`."""

    asset: str
    model: type[LakeTable]
    name: str | None = None
    sql: str | None = None
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
        sql=DATE_ORDER_SQL,
        description="A source's own dates are in order: request <= as-of <= document date <= every reaction. "
        "(An article's dates are checked by articles_dates_coherent, which quarantines the article instead.)",
    ),
    SchemaCheck("claims", Claims),
    SchemaCheck("claims", ClaimExtractions),
    SchemaCheck("claims", ClaimPhrases, name="phrases_at_offsets", sql=CLAIM_PHRASES_SQL, additional_deps=("articles",),
                description="Every claim's offsets point at its phrase: body[start:end] of its article equals the stored phrase."),
    SchemaCheck("date_findings", DateFindings),
    SchemaCheck("name_findings", NameFindings),
]


def check_result(result: Validation) -> dg.AssetCheckResult:
    metadata = {"rows_checked": result.rows_checked, "failure_count": result.failure_count}
    if not result.passed:
        metadata["failing_checks"] = result.failing_checks()
        metadata["failing_rows"] = dg.MetadataValue.md(failures_markdown(result))
        metadata["failing_rows_json"] = dg.MetadataValue.json(result.failures.head(200).to_dict("records"))
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None if result.passed else f"{result.failure_count} failing rows: {', '.join(result.failing_checks())}",
    )


def build_check(spec: SchemaCheck) -> dg.AssetChecksDefinition:
    description = spec.description or f"{spec.model.table_name()} conforms to its pandera schema: {(spec.model.__doc__ or '').strip().splitlines()[0]}"

    @dg.asset_check(
        asset=spec.asset,
        name=spec.check_name,
        blocking=True,
        description=description,
        additional_deps=list(spec.additional_deps),
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        with lake.connect() as con:
            result = validate(con, spec.model, spec.sql)
        if result.passed:
            context.log.info(f"check {spec.check_name}: passed on {result.rows_checked} rows")
        else:
            context.log.error(f"check {spec.check_name}: FAILED on {result.failure_count} rows\n{failures_markdown(result, 10)}")
        return check_result(result)

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
        rows = con.execute("SELECT stage, file, line, reason FROM rejected_inputs ORDER BY stage, file, line").fetchall()
    return listed_rows_warning(("stage", "file", "line", "reason"), rows)


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
        rows = con.execute(f"""SELECT source_path, rule, CAST(earlier AS VARCHAR), CAST(later AS VARCHAR)
                               FROM ({QUARANTINED_ARTICLES_SQL}) ORDER BY source_path, rule""").fetchall()
    listed = [(path, field_line(raw.root / path, "published"), f"quarantined: {rule} ({earlier} > {later})")
              for path, rule, earlier, later in rows]
    return listed_rows_warning(("file", "line", "reason"), listed)


def listed_rows_warning(columns: tuple[str, ...], rows: list[tuple]) -> dg.AssetCheckResult:
    """A WARN result that passes when `rows` is empty, and otherwise shows them all as a table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join("" if v is None else str(v).replace("|", "/") for v in row) + " |" for row in rows]
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failure_count": len(rows), "rows": dg.MetadataValue.md("\n".join(lines))},
    )


schema_checks = [build_check(spec) for spec in SCHEMA_CHECKS]
