"""Claims: number phrases of the articles with their scope and verdict, the date mentions and name
variants checked against the sources, and the check view proving offsets point at the phrase.

Verdict columns live on `claims` itself rather than in a separate reconciliation table: a claim
has exactly one verdict at a time, the export is one table, and the "exact means value equals
figure" rule is a row check. `figures_fingerprint` says which figures a verdict was computed from;
when the figures change, the verdict columns are recomputed from the stored extraction columns
without re-reading the articles.
"""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import QUALIFIERS, SHA256_PATTERN, LakeTable, Timestamp

VERDICTS = ("exact", "rounded", "wrong_scope", "contradicted", "not_in_source")
ASSERTIVE_VERDICTS = ("exact", "rounded", "wrong_scope", "contradicted")
KINDS = ("count", "percent", "money", "duration", "ratio", "other")
BASES = ("before", "after", "opening", "sentence", "unnamed", "unlisted", "only changing measure", "previous sentence")
DIRECTIONS = ("up", "down", "either")
DATE_GRANULARITIES = ("day", "week", "month", "year", "period")


def _basis_ok(column):
    """A decision basis: before / after / opening / sentence / unnamed, or `earlier mention at <offset>` /
    `compared with mention at <offset>` (taken from another number)."""
    return (column.isin(list(BASES)) | column.startswith("earlier mention at ")
            | column.startswith("compared with mention at ") | column.startswith("paired with mention at ") | column.isnull())


class Claims(LakeTable):
    """One row per number phrase in a present article's body: what it says (value, hedge, kind),
    what it counts in the source's dimensions and how each was decided (cue words and basis), and
    its verdict against the cited source's figures. Exported to <warehouse>/reports/claims.csv."""

    _key = ("claim_id",)
    _narrow_by = "article_id"

    claim_id: dt.String = Field(description="article_id:start; the claim's key.")
    article_id: dt.String = Field(description="The article the phrase is in.")
    article_sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the article file the claim was extracted from.")
    start: dt.Int64 = Field(ge=0, description="Character offset of the phrase in the article body (after front matter).")
    end: dt.Int64 = Field(ge=1, description="Character offset just after the phrase: body[start:end] is the phrase.")
    phrase: dt.String = Field(str_length={"min_value": 1}, description="The number phrase as written, hedge included ('more than 425,000').")
    sentence_start: dt.Int64 = Field(ge=0, description="Character offset of the phrase's sentence in the body.")
    sentence: dt.String = Field(description="The sentence the phrase is in, as written.")
    value: dt.Float64 = Field(ge=0, description="The number the phrase states (425000 for 'more than 425,000', 7500000 for '7.5 million').")
    qualifier: dt.String = Field(isin=list(QUALIFIERS), description="The hedge: none, more_than, at_least, nearly, about, less_than, at_most.")
    qualifier_cue: dt.String = Field(nullable=True, description="The hedge words that decided the qualifier ('more than', '-plus').")
    kind: dt.String = Field(isin=list(KINDS), description="count (reconciled), or percent/money/duration/ratio/other (a number of something else; never reconciled).")
    kind_cue: dt.String = Field(nullable=True, description="The unit words that decided a non-count kind ('percentage points', 'officials').")
    rounding_unit: dt.Float64 = Field(gt=0, description="Size of the last significant digit as written (1000 for '435,000').")
    significant_digits: dt.Int64 = Field(ge=1, description="Significant digits as written (a one-digit round number gets half a unit of slack).")
    measure: dt.String = Field(nullable=True, description="What the number counts, as a measure of the source (null: nothing the source measures).")
    measure_cue: dt.String = Field(nullable=True, description="The words that decided the measure.")
    measure_basis: dt.String = Field(nullable=True, description="Where they were: after (the number), opening (of the sentence), earlier mention at <offset> or compared with mention at <offset> (taken from that number).")
    dims: dt.String = Field(description="The dimension values the text names for the number, as a cell key (name=value, sorted; see factledger/cells.py); empty when it names none.")
    scope: dt.String = Field(description="JSON: per dimension of the cited sources, the value decided (null: not named), the cue words and where they were (before, after, opening, sentence, unnamed, earlier mention at <offset>).")
    direction: dt.String = Field(nullable=True, isin=list(DIRECTIONS), description="up or down when the number is the size of a change ('fell 3%', '3,098 fewer'), either when its words leave the direction open ('a difference of 3,486'); null otherwise.")
    direction_cue: dt.String = Field(nullable=True, description="The word that gave the direction.")
    date_first: dt.Date = Field(nullable=True, description="First day of the as-of date or period the text gives the number.")
    date_last: dt.Date = Field(nullable=True, description="Last day of it.")
    date_phrase: dt.String = Field(nullable=True, description="The date words ('as of July 21', 'Fiscal Year 2024').")
    verdict: dt.String = Field(isin=list(VERDICTS), description="exact, rounded, wrong_scope, contradicted or not_in_source (see docs/claims.md).")
    figure_id: dt.String = Field(nullable=True, description="The figure the claim was matched to (null for not_in_source).")
    figure_value: dt.Float64 = Field(nullable=True, description="That figure's value.")
    relative_difference: dt.Float64 = Field(nullable=True, description="(value - figure_value) / figure_value.")
    explanation: dt.String = Field(str_length={"min_value": 1}, description="One line a journalist can read: why this verdict.")
    figures_fingerprint: dt.String = Field(description="Hash of the figures and source facts the verdict was computed from.")

    class Config:
        name = "claims"

    @pa.dataframe_check(name="phrase spans its offsets")
    def _span(cls, data):
        t = data.table
        return (t.end > t.start) & ((t.end - t.start) == t.phrase.length()) & (t.start >= t.sentence_start)

    @pa.dataframe_check(name="an exact verdict has value = figure value (its size, for a change)")
    def _exact(cls, data):
        t = data.table
        return (t.verdict != "exact") | (t.figure_value.notnull() & (t.value == t.figure_value.abs()))

    @pa.dataframe_check(name="an assertive verdict names its figure; not_in_source names none")
    def _figure_named(cls, data):
        t = data.table
        assertive = t.verdict.isin(list(ASSERTIVE_VERDICTS))
        named = t.figure_id.notnull() & t.figure_value.notnull()
        return (assertive & named) | (~assertive & t.figure_id.isnull() & t.figure_value.isnull())

    @pa.dataframe_check(name="only counts and percentages are reconciled")
    def _counts(cls, data):
        t = data.table
        return t.kind.isin(["count", "percent"]) | (t.verdict == "not_in_source")

    @pa.dataframe_check(name="decision bases are known")
    def _bases(cls, data):
        return _basis_ok(data.table.measure_basis)


class ClaimPhrases(LakeTable):
    """Check view: each claim beside the slice of its article's body at its offsets."""

    _rows_sql = """
        SELECT c.claim_id, c.article_id, c.phrase, substring(a.body, c.start + 1, c."end" - c.start) AS body_slice
        FROM claims c LEFT JOIN articles a ON a.article_id = c.article_id AND a.retired_at IS NULL"""
    _narrow_by = "article_id"  # the view joins its two tables on it

    claim_id: dt.String = Field(description="The claim.")
    article_id: dt.String = Field(description="Its article.")
    phrase: dt.String = Field(description="The stored phrase.")
    body_slice: dt.String = Field(nullable=True, description="body[start:end] of the claim's article.")

    class Config:
        name = "claim_phrases"

    @pa.dataframe_check(name="body[start:end] equals the stored phrase")
    def _same(cls, data):
        t = data.table
        return t.body_slice.notnull() & (t.body_slice == t.phrase)




class DateFindings(LakeTable):
    """One row per date mention in a present article ('on Friday', 'Sept. 25', 'as of July 21'),
    resolved against the publication date and checked against the source date its sentence ties it
    to. `flagged` marks a mention that contradicts the source (the letter 'sent' on a wrong day)."""

    _key = ("article_id", "start")
    _narrow_by = "article_id"

    article_id: dt.String = Field(description="The article.")
    start: dt.Int64 = Field(ge=0, description="Character offset of the mention in the body.")
    end: dt.Int64 = Field(ge=1, description="Offset just after it.")
    phrase: dt.String = Field(description="The mention as written.")
    sentence: dt.String = Field(description="Its sentence.")
    published: dt.Date = Field(nullable=True, description="The article's publication date it was read from.")
    resolved_first: dt.Date = Field(nullable=True, description="First day the mention can mean (null: unresolved).")
    resolved_last: dt.Date = Field(nullable=True, description="Last day it can mean.")
    granularity: dt.String = Field(nullable=True, isin=list(DATE_GRANULARITIES), description="day, week, month, year or period.")
    marker: dt.String = Field(nullable=True, description="The word before it that says how it dates things ('as of', 'in', 'since').")
    events: dt.String = Field(nullable=True, description="Source dates its sentence ties it to (document_date, as_of_date, request_date, reaction:<word>), nearest first, comma-separated.")
    event_cues: dt.String = Field(nullable=True, description="The words that tied it ('sent', 'as of', 'posted').")
    refers_to_source: dt.Boolean = Field(description="Whether the sentence refers to the source (letter, data, figures...).")
    dates_claims: dt.Boolean = Field(description="Whether it gives numbers near it their as-of date or period.")
    source_id: dt.String = Field(nullable=True, description="The cited source it was checked against.")
    event: dt.String = Field(nullable=True, description="The source date it was compared with.")
    source_date: dt.Date = Field(nullable=True, description="That date.")
    consistent: dt.Boolean = Field(nullable=True, description="True/false when checked; null when not checked.")
    flagged: dt.Boolean = Field(description="True when the article contradicts the source's date.")
    explanation: dt.String = Field(description="Why it is (not) flagged.")
    figures_fingerprint: dt.String = Field(description="Hash of the source facts it was checked against.")

    class Config:
        name = "date_findings"

    @pa.dataframe_check(name="resolved ranges are ordered")
    def _ordered(cls, data):
        t = data.table
        return t.resolved_first.isnull() | (t.resolved_first <= t.resolved_last)

    @pa.dataframe_check(name="a flag is an inconsistency")
    def _flag(cls, data):
        t = data.table
        return ~t.flagged | (t.consistent.notnull() & ~t.consistent.fill_null(True))


class NameFindings(LakeTable):
    """One row per variant spelling of a person the source names ('Tony Gonzalez' for the letter's
    Gonzales), with the article, span and the evidence that it is that person."""

    _key = ("article_id", "start", "source_id")
    _narrow_by = "article_id"

    article_id: dt.String = Field(description="The article.")
    start: dt.Int64 = Field(ge=0, description="Character offset of the name in the body.")
    end: dt.Int64 = Field(ge=1, description="Offset just after it.")
    phrase: dt.String = Field(description="The name as written (first name included when it is the evidence).")
    variant: dt.String = Field(description="The misspelt word.")
    source_id: dt.String = Field(description="The source naming the person.")
    person: dt.String = Field(description="The person as the source spells them.")
    role: dt.String = Field(nullable=True, description="Their role in the source (recipient, sender).")
    expected: dt.String = Field(description="The source's spelling of the misspelt word.")
    edit_distance: dt.Int64 = Field(ge=1, description="Levenshtein distance between variant and expected.")
    evidence: dt.String = Field(description="Why it is that person: first name, title, or the same spelling earlier.")
    figures_fingerprint: dt.String = Field(description="Hash of the source facts (people) it was checked against.")

    class Config:
        name = "name_findings"

    @pa.dataframe_check(name="a variant differs from the source's spelling")
    def _differs(cls, data):
        t = data.table
        return t.variant != t.expected


class ClaimExtractions(LakeTable):
    """Bookkeeping: which version (sha256) of each present article its claims were extracted from."""

    _key = ("article_id",)
    _narrow_by = "article_id"

    article_id: dt.String = Field(description="The article.")
    article_sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the file version extracted.")
    n_claims: dt.Int64 = Field(ge=0, description="How many claims it gave.")
    extracted_at: Timestamp = Field(description="When (UTC).")
    figures_fingerprint: dt.String = Field(description="Hash of the cited sources' figures and words it was scoped and reconciled with.")

    class Config:
        name = "claim_extractions"

