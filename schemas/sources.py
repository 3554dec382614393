"""Official sources: their descriptors, dates, named people and stated figures."""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import CHANGE_KINDS, DIMS_DESCRIPTION, QUALIFIERS, SHA256_PATTERN, WHEN_UNNAMED, LakeTable, Timestamp


# Where a source table's row came from: its source's descriptor (raw/sources/<id>/source.yaml).
DESCRIPTOR_FILE_SQL = "(SELECT min(s.descriptor_path) FROM sources s WHERE s.source_id = t.source_id)"


class Sources(LakeTable):
    """One row per official source folder under raw/sources/."""

    _key = ("source_id",)
    _file_sql = "t.descriptor_path"

    source_id: dt.String = Field(description="The source's id (its folder name).")
    title: dt.String = Field(nullable=True, description="What the document is.")
    issuer: dt.String = Field(nullable=True, description="Agency that issued it.")
    sender: dt.String = Field(nullable=True, description="Person who signed or sent it.")
    recipient: dt.String = Field(nullable=True, description="Person or body it was addressed to.")
    url: dt.String = Field(nullable=True, description="Public address of the document or a reprint.")
    request_date: dt.Date = Field(nullable=True, description="Date of the request the document answers.")
    as_of_date: dt.Date = Field(nullable=True, description="Date its figures describe.")
    document_date: dt.Date = Field(description="Date the document was issued or sent.")
    descriptor_path: dt.String = Field(description="Path of source.yaml, relative to the raw folder.")
    sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 over the folder's descriptor and CSV bytes.")
    ingested_at: Timestamp = Field(description="When it was ingested (UTC).")

    class Config:
        name = "sources"


class SourceReactions(LakeTable):
    """Dated reactions to a source (someone posted, quoted or answered it): none can precede it."""

    _file_sql = DESCRIPTOR_FILE_SQL

    source_id: dt.String = Field(description="The source reacted to.")
    event: dt.String = Field(description="What happened.")
    date: dt.Date = Field(description="When it happened.")
    reported_by: dt.String = Field(nullable=True, description="Where we know it from.")

    class Config:
        name = "source_reactions"


class SourcePeople(LakeTable):
    """People named by a source, with the spelling the source uses."""

    _key = ("source_id", "name")
    _file_sql = DESCRIPTOR_FILE_SQL

    source_id: dt.String = Field(description="The source naming them.")
    name: dt.String = Field(description="The name as the source spells it.")
    role: dt.String = Field(description="Their role in the source (sender, recipient, ...).")

    class Config:
        name = "source_people"


class SourceDimensions(LakeTable):
    """The closed vocabulary of each dimension, as a source declares it, with the words (cues)
    that say an article's number is of that value. Any dimension names, per source."""

    _key = ("source_id", "dimension", "value")
    _file_sql = DESCRIPTOR_FILE_SQL

    source_id: dt.String = Field(description="The declaring source.")
    dimension: dt.String = Field(str_matches=r"^[A-Za-z0-9_.\-]+$", description="Dimension name, as the source declares it.")
    value: dt.String = Field(str_matches=r"^[A-Za-z0-9_.\-]+$", description="One allowed value.")
    is_total: dt.Boolean = Field(description="True for the value meaning 'every value' (e.g. all).")
    additive: dt.Boolean = Field(description="True when the non-total values partition the total.")
    label: dt.String = Field(description="The value in words, for explanations (the value's name read as words when none is declared).")
    cues: dt.String = Field(description="JSON list of cue patterns (case-insensitive regular expressions) naming this value.")
    when_unnamed: dt.String = Field(isin=list(WHEN_UNNAMED), description="How a claim naming no value of this dimension is read: at the total, or left open (any).")
    shared_from: dt.String = Field(description="Which other numbers of a sentence may lend a number their cue for this dimension: earlier, later.")
    not_cues: dt.String = Field(description="JSON list of look-alike patterns that are not cues of this dimension.")

    class Config:
        name = "source_dimensions"


class SourceMeasures(LakeTable):
    """The measures a source reports, with the dimensions each is broken down by."""

    _key = ("source_id", "measure")
    _file_sql = DESCRIPTOR_FILE_SQL

    source_id: dt.String = Field(description="The declaring source.")
    measure: dt.String = Field(str_matches=r"^[A-Za-z0-9_.\-]+$", description="Measure name, as the source declares it.")
    description: dt.String = Field(nullable=True, description="What it counts.")
    unit: dt.String = Field(description="Unit of its values: a count unit (people, deaths, beds; `count` when none is declared) or `percent`.")
    dimensions: dt.String = Field(description="Dimensions it is broken down by, comma-separated (empty when none).")
    cues: dt.String = Field(description="JSON list of cue patterns that say a number counts this measure.")
    not_cues: dt.String = Field(description="JSON list of look-alike patterns that are not cues of it.")
    implied_by: dt.String = Field(description="Dimensions whose cues alone say a number counts this measure, comma-separated.")
    priority: dt.Int64 = Field(description="Which measure wins when cues of two are equally near (higher wins).")
    change_of: dt.String = Field(nullable=True, description="The measure this one is a change of, between consecutive periods of the same length.")
    change: dt.String = Field(nullable=True, isin=list(CHANGE_KINDS), description="difference or percent, for a change measure.")

    class Config:
        name = "source_measures"


class OfficialFigures(LakeTable):
    """Each figure a source states, one per CSV row, in long form."""

    _key = ("figure_id",)
    _file_sql = "t.source_file"
    _line_sql = "t.source_line"

    figure_id: dt.String = Field(description="Stable id: source:measure[:dims][:period_start..period_end] (factledger/cells.py).")
    source_id: dt.String = Field(description="The stating source.")
    measure: dt.String = Field(description="What is counted (declared in the source's measures).")
    dims: dt.String = Field(nullable=True, description=DIMS_DESCRIPTION)
    period_start: dt.Date = Field(nullable=True, description="First day of the period a flow measure covers.")
    period_end: dt.Date = Field(nullable=True, description="Last day of that period.")
    value: dt.Float64 = Field(description="The value as stated: whole or decimal, negative for a decrease.")
    decimals: dt.Int64 = Field(ge=0, description="Decimal places as stated (the stated value's own rounding: '-3' has 0).")
    unit: dt.String = Field(description="The measure's unit (a count unit, or percent).")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="The source's own hedge on the value (e.g. more_than, at_least).")
    basis: dt.String = Field(nullable=True, description="How we know it: release text, letter chart as reported, secondary total.")
    reported_by: dt.String = Field(nullable=True, description="Pages that report it (provenance).")
    note: dt.String = Field(nullable=True, description="The CSV's note on the row, e.g. the words the document uses.")
    source_file: dt.String = Field(description="CSV it came from, relative to the raw folder.")
    source_line: dt.Int64 = Field(ge=2, description="Line of that CSV (1 is the header).")

    class Config:
        name = "official_figures"

    @pa.dataframe_check(name="period_start <= period_end")
    def _period(cls, data):
        t = data.table
        return t.period_start.isnull() | t.period_end.isnull() | (t.period_start <= t.period_end)
