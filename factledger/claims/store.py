"""The claims tables in the lake: load what the pure logic needs, write what it returns.

Incremental: an article is (re-)extracted only when its sha256 differs from the one its claims
were extracted from (`claim_extractions`). A claim's scope depends on the cited sources' cue words
as well as on the text, so when the sources hash (figures, descriptors, people) changes,
every article is extracted again; nothing else triggers work on unchanged articles.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from factledger.claims import pipeline
from factledger.claims.lexicon import Lexicon
from factledger.claims.reconcile import FigureIndex
from factledger.tables import insert_rows
from schemas.claims import ClaimExtractions, Claims, DateFindings, NameFindings
from factledger import lakestate, splice, sql, versions
from factledger.progress import Progress

EXPORT_RELATIVE_PATH = Path("reports") / "claims.csv"
# The columns score.py needs first, then the ones a reader needs to see why.
EXPORT_COLUMNS = (
    "article_id", "start", "end", "phrase", "value", "qualifier", "direction", "verdict", "figure_value", "figure_id",
    "relative_difference", "measure", "dims", "date_first", "date_last", "kind", "explanation", "sentence",
)
# Who wrote it, for readers of the CSV (joined from articles).
EXPORT_ARTICLE_COLUMNS = ("outlet", "title", "url", "published")


def sources_hash(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of everything reconciliation reads: figures, source dates, reactions, people (stored
    with each row in its `figures_fingerprint` column)."""
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
        reactions=reactions, people=people, sources_hash=sources_hash(con),
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
    sources_hash: str = ""


# Articles are read, processed and written this many at a time: memory stays flat with the corpus.
BATCH = 2_000
# Below this many stale articles one process is faster than starting workers.
PARALLEL_FROM = 1_000


def process_article(article: tuple, context: pipeline.SourceContext, language: Lexicon) -> tuple[list, list, list]:
    """One article's claims (with verdicts), date findings and name findings: a pure function."""
    article_id, body, published, sha256, cites = article
    lexicon = context.lexicon_for(cites, language)
    extraction = pipeline.extract_article(article_id, body, published, sha256, lexicon)
    return (pipeline.reconcile_rows(extraction.claims, {article_id: cites}, context, language),
            pipeline.check_date_rows(extraction.dates, {article_id: cites}, context),
            pipeline.name_rows(article_id, body, cites, context, language))


_WORKER: dict = {}


def _init_worker(context: pipeline.SourceContext, language: Lexicon) -> None:
    _WORKER.update(context=context, language=language)


def _process_in_worker(articles: list[tuple]) -> list[tuple[list, list, list]]:
    return [process_article(a, _WORKER["context"], _WORKER["language"]) for a in articles]


def _processed(batches: Iterator[list[tuple]], context: pipeline.SourceContext, language: Lexicon,
               workers: int) -> Iterator[list[tuple[list, list, list]]]:
    """Each batch's results, in order: in this process, or across `workers` processes (spawned, so
    no DuckDB state is forked). With workers, each batch is cut into CHUNK-article pieces and up to
    AHEAD pieces per worker are in flight: the workers go on extracting while this process reads the
    next batch and writes the last one's rows, and memory stays bounded by what is in flight."""
    if workers <= 1:
        for batch in batches:
            yield [process_article(a, context, language) for a in batch]
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(context, language)) as pool:
        inflight: deque = deque()  # (future, is it its batch's last chunk)
        done: list[tuple[list, list, list]] = []
        pieces = ((batch[i:i + CHUNK], i + CHUNK >= len(batch)) for batch in batches for i in range(0, len(batch), CHUNK))
        for piece in itertools.chain(pieces, [None]):
            if piece is not None:
                chunk, last = piece
                inflight.append((pool.submit(_process_in_worker, chunk), last))
                if len(inflight) < AHEAD * workers:
                    continue
            while inflight and (piece is None or len(inflight) >= AHEAD * workers):
                future, last = inflight.popleft()
                done += future.result()
                if last:
                    yield done
                    done = []


# With worker processes: articles per task, and tasks in flight per worker.
CHUNK = 250
AHEAD = 3


def default_workers() -> int:
    """$FACTLEDGER_WORKERS, else the cores this process may use."""
    configured = os.environ.get("FACTLEDGER_WORKERS")
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def sync_claims(con: duckdb.DuckDBPyConnection, lexicon: Lexicon, now: dt.datetime | None = None,
                progress: Callable[[str], None] | None = None, workers: int | None = None) -> ClaimsSync:
    """Bring claims, date_findings and name_findings up to date with articles and figures, in
    batches of BATCH articles, across `workers` processes (default: the cores, when at least
    PARALLEL_FROM articles are stale); `progress` gets a line with the rate and the time left every
    few seconds (factledger/progress.py)."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    context = load_context(con)
    result = ClaimsSync(sources_hash=context.sources_hash)
    stale_ids = [r[0] for r in con.execute("""
        SELECT a.article_id FROM articles a
        LEFT JOIN claim_extractions e USING (article_id)
        WHERE a.retired_at IS NULL AND (e.article_sha256 IS DISTINCT FROM a.sha256 OR e.figures_fingerprint IS DISTINCT FROM $fp)
        ORDER BY a.article_id""", {"fp": context.sources_hash}).fetchall()]
    result.dropped = [r[0] for r in con.execute("""
        SELECT article_id FROM claim_extractions
        WHERE article_id NOT IN (SELECT article_id FROM articles WHERE retired_at IS NULL)""").fetchall()]
    # Articles extracted again only because the sources changed (their own text did not).
    result.rereconciled = bool(con.execute("""
        SELECT count(*) FROM claim_extractions e JOIN articles a USING (article_id)
        WHERE a.retired_at IS NULL AND e.article_sha256 = a.sha256 AND e.figures_fingerprint IS DISTINCT FROM $fp""",
        {"fp": context.sources_hash}).fetchone()[0])
    changed = stale_ids + result.dropped
    if changed:
        for model in (Claims, DateFindings, NameFindings, ClaimExtractions):
            con.execute(f"DELETE FROM {model.table_name()} WHERE list_contains(?, article_id)", [changed])

    def batches() -> Iterator[list[tuple]]:
        for i in range(0, len(stale_ids), BATCH):
            yield con.execute("""SELECT article_id, body, published, sha256, cites FROM articles
                                 WHERE list_contains(?, article_id) AND retired_at IS NULL ORDER BY article_id""",
                              [stale_ids[i:i + BATCH]]).fetchall()

    if workers is None:  # by default, workers only pay off for many articles
        workers = min(default_workers(), 8) if len(stale_ids) >= PARALLEL_FROM else 1
    done = 0
    extracting = Progress(f"claims ({workers} process{'es' if workers > 1 else ''}): extracting", len(stale_ids),
                          progress, unit="articles")
    for batch_results in _processed(batches(), context, lexicon, workers):
        claims = [row for c, _, _ in batch_results for row in c]
        insert_rows(con, Claims, claims)
        insert_rows(con, DateFindings, [row for _, d, _ in batch_results for row in d])
        insert_rows(con, NameFindings, [row for _, _, n in batch_results for row in n])
        per_article = Counter(c["article_id"] for c in claims)
        batch_ids = stale_ids[done:done + len(batch_results)]
        done += len(batch_results)
        insert_rows(con, ClaimExtractions, [
            {"article_id": a, "article_sha256": sha, "n_claims": per_article[a], "extracted_at": now,
             "figures_fingerprint": context.sources_hash}
            for a, sha in con.execute("SELECT article_id, sha256 FROM articles WHERE list_contains(?, article_id)", [batch_ids]).fetchall()
        ])
        extracting.advance(len(batch_results))
    extracting.finish()
    result.extracted = stale_ids
    return result


def _export_expression(column: str, alias: str) -> str:
    """Whole numbers without a trailing '.0' (plain integers, no grouping: easy for any reader)."""
    ref = f"{alias}.{sql.identifier(column)}"
    if column in ("value", "figure_value"):
        return (f"CASE WHEN {ref} = round({ref}) THEN CAST(CAST({ref} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({ref} AS VARCHAR) END AS {sql.identifier(column)}")
    return ref


def export_query() -> splice.CsvQuery:
    """reports/claims.csv as a query: the claims with their article's columns, by article and offset."""
    columns = ", ".join([*(_export_expression(c, "c") for c in EXPORT_COLUMNS), *(_export_expression(c, "a") for c in EXPORT_ARTICLE_COLUMNS)])
    return splice.CsvQuery(columns, "claims c LEFT JOIN articles a USING (article_id)", ("c.article_id", "c.start"), "DELIMITER ','")


def export_claims(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Path:
    """Write <warehouse>/reports/claims.csv (the published claims, for score.py and readers),
    unless it is already current: written with these columns from the same snapshots of claims and
    articles. When the file on disk was written from earlier snapshots (its state file says which),
    only the articles whose claims or article row changed since are written again (splice.py)."""
    path = Path(warehouse) / EXPORT_RELATIVE_PATH
    if export_is_current(con, path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    changed = _changed_articles(con, path)
    splice.write_csv(con, export_query(), tmp, previous=path if changed is not None else None, changed=changed)
    state = export_state(con)
    _state_path(path).unlink(missing_ok=True)
    splice.replace(tmp, path)
    if state is not None:
        _state_path(path).write_text(state, encoding="utf-8")
    return path


def _changed_articles(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple] | None:
    """The article ids (as 1-tuples) whose rows in `path` may differ from the tables now: those in
    DuckLake's change feed of claims and articles since the snapshots the state file names; None
    when that cannot be told (no state, other columns, a table replaced)."""
    try:
        written = json.loads(_state_path(path).read_text(encoding="utf-8"))
        now = json.loads(export_state(con) or "null")
    except (OSError, ValueError):
        return None
    if not now or written.get("columns") != now["columns"]:
        return None
    changed: set[str] = set()
    for table in ("claims", "articles"):
        old, new = written["snapshots"].get(table), now["snapshots"][table]
        values = versions.changed_values(con, table, "article_id", old, new, schema="main", limit=splice.MAX_CHANGED_KEYS) \
            if isinstance(old, int) and old <= new else None
        if values is None:
            return None
        changed |= values
    return [(a,) for a in sorted(changed)]


def export_state(con: duckdb.DuckDBPyConnection) -> str | None:
    """What the export is made of: its columns and the last snapshots that changed the tables it
    reads (claims, articles); None when that cannot be told."""
    states = lakestate.table_states(con)
    if not all(t in states for t in ("claims", "articles")):
        return None
    return json.dumps({"columns": [*EXPORT_COLUMNS, *EXPORT_ARTICLE_COLUMNS],
                       "snapshots": {t: states[t][0] for t in ("claims", "articles")}})


def export_is_current(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the export at `path` was written from the tables as they are now (its state file
    beside it says from which snapshots; no clocks are compared)."""
    state = export_state(con)
    try:
        return state is not None and path.exists() and _state_path(path).read_text(encoding="utf-8") == state
    except OSError:
        return False


def _state_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.state")
