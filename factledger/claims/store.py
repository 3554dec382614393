"""The claims tables in the lake: load what the pure logic needs, write what it returns.

Incremental: an article is (re-)extracted only when its sha256 differs from the one its claims
were extracted from (`claim_extractions`). A claim's scope depends on the cited sources' cue words
as well as on the text, so when the sources fingerprint (figures, descriptors, people) changes,
every article is extracted again; nothing else triggers work on unchanged articles.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from factledger.claims import pipeline
from factledger.claims.lexicon import Lexicon
from factledger.claims.reconcile import FigureIndex
from factledger.tables import insert_rows
from schemas.claims import ClaimExtractions, Claims, DateFindings, NameFindings

EXPORT_RELATIVE_PATH = Path("reports") / "claims.csv"
# The columns score.py needs first, then the ones a reader needs to see why.
EXPORT_COLUMNS = (
    "article_id", "start", "end", "phrase", "value", "qualifier", "direction", "verdict", "figure_value", "figure_id",
    "relative_difference", "measure", "dims", "date_first", "date_last", "kind", "explanation", "sentence",
)
# Who wrote it, for readers of the CSV (joined from articles).
EXPORT_ARTICLE_COLUMNS = ("outlet", "title", "url", "published")


def figures_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of everything reconciliation reads: figures, source dates, reactions, people."""
    parts = [
        con.execute("SELECT coalesce(string_agg(figure_id || '=' || value || '/' || qualifier, ';' ORDER BY figure_id), '') FROM figures").fetchone()[0],
        con.execute("SELECT coalesce(string_agg(source_id || ':' || sha256, ';' ORDER BY source_id), '') FROM sources").fetchone()[0],
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def load_context(con: duckdb.DuckDBPyConnection) -> pipeline.SourceContext:
    def records(sql: str) -> list[dict]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    dimension_rows = records("SELECT * FROM source_dimensions ORDER BY source_id, dimension, value")
    measure_rows = records("SELECT * FROM source_measures ORDER BY source_id, measure")
    index = FigureIndex.build(records("SELECT * FROM figures"), dimension_rows, measure_rows)
    sources = records("SELECT source_id, request_date, as_of_date, document_date FROM sources")
    reactions: dict[str, list] = {}
    for r in records("SELECT source_id, event, date FROM source_reactions"):
        reactions.setdefault(r["source_id"], []).append((r["event"], r["date"]))
    people: dict[str, list] = {}
    for r in records("SELECT source_id, name, role FROM source_people"):
        people.setdefault(r["source_id"], []).append((r["name"], r["role"]))
    return pipeline.SourceContext(
        index=index,
        source_dates={s["source_id"]: {k: s[k] for k in ("request_date", "as_of_date", "document_date")} for s in sources},
        reactions=reactions, people=people, fingerprint=figures_fingerprint(con),
        dimension_rows=_by_source(dimension_rows), measure_rows=_by_source(measure_rows),
    )


def _by_source(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["source_id"], []).append(row)
    return out


@dataclass
class ClaimsSync:
    extracted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rereconciled: bool = False
    fingerprint: str = ""


def sync_claims(con: duckdb.DuckDBPyConnection, lexicon: Lexicon, now: dt.datetime | None = None) -> ClaimsSync:
    """Bring claims, date_findings and name_findings up to date with articles and figures."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    context = load_context(con)
    result = ClaimsSync(fingerprint=context.fingerprint)
    stale = con.execute("""
        SELECT a.article_id, a.body, a.published, a.sha256, a.cites FROM articles a
        LEFT JOIN claim_extractions e USING (article_id)
        WHERE a.retired_at IS NULL AND (e.article_sha256 IS DISTINCT FROM a.sha256 OR e.figures_fingerprint IS DISTINCT FROM $fp)
        ORDER BY a.article_id""", {"fp": context.fingerprint}).fetchall()
    result.dropped = [r[0] for r in con.execute("""
        SELECT article_id FROM claim_extractions
        WHERE article_id NOT IN (SELECT article_id FROM articles WHERE retired_at IS NULL)""").fetchall()]
    # Articles extracted again only because the sources changed (their own text did not).
    result.rereconciled = bool(con.execute("""
        SELECT count(*) FROM claim_extractions e JOIN articles a USING (article_id)
        WHERE a.retired_at IS NULL AND e.article_sha256 = a.sha256 AND e.figures_fingerprint IS DISTINCT FROM $fp""",
        {"fp": context.fingerprint}).fetchone()[0])
    changed = [r[0] for r in stale] + result.dropped
    if changed:
        for model in (Claims, DateFindings, NameFindings, ClaimExtractions):
            con.execute(f"DELETE FROM {model.table_name()} WHERE list_contains(?, article_id)", [changed])
    cites = {article_id: article_cites for article_id, _, _, _, article_cites in stale}
    claim_rows, date_rows, names = [], [], []
    for article_id, body, published, sha256, article_cites in stale:
        extraction = pipeline.extract_article(article_id, body, published, sha256, context.lexicon_for(article_cites, lexicon))
        claim_rows += extraction.claims
        date_rows += extraction.dates
        names += pipeline.name_rows(article_id, body, article_cites, context, lexicon)
    insert_rows(con, Claims, pipeline.reconcile_rows(claim_rows, cites, context, lexicon))
    insert_rows(con, DateFindings, pipeline.check_date_rows(date_rows, cites, context))
    insert_rows(con, NameFindings, names)
    per_article = Counter(c["article_id"] for c in claim_rows)
    insert_rows(con, ClaimExtractions, [
        {"article_id": a, "article_sha256": s, "n_claims": per_article[a], "extracted_at": now,
         "figures_fingerprint": context.fingerprint} for a, _, _, s, _ in stale
    ])
    result.extracted = [r[0] for r in stale]
    return result


def _export_expression(column: str, alias: str) -> str:
    """Whole numbers without a trailing '.0' (plain integers, no grouping: easy for any reader)."""
    ref = f'{alias}."{column}"'
    if column in ("value", "figure_value"):
        return f'CASE WHEN {ref} = round({ref}) THEN CAST(CAST({ref} AS BIGINT) AS VARCHAR) ELSE CAST({ref} AS VARCHAR) END AS "{column}"'
    return ref


def export_claims(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Path:
    """Write <warehouse>/reports/claims.csv (the published claims, for score.py and readers)."""
    path = Path(warehouse) / EXPORT_RELATIVE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    columns = ", ".join([*(_export_expression(c, "c") for c in EXPORT_COLUMNS), *(_export_expression(c, "a") for c in EXPORT_ARTICLE_COLUMNS)])
    con.execute(f"""COPY (SELECT {columns} FROM claims c LEFT JOIN articles a USING (article_id)
                    ORDER BY c.article_id, c.start) TO '{tmp}' (HEADER, DELIMITER ',')""")
    tmp.replace(path)
    return path
