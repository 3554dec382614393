"""Figures: stated and derived, in wide and long form; the derivations of stated cells; date order."""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import DIMS_DESCRIPTION, QUALIFIERS, LakeTable
from schemas.sources import DESCRIPTOR_FILE_SQL

# A stated cell came from one row of a source's CSV (derived cells have none).
STATED_FILE_SQL = "(SELECT min(o.source_file) FROM official_figures o WHERE o.figure_id = t.figure_id)"
STATED_LINE_SQL = "(SELECT min(o.source_line) FROM official_figures o WHERE o.figure_id = t.figure_id)"


class Figures(LakeTable):
    """Every stated figure plus every cell that follows from stated ones by arithmetic: totals over
    additive dimensions, changes between consecutive periods, shares of a total. Derived cells say
    how (formula, derived_from). A cell is identified by source, measure, dims and period."""

    _key = ("figure_id",)
    _file_sql = STATED_FILE_SQL
    _line_sql = STATED_LINE_SQL

    figure_id: dt.String = Field(description="Stable id: source:measure[:dims][:period_start..period_end] (factledger/cells.py).")
    source_id: dt.String = Field(description="The source the figure comes from.")
    measure: dt.String = Field(description="What is counted; `<measure>_share_of_<dimension>` for a derived share of a total.")
    dims: dt.String = Field(nullable=True, description=DIMS_DESCRIPTION)
    period_start: dt.Date = Field(nullable=True, description="First day of a flow measure's period.")
    period_end: dt.Date = Field(nullable=True, description="Last day of that period.")
    as_of_date: dt.Date = Field(nullable=True, description="Date a stock measure describes (the source's as-of date).")
    value: dt.Float64 = Field(description="The value, stated or derived; negative for a decrease.")
    decimals: dt.Int64 = Field(nullable=True, ge=0, description="Decimal places as stated; null for derived cells (exact arithmetic).")
    unit: dt.String = Field(description="A count unit (people, deaths, ...) or percent.")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="The source's hedge on a stated value; none for derived ones.")
    derived: dt.Boolean = Field(description="True when computed from other figures rather than stated.")
    formula: dt.String = Field(nullable=True, description="For derived cells, the arithmetic with its operands' ids and values.")
    derived_from: dt.String = Field(nullable=True, description="For derived cells, the figure_ids used, comma-separated.")
    basis: dt.String = Field(nullable=True, description="How the stated value is known; `derived` for derived cells.")
    reported_by: dt.String = Field(nullable=True, description="Pages that report a stated value.")

    class Config:
        name = "figures"

    @pa.dataframe_check(name="derived cells say how")
    def _formula(cls, data):
        t = data.table
        return ~t.derived | (t.formula.notnull() & t.derived_from.notnull())

    @pa.dataframe_check(name="values are finite")
    def _finite(cls, data):
        t = data.table
        return t.value.notnull() & (t.value.abs() < 1e15)


class FigureDimensions(LakeTable):
    """The figures in long form: one row per figure and dimension it is broken down by, for
    analysts who filter or join on a dimension (`WHERE dimension = 'drug' AND value = 'cocaine'`)."""

    _key = ("figure_id", "dimension")

    figure_id: dt.String = Field(description="The figure.")
    source_id: dt.String = Field(description="Its source.")
    dimension: dt.String = Field(description="A dimension the figure's measure is broken down by.")
    value: dt.String = Field(description="The figure's value of that dimension.")

    class Config:
        name = "figure_dimensions"


class FigureDerivations(LakeTable):
    """Each stated cell that also follows from other cells (a total from its parts, a change from
    two periods' counts), beside that derivation. A stated cell must agree with it at its own
    rounding and hedge: a stated -3 percent change agrees with a derived -3.14, a stated -5 does not."""

    _key = ("figure_id", "derived_from")
    _shown = ("figure_id", "rule", "stated_value", "derived_value", "formula")
    _file_sql = STATED_FILE_SQL
    _line_sql = STATED_LINE_SQL

    figure_id: dt.String = Field(description="The stated cell.")
    source_id: dt.String = Field(description="Its source.")
    rule: dt.String = Field(isin=["total", "change"], description="How it can be derived: total (sum of additive parts) or change (between consecutive periods).")
    stated_value: dt.Float64 = Field(description="The value the source states.")
    decimals: dt.Int64 = Field(nullable=True, description="Its decimal places as stated (its rounding).")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="Its hedge as stated.")
    derived_value: dt.Float64 = Field(description="The value the derivation gives.")
    formula: dt.String = Field(description="The derivation's arithmetic.")
    derived_from: dt.String = Field(description="The figure_ids it used.")
    agrees: dt.Boolean = Field(description="Whether the stated value, at its rounding and hedge, is consistent with the derived one.")

    class Config:
        name = "figure_derivations"

    @pa.dataframe_check(name="stated cells agree with their derivation")
    def _agree(cls, data):
        return data.table.agrees


class DateOrder(LakeTable):
    """Check view: every pair of a source's dates that must be ordered (request <= as-of <=
    document <= every reaction), one row per pair. A source that breaks them is not fit to check
    anything against, so the check blocks publishing. (An article's dates are checked by
    ARTICLE_DATE_ORDER_SQL in schemas/articles.py, which quarantines the article instead.)"""

    _rows_sql = """
        SELECT source_id AS subject, 'request_date <= as_of_date' AS rule, request_date AS earlier, as_of_date AS later
        FROM sources WHERE request_date IS NOT NULL AND as_of_date IS NOT NULL
        UNION ALL
        SELECT source_id, 'request_date <= document_date', request_date, document_date
        FROM sources WHERE request_date IS NOT NULL
        UNION ALL
        SELECT source_id, 'as_of_date <= document_date', as_of_date, document_date
        FROM sources WHERE as_of_date IS NOT NULL
        UNION ALL
        SELECT r.source_id, 'document_date <= reaction: ' || r.event, s.document_date, r.date
        FROM source_reactions r JOIN sources s USING (source_id)"""
    _file_sql = DESCRIPTOR_FILE_SQL.replace("t.source_id", "t.subject")

    subject: dt.String = Field(description="Source or article the dates belong to.")
    rule: dt.String = Field(description="The ordering rule, e.g. 'as_of_date <= document_date'.")
    earlier: dt.Date = Field(description="The date that must come first.")
    later: dt.Date = Field(description="The date that must not precede it.")

    class Config:
        name = "date_order"

    @pa.dataframe_check(name="dates in order")
    def _ordered(cls, data):
        t = data.table
        return t.earlier <= t.later
