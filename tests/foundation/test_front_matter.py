"""Front matter is loaded with libyaml's loader where it cannot answer otherwise than the pure
alias-refusing loader (factledger/articles.py): the two compared on generated and real front
matter, refusals (words and lines) always the pure loader's; and the cheap bound on an article's
count of numbers."""
from __future__ import annotations

import re
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from factledger import articles
from factledger.articles import MAX_NUMBERS, parse_article
from factledger.paths import PROJECT_ROOT
from factledger.rejections import Rejection

SETTINGS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of YAML that reach the scanners' corners: anchors, aliases, tags, directives, flow and
# block collections, quotes, escapes, tabs, odd line breaks, a byte-order mark, control characters.
PIECES = ["outlet: ", "title: ", "url: ", "published: ", "cites: ", "2024-09-30", "2024-09-30 10:00:00", "[a, b]",
          "{a: 1}", "[", "]", "{", "}", ", ", "&a ", "*a", "&b [x]", "<<: ", "!!str ", "!!binary ", "!!python/object ",
          "!x ", "%YAML 1.1\n", "%TAG ! x\n", "---\n", "--- ", "...\n", "'", '"', "\\n", "\\x1b", "\n", "\r\n", ": ",
          "- ", "  ", "\t", "? ", "|\n  ", ">\n  ", "# c", "null", "~", "yes", "0x1F", "1e3", ".inf", "Q&A", "5*3",
          "\ufeff", "\x85", "\u2028", "\x00", "\x07", "\ud7ff", "\ue000", "é", "—", "\U0001f600", ":", "-", "@", "`"]


def front_matter() -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=30).map("".join)


def both_ways(block: str):
    return articles._parse_front_matter(block), articles._parse_front_matter(block, fast=False)


@seed(20261201)
@SETTINGS
@given(front_matter())
def test_fast_and_pure_loaders_agree_on_generated_front_matter(block: str):
    fast, pure = both_ways(block)
    assert fast == pure and type(fast) is type(pure)


def test_fast_and_pure_loaders_agree_on_the_corpus_and_its_cases():
    blocks = []
    for path in sorted((PROJECT_ROOT / "raw" / "articles").iterdir()) + sorted((PROJECT_ROOT / "tests" / "data").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            blocks.append(text[4:text.index("\n---\n", 3) + 1])
    assert blocks
    blocks += ["title: Q&A with the ICE deputy director\n", "title: 5 * 3 = 15\n", "title: &a x\noutlet: *a\n",
               "cites: [a, b]\npublished: 2024-09-30\n", "title: [" + "[" * 40 + "]" * 41 + "\n", "- a\n- b\n"]
    for block in blocks:
        fast, pure = both_ways(block)
        assert fast == pure and type(fast) is type(pure), block


def test_plain_front_matter_takes_the_fast_loader():
    block = "published: 2024-10-02\ncites: [ice-letter-2024-09-25]\ntitle: ICE's letter — 7.4 million\n"
    assert articles.fast_yaml_allowed(block)
    with mock.patch.object(yaml, "load", wraps=yaml.load) as load:
        assert articles._parse_front_matter(block)["cites"] == ["ice-letter-2024-09-25"]
    assert [c.kwargs["Loader"] for c in load.call_args_list] == [yaml.CSafeLoader]


@pytest.mark.parametrize("block", ["title: &a x\n", "title: x\noutlet: *a\n", "title: !!str x\n", "%YAML 1.1\n---\ntitle: x\n",
                                   "title:\tx\n", "title: x\u2028\n", "title: \x07\n"])
def test_what_the_scanners_could_differ_on_goes_to_the_pure_loader(block):
    assert not articles.fast_yaml_allowed(block)
    with mock.patch.object(yaml, "load", wraps=yaml.load) as load:
        articles._parse_front_matter(block)
    assert [c.kwargs["Loader"] for c in load.call_args_list] == [articles._NoAliasLoader]


@pytest.mark.parametrize(("raw", "line", "reason"), [
    # the alias bomb of tests/hostile: refused at its first anchor, line 2 of the file
    (b"---\ntitle: &a [x, x]\noutlet: &b [*a, *a]\n---\nBody.\n", 2,
     "front matter is not valid YAML: YAML anchors and aliases (&name, *name) are not allowed in front matter"),
    (b"---\ntitle: x\ncites: [a, *b]\n---\nBody.\n", 3,
     "front matter is not valid YAML: YAML anchors and aliases (&name, *name) are not allowed in front matter"),
    (b"---\ntitle: x\noutlet: [unclosed\n---\nBody.\n", 4, "front matter is not valid YAML: expected ',' or ']', but got '<stream end>'"),
    (b"---\ntitle: x\n  bad: indent\n---\nBody.\n", 3, "front matter is not valid YAML: mapping values are not allowed here"),
    (b"---\ntitle: " + b"[" * 3000 + b"]" * 3000 + b"\n---\nBody.\n", None, "front matter is not valid YAML: it nests too deeply"),
])
def test_refusals_are_the_pure_loaders_words_and_lines(raw, line, reason):
    outcome = parse_article(raw, "articles/x.md")
    assert isinstance(outcome, Rejection) and (outcome.line, outcome.reason) == (line, reason)
    with mock.patch.object(articles, "_FAST_LOADER", None):  # the pure loader alone: the same refusal
        assert parse_article(raw, "articles/x.md") == outcome


def test_libyaml_accepts_deep_nesting_the_pure_loader_refuses():
    """Why the depth is checked: without it a deep block would load here and be refused before."""
    block = "title: " + "[" * 400 + "]" * 400 + "\n"  # the pure loader recurses too deep at ~330 levels
    assert articles.fast_yaml_allowed(block)
    assert yaml.load(block, Loader=yaml.CSafeLoader) is not None
    assert articles._parse_front_matter(block) == ("front matter is not valid YAML: it nests too deeply", None)


@seed(20261201)
@SETTINGS
@given(st.text(alphabet=st.sampled_from("0123456789 ,.\u0663\u0664\uff11é—a\n"), max_size=200))
def test_most_digit_runs_bounds_the_count_of_numbers(text: str):
    assert articles.most_digit_runs(text.encode()) >= len(re.findall(r"\d+", text))


def test_most_digit_runs_counts_ascii_digits_and_non_ascii_bytes():
    assert articles.most_digit_runs(b"12 people, 345 more") == 5
    assert articles.most_digit_runs("\u0663\u0664 and é".encode()) == 6  # two 2-byte digits, one 2-byte letter


@pytest.mark.parametrize(("number", "sep", "n", "refused"), [("7", " ", MAX_NUMBERS, False), ("7", " ", MAX_NUMBERS + 1, True),
                                                             ("7", "\u2014", MAX_NUMBERS + 1, True), ("\u0663", " ", MAX_NUMBERS + 1, True),
                                                             ("\u0663", " ", MAX_NUMBERS, False)])
def test_the_limit_on_numbers_is_exact(number, sep, n, refused):
    body = sep.join(number for _ in range(n))
    outcome = parse_article(f"---\ntitle: x\n---\n{body}\n".encode(), "articles/x.md")
    assert len(re.findall(r"\d+", body)) == n
    assert isinstance(outcome, Rejection) is refused
    if refused:
        assert outcome.reason == f"article has {n:,} numbers; articles are limited to {MAX_NUMBERS:,}"
