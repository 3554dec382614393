"""Official sources: their descriptors, dates, named people and stated figures."""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import Timestamp, QUALIFIERS, SHA256_PATTERN, LakeTable


class Sources(LakeTable):
    """One row per official source folder under raw/sources/."""

    _key = ("source_id",)

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

    source_id: dt.String = Field(description="The source reacted to.")
    event: dt.String = Field(description="What happened.")
    date: dt.Date = Field(description="When it happened.")
    reported_by: dt.String = Field(nullable=True, description="Where we know it from.")

    class Config:
        name = "source_reactions"


class SourcePeople(LakeTable):
    """People named by a source, with the spelling the source uses."""

    _key = ("source_id", "name")

    source_id: dt.String = Field(description="The source naming them.")
    name: dt.String = Field(description="The name as the source spells it.")
    role: dt.String = Field(description="Their role in the source (sender, recipient, ...).")

    class Config:
        name = "source_people"


class SourceDimensions(LakeTable):
    """The closed vocabulary of each dimension, as a source declares it."""

    _key = ("source_id", "dimension", "value")

    source_id: dt.String = Field(description="The declaring source.")
    dimension: dt.String = Field(isin=["offense", "custody", "criminal_status"], description="Dimension name.")
    value: dt.String = Field(description="One allowed value.")
    is_total: dt.Boolean = Field(description="True for the value meaning 'every value' (e.g. all).")
    additive: dt.Boolean = Field(description="True when the non-total values partition the total.")

    class Config:
        name = "source_dimensions"


class SourceMeasures(LakeTable):
    """The measures a source reports, with the dimensions each is broken down by."""

    _key = ("source_id", "measure")

    source_id: dt.String = Field(description="The declaring source.")
    measure: dt.String = Field(description="Measure name, e.g. noncitizens_on_docket.")
    description: dt.String = Field(nullable=True, description="What it counts.")
    unit: dt.String = Field(nullable=True, description="Unit of its values (people, beds, ...).")
    dimensions: dt.String = Field(description="Dimensions it is broken down by, comma-separated (empty when none).")

    class Config:
        name = "source_measures"


class OfficialFigures(LakeTable):
    """Each figure a source states, one per CSV row, in long form."""

    _key = ("figure_id",)

    figure_id: dt.String = Field(description="Stable id: source:measure[:offense/custody/criminal_status][:period].")
    source_id: dt.String = Field(description="The stating source.")
    measure: dt.String = Field(description="What is counted (declared in the source's measures).")
    offense: dt.String = Field(nullable=True, description="Offense category; `all` = every offense; null when the measure has no such dimension.")
    custody: dt.String = Field(nullable=True, description="detained, non_detained, or all (ICE's national docket).")
    criminal_status: dt.String = Field(nullable=True, description="convicted, pending, or all.")
    period_start: dt.Date = Field(nullable=True, description="First day of the period a flow measure covers.")
    period_end: dt.Date = Field(nullable=True, description="Last day of that period.")
    value: dt.Int64 = Field(ge=0, description="The stated count.")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="The source's own hedge on the value (e.g. more_than).")
    basis: dt.String = Field(nullable=True, description="How we know it: letter text, letter chart as reported, secondary total.")
    reported_by: dt.String = Field(nullable=True, description="Pages that report it (provenance).")
    source_file: dt.String = Field(description="CSV it came from, relative to the raw folder.")
    source_line: dt.Int64 = Field(ge=2, description="Line of that CSV (1 is the header).")

    class Config:
        name = "official_figures"

    @pa.dataframe_check(name="period_start <= period_end")
    def _period(cls, data):
        t = data.table
        return t.period_start.isnull() | t.period_end.isnull() | (t.period_start <= t.period_end)
