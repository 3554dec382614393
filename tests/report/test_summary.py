"""The report's counts come from SQL aggregates (factledger/report/summary.py), not from a model of
every article page: they must agree with the pages themselves. Lists of every article are paged,
lists of every citation or outlet are cut, each saying how many there are and where the rest are."""
from __future__ import annotations

import re
from collections import Counter

import duckdb
import pytest

from factledger import lake
from factledger.report import build, data, fragments, summary
from tests.report.pages import parse


@pytest.fixture(scope="module")
def pages(built, version2):
    """Every article page of version 2 built whole, and the report's model (counts from SQL)."""
    with lake.connect(built.warehouse, read_only=True) as con:
        ctx = data.context(con, version2)
        built_pages = list(data.iter_pages(con, version2, ctx=ctx))
        model = data.assemble(con, version2, ctx)
    return built_pages, model


def test_list_paging_is_plain_arithmetic():
    assert summary.list_pages(0) == 1 and summary.list_pages(1, 500) == 1
    assert summary.list_pages(500, 500) == 1 and summary.list_pages(501, 500) == 2
    assert [summary.list_position(i, 500) for i in (0, 499, 500, 1499)] == [1, 1, 2, 3]
    assert summary.list_file(1) == "articles.html" and summary.list_file(7) == "articles-7.html"
    assert build.pager(1, 1) == [1]
    assert build.pager(1, 20) == [1, 2, 3, 4, None, 20]
    assert build.pager(10, 20) == [1, None, 7, 8, 9, 10, 11, 12, 13, None, 20]
    assert build.pager(19, 20) == [1, None, 16, 17, 18, 19, 20]


def test_page_names_in_sql_are_slugs():
    ids = ["plain_id", "with space", "..dots..", "a/b\\c", "ümlaut-é", "", "___", "x" * 100, "Mixed.Case-1"]
    con = duckdb.connect()
    got = [r[0] for r in con.execute(f"SELECT {data.SLUG_SQL.format(col='x')} FROM (SELECT unnest(?::VARCHAR[]) AS x, "
                                     "generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i", [ids, ids]).fetchall()]
    assert got == [data.slug(i, set()) for i in ids]


def test_a_headline_reads_the_whole_body_only_when_its_opening_is_blank():
    class Con:
        asked = 0

        def execute(self, *_):
            Con.asked += 1
            return self

        def fetchone(self):
            return [" " * 2000 + "The real opening words of a long article that starts with blanks"]

    heads = summary.Headlines(Con(), 1)
    assert heads("a", "A title", None, True) == "A title"
    assert heads("a", None, "Short body", False) == "Short body" and Con.asked == 0
    long = "word " * 400
    assert heads("a", None, long[:summary.HEAD_CHARS], True) == data.headline_of(None, long, "a") and Con.asked == 0
    assert heads("a", None, " " * summary.HEAD_CHARS, True).startswith("The real opening words") and Con.asked == 1


def test_the_overview_counts_agree_with_the_pages(pages):
    built_pages, model = pages
    overview = model.overview
    per_outlet: dict[str, Counter] = {}
    articles: Counter = Counter()
    for page in built_pages:
        per_outlet.setdefault(page.outlet, Counter()).update(page.counts)
        articles[page.outlet] += 1
    assert overview.articles == len(built_pages) and overview.outlet_count == len(articles)
    assert overview.claims == sum(len(p.claims) for p in built_pages)
    assert overview.counts == sum(per_outlet.values(), Counter()) == model.verdict_counts()
    assert {o.outlet: o.articles for o in overview.outlets} == dict(articles)
    assert {o.outlet: o.counts for o in overview.outlets} == {k: +v for k, v in per_outlet.items()}
    assert [o.articles for o in overview.outlets] == sorted((o.articles for o in overview.outlets), reverse=True)
    for o in overview.outlets:  # its first articles, in article_id order, as their pages head them
        mine = sorted((p for p in built_pages if p.outlet == o.outlet), key=lambda p: p.article["article_id"])
        assert [(a.file, a.headline) for a in o.listed] == [(p.file, p.headline) for p in mine[:summary.MAX_PER_OUTLET]]


def test_the_citations_agree_with_the_pages(pages):
    built_pages, model = pages
    expected: dict[str, list] = {}
    for page in built_pages:
        for c in page.claims:
            if c.figure is not None:
                expected.setdefault(c.figure["figure_id"], []).append((page.file, page.outlet, c.row["phrase"], c.anchor, c.look.verdict))
    figures = {f.figure["figure_id"]: f for s in model.sources for f in s.figures}
    assert {k: f.cited for k, f in figures.items() if f.cited} == {k: len(v) for k, v in expected.items()}
    for figure_id, cited in expected.items():
        fig = figures[figure_id]
        assert fig.counts == Counter(v for *_, v in cited)
        assert [(c.file, c.outlet, c.phrase, c.anchor, c.look.verdict) for c in fig.citations] == cited[:summary.MAX_CITED]
    assert any(len(v) > 1 for v in expected.values())


def test_the_article_list_is_paged_with_every_article_once(built, version2, pages, monkeypatch):
    built_pages, _ = pages
    monkeypatch.setattr(summary, "ARTICLES_PER_PAGE", 2)
    with lake.connect(built.warehouse, read_only=True) as con:
        model = data.assemble(con, version2, data.context(con, version2))
        present = data.versions.tables_at(con, version2.snapshot_id)
        files = data.page_files(con, version2.snapshot_id, present)
        listed_links = list(summary.article_links(con, version2, files, present))
        table = build.list_rows_table(con, version2, files, present, model.styles())
        env = build.environment()
        listed = list(build.list_pages(env, build._common(model, env), summary.list_page_rows(
            con, version2, files, present, table, fragments.list_row_start_sql), len(listed_links)))
        data.drop_table(con, table)
    assert len(listed) == summary.list_pages(len(built_pages), 2) >= 3
    assert [name for name, _ in listed] == [summary.list_file(n) for n in range(1, len(listed) + 1)]
    seen, anchors = [], {}
    for number, (name, html) in enumerate(listed, 1):
        tree = parse(html)
        body_rows = tree.find_all("tbody")[0].find_all("tr")
        assert 1 <= len(body_rows) <= 2
        seen += [tr.find_all("a")[0].attrs["href"] for tr in body_rows]
        anchors.update({tr.attrs["id"]: name for tr in body_rows if "id" in tr.attrs})
        links = {a.attrs.get("href") for a in tree.find_all("a")}
        rel = {a.attrs["rel"]: a.attrs["href"] for a in tree.find_all("a") if a.attrs.get("rel") in ("prev", "next")}
        assert rel.get("next") == (summary.list_file(number + 1) if number < len(listed) else None)
        assert rel.get("prev") == (summary.list_file(number - 1) if number > 1 else None)
        assert {summary.list_file(n) for n in (1, len(listed)) if n != number} <= links  # the first and the last page
        text = " ".join(tree.text.split())
        assert f"{len(built_pages)} articles by outlet" in text and f"Page {number} of {len(listed)}" in text
        assert "../articles.csv.parts/" in links  # the export's folder of CSV parts
    assert sorted(seen) == sorted(p.file for p in built_pages)  # every article once
    counts = {a.file: a.counts for a in listed_links}
    assert counts == {p.file: +p.counts for p in built_pages}
    for o in model.overview.outlets:  # the overview's "… and N more" opens the page where the outlet starts
        page, anchor = o.list_page.split("#")
        assert anchors[anchor] == page


def test_long_lists_are_cut_and_say_how_many_more(built, version2, monkeypatch):
    monkeypatch.setattr(summary, "MAX_OUTLETS", 1)
    monkeypatch.setattr(summary, "MAX_PER_OUTLET", 1)
    monkeypatch.setattr(summary, "MAX_CITED", 1)
    with lake.connect(built.warehouse, read_only=True) as con:
        ctx = data.context(con, version2)
        model = data.assemble(con, version2, ctx)
        html = dict(build.render(model, con, version2))
    overview = model.overview
    assert len(overview.outlets) == 1 and overview.outlet_count > 1
    assert overview.rest_articles == overview.articles - overview.outlets[0].articles > 0
    tree = parse(html["index.html"])
    index = " ".join(tree.text.split())
    [rest] = [tr for tr in tree.find_all("tr") if tr.find_all("td") and "more outlets" in tr.find_all("td")[0].text]
    cells = [" ".join(td.text.split()) for td in rest.find_all("td")]
    assert cells[0] == f"… and {overview.outlet_count - 1} more outlets" and cells[1] == str(overview.rest_articles)
    assert "articles.csv" in cells[3]
    top = overview.outlets[0]
    if top.articles > 1:
        assert f"… and {top.articles - 1} more" in index
    source = next(v for k, v in html.items() if k.startswith("sources/"))
    busiest = max((f for s in model.sources for f in s.figures), key=lambda f: f.cited)
    assert busiest.cited > 1 and len(busiest.citations) == 1
    assert f"… and {busiest.cited - 1} more" in " ".join(parse(source).text.split())


def test_the_diff_names_changed_claims_from_sql(built, version2, pages):
    _, model = pages
    d = model.diff
    assert d.claim_changes_total == len(d.claim_changes) > 0
    edited = [c for _, before, c in d.claim_changes if before and c]
    assert edited and all(c.row["article_id"] in d.articles for c in edited)
    assert {before["phrase"] for _, before, c in d.claim_changes if before} >= {built.old_phrase}
    with lake.connect(built.warehouse, read_only=True) as con:
        old = data.versions.resolve(con, 1).snapshot_id
        ctx = data.context(con, version2)
        first, total = data.claim_changes(con, old, version2, ctx, limit=1)
    assert len(first) == 1 and total == d.claim_changes_total and first[0][0] == d.claim_changes[0][0]
    for _, _, c in d.claim_changes:
        if c is not None:
            assert re.fullmatch(r"claim-\d+", c.anchor) and c.sentence


def test_the_changed_claims_read_the_same_from_pages_built_before(built, version2):
    """The diff page's changed claims taken from the article pages the report built (Since.built)
    are the ones built for it alone."""
    with lake.connect(built.warehouse, read_only=True) as con:
        old = data.versions.resolve(con, 1).snapshot_id
        ctx = data.context(con, version2)
        alone, total = data.claim_changes(con, old, version2, ctx)
        pages = {p.article["article_id"]: p.claims for p in data.iter_pages(con, version2, ctx=ctx)}
        some = dict(list(pages.items())[: max(1, len(pages) // 2)])  # some built before, the others built here
        for kept in (pages, some):
            taken, n = data.claim_changes(con, old, version2, ctx, built=kept)
            assert n == total
            assert [(k, b, c and (c.row, c.anchor, c.sentence, c.number)) for k, b, c in taken] == \
                [(k, b, c and (c.row, c.anchor, c.sentence, c.number)) for k, b, c in alone]
