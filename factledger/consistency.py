"""The SQL behind the check views: date ordering (figure totals live in factledger.figures)."""
from __future__ import annotations

# Each branch yields (subject, rule, earlier, later); the date_order schema requires earlier <= later.
DATE_ORDER_SQL = """
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
UNION ALL
SELECT a.article_id, 'published >= document_date of cited ' || s.source_id, s.document_date, a.published
FROM articles a, unnest(string_split(a.cites, ', ')) AS c(source_id)
JOIN sources s ON s.source_id = c.source_id
WHERE a.retired_at IS NULL AND a.published IS NOT NULL
UNION ALL
SELECT article_id, 'published <= today', published, current_date
FROM articles WHERE retired_at IS NULL AND published IS NOT NULL
"""
