"""What the report shows, read from one published dataset version: pages' view models built from
the published tables (as of the version's snapshot, through the helpers `factledger sql` uses)
and generic columns only (measure, dims, values; no dimension is named here)."""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb

from factledger import diff, export, sql, versions
from factledger.catalog import quote
from factledger.report import explain
from factledger.report import reuse as page_reuse


def rows(con: duckdb.DuckDBPyConnection, name: str, snapshot_id: int, present: list[str], order: str = "") -> list[dict]:
    """Every row of published table `name` at `snapshot_id` as dicts ([] when absent)."""
    if name not in present:
        return []
    cur = con.execute(f"SELECT * FROM {versions.relation_at(name, snapshot_id)}" + (f" ORDER BY {order}" if order else ""))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def slug(text: str, taken: set[str]) -> str:
    """A file-name-safe, unique name for an id."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "item"
    base = base[:80]
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name.lower())
    return name


@dataclass
class ClaimView:
    row: dict
    look: explain.VerdictStyle
    figure: dict | None
    source: dict | None
    sentence: str
    cell: str
    anchor: str
    number: int
    review: dict | None = None
    unrated: str | None = None
    highlighted: bool = False

    @property
    def figure_text(self) -> str:
        if not self.figure and self.row.get("figure_value") is None:
            return ""
        value = (self.figure or {}).get("value", self.row.get("figure_value"))
        return explain.number(value, (self.figure or {}).get("unit") or None)


@dataclass
class FindingView:
    kind: str  # name, date, date_flagged
    row: dict
    label: str
    marker: str
    sentence: str
    anchor: str
    highlighted: bool = False

    @property
    def css_class(self) -> str:
        return "f-" + self.kind.replace("_", "-")


@dataclass
class Segment:
    text: str
    claim: ClaimView | None = None
    finding: FindingView | None = None


HEADLINE_WORDS = 80  # an article without a title is headed by its opening words, up to this many characters


def headline_of(title: str | None, body: str | None, article_id: str) -> str:
    """An article's heading: its title, else its opening words (said so on its page), else its id."""
    return title or export.opening_words(body, HEADLINE_WORDS) or article_id


def outlet_of(outlet: str | None) -> str:
    return outlet or "Unknown outlet"


@dataclass
class ArticlePage:
    article: dict
    file: str
    claims: list[ClaimView]
    findings: list[FindingView]
    segments: list[Segment]
    reviews: list[dict]
    sources: list[dict]

    reused: bool = False  # taken over from an earlier version's report (see reuse.py), not built (iter_pages' `light`)

    @property
    def headline(self) -> str:
        return headline_of(self.article.get("title"), self.article.get("body"), self.article["article_id"])

    @property
    def has_title(self) -> bool:
        return bool(self.article.get("title"))

    @property
    def outlet(self) -> str:
        return outlet_of(self.article.get("outlet"))

    @property
    def url(self) -> str | None:
        return export.safe_url(self.article.get("url"))

    @functools.cached_property
    def counts(self) -> Counter:
        return Counter(c.look.verdict for c in self.claims)


@dataclass
class Citation:
    """A claim citing a figure, as a source page lists it."""

    file: str  # the article's page
    outlet: str
    phrase: str
    anchor: str  # the claim's on that page
    look: explain.VerdictStyle


@dataclass
class FigureView:
    figure: dict
    cell: str
    anchor: str
    counts: Counter = field(default_factory=Counter)  # every claim citing it, by verdict (summary.cite)
    citations: list[Citation] = field(default_factory=list)  # the first of them, in article order

    @property
    def cited(self) -> int:
        return sum(self.counts.values())

    @property
    def value_text(self) -> str:
        return explain.number(self.figure.get("value"), self.figure.get("unit") or None)


@dataclass
class SourcePage:
    source: dict
    file: str
    figures: list[FigureView]

    @property
    def title(self) -> str:
        return self.source.get("title") or self.source["source_id"]

    @property
    def url(self) -> str | None:
        return export.safe_url(self.source.get("url"))

    def key_figures(self, n: int = 5) -> list[FigureView]:
        cited = sorted((f for f in self.figures if f.cited), key=lambda f: -f.cited)
        stated = [f for f in self.figures if not f.figure.get("derived") and f not in cited]
        return (cited + stated)[:n]


@dataclass
class CheckView:
    row: dict
    status: str  # passed, warning, failed, not evaluated
    rows_text: str | None


@dataclass
class DiffView:
    previous: dict | None
    tables: list[diff.TableDiff]
    inputs_added: list[str]
    inputs_removed: list[str]
    inputs_changed: list[str]
    code_changed: bool
    claim_changes: list[tuple[str, dict | None, ClaimView | None]]  # (claim_id, before, now): the first DIFF_ROWS
    claim_changes_total: int = 0
    articles: dict = field(default_factory=dict)  # article_id -> summary.ArticleLink, of the articles it names


@dataclass
class Report:
    """What the report's pages show besides each article's own rows: the version, the sources (with
    their figures' citations), the checks, the diff, and `overview` (summary.Overview: counts per
    outlet, from SQL). No page of every article is held: those are written as they are built."""

    version: dict
    sources: list[SourcePage]
    checks: list[CheckView]
    diff: DiffView
    publisher: export.Publisher
    words: dict
    _counts: Counter | None = None  # claims per verdict (the legend shows every verdict seen)
    _styles: list | None = None
    overview: object | None = None  # summary.Overview

    @property
    def number(self) -> int:
        return int(self.version["version"])

    def verdict_counts(self) -> Counter:
        return self._counts if self._counts is not None else Counter()

    def verdict_order(self) -> list[str]:
        known = explain.known_verdicts(self.words)
        seen = self.verdict_counts()
        return known + sorted(v for v in seen if v not in known)

    def styles(self) -> list[explain.VerdictStyle]:
        """Every verdict's style, known ones first (computed once: every page and badge asks)."""
        if self._styles is None:
            self._styles = [explain.style(v, self.words) for v in self.verdict_order()]
        return self._styles

    def miscited(self, n: int = 10) -> list[tuple[SourcePage, FigureView, int]]:
        """Figures most often cited with a verdict rated 2 or worse (wrong scope, contradicted)."""
        bad = {v for v in self.verdict_order()
               if (r := explain.style(v, self.words).rating) is not None and r <= 2}
        found = []
        for source in self.sources:
            for fig in source.figures:
                count = sum(n for v, n in fig.counts.items() if v in bad)
                if count:
                    found.append((source, fig, count))
        return sorted(found, key=lambda t: (-t[2], t[1].figure["figure_id"]))[:n]

    def input_hashes(self) -> list[tuple[str, str]]:
        return sorted(json.loads(self.version.get("input_hashes") or "{}").items())


# A claim whose one of these changed is listed on the diff page with before and after.
CLAIM_MEANING = ("phrase", "value", "verdict", "figure_id", "figure_value", "measure", "dims")

# Columns of figures that are not dimensions of a cell (every other column figures and claims share is).
NOT_DIMENSIONS = frozenset({
    "figure_id", "source_id", "measure", "dims", "period_start", "period_end", "as_of_date", "value", "unit",
    "qualifier", "derived", "formula", "derived_from", "basis", "reported_by", "direction", "explanation",
    "source_file", "source_line", "figures_fingerprint", "kind", "verdict", "figure_value",
})


def dimension_columns(figures: list[dict], claims: list[dict]) -> list[str]:
    """Columns both tables have that say which cell a number is (for lakes without `dims`)."""
    if not figures or not claims:
        return []
    shared = [c for c in figures[0] if c in claims[0] and c not in NOT_DIMENSIONS]
    return shared


def add_dims(row: dict, columns: list[str]) -> None:
    """Give `row` a canonical `dims` text (`a=x, b=y`) from its dimension columns when it has none."""
    if "dims" not in row and columns:
        row["dims"] = ", ".join(f"{c}={row[c]}" for c in columns if row.get(c) not in (None, ""))


def cell_key(source_id, measure, dims, words: dict) -> tuple:
    """A cell's identity with total values left out (a dimension not named means every value)."""
    totals = {t.lower() for t in words.get("total_values", [])}
    named = sorted((k, v) for k, v in explain.parse_dims(dims) if v.lower() not in totals)
    return (source_id, measure, tuple(named))


def _source_of(claim: dict, figure: dict | None, article: dict, sources: dict[str, dict]) -> dict | None:
    if figure and figure.get("source_id") in sources:
        return sources[figure["source_id"]]
    if claim.get("source_id") in sources:
        return sources[claim["source_id"]]
    for sid in (article.get("cites") or "").split(","):
        if sid.strip() in sources:
            return sources[sid.strip()]
    return next(iter(sources.values()), None)


def _segments(body: str, spans: list[tuple[int, int, object]]) -> list[Segment]:
    """The body cut at the spans' offsets; overlapping spans after the first are dropped (the list
    is in priority order), as are spans whose offsets fall outside the body."""
    taken: list[tuple[int, int, object]] = []
    for start, end, item in spans:
        if not (0 <= start < end <= len(body)):
            continue
        if any(start < e and s < end for s, e, _ in taken):
            continue
        taken.append((start, end, item))
    taken.sort(key=lambda t: t[0])
    out, pos = [], 0
    for start, end, item in taken:
        if start > pos:
            out.append(Segment(body[pos:start]))
        seg = Segment(body[start:end])
        if isinstance(item, ClaimView):
            seg.claim, item.highlighted = item, True
        else:
            seg.finding, item.highlighted = item, True
        out.append(seg)
        pos = end
    if pos < len(body):
        out.append(Segment(body[pos:]))
    return out


MAX_CHECK_ROW_LINES = 100


def _check_rows_text(value) -> str | None:
    """A check's failing rows as text, cut after MAX_CHECK_ROW_LINES lines (a warning can list
    thousands; the export's tables hold them all)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    lines = text.splitlines()
    if len(lines) > MAX_CHECK_ROW_LINES:
        lines = lines[:MAX_CHECK_ROW_LINES] + [f"… and {len(lines) - MAX_CHECK_ROW_LINES} more lines"]
    return "\n".join(lines)


@dataclass
class Context:
    """What every article page needs besides its own rows: the version, the sources and figures
    (small: a source's cells), the wording and the publisher."""

    vrow: dict
    created_at: str
    words: dict
    publisher: export.Publisher
    sources: dict[str, dict]
    figures: list[dict]
    fig_by_id: dict[str, dict]
    by_cell: dict[tuple, list[dict]]
    source_pages: dict[str, SourcePage]
    figure_views: dict[str, FigureView]
    dim_cols: list[str]
    present: list[str]


def context(con: duckdb.DuckDBPyConnection, version: versions.Version, *, publisher: export.Publisher | None = None,
            created_at: str | None = None) -> Context:
    words = explain.wording()
    publisher = publisher or export.Publisher.from_env()
    snap = version.snapshot_id
    present = versions.tables_at(con, snap)
    vrow = versions.version_row(con, version.version)
    created_at = created_at or (vrow["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(vrow.get("created_at"), dt.datetime)
                                else str(vrow.get("created_at") or ""))
    sources = {s["source_id"]: s for s in rows(con, "sources", snap, present, "source_id")}
    figures = rows(con, "figures", snap, present, "figure_id")
    # The dimension columns figures and claims share (lakes without `dims`), read from the claims' columns.
    claim_columns = versions.columns_at(con, versions.relation_at("claims", snap)) if "claims" in present else []
    has_claims = bool(claim_columns) and con.execute(
        f"SELECT count(*) > 0 FROM (SELECT 1 FROM {versions.relation_at('claims', snap)} LIMIT 1)").fetchone()[0]
    dim_cols = dimension_columns(figures, [dict.fromkeys(claim_columns)] if has_claims else [])
    for row in figures:
        add_dims(row, dim_cols)
    fig_by_id = {f["figure_id"]: f for f in figures}
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for f in figures:
        if "dims" in f:
            by_cell[cell_key(f.get("source_id"), f.get("measure"), f.get("dims"), words)].append(f)

    taken: set[str] = set()
    source_pages = {sid: SourcePage(s, f"sources/{slug(sid, taken)}.html", []) for sid, s in sources.items()}
    figure_views: dict[str, FigureView] = {}
    for f in figures:
        view = FigureView(f, explain.cell_text(f, words), "fig-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f["figure_id"]))
        figure_views[f["figure_id"]] = view
        if f.get("source_id") in source_pages:
            source_pages[f["source_id"]].figures.append(view)
    return Context(vrow, created_at, words, publisher, sources, figures, fig_by_id, by_cell, source_pages,
                   figure_views, dim_cols, present)


# Rows fetched at a time from each published table while pages are built.
BATCH_ROWS = 2000


def _stream(con: duckdb.DuckDBPyConnection, name: str, snapshot_id: int, present: list[str], order: str, where: str = "TRUE",
            columns: str = "*", relation: str | None = None):
    """Rows of published table `name` (matching `where`) as dicts, in `order`, a batch at a time (own
    cursor). `relation`: what to select from instead of the table itself (a join naming it `a`)."""
    if name not in present:
        return
    cur = con.cursor()
    try:
        cur.execute(f"SELECT {columns} FROM {relation or versions.relation_at(name, snapshot_id)} WHERE {where} ORDER BY {order}")
        names = [d[0] for d in cur.description]
        while batch := cur.fetchmany(BATCH_ROWS):
            for r in batch:
                yield dict(zip(names, r))
    finally:
        cur.close()


class _ByArticle:
    """Rows of a stream ordered by article_id, handed out one article at a time."""

    def __init__(self, stream) -> None:
        self.stream, self.head = stream, next(stream, None)

    def take(self, article_id: str) -> list[dict]:
        while self.head is not None and self.head["article_id"] < article_id:  # rows of no published article
            self.head = next(self.stream, None)
        out = []
        while self.head is not None and self.head["article_id"] == article_id:
            out.append(self.head)
            self.head = next(self.stream, None)
        return out


# Articles that may carry a ClaimReview: an address and a publication date (unrated_reason says
# the rest); `iter_pages(reviewable_only=True)` builds only their pages.
REVIEWABLE = "url IS NOT NULL AND published IS NOT NULL"


def any_reviewable(con: duckdb.DuckDBPyConnection, version: versions.Version) -> bool:
    """Whether any article of the version may carry a ClaimReview (else there is no review to build)."""
    if "articles" not in versions.tables_at(con, version.snapshot_id):
        return False
    return con.execute(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {versions.relation_at('articles', version.snapshot_id)} "
                       f"WHERE {REVIEWABLE} LIMIT 1)").fetchone()[0]


# An article's page name in SQL: slug()'s base (characters other than letters, digits, `._-` as
# `_`, no leading or trailing `._`, at most 80 characters).
SLUG_SQL = ("left(coalesce(nullif(trim(regexp_replace(CAST({col} AS VARCHAR), '[^A-Za-z0-9._-]+', '_', 'g'), '._'), ''), "
            "'item'), 80)")


def page_files(con: duckdb.DuckDBPyConnection, snapshot_id: int, present: list[str]) -> str | None:
    """A table (in the connection's in-memory database) of every article's page file,
    (article_id, file): `articles/<slug>.html`, every article taking its name in article_id order
    as slug() gives it. Made once per snapshot; None when there are no articles."""
    if "articles" not in present:
        return None
    table = f"memory.main.report_page_files_{int(snapshot_id)}"
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory' AND table_name = ?",
                   [table.rsplit(".", 1)[1]]).fetchone()[0]:
        return table
    articles = versions.relation_at("articles", snapshot_id)
    con.execute(f"CREATE TABLE {table} AS SELECT article_id, 'articles/' || {SLUG_SQL.format(col='article_id')} || '.html' AS file "
                f"FROM {articles}")
    if con.execute(f"SELECT count(DISTINCT lower(file)) < count(*) FROM {table}").fetchone()[0]:
        # Two ids with one name: the later ones (in article_id order) get -2, -3, ... as slug() numbers them.
        taken: set[str] = set()
        ids = [a for a, in con.execute(f"SELECT article_id FROM {articles} ORDER BY article_id").fetchall()]
        names = [f"articles/{slug(a, taken)}.html" for a in ids]
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT unnest(?::VARCHAR[]) AS article_id, unnest(?::VARCHAR[]) AS file",
                    [ids, names])
    return table


_TABLES = itertools.count(1)


def new_table(prefix: str) -> str:
    """A new table's name in the connection's in-memory database (every cursor of the connection
    sees it, unlike a temp table's), for a table the caller drops (drop_table)."""
    return f"memory.main.{prefix}_{next(_TABLES)}"


def taken_over_table(con: duckdb.DuckDBPyConnection, files: str, reuse: page_reuse.Reuse,
                     light: bool | set[str] = True) -> str | None:
    """A new table (in the connection's in-memory database, so the cursors reading the published
    rows see it too) of the pages `reuse` takes over whose file is still the article's:
    (article_id, file, version it was written for, bytes, list_row, light: not built; `light`
    True: all, a set: those). None when there is nothing to take over; the caller drops it (drop_table)."""
    pages = reuse.pages()
    if pages is None:
        return None
    table = new_table("report_taken_over")
    relation, params = pages
    if isinstance(light, bool):
        is_light = "TRUE" if light else "FALSE"
    else:
        is_light, params = "p.article_id IN (SELECT unnest(?::VARCHAR[]))", [sorted(light), *params]
    con.execute(f"CREATE TABLE {table} AS SELECT p.article_id, p.file, p.version, p.bytes, p.list_row, {is_light} AS light "
                f"FROM {relation} p JOIN {files} f ON f.article_id = p.article_id AND f.file = p.file", params)
    return table


def drop_table(con: duckdb.DuckDBPyConnection, table: str | None) -> None:
    if table is not None:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def rows_of(con: duckdb.DuckDBPyConnection, query: str) -> Iterator[tuple]:
    """The rows of `query`, a batch at a time (own cursor)."""
    cur = con.cursor()
    try:
        cur.execute(query)
        while batch := cur.fetchmany(BATCH_ROWS):
            yield from batch
    finally:
        cur.close()


def manifest_sql(version: versions.Version, files: str | None, taken: str | None, rendered: str, list_rows: str) -> str:
    """SQL: the rows of the report's reuse.PAGES (reuse.PAGE_COLUMNS), one per article page of
    `version`: those of `taken` (taken_over_table) keep the version they were written for, the
    pages of `rendered` (article_id, bytes) are this version's; each with its row of `list_rows`."""
    if files is None:
        return ("SELECT NULL::VARCHAR AS article_id, NULL::VARCHAR AS file, NULL::INTEGER AS version, NULL::BIGINT AS bytes, "
                "NULL::VARCHAR AS list_row WHERE FALSE")
    join = f" LEFT JOIN {taken} t USING (article_id)" if taken else ""
    version_sql, bytes_sql = ("coalesce(t.version, {v})", "coalesce(t.bytes, r.bytes)") if taken else ("{v}", "r.bytes")
    # In no particular order: PAGES is only ever read by SQL (a sort of 100,000 pages' list rows,
    # 70 MB of HTML, was half of writing it).
    return (f"SELECT f.article_id, f.file, {version_sql.format(v=int(version.version))}::INTEGER AS version, "
            f"{bytes_sql}::BIGINT AS bytes, l.list_row FROM {files} f{join} LEFT JOIN {rendered} r USING (article_id) "
            f"LEFT JOIN {list_rows} l USING (article_id)")


def iter_pages(con: duckdb.DuckDBPyConnection, version: versions.Version, *, publisher: export.Publisher | None = None,
               created_at: str | None = None, ctx: Context | None = None, reviewable_only: bool = False,
               reuse: page_reuse.Reuse | None = None, light: bool | set[str] = False, within: str | None = None):
    """Every article's page model, in article_id order, built as the published rows stream by
    (a batch at a time: the corpus is never held). `reviewable_only`: only the pages of articles
    that may carry a ClaimReview (for the JSON-LD export). `within`: an SQL condition on
    `article_id` (only those articles' pages).

    `reuse`: pages an earlier version's report wrote that this one takes over. With `light`, those
    are not built: a page with the article's id and file only, marked `reused` (`light` a set: only
    those of these articles), read from the plan alone (no published row). Either way, their
    ClaimReviews carry the version they were written for."""
    ctx = ctx or context(con, version, publisher=publisher, created_at=created_at)
    files = page_files(con, version.snapshot_id, ctx.present)
    if files is None:
        return
    reused = taken_over_table(con, files, reuse or page_reuse.Reuse(None), light)
    try:
        yield from _pages(con, version, ctx, files, reused, reviewable_only, within)
    finally:
        drop_table(con, reused)


def _pages(con: duckdb.DuckDBPyConnection, version: versions.Version, ctx: Context, files: str, reused: str | None,
           reviewable_only: bool, within: str | None):
    snap, present, words = version.snapshot_id, ctx.present, ctx.words
    articles = versions.relation_at("articles", snap)
    created = dict(con.execute("SELECT version, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') FROM lake.main.dataset_versions")
                   .fetchall()) if reused else {}
    only = within or "TRUE"
    if reviewable_only:
        only = f"({only}) AND article_id IN (SELECT article_id FROM {articles} WHERE {REVIEWABLE})"
    built = f"({only}) AND article_id NOT IN (SELECT article_id FROM {reused} WHERE light)" if reused else only
    relation = f"(SELECT * FROM {articles}) a JOIN {files} f USING (article_id)"
    columns = "a.*, f.file AS __file"
    if reused:
        relation += f" LEFT JOIN {reused} r USING (article_id)"
        columns += ", r.version AS __version"
    light = rows_of(con, f"SELECT article_id, file FROM {reused} WHERE light AND ({only}) ORDER BY article_id") if reused else iter(())
    pending = next(light, None)
    looks: dict[str | None, explain.VerdictStyle] = {}  # one style object per verdict, shared by its claims

    def look_of(verdict):
        return looks.get(verdict) or looks.setdefault(verdict, explain.style(verdict, words))

    for first, last in chunks(con, f"SELECT article_id FROM {relation} WHERE {built}"):
        span = f"article_id BETWEEN {sql.literal(first)} AND {sql.literal(last)}"
        claims = _ByArticle(_stream(con, "claims", snap, present, "article_id, start, claim_id", f"({built}) AND {span}"))
        dates = _ByArticle(_stream(con, "date_findings", snap, present, "article_id, start", f"({built}) AND {span}"))
        names = _ByArticle(_stream(con, "name_findings", snap, present, "article_id, start", f"({built}) AND {span}"))
        for a in _stream(con, "articles", snap, present, "article_id", f"({built}) AND {span}", columns, relation):
            while pending is not None and pending[0] < a["article_id"]:
                yield light_page(*pending)
                pending = next(light, None)
            yield _page(a, claims, dates, names, ctx, created, look_of)
    while pending is not None:
        yield light_page(*pending)
        pending = next(light, None)


def light_page(article_id: str, file: str) -> ArticlePage:
    """A page taken over and not built (iter_pages' `light`): its article's id and file only."""
    return ArticlePage({"article_id": article_id}, file, [], [], [], [], [], reused=True)


# Articles whose rows are read at once while pages are built: the published rows are read a range
# of article ids at a time (DuckDB sorts a range within its memory limit; the scan skips the
# row groups outside it), not sorted whole.
CHUNK_ARTICLES = 5000


def chunks(con: duckdb.DuckDBPyConnection, ids_sql: str, size: int | None = None) -> list[tuple[str, str]]:
    """(first, last) article_id of each run of `size` consecutive articles of the query `ids_sql`
    (article_id order): ranges holding `size` of its articles each, the last fewer."""
    size = size or CHUNK_ARTICLES
    return con.execute(f"SELECT min(article_id), max(article_id) FROM (SELECT article_id, (row_number() OVER (ORDER BY article_id) - 1) "
                       f"// {int(size)} AS k FROM ({ids_sql})) GROUP BY k ORDER BY k").fetchall()


def _page(a: dict, claims: _ByArticle, dates: _ByArticle, names: _ByArticle, ctx: Context, created: dict,
          look_of) -> ArticlePage:
    """One article's page model from its row and its rows of the other tables."""
    words, sources, publisher = ctx.words, ctx.sources, ctx.publisher
    file, taken_version = a.pop("__file"), a.pop("__version", None)
    if taken_version is not None:
        version_of_reviews, reviews_dated = int(taken_version), created.get(int(taken_version), "")
    else:
        version_of_reviews, reviews_dated = int(ctx.vrow["version"]), ctx.created_at
    body = a.get("body") or ""
    views: list[ClaimView] = []
    for i, c in enumerate(claims.take(a["article_id"]), 1):
        add_dims(c, ctx.dim_cols)
        figure = ctx.fig_by_id.get(c.get("figure_id")) if c.get("figure_id") else None
        source = _source_of(c, figure, a, sources)
        right = None
        if c.get("verdict") == "wrong_scope" and c.get("dims") is not None and c.get("measure"):
            sid = (figure or {}).get("source_id") or (source or {}).get("source_id")
            candidates = [f for f in ctx.by_cell.get(cell_key(sid, c["measure"], c.get("dims"), words), [])
                          if figure is None or f["figure_id"] != figure["figure_id"]]
            same_period = [f for f in candidates if figure is not None and f.get("period_start") == figure.get("period_start")
                           and f.get("period_end") == figure.get("period_end")]
            right = (same_period or candidates or [None])[0]
        view = ClaimView(c, look_of(c.get("verdict")), figure, source, explain.explain_claim(c, figure, source, right, words),
                         ctx.figure_views[figure["figure_id"]].cell if figure else "", f"claim-{i}", i)
        review_url = publisher.review_url(version_of_reviews, file, view.anchor)
        view.unrated = export.unrated_reason(c, a)
        view.review = export.claim_review(c, a, review_url, publisher, reviews_dated, view.sentence)
        views.append(view)
    findings: list[FindingView] = []
    default_source = _source_of({}, None, a, sources)
    for j, n in enumerate(names.take(a["article_id"]), 1):
        entry, sentence = explain.explain_finding("name", n, sources.get(n.get("source_id")) or default_source, words)
        findings.append(FindingView("name", n, entry["label"], entry["marker"], sentence, f"name-{j}"))
    for j, d in enumerate(dates.take(a["article_id"]), 1):
        if d.get("flagged"):
            kind = "date_flagged"
        elif d.get("consistent") is not None:
            kind = "date"
        else:
            continue
        entry, sentence = explain.explain_finding(kind, d, sources.get(d.get("source_id")) or default_source, words)
        findings.append(FindingView(kind, d, entry["label"], entry["marker"], sentence, f"date-{j}"))
    spans = [(int(c.row["start"]), int(c.row["end"]), c) for c in views]
    spans += [(int(f.row["start"]), int(f.row["end"]), f) for f in findings if f.kind != "date"]
    spans += [(int(f.row["start"]), int(f.row["end"]), f) for f in findings if f.kind == "date"]
    cited = [sources[s.strip()] for s in (a.get("cites") or "").split(",") if s.strip() in sources]
    return ArticlePage(a, file, views, findings, _segments(body, spans), [v.review for v in views if v.review], cited)


def checks_view(con: duckdb.DuckDBPyConnection, version: versions.Version, present: list[str],
                check_rows: dict[str, object] | None) -> list[CheckView]:
    stored = check_rows or {}
    check_views = []
    for c in rows(con, "check_results", version.snapshot_id, present, "asset_key, check_name"):
        if c.get("passed") is True:
            status = "passed"
        elif c.get("passed") is None:
            status = "not evaluated"
        elif c.get("severity") == "WARN":
            status = "warning"
        else:
            status = "failed"
        check_views.append(CheckView(c, status, _check_rows_text(stored.get(f"{c['asset_key']}.{c['check_name']}"))))
    order = {"failed": 0, "warning": 1, "not evaluated": 2, "passed": 3}
    check_views.sort(key=lambda c: (order[c.status], c.row["asset_key"], c.row["check_name"]))
    return check_views


def assemble(con: duckdb.DuckDBPyConnection, version: versions.Version, ctx: Context,
             check_rows: dict[str, object] | None = None, counts: Counter | None = None,
             counted=None, since: Since | None = None) -> Report:
    """The report's model: the figures' citations, the overview's counts and the diff from SQL
    (summary.py), the checks. `counts`: claims per verdict for the legend (default: the overview's).
    `counted(report)`: called with the model once everything but the diff is in it (the charts can
    be drawn meanwhile). `since`: the previous version, as read before."""
    from factledger.report import summary  # it builds on this module's views

    files = page_files(con, version.snapshot_id, ctx.present)
    summary.cite(con, version, ctx, files)
    overview = summary.overview(con, version, files, ctx.present)
    model = Report(ctx.vrow, list(ctx.source_pages.values()), checks_view(con, version, ctx.present, check_rows),
                   DiffView(None, [], [], [], [], False, []), ctx.publisher, ctx.words,
                   _counts=counts if counts is not None else overview.counts, overview=overview)
    if counted is not None:
        counted(model)
    model.diff = _diff(con, version, ctx, files, since if since is not None else Since.of(con, version, ctx.present))
    return model


@dataclass
class Since:
    """The version before a report's (None when it is the first), its `dataset_versions` row, and
    the change feeds from it (diff.Feeds): read once for the pages taken over, the diff and the
    article pages' navigation; and the claims of the article pages built for the report, when few
    (the diff page lists the changed claims as those pages show them)."""

    previous: versions.Version | None
    row: dict | None
    feeds: diff.Feeds | None
    built: dict[str, list[ClaimView]] = field(default_factory=dict)  # article_id -> its page's claims, pages built so far

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, version: versions.Version, present: list[str] | None = None) -> "Since":
        """`present`: the version's published tables, when read before."""
        earlier = [v for v in versions.versions(con) if v.version < version.version]
        if not earlier:
            return cls(None, None, None)
        previous = earlier[-1]
        return cls(previous, versions.version_row(con, previous.version),
                   diff.Feeds(con, previous.snapshot_id, version.snapshot_id, present))


def load(con: duckdb.DuckDBPyConnection, version: versions.Version, *, publisher: export.Publisher | None = None,
         created_at: str | None = None, check_rows: dict[str, object] | None = None) -> Report:
    """The report's model of `version`. `check_rows`: failing rows per `asset.check` (from the
    run's check metadata, when known)."""
    return assemble(con, version, context(con, version, publisher=publisher, created_at=created_at), check_rows)


# Rows of each table's diff the diff page lists (it says how many more there are).
DIFF_ROWS = 500


def claim_changes(con: duckdb.DuckDBPyConnection, old_snapshot: int, version: versions.Version, ctx: Context,
                  limit: int = DIFF_ROWS, feeds: diff.Feeds | None = None,
                  built: dict[str, list[ClaimView]] | None = None) -> tuple[list[tuple[str, dict | None, "ClaimView | None"]], int]:
    """The claims added, removed, or changed in what they say (CLAIM_MEANING) from `old_snapshot`
    to `version`, compared in SQL on the claims the change feed names (every claim when it cannot):
    the first `limit` by change and claim_id as (claim_id, before, now), and how many there are.
    `feeds`: the change feeds between the two snapshots, as read before; `built`: article_id -> the
    claims of its page, for pages built before (the others are built here)."""
    new_snapshot = version.snapshot_id
    if feeds is None or (feeds.old, feeds.new) != (old_snapshot, new_snapshot):
        feeds = diff.Feeds(con, old_snapshot, new_snapshot)
    old_present = "claims" in feeds.tables_at(old_snapshot)
    if not old_present and "claims" not in ctx.present:
        return [], 0
    keys = feeds.keys("claims") if old_present and "claims" in ctx.present else None
    if keys == "":
        return [], 0
    old = versions.relation_at("claims", old_snapshot) if old_present else None
    new = versions.relation_at("claims", new_snapshot) if "claims" in ctx.present else None
    old, new = old or f"(SELECT * FROM {new} WHERE FALSE)", new or f"(SELECT * FROM {old} WHERE FALSE)"
    shared = set(versions.columns_at(con, old)) & set(versions.columns_at(con, new))
    meaning = [c for c in CLAIM_MEANING if c in shared]
    scope = f" WHERE claim_id IN (SELECT claim_id FROM {keys})" if keys else ""
    differs = " OR ".join(f"o.{quote(c)} IS DISTINCT FROM n.{quote(c)}" for c in meaning) or "FALSE"
    before = ", ".join(f"o.{quote(c)} AS {quote('old_' + c)}" for c in ("phrase", "verdict") if c in shared)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE report_claim_changes AS
        SELECT CASE WHEN o.claim_id IS NULL THEN 'added' WHEN n.claim_id IS NULL THEN 'removed' ELSE 'changed' END AS change,
               CAST(coalesce(n.claim_id, o.claim_id) AS VARCHAR) AS key, n.article_id AS article_id,
               o.claim_id IS NOT NULL AS had{', ' + before if before else ''}
        FROM (SELECT * FROM {old}{scope}) o FULL OUTER JOIN (SELECT * FROM {new}{scope}) n ON o.claim_id = n.claim_id
        WHERE o.claim_id IS NULL OR n.claim_id IS NULL OR {differs}""")
    try:
        total = con.execute("SELECT count(*) FROM temp.main.report_claim_changes").fetchone()[0]
        cur = con.execute(f"SELECT * FROM temp.main.report_claim_changes ORDER BY change, key LIMIT {int(limit)}")
        names = [d[0] for d in cur.description]
        listed = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.report_claim_changes")
    now: dict[str, ClaimView] = {}
    ids = sorted({r["article_id"] for r in listed if r["article_id"] is not None})
    wanted = {r["key"] for r in listed}
    built = built or {}
    for article_id in ids:
        now.update((str(c.row["claim_id"]), c) for c in built.get(article_id, ()) if str(c.row["claim_id"]) in wanted)
    ids = [a for a in ids if a not in built]
    if ids:  # the pages of the articles listed (at most `limit`), for each claim's anchor and sentence
        within = "article_id IN (" + ", ".join(sql.literal(a) for a in ids) + ")"
        for page in iter_pages(con, version, ctx=ctx, within=within):
            now.update((str(c.row["claim_id"]), c) for c in page.claims if str(c.row["claim_id"]) in wanted)
    out = []
    for r in listed:
        old_row = {"phrase": r.get("old_phrase"), "verdict": r.get("old_verdict")} if r["had"] else None
        out.append((r["key"], old_row, now.get(r["key"])))
    return out, total


def _diff(con: duckdb.DuckDBPyConnection, version: versions.Version, ctx: Context, files: str | None, since: Since) -> DiffView:
    from factledger.report import summary

    vrow = ctx.vrow
    if since.previous is None:
        tables = diff.diff(con, None, version.snapshot_id, limit=DIFF_ROWS)
        return DiffView(None, tables, sorted(json.loads(vrow.get("input_hashes") or "{}")), [], [], False, [],
                        articles=summary.article_refs(con, version, files, ctx.present, _named(tables, [])))
    prev, prow = since.previous, since.row
    tables = diff.diff(con, prev.snapshot_id, version.snapshot_id, limit=DIFF_ROWS, feeds=since.feeds)
    old_in, new_in = json.loads(prow.get("input_hashes") or "{}"), json.loads(vrow.get("input_hashes") or "{}")
    changes, total = [], 0
    claims_diff = next((d for d in tables if d.table == "claims"), None)
    if claims_diff and claims_diff.changed:
        changes, total = claim_changes(con, prev.snapshot_id, version, ctx, feeds=since.feeds, built=since.built)
    return DiffView(
        prow, tables,
        sorted(set(new_in) - set(old_in)), sorted(set(old_in) - set(new_in)),
        sorted(k for k in set(old_in) & set(new_in) if old_in[k] != new_in[k]),
        prow.get("code_sha256") != vrow.get("code_sha256"), changes, total,
        summary.article_refs(con, version, files, ctx.present, _named(tables, changes)),
    )


def _named(tables: list[diff.TableDiff], changes: list) -> set[str]:
    """The articles a diff page names: of the rows it lists, and of the claims that changed."""
    ids = {r[2] for t in tables for r in t.rows[:DIFF_ROWS] if r[2]}
    return ids | {c.row["article_id"] for _, _, c in changes if c is not None}
