"""The HTML report: written by the `report` asset with each version's export, one page per article
and per source, every claim highlighted, version N read as of version N, hostile text escaped."""
from __future__ import annotations

import json
import re

from factledger import lake, sql
from factledger.commands import query
from factledger.report import build, data, explain
from tests.publish.conftest import factledger
from tests.report.conftest import HOSTILE_ID, HOSTILE_TITLE
from tests.report.pages import parse


def published(built, version: int, sql: str) -> list[tuple]:
    """`factledger sql --version N` in-process: the published tables by plain name, as of version N."""
    with query.reader(str(built.warehouse)) as con:
        query.open_version(con, version)
        return con.execute(sql).fetchall()


def test_the_asset_writes_the_report_of_each_version_with_its_export(built):
    for version, result, warehouse in zip((1, 2), built.results, built.run_warehouses):
        [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "report"]
        metadata = event.materialization.metadata
        assert metadata["path"].value == str(warehouse / "exports" / f"v{version}" / "report" / "index.html")
        assert metadata["version"].value == version
        assert (built.report(version) / "index.html").exists()
    assert (built.exports / "latest" / "report" / "index.html").resolve() == (built.report(2) / "index.html").resolve()


def test_one_page_per_article_and_per_source_plus_overview_and_diff(built):
    folder = built.report(2)
    articles = {r[0] for r in published(built, 2, "SELECT article_id FROM articles")}
    sources = {r[0] for r in published(built, 2, "SELECT source_id FROM sources")}
    assert {p.stem for p in (folder / "articles").glob("*.html")} == articles
    assert {p.stem for p in (folder / "sources").glob("*.html")} == sources
    for name in ("index.html", "articles.html", "diff.html"):
        assert (folder / name).stat().st_size > 1000


def test_every_claim_is_highlighted_with_verdict_marker_and_tooltip(built):
    folder = built.report(2)
    claims = published(built, 2, "SELECT c.article_id, c.claim_id, c.verdict, c.start, c.\"end\", c.phrase, "
                                 "substring(a.body, c.start + 1, c.\"end\" - c.start) = c.phrase "
                                 "FROM claims c JOIN articles a USING (article_id)")
    by_article: dict[str, list] = {}
    for row in claims:
        by_article.setdefault(row[0], []).append(row)
    words = explain.wording()
    for article_id, rows in by_article.items():
        page = parse((folder / "articles" / f"{article_id}.html").read_text())
        spans = page.find_all("span", "claim")
        assert len(spans) == sum(1 for r in rows if r[6]), article_id
        verdicts = sorted(s.attrs["data-verdict"] for s in spans)
        assert verdicts == sorted(r[2] for r in rows if r[6])
        for span in spans:
            look = explain.style(span.attrs["data-verdict"], words)
            [marker] = span.find_all("span", "marker")
            assert marker.text == look.marker
            [tip] = span.find_all("span", "tip")
            assert look.label in tip.text and len(tip.text) > len(look.label) + 20
            assert span.attrs.get("tabindex") == "0" and span.attrs["aria-describedby"] == tip.attrs["id"]
        # The scorecard lists every claim, highlighted or not.
        assert len(page.find_all("table", "scorecard")[0].find_all("tr")) == len(rows) + 1


def test_name_and_date_findings_are_marked(built):
    findings = published(built, 2, "SELECT article_id, count(*) FROM name_findings GROUP BY ALL")
    for article_id, n in findings:
        page = parse((built.report(2) / "articles" / f"{article_id}.html").read_text())
        marked = [s for s in page.find_all("span", "finding") if "f-name" in s.classes]
        assert 0 < len(marked) <= n
        assert all(s.find_all("span", "tip")[0].text for s in marked)


def test_version_n_reads_version_n(built):
    old = (built.report(1) / "articles" / f"{built.edited_article}.html").read_text()
    new = (built.report(2) / "articles" / f"{built.edited_article}.html").read_text()
    assert built.new_phrase not in old and built.new_phrase in new
    assert HOSTILE_ID not in (built.report(1) / "index.html").read_text()
    # Rewriting version 1 later, from the command line, still shows version 1.
    out = factledger("report", "--version", "1", "--force", "--warehouse", built.warehouse)
    assert out.rc == 0, out.err
    assert out.out.strip() == str(built.report(1) / "index.html")
    again = (built.report(1) / "articles" / f"{built.edited_article}.html").read_text()
    assert built.new_phrase not in again and "dataset version 1," in again


def test_an_unchanged_report_is_kept(built, version2):
    with lake.connect(built.warehouse, read_only=True) as con:
        written = build.write_report(con, built.warehouse, version2)
    assert not written.regenerated and written.pages >= 4


def test_the_diff_page_says_what_changed_and_why(built):
    diff = parse((built.report(2) / "diff.html").read_text()).text
    edited = published(built, 2, f"SELECT source_path FROM articles WHERE article_id = '{built.edited_article}'")[0][0]
    assert "from version 1 to version 2" in diff
    assert f"Input files edited: {edited}" in " ".join(diff.split())
    assert f"articles/{HOSTILE_ID}.md" in diff  # the new file
    assert "Claims that now read or rate differently" in diff and f"“{built.old_phrase}”" in diff and built.new_phrase in diff
    first = parse((built.report(1) / "diff.html").read_text()).text
    assert "first published version" in first


def test_the_overview_shows_outlets_chart_sources_checks_and_version(built):
    html = (built.report(2) / "index.html").read_text()
    page = parse(html)
    text = " ".join(page.text.split())
    svgs = page.find_all("svg", "chart")
    assert svgs and svgs[0].attrs.get("role") == "img"
    for outlet, in published(built, 2, "SELECT DISTINCT outlet FROM articles WHERE outlet IS NOT NULL"):
        assert " ".join(outlet.split()) in text
    for asset, check, passed in published(built, 2, "SELECT asset_key, check_name, passed FROM check_results"):
        assert f"{asset}.{check}" in text
    # A warning lists its failing rows (kept from the run's check metadata).
    warned = published(built, 2, "SELECT asset_key || '.' || check_name FROM check_results WHERE NOT passed")
    rows_file = json.loads((built.report(2) / build.CHECK_ROWS).read_text())
    for (name,) in warned:
        assert name in rows_file
        assert rows_file[name].splitlines()[-1].strip("| ").split(" | ")[0] in text
    code_version, code_sha = published(built, 2, "SELECT code_version, code_sha256 FROM dataset_versions WHERE version = 2")[0]
    assert code_sha in text and (code_version or "") in text
    for path, sha in json.loads(published(built, 2, "SELECT input_hashes FROM dataset_versions WHERE version = 2")[0][0]).items():
        assert path in text and sha in text


def test_the_report_needs_no_network_and_no_script(built):
    for path in built.report(2).rglob("*.html"):
        html = path.read_text()
        page = parse(html)
        assert not page.find_all("link"), path
        assert all(s.attrs.get("type") == "application/ld+json" for s in page.find_all("script")), path
        for el in page.iter():
            for attr in ("src", "href"):
                value = el.attrs.get(attr)
                if value and el.tag != "a":
                    assert not re.match(r"(https?:)?//", value), (path, el.tag, value)


def test_hostile_text_is_escaped_and_hostile_links_are_dropped(built, version2):
    with lake.connect(built.warehouse, read_only=True) as con:
        model = data.load(con, version2)
        [page] = data.iter_pages(con, version2, within=f"article_id = {sql.literal(built.edited_article)}")
    # Whatever ingestion let through, the templates must make harmless: put it in directly.
    page.article.update(title=HOSTILE_TITLE, url="javascript:alert(1)", outlet="<img src=x onerror=alert(1)>")
    page.claims[0].row["phrase"] = "</script><script>alert('phrase')</script>"
    page.reviews.append({"@type": "ClaimReview", "claimReviewed": "</script><script>alert('ld')</script>"})
    html = build.article_renderer(model)(page)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "javascript:" not in html.lower()
    tree = parse(html)
    [ld] = [s for s in tree.find_all("script") if s.attrs.get("type") == "application/ld+json"]
    assert json.loads(ld.text)[-1]["claimReviewed"] == "</script><script>alert('ld')</script>"
    assert HOSTILE_TITLE in tree.find_all("h1")[0].text


def test_the_hostile_article_from_raw_is_harmless_if_published(built):
    path = built.report(2) / "articles" / f"{HOSTILE_ID}.html"
    if not path.exists():  # ingestion refused it: nothing to render
        return
    html = path.read_text()
    assert "<script>alert" not in html and "javascript:" not in " ".join(
        e.attrs.get("href", "") for e in parse(html).iter()).lower()
