"""Articles and the inputs the pipeline refused."""
from __future__ import annotations

import ibis.expr.datatypes as dt
import pandera.ibis as pa
from pandera.ibis import Field

from schemas._base import Timestamp, SHA256_PATTERN, LakeTable, unique_key


class Articles(LakeTable):
    """One row per article file under raw/articles/, as last ingested. A file that disappears is
    retired (retired_at set), not deleted, so a published version can still explain its claims."""

    _key = ("article_id",)
    _file_sql = "t.source_path"  # the line: of the failing front-matter field
    _narrow_by = "article_id"  # after a change, the changed articles and those sharing a body hash with them

    article_id: dt.String = Field(description="File name without extension; the article's key.")
    source_path: dt.String = Field(description="Path of the file, relative to the raw folder.")
    outlet: dt.String = Field(nullable=True, description="Publisher, from front matter; null when unknown.")
    url: dt.String = Field(nullable=True, description="Address of the article, from front matter.")
    published: dt.Date = Field(nullable=True, description="Publication date, from front matter.")
    title: dt.String = Field(nullable=True, description="Headline, from front matter.")
    cites: dt.String = Field(
        nullable=True, description="Ids of the official sources the article cites (front matter `cites`), comma-separated."
    )
    body: dt.String = Field(description="Article text after the front matter, exactly as in the file.")
    body_start: dt.Int64 = Field(ge=0, description="Character offset of the body within the decoded file.")
    sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the file's raw bytes (provenance).")
    body_sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the body, to spot duplicates.")
    n_bytes: dt.Int64 = Field(gt=0, description="Size of the raw file in bytes.")
    ingested_at: Timestamp = Field(description="When this version of the file was ingested (UTC).")
    retired_at: Timestamp = Field(nullable=True, description="When the file was found removed (UTC); null while present.")

    class Config:
        name = "articles"

    @pa.dataframe_check(name="no two present articles share a body")
    def _unique_body(cls, data):
        t = data.table
        present = t.retired_at.isnull()
        key = unique_key(t, "body_sha256", "retired_at")["body_sha256_retired_at_unique"]
        return {"body_unique": ~present | key}



class ArticleFileStats(LakeTable):
    """Bookkeeping: each article file's size, times and inode when it was last read, with the
    SHA-256 of its bytes then. A file whose stat is the same, and whose last change was well before
    that reading, is taken to hold the same bytes and is not read again (git's rule for unchanged
    files; factledger/filestats.py). FACTLEDGER_REHASH=1 reads every file."""

    _key = ("source_path",)

    source_path: dt.String = Field(description="Path of the file, relative to the raw folder.")
    n_bytes: dt.Int64 = Field(ge=0, description="Size in bytes when it was read.")
    mtime_ns: dt.Int64 = Field(description="Modification time (ns since the epoch) when it was read.")
    ctime_ns: dt.Int64 = Field(description="Status-change time (ns since the epoch) when it was read; no program can set it back.")
    inode: dt.Int64 = Field(ge=0, description="Inode number when it was read.")
    sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the bytes read.")
    read_ns: dt.Int64 = Field(description="When its stat was taken (ns since the epoch), before the bytes were read.")

    class Config:
        name = "article_file_stats"

# An article's dates, per present article: published on or after the document of each source it
# cites, and not in the future. One bad article must not hold back every good one, so an article
# that breaks a rule is *quarantined*: left out of the published tables (with its claims and
# findings) and listed by the `articles_dates_coherent` warning.
ARTICLE_DATE_ORDER_SQL = """
SELECT a.article_id AS subject, 'published >= document_date of cited ' || s.source_id AS rule,
       s.document_date AS earlier, a.published AS later, a.source_path
FROM articles a, unnest(string_split(a.cites, ', ')) AS c(source_id)
JOIN sources s ON s.source_id = c.source_id
WHERE a.retired_at IS NULL AND a.published IS NOT NULL
UNION ALL
SELECT article_id, 'published <= today', published, current_date, source_path
FROM articles WHERE retired_at IS NULL AND published IS NOT NULL
"""

# Articles that break a rule: one row per broken rule.
QUARANTINED_ARTICLES_SQL = f"""
SELECT subject AS article_id, source_path, rule, earlier, later
FROM ({ARTICLE_DATE_ORDER_SQL}) WHERE earlier > later
"""

# A subquery of the quarantined article ids, for `article_id NOT IN (...)` filters.
QUARANTINED_IDS_SQL = f"SELECT article_id FROM ({QUARANTINED_ARTICLES_SQL})"


class RejectedInputs(LakeTable):
    """Every input file or row the pipeline refused in its last run, and why. A rejected row never
    reaches the other tables; the rest of its file and the other files still load."""

    stage: dt.String = Field(isin=["articles", "sources"], description="Which ingestion refused it.")
    file: dt.String = Field(description="Path of the offending file, relative to the raw folder.")
    line: dt.Int64 = Field(nullable=True, ge=1, description="1-based line in that file; null when the whole file is refused.")
    reason: dt.String = Field(str_length={"min_value": 1}, description="What is wrong, in words.")
    detected_at: Timestamp = Field(description="When the run refused it (UTC).")

    class Config:
        name = "rejected_inputs"
