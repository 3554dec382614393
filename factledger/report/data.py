"""What the report shows, read from one published dataset version: pages' view models built from
the published tables (as of the version's snapshot, through the helpers `factledger sql` uses)
and generic columns only (measure, dims, values; no dimension is named here)."""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import duckdb

from factledger import diff, export, versions
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


@dataclass
class ArticlePage:
    article: dict
    file: str
    claims: list[ClaimView]
    findings: list[FindingView]
    segments: list[Segment]
    reviews: list[dict]
    sources: list[dict]

    headline_text: str | None = None  # set when the page is slimmed (its body is gone)
    reused: bool = False  # taken over from an earlier version's report (see reuse.py), not rendered

    @property
    def headline(self) -> str:
        if self.headline_text is not None:
            return self.headline_text
        return self.article.get("title") or export.opening_words(self.article.get("body"), 80) or self.article["article_id"]

    @property
    def has_title(self) -> bool:
        return bool(self.article.get("title"))

    @property
    def outlet(self) -> str:
        return self.article.get("outlet") or "Unknown outlet"

    @property
    def url(self) -> str | None:
        return export.safe_url(self.article.get("url"))

    @functools.cached_property
    def counts(self) -> Counter:
        return Counter(c.look.verdict for c in self.claims)


@dataclass
class FigureView:
    figure: dict
    cell: str
    anchor: str
    citations: list[tuple[ArticlePage, ClaimView]] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(c.look.verdict for _, c in self.citations)

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
        cited = sorted((f for f in self.figures if f.citations), key=lambda f: -len(f.citations))
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
    claim_changes: list[tuple[str, dict | None, ClaimView | None]]  # (claim_id, before, now)


@dataclass
class Report:
    version: dict
    articles: list[ArticlePage]
    sources: list[SourcePage]
    checks: list[CheckView]
    diff: DiffView
    publisher: export.Publisher
    words: dict
    _counts: Counter | None = None
    _styles: list | None = None

    @property
    def number(self) -> int:
        return int(self.version["version"])

    def outlets(self) -> list[tuple[str, list[ArticlePage]]]:
        by: dict[str, list[ArticlePage]] = defaultdict(list)
        for page in self.articles:
            by[page.outlet].append(page)
        return sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0].lower()))

    def verdict_counts(self) -> Counter:
        if self._counts is None:
            total: Counter = Counter()
            for page in self.articles:
                total.update(page.counts)
            self._counts = total
        return self._counts

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
            columns: str = "*"):
    """Rows of published table `name` (matching `where`) as dicts, in `order`, a batch at a time (own cursor)."""
    if name not in present:
        return
    cur = con.cursor()
    try:
        cur.execute(f"SELECT {columns} FROM {versions.relation_at(name, snapshot_id)} WHERE {where} ORDER BY {order}")
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


def page_files(con: duckdb.DuckDBPyConnection, snapshot_id: int, present: list[str]) -> dict[str, str]:
    """article_id -> its page's file: every article takes its name, in article_id order."""
    if "articles" not in present:
        return {}
    taken: set[str] = set()
    return {a: f"articles/{slug(a, taken)}.html" for a, in con.execute(
        f"SELECT article_id FROM {versions.relation_at('articles', snapshot_id)} ORDER BY article_id").fetchall()}


# Where iter_pages keeps the ids of the articles whose pages are taken over from an earlier report
# (a table of the in-memory database, so the cursors reading the published rows see it too).
REUSED_TABLE = "memory.main.report_reused_articles"


def iter_pages(con: duckdb.DuckDBPyConnection, version: versions.Version, *, publisher: export.Publisher | None = None,
               created_at: str | None = None, ctx: Context | None = None, reviewable_only: bool = False,
               reuse: page_reuse.Reuse | None = None, light: bool | set[str] = False):
    """Every article's page model, in article_id order, built as the published rows stream by
    (a batch at a time: the corpus is never held). Each page's claims are added to the
    citations of the figures they were matched to (`ctx.figure_views`). `reviewable_only`: only
    the pages of articles that may carry a ClaimReview (for the JSON-LD export).

    `reuse`: pages an earlier version's report wrote that this one takes over. With `light`, those
    are built already slimmed, from the few columns the other pages need, and marked `reused`
    (their text, findings and sentences are not read); `light` a set: only those of these
    articles. Either way, their ClaimReviews carry the version they were written for."""
    ctx = ctx or context(con, version, publisher=publisher, created_at=created_at)
    snap, present, words, sources, publisher = version.snapshot_id, ctx.present, ctx.words, ctx.sources, ctx.publisher
    files = page_files(con, snap, present)
    reuse = reuse or page_reuse.Reuse(None)
    taken_over = {a for a, f in files.items() if reuse.reusable(a, f)}
    review_at = page_reuse.review_versions(con, reuse) if taken_over else {}
    if light is not True:
        taken_over &= light or set()
        light = bool(taken_over)
    only = f"article_id IN (SELECT article_id FROM {versions.relation_at('articles', snap)} WHERE {REVIEWABLE})" \
        if reviewable_only and "articles" in present else "TRUE"
    light_claims = _ByArticle(iter(()))
    if light and taken_over:
        con.execute(f"CREATE OR REPLACE TABLE {REUSED_TABLE} AS SELECT unnest(?::VARCHAR[]) AS article_id", [sorted(taken_over)])
        slim_columns = [c for c in versions.columns_at(con, versions.relation_at("claims", snap))
                        if c in SLIM_CLAIM or c in ctx.dim_cols] if "claims" in present else []
        light_claims = _ByArticle(_stream(con, "claims", snap, present, "article_id, start",
                                          f"article_id IN (SELECT article_id FROM {REUSED_TABLE})",
                                          ", ".join(quote(c) for c in slim_columns)))
        only = f"({only}) AND article_id NOT IN (SELECT article_id FROM {REUSED_TABLE})"
    claims = _ByArticle(_stream(con, "claims", snap, present, "article_id, start", only))
    dates = _ByArticle(_stream(con, "date_findings", snap, present, "article_id, start", only))
    names = _ByArticle(_stream(con, "name_findings", snap, present, "article_id, start", only))
    looks: dict[str | None, explain.VerdictStyle] = {}  # one style object per verdict, shared by its claims

    def look_of(verdict):
        return looks.get(verdict) or looks.setdefault(verdict, explain.style(verdict, words))

    for a in _stream(con, "articles", snap, present, "article_id"):
        file = files[a["article_id"]]
        if reviewable_only and not (a.get("url") is not None and a.get("published") is not None):
            continue
        if light and a["article_id"] in taken_over:
            yield _light_page(a, file, light_claims.take(a["article_id"]), ctx, look_of)
            continue
        version_of_reviews, reviews_dated = review_at.get(a["article_id"], (int(ctx.vrow["version"]), ctx.created_at))
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
                             explain.cell_text(figure, words) if figure else "", f"claim-{i}", i)
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
        page = ArticlePage(a, file, views, findings, _segments(body, spans), [v.review for v in views if v.review], cited)
        _cite(page, ctx)
        yield page


def _cite(page: ArticlePage, ctx: Context) -> None:
    """Add the page's claims to the citations of the figures they were matched to."""
    for v in page.claims:
        if v.figure is not None and v.figure["figure_id"] in ctx.figure_views:
            ctx.figure_views[v.figure["figure_id"]].citations.append((page, v))


def _light_page(article: dict, file: str, claims: list[dict], ctx: Context, look_of) -> ArticlePage:
    """The slimmed page of an article whose page is taken over from an earlier report: what the
    overview, the lists and the source pages show of it (no sentence, text or finding)."""
    views = []
    figures = ctx.fig_by_id
    for i, c in enumerate(claims, 1):  # the rows hold SLIM_CLAIM's columns only (and the dimensions)
        if ctx.dim_cols:
            add_dims(c, ctx.dim_cols)
        figure_id = c.get("figure_id")
        views.append(ClaimView(c, look_of(c.get("verdict")), figures.get(figure_id) if figure_id else None, None, "", "",
                               f"claim-{i}", i))
    page = ArticlePage(article, file, views, [], [], [], [])
    page.headline_text, page.reused = page.headline, True
    page.article = {k: v for k, v in article.items() if k != "body"}
    _cite(page, ctx)
    return page


def slim(page: ArticlePage) -> ArticlePage:
    """What the overview, the article list, the source and diff pages still need of a page once
    it is written: its text, highlights, findings and reviews are dropped (the corpus is not held)."""
    page.headline_text = page.headline
    page.article = {k: v for k, v in page.article.items() if k != "body"}
    page.segments, page.reviews, page.findings = [], [], []
    for c in page.claims:
        c.review = None
        c.row = {k: c.row.get(k) for k in SLIM_CLAIM if k in c.row}
    return page


# What a slimmed page keeps of each claim's row: its identity, and what the diff compares and shows.
SLIM_CLAIM = ("claim_id", "article_id", "phrase", "start", "end", *CLAIM_MEANING)


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


def assemble(con: duckdb.DuckDBPyConnection, version: versions.Version, ctx: Context, pages: list[ArticlePage],
             check_rows: dict[str, object] | None = None) -> Report:
    """The report's model from its (possibly slimmed) article pages."""
    return Report(ctx.vrow, pages, list(ctx.source_pages.values()), checks_view(con, version, ctx.present, check_rows),
                  _diff(con, version, ctx.vrow, pages), ctx.publisher, ctx.words)


def load(con: duckdb.DuckDBPyConnection, version: versions.Version, *, publisher: export.Publisher | None = None,
         created_at: str | None = None, check_rows: dict[str, object] | None = None) -> Report:
    """The report's model of `version`, every page whole. `check_rows`: failing rows per
    `asset.check` (from the run's check metadata, when known)."""
    ctx = context(con, version, publisher=publisher, created_at=created_at)
    return assemble(con, version, ctx, list(iter_pages(con, version, ctx=ctx)), check_rows)


# Rows of each table's diff the diff page lists (it says how many more there are).
DIFF_ROWS = 500


def _diff(con: duckdb.DuckDBPyConnection, version: versions.Version, vrow: dict, pages: list[ArticlePage]) -> DiffView:
    earlier = [v for v in versions.versions(con) if v.version < version.version]
    if not earlier:
        return DiffView(None, diff.diff(con, None, version.snapshot_id, limit=DIFF_ROWS),
                        sorted(json.loads(vrow.get("input_hashes") or "{}")), [], [], False, [])
    prev = earlier[-1]
    prow = versions.version_row(con, prev.version)
    tables = diff.diff(con, prev.snapshot_id, version.snapshot_id, limit=DIFF_ROWS)
    old_in, new_in = json.loads(prow.get("input_hashes") or "{}"), json.loads(vrow.get("input_hashes") or "{}")
    changes = []
    claims_diff = next((d for d in tables if d.table == "claims"), None)
    if claims_diff and claims_diff.changed:
        if claims_diff.total > len(claims_diff.rows):  # every changed claim is compared, not only the listed ones
            claims_diff = next(d for d in diff.diff(con, prev.snapshot_id, version.snapshot_id, tables=["claims"]))
        old_claims = {}
        if "claims" in versions.tables_at(con, prev.snapshot_id):  # only the changed ones: not the whole version
            cur = con.execute(f"SELECT * FROM {versions.relation_at('claims', prev.snapshot_id)} "
                              "WHERE list_contains(?, CAST(claim_id AS VARCHAR))", [[r[1] for r in claims_diff.rows]])
            names = [d[0] for d in cur.description]
            old_claims = {row["claim_id"]: row for row in (dict(zip(names, r)) for r in cur.fetchall())}
        now = {c.row["claim_id"]: c for p in pages for c in p.claims}
        for change, key, *_ in claims_diff.rows:
            old, new = old_claims.get(key), now.get(key)
            if old is None or new is None or any(old.get(k) != new.row.get(k) for k in CLAIM_MEANING if k in old):
                changes.append((key, old, new))
    return DiffView(
        prow, tables,
        sorted(set(new_in) - set(old_in)), sorted(set(old_in) - set(new_in)),
        sorted(k for k in set(old_in) & set(new_in) if old_in[k] != new_in[k]),
        prow.get("code_sha256") != vrow.get("code_sha256"), changes,
    )
