"""The report's figures over a whole version, as SQL aggregates over its published tables: claims
per outlet and verdict, the articles each outlet lists, every figure's citations, the pages of the
article list. Nothing here holds a row per article: DuckDB counts, Python gets the counts and the
few rows a page lists (bounded by the MAX_* constants), or a stream of rows (the article list).

Counts follow the pages: a claim is counted when its article is published (it has a page), under
the verdict its page shows (an empty verdict reads as `unknown`, as explain.style says)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb

from factledger import sql, versions
from factledger.report import data, explain

MAX_OUTLETS = 50  # outlets the overview's table lists (the rest summed in one row)
MAX_PER_OUTLET = 10  # articles the overview lists per outlet (all are in the article list)
ARTICLES_PER_PAGE = 500  # rows of each page of the article list (articles.html, articles-2.html, ...)
MAX_CITED = 50  # citations a source page lists per figure
CHART_ROWS = 15  # bars of the outlets' chart (charts.MAX_ROWS: the rest summed in one)
HEAD_CHARS = 300  # characters of an untitled body read for its opening words

# A claim's verdict and an article's outlet as the pages show them (explain.style, data.outlet_of).
VERDICT = "coalesce(nullif({col}, ''), 'unknown')"
OUTLET = "coalesce(nullif({col}, ''), " + sql.literal(data.outlet_of(None)) + ")"


@dataclass
class ArticleLink:
    """An article as a list shows it: its page, outlet, heading, date and claims by verdict."""

    article_id: str
    file: str
    outlet: str
    headline: str
    published: object
    counts: Counter = field(default_factory=Counter)


@dataclass
class OutletRow:
    rank: int  # 1: the outlet with the most articles
    outlet: str
    articles: int
    counts: Counter
    listed: list[ArticleLink]  # its first MAX_PER_OUTLET articles, in article_id order
    list_page: str  # where its articles start in the article list (file#anchor)


@dataclass
class Overview:
    articles: int
    claims: int
    counts: Counter  # claims per verdict
    outlet_count: int
    outlets: list[OutletRow]  # the first MAX_OUTLETS, most articles first
    rest_articles: int  # articles of the outlets not listed
    rest_counts: Counter
    chart_rows: list[tuple[str, dict]]  # (outlet, claims by verdict), at most CHART_ROWS
    list_pages: int  # pages of the article list


def list_file(page: int) -> str:
    """The file of page `page` (1-based) of the article list."""
    return "articles.html" if page <= 1 else f"articles-{page}.html"


OUTLET_ANCHOR = "outlet-"  # and the outlet's rank: where its articles start in the article list


def outlet_anchor(rank: int) -> str:
    return f"{OUTLET_ANCHOR}{rank}"


def list_pages(articles: int, per_page: int | None = None) -> int:
    """Pages of the article list for `articles` articles (one, empty, when there are none),
    `per_page` (default ARTICLES_PER_PAGE) a page."""
    return max(1, -(-articles // (per_page or ARTICLES_PER_PAGE)))


def list_position(first: int, per_page: int | None = None) -> int:
    """The page (1-based) of the article list holding the article at 0-based position `first`."""
    return first // (per_page or ARTICLES_PER_PAGE) + 1


def _relations(snap: int, files: str, present: list[str]) -> str:
    """WITH clauses: `arts` (article_id, outlet as shown), `outlets` (outlet, n, rank, first: the
    0-based position of its first article in the list), `cl` (claims of published articles:
    claim_id, article_id, start, figure_id, phrase, v: the verdict as shown)."""
    articles = versions.relation_at("articles", snap)
    # The few columns the counts and citations read (DuckDB materialises a CTE used twice: not every column).
    claims = (f"SELECT c.claim_id, c.article_id, c.start, c.figure_id, c.phrase, {VERDICT.format(col='c.verdict')} AS v "
              f"FROM (SELECT * FROM {versions.relation_at('claims', snap)}) c "
              f"WHERE c.article_id IN (SELECT article_id FROM {articles})") if "claims" in present else \
        ("SELECT NULL::VARCHAR AS claim_id, NULL::VARCHAR AS article_id, NULL::INTEGER AS start, NULL::VARCHAR AS figure_id, "
         "NULL::VARCHAR AS phrase, NULL::VARCHAR AS v WHERE FALSE")
    return f"""WITH arts AS (SELECT a.article_id, {OUTLET.format(col='a.outlet')} AS outlet FROM (SELECT * FROM {articles}) a),
        outlets AS (SELECT outlet, n, rank, sum(n) OVER (ORDER BY rank) - n AS first FROM (
            SELECT outlet, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, lower(outlet), outlet) AS rank
            FROM arts GROUP BY outlet)),
        cl AS ({claims})"""


class Headlines:
    """Articles' headings from SQL columns (HEADLINE_COLUMNS): the title, else the opening words of
    the body's first HEAD_CHARS characters, the whole body read only when those are too few."""

    COLUMNS = (f"a.title AS __title, CASE WHEN coalesce(a.title, '') = '' THEN left(a.body, {HEAD_CHARS}) END AS __head, "
               f"length(a.body) > {HEAD_CHARS} AS __long")

    def __init__(self, con: duckdb.DuckDBPyConnection, snap: int) -> None:
        self.con, self.snap = con, snap

    def __call__(self, article_id: str, title, head, long) -> str:
        if title or not long or len(" ".join((head or "").split())) > data.HEADLINE_WORDS:
            return data.headline_of(title, head, article_id)  # the opening words are within the first characters
        body = self.con.execute(f"SELECT body FROM {versions.relation_at('articles', self.snap)} WHERE article_id = ?",
                                [article_id]).fetchone()[0]
        return data.headline_of(title, body, article_id)


def overview(con: duckdb.DuckDBPyConnection, version: versions.Version, files: str | None, present: list[str]) -> Overview:
    """The overview's counts: claims per verdict and per outlet, the outlets with their first
    articles, the chart's rows, the article list's length."""
    if files is None:
        return Overview(0, 0, Counter(), 0, [], 0, Counter(), [], 1)
    snap = version.snapshot_id
    with_ = _relations(snap, files, present)
    keep = max(MAX_OUTLETS, CHART_ROWS)
    outlets = con.execute(f"{with_} SELECT rank, outlet, n, first FROM outlets WHERE rank <= {keep} ORDER BY rank").fetchall()
    total_outlets, total_articles = con.execute(f"{with_} SELECT count(*), coalesce(sum(n), 0) FROM outlets").fetchone()
    # Claims by verdict per listed outlet; the others' summed under rank 0.
    by_rank: dict[int, Counter] = {}
    for rank, v, n in con.execute(f"""{with_} SELECT CASE WHEN o.rank <= {keep} THEN o.rank ELSE 0 END, cl.v, count(*)
            FROM cl JOIN arts USING (article_id) JOIN outlets o ON o.outlet = arts.outlet GROUP BY ALL""").fetchall():
        by_rank.setdefault(rank, Counter())[v] += n
    heads = Headlines(con, snap)
    listed: dict[int, list[ArticleLink]] = {}
    cur = con.execute(f"""{with_},
        first AS (SELECT o.rank, arts.article_id FROM (SELECT *, row_number() OVER (PARTITION BY outlet ORDER BY article_id) AS k
                                                       FROM arts) arts JOIN outlets o ON o.outlet = arts.outlet
                  WHERE o.rank <= {MAX_OUTLETS} AND arts.k <= {MAX_PER_OUTLET})
        SELECT first.rank, a.article_id, f.file, {Headlines.COLUMNS}, a.published
        FROM first JOIN (SELECT * FROM {versions.relation_at('articles', snap)}) a USING (article_id) JOIN {files} f USING (article_id)
        ORDER BY first.rank, a.article_id""")
    for rank, article_id, file, title, head, long, published in cur.fetchall():
        outlet = outlets[rank - 1][1]
        listed.setdefault(rank, []).append(ArticleLink(article_id, file, outlet, heads(article_id, title, head, long), published))
    rows = [OutletRow(rank, outlet, n, by_rank.get(rank, Counter()), listed.get(rank, []),
                      f"{list_file(list_position(first))}#{outlet_anchor(rank)}")
            for rank, outlet, n, first in outlets]
    counts = sum(by_rank.values(), Counter())
    shown = rows[:MAX_OUTLETS]
    rest_counts = sum((r.counts for r in rows[MAX_OUTLETS:]), by_rank.get(0, Counter()))
    if total_outlets <= CHART_ROWS:
        chart = [(r.outlet, dict(r.counts)) for r in rows]
    else:  # as charts.stacked_bars sums them: the first CHART_ROWS - 1, then "N others"
        others = sum((r.counts for r in rows[CHART_ROWS - 1:]), by_rank.get(0, Counter()))
        chart = [(r.outlet, dict(r.counts)) for r in rows[:CHART_ROWS - 1]]
        chart.append((f"{total_outlets - CHART_ROWS + 1} others", dict(others)))
    return Overview(int(total_articles), sum(counts.values()), counts, int(total_outlets), shown,
                    int(total_articles) - sum(r.articles for r in shown), rest_counts, chart, list_pages(int(total_articles)))


def article_links(con: duckdb.DuckDBPyConnection, version: versions.Version, files: str | None, present: list[str],
                  ids: str | None = None, counts: bool = True) -> Iterator[ArticleLink]:
    """The articles of `ids` (SQL selecting article_id; None: every article) as the lists show
    them, in article_id order, a batch of rows at a time; `counts`: with their claims by verdict."""
    if files is None:
        return
    snap = version.snapshot_id
    with_ = _relations(snap, files, present)
    only = (lambda col: f"WHERE {col} IN ({ids})" if ids else "")  # noqa: E731
    rows = data.rows_of(con, f"""SELECT a.article_id, f.file, {OUTLET.format(col='a.outlet')}, {Headlines.COLUMNS}, a.published
        FROM (SELECT * FROM {versions.relation_at('articles', snap)}) a JOIN {files} f USING (article_id) {only('a.article_id')}
        ORDER BY a.article_id""")
    # Each article's claims by verdict, in the same order (a second stream: a list per article
    # aggregated and sorted with the rows took DuckDB past 400 MB at 100,000 articles).
    found = data.rows_of(con, f"""{with_} SELECT article_id, v, count(*) FROM cl
        {only('article_id')} GROUP BY ALL ORDER BY article_id, v""") if counts else iter(())
    heads = Headlines(con, snap)
    pending = next(found, None)
    for article_id, file, outlet, title, head, long, published in rows:
        seen: Counter = Counter()
        while pending is not None and pending[0] <= article_id:
            if pending[0] == article_id:
                seen[pending[1]] += pending[2]
            pending = next(found, None)
        yield ArticleLink(article_id, file, outlet, heads(article_id, title, head, long), published, seen)


def list_page_rows(con: duckdb.DuckDBPyConnection, version: versions.Version, files: str | None, present: list[str],
                   rows: str, start_sql, per_page: int | None = None) -> Iterator[tuple[int, int, str]]:
    """(page, articles on it, its rows' HTML) of each page of the article list, joined in SQL from
    `rows` (a table of article_id, list_row: an article's row but its opening) in the list's order:
    by outlet (most articles first, as on the overview), then article_id. `start_sql(first, anchor)`:
    the SQL of a row's opening (fragments.list_row_start_sql), an outlet's first row with its anchor."""
    if files is None:
        return
    per_page = int(per_page or ARTICLES_PER_PAGE)
    with_ = _relations(version.snapshot_id, files, present)
    start = start_sql("o.k = 1", f"{sql.literal(OUTLET_ANCHOR)} || o.rank")
    yield from data.rows_of(con, f"""{with_},
        ordered AS (SELECT arts.article_id, o.rank, row_number() OVER (PARTITION BY o.rank ORDER BY arts.article_id) AS k,
                           row_number() OVER (ORDER BY o.rank, arts.article_id) - 1 AS pos
                    FROM arts JOIN outlets o ON o.outlet = arts.outlet JOIN {files} f USING (article_id))
        SELECT o.pos // {per_page} + 1 AS page, count(*), string_agg({start} || r.list_row, '' ORDER BY o.pos)
        FROM ordered o JOIN {rows} r USING (article_id) GROUP BY ALL ORDER BY page""")


def cite(con: duckdb.DuckDBPyConnection, version: versions.Version, ctx: data.Context, files: str | None) -> None:
    """Give each figure of `ctx` its citations: every claim matched to it counted by verdict, and
    the first MAX_CITED listed (in article_id order, then as they stand in the article), each with
    its article's page and the claim's anchor there (claim-<k>: the k-th claim of the article)."""
    if files is None or "claims" not in ctx.present or not ctx.figure_views:
        return
    snap = version.snapshot_id
    claims = versions.relation_at("claims", snap)
    # Straight from the claims table, not through _relations' `cl` (a CTE used twice is materialised whole).
    cited = (f"SELECT claim_id, article_id, start, figure_id, phrase, {VERDICT.format(col='verdict')} AS v FROM {claims} "
             f"WHERE figure_id IN (SELECT figure_id FROM {versions.relation_at('figures', snap)}) "
             f"AND article_id IN (SELECT article_id FROM {files})")
    for figure_id, v, n in con.execute(f"SELECT figure_id, v, count(*) FROM ({cited}) GROUP BY ALL").fetchall():
        if figure_id in ctx.figure_views:
            ctx.figure_views[figure_id].counts[v] += n
    looks: dict[str, explain.VerdictStyle] = {}
    # Each figure's first MAX_CITED claims by a top-n aggregate (arg_min's n smallest, in order), not a sort of every citation.
    rows = con.execute(f"""WITH
        firsts AS (SELECT figure_id, arg_min(struct_pack(claim_id, article_id, phrase, v), (article_id, start, claim_id),
                                             {int(MAX_CITED)}) AS l FROM ({cited}) GROUP BY figure_id),
        top AS (SELECT figure_id, k, c.claim_id, c.article_id, c.phrase, c.v
                FROM (SELECT figure_id, unnest(l) AS c, generate_subscripts(l, 1) AS k FROM firsts)),
        numbered AS (SELECT claim_id, row_number() OVER (PARTITION BY article_id ORDER BY start, claim_id) AS number
                     FROM {claims} WHERE article_id IN (SELECT article_id FROM top))
        SELECT top.figure_id, f.file, {OUTLET.format(col='a.outlet')}, top.phrase, numbered.number, top.v
        FROM top JOIN numbered USING (claim_id) JOIN {files} f USING (article_id)
        JOIN (SELECT article_id, outlet FROM {versions.relation_at('articles', snap)}) a USING (article_id)
        ORDER BY top.figure_id, top.k""").fetchall()
    for figure_id, file, outlet, phrase, number, v in rows:
        if figure_id in ctx.figure_views:
            look = looks.get(v) or looks.setdefault(v, explain.style(v, ctx.words))
            ctx.figure_views[figure_id].citations.append(data.Citation(file, outlet, phrase, f"claim-{number}", look))


def article_refs(con: duckdb.DuckDBPyConnection, version: versions.Version, files: str | None, present: list[str],
                 ids: set[str]) -> dict[str, ArticleLink]:
    """article_id -> its link, for a few articles (those a diff page names)."""
    if files is None or not ids:
        return {}
    chosen = "SELECT unnest([" + ", ".join(sql.literal(a) for a in sorted(ids)) + "]::VARCHAR[])"
    return {link.article_id: link for link in article_links(con, version, files, present, chosen, counts=False)}
