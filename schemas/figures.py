"""Figures: stated and derived, and the views that prove they add up and their dates cohere."""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import QUALIFIERS, LakeTable


class Figures(LakeTable):
    """Every stated figure plus every cell that follows from stated ones by arithmetic over an
    additive dimension (detained = all - non_detained; all = convicted + pending)."""

    _key = ("figure_id",)

    figure_id: dt.String = Field(description="Stable id: source:measure[:offense/custody/criminal_status][:period].")
    source_id: dt.String = Field(description="The source the figure comes from.")
    measure: dt.String = Field(description="What is counted.")
    offense: dt.String = Field(nullable=True, description="Offense category (all = every offense).")
    custody: dt.String = Field(nullable=True, description="detained, non_detained, or all.")
    criminal_status: dt.String = Field(nullable=True, description="convicted, pending, or all.")
    period_start: dt.Date = Field(nullable=True, description="First day of a flow measure's period.")
    period_end: dt.Date = Field(nullable=True, description="Last day of that period.")
    as_of_date: dt.Date = Field(nullable=True, description="Date a stock measure describes (the source's as-of date).")
    value: dt.Int64 = Field(ge=0, description="The count, stated or derived.")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="The source's hedge on a stated value; none for derived ones.")
    derived: dt.Boolean = Field(description="True when computed from other figures rather than stated.")
    formula: dt.String = Field(nullable=True, description="For derived cells, the arithmetic with its operands' values.")
    derived_from: dt.String = Field(nullable=True, description="For derived cells, the figure_ids used, comma-separated.")
    basis: dt.String = Field(nullable=True, description="How the stated value is known; `derived` for derived cells.")
    reported_by: dt.String = Field(nullable=True, description="Pages that report a stated value.")

    class Config:
        name = "figures"

    @pa.dataframe_check(name="derived cells say how")
    def _formula(cls, data):
        t = data.table
        return ~t.derived | (t.formula.notnull() & t.derived_from.notnull())


class FigureTotals(LakeTable):
    """Check view: each total cell whose parts along an additive dimension are all known, with the
    sum of those parts. A row where parts_sum differs from total_value is an inconsistency."""

    total_figure_id: dt.String = Field(description="The total cell.")
    dimension: dt.String = Field(description="The additive dimension the parts split.")
    total_value: dt.Int64 = Field(description="Value of the total cell.")
    parts_sum: dt.Int64 = Field(description="Sum of the part cells.")
    part_ids: dt.String = Field(description="The part cells' figure_ids, comma-separated.")
    parts_stated: dt.Boolean = Field(description="True when every part and the total are stated, none derived.")

    class Config:
        name = "figure_totals"

    @pa.dataframe_check(name="parts add up to their total")
    def _adds_up(cls, data):
        t = data.table
        return t.parts_sum == t.total_value


class DateOrder(LakeTable):
    """Check view: every pair of dates that must be ordered (request <= as-of <= document <=
    reaction; document <= article publication <= today), one row per pair."""

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
