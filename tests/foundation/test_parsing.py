"""Plain tests of the raw-file parsers: articles with optional front matter, source folders."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from factledger.articles import ParsedArticle, parse_article
from factledger.rejections import Rejection
from factledger.sources import parse_source_folder
from factledger.paths import PROJECT_ROOT

SOURCE = "ice-letter-2024-09-25"


def test_front_matter_fields_and_body_kept_byte_for_byte():
    raw = "---\noutlet: Example Times\npublished: 2024-09-28\ncites: [a-source]\n---\nBody line “one”.\n\nTwo.\n".encode()
    article = parse_article(raw, "articles/x.md")
    assert isinstance(article, ParsedArticle)
    assert (article.article_id, article.outlet, article.published, article.cites) == ("x", "Example Times", dt.date(2024, 9, 28), "a-source")
    assert article.body.encode() == raw[raw.index(b"---\nBody") + 4:]
    assert raw.decode()[article.body_start:] == article.body


def test_article_without_front_matter_has_null_metadata():
    article = parse_article("Just text with 1,234 people.".encode(), "articles/plain.txt")
    assert isinstance(article, ParsedArticle)
    assert article.outlet is article.url is article.published is article.title is None
    assert article.body == "Just text with 1,234 people." and article.body_start == 0


def test_real_articles_bodies_equal_the_shared_originals():
    shared = PROJECT_ROOT.parent / "shared" / "articles"
    if not shared.is_dir():
        pytest.skip("../shared/articles not present")
    for path in sorted((PROJECT_ROOT / "raw" / "articles").glob("*.md")):
        article = parse_article(path.read_bytes(), f"articles/{path.name}")
        assert article.body.encode("utf-8") == (shared / f"{path.stem}.txt").read_bytes()


@pytest.mark.parametrize(
    ("raw", "line", "reason_part"),
    [
        (b"", None, "empty file"),
        (b"   \n\n", None, "empty file"),
        (b"ok line\n\xff\xfe broken", 2, "not UTF-8"),
        (b"---\noutlet: [unclosed\n---\nbody", 3, "not valid YAML"),
        (b"---\noutlet: x\nbody without a closing fence", 1, "never closed"),
        (b"---\npublished: soon\n---\nbody", 2, "not a date"),
        (b"---\npublised: 2024-01-01\n---\nbody", 1, "unknown front-matter field"),
        (b"---\noutlet: x\n---\n\n", None, "no article text"),
    ],
)
def test_bad_article_files_are_rejected_with_line(raw, line, reason_part):
    outcome = parse_article(raw, "articles/bad.md")
    assert isinstance(outcome, Rejection)
    assert outcome.file == "articles/bad.md" and outcome.line == line
    assert reason_part in outcome.reason


def _source_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "sources" / SOURCE
    folder.mkdir(parents=True)
    for name in ("source.yaml", "figures.csv"):
        (folder / name).write_bytes((PROJECT_ROOT / "raw" / "sources" / SOURCE / name).read_bytes())
    return folder


def test_real_source_parses_without_rejections(tmp_path):
    parsed = parse_source_folder(_source_copy(tmp_path), tmp_path)
    csv_rows = (_source_copy(tmp_path / "again") / "figures.csv").read_text().count("\n") - 1
    assert parsed.rejections == [] and len(parsed.figures) == csv_rows
    assert parsed.source["document_date"] == dt.date(2024, 9, 25)
    assert {p["name"] for p in parsed.people} >= {"Tony Gonzales"}


def _rewrite_line(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    path.write_text("".join(lines))


@pytest.mark.parametrize(
    ("old", "new", "reason_part"),
    [
        (",662566,", ",6625x6,", "is not a number"),
        (",662566,", ",,", "is not a number"),
        ("all,all,all", "all,everyone,all", "custody 'everyone' is not a declared value"),
        ("noncitizens_on_docket", "noncitizens_in_space", "unknown measure"),
    ],
)
def test_bad_figure_row_is_rejected_and_the_rest_loads(tmp_path, old, new, reason_part):
    folder = _source_copy(tmp_path)
    good = parse_source_folder(folder, tmp_path)
    _rewrite_line(folder / "figures.csv", 2, old, new)
    parsed = parse_source_folder(folder, tmp_path)
    assert [(r.file, r.line) for r in parsed.rejections] == [(f"sources/{SOURCE}/figures.csv", 2)]
    assert reason_part in parsed.rejections[0].reason
    assert len(parsed.figures) == len(good.figures) - 1
    assert all(f["value"] != 0 for f in parsed.figures if f["source_line"] == 2)


def test_csv_with_missing_column_is_rejected_whole(tmp_path):
    folder = _source_copy(tmp_path)
    (folder / "more.csv").write_text("measure,offense,custody\nnoncitizens_on_docket,all,all\n")
    parsed = parse_source_folder(folder, tmp_path)
    assert [(r.file, r.line) for r in parsed.rejections] == [(f"sources/{SOURCE}/more.csv", 1)]
    assert "missing column(s) value" in parsed.rejections[0].reason


def test_duplicate_figure_row_is_rejected(tmp_path):
    folder = _source_copy(tmp_path)
    text = (folder / "figures.csv").read_text()
    second = text.splitlines()[1]
    (folder / "figures.csv").write_text(text + second + "\n")
    parsed = parse_source_folder(folder, tmp_path)
    assert len(parsed.rejections) == 1 and "same figure" in parsed.rejections[0].reason
    assert "figures.csv:2" in parsed.rejections[0].reason


def test_broken_descriptor_refuses_the_folder(tmp_path):
    folder = _source_copy(tmp_path)
    (folder / "source.yaml").write_text("id: x\ndates: [\n")
    parsed = parse_source_folder(folder, tmp_path)
    assert parsed.source is None and parsed.figures == []
    assert parsed.rejections[0].file == f"sources/{SOURCE}/source.yaml"
