"""The SQL behind the date checks (figure totals live in factledger.figures).

Two kinds of rule, treated differently:
- a source's own dates (request <= as-of <= document <= every reaction): a source that breaks them
  is not fit to check anything against, so `dates_coherent` blocks publishing;
- an article's dates (published on or after the document it cites, and not in the future): one
  bad article must not hold back every good one, so it is *quarantined*: left out of the published
  tables (with its claims and findings) and listed by the `articles_dates_coherent` warning.
"""
from __future__ import annotations

# Each branch yields (subject, rule, earlier, later); the date_order schema requires earlier <= later.
SOURCE_DATE_ORDER_SQL = """
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
FROM source_reactions r JOIN sources s USING (source_id)
"""

# The blocking check's rows: a source's own consistency only.
DATE_ORDER_SQL = SOURCE_DATE_ORDER_SQL

# Per present article: (subject = article_id, rule, earlier, later, source_path).
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
