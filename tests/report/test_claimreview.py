"""ClaimReview JSON-LD as Google's fact-check markup asks for it, parsed back from the report's
article pages with extruct: every required and recommended field on every node; not_in_source
claims are not published as ratings."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from extruct.jsonld import JsonLdExtractor

from factledger import export
from factledger.report import explain
from tests.report.test_report import published

LABELS = {"Accurate", "Rounded, accurate", "Wrong population", "Contradicted by the source"}


def is_http_url(value) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).hostname)


def is_date(value) -> bool:
    try:
        dt.date.fromisoformat(value[:10])
        return True
    except (TypeError, ValueError):
        return False


def check_organization(node: dict, where: str) -> None:
    assert node.get("@type") == "Organization", where
    assert isinstance(node.get("name"), str) and node["name"].strip(), where
    assert is_http_url(node.get("url")), where


def check_claim_review(node: dict, claims: dict) -> None:
    where = node.get("identifier")
    assert node.get("@type") == "ClaimReview"
    assert node.get("@context") == "https://schema.org"
    # Required by Google: claimReviewed, reviewRating, url.
    assert is_http_url(node.get("url")) and "#" in node["url"], where
    claim = claims[node["identifier"]]
    assert node["claimReviewed"] == " ".join(claim["phrase"].split()), where  # the claim, not the sentence
    assert len(node["claimReviewed"]) <= 75 and len(node["claimReviewed"]) < len(claim["sentence"]), where
    rating = node["reviewRating"]
    assert rating["@type"] == "Rating"
    for key in ("ratingValue", "bestRating", "worstRating"):
        assert isinstance(rating[key], int), (where, key)
    assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"], where
    assert rating["alternateName"] in LABELS, where
    assert rating["alternateName"] == explain.style(claim["verdict"]).label
    # Recommended: author, datePublished, itemReviewed (Claim: author, datePublished, appearance).
    check_organization(node["author"], where)
    assert is_date(node["datePublished"]), where
    item = node["itemReviewed"]
    assert item["@type"] == "Claim", where
    assert item["author"].get("name"), where
    assert is_date(item["datePublished"]), where
    appearance = item["appearance"]
    assert is_http_url(appearance["url"]) and appearance.get("headline"), where
    assert appearance["url"] == claim["url"], where
    assert str(claim["published"]) == item["datePublished"], where


@pytest.fixture(scope="module")
def claims(built):
    rows = published(built, 2, "SELECT c.claim_id, c.article_id, c.phrase, c.sentence, c.verdict, a.url, a.published "
                               "FROM claims c JOIN articles a USING (article_id)")
    keys = ("claim_id", "article_id", "phrase", "sentence", "verdict", "url", "published")
    return {r[0]: dict(zip(keys, r)) for r in rows}


def test_every_node_of_every_article_page_has_the_required_and_recommended_fields(built, claims):
    extractor = JsonLdExtractor()
    seen = []
    for path in sorted((built.report(2) / "articles").glob("*.html")):
        html = path.read_text(encoding="utf-8")
        nodes = extractor.extract(html, base_url=path.as_uri())
        for node in nodes:
            check_claim_review(node, claims)
            assert node["url"].endswith(f"articles/{path.name}#{node['url'].split('#')[1]}")
            assert claims[node["identifier"]]["article_id"] == path.stem
        seen += [n["identifier"] for n in nodes]
    expected = [cid for cid, c in claims.items()
                if explain.style(c["verdict"]).rating is not None and export.safe_url(c["url"]) and c["published"]]
    assert sorted(seen) == sorted(expected) and expected
    assert not [cid for cid in seen if claims[cid]["verdict"] == "not_in_source"]


def test_the_export_holds_the_same_reviews(built, claims):
    graph = json.loads((built.exports / "v2" / "claim_reviews.jsonld").read_text())["@graph"]
    for node in graph:
        check_claim_review(node, claims)
    extractor = JsonLdExtractor()
    from_pages = [n for p in (built.report(2) / "articles").glob("*.html") for n in extractor.extract(p.read_text())]
    assert sorted(json.dumps(n, sort_keys=True) for n in graph) == sorted(json.dumps(n, sort_keys=True) for n in from_pages)


def test_not_in_source_is_never_rated():
    assert explain.style("not_in_source").rating is None
    assert export.claim_review({"claim_id": "a:1", "phrase": "3", "verdict": "not_in_source"},
                               {"url": "https://news.example/a", "published": "2024-01-01"},
                               "https://r.example/x#c", export.Publisher.from_env(), "2024-02-01") is None


def test_the_publisher_comes_from_configuration(monkeypatch):
    monkeypatch.setenv(export.PUBLISHER_NAME_ENV, "Desk")
    monkeypatch.setenv(export.PUBLISHER_URL_ENV, "https://desk.example/")
    monkeypatch.setenv(export.REPORT_URL_ENV, "https://desk.example/checks/")
    pub = export.Publisher.from_env()
    review = export.claim_review(
        {"claim_id": "a:1", "phrase": "more than 1,000", "sentence": "It said more than 1,000 people came.", "verdict": "rounded"},
        {"url": "https://news.example/story", "published": dt.date(2024, 1, 1), "outlet": None, "title": None, "body": "It said."},
        pub.review_url(3, "articles/a.html", "claim-1"), pub, "2024-02-01T10:00:00Z", "Accurate, but rounded.")
    assert review["author"] == {"@type": "Organization", "name": "Desk", "url": "https://desk.example/"}
    assert review["url"] == "https://desk.example/checks/v3/articles/a.html#claim-1"
    assert review["itemReviewed"]["author"]["name"] == "news.example"  # no outlet: the site's host
    assert review["itemReviewed"]["appearance"]["headline"] == "It said."
    monkeypatch.setenv(export.PUBLISHER_URL_ENV, "javascript:alert(1)")
    assert export.Publisher.from_env().url == export.DEFAULT_PUBLISHER_URL
